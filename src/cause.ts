// Why a managed connection died. When a socket the package manages fails
// with ETIMEDOUT, ECONNRESET or EPIPE, the kernel still holds the evidence
// (TCP_INFO: unanswered keepalive probes, retransmissions, when data last
// moved) and the settings in force, but only until the descriptor is closed.
// Node closes it inside socket.destroy(err), in _destroy, before 'error' is
// emitted; so managed sockets get an own _destroy that reads the kernel
// first. Sockets the package never touched are not changed at all.
import diagnostics from 'node:diagnostics_channel';
import type net from 'node:net';
import { binding, InfoField } from './native.js';
import { tcpStateName } from './tcp-states.js';
import type { KeepaliveSettings } from './socket.js';
import type { Handle } from './target.js';

/** The diagnostics_channel on which every lost managed connection is published. */
export const CONNECTION_LOST_CHANNEL = 'tcp-keepalive:connection-lost';

const channel = diagnostics.channel(CONNECTION_LOST_CHANNEL);

/**
 * - 'keepalive': keepalive probes went unanswered (the peer, or a middlebox
 *   that dropped the flow, stopped answering an idle connection).
 * - 'user-timeout': sent data stayed unacknowledged for TCP_USER_TIMEOUT.
 * - 'retransmissions': sent data stayed unacknowledged until the system's
 *   retransmission limit (net.ipv4.tcp_retries2), no user timeout being set.
 * - 'reset': the peer, or a middlebox on the path, reset the connection
 *   (ECONNRESET; EPIPE when the peer had closed first).
 * - 'timeout': timed out, with no TCP_INFO on this platform to say which way.
 */
export type LossCause = 'keepalive' | 'user-timeout' | 'retransmissions' | 'reset' | 'timeout';

export interface ConnectionLost {
  cause: LossCause;
  /** The error's code: 'ETIMEDOUT', 'ECONNRESET', 'EPIPE', 'EHOSTUNREACH' or 'ENETUNREACH'. */
  code: string;
  /** One line for a log. */
  summary: string;
  /** The settings in force, read from the kernel before the close; null if unreadable. */
  settings: KeepaliveSettings | null;
  /**
   * Milliseconds since data last went either way (a retransmission counts
   * as sent), from TCP_INFO; null where there is none. The three below are
   * its parts: since data was last sent, received, and since the peer last
   * acknowledged anything.
   */
  idleMs: number | null;
  lastDataSentMs: number | null;
  lastDataReceivedMs: number | null;
  lastAckReceivedMs: number | null;
  /** Keepalive (or zero-window) probes sent and not answered. */
  probes: number | null;
  /** Consecutive retransmissions of unacknowledged data when it ended. */
  retransmits: number | null;
  /** Retransmissions over the connection's life. */
  totalRetransmits: number | null;
  /** The kernel's TCP state when it was read ('CLOSE' once the kernel gave up). */
  state: string | null;
  localAddress: string | undefined;
  localPort: number | undefined;
  remoteAddress: string | undefined;
  remotePort: number | undefined;
}

/** What subscribers to CONNECTION_LOST_CHANNEL receive. */
export interface ConnectionLostMessage extends ConnectionLost {
  socket: net.Socket;
  error: Error;
}

const TIMEOUTS = new Set(['ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH']);
const RESETS = new Set(['ECONNRESET', 'EPIPE']);

type DestroyFn = (this: net.Socket, error: Error | null, callback: (error?: Error | null) => void) => void;

// A socket's _destroy is wrapped at most once, and the wrapper then only
// looks at kActive: unwrapping from under someone else's wrapper and
// wrapping again would make the two call each other for ever.
const kPrevious = Symbol('tcp-keepalive.previousDestroy');
const kActive = Symbol('tcp-keepalive.watching');

type Watched = net.Socket & {
  _destroy: DestroyFn;
  _handle?: Handle | null;
  /** An own _destroy that was there before ours, or null for the prototype's. */
  [kPrevious]?: DestroyFn | null;
  [kActive]?: boolean;
};

const info = new Float64Array(binding.infoFields);
const values = new Int32Array(5);

function seconds(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;
}

function summarize(r: Omit<ConnectionLost, 'summary'>): string {
  const s = r.settings;
  const idle = r.idleMs === null ? '' : ` after ${seconds(r.idleMs)} without data`;
  switch (r.cause) {
    case 'keepalive':
      return `${r.probes} keepalive probe${r.probes === 1 ? '' : 's'} unanswered${idle}` +
        (s ? ` (idle ${s.idle} s, interval ${s.interval} s, count ${s.count}${s.userTimeout ? `, user timeout ${s.userTimeout} ms` : ''})` : '');
    case 'user-timeout':
      return `sent data went unacknowledged until TCP_USER_TIMEOUT (${s?.userTimeout} ms): ${r.retransmits} retransmissions, nothing heard from the peer for ${seconds(r.lastAckReceivedMs ?? 0)}`;
    case 'retransmissions':
      return `sent data went unacknowledged until the system's retransmission limit (net.ipv4.tcp_retries2; no user timeout set): ${r.retransmits} retransmissions, nothing heard from the peer for ${seconds(r.lastAckReceivedMs ?? 0)}`;
    case 'reset':
      return `reset by the peer or a middlebox on the path (${r.code})${idle}`;
    default:
      return `timed out (${r.code}); this platform gives no TCP_INFO to say whether by keepalive or retransmission`;
  }
}

