// Windows: Node gives a TCP socket no descriptor (`_handle.fd` is -1), so
// the native layer cannot reach it. Settings go through the TCP handle's own
// setKeepAlive, which is libuv's uv_tcp_keepalive: idle only before libuv
// 1.52, idle, interval and count through uv_tcp_keepalive_ex after. Nothing
// can read them back, so getKeepalive reports what this package set on the
// socket (known for as long as the pin keeps anyone else from changing it)
// and null for the rest.
import type net from 'node:net';
import { getSystemErrorMap } from 'node:util';
import { codedError } from './errors.js';
import { LEAVE, merge, type Values } from './options.js';
import { platform } from './platform.js';
import { runtime } from './runtime.js';
import type { PartialKeepaliveSettings } from './reading.js';
import { originalSetKeepAlive } from './hooks.js';
import { handleOf, isPipe, notTcp, tcpHandle, type Handle } from './target.js';

/**
 * Windows' documented defaults (KeepAliveTime 2 h, KeepAliveInterval 1 s,
 * 10 probes), which libuv also writes for interval and count. Node cannot
 * turn keepalive on without an idle time (nor, where it passes them, without
 * an interval and a count), so a field never set and left out is written
 * with these rather than guessed from the registry.
 */
export const WINDOWS_DEFAULTS = { idle: 7200, interval: 1, count: 10 } as const;

interface Known {
  enabled: boolean | null;
  idle: number | null;
  interval: number | null;
  count: number | null;
}

const kKnown = Symbol('tcp-keepalive.known');
const kServerValues = Symbol('tcp-keepalive.serverValues');

type Recorded = { [kKnown]?: Known };
type SetKeepAlive = (this: Handle, enable: boolean, idle: number, interval?: number, count?: number) => unknown;

// Node's handles take the idle time in seconds, Bun's in milliseconds.
const delayUnit = runtime === 'bun' ? 1000 : 1;

const UNKNOWN: Known = Object.freeze({ enabled: null, idle: null, interval: null, count: null });

// Kept on the TCP handle, which lives exactly as long as the connection.
function known(tcp: Handle): Known {
  return (tcp as Recorded)[kKnown] ?? UNKNOWN;
}

/**
 * What a handle's setKeepAlive answered, as an error, or null for success.
 * Node's answers 0 or a negative errno; Bun's answers true or false.
 */
function failure(result: unknown): Error | null {
  if (result === 0 || result === true || result === undefined) return null;
  if (typeof result === 'number' && Number.isInteger(result)) {
    const [name, description] = getSystemErrorMap().get(result) ?? ['UNKNOWN', `unknown system error ${result}`];
    const error = codedError(name, `${name}: ${description}, setsockopt (through the runtime's setKeepAlive)`);
    return Object.assign(error, { errno: result, syscall: 'setsockopt' });
  }
  return codedError('ERR_KEEPALIVE_FAILED', `The runtime's setKeepAlive refused the settings (it answered ${String(result)})`);
}

/** Node's own setKeepAlive of the TCP handle, past the package's hook, or a coded error. */
function nodeSetKeepAlive(target: net.Socket | net.Server, tcp: Handle): SetKeepAlive {
  if (isPipe(tcp)) throw notTcp(target, 'unix');
  const proto = Object.getPrototypeOf(tcp) as { setKeepAlive?: unknown } | null;
  if (typeof proto?.setKeepAlive !== 'function') {
    throw codedError('ERR_SOCKET_NO_FD', `This stream (${target.constructor.name}) is not backed by a TCP handle to set keepalive on`);
  }
  return (originalSetKeepAlive(tcp) ?? proto.setKeepAlive) as SetKeepAlive;
}

/**
 * Node's setKeepAlive reached a handle the package does not manage: what
 * the package recorded for it can no longer be known.
 */
export function forgetKnown(tcp: Handle): void {
  if ((tcp as Recorded)[kKnown] !== undefined) (tcp as Recorded)[kKnown] = UNKNOWN;
}

