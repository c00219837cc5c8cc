// setKeepalive and getKeepalive for one socket, connected or still connecting.
import net from 'node:net';
import { codedError } from './errors.js';
import { connectSeen } from './hooks.js';
import { manage, release, rememberPeer, type Mode, type Peer } from './managed.js';
import { native } from './native.js';
import { merge, type Values } from './options.js';
import { platform } from './platform.js';
import { handleOf, isPipe, notTcp, tcpFd, tcpHandle, type Handle } from './target.js';
import { checkApplied } from './warnings.js';
import { applyWithoutFd } from './windows.js';
import { install } from './work.js';

// Settings asked for before the socket connected: applied the moment it
// does, and then forgotten (a socket that connects again is a new connection).
const kPending = Symbol('tcp-keepalive.pending');

type Pending = net.Socket & { [kPending]?: Values };

function closed(socket: net.Socket): Error {
  return codedError('ERR_SOCKET_CLOSED', `The ${socket.constructor.name} is destroyed; there is no connection to set keepalive on`);
}

/** Writes values to a handle's socket; no bookkeeping. */
export function writeValues(target: net.Socket | net.Server, handle: Handle, values: Values): void {
  if (!platform().descriptors) applyWithoutFd(target, handle, values);
  else native().set(tcpFd(target, handle), values.enabled, values.idle, values.interval, values.count, values.userTimeout);
}

/** Applies values to a connection that has its descriptor, and marks or releases its handle. */
export function applyToHandle(socket: net.Socket, handle: Handle, values: Values, mode: Mode): void {
  writeValues(socket, handle, values);
  const tcp = tcpHandle(handle);
  if (values.enabled) {
    manage(tcp, mode);
  } else {
    release(tcp);
    forgetNodeKeepAlive(socket);
  }
  checkApplied(socket, handle, values);
}

/**
 * Node remembers its last setKeepAlive(enable, delay) and skips a call that
 * repeats it; the package wrote SO_KEEPALIVE behind its back, so that memory
 * may say "on" while the kernel says off. Telling Node "off" (which the
 * kernel already is) makes a driver's next setKeepAlive(true, ...) take
 * effect again.
 */
function forgetNodeKeepAlive(socket: net.Socket): void {
  try {
    net.Socket.prototype.setKeepAlive.call(socket, false);
  } catch {
    // http2's socket proxy refuses setKeepAlive; it needs no reminding.
  }
}

/** Whether the application asked for settings on this socket before it connected. */
export function hasPending(socket: net.Socket): boolean {
  return (socket as Pending)[kPending] !== undefined;
}

/**
 * Applies settings queued before connect, if any: called by the hooks when
 * the connection is up, and by the fallback below. Returns whether there were any.
 */
export function applyPending(socket: net.Socket, handle: Handle, peer: Peer | null): boolean {
  const values = (socket as Pending)[kPending];
  if (values === undefined) return false;
  (socket as Pending)[kPending] = undefined;
  if (peer) rememberPeer(tcpHandle(handle), peer);
  try {
    applyToHandle(socket, handle, values, 'explicit');
  } catch (error) {
    // The caller asked for keepalive and cannot get it: a connection that
    // looks protected but is not would be worse than one that fails.
    socket.destroy(error as Error);
  }
  return true;
}

// Settings given while the connect request was already on its way, before
// the hooks were in: there is no request to hook any more, so this one
// connection is caught by its 'connect' event.
function onConnectFallback(this: net.Socket): void {
  const handle = handleOf(this);
  if (handle) applyPending(this, handle, null);
  else if (hasPending(this)) this.destroy(closed(this));
}

export function setSocket(socket: net.Socket, values: Values): void {
  if (socket.destroyed) throw closed(socket);
  install();
  const handle = handleOf(socket);
  if (handle && !socket.connecting) {
    applyToHandle(socket, handle, values, 'explicit');
    return;
  }
  // Not connected yet: apply as soon as it is, ahead of the caller's own
  // 'connect' listeners and of Node's keepAlive option. A connect({ path })
  // already has its pipe handle: refuse it now rather than fail later.
  if (handle && isPipe(handle)) throw notTcp(socket, 'unix');
  const pending = (socket as Pending)[kPending];
  (socket as Pending)[kPending] = pending === undefined ? values : merge(pending, values);
  const fd = handle ? tcpHandle(handle).fd : undefined;
  if (pending === undefined && handle && typeof fd === 'number' && fd >= 0 && !connectSeen(tcpHandle(handle))) {
    socket.prependOnceListener('connect', onConnectFallback);
  }
}

const scratch = new Int32Array(5);

export interface KeepaliveSettings {
  /** SO_KEEPALIVE. */
  enabled: boolean;
  /** Seconds of idleness before the first probe (TCP_KEEPIDLE). */
  idle: number;
  /** Seconds between probes (TCP_KEEPINTVL). */
  interval: number;
  /** Unanswered probes before the connection is dropped (TCP_KEEPCNT). */
  count: number;
  /** TCP_USER_TIMEOUT in milliseconds; 0 is the system default. */
  userTimeout: number;
}

export function readFd(fd: number): KeepaliveSettings {
  native().get(fd, scratch);
  return {
    enabled: scratch[0] === 1,
    idle: scratch[1]!,
    interval: scratch[2]!,
    count: scratch[3]!,
    userTimeout: scratch[4]!,
  };
}

/** The descriptor of a connected TCP socket, or a coded error saying why there is none. */
export function connectedFd(socket: net.Socket): number {
  if (socket.destroyed) {
    throw codedError('ERR_SOCKET_CLOSED', `The ${socket.constructor.name} is destroyed; there is no connection to read keepalive from`);
  }
  const handle = handleOf(socket);
  if (!handle || socket.connecting) {
    throw codedError('ERR_SOCKET_NOT_CONNECTED', `The ${socket.constructor.name} is not connected yet; read its keepalive after 'connect'`);
  }
  return tcpFd(socket, handle);
}

export function getSocket(socket: net.Socket): KeepaliveSettings {
  return readFd(connectedFd(socket));
}
