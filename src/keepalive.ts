// The public entry points: dispatch on the target, after validating input.
import net from 'node:net';
import { invalidArgType } from './errors.js';
import { parse, type KeepaliveOptions } from './options.js';
import { getServer, setServer } from './server.js';
import { getSocket, setSocket, type KeepaliveSettings } from './socket.js';
import { checkSettings } from './warnings.js';

export type Target = net.Socket | net.Server;

const EXPECTED = 'a net.Socket, tls.TLSSocket or a net, tls, http, https or http2 server';

/**
 * Turns keepalive on a TCP socket or server on (or off, with `false`) and
 * sets the fields given; fields left out stay as the socket has them.
 * A socket still connecting gets them as it connects; a server hands them to
 * every connection it accepts. Until `setKeepalive(target, false)`, a later
 * `socket.setKeepAlive()` from Node or a driver leaves them in force.
 */
export function setKeepalive(target: Target, options: KeepaliveOptions | boolean): void;
export function setKeepalive(target: Target, idle: number, interval?: number, count?: number, userTimeout?: number): void;
export function setKeepalive(target: Target, options: KeepaliveOptions | boolean | number, interval?: number, count?: number, userTimeout?: number): void {
  const isSocket = target instanceof net.Socket;
  if (!isSocket && !(target instanceof net.Server)) throw invalidArgType('target', EXPECTED, target);
  const values = parse(arguments.length, options, interval, count, userTimeout);
  if (isSocket) setSocket(target, values);
  else setServer(target, values);
  checkSettings(target, values);
}

/** Reads SO_KEEPALIVE, idle, interval, count and userTimeout from the kernel. */
export function getKeepalive(target: Target): KeepaliveSettings {
  if (target instanceof net.Socket) return getSocket(target);
  if (target instanceof net.Server) return getServer(target);
  throw invalidArgType('target', EXPECTED, target);
}