/** The idle time this package set on a handle, or null. */
export function knownIdle(tcp: Handle): number | null {
  return known(tcp).idle;
}

/** What a socket gets: the values given, else what it has, else Windows' defaults. */
function plan(values: Values, had: Known): { idle: number; interval: number | null; count: number | null } {
  const full = platform().ranges.interval !== undefined;
  const pick = (given: number, before: number | null, fallback: number): number => (given !== LEAVE ? given : (before ?? fallback));
  return {
    idle: pick(values.idle, had.idle, WINDOWS_DEFAULTS.idle),
    interval: full ? pick(values.interval, had.interval, WINDOWS_DEFAULTS.interval) : null,
    count: full ? pick(values.count, had.count, WINDOWS_DEFAULTS.count) : null,
  };
}

/**
 * Applies values through Node's handle; managing the handle is the
 * caller's, as on the descriptor path.
 */
export function applyWithoutFd(target: net.Socket | net.Server, handle: Handle, values: Values): void {
  const tcp = tcpHandle(handle);
  const set = nodeSetKeepAlive(target, tcp);
  const had = known(tcp);
  const onlyOff = !values.enabled && values.idle === LEAVE && values.interval === LEAVE && values.count === LEAVE;
  const next: Known = { ...had };
  if (!onlyOff) {
    const p = plan(values, had);
    const err = failure(p.interval === null ? set.call(tcp, true, p.idle * delayUnit) : set.call(tcp, true, p.idle * delayUnit, p.interval, p.count ?? undefined));
    if (err) throw err;
    next.enabled = true;
    next.idle = p.idle;
    if (p.interval !== null) {
      next.interval = p.interval;
      next.count = p.count;
    }
  }
  if (!values.enabled) {
    // SO_KEEPALIVE off; the values just written stay for a later turn on.
    const err = failure(set.call(tcp, false, 0));
    if (err) throw err;
    next.enabled = false;
  }
  (tcp as Recorded)[kKnown] = next;
}

function notConnected(socket: net.Socket): Error {
  return socket.destroyed
    ? codedError('ERR_SOCKET_CLOSED', `The ${socket.constructor.name} is destroyed; there is no connection to read keepalive from`)
    : codedError('ERR_SOCKET_NOT_CONNECTED', `The ${socket.constructor.name} is not connected yet; read its keepalive after 'connect'`);
}

/**
 * Server settings as each accepted socket receives them. A listening named
 * pipe is refused here, as its descriptor is on other systems, rather than
 * on each connection it accepts.
 */
export function recordServer(server: net.Server, values: Values): void {
  const handle = handleOf(server);
  if (server.listening && handle && isPipe(handle)) throw notTcp(server, 'unix');
  const holder = server as { [kServerValues]?: Values };
  const previous = holder[kServerValues];
  holder[kServerValues] = previous ? merge(previous, values) : values;
}

/** What can be known of a socket's or server's settings without a descriptor. */
export function readWithoutFd(target: net.Socket | net.Server, isSocket: boolean): PartialKeepaliveSettings {
  if (isSocket) {
    const socket = target as net.Socket;
    const handle = handleOf(socket);
    if (socket.destroyed || !handle || socket.connecting) throw notConnected(socket);
    const tcp = tcpHandle(handle);
    nodeSetKeepAlive(socket, tcp);
    return { ...known(tcp), userTimeout: 0 };
  }
  const server = target as net.Server;
  if (!server.listening) {
    throw codedError('ERR_SERVER_NOT_RUNNING', `The ${server.constructor.name} is not listening; read its keepalive after 'listening'`);
  }
  const values = (server as { [kServerValues]?: Values })[kServerValues];
  // Switched off (or never set), the package leaves accepted sockets as Node made them.
  if (!values?.enabled) return { enabled: null, idle: null, interval: null, count: null, userTimeout: 0 };
  return { enabled: true, ...plan(values, UNKNOWN), userTimeout: 0 };
}