function classify(code: string, probes: number | null, retransmits: number | null, userTimeout: number | undefined): LossCause {
  if (RESETS.has(code)) return 'reset';
  if (probes === null || retransmits === null) return 'timeout';
  if (probes > 0) return 'keepalive';
  if (retransmits > 0) return userTimeout ? 'user-timeout' : 'retransmissions';
  return 'timeout';
}

function capture(socket: Watched, error: Error & { code: string }): ConnectionLost {
  const handle = socket._handle;
  const fd = handle ? (handle._parent ?? handle).fd ?? handle.fd : undefined;
  let settings: KeepaliveSettings | null = null;
  let tcp = false;
  if (typeof fd === 'number' && fd >= 0) {
    try {
      binding.get(fd, values);
      settings = { enabled: values[0] === 1, idle: values[1]!, interval: values[2]!, count: values[3]!, userTimeout: values[4]! };
    } catch {
      // A descriptor already gone: report what is known.
    }
    try {
      binding.tcpInfo(fd, info);
      tcp = true;
    } catch {
      // No TCP_INFO on this platform.
    }
  }
  const at = (field: number): number | null => (tcp ? info[field]! : null);
  const lastDataSentMs = at(InfoField.LastDataSent);
  const lastDataReceivedMs = at(InfoField.LastDataRecv);
  const probes = at(InfoField.Probes);
  const retransmits = at(InfoField.Retransmits);
  const report: Omit<ConnectionLost, 'summary'> = {
    cause: classify(error.code, probes, retransmits, settings?.userTimeout),
    code: error.code,
    settings,
    idleMs: lastDataSentMs === null || lastDataReceivedMs === null ? null : Math.min(lastDataSentMs, lastDataReceivedMs),
    lastDataSentMs,
    lastDataReceivedMs,
    lastAckReceivedMs: at(InfoField.LastAckRecv),
    probes,
    retransmits,
    totalRetransmits: at(InfoField.TotalRetrans),
    state: tcp ? tcpStateName(info[InfoField.State]!) : null,
    // The peer was cached by watch() while the connection could still name it.
    localAddress: socket.localAddress,
    localPort: socket.localPort,
    remoteAddress: socket.remoteAddress,
    remotePort: socket.remotePort,
  };
  return { ...report, summary: summarize(report) };
}

function watchedDestroy(this: Watched, error: Error | null, callback: (error?: Error | null) => void): void {
  const e = error as (Error & { code?: unknown; syscall?: unknown; keepalive?: unknown }) | null;
  // A system error from reading or writing an established connection; a
  // failed connect is not a lost connection, and keepalive never ran.
  if (this[kActive] && e && typeof e.code === 'string' && (TIMEOUTS.has(e.code) || RESETS.has(e.code)) && typeof e.syscall === 'string' && e.syscall !== 'connect' && e.keepalive === undefined) {
    // The report is extra: nothing here may stop the socket's own error
    // handling, and a frozen error object still gets its report published.
    let report: ConnectionLost | undefined;
    try {
      report = capture(this, e as Error & { code: string });
      Object.defineProperty(e, 'keepalive', { value: report, enumerable: true, writable: true, configurable: true });
    } catch {
      // Not extensible, or nothing could be read.
    }
    if (report && channel.hasSubscribers) channel.publish({ ...report, socket: this, error: e } satisfies ConnectionLostMessage);
  }
  const previous = this[kPrevious] ?? (Object.getPrototypeOf(this) as Watched)._destroy;
  previous.call(this, error, callback);
}

const kWrapWatch = Symbol('tcp-keepalive.watchesTlsSockets');

type Accepting = net.Server & { [kWrapWatch]?: boolean; setSecureContext?: unknown };

// A TLS server's accepted connection is managed on its raw socket (that is
// what the server and the 'net.server.socket' channel hand out), but once
// the TLSSocket wraps it, errors reach the TLSSocket, and the raw socket is
// then destroyed without one. So the TLSSocket on top of a watched raw
// socket is watched too.
function onSecureConnection(tlsSocket: net.Socket & { _parent?: unknown }): void {
  const raw = tlsSocket._parent as Watched | undefined;
  if (raw && raw[kActive]) watch(tlsSocket);
}

/**
 * getpeername fails once the kernel has closed the connection (the local end
 * can still be read then); asking while connected has Node cache the peer
 * for the report. A no-op once cached or while still connecting.
 */
export function rememberPeer(socket: net.Socket): void {
  const s = socket as Watched & { _peername?: unknown };
  if (s._peername === undefined && !s.connecting && s._handle) void s.remoteAddress;
}

/** Starts watching a managed socket for a lost connection. Idempotent. */
export function watch(socket: net.Socket): void {
  const s = socket as Watched;
  // Duck-typed rather than instanceof tls.Server, so that loading the
  // package does not load tls.
  const server = (s as { server?: Accepting }).server;
  if (server && typeof server.setSecureContext === 'function' && !server[kWrapWatch]) {
    server[kWrapWatch] = true;
    server.on('secureConnection', onSecureConnection);
  }
  s[kActive] = true;
  if (Object.hasOwn(s, kPrevious)) return;
  s[kPrevious] = Object.hasOwn(s, '_destroy') ? s._destroy : null;
  s._destroy = watchedDestroy;
}

/**
 * Stops watching. The wrapper comes off only while it is still on top;
 * under another wrapper it stays, inactive, and passes straight through.
 */
export function unwatch(socket: net.Socket): void {
  const s = socket as Watched;
  if (!s[kActive]) return;
  s[kActive] = false;
  if (s._destroy !== watchedDestroy) return;
  const previous = s[kPrevious];
  if (previous) s._destroy = previous;
  else delete (s as Partial<Watched>)._destroy;
  delete s[kPrevious];
}
