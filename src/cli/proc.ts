// What Linux's /proc says about TCP sockets and who holds them. This is the
// same information `ss` and `netstat` show, read from /proc/net/tcp{,6}
// (format: the kernel's net/ipv4/tcp_ipv4.c and net/ipv6/tcp_ipv6.c) and
// the "socket:[inode]" links under /proc/PID/fd.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { endianness } from 'node:os';
import { tcpStateName } from '../tcp-states.js';

// /proc/net/tcp gives tm->when in clock ticks (jiffies_delta_to_clock_t).
// USER_HZ, what sysconf(_SC_CLK_TCK) returns, is 100 on every architecture
// Node runs on: it is part of the kernel's ABI, not a build option.
const CLOCK_TICKS_PER_SECOND = 100;


/**
 * The "tr" column: which timer is pending. 1 covers the retransmit, loss
 * probe and reordering timers (ss calls it "on"), 4 the zero-window probe
 * timer (ss: "persist"), 2 sk_timer, which in ESTABLISHED and CLOSE_WAIT is
 * the keepalive timer (and in FIN_WAIT2 the FIN timeout, which ss also calls
 * "keepalive"). When several are pending, /proc shows only the first of
 * 1, 4, 2.
 */
export type TimerName = 'retransmit' | 'keepalive' | 'timewait' | 'persist';

const TIMERS: Record<number, TimerName> = {
  1: 'retransmit',
  2: 'keepalive',
  3: 'timewait',
  4: 'persist',
};

export interface ProcSocket {
  family: 'IPv4' | 'IPv6';
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
  state: string;
  uid: number;
  /** 0 when no file holds the socket (TIME_WAIT, a connection not yet accepted). */
  inode: number;
  /** Bytes sent and not yet acknowledged (LISTEN: accept queue). */
  sendQueue: number;
  /** Bytes received and not yet read by the application. */
  recvQueue: number;
  timer: TimerName | null;
  /** Seconds until the pending timer fires, at /proc's 10 ms resolution. */
  timerSeconds: number | null;
  /** icsk_probes_out: keepalive or zero-window probes sent and unanswered. */
  probes: number;
  /** icsk_retransmits. */
  retransmits: number;
}

const littleEndian = endianness() === 'LE';

/** One 8-digit word of /proc's address: a __be32 printed as a host-order integer. */
function wordBytes(hex: string): number[] {
  const n = Number.parseInt(hex, 16);
  const bytes = [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
  return littleEndian ? bytes.reverse() : bytes;
}

/** RFC 5952 text: lower case, the longest run of zero groups as "::". */
export function formatIPv6(bytes: number[]): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0));
  // IPv4-mapped, as Node reports dual-stack peers: ::ffff:127.0.0.1
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `::ffff:${bytes.slice(12).join('.')}`;
  }
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

function address(field: string, family: 'IPv4' | 'IPv6'): [string, number] {
  const [hex = '', port = '0'] = field.split(':');
  const bytes: number[] = [];
  for (let i = 0; i < hex.length; i += 8) bytes.push(...wordBytes(hex.slice(i, i + 8)));
  const text = family === 'IPv4' ? bytes.join('.') : formatIPv6(bytes);
  return [text, Number.parseInt(port, 16)];
}

/** Parses the text of /proc/net/tcp or /proc/net/tcp6. */
export function parseProcNetTcp(text: string, family: 'IPv4' | 'IPv6'): ProcSocket[] {
  const sockets: ProcSocket[] = [];
  for (const line of text.split('\n').slice(1)) {
    // sl local rem st tx:rx tr:when retrnsmt uid timeout inode ...
    const f = line.trim().split(/\s+/);
    if (f.length < 10) continue;
    const [localAddress, localPort] = address(f[1]!, family);
    const [remoteAddress, remotePort] = address(f[2]!, family);
    const stateNumber = Number.parseInt(f[3]!, 16);
    const [tx = '0', rx = '0'] = f[4]!.split(':');
    const [tr = '0', when = '0'] = f[5]!.split(':');
    const timer = TIMERS[Number.parseInt(tr, 16)] ?? null;
    sockets.push({
      family,
      localAddress,
      localPort,
      remoteAddress,
      remotePort,
      state: tcpStateName(stateNumber),
      uid: Number(f[7]),
      inode: Number(f[9]),
      sendQueue: Number.parseInt(tx, 16),
      recvQueue: Number.parseInt(rx, 16),
      timer,
      timerSeconds: timer === null ? null : Number.parseInt(when, 16) / CLOCK_TICKS_PER_SECOND,
      probes: Number(f[8]),
      retransmits: Number.parseInt(f[6]!, 16),
    });
  }
  return sockets;
}

/** Every TCP socket of this network namespace, IPv4 then IPv6. */
export function readTcpSockets(): ProcSocket[] {
  const sockets = parseProcNetTcp(readFileSync('/proc/net/tcp', 'latin1'), 'IPv4');
  let v6: string;
  try {
    v6 = readFileSync('/proc/net/tcp6', 'latin1');
  } catch (error) {
    // A kernel built without IPv6 has no tcp6 file and no IPv6 sockets.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return sockets;
    throw error;
  }
  return sockets.concat(parseProcNetTcp(v6, 'IPv6'));
}

export interface Holder {
  pid: number;
  fd: number;
}

export interface Holders {
  /** Socket inode to the descriptors that refer to it. */
  byInode: Map<number, Holder[]>;
  /** Processes whose descriptors could not be read (EACCES: another user's, without root). */
  unreadable: number[];
}

function errnoOf(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException).code;
}

const SOCKET_LINK = /^socket:\[(\d+)\]$/;

/**
 * Which process descriptors refer to which socket, from the symlinks in
 * /proc/PID/fd. `pids` limits the scan; processes that exit meanwhile are
 * skipped, those that cannot be read are listed.
 */
export function socketHolders(pids?: number[]): Holders {
  const byInode = new Map<number, Holder[]>();
  const unreadable: number[] = [];
  const list = pids ?? readdirSync('/proc').filter((name) => /^\d+$/.test(name)).map(Number);
  for (const pid of list) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch (error) {
      const code = errnoOf(error);
      if (code === 'EACCES' || code === 'EPERM') unreadable.push(pid);
      continue;
    }
    let denied = false;
    for (const name of fds) {
      let link: string;
      try {
        link = readlinkSync(`/proc/${pid}/fd/${name}`);
      } catch (error) {
        const code = errnoOf(error);
        if (code === 'EACCES' || code === 'EPERM') denied = true;
        continue;
      }
      const match = SOCKET_LINK.exec(link);
      if (!match) continue;
      const inode = Number(match[1]);
      const holder = { pid, fd: Number(name) };
      const existing = byInode.get(inode);
      if (existing) existing.push(holder);
      else byInode.set(inode, [holder]);
    }
    if (denied) unreadable.push(pid);
  }
  return { byInode, unreadable };
}

/** The process's name as ss shows it (/proc/PID/comm), or null once it has gone. */
export function commandOf(pid: number): string | null {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').replace(/\n$/, '');
  } catch {
    return null;
  }
}
