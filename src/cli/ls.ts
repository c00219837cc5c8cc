// `tcp-keepalive ls`: every TCP connection with its keepalive state, and
// where the owning process can be reached, the values set on the socket.
import { existsSync, fstatSync } from 'node:fs';
import { common, bounded, parse, UsageError } from './args.js';
import { duration, styleFor, table, type Style } from './format.js';
import { commandOf, readTcpSockets, socketHolders, type Holders, type ProcSocket } from './proc.js';
import { detectionTime } from '../defaults.js';
import { native, Capability, Kind } from '../native.js';

export const help = `Usage: tcp-keepalive ls [--pid N] [--port P] [--all] [--json]

Lists the TCP connections of this network namespace (IPv4 and IPv6), as
\`ss -t\` does, with each one's keepalive state: on or off, the pending
timer and the probes sent without an answer. Where the owning process can
be reached (Linux 5.6+ pidfd_getfd with ptrace access: root, or the
process's own user), it also reads idle, interval, count and userTimeout
from the socket itself, and the time a silent peer takes to be detected.
Where they cannot be read, the row says why.

Options:
  --pid N     only connections held by process N
  --port P    only connections whose local or remote port is P
  -a, --all   listening, TIME_WAIT and SYN_RECV sockets too (as ss -a)
  --json      one JSON object, {"connections": [...]}, for scripts
  -h, --help  this text

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
 * One connection as `ls --json` reports it: /proc's view of the socket, then
 * who holds it and what could be read from it. Field names are stable.
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

const out = new Int32Array(5);

interface Read {
  enabled: boolean;
  idle: number;
  interval: number;
  count: number;
  userTimeout: number;
}

function describeFailure(error: NodeJS.ErrnoException & { syscall?: string }, holder: ProcessRef): RowError {
  const code = error.code ?? 'UNKNOWN';
  const call = error.syscall ?? 'pidfd_getfd';
  switch (code) {
    case 'ESRCH':
      return { code, message: `process ${holder.pid} exited before its socket could be read` };
    case 'EPERM':
    case 'EACCES':
      return { code, message: `not permitted to read process ${holder.pid}'s sockets (${call}: ${code}); run as root or as its user` };
    case 'EBADF':
      return { code, message: `process ${holder.pid} closed fd ${holder.fd} before it could be read` };
    case 'ENOSYS':
      return { code, message: `this kernel has no ${call} (Linux 5.6+ reads another process's sockets)` };
    default:
      return { code, message: `${call} failed: ${error.message}` };
  }
}

/**
 * Reads the keepalive values from another process's socket through a
 * duplicate of its descriptor. The duplicate is checked to be the same
 * socket, since the process may have closed and reused the fd meanwhile.
 */
function readValues(holder: ProcessRef, inode: number): Read | RowError {
  if (!(native().capabilities & Capability.Pidfd)) {
    return { code: 'ENOSYS', message: "this build has no pidfd_getfd, so other processes' sockets cannot be read" };
  }
  let fd: number;
  try {
    fd = native().pidfdGetfd(holder.pid, holder.fd);
  } catch (error) {
    return describeFailure(error as NodeJS.ErrnoException, holder);
  }
  try {
    if (fstatSync(fd).ino !== inode || native().kind(fd) !== Kind.Tcp) {
      return { code: 'ERR_FD_REUSED', message: `process ${holder.pid} reused fd ${holder.fd} for another file before it could be read` };
    }
    native().get(fd, out);
    return { enabled: out[0] === 1, idle: out[1]!, interval: out[2]!, count: out[3]!, userTimeout: out[4]! };
  } catch (error) {
    return describeFailure(error as NodeJS.ErrnoException, holder);
  } finally {
    native().close(fd);
  }
}

function noHolder(s: ProcSocket, holders: Holders): RowError {
  if (s.inode === 0) {
    let message = `orphaned: its process closed it and the kernel finishes ${s.state} alone`;
    if (s.state === 'TIME_WAIT') message = 'closed: the kernel keeps only a TIME_WAIT entry, no socket to read';
    if (s.state === 'SYN_RECV' || s.state === 'NEW_SYN_RECV') message = 'handshake under way: no process has accepted it yet';
    return { code: 'ERR_NO_PROCESS', message };
  }
  if (holders.unreadable.length > 0) {
    const n = holders.unreadable.length;
    return {
      code: 'EACCES',
      message: `owner unknown: ${n} process${n === 1 ? "'s" : "es'"} descriptors could not be read; run as root`,
    };
  }
  return { code: 'ERR_NO_PROCESS', message: 'no process in this PID namespace holds it' };
}

export interface ListOptions {
  pid?: number;
  port?: number;
  all?: boolean;
}

export interface Listing {
  connections: Connection[];
  /** Processes whose descriptors could not be read. */
  unreadable: number[];
}

/** The kernel's formula, or null for values it would not accept from setsockopt (a sysctl can hold more). */
function detection(v: Read): number | null {
  try {
    return detectionTime({ idle: v.idle, interval: v.interval, count: v.count, userTimeout: v.userTimeout });
  } catch {
    return null;
  }
}

// The values of a row whose socket could not be read.
const UNREAD = { idle: null, interval: null, count: null, userTimeout: null };

