// `tcp-keepalive ls`: every TCP connection with its keepalive state, and
// where the owning process can be reached, the values set on the socket.
import { fstatSync, writeSync } from 'node:fs';
import { constants } from 'node:os';
import { geteuid } from 'node:process';
import { isatty } from 'node:tty';
import { common, bounded, parse, UsageError } from './args.js';
import { cellWidth, columns, duration, escapeText, styleFor, type Align, type Style } from './format.js';
import {
  allProcesses,
  commandOf,
  ERRNO_NAMES,
  netNamespace,
  processGone,
  processOf,
  scanHolders,
  tcpSockets,
  type Holder,
  type ProcSocket,
  type SocketScan,
} from './proc.js';
import { detectionSeconds, systemDefaults } from '../defaults.js';
import { native, Capability, Kind } from '../native.js';
import { TCP_STATES } from '../tcp-states.js';

export const help = `Usage: tcp-keepalive ls [--pid N]... [--port P]... [--all] [--json]

Lists the TCP connections of this network namespace (IPv4 and IPv6), as
\`ss -t\` does, with each one's keepalive state: on or off, the pending
timer and the probes sent without an answer. Where the owning process can
be reached (Linux 5.6+ pidfd_getfd with ptrace access: root, or the
process's own user), it also reads idle, interval, count and userTimeout
from the socket itself, and the time a silent peer takes to be detected.
Where they cannot be read, the row says why.

Options:
  --pid N     only connections held by process N (a thread id means its
              process); repeat for several processes
  --port P    only connections whose local or remote port is P; repeat for
              several ports
  -a, --all   listening, TIME_WAIT and SYN_RECV sockets too (as ss -a)
  --json      one JSON object, {"connections": [...]}, for scripts
  -h, --help  this text

A process in another network namespace (a container) has its connections
there: nsenter -t PID -n tcp-keepalive ls --pid PID

Exit status: 0 listed, 1 the connections could not be read, 2 bad input.`;

export interface ProcessRef {
  pid: number;
  fd: number;
  command: string | null;
}

export interface RowError {
  /** An errno name from the failing call (EPERM, ESRCH, EACCES, ...) or ERR_NO_PROCESS. */
  code: string;
  message: string;
}

/**
 * One connection as `ls --json` reports it: the kernel's view of the
 * socket, then who holds it and what could be read from it. Field names
 * are stable.
 */
export interface Connection extends ProcSocket {
  /** The first process holding the socket, or null when none could be found. */
  pid: number | null;
  fd: number | null;
  command: string | null;
  /** Every process holding it (a socket inherited across fork has several). */
  processes: ProcessRef[];
  /** SO_KEEPALIVE as read from the socket, else as the kernel's timer shows it, else null. */
  keepalive: boolean | null;
  idle: number | null;
  interval: number | null;
  count: number | null;
  userTimeout: number | null;
  /** Seconds to detect a silent peer under the values read; null when keepalive is off or unread. */
  detectionTime: number | null;
  /** Why idle, interval, count and userTimeout are null; null when they were read. */
  error: RowError | null;
}

/**
 * Whether SO_KEEPALIVE is on, from the timer alone. In ESTABLISHED and
 * CLOSE_WAIT the kernel keeps the keepalive timer pending exactly while
 * SO_KEEPALIVE is on, so "keepalive" means on and no timer means off. A
 * pending retransmit or zero-window timer hides it: then it is unknown.
 */
function keepaliveFromTimer(s: ProcSocket): boolean | null {
  if (s.state !== 'ESTABLISHED' && s.state !== 'CLOSE_WAIT') return null;
  if (s.timer === 'keepalive') return true;
  if (s.timer === null) return false;
  return null;
}

interface Read {
  enabled: boolean;
  idle: number;
  interval: number;
  count: number;
  userTimeout: number;
}

