// Why a managed connection died. When a socket the package manages fails
// with ETIMEDOUT, ECONNRESET or EPIPE, the kernel still holds the evidence
// (TCP_INFO: unanswered keepalive probes, retransmissions, when data last
// moved) and the settings in force, but only until the descriptor is closed.
// Node closes it inside socket.destroy(err), in _destroy, before 'error' is
// emitted; the hook on _destroy (hooks.ts) reads the kernel first.
import diagnostics from 'node:diagnostics_channel';
import type net from 'node:net';
import { invalidArgType } from './errors.js';
import { modeOf, peerOf } from './managed.js';
import { native, InfoField } from './native.js';
import { runtime } from './runtime.js';
import { tcpStateName } from './tcp-states.js';
import type { KeepaliveSettings } from './socket.js';
import { tcpHandle, type Handle } from './target.js';

/** The diagnostics_channel on which every lost managed connection is published. */
export const CONNECTION_LOST_CHANNEL = 'tcp-keepalive:connection-lost';

const channel = diagnostics.channel(CONNECTION_LOST_CHANNEL);

/**
 * - 'keepalive': keepalive probes went unanswered on an idle connection (the
 *   peer, or a middlebox that dropped the flow, stopped answering).
 * - 'user-timeout': sent data stayed unacknowledged for TCP_USER_TIMEOUT (a
 *   request or query was in flight when the peer went silent).
 * - 'retransmissions': sent data stayed unacknowledged until the system's
 *   retransmission limit (net.ipv4.tcp_retries2), no user timeout being set.
 * - 'peer-not-reading': the peer kept acknowledging but stopped reading, so
 *   its receive window stayed closed with data waiting to be sent, for longer
 *   than TCP_USER_TIMEOUT (Linux applies it to zero-window probing too): a
 *   live but stalled peer, not a vanished one.
 * - 'reset': the peer, or a middlebox on the path, reset the connection
 *   (ECONNRESET; EPIPE when the peer had closed first).
 * - 'timeout': timed out, with no TCP_INFO on this platform to say which way.
 */
export type LossCause = 'keepalive' | 'user-timeout' | 'retransmissions' | 'peer-not-reading' | 'reset' | 'timeout';

