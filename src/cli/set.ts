// `tcp-keepalive set`: fixes a running process's connections in place, by
// setting keepalive on its sockets from outside (see ../live.ts).
import { common, bounded, parse, UsageError } from './args.js';
import { duration, escapeText, styleFor, table, type Style } from './format.js';
import {
  liveSupport,
  parseRemote,
  requested,
  setProcessKeepalive,
  stateName,
  threadGroup,
  type LiveValues,
  type ProcessConnection,
  type ProcessKeepaliveResult,
  type ProcessTarget,
} from '../live.js';
import { fromObject, type KeepaliveOptions } from '../options.js';

export const help = `Usage: tcp-keepalive set [--pid N [--fd FD]] [--port P] [--remote ADDR[:PORT]]
                         [--state S] (--idle S --interval S --count N
                         --user-timeout MS | --off) [--dry-run] [--json]

Changes the keepalive settings of a running process's TCP connections in
place, without a restart: each socket is reached through a duplicate of the
process's descriptor (pidfd_getfd, Linux 5.6+), checked to be the same
socket, set, read back from the kernel, and closed at once. Needs ptrace
rights over the process: root, or CAP_SYS_PTRACE (with CAP_DAC_READ_SEARCH
for another user's process); its own user where Yama is absent or its
ptrace_scope is 0. The process's own later calls (a driver's setKeepAlive)
may change the values again; for Node the lasting fix is the preload,
NODE_OPTIONS="--require tcp-keepalive/register".

Which connections (at least one of --pid, --port, --remote):
  --pid N               those of process N, in its own network namespace
                        (a container's too); without it, those of every
                        process in this network namespace
  --fd FD               with --pid: only the socket on descriptor FD
  --port P              local or remote port P
  --remote ADDR[:PORT]  to this peer: 10.0.0.5, 10.0.0.5:5432, [fd00::5]:5432
  --state S             in these states, comma-separated: established,
                        close-wait, syn-sent, listen, ... (default: every
                        state but listen)

What to set (as setKeepalive; a value left out stays as the socket has it,
and any value turns keepalive on):
  --idle S           seconds idle before the first probe (TCP_KEEPIDLE)
  --interval S       seconds between unanswered probes (TCP_KEEPINTVL)
  --count N          unanswered probes that drop the connection (TCP_KEEPCNT)
  --user-timeout MS  milliseconds sent data may go unacknowledged
                     (TCP_USER_TIMEOUT)
  --off              turn keepalive off instead

  --dry-run          show what would change, and change nothing
  --json             {"connections": [...], "reason": ...} for scripts
  -h, --help         this text

Exit status: 0 every connection matched has the values now, 1 some could
not be set or none matched (the reason is on stderr), 2 bad input (nothing
was changed).`;

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/** A number from the command line; the range is setKeepalive's to check, with its messages. */
function number(option: string, text: string | undefined, what: string): number | undefined {
  if (text === undefined) return undefined;
  if (!NUMBER.test(text.trim())) throw new UsageError(`--${option} expects ${what}, got '${text}'`);
  return Number(text.trim());
}

function settingsFrom(values: Record<string, string | boolean | undefined>): KeepaliveOptions | false {
  const given: KeepaliveOptions = {};
  const idle = number('idle', values.idle as string | undefined, 'seconds');
  const interval = number('interval', values.interval as string | undefined, 'seconds');
  const count = number('count', values.count as string | undefined, 'a number of probes');
  const userTimeout = number('user-timeout', values['user-timeout'] as string | undefined, 'milliseconds');
  if (idle !== undefined) given.idle = idle;
  if (interval !== undefined) given.interval = interval;
  if (count !== undefined) given.count = count;
  if (userTimeout !== undefined) given.userTimeout = userTimeout;
  const any = Object.keys(given).length > 0;
  if (values.off) {
    if (any) throw new UsageError('--off turns keepalive off and takes no --idle, --interval, --count or --user-timeout');
    return false;
  }
  if (!any) throw new UsageError('nothing to set: give --idle, --interval, --count or --user-timeout, or --off (see tcp-keepalive set --help)');
  try {
    fromObject(given);
  } catch (error) {
    // setKeepalive's own message, which names the field and its range.
    throw new UsageError((error as Error).message);
  }
  return given;
}

function targetFrom(values: Record<string, string | boolean | undefined>): ProcessTarget {
  const target: ProcessTarget = {};
  const pid = bounded('pid', values.pid as string | undefined, 'a process id', 1, 4194304);
  const fd = bounded('fd', values.fd as string | undefined, 'a file descriptor', 0, 2147483647);
  const port = bounded('port', values.port as string | undefined, 'a port number', 1, 65535);
  if (pid !== undefined) target.pid = pid;
  if (fd !== undefined) {
    if (pid === undefined) throw new UsageError('--fd needs --pid: a descriptor number means something only within its process');
    target.fd = fd;
  }
  if (port !== undefined) target.port = port;
  const remote = values.remote as string | undefined;
  if (remote !== undefined) {
    if (!parseRemote(remote)) throw new UsageError(`--remote expects an IP address, ADDR:PORT or [IPv6]:PORT (no host names), got '${remote}'`);
    target.remote = remote;
  }
  const state = values.state as string | undefined;
  if (state !== undefined) {
    const names = state.split(',');
    const unknown = names.find((s) => stateName(s) === null);
    if (unknown !== undefined) {
      throw new UsageError(`--state expects TCP states such as established, close-wait, syn-sent or listen, got '${unknown}'`);
    }
    target.state = names;
  }
  if (target.pid === undefined && target.port === undefined && target.remote === undefined) {
    throw new UsageError('say which connections: --pid, --port or --remote (see tcp-keepalive set --help)');
  }
  return target;
}