function describeFailure(code: string, call: string, detail: string, holder: Holder): RowError {
  switch (code) {
    case 'ESRCH':
      return { code, message: `process ${holder.pid} exited during the scan, before its socket could be read` };
    case 'EPERM':
    case 'EACCES':
      return { code, message: `not permitted to read process ${holder.pid}'s sockets (${call}: ${code}); run as root or as its user` };
    case 'EBADF':
      return { code, message: `process ${holder.pid} closed fd ${holder.fd} during the scan, before it could be read` };
    case 'ENOSYS':
      return { code, message: `this kernel has no ${call} (Linux 5.6+ reads another process's sockets)` };
    case 'ERR_FD_REUSED':
      return { code, message: `process ${holder.pid} reused fd ${holder.fd} for another file during the scan, before it could be read` };
    default:
      return { code, message: `${call} failed: ${detail}` };
  }
}

const ERRNO = constants.errno;
const out = new Int32Array(5);

/** One socket at a time, for a binary without readSockets. */
function readOne(holder: Holder, inode: number): Read | RowError {
  const binding = native();
  let fd: number;
  try {
    fd = binding.pidfdGetfd(holder.pid, holder.fd);
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    return describeFailure(e.code ?? 'UNKNOWN', e.syscall ?? 'pidfd_getfd', e.message, holder);
  }
  try {
    if (fstatSync(fd).ino !== inode || binding.kind(fd) !== Kind.Tcp) return describeFailure('ERR_FD_REUSED', '', '', holder);
    binding.get(fd, out);
    return { enabled: out[0] === 1, idle: out[1]!, interval: out[2]!, count: out[3]!, userTimeout: out[4]! };
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    return describeFailure(e.code ?? 'UNKNOWN', e.syscall ?? 'getsockopt', e.message, holder);
  } finally {
    binding.close(fd);
  }
}

/**
 * Reads the keepalive values of one process's sockets through duplicates
 * of its descriptors (pidfd_getfd), all in one native call. Each duplicate
 * is checked to be the same socket, since the process may have closed and
 * reused the fd meanwhile.
 */
function readValues(pid: number, list: { holder: Holder; inode: number }[]): (Read | RowError)[] {
  const binding = native();
  if (!(binding.capabilities & Capability.Pidfd)) {
    const why = { code: 'ENOSYS', message: "this build has no pidfd_getfd, so other processes' sockets cannot be read" };
    return list.map(() => why);
  }
  if (!binding.readSockets) return list.map((x) => readOne(x.holder, x.inode));
  const n = list.length;
  const fds = new Int32Array(n);
  const inodes = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    fds[i] = list[i]!.holder.fd;
    inodes[i] = list[i]!.inode;
  }
  const values = new Int32Array(6 * n);
  const err = binding.readSockets(pid, fds, inodes, values);
  if (err !== 0) {
    const code = ERRNO_NAMES.get(err) ?? `E${err}`;
    return list.map((x) => describeFailure(code, 'pidfd_open', code, x.holder));
  }
  // A process that exited has no descriptors left: its reads fail with EBADF.
  let gone: boolean | undefined;
  const exited = () => (gone ??= processGone(pid));
  return list.map((x, i) => {
    const o = 6 * i;
    if ((values[o] === ERRNO.EBADF || values[o] === ERRNO.ESRCH) && exited()) return describeFailure('ESRCH', '', '', x.holder);
    const status = values[o]!;
    if (status === -1) return describeFailure('ERR_FD_REUSED', '', '', x.holder);
    if (status !== 0) {
      const code = ERRNO_NAMES.get(status) ?? `E${status}`;
      return describeFailure(code, 'pidfd_getfd', code, x.holder);
    }
    return { enabled: values[o + 1] === 1, idle: values[o + 2]!, interval: values[o + 3]!, count: values[o + 4]!, userTimeout: values[o + 5]! };
  });
}