export interface ConnectionLost {
  cause: LossCause;
  /** The error's code: 'ETIMEDOUT', 'ECONNRESET', 'EPIPE', 'EHOSTUNREACH' or 'ENETUNREACH'. */
  code: string;
  /** One line for a log. */
  summary: string;
  /** The settings in force, read from the kernel before the close; null if unreadable. */
  settings: KeepaliveSettings | null;
  /**
   * Milliseconds since anything was heard from the peer (data or an
   * acknowledgement), from TCP_INFO; null where there is none.
   */
  silentMs: number | null;
  /** Milliseconds since data last went either way (new data sent or received). */
  idleMs: number | null;
  lastDataSentMs: number | null;
  lastDataReceivedMs: number | null;
  lastAckReceivedMs: number | null;
  /** Keepalive (or zero-window) probes sent and not answered. */
  probes: number | null;
  /** Consecutive retransmissions of unacknowledged data when it ended. */
  retransmits: number | null;
  /** Segments sent and not acknowledged when it ended (the kernel may already have let go of them). */
  unacked: number | null;
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

function seconds(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

export function summarize(r: Omit<ConnectionLost, 'summary'>): string {
  const s = r.settings;
  const silent = r.silentMs === null ? '' : `, nothing heard from it for ${seconds(r.silentMs)}`;
  switch (r.cause) {
    case 'keepalive': {
      const cut = s && s.userTimeout > 0 && r.probes !== null && r.probes < s.count ? `, cut short by TCP_USER_TIMEOUT (${s.userTimeout} ms)` : '';
      return (
        `the peer stopped answering an idle connection: ${plural(r.probes ?? 0, 'keepalive probe')} unanswered${silent}${cut}` +
        (s ? ` (idle ${s.idle} s, interval ${s.interval} s, count ${s.count})` : '')
      );
    }
    case 'user-timeout':
      return `the peer stopped acknowledging data sent to it (a request was in flight)${silent}: ${plural(r.retransmits ?? 0, 'retransmission')}, ended by TCP_USER_TIMEOUT (${s?.userTimeout} ms)`;
    case 'retransmissions':
      return `the peer stopped acknowledging data sent to it (a request was in flight)${silent}: ${plural(r.retransmits ?? 0, 'retransmission')}, ended by the system's retransmission limit (net.ipv4.tcp_retries2); set userTimeout to end it sooner`;
    case 'peer-not-reading':
      return `the peer kept answering but stopped reading: its receive window stayed closed with data waiting to be sent for longer than TCP_USER_TIMEOUT (${s?.userTimeout} ms); raise userTimeout above the longest pause a healthy peer may take`;
    case 'reset':
      return `reset by the peer or a middlebox on the path (${r.code})${silent}`;
    default:
      if (r.probes !== null) {
        const inFlight = r.unacked === null ? 'no retransmission' : 'nothing in flight';
        return `timed out (${r.code}) with no keepalive probe unanswered and ${inFlight}${silent}`;
      }
      // Bun closes the descriptor before the error reaches JavaScript.
      return runtime === 'bun'
        ? `timed out (${r.code}); Bun closes the socket before reporting the error, so its TCP_INFO cannot say whether by keepalive or retransmission`
        : `timed out (${r.code}); this platform gives no TCP_INFO to say whether by keepalive or retransmission`;
  }
}

/**
 * Data in flight decides first: the keepalive timer does not run while sent
 * data is unacknowledged, so a connection that retransmitted was ended by
 * the user timeout or the retransmission limit, even if a keepalive probe
 * went out before the write.
 */
export function classify(code: string, probes: number | null, retransmits: number | null, unacked: number | null, userTimeout: number | undefined): LossCause {
  if (RESETS.has(code)) return 'reset';
  if (probes === null || retransmits === null) return 'timeout';
  if (retransmits > 0 || (unacked ?? 0) > 0) return userTimeout ? 'user-timeout' : 'retransmissions';
  if (probes > 0) return 'keepalive';
  // Timed out with nothing unacknowledged and every probe answered: the only
  // way there is the user timeout over zero-window probing, a peer that is
  // reachable but does not read.
  // A short TCP_INFO (an older kernel, qemu-user) may leave unacked unknown:
  // then nothing says the send queue was empty.
  if (code === 'ETIMEDOUT' && userTimeout && unacked !== null) return 'peer-not-reading';
  return 'timeout';
}

let info: Float64Array | undefined;
const values = new Int32Array(5);

type Peered = net.Socket & { _peername?: { address?: string; port?: number } };

function capture(socket: net.Socket, tcp: Handle, error: Error & { code: string }): ConnectionLost {
  const fd = tcp.fd;
  let settings: KeepaliveSettings | null = null;
  let tcpInfo = false;
  if (typeof fd === 'number' && fd >= 0) {
    try {
      native().get(fd, values);
      settings = { enabled: values[0] === 1, idle: values[1]!, interval: values[2]!, count: values[3]!, userTimeout: values[4]! };
    } catch {
      // A descriptor already gone: report what is known.
    }
    try {
      info ??= new Float64Array(native().infoFields);
      native().tcpInfo(fd, info);
      tcpInfo = true;
    } catch {
      // No TCP_INFO on this platform.
    }
  }
  const at = (field: number): number | null => {
    const value = tcpInfo ? info![field]! : NaN;
    return Number.isNaN(value) ? null : value;
  };
  const lastDataSentMs = at(InfoField.LastDataSent);
  const lastDataReceivedMs = at(InfoField.LastDataRecv);
  const lastAckReceivedMs = at(InfoField.LastAckRecv);
  const probes = at(InfoField.Probes);
  const retransmits = at(InfoField.Retransmits);
  const unacked = at(InfoField.Unacked);
  // Node's own cache of the peer, else what the connect call named: once
  // the kernel has closed the connection it can no longer be asked.
  const cached = (socket as Peered)._peername;
  const peer = peerOf(tcp);
  const report: Omit<ConnectionLost, 'summary'> = {
    cause: classify(error.code, probes, retransmits, unacked, settings?.userTimeout),
    code: error.code,
    settings,
    silentMs: lastDataReceivedMs === null || lastAckReceivedMs === null ? null : Math.min(lastDataReceivedMs, lastAckReceivedMs),
    idleMs: lastDataSentMs === null || lastDataReceivedMs === null ? null : Math.min(lastDataSentMs, lastDataReceivedMs),
    lastDataSentMs,
    lastDataReceivedMs,
    lastAckReceivedMs,
    probes,
    retransmits,
    unacked,
    totalRetransmits: at(InfoField.TotalRetrans),
    state: tcpInfo ? tcpStateName(info![InfoField.State]!) : null,
    localAddress: socket.localAddress,
    localPort: socket.localPort,
    remoteAddress: cached?.address ?? peer?.address,
    remotePort: cached?.port ?? peer?.port,
  };
  return { ...report, summary: summarize(report) };
}

type Reported = Error & { code?: unknown; syscall?: unknown; keepalive?: unknown };

/**
 * The hook's call when a socket is destroyed with an error and its
 * descriptor is still open: a managed connection lost while reading or
 * writing gets its report. A failed connect is not a lost connection, and
 * keepalive never ran.
 */
export function onDestroying(socket: net.Socket, error: Error): void {
  const e = error as Reported;
  if (typeof e.code !== 'string' || !(TIMEOUTS.has(e.code) || RESETS.has(e.code))) return;
  if (typeof e.syscall !== 'string' || e.syscall === 'connect' || e.keepalive !== undefined) return;
  const handle = (socket as { _handle?: Handle | null })._handle;
  const tcp = handle ? tcpHandle(handle) : null;
  if (!tcp || modeOf(tcp) === undefined) return;
  // The report is extra: nothing here may stop the socket's own error
  // handling, and a frozen error object still gets its report published.
  let report: ConnectionLost | undefined;
  try {
    report = capture(socket, tcp, e as Error & { code: string });
    // Not enumerable: JSON.stringify(error) and deep-equality checks of
    // errors stay as they were without the package; loggers that want it
    // read error.keepalive (or lossReport(error)) by name.
    Object.defineProperty(e, 'keepalive', { value: report, enumerable: false, writable: true, configurable: true });
  } catch {
    // Not extensible, or nothing could be read.
  }
  if (report && channel.hasSubscribers) channel.publish({ ...report, socket, error: e } satisfies ConnectionLostMessage);
}

/**
 * The report of why a managed connection was lost, from an error the
 * socket emitted, or undefined for any other error: typed access to
 * `error.keepalive` for TypeScript.
 */
export function lossReport(error: unknown): ConnectionLost | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const report = (error as { keepalive?: unknown }).keepalive;
  return typeof report === 'object' && report !== null && typeof (report as ConnectionLost).cause === 'string' ? (report as ConnectionLost) : undefined;
}

/**
 * Calls listener with every lost managed connection in this process (the
 * CONNECTION_LOST_CHANNEL diagnostics channel, typed); returns a function
 * that stops it.
 */
export function onConnectionLost(listener: (message: ConnectionLostMessage) => void): () => void {
  if (typeof listener !== 'function') {
    throw invalidArgType('listener', 'a function', listener);
  }
  const subscriber = (message: unknown) => listener(message as ConnectionLostMessage);
  diagnostics.subscribe(CONNECTION_LOST_CHANNEL, subscriber);
  return () => {
    diagnostics.unsubscribe(CONNECTION_LOST_CHANNEL, subscriber);
  };
}
