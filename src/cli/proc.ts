// What Linux's /proc says about TCP sockets and who holds them. This is the
// same information `ss` and `netstat` show, read from /proc/net/tcp{,6}
// (format: the kernel's net/ipv4/tcp_ipv4.c and net/ipv6/tcp_ipv6.c) and
// the "socket:[inode]" links under /proc/PID/fd.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { constants as osConstants, endianness } from 'node:os';
import { native } from '../native.js';
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

// The faster path, through the native layer (native/inspect_linux.c): the
// kernel's sock_diag dump instead of /proc/net/tcp's text, and one call per
// process for its socket descriptors instead of one readlink per descriptor.

/** The bit of each state in a sock_diag request. */
export function stateMask(states: readonly string[]): number {
  let mask = 0;
  for (const name of states) {
    const n = TCP_STATE_NUMBERS.get(name);
    if (n !== undefined) mask |= 1 << n;
  }
  return mask;
}

const TCP_STATE_NUMBERS = new Map<string, number>(Array.from({ length: 14 }, (_, n) => [tcpStateName(n), n]));

// tka_diag_record in native/inspect.h.
const RECORD = 64;
const DIAG_TIMERS: Record<number, TimerName> = { 1: 'retransmit', 2: 'keepalive', 3: 'timewait', 4: 'persist' };

/** Decodes tcpDump's records. */
export function decodeDiag(buffer: ArrayBuffer): ProcSocket[] {
  const view = new DataView(buffer);
  const bytes = new Uint8Array(buffer);
  const n = Math.floor(buffer.byteLength / RECORD);
  const sockets: ProcSocket[] = new Array(n);
  const le = littleEndian;
  for (let i = 0; i < n; i++) {
    const o = i * RECORD;
    const v6 = bytes[o] === 6;
    const timer = DIAG_TIMERS[bytes[o + 2]!] ?? null;
    const local = o + 8;
    const remote = o + 24;
    sockets[i] = {
      family: v6 ? 'IPv6' : 'IPv4',
      localAddress: v6 ? formatIPv6(Array.from(bytes.subarray(local, local + 16))) : `${bytes[local]}.${bytes[local + 1]}.${bytes[local + 2]}.${bytes[local + 3]}`,
      localPort: view.getUint16(o + 4, le),
      remoteAddress: v6 ? formatIPv6(Array.from(bytes.subarray(remote, remote + 16))) : `${bytes[remote]}.${bytes[remote + 1]}.${bytes[remote + 2]}.${bytes[remote + 3]}`,
      remotePort: view.getUint16(o + 6, le),
      state: tcpStateName(bytes[o + 1]!),
      uid: view.getUint32(o + 40, le),
      inode: view.getUint32(o + 44, le),
      sendQueue: view.getUint32(o + 52, le),
      recvQueue: view.getUint32(o + 48, le),
      timer,
      timerSeconds: timer === null ? null : view.getUint32(o + 56, le) / 1000,
      probes: bytes[o + 60]!,
      retransmits: bytes[o + 61]!,
    };
  }
  return sockets;
}

/**
 * The TCP sockets of this network namespace in the given states, from the
 * kernel's sock_diag dump where the binary has it, else from /proc/net/tcp.
 * Both give the same fields; the dump gives timers to the millisecond.
 */
export function tcpSockets(states: readonly string[]): ProcSocket[] {
  const binding = process.platform === 'linux' ? native() : undefined;
  if (binding?.tcpDump) {
    const result = binding.tcpDump(stateMask(states));
    // A kernel without sock_diag for TCP (no tcp_diag module) still has /proc.
    if (typeof result !== 'number') return decodeDiag(result);
  }
  const wanted = new Set(states);
  return readTcpSockets().filter((s) => wanted.has(s.state));
}

export interface SocketScan {
  /** Socket inode to the descriptors that refer to it, for the inodes asked about. */
  byInode: Map<number, Holder[]>;
  /** Processes whose descriptors could not be read although they are still running. */
  unreadable: number[];
  /** Processes that exited while their descriptors were being read. */
  exited: number[];
}

/** Whether process pid has gone: no /proc entry, or only a zombie's, which holds no files. */
export function processGone(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return true;
  }
  // pid (comm) S ...: the state follows the last ')', since comm may hold one.
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state === 'Z' || state === 'X';
}

/** Every process id in this PID namespace, ascending. */
export function allProcesses(): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number)
    .sort((a, b) => a - b);
}

/**
 * Which descriptors of processes `pids` refer to the sockets `wanted`, each
 * process read in one native call where the binary has it. A process whose
 * descriptors cannot be read is told apart from one that exited meanwhile
 * (the kernel refuses a vanished process's links with EACCES too).
 */
export function scanHolders(pids: readonly number[], wanted: ReadonlySet<number>): SocketScan {
  const binding = native();
  const byInode = new Map<number, Holder[]>();
  const unreadable: number[] = [];
  const exited: number[] = [];
  const add = (inode: number, pid: number, fd: number) => {
    if (!wanted.has(inode)) return;
    const existing = byInode.get(inode);
    if (existing) existing.push({ pid, fd });
    else byInode.set(inode, [{ pid, fd }]);
  };
  const failed = (pid: number, code: string | undefined) => {
    if (code === 'ENOENT' || code === 'ESRCH' || processGone(pid)) exited.push(pid);
    else if (code === 'EACCES' || code === 'EPERM') unreadable.push(pid);
  };
  for (const pid of pids) {
    if (binding.procSockets) {
      const result = binding.procSockets(pid);
      if (typeof result === 'number') {
        failed(pid, ERRNO_NAMES.get(result));
        continue;
      }
      const words = new Uint32Array(result);
      for (let i = 1; i + 1 < words.length; i += 2) add(words[i + 1]!, pid, words[i]!);
      if (words[0]! > 0) failed(pid, 'EACCES');
      continue;
    }
    const one = socketHolders([pid]);
    for (const [inode, holders] of one.byInode) for (const h of holders) add(inode, h.pid, h.fd);
    if (one.unreadable.length > 0) failed(pid, 'EACCES');
    else if (processGone(pid)) exited.push(pid);
  }
  return { byInode, unreadable, exited };
}

/** errno numbers to their names (EPERM, ...), as the native layer returns numbers. */
export const ERRNO_NAMES = new Map<number, string>(Object.entries(osConstants.errno).map(([name, n]) => [n, name]));

/** The process a thread belongs to (its thread group), the pid itself for a process, null once gone. */
export function processOf(pid: number): number | null {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'latin1');
  } catch {
    return null;
  }
  const tgid = /^Tgid:\s*(\d+)/m.exec(status);
  return tgid ? Number(tgid[1]) : pid;
}

/** The network namespace of a process ("net:[4026531840]"), or null when it cannot be read. */
export function netNamespace(pid: number | 'self'): string | null {
  try {
    return readlinkSync(`/proc/${pid}/ns/net`);
  } catch {
    return null;
  }
}
