// Changes the keepalive settings of another, running process's TCP
// connections. Socket options belong to the socket, not to the descriptor,
// so setsockopt on a duplicate made with pidfd_getfd (Linux 5.6+) changes
// the connection that process holds: a hung service is fixed in place,
// without a restart. `tcp-keepalive set` is this function with a table.
import { fstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import net from 'node:net';
import { release } from 'node:os';
import { commandOf, parseProcNetTcp, readTcpSockets, socketHolders, type Holder, type Holders, type ProcSocket } from './cli/proc.js';
import { detectionSeconds } from './defaults.js';
import { codedError, invalidArgType, invalidArgValue, outOfRange } from './errors.js';
import { Capability, Kind, native } from './native.js';
import { fromObject, LEAVE, type KeepaliveOptions, type Values } from './options.js';
import { TCP_STATES } from './tcp-states.js';

/** Which connections to change. At least one of pid, port or remote. */
export interface ProcessTarget {
  /** The process holding them; without it, every process in this network namespace. */
  pid?: number;
  /** Only the socket on this descriptor of `pid`. */
  fd?: number;
  /** Only connections whose local or remote port is this. */
  port?: number;
  /** Only connections to this peer: an IP address, "1.2.3.4:5432" or "[::1]:5432". */
  remote?: string;
  /** Only connections in these states ("ESTABLISHED", "close-wait", ...); every state but LISTEN when left out. */
  state?: string | readonly string[];
}

export interface ProcessKeepaliveOptions {
  /** Read each socket and report what would change, changing nothing. */
  dryRun?: boolean;
}

/** What the kernel holds for one socket, read with getsockopt. */
export interface LiveValues {
  enabled: boolean;
  idle: number;
  interval: number;
  count: number;
  userTimeout: number;
}

export interface LiveError {
  /** EPERM, EACCES, ESRCH, EBADF, ENOSYS, ERR_FD_REUSED, ERR_NO_PROCESS, or setsockopt's own code. */
  code: string;
  message: string;
}

/** One connection: /proc's view of it, its holder, and what was done to it. */
export interface ProcessConnection extends ProcSocket {
  /** The process whose descriptor was used, or null when none could be found. */
  pid: number | null;
  fd: number | null;
  command: string | null;
  /** applied: changed; unchanged: it already had the values; would-apply: a dry run's change; failed: see error. */
  status: 'applied' | 'unchanged' | 'would-apply' | 'failed';
  /** Read from the socket before anything was set; null when it could not be reached. */
  before: LiveValues | null;
  /** Read back from the socket after setting (applied, unchanged); null in a dry run or on failure. */
  after: LiveValues | null;
  /** Seconds to find a silent peer under `after` (or, in a dry run, under `before`); null when keepalive is off. */
  detectionTime: number | null;
  error: LiveError | null;
}

export interface ProcessKeepaliveResult {
  connections: ProcessConnection[];
  /** Why nothing matched (no such process, no permission, no such connections); null when something did. */
  reason: LiveError | null;
}

// What ss leaves out unless asked: not connections, or held by no process.
const NOT_CONNECTIONS = new Set(['LISTEN', 'CLOSE', 'TIME_WAIT', 'SYN_RECV', 'NEW_SYN_RECV']);
const PID_MAX = 4194304; // PID_MAX_LIMIT on 64-bit Linux
const FD_MAX = 2147483647;
const TARGET_KEYS = new Set(['pid', 'fd', 'port', 'remote', 'state']);

function kernelVersion(): [number, number] | null {
  const m = /^(\d+)\.(\d+)/.exec(release());
  return m ? [Number(m[1]), Number(m[2])] : null;
}

/** Whether this platform can change another process's sockets, and if not, why. */
export function liveSupport(): { set: boolean; reason: string | null } {
  if (process.platform !== 'linux') {
    return { set: false, reason: `only Linux lets one process reach another's sockets (pidfd_getfd); this is ${process.platform}` };
  }
  if (!(native().capabilities & Capability.Pidfd)) {
    return { set: false, reason: 'this build of the native addon has no pidfd_getfd (its C library headers predate Linux 5.6)' };
  }
  const v = kernelVersion();
  if (v && (v[0] < 5 || (v[0] === 5 && v[1] < 6))) {
    return { set: false, reason: `pidfd_getfd needs Linux 5.6 or later; this kernel is ${release()}` };
  }
  return { set: true, reason: null };
}

function unsupported(): Error {
  return codedError('ERR_KEEPALIVE_UNSUPPORTED', `Cannot change another process's sockets: ${liveSupport().reason}`);
}

function integerIn(name: string, value: unknown, min: number, max: number, what: string): number | undefined {
  if (value === undefined) return undefined;
  const expected = `an integer between ${min} and ${max} (${what})`;
  if (typeof value !== 'number') throw invalidArgType(name, expected, value);
  if (!Number.isInteger(value) || value < min || value > max) throw outOfRange(name, expected, value);
  return value;
}

interface Remote {
  /** Dotted IPv4, or RFC 5952 IPv6 as /proc/net/tcp6 gives it through formatIPv6. */
  address: string;
  port: number | undefined;
}

const MAPPED = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i;

/** The spelling formatIPv6 gives, so that addresses compare as text. */
function canonical(address: string): string {
  if (net.isIPv4(address)) return address;
  const mapped = MAPPED.exec(address);
  if (mapped && net.isIPv4(mapped[1]!)) return mapped[1]!;
  // WHATWG URL serialises IPv6 as RFC 5952 does: lower case, the first
  // longest run of zero groups as "::".
  const host = new URL(`http://[${address}]/`).hostname.slice(1, -1);
  const asV4 = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(host);
  if (asV4) {
    const hi = Number.parseInt(asV4[1]!, 16);
    const lo = Number.parseInt(asV4[2]!, 16);
    return [hi >> 8, hi & 255, lo >> 8, lo & 255].join('.');
  }
  return host;
}

export function parseRemote(text: string): Remote | null {
  let address = text;
  let port: string | undefined;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (bracketed) {
    address = bracketed[1]!;
    port = bracketed[2];
  } else if (/^[\d.]+:\d+$/.test(text)) {
    [address, port] = text.split(':') as [string, string];
  }
  if (!net.isIP(address)) return null;
  const n = port === undefined ? undefined : Number(port);
  if (n !== undefined && (n < 1 || n > 65535)) return null;
  return { address: canonical(address), port: n };
}

/** "ESTABLISHED", "established", "close-wait", ss's "estab" and "fin-wait-1": the kernel's name, or null. */
export function stateName(text: string): string | null {
  let name = text.trim().toUpperCase().replaceAll('-', '_');
  if (name === 'ESTAB') name = 'ESTABLISHED';
  name = name.replace(/^FIN_WAIT_([12])$/, 'FIN_WAIT$1');
  return (TCP_STATES as readonly string[]).includes(name) && name !== 'UNKNOWN' ? name : null;
}

interface Filter {
  pid: number | undefined;
  fd: number | undefined;
  port: number | undefined;
  remote: Remote | undefined;
  states: Set<string> | undefined;
}

function validateTarget(target: ProcessTarget): Filter {
  if (typeof target !== 'object' || target === null || Array.isArray(target)) {
    throw invalidArgType('target', 'an object with pid, fd, port, remote or state', target);
  }
  for (const key of Object.keys(target)) {
    if (!TARGET_KEYS.has(key)) {
      throw invalidArgValue(`target.${key}`, 'Unknown target field (expected pid, fd, port, remote or state)', (target as Record<string, unknown>)[key]);
    }
  }
  const pid = integerIn('target.pid', target.pid, 1, PID_MAX, 'a process id');
  const fd = integerIn('target.fd', target.fd, 0, FD_MAX, 'a file descriptor');
  const port = integerIn('target.port', target.port, 1, 65535, 'a port');
  if (fd !== undefined && pid === undefined) throw invalidArgValue('target.fd', 'A descriptor needs the pid of its process', fd);
  let remote: Remote | undefined;
  if (target.remote !== undefined) {
    if (typeof target.remote !== 'string') throw invalidArgType('target.remote', 'an IP address, with or without a port', target.remote);
    remote = parseRemote(target.remote) ?? undefined;
    if (!remote) {
      throw invalidArgValue('target.remote', 'Expected an IP address, "1.2.3.4:5432" or "[::1]:5432" (no host names)', target.remote);
    }
  }
  let states: Set<string> | undefined;
  if (target.state !== undefined) {
    const list = typeof target.state === 'string' ? target.state.split(',') : target.state;
    if (!Array.isArray(list) || list.length === 0 || list.some((s) => typeof s !== 'string')) {
      throw invalidArgType('target.state', 'a TCP state name or a list of them', target.state);
    }
    states = new Set();
    for (const s of list as string[]) {
      const name = stateName(s);
      if (!name) throw invalidArgValue('target.state', `Unknown TCP state (expected one of ${TCP_STATES.slice(1).join(', ')})`, s);
      states.add(name);
    }
  }
  if (pid === undefined && port === undefined && remote === undefined) {
    throw invalidArgValue('target', 'Expected at least one of pid, port or remote, so that no call changes every connection by accident', target);
  }
  return { pid, fd, port, remote, states };
}

function validateSettings(settings: KeepaliveOptions | boolean): Values {
  if (settings === false) return { enabled: 0, idle: LEAVE, interval: LEAVE, count: LEAVE, userTimeout: LEAVE };
  if (settings === true) return { enabled: 1, idle: LEAVE, interval: LEAVE, count: LEAVE, userTimeout: LEAVE };
  if (typeof settings !== 'object' || settings === null || Array.isArray(settings)) {
    throw invalidArgType('settings', 'an object (idle, interval, count, userTimeout) or false', settings);
  }
  return fromObject(settings);
}

/** The process a pid names: null when there is none, its thread group leader for a thread. */
export function threadGroup(pid: number): number | null {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'latin1');
  } catch {
    return null;
  }
  const tgid = /^Tgid:\s*(\d+)/m.exec(status);
  return tgid ? Number(tgid[1]) : pid;
}

