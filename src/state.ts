// What the kernel knows about a connection while it probes: TCP_INFO, read
// fresh on each call, so a caller can watch a dead peer being found.
import net from 'node:net';
import { codedError, invalidArgType } from './errors.js';
import { native, Capability, InfoField } from './native.js';
import { connectedFd } from './socket.js';

import { tcpStateName, type TcpState } from './tcp-states.js';

export type { TcpState };

/**
 * Each number is null where the kernel did not report it: an older kernel
 * (or an emulator) returns a shorter TCP_INFO than this package knows, and a
 * field past its end is unknown, never a guess.
 */
export interface KeepaliveState {
  /** The TCP state, as `ss` names it: 'ESTABLISHED', 'CLOSE_WAIT', ... */
  state: TcpState;
  /**
   * Probes sent since the peer was last heard from and not answered
   * (tcpi_probes): keepalive probes on an idle connection, zero-window probes
   * on a stalled one. 0 on a healthy connection; the kernel drops the
   * connection once it reaches `count`.
   */
  unansweredProbes: number | null;
  /** Milliseconds since data last arrived (tcpi_last_data_recv). */
  lastDataReceivedMs: number | null;
  /** Milliseconds since an ACK last arrived (tcpi_last_ack_recv). */
  lastAckReceivedMs: number | null;
  /** Milliseconds since data was last sent (tcpi_last_data_sent). */
  lastDataSentMs: number | null;
  /** Segments sent and not yet acknowledged (tcpi_unacked). While this is above 0 the keepalive timer does not run; only `userTimeout` bounds the wait. */
  unacked: number | null;
  /** Retransmission timeouts in a row for the oldest unacknowledged segment (tcpi_retransmits). */
  retransmits: number | null;
  /** Retransmissions over the connection's life (tcpi_total_retrans). */
  totalRetransmits: number | null;
  /** Exponential backoff steps of the retransmission timer (tcpi_backoff). */
  backoff: number | null;
  /** Current retransmission timeout, milliseconds (tcpi_rto). */
  rtoMs: number | null;
  /** Smoothed round-trip time, milliseconds (tcpi_rtt). */
  rttMs: number | null;
  /** Round-trip time variation, milliseconds (tcpi_rttvar). */
  rttVarMs: number | null;
}

let info: Float64Array | undefined;

/**
 * Reads TCP_INFO for a connected socket. A server has no peer to probe and
 * is refused (ERR_INVALID_ARG_TYPE): read the state of its accepted sockets.
 */
export function getKeepaliveState(socket: net.Socket): KeepaliveState {
  if (!(socket instanceof net.Socket)) {
    throw invalidArgType('socket', 'a connected net.Socket or tls.TLSSocket (a server has no peer to probe; read its accepted sockets)', socket);
  }
  if (!(native().capabilities & Capability.TcpInfo)) {
    throw codedError('ERR_KEEPALIVE_UNSUPPORTED', `This platform (${process.platform}) cannot read TCP_INFO`);
  }
  info ??= new Float64Array(native().infoFields);
  native().tcpInfo(connectedFd(socket), info);
  const at = (field: number, scale = 1): number | null => {
    const value = info![field]!;
    return Number.isNaN(value) ? null : value / scale;
  };
  return {
    state: tcpStateName(info[InfoField.State]!),
    unansweredProbes: at(InfoField.Probes),
    lastDataReceivedMs: at(InfoField.LastDataRecv),
    lastAckReceivedMs: at(InfoField.LastAckRecv),
    lastDataSentMs: at(InfoField.LastDataSent),
    unacked: at(InfoField.Unacked),
    retransmits: at(InfoField.Retransmits),
    totalRetransmits: at(InfoField.TotalRetrans),
    backoff: at(InfoField.Backoff),
    // The kernel reports these three in microseconds.
    rtoMs: at(InfoField.Rto, 1000),
    rttMs: at(InfoField.Rtt, 1000),
    rttVarMs: at(InfoField.Rttvar, 1000),
  };
}