function endpoint(address: string, port: number, family: 'IPv4' | 'IPv6'): string {
  return family === 'IPv6' ? `[${address}]:${port}` : `${address}:${port}`;
}

function was(v: LiveValues | null): string {
  if (!v) return '-';
  if (!v.enabled) return 'off';
  return `${v.idle}s/${v.interval}s/${v.count}${v.userTimeout ? `/${v.userTimeout}ms` : ''}`;
}

const RESULT: Record<ProcessConnection['status'], (s: Style) => string> = {
  applied: (s) => s.green('applied'),
  unchanged: () => 'unchanged',
  'would-apply': (s) => s.yellow('would apply'),
  failed: (s) => s.red('failed'),
};

export function render(result: ProcessKeepaliveResult, dryRun: boolean, style: Style): string {
  const rows = result.connections;
  // A dry run shows the values each socket has now; a change, those read back after it.
  const header = ['STATE', 'LOCAL', 'REMOTE', 'PID', 'COMMAND', 'RESULT', 'KEEPALIVE', 'IDLE', 'INTVL', 'COUNT', 'USER_TIMEOUT', 'DETECTS_IN'];
  if (!dryRun) header.push('BEFORE');
  const align: ('left' | 'right')[] = ['left', 'left', 'left', 'right', 'left', 'left', 'left', 'right', 'right', 'right', 'right', 'left', 'left'];
  const body = rows.map((c) => {
    const cells = [
      c.state,
      endpoint(c.localAddress, c.localPort, c.family),
      endpoint(c.remoteAddress, c.remotePort, c.family),
      c.pid === null ? '-' : String(c.pid),
      c.command === null ? '-' : escapeText(c.command),
      RESULT[c.status](style),
    ];
    const v = c.after ?? (dryRun ? c.before : null);
    if (c.error || !v) return [...cells, style.dim(c.error ? escapeText(c.error.message) : '-')];
    return [
      ...cells,
      v.enabled ? 'on' : 'off',
      `${v.idle}s`,
      `${v.interval}s`,
      String(v.count),
      v.userTimeout ? `${v.userTimeout}ms` : '0',
      c.detectionTime === null ? '-' : duration(c.detectionTime),
      ...(dryRun ? [] : [was(c.before)]),
    ];
  });
  return table(header, body, align, style).join('\n');
}

function summary(result: ProcessKeepaliveResult, dryRun: boolean, asked: string): string {
  const count = (status: ProcessConnection['status']) => result.connections.filter((c) => c.status === status).length;
  const parts: string[] = [];
  const n = (k: number, what: string) => k > 0 && parts.push(`${k} ${what}`);
  if (dryRun) {
    n(count('would-apply'), `would change to ${asked}`);
    n(count('unchanged'), 'already had these values');
    n(count('failed'), 'could not be read');
    return `Dry run, nothing was changed: ${parts.join(', ')}.`;
  }
  n(count('applied'), `set to ${asked}`);
  n(count('unchanged'), 'already had these values');
  n(count('failed'), 'failed');
  let line = `${parts.join(', ')}.`;
  if (count('applied') > 0) line += ' A process may change them again itself; for a lasting fix, configure it (Node: preload tcp-keepalive/register).';
  return line.charAt(0).toUpperCase() + line.slice(1);
}

export function run(args: string[]): number {
  const values = parse('set', args, {
    ...common,
    pid: { type: 'string' },
    fd: { type: 'string' },
    port: { type: 'string' },
    remote: { type: 'string' },
    state: { type: 'string' },
    idle: { type: 'string' },
    interval: { type: 'string' },
    count: { type: 'string' },
    'user-timeout': { type: 'string' },
    off: { type: 'boolean' },
    'dry-run': { type: 'boolean' },
  });
  if (values.help) {
    process.stdout.write(`${help}\n`);
    return 0;
  }
  const target = targetFrom(values);
  const settings = settingsFrom(values);
  const support = liveSupport();
  if (!support.set) {
    process.stderr.write(`tcp-keepalive: set cannot run here: ${support.reason}\n`);
    return 1;
  }
  if (target.pid !== undefined) {
    const group = threadGroup(target.pid);
    if (group === null) throw new UsageError(`no process with pid ${target.pid}`);
    if (group !== target.pid) throw new UsageError(`${target.pid} is a thread of process ${group}, not a process: use --pid ${group}`);
  }
  const dryRun = values['dry-run'] === true;
  const result = setProcessKeepalive(target, settings, { dryRun });
  if (values.json) {
    const asked = settings === false ? { enabled: false } : { enabled: true, ...settings };
    process.stdout.write(`${JSON.stringify({ dryRun, settings: asked, ...result }, null, 2)}\n`);
  } else if (result.connections.length > 0) {
    const style = styleFor(process.stdout);
    process.stdout.write(`${render(result, dryRun, style)}\n${summary(result, dryRun, requested(settings))}\n`);
  }
  if (result.reason) {
    process.stderr.write(`tcp-keepalive: nothing changed: ${escapeText(result.reason.message)}\n`);
    return 1;
  }
  return result.connections.some((c) => c.status === 'failed') ? 1 : 0;
}
