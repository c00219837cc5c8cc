/** Linux's TCP states (include/net/tcp_states.h), by their number, as ss names them. */
export const TCP_STATES = [
  'UNKNOWN',
  'ESTABLISHED',
  'SYN_SENT',
  'SYN_RECV',
  'FIN_WAIT1',
  'FIN_WAIT2',
  'TIME_WAIT',
  'CLOSE',
  'CLOSE_WAIT',
  'LAST_ACK',
  'LISTEN',
  'CLOSING',
  'NEW_SYN_RECV',
  'BOUND_INACTIVE',
] as const;

export type TcpState = (typeof TCP_STATES)[number];

export function tcpStateName(state: number): TcpState {
  return TCP_STATES[state] ?? 'UNKNOWN';
}