/** The TCP sockets of the network namespace process pid is in, which may not be ours. */
function tcpSocketsOf(pid: number): ProcSocket[] {
  const sockets = parseProcNetTcp(readFileSync(`/proc/${pid}/net/tcp`, 'latin1'), 'IPv4');
  try {
    return sockets.concat(parseProcNetTcp(readFileSync(`/proc/${pid}/net/tcp6`, 'latin1'), 'IPv6'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return sockets;
    throw error;
  }
}

function errnoOf(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? 'UNKNOWN';
}

function yamaScope(): number | null {
  try {
    return Number(readFileSync('/proc/sys/kernel/yama/ptrace_scope', 'latin1'));
  } catch {
    return null;
  }
}

function failure(error: NodeJS.ErrnoException & { syscall?: string }, holder: Holder): LiveError {
  const code = errnoOf(error);
  const call = error.syscall ?? 'pidfd_getfd';
  switch (code) {
    case 'EPERM':
    case 'EACCES': {
      const scope = yamaScope();
      const yama = scope !== null && scope > 0 ? `; Yama ptrace_scope is ${scope}, so even its own user needs CAP_SYS_PTRACE` : '';
      return { code, message: `not permitted to reach process ${holder.pid}'s sockets (${call}: ${code}): needs root or CAP_SYS_PTRACE${yama}` };
    }
    case 'ESRCH':
      return { code, message: `process ${holder.pid} exited before its socket could be changed` };
    case 'EBADF':
      return { code, message: `process ${holder.pid} closed fd ${holder.fd} before its socket could be changed` };
    case 'ENOSYS':
      return { code, message: `this kernel has no ${call} (Linux 5.6+)` };
    default:
      return { code, message: `${call} failed: ${error.message}` };
  }
}

const out = new Int32Array(5);

function read(fd: number): LiveValues {
  native().get(fd, out);
  return { enabled: out[0] === 1, idle: out[1]!, interval: out[2]!, count: out[3]!, userTimeout: out[4]! };
}

function already(before: LiveValues, v: Values): boolean {
  return (
    before.enabled === (v.enabled === 1) &&
    (v.idle === LEAVE || v.idle === before.idle) &&
    (v.interval === LEAVE || v.interval === before.interval) &&
    (v.count === LEAVE || v.count === before.count) &&
    (v.userTimeout === LEAVE || v.userTimeout === before.userTimeout)
  );
}

function detection(v: LiveValues | null): number | null {
  if (!v || !v.enabled) return null;
  // A sysctl can hold values setsockopt would refuse; no time is given for those.
  if (v.idle < 1 || v.interval < 1 || v.count < 1 || v.userTimeout < 0) return null;
  return detectionSeconds(v.idle, v.interval, v.count, v.userTimeout);
}

export type Outcome = Pick<ProcessConnection, 'status' | 'before' | 'after' | 'error'>;

/**
 * One socket through one holder's descriptor. The duplicate is checked to be
 * the socket /proc named (the process may have closed the descriptor and
 * reused its number meanwhile) before anything is set, and closed before
 * returning, whatever happens. pidfd_getfd opens it close-on-exec, so no
 * program this process starts can inherit it and keep the connection alive.
 */
export function change(holder: Holder, inode: number, values: Values, dryRun: boolean): Outcome {
  let dup: number;
  try {
    dup = native().pidfdGetfd(holder.pid, holder.fd);
  } catch (error) {
    return { status: 'failed', before: null, after: null, error: failure(error as NodeJS.ErrnoException, holder) };
  }
  try {
    if (fstatSync(dup).ino !== inode || native().kind(dup) !== Kind.Tcp) {
      const message = `process ${holder.pid} reused fd ${holder.fd} for another file; nothing was changed`;
      return { status: 'failed', before: null, after: null, error: { code: 'ERR_FD_REUSED', message } };
    }
    const before = read(dup);
    if (already(before, values)) return { status: 'unchanged', before, after: dryRun ? null : before, error: null };
    if (dryRun) return { status: 'would-apply', before, after: null, error: null };
    try {
      // A new idle re-arms a running keepalive timer, counted from the last
      // packet heard, so on a connection silent for long it fires at once:
      // interval, count and userTimeout go first, so that the probe it sends
      // and the next check already use them (the native layer sets idle
      // first, which is right for a socket whose timer is not yet running).
      native().set(dup, LEAVE, LEAVE, values.interval, values.count, values.userTimeout);
      native().set(dup, values.enabled, values.idle, LEAVE, LEAVE, LEAVE);
    } catch (error) {
      const e = error as NodeJS.ErrnoException;
      return { status: 'failed', before, after: read(dup), error: { code: errnoOf(e), message: e.message } };
    }
    return { status: 'applied', before, after: read(dup), error: null };
  } catch (error) {
    return { status: 'failed', before: null, after: null, error: failure(error as NodeJS.ErrnoException, holder) };
  } finally {
    native().close(dup);
  }
}

function matches(s: ProcSocket, f: Filter): boolean {
  if (s.inode === 0) return false; // closed by its process: nothing holds it
  if (f.states ? !f.states.has(s.state) : NOT_CONNECTIONS.has(s.state)) return false;
  if (f.port !== undefined && s.localPort !== f.port && s.remotePort !== f.port) return false;
  if (f.remote) {
    const mapped = MAPPED.exec(s.remoteAddress);
    const address = mapped ? mapped[1]! : s.remoteAddress;
    if (address !== f.remote.address) return false;
    if (f.remote.port !== undefined && s.remotePort !== f.remote.port) return false;
  }
  return true;
}

/** The filters in words, for "no connection matches ...". */
function described(f: Filter): string {
  const parts: string[] = [];
  if (f.fd !== undefined) parts.push(`fd ${f.fd}`);
  if (f.port !== undefined) parts.push(`port ${f.port}`);
  if (f.remote) parts.push(`remote ${f.remote.address}${f.remote.port === undefined ? '' : ` port ${f.remote.port}`}`);
  if (f.states) parts.push(`state ${[...f.states].join(' or ')}`);
  return parts.length ? ` with ${parts.join(', ')}` : '';
}

function netnsOf(pid: number | 'self'): string | null {
  try {
    return readlinkSync(`/proc/${pid}/ns/net`);
  } catch {
    return null;
  }
}

/** How many processes sit in a network namespace other than this one (containers, mostly). */
function elsewhere(): number {
  const own = netnsOf('self');
  let n = 0;
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const ns = netnsOf(Number(name));
    if (ns !== null && ns !== own) n++;
  }
  return n;
}

function nothingMatched(f: Filter, holders: Holders, sockets: ProcSocket[]): LiveError {
  if (f.pid !== undefined) {
    if (holders.unreadable.includes(f.pid)) {
      return { code: 'EACCES', message: `cannot read the descriptors of process ${f.pid} (EACCES): needs root (or CAP_SYS_PTRACE with CAP_DAC_READ_SEARCH), or its own user` };
    }
    const name = commandOf(f.pid);
    const held = sockets.filter((s) => holders.byInode.has(s.inode) && !NOT_CONNECTIONS.has(s.state)).length;
    const has = held === 0 ? 'holds no TCP connection' : `holds ${held} TCP connection${held === 1 ? '' : 's'}, none`;
    return { code: 'ERR_NO_MATCH', message: `process ${f.pid}${name ? ` (${name})` : ''} ${has}${described(f)}` };
  }
  let message = `no TCP connection in this network namespace${described(f)}`;
  const others = elsewhere();
  if (others > 0) {
    message += `; ${others} process${others === 1 ? ' runs' : 'es run'} in other network namespaces (containers): name one with --pid to reach its connections`;
  }
  return { code: 'ERR_NO_MATCH', message };
}

/**
 * Sets keepalive on the TCP connections of a running process, from outside
 * it, through a duplicate of each socket's descriptor (pidfd_getfd, Linux
 * 5.6+; needs ptrace rights over the process: root or CAP_SYS_PTRACE).
 * `settings` takes what setKeepalive takes: an object of idle, interval,
 * count and userTimeout (fields left out stay as each socket has them), or
 * false to turn keepalive off. Everything is validated before any socket is
 * touched; what happens to each connection, with the values read back from
 * the kernel, is in the result.
 */
export function setProcessKeepalive(
  target: ProcessTarget,
  settings: KeepaliveOptions | boolean,
  options: ProcessKeepaliveOptions = {},
): ProcessKeepaliveResult {
  const filter = validateTarget(target);
  const values = validateSettings(settings);
  if (typeof options !== 'object' || options === null) throw invalidArgType('options', 'an object', options);
  for (const key of Object.keys(options)) {
    if (key !== 'dryRun') throw invalidArgValue(`options.${key}`, 'Unknown option (expected dryRun)', (options as Record<string, unknown>)[key]);
  }
  if (options.dryRun !== undefined && typeof options.dryRun !== 'boolean') throw invalidArgType('options.dryRun', 'a boolean', options.dryRun);
  if (!liveSupport().set) throw unsupported();
  const dryRun = options.dryRun === true;

  if (filter.pid !== undefined) {
    const group = threadGroup(filter.pid);
    if (group === null) return { connections: [], reason: { code: 'ESRCH', message: `no process with pid ${filter.pid}` } };
    if (group !== filter.pid) {
      throw invalidArgValue('target.pid', `A thread id, not a process id (its process is ${group})`, filter.pid);
    }
  }

  // A process named by pid is reached in its own network namespace, which
  // may be a container's; without one, this namespace's connections.
  let sockets: ProcSocket[];
  try {
    sockets = filter.pid === undefined ? readTcpSockets() : tcpSocketsOf(filter.pid);
  } catch (error) {
    if (errnoOf(error) === 'ENOENT') return { connections: [], reason: { code: 'ESRCH', message: `process ${filter.pid} exited` } };
    throw error;
  }
  const holders = socketHolders(filter.pid === undefined ? undefined : [filter.pid]);
  const commands = new Map<number, string | null>();
  const command = (pid: number) => {
    if (!commands.has(pid)) commands.set(pid, commandOf(pid));
    return commands.get(pid) ?? null;
  };

  const rows: ProcessConnection[] = [];
  for (const s of sockets) {
    if (!matches(s, filter)) continue;
    let held = holders.byInode.get(s.inode) ?? [];
    if (filter.fd !== undefined) held = held.filter((h) => h.fd === filter.fd);
    if (held.length === 0) {
      // Named by pid: not that process's connection. Otherwise the owner
      // may be a process whose descriptors this user cannot read.
      if (filter.pid !== undefined) continue;
      const n = holders.unreadable.length;
      const error: LiveError =
        n > 0
          ? { code: 'EACCES', message: `owner unknown: ${n} process${n === 1 ? "'s" : "es'"} descriptors could not be read; needs root` }
          : { code: 'ERR_NO_PROCESS', message: 'no process in this PID namespace holds it' };
      rows.push({ ...s, pid: null, fd: null, command: null, status: 'failed', before: null, after: null, detectionTime: null, error });
      continue;
    }
    // A socket inherited across fork has several holders; one that works
    // is enough, since the options belong to the socket.
    let outcome: Outcome | undefined;
    let used = held[0]!;
    for (const h of held) {
      const attempt = change(h, s.inode, values, dryRun);
      if (!outcome || attempt.status !== 'failed') {
        outcome = attempt;
        used = h;
      }
      if (attempt.status !== 'failed') break;
    }
    const { error, ...done } = outcome!;
    rows.push({
      ...s,
      pid: used.pid,
      fd: used.fd,
      command: command(used.pid),
      ...done,
      detectionTime: detection(done.after ?? (dryRun ? done.before : null)),
      error,
    });
  }
  rows.sort((a, b) => (a.pid ?? Infinity) - (b.pid ?? Infinity) || a.localPort - b.localPort || a.remotePort - b.remotePort);
  return { connections: rows, reason: rows.length === 0 ? nothingMatched(filter, holders, sockets) : null };
}

/** For messages: what a set of values asks for, in words. */
export function requested(settings: KeepaliveOptions | boolean): string {
  const v = validateSettings(settings);
  if (!v.enabled) return 'keepalive off';
  const parts = ['keepalive on'];
  if (v.idle !== LEAVE) parts.push(`idle ${v.idle} s`);
  if (v.interval !== LEAVE) parts.push(`interval ${v.interval} s`);
  if (v.count !== LEAVE) parts.push(`count ${v.count}`);
  if (v.userTimeout !== LEAVE) parts.push(`userTimeout ${v.userTimeout} ms`);
  return parts.join(', ');
}