/** Why a socket that no process was found holding has no values. */
function noHolder(s: ProcSocket, scan: SocketScan, stillOpen: (inode: number) => boolean): RowError {
  if (s.inode === 0) {
    let message = `orphaned: its process closed it and the kernel finishes ${s.state} alone`;
    if (s.state === 'TIME_WAIT') message = 'closed: the kernel keeps only a TIME_WAIT entry, no socket to read';
    if (s.state === 'SYN_RECV' || s.state === 'NEW_SYN_RECV') message = 'handshake under way: no process has accepted it yet';
    return { code: 'ERR_NO_PROCESS', message };
  }
  if (!stillOpen(s.inode)) {
    return { code: 'ESRCH', message: 'closed during the scan: its process exited or closed it' };
  }
  if (scan.unreadable.length > 0) {
    // A process that was exiting while its descriptors were listed cannot
    // be read, and is no question of permission: say what happened.
    const alive = scan.unreadable.filter((pid) => !processGone(pid));
    if (alive.length === 0) return { code: 'ESRCH', message: 'its process exited during the scan, before the socket could be read' };
    const n = alive.length;
    const who = `${n} process${n === 1 ? "'s" : "es'"} descriptors could not be read`;
    return { code: 'EACCES', message: `owner unknown: ${who}${isRoot() ? ' (refused even to root)' : '; run as root'}` };
  }
  return { code: 'ERR_NO_PROCESS', message: 'no process in this PID namespace holds it' };
}

function isRoot(): boolean {
  return geteuid?.() === 0;
}

export interface ListOptions {
  /** Only the connections of these processes (thread ids already resolved). */
  pid?: number | number[];
  /** Only connections with one of these local or remote ports. */
  port?: number | number[];
  all?: boolean;
}

/** Points where a test can act between the steps of a scan. */
export interface ScanHooks {
  /** After the kernel's socket list is read, before the holders are looked for. */
  afterDump?(): void;
  /** Before the values of process pid's sockets are read. */
  beforeRead?(pid: number): void;
}

export interface Listing {
  connections: Connection[];
  /** Processes whose descriptors could not be read. */
  unreadable: number[];
}

const ALL_STATES = TCP_STATES.filter((s) => s !== 'UNKNOWN' && s !== 'BOUND_INACTIVE');
// What ss leaves out unless asked with -a: no process holds these, or they
// are not connections yet.
const HIDDEN = new Set(['LISTEN', 'CLOSE', 'TIME_WAIT', 'SYN_RECV', 'NEW_SYN_RECV']);

const list_ = <T>(v: T | T[] | undefined): T[] | undefined => (v === undefined ? undefined : Array.isArray(v) ? v : [v]);

const byPorts = (a: ProcSocket, b: ProcSocket) => a.localPort - b.localPort || a.remotePort - b.remotePort;

/** The work of one listing, known before any socket's values are read. */
interface Plan {
  /** Processes in ascending order, each with the sockets it holds first. */
  groups: { pid: number; sockets: ProcSocket[] }[];
  /** Sockets no process was found holding (never with --pid). */
  orphans: ProcSocket[];
  scan: SocketScan;
  holders(s: ProcSocket): ProcessRef[];
  command(pid: number): string | null;
  states: readonly string[];
}

function plan(options: ListOptions, hooks: ScanHooks): Plan {
  const states = options.all ? ALL_STATES : ALL_STATES.filter((s) => !HIDDEN.has(s));
  let sockets = tcpSockets(states);
  const ports = list_(options.port);
  if (ports) {
    const wanted = new Set(ports);
    sockets = sockets.filter((s) => wanted.has(s.localPort) || wanted.has(s.remotePort));
  }
  hooks.afterDump?.();
  const pids = list_(options.pid);
  const inodes = new Set<number>();
  for (const s of sockets) if (s.inode) inodes.add(s.inode);
  const scan = scanHolders(pids ? [...new Set(pids)].sort((a, b) => a - b) : allProcesses(), inodes);
  const commands = new Map<number, string | null>();
  const command = (pid: number) => {
    let name = commands.get(pid);
    if (name === undefined && !commands.has(pid)) commands.set(pid, (name = commandOf(pid)));
    return name ?? null;
  };
  const byPid = new Map<number, ProcSocket[]>();
  const orphans: ProcSocket[] = [];
  for (const s of sockets) {
    const first = s.inode ? scan.byInode.get(s.inode)?.[0] : undefined;
    if (!first) {
      if (!pids) orphans.push(s);
      continue;
    }
    const group = byPid.get(first.pid);
    if (group) group.push(s);
    else byPid.set(first.pid, [s]);
  }
  const groups = [...byPid.keys()].sort((a, b) => a - b).map((pid) => ({ pid, sockets: byPid.get(pid)!.sort(byPorts) }));
  return {
    groups,
    orphans: orphans.sort(byPorts),
    scan,
    command,
    states,
    holders: (s) => (s.inode ? scan.byInode.get(s.inode) ?? [] : []).map((h) => ({ pid: h.pid, fd: h.fd, command: command(h.pid) })),
  };
}

