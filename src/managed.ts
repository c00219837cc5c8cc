// Which TCP handles the package manages, and how. The mark lives on Node's
// TCP handle under a symbol, so it lives exactly as long as the connection
// (a socket that connects again gets a new, unmarked handle) and adds no
// property, listener or method that application code could see on the
// socket. hooks.ts reads it wherever Node reaches the handle.
import { holdHandleClass } from './hooks.js';
import type { Handle } from './target.js';

/**
 * 'explicit': set by setKeepalive on the socket or on its server. Node's
 * setKeepAlive, from the application, a driver or Node itself, changes
 * nothing until setKeepalive(socket, false).
 * 'defaults': set by a process-wide rule (setDefaultKeepalive, the preload).
 * A shorter idle asked for through Node's setKeepAlive is taken, since
 * process-wide defaults must never make detection slower than what the
 * application or its driver asked for; a longer one, or false, is not.
 */
export type Mode = 'explicit' | 'defaults';

const kMode = Symbol('tcp-keepalive.mode');

/** The peer as the connect call named it, for the report of a lost connection. */
export interface Peer {
  address: string;
  port: number;
  family: 'IPv4' | 'IPv6';
}

const kPeer = Symbol('tcp-keepalive.peer');

type Marked = Handle & { [kMode]?: Mode; [kPeer]?: Peer };

export function manage(tcp: Handle, mode: Mode): void {
  holdHandleClass(tcp);
  (tcp as Marked)[kMode] = mode;
}

export function release(tcp: Handle): void {
  if ((tcp as Marked)[kMode] !== undefined) (tcp as Marked)[kMode] = undefined;
}

/** How a TCP handle is managed, or undefined when it is not. */
export function modeOf(tcp: Handle | null | undefined): Mode | undefined {
  return tcp ? (tcp as Marked)[kMode] : undefined;
}

export function rememberPeer(tcp: Handle, peer: Peer): void {
  (tcp as Marked)[kPeer] = peer;
}

export function peerOf(tcp: Handle): Peer | undefined {
  return (tcp as Marked)[kPeer];
}
