// The public entry points: dispatch on the target, after validating input.
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { invalidArgType } from './errors.js';
import { parse, type KeepaliveOptions } from './options.js';
import { platform, type Platform } from './platform.js';
import { checkRuntime, isServerTarget } from './runtime.js';
import { complete, fromKernel, partialRequested, type PartialKeepaliveSettings, type ReadOptions } from './reading.js';
import { getServer, setServer } from './server.js';
import { getSocket, setSocket, type KeepaliveSettings } from './socket.js';
import { checkGiven } from './warnings.js';
import { readWithoutFd, recordServer } from './windows.js';

/**
 * A net.Socket or tls.TLSSocket, or a server. Typed as wide as drivers' own
 * types name their sockets (@types/pg calls a client's socket a
 * stream.Duplex), so recipes compile without casts; anything but a TCP
 * socket or server is refused at run time with ERR_INVALID_ARG_TYPE.
 */
export type Target = net.Socket | net.Server | Duplex;

let lastPlatform: Platform | undefined;
let lastReadsEverything = false;

function readsEverything(p: Platform): boolean {
  if (p !== lastPlatform) {
    lastPlatform = p;
    lastReadsEverything = p.descriptors && Object.values(p.read).every((how) => how === 'kernel');
  }
  return lastReadsEverything;
}

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
  checkRuntime();
  const isSocket = target instanceof net.Socket;
  if (!isSocket && !isServerTarget(target)) throw invalidArgType('target', EXPECTED, target);
  const values = parse(arguments.length, options, interval, count, userTimeout);
  checkGiven(values);
  if (isSocket) setSocket(target, values);
  else {
    if (!platform().descriptors) recordServer(target as net.Server, values);
    setServer(target as net.Server, values);
  }
}

/**
 * Reads SO_KEEPALIVE, idle, interval, count and userTimeout from the kernel.
 * Where a value cannot be known (Windows, before this package has set it)
 * this throws ERR_KEEPALIVE_UNKNOWN; `{ partial: true }` returns null for
 * it instead.
 */
export function getKeepalive(target: Target): KeepaliveSettings;
export function getKeepalive(target: Target, options: { partial: true }): PartialKeepaliveSettings;
export function getKeepalive(target: Target, options?: ReadOptions): KeepaliveSettings | PartialKeepaliveSettings;
export function getKeepalive(target: Target, options?: ReadOptions): KeepaliveSettings | PartialKeepaliveSettings {
  checkRuntime();
  const isSocket = target instanceof net.Socket;
  if (!isSocket && !isServerTarget(target)) throw invalidArgType('target', EXPECTED, target);
  // Where the kernel answers for every field (Linux), its reading is already
  // complete: skip the conversions below on this hot path.
  if (options === undefined && readsEverything(platform())) {
    return isSocket ? getSocket(target as net.Socket) : getServer(target as net.Server);
  }
  const partial = partialRequested(options);
  const reading = !platform().descriptors
    ? readWithoutFd(target as net.Socket | net.Server, isSocket)
    : fromKernel(isSocket ? getSocket(target as net.Socket) : getServer(target as net.Server));
  return partial ? reading : complete(reading);
}
