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
  return (socket as Pinnable).setKeepAlive === pinnedSocketSetKeepAlive;
}

/**
 * Pins a socket and starts watching it. capturePeer asks the kernel for the
 * peer's address now, while it still can, for the report of a lost
 * connection; the server path passes false so that accepting stays free of
 * system calls.
 */
export function pinSocket(socket: net.Socket, capturePeer = true): void {
  if ((socket as Pinnable).setKeepAlive !== pinnedSocketSetKeepAlive) {
    (socket as Pinnable).setKeepAlive = pinnedSocketSetKeepAlive;
    watch(socket);
  }
  if (capturePeer) rememberPeer(socket);
}

export function pinHandle(handle: Handle): void {
  if (handle.setKeepAlive !== pinnedHandleSetKeepAlive) handle.setKeepAlive = pinnedHandleSetKeepAlive;
}

export function unpin(socket: net.Socket, handle: Handle | null | undefined): void {
  if ((socket as Pinnable).setKeepAlive === pinnedSocketSetKeepAlive) {
    delete (socket as Partial<Pinnable>).setKeepAlive;
  }
  unwatch(socket);
  if (handle && handle.setKeepAlive === pinnedHandleSetKeepAlive) delete handle.setKeepAlive;
}