function row(s: ProcSocket, processes: ProcessRef[], read: Read | RowError): Connection {
  const first = processes[0];
  const values = 'enabled' in read ? read : null;
  // Every field written out: a spread of a wide object is a slow path in V8.
  return {
    family: s.family,
    localAddress: s.localAddress,
    localPort: s.localPort,
    remoteAddress: s.remoteAddress,
    remotePort: s.remotePort,
    state: s.state,
    uid: s.uid,
    inode: s.inode,
    sendQueue: s.sendQueue,
    recvQueue: s.recvQueue,
    timer: s.timer,
    timerSeconds: s.timerSeconds,
    probes: s.probes,
    retransmits: s.retransmits,
    pid: first?.pid ?? null,
    fd: first?.fd ?? null,
    command: first?.command ?? null,
    processes,
    keepalive: values ? values.enabled : keepaliveFromTimer(s),
    idle: values?.idle ?? null,
    interval: values?.interval ?? null,
    count: values?.count ?? null,
    userTimeout: values?.userTimeout ?? null,
    // The kernel's own arithmetic on what the socket holds, even where a
    // namespace's sysctls lie beyond what setsockopt accepts.
    detectionTime: values?.enabled ? detectionSeconds(values.idle, values.interval, values.count, values.userTimeout) : null,
    error: values ? null : (read as RowError),
  };
}

const SLICE = 1024;

/** The rows of a plan, a process at a time, in the order they are listed. */
function* rows(p: Plan, hooks: ScanHooks): Generator<Connection[]> {
  for (const { pid, sockets: all } of p.groups) {
    hooks.beforeRead?.(pid);
    // In slices, so the first rows leave early and memory holds one slice.
    for (let at = 0; at < all.length; at += SLICE) {
      const sockets = all.slice(at, at + SLICE);
      const holders = sockets.map((s) => p.holders(s));
      const reads = readValues(pid, sockets.map((s, i) => ({ holder: holders[i]![0]!, inode: s.inode })));
      yield sockets.map((s, i) => row(s, holders[i]!, reads[i]!));
    }
  }
  if (p.orphans.length === 0) return;
  // A socket whose holder was not found may have closed since the list was
  // read: look again, once, rather than blame permissions.
  let open: Set<number> | undefined;
  const stillOpen = (inode: number) => (open ??= new Set(tcpSockets(p.states).map((s) => s.inode))).has(inode);
  yield p.orphans.map((s) => row(s, [], noHolder(s, p.scan, stillOpen)));
}

/** Every connection at once; `ls` itself prints them as they are read. */
export function list(options: ListOptions = {}, hooks: ScanHooks = {}): Listing {
  const p = plan(options, hooks);
  const connections: Connection[] = [];
  for (const group of rows(p, hooks)) connections.push(...group);
  return { connections, unreadable: p.scan.unreadable };
}

function endpoint(address: string, port: number, family: 'IPv4' | 'IPv6'): string {
  return family === 'IPv6' ? `[${address}]:${port}` : `${address}:${port}`;
}

function timerText(c: ProcSocket): string {
  if (c.timer === null || c.timerSeconds === null) return '-';
  const left = c.timerSeconds < 10 ? `${c.timerSeconds.toFixed(1)}s` : duration(c.timerSeconds).replace(/ /g, '');
  return `${c.timer},${left},${c.probes}`;
}