// What ss leaves out unless asked with -a: no process holds these, or they
// are not connections yet.
const HIDDEN = new Set(['LISTEN', 'CLOSE', 'TIME_WAIT', 'SYN_RECV', 'NEW_SYN_RECV']);

export function list(options: ListOptions = {}): Listing {
  let sockets = readTcpSockets().filter((s) => options.all || !HIDDEN.has(s.state));
  if (options.port !== undefined) sockets = sockets.filter((s) => s.localPort === options.port || s.remotePort === options.port);
  const holders = socketHolders(options.pid === undefined ? undefined : [options.pid]);
  const commands = new Map<number, string | null>();
  const command = (pid: number) => {
    if (!commands.has(pid)) commands.set(pid, commandOf(pid));
    return commands.get(pid) ?? null;
  };
  const rows: Connection[] = [];
  for (const s of sockets) {
    const processes = (s.inode ? holders.byInode.get(s.inode) ?? [] : []).map((h) => ({ ...h, command: command(h.pid) }));
    if (options.pid !== undefined && processes.length === 0) continue;
    const first = processes[0];
    const read = first ? readValues(first, s.inode) : noHolder(s, holders);
    const values = 'enabled' in read ? read : null;
    const { enabled, ...settings } = values ?? { enabled: keepaliveFromTimer(s), ...UNREAD };
    rows.push({
      ...s,
      pid: first?.pid ?? null,
      fd: first?.fd ?? null,
      command: first?.command ?? null,
      processes,
      keepalive: enabled,
      ...settings,
      detectionTime: values?.enabled ? detection(values) : null,
      error: values ? null : (read as RowError),
    });
  }
  rows.sort((a, b) => (a.pid ?? Infinity) - (b.pid ?? Infinity) || a.localPort - b.localPort || a.remotePort - b.remotePort);
  return { connections: rows, unreadable: holders.unreadable };
}

function endpoint(address: string, port: number, family: 'IPv4' | 'IPv6'): string {
  return family === 'IPv6' ? `[${address}]:${port}` : `${address}:${port}`;
}

function timerText(c: Connection): string {
  if (c.timer === null || c.timerSeconds === null) return '-';
  const left = c.timerSeconds < 10 ? `${c.timerSeconds.toFixed(1)}s` : duration(c.timerSeconds).replace(/ /g, '');
  return `${c.timer},${left},${c.probes}`;
}

export function render(rows: Connection[], style: Style): string {
  if (rows.length === 0) return 'No TCP connections match.';
  const header = ['STATE', 'LOCAL', 'REMOTE', 'PID', 'COMMAND', 'KEEPALIVE', 'TIMER', 'IDLE', 'INTVL', 'COUNT', 'USER_TIMEOUT', 'DETECTS_IN'];
  const align: ('left' | 'right')[] = ['left', 'left', 'left', 'right', 'left', 'left', 'left', 'right', 'right', 'right', 'right', 'left'];
  const body = rows.map((c) => {
    // '?' where the kernel hides it behind another timer, '-' where it has no meaning.
    const unknown = c.state === 'ESTABLISHED' || c.state === 'CLOSE_WAIT' ? '?' : '-';
    const keepalive = c.keepalive === null ? unknown : c.keepalive ? style.green('on') : style.yellow('off');
    const cells = [
      c.state,
      endpoint(c.localAddress, c.localPort, c.family),
      endpoint(c.remoteAddress, c.remotePort, c.family),
      c.pid === null ? '-' : String(c.pid),
      c.command ?? '-',
      keepalive,
      timerText(c),
    ];
    if (c.error) return [...cells, style.dim(c.error.message)];
    return [
      ...cells,
      `${c.idle}s`,
      `${c.interval}s`,
      String(c.count),
      c.userTimeout ? `${c.userTimeout}ms` : '0',
      c.detectionTime === null ? '-' : duration(c.detectionTime),
    ];
  });
  return table(header, body, align, style).join('\n');
}

export function run(args: string[]): number {
  const values = parse('ls', args, {
    ...common,
    pid: { type: 'string' },
    port: { type: 'string' },
    all: { type: 'boolean', short: 'a' },
  });
  if (values.help) {
    process.stdout.write(`${help}\n`);
    return 0;
  }
  const pid = bounded('pid', values.pid, 'a process id', 1, 2 ** 22);
  const port = bounded('port', values.port, 'a port number', 1, 65535);
  if (process.platform !== 'linux') {
    process.stderr.write(`tcp-keepalive: ls reads Linux's /proc and does not run on ${process.platform}\n`);
    return 1;
  }
  if (pid !== undefined && !existsSync(`/proc/${pid}`)) throw new UsageError(`no process with pid ${pid}`);
  const { connections: rows, unreadable } = list({ pid, port, all: values.all });
  if (pid !== undefined && unreadable.includes(pid)) {
    process.stderr.write(`tcp-keepalive: cannot read the descriptors of process ${pid} (EACCES); run as root or as its user\n`);
    return 1;
  }
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ connections: rows }, null, 2)}\n`);
  } else {
    process.stdout.write(`${render(rows, styleFor(process.stdout))}\n`);
  }
  return 0;
}
