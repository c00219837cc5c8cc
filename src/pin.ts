// Pinning: once the package has set a socket's keepalive, Node's own
// setKeepAlive(enable, ms), from the application, a driver or Node itself,
// must not undo it. Both doors are closed: the socket's method (so Node's
// own cache of the last call is not updated either) and the TCP handle's
// (which Node calls directly for the keepAlive option, for accepted sockets
// and through TLSWrap). Nothing is added to sockets the package never
// touched, and nothing outlives the socket: both are own properties.
// Pinned sockets are the managed ones, so they are also watched for a lost
// connection (cause.ts).
import type net from 'node:net';
import { rememberPeer, unwatch, watch } from './cause.js';
import type { Handle } from './target.js';

function pinnedSocketSetKeepAlive(this: net.Socket): net.Socket {
  return this;
}

function pinnedHandleSetKeepAlive(): number {
  return 0;
}

type Pinnable = { setKeepAlive: unknown };

export function isPinned(socket: net.Socket): boolean {
  try {
    return (socket as Pinnable).setKeepAlive === pinnedSocketSetKeepAlive;
  } catch {
    return false; // http2's socket proxy will not hand setKeepAlive out
  }
}

/**
 * Pins a socket and starts watching it. capturePeer asks the kernel for the
 * peer's address now, while it still can, for the report of a lost
 * connection; the server path passes false so that accepting stays free of
 * system calls.
 */
export function pinSocket(socket: net.Socket, capturePeer = true): void {
  const pinned = isPinned(socket);
  try {
    if (!pinned) (socket as Pinnable).setKeepAlive = pinnedSocketSetKeepAlive;
  } catch {
    // http2's proxy of a session's socket refuses to hand out or replace
    // setKeepAlive; it refuses every setKeepAlive call too, and the handle is
    // pinned, so the settings hold all the same.
    return;
  }
  if (!pinned) {
    socket.on('close', onPinnedClose);
    watch(socket);
  }
  if (capturePeer) rememberPeer(socket);
}

// The settings belong to the connection. Node lets a closed socket connect
// again, on a new handle the package never set: it must not stay pinned
// (swallowing a driver's setKeepAlive) or count as set (shutting out
// setDefaultKeepalive).
function onPinnedClose(this: net.Socket): void {
  unpin(this, null);
  (this as Marked)[kExplicit] = false;
}

const kExplicit = Symbol('tcp-keepalive.explicit');
type Marked = { [kExplicit]?: boolean };

/** Marks a socket the application set itself, so process-wide defaults leave it to the application. */
export function markExplicit(socket: net.Socket): void {
  (socket as Marked)[kExplicit] = true;
}

export function isExplicit(socket: net.Socket): boolean {
  return (socket as Marked)[kExplicit] === true;
}

export function pinHandle(handle: Handle): void {
  if (handle.setKeepAlive !== pinnedHandleSetKeepAlive) handle.setKeepAlive = pinnedHandleSetKeepAlive;
}

export function unpin(socket: net.Socket, handle: Handle | null | undefined): void {
  if (isPinned(socket)) {
    delete (socket as Partial<Pinnable>).setKeepAlive;
    socket.off('close', onPinnedClose);
  }
  unwatch(socket);
  if (handle && handle.setKeepAlive === pinnedHandleSetKeepAlive) delete handle.setKeepAlive;
}