const HEADER = ['STATE', 'LOCAL', 'REMOTE', 'PID', 'COMMAND', 'KEEPALIVE', 'TIMER', 'IDLE', 'INTVL', 'COUNT', 'USER_TIMEOUT', 'DETECTS_IN'];
const ALIGN: Align[] = ['left', 'left', 'left', 'right', 'left', 'left', 'left', 'right', 'right', 'right', 'right', 'left'];

/** The cells of one row; every text from /proc or another process is escaped. */
function cells(c: Connection, style: Style): string[] {
  // '?' where the kernel hides it behind another timer, '-' where it has no meaning.
  const unknown = c.state === 'ESTABLISHED' || c.state === 'CLOSE_WAIT' ? '?' : '-';
  const keepalive = c.keepalive === null ? unknown : c.keepalive ? style.green('on') : style.yellow('off');
  const head = [
    c.state,
    endpoint(c.localAddress, c.localPort, c.family),
    endpoint(c.remoteAddress, c.remotePort, c.family),
    c.pid === null ? '-' : String(c.pid),
    c.command === null ? '-' : escapeText(c.command),
    keepalive,
    timerText(c),
  ];
  if (c.error) return [...head, style.dim(escapeText(c.error.message))];
  return [
    ...head,
    `${c.idle}s`,
    `${c.interval}s`,
    String(c.count),
    c.userTimeout ? `${c.userTimeout}ms` : '0',
    c.detectionTime === null ? '-' : duration(c.detectionTime),
  ];
}

/**
 * Column widths from what is known before any value is read: the sockets,
 * their holders and the widest values the kernel accepts or the namespace
 * defaults to, so rows can be printed as they are read.
 */
function widths(p: Plan): number[] {
  const w = HEADER.map((h) => h.length);
  const grow = (i: number, text: string) => {
    if (text.length > w[i]!) w[i] = cellWidth(text);
  };
  const each = (s: ProcSocket, pid: number | null) => {
    grow(0, s.state);
    grow(1, endpoint(s.localAddress, s.localPort, s.family));
    grow(2, endpoint(s.remoteAddress, s.remotePort, s.family));
    grow(3, pid === null ? '-' : String(pid));
    grow(4, pid === null ? '-' : escapeText(p.command(pid) ?? '-'));
    grow(6, timerText(s));
  };
  for (const g of p.groups) for (const s of g.sockets) each(s, g.pid);
  for (const s of p.orphans) each(s, null);
  let d = { idle: 0, interval: 0, count: 0 };
  try {
    d = systemDefaults();
  } catch {
    // No defaults to read: the kernel's limits below still apply.
  }
  grow(7, `${Math.max(32767, d.idle)}s`);
  grow(8, `${Math.max(32767, d.interval)}s`);
  grow(9, String(Math.max(127, d.count)));
  return w;
}

/** The output closed under us (`ls | head`): stop quietly, as ss does. */
class OutputClosed extends Error {}

const pause = new Int32Array(new SharedArrayBuffer(4));

/**
 * Standard output written straight to fd 1 in large chunks, so rows leave
 * as soon as they are read, memory holds one chunk, and a closed pipe is
 * seen at the write that meets it (EPIPE) instead of as a later 'error'.
 */
class Output {
  private parts: string[] = [];
  private size = 0;

  write(text: string): void {
    this.parts.push(text);
    this.size += text.length;
    if (this.size >= 1 << 16) this.flush();
  }

  flush(): void {
    if (this.size === 0) return;
    const data = Buffer.from(this.parts.join(''));
    this.parts = [];
    this.size = 0;
    for (let at = 0; at < data.length; ) {
      try {
        at += writeSync(1, data, at);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'EPIPE') throw new OutputClosed();
        // A non-blocking pipe that is full: wait a moment for the reader.
        if (code === 'EAGAIN') Atomics.wait(pause, 0, 0, 1);
        else throw error;
      }
    }
  }
}

