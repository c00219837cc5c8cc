// setKeepalive and getKeepalive for one socket, connected or still connecting.
import net from 'node:net';
import { codedError } from './errors.js';
import { binding } from './native.js';
import { merge, type Values } from './options.js';
import { markExplicit, pinHandle, pinSocket, unpin } from './pin.js';
import { platform } from './platform.js';
import { handleOf, isPipe, notTcp, tcpFd, tcpHandle, type Handle } from './target.js';
import { applyWithoutFd } from './windows.js';

const kPending = Symbol('tcp-keepalive.pending');

type Pending = { [kPending]?: Values };

function closed(socket: net.Socket): Error {
  return codedError('ERR_SOCKET_CLOSED', `The ${socket.constructor.name} is destroyed; there is no connection to set keepalive on`);
}

/** Applies values to a socket that has its descriptor, and pins or releases it. */
export function applyToHandle(socket: net.Socket, handle: Handle, values: Values): void {
  if (!platform().descriptors) applyWithoutFd(socket, handle, values);
  else binding.set(tcpFd(socket, handle), values.enabled, values.idle, values.interval, values.count, values.userTimeout);
  if (values.enabled) {
    pinHandle(tcpHandle(handle));
    pinSocket(socket);
  } else {
    unpin(socket, tcpHandle(handle));
    forgetNodeKeepAlive(socket);
  }
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

function onConnect(this: net.Socket): void {
  const values = (this as Pending)[kPending];
  (this as Pending)[kPending] = undefined;
  if (values === undefined) return;
  const handle = handleOf(this);
  try {
    if (!handle) throw closed(this);
    applyToHandle(this, handle, values);
  } catch (error) {
    // The caller asked for keepalive and cannot get it: a connection that
    // looks protected but is not would be worse than one that fails.
    this.destroy(error as Error);
  }
}

export function setSocket(socket: net.Socket, values: Values): void {
  if (socket.destroyed) throw closed(socket);
  const handle = handleOf(socket);
  if (handle && !socket.connecting) {
    applyToHandle(socket, handle, values);
    markExplicit(socket);
    return;
  }
  // Not connected yet: apply as soon as it is, ahead of the caller's own
  // 'connect' listeners and after Node's keepAlive option has had its say.
  // A connect({ path }) already has its pipe handle: refuse it now rather
  // than fail later at 'connect'.
  if (handle && isPipe(handle)) throw notTcp(socket, true);
  const pending = (socket as Pending)[kPending];
  if (pending === undefined) {
    (socket as Pending)[kPending] = values;
    socket.prependOnceListener('connect', onConnect);
  } else {
    (socket as Pending)[kPending] = merge(pending, values);
  }
  markExplicit(socket);
  if (values.enabled) pinSocket(socket);
  else unpin(socket, handle && tcpHandle(handle));
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
  binding.get(fd, scratch);
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
  if (socket.destroyed) throw closed(socket);
  const handle = handleOf(socket);
  if (!handle || socket.connecting) {
    throw codedError('ERR_SOCKET_NOT_CONNECTED', `The ${socket.constructor.name} is not connected yet; read its keepalive after 'connect'`);
  }
  return tcpFd(socket, handle);
}

export function getSocket(socket: net.Socket): KeepaliveSettings {
  return readFd(connectedFd(socket));
}