function printJson(p: Plan, hooks: ScanHooks, output: Output): void {
  let first = true;
  for (const group of rows(p, hooks)) {
    for (const c of group) {
      output.write(`${first ? '{\n  "connections": [\n' : ',\n'}    ${JSON.stringify(c, null, 2).replace(/\n/g, '\n    ')}`);
      first = false;
    }
    output.flush();
  }
  output.write(first ? '{\n  "connections": []\n}\n' : '\n  ]\n}\n');
}

function printTable(p: Plan, hooks: ScanHooks, output: Output, style: Style): void {
  if (p.groups.length === 0 && p.orphans.length === 0) {
    output.write('No TCP connections match.\n');
    return;
  }
  const line = columns(widths(p), ALIGN);
  output.write(`${line(HEADER.map((h) => style.bold(h)))}\n`);
  for (const group of rows(p, hooks)) {
    for (const c of group) output.write(`${line(cells(c, style))}\n`);
    output.flush();
  }
}

/** The table of a listing already made. */
export function render(connections: Connection[], style: Style): string {
  if (connections.length === 0) return 'No TCP connections match.';
  const body = connections.map((c) => cells(c, style));
  const w = HEADER.map((h, i) => Math.max(h.length, ...body.map((r) => (i < r.length - 1 || r.length === HEADER.length ? cellWidth(r[i] ?? '') : 0))));
  const line = columns(w, ALIGN);
  return [line(HEADER.map((h) => style.bold(h))), ...body.map(line)].join('\n');
}

/** --pid values as processes: a thread id becomes its process; a process in another network namespace is set aside. */
function processes(pids: number[]): { local: number[]; elsewhere: number[] } {
  const local: number[] = [];
  const elsewhere: number[] = [];
  const ours = netNamespace('self');
  for (const given of pids) {
    const pid = processOf(given);
    if (pid === null) throw new UsageError(`no process with pid ${given}`);
    if (pid !== given) process.stderr.write(`tcp-keepalive: ${given} is a thread of process ${pid}; listing process ${pid}\n`);
    const theirs = netNamespace(pid);
    if (ours !== null && theirs !== null && theirs !== ours) {
      process.stderr.write(
        `tcp-keepalive: process ${pid} is in another network namespace (${theirs}; this is ${ours}), whose connections are not listed here; look from inside it: nsenter -t ${pid} -n tcp-keepalive ls --pid ${pid}\n`,
      );
      elsewhere.push(pid);
    } else if (!local.includes(pid)) {
      local.push(pid);
    }
  }
  return { local, elsewhere };
}

export function run(args: string[], hooks: ScanHooks = {}): number {
  const values = parse('ls', args, {
    ...common,
    pid: { type: 'string', multiple: true },
    port: { type: 'string', multiple: true },
    all: { type: 'boolean', short: 'a' },
  });
  if (values.help) {
    process.stdout.write(`${help}\n`);
    return 0;
  }
  const pids = values.pid?.map((text) => bounded('pid', text, 'a process id', 1, 2 ** 22)!);
  const ports = values.port?.map((text) => bounded('port', text, 'a port number', 1, 65535)!);
  if (process.platform !== 'linux') {
    process.stderr.write(`tcp-keepalive: ls reads Linux's /proc and does not run on ${process.platform}\n`);
    return 1;
  }
  let pid: number[] | undefined;
  if (pids) {
    const found = processes(pids);
    if (found.local.length === 0) return 1;
    pid = found.local;
  }
  const p = plan({ pid, port: ports, all: values.all }, hooks);
  if (pid) {
    const unreadable = pid.filter((n) => p.scan.unreadable.includes(n));
    for (const n of unreadable) {
      process.stderr.write(`tcp-keepalive: cannot read the descriptors of process ${n} (EACCES); run as root or as its user\n`);
    }
    if (unreadable.length === pid.length) return 1;
  }
  const output = new Output();
  try {
    if (values.json) printJson(p, hooks, output);
    else printTable(p, hooks, output, styleFor({ isTTY: isatty(1) } as NodeJS.WriteStream));
    output.flush();
  } catch (error) {
    if (error instanceof OutputClosed) return 0;
    throw error;
  }
  return 0;
}
