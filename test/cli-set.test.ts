// `tcp-keepalive set` and setProcessKeepalive against a separate process
// that holds connections. What each socket holds afterwards is read from
// outside by test/fixtures/peek-fds.py: Python's own pidfd_getfd and
// getsockopt, no code shared with the package.
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { native } from '../src/native.js';
import { capabilities, detectionTime, setProcessKeepalive } from '../src/index.js';
import { change, type ProcessConnection, type ProcessKeepaliveResult } from '../src/live.js';
import { cli, hasCommand, isRoot, missing, readableCheckout, startHolder, titled, type HeldSocket, type Holder } from './cli-helpers.js';
import { LATE, type KernelView } from './helpers.js';
import { isolated, netnsTitle, skipNetns } from './netns.js';

// Where Bun truly differs from Node, a check is skipped there with its reason.
const underBun = process.versions.bun !== undefined;

interface SetOutput extends ProcessKeepaliveResult {
  dryRun: boolean;
  settings: Record<string, unknown>;
}

const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const PEEK = path.join(__dirname, 'fixtures/peek-fds.py');

/** What the kernel holds for descriptors of another process, read by Python through pidfd_getfd. */
function peek(pid: number, fds: number[], prefix: string[] = []): KernelView[] {
  const argv = [...prefix, PYTHON, PEEK, String(pid), ...fds.map(String)];
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`peek-fds.py failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as KernelView[];
}

/** Every socket the holder reported, by name, as the kernel holds it now. */
function kernelNow(h: Holder): Record<string, KernelView> {
  const views = peek(h.pid, h.sockets.map((s) => s.fd));
  return Object.fromEntries(h.sockets.map((s, i) => [s.name, views[i]!]));
}

/** `set ... --json`, parsed, with the exit status. */
function setJson(args: string[], options?: Parameters<typeof cli>[1]): { status: number | null; out: SetOutput; stderr: string } {
  const r = cli(['set', ...args, '--json'], options);
  if (r.status !== 0 && r.status !== 1) throw new Error(`set ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return { status: r.status, out: JSON.parse(r.stdout) as SetOutput, stderr: r.stderr };
}

function rowFor(rows: ProcessConnection[], s: HeldSocket): ProcessConnection {
  const found = rows.filter((c) => c.localPort === s.localPort && c.remotePort === s.remotePort && c.localAddress === s.localAddress);
  expect(found, `${s.name} listed once`).toHaveLength(1);
  return found[0]!;
}

/** The descriptor in process pid of its established TCP socket with these ports, from /proc. */
function fdOfConnection(pid: number, localPort: number, remotePort: number): number | undefined {
  const hex = (port: number) => port.toString(16).toUpperCase().padStart(4, '0');
  let inode: string | undefined;
  for (const table of [`/proc/${pid}/net/tcp`, `/proc/${pid}/net/tcp6`]) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f[3] === '01' && f[1]?.endsWith(`:${hex(localPort)}`) && f[2]?.endsWith(`:${hex(remotePort)}`)) inode = f[9];
    }
  }
  if (inode === undefined) return undefined;
  const name = readdirSync(`/proc/${pid}/fd`).find((fd) => {
    try {
      return readlinkSync(`/proc/${pid}/fd/${fd}`) === `socket:[${inode}]`;
    } catch {
      return false;
    }
  });
  return name === undefined ? undefined : Number(name);
}

/** Polls until found: the holder accepts on its own event loop. */
async function waitFor<T>(find: () => T | undefined): Promise<T> {
  for (let i = 0; i < 100; i++) {
    const found = find();
    if (found !== undefined) return found;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('not found in 2 s');
}

const noV6 = missing({
  'needs IPv6 on loopback (::1)': Object.values(os.networkInterfaces()).some((list) => list?.some((a) => a.family === 'IPv6' && a.address === '::1')),
});

const NEW = { idle: 45, interval: 6, count: 4, userTimeout: 40000 };
const NEW_ARGS = ['--idle', '45', '--interval', '6', '--count', '4', '--user-timeout', '40000'];
const NEW_KERNEL = { enabled: true, ...NEW };

let holder: Holder;
/** A fresh holder for each test of a block that changes its sockets. */
function freshHolder(): void {
  beforeEach(async () => {
    holder = await startHolder();
  });
  afterEach(async () => {
    await holder?.stop();
  });
}
/** One holder for a block whose tests must change nothing. */
function sharedHolder(): void {
  beforeAll(async () => {
    holder = await startHolder();
  });
  afterAll(async () => {
    await holder?.stop();
  });
}

describe('set --pid changes every connection of a running process', () => {
  freshHolder();
  it('--json: applied, with the values before and read back after; the kernel holds them', () => {
    const initial = kernelNow(holder);
    const { status, out } = setJson(['--pid', String(holder.pid), ...NEW_ARGS]);
    expect(status).toBe(0);
    expect(out.reason).toBeNull();
    expect(out.dryRun).toBe(false);
    expect(out.settings).toEqual({ enabled: true, ...NEW });
    expect(out.connections).toHaveLength(holder.sockets.length);
    const now = kernelNow(holder);
    for (const s of holder.sockets) {
      const row = rowFor(out.connections, s);
      expect(row).toMatchObject({ pid: holder.pid, fd: s.fd, state: 'ESTABLISHED', status: 'applied', error: null });
      expect(row.before).toEqual(initial[s.name]);
      expect(row.after).toEqual(now[s.name]);
      expect(now[s.name]).toEqual(NEW_KERNEL);
      expect(row.detectionTime).toBe(detectionTime(NEW));
    }
  });

  it('a second run finds them unchanged and still exits 0', () => {
    expect(cli(['set', '--pid', String(holder.pid), ...NEW_ARGS]).status).toBe(0);
    const { status, out } = setJson(['--pid', String(holder.pid), ...NEW_ARGS]);
    expect(status).toBe(0);
    for (const c of out.connections) expect(c).toMatchObject({ status: 'unchanged', before: NEW_KERNEL, after: NEW_KERNEL });
  });

  it('a field left out stays as each socket has it', () => {
    const initial = kernelNow(holder);
    expect(cli(['set', '--pid', String(holder.pid), '--user-timeout', '12000']).status).toBe(0);
    const now = kernelNow(holder);
    for (const s of holder.sockets) expect(now[s.name]).toEqual({ ...initial[s.name], enabled: true, userTimeout: 12000 });
  });

  it('--dry-run reports what would change and changes nothing', () => {
    const initial = kernelNow(holder);
    const { status, out } = setJson(['--pid', String(holder.pid), ...NEW_ARGS, '--dry-run']);
    expect(status).toBe(0);
    expect(out.dryRun).toBe(true);
    for (const s of holder.sockets) {
      expect(rowFor(out.connections, s)).toMatchObject({ status: 'would-apply', before: initial[s.name], after: null, error: null });
    }
    expect(kernelNow(holder)).toEqual(initial);
    const table = cli(['set', '--pid', String(holder.pid), ...NEW_ARGS, '--dry-run']);
    expect(table.stdout).toMatch(/^Dry run, nothing was changed: \d would change to keepalive on, idle 45 s, interval 6 s, count 4, userTimeout 40000 ms\.$/m);
    expect(kernelNow(holder)).toEqual(initial);
  });

  it("escapes control characters in a process's name in the table, as ls does", async () => {
    const hostile = await startHolder({ v6: false, comm: '\x1b[2J\nFAKE\x07' });
    try {
      const r = cli(['set', '--pid', String(hostile.pid), ...NEW_ARGS, '--dry-run']);
      expect(r.status).toBe(0);
      expect(r.stdout).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f]/);
      const rows = r.stdout.split('\n').filter((line) => line.includes('FAKE'));
      expect(rows).toHaveLength(hostile.sockets.length);
      for (const line of rows) expect(line).toContain('\\x1b[2J\\nFAKE\\x07');
      // Nothing matched: the message naming the process is escaped too.
      const none = cli(['set', '--pid', String(hostile.pid), '--port', '1', ...NEW_ARGS]);
      expect(none.status).toBe(1);
      expect(none.stderr).toContain('(\\x1b[2J\\nFAKE\\x07)');
      expect(none.stderr.trimEnd()).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f]/);
    } finally {
      await hostile.stop();
    }
  });

  it('--off turns SO_KEEPALIVE off and leaves the values', () => {
    const initial = kernelNow(holder);
    const { status, out } = setJson(['--pid', String(holder.pid), '--off']);
    expect(status).toBe(0);
    const now = kernelNow(holder);
    for (const s of holder.sockets) {
      expect(now[s.name]).toEqual({ ...initial[s.name], enabled: false });
      expect(rowFor(out.connections, s)).toMatchObject({ status: initial[s.name]!.enabled ? 'applied' : 'unchanged', after: now[s.name], detectionTime: null });
    }
  });

  it('prints a table: the values read back, and what the socket had before', () => {
    const r = cli(['set', '--pid', String(holder.pid), '--port', String(holder.socket('v4-client').remotePort), ...NEW_ARGS]);
    expect(r.status).toBe(0);
    expect(r.stdout).not.toMatch(/\x1b\[/);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]!.split(/\s+/)).toEqual(['STATE', 'LOCAL', 'REMOTE', 'PID', 'COMMAND', 'RESULT', 'KEEPALIVE', 'IDLE', 'INTVL', 'COUNT', 'USER_TIMEOUT', 'DETECTS_IN', 'BEFORE']);
    const s = holder.socket('v4-client');
    const cells = lines.map((l) => l.split(/\s{2,}/)).find((c) => c[1] === `127.0.0.1:${s.localPort}`);
    expect(cells!.slice(3)).toEqual([String(holder.pid), expect.any(String), 'applied', 'on', '45s', '6s', '4', '40000ms', '51 s', '61s/7s/4/30000ms']);
    const peer = lines.map((l) => l.split(/\s{2,}/)).find((c) => c[1] === `127.0.0.1:${s.remotePort}`);
    expect(peer!.at(-1)).toBe('off');
    expect(lines.at(-1)).toBe('2 set to keepalive on, idle 45 s, interval 6 s, count 4, userTimeout 40000 ms. A process may change them again itself; for a lasting fix, configure it (Node: preload tcp-keepalive/register).');
  });
});

describe('filters leave every other connection untouched', () => {
  freshHolder();
  it('--port: both ends of the IPv4 connection, not the IPv6 one', () => {
    const initial = kernelNow(holder);
    const port = holder.socket('v4-client').remotePort;
    const { status, out } = setJson(['--port', String(port), ...NEW_ARGS]);
    expect(status).toBe(0);
    expect(out.connections.map((c) => c.pid)).toEqual([holder.pid, holder.pid]);
    const now = kernelNow(holder);
    expect(now['v4-client']).toEqual(NEW_KERNEL);
    expect(now['v4-peer']).toEqual(NEW_KERNEL);
    for (const name of ['v6-client', 'v6-peer']) if (now[name]) expect(now[name]).toEqual(initial[name]);
  });

  it('--remote ADDR:PORT: only the end whose peer that is', () => {
    const initial = kernelNow(holder);
    const client = holder.socket('v4-client');
    const { status, out } = setJson(['--pid', String(holder.pid), '--remote', `127.0.0.1:${client.remotePort}`, ...NEW_ARGS]);
    expect(status).toBe(0);
    expect(out.connections).toHaveLength(1);
    expect(rowFor(out.connections, client).status).toBe('applied');
    const now = kernelNow(holder);
    for (const s of holder.sockets) expect(now[s.name]).toEqual(s.name === 'v4-client' ? NEW_KERNEL : initial[s.name]);
  });

  it.skipIf(noV6)(titled('--remote [::1]:PORT on IPv6', noV6), () => {
    const initial = kernelNow(holder);
    const peer = holder.socket('v6-peer');
    expect(cli(['set', '--pid', String(holder.pid), '--remote', `[::1]:${peer.remotePort}`, '--off']).status).toBe(0);
    const now = kernelNow(holder);
    for (const s of holder.sockets) expect(now[s.name]).toEqual(s.name === 'v6-peer' ? { ...initial[s.name], enabled: false } : initial[s.name]);
  });

  it('--fd: the socket on that descriptor alone', () => {
    const initial = kernelNow(holder);
    const peer = holder.socket('v4-peer');
    const { out } = setJson(['--pid', String(holder.pid), '--fd', String(peer.fd), '--count', '2']);
    expect(out.connections.map((c) => c.fd)).toEqual([peer.fd]);
    const now = kernelNow(holder);
    for (const s of holder.sockets) expect(now[s.name]).toEqual(s.name === 'v4-peer' ? { ...initial[s.name], enabled: true, count: 2 } : initial[s.name]);
  });

  it('--state listen: the listening sockets, which hand the values to the connections they accept', async () => {
    const initial = kernelNow(holder);
    const { status, out } = setJson(['--pid', String(holder.pid), '--state', 'listen', ...NEW_ARGS]);
    expect(status).toBe(0);
    expect(out.connections.map((c) => c.localPort).sort()).toEqual([...holder.listening].sort());
    for (const c of out.connections) expect(c).toMatchObject({ state: 'LISTEN', status: 'applied' });
    expect(peek(holder.pid, out.connections.map((c) => c.fd!))).toEqual(out.connections.map(() => NEW_KERNEL));
    expect(kernelNow(holder)).toEqual(initial);
    // A connection the running server accepts from now on starts with them.
    const client = net.connect(holder.socket('v4-client').remotePort, '127.0.0.1');
    try {
      await once(client, 'connect');
      const accepted = await waitFor(() => fdOfConnection(holder.pid, client.remotePort!, client.localPort!));
      expect(peek(holder.pid, [accepted])).toEqual([NEW_KERNEL]);
    } finally {
      client.destroy();
    }
  });
});

describe('nothing matched: exit 1, and why', () => {
  sharedHolder();
  it('a process with no TCP connections', async () => {
    const idle = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      const r = cli(['set', '--pid', String(idle.pid), '--idle', '60']);
      expect(r.status).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe(`tcp-keepalive: nothing changed: process ${idle.pid} (sleep) holds no TCP connection\n`);
      const { out } = setJson(['--pid', String(idle.pid), '--idle', '60']);
      expect(out).toMatchObject({ connections: [], reason: { code: 'ERR_NO_MATCH' } });
    } finally {
      idle.kill();
      await once(idle, 'exit');
    }
  });

  it('connections, but none that match', () => {
    const initial = kernelNow(holder);
    const r = cli(['set', '--pid', String(holder.pid), '--state', 'close-wait', '--idle', '60']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^tcp-keepalive: nothing changed: process ${holder.pid} \\(\\S+\\) holds \\d TCP connections, none with state CLOSE_WAIT\\n$`));
    expect(kernelNow(holder)).toEqual(initial);
  });
});

// A pid no process has: above every live one, below the limit.
function unusedPid(): number {
  const max = Number(readFileSync('/proc/sys/kernel/pid_max', 'utf8'));
  for (let pid = max - 1; pid > 1; pid--) if (!existsSync(`/proc/${pid}`)) return pid;
  throw new Error('no free pid');
}

describe('bad input: one line on stderr, exit 2, nothing changed', () => {
  sharedHolder();
  const cases: [string, (h: Holder) => string[], RegExp][] = [
    ['idle 0', (h) => ['--pid', String(h.pid), '--idle', '0'], /^Expected an integer between 1 and 32767 \(seconds\) for idle but received 0 of type number$/],
    ['count out of range', (h) => ['--pid', String(h.pid), '--count', '200'], /^Expected an integer between 1 and 127 \(probes\) for count but received 200 of type number$/],
    ['fractional interval', (h) => ['--pid', String(h.pid), '--interval', '1.5'], /^Expected an integer between 1 and 32767 \(seconds\) for interval but received 1\.5 of type number$/],
    ['negative userTimeout', (h) => ['--pid', String(h.pid), '--user-timeout=-1'], /^Expected an integer between 0 and 2147483647 \(milliseconds\) for userTimeout but received -1 of type number$/],
    ['non-numeric idle', (h) => ['--pid', String(h.pid), '--idle', '60s'], /^--idle expects seconds, got '60s'$/],
    ['a value among good ones', (h) => ['--pid', String(h.pid), '--idle', '60', '--interval', '10', '--count', '0'], /count but received 0/],
    ['unknown flag', (h) => ['--pid', String(h.pid), '--idle', '60', '--idel', '5'], /^unknown option --idel for set/],
    ['non-numeric pid', () => ['--pid', 'node', '--idle', '60'], /^--pid expects a process id, got 'node'$/],
    ['a pid no process has', () => ['--pid', String(unusedPid()), '--idle', '60'], /^no process with pid \d+$/],
    ['a thread id', (h) => ['--pid', readdirSync(`/proc/${h.pid}/task`).find((t) => t !== String(h.pid))!, '--idle', '60'], /^\d+ is a thread of process \d+, not a process: use --pid \d+$/],
    ['no values', (h) => ['--pid', String(h.pid)], /^nothing to set: /],
    ['--off with values', (h) => ['--pid', String(h.pid), '--off', '--idle', '60'], /^--off turns keepalive off and takes no/],
    ['no filter', () => ['--idle', '60'], /^say which connections: --pid, --port or --remote/],
    ['a host name', (h) => ['--pid', String(h.pid), '--remote', 'db.example:5432', '--idle', '60'], /^--remote expects an IP address/],
    ['an unknown state', (h) => ['--pid', String(h.pid), '--state', 'open', '--idle', '60'], /^--state expects TCP states .* got 'open'$/],
    ['--fd without --pid', () => ['--fd', '3', '--port', '80', '--idle', '60'], /^--fd needs --pid/],
  ];
  let initial: Record<string, KernelView>;
  beforeAll(() => {
    initial = kernelNow(holder);
  });
  // Every other case also runs with --json, which must print nothing either.
  it.each(cases.map((c, i) => [...c, i % 2 === 1] as const))('%s', (_name, args, message, json) => {
    const r = cli(['set', ...args(holder), ...(json ? ['--json'] : [])]);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    const lines = r.stderr.split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]!.replace(/^tcp-keepalive: /, '')).toMatch(message);
    expect(kernelNow(holder)).toEqual(initial);
  });
});

describe('permissions: EPERM or EACCES per connection, exit 1, nothing changed', () => {
  freshHolder();
  const noUsers = missing({ 'needs root to switch users': isRoot, 'needs setpriv (util-linux)': hasCommand('setpriv') });
  const asNobody = ['setpriv', '--reuid', '65534', '--regid', '65534', '--clear-groups'];
  let readable: ReturnType<typeof readableCheckout> | undefined;
  const nobodys = () => (readable ??= readableCheckout(asNobody)).base;
  afterAll(() => readable?.remove());

  it.skipIf(noUsers)(titled("another user against root's process", noUsers), () => {
    const initial = kernelNow(holder);
    // /proc/PID/fd of root's process is closed to other users, so the
    // kernel refuses before pidfd_getfd is reached: EACCES, the owner unknown.
    const port = holder.socket('v4-client').remotePort;
    const { status, out } = setJson(['--port', String(port), ...NEW_ARGS], { prefix: asNobody, base: nobodys() });
    expect(status).toBe(1);
    expect(out.connections).toHaveLength(2);
    for (const c of out.connections) {
      expect(c).toMatchObject({ pid: null, status: 'failed', before: null, after: null, error: { code: 'EACCES' } });
      expect(c.error!.message).toMatch(/descriptors could not be read; needs root/);
    }
    const r = cli(['set', '--pid', String(holder.pid), ...NEW_ARGS], { prefix: asNobody, base: nobodys() });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(
      `tcp-keepalive: nothing changed: cannot read the descriptors of process ${holder.pid} (EACCES): needs root (or CAP_SYS_PTRACE with CAP_DAC_READ_SEARCH), or its own user\n`,
    );
    expect(kernelNow(holder)).toEqual(initial);
  });

  it.skipIf(noUsers)(titled("the process's own user without ptrace rights", noUsers), async () => {
    // Yama's ptrace_scope 1 is what usually takes ptrace from a process's
    // own user, and not every kernel has Yama. pidfd_getfd refuses in the
    // same way where the caller's real uid differs (it checks the real uid;
    // /proc checks the effective one, so the sockets are still found).
    const own = await startHolder({ v6: false }, asNobody, nobodys());
    try {
      const initial = peek(own.pid, own.sockets.map((s) => s.fd));
      const asSetuidNobody = ['setpriv', '--ruid', '1', '--euid', '65534', '--regid', '65534', '--clear-groups'];
      const { status, out } = setJson(['--pid', String(own.pid), ...NEW_ARGS], { prefix: asSetuidNobody, base: nobodys() });
      expect(status).toBe(1);
      expect(out.connections).toHaveLength(2);
      for (const s of own.sockets) {
        const row = rowFor(out.connections, s);
        expect(row).toMatchObject({ pid: own.pid, fd: s.fd, uid: 65534, status: 'failed', before: null, after: null, error: { code: 'EPERM' } });
        expect(row.error!.message).toMatch(/^not permitted to reach process \d+'s sockets \(pidfd_getfd: EPERM\): needs root or CAP_SYS_PTRACE/);
      }
      const table = cli(['set', '--pid', String(own.pid), ...NEW_ARGS], { prefix: asSetuidNobody, base: nobodys() });
      expect(table.status).toBe(1);
      expect(table.stdout.trimEnd().split('\n').at(-1)).toBe('2 failed.');
      expect(peek(own.pid, own.sockets.map((s) => s.fd))).toEqual(initial);
      // The same user with its real uid too is allowed (no Yama here, or scope 0).
      if (!existsSync('/proc/sys/kernel/yama/ptrace_scope') || readFileSync('/proc/sys/kernel/yama/ptrace_scope', 'utf8').trim() === '0') {
        expect(setJson(['--pid', String(own.pid), '--count', '5'], { prefix: asNobody, base: nobodys() }).status).toBe(0);
        expect(peek(own.pid, own.sockets.map((s) => s.fd)).map((k) => k.count)).toEqual([5, 5]);
      }
    } finally {
      await own.stop();
    }
  });

  it.skipIf(noUsers)(titled("CAP_SYS_PTRACE with CAP_DAC_READ_SEARCH reaches another user's process", noUsers), () => {
    const caps = ['--inh-caps=+sys_ptrace,+dac_read_search', '--ambient-caps=+sys_ptrace,+dac_read_search'];
    const port = String(holder.socket('v4-client').remotePort);
    const { status, out } = setJson(['--pid', String(holder.pid), '--port', port, ...NEW_ARGS], { prefix: [...asNobody, ...caps], base: nobodys() });
    expect(status).toBe(0);
    expect(out.connections.map((c) => c.status)).toEqual(['applied', 'applied']);
    const now = kernelNow(holder);
    expect([now['v4-client'], now['v4-peer']]).toEqual([NEW_KERNEL, NEW_KERNEL]);
  });
});

describe('setProcessKeepalive, the same from code', () => {
  freshHolder();
  it('sets one socket by pid and fd, and leaves no descriptor behind', () => {
    const initial = kernelNow(holder);
    const client = holder.socket('v4-client');
    const fdsBefore = new Set(readdirSync('/proc/self/fd'));
    const result = setProcessKeepalive({ pid: holder.pid, fd: client.fd }, { idle: 30, count: 2 });
    expect(result.reason).toBeNull();
    expect(result.connections).toHaveLength(1);
    expect(result.connections[0]).toMatchObject({ status: 'applied', pid: holder.pid, fd: client.fd, before: initial['v4-client'] });
    const now = kernelNow(holder);
    expect(result.connections[0]!.after).toEqual(now['v4-client']);
    expect(now['v4-client']).toEqual({ ...initial['v4-client'], idle: 30, count: 2 });
    for (const s of holder.sockets) if (s.name !== 'v4-client') expect(now[s.name]).toEqual(initial[s.name]);
    // Every duplicate is closed before the call returns: no descriptor the
    // call left open is a socket (the runtime may open files of its own
    // while loading the package's modules: Bun does).
    const added = readdirSync('/proc/self/fd').filter((fd) => !fdsBefore.has(fd));
    const socketsAdded = added.filter((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`).startsWith('socket:');
      } catch {
        return false;
      }
    });
    expect(socketsAdded).toEqual([]);
    const inodes = new Set(result.connections.map((c) => `socket:[${c.inode}]`));
    for (const fd of readdirSync('/proc/self/fd')) {
      let link = '';
      try {
        link = readlinkSync(`/proc/self/fd/${fd}`);
      } catch {}
      expect(inodes.has(link)).toBe(false);
    }
  });

  it('turns keepalive off with false, by port, and changes nothing in a dry run', () => {
    const port = holder.socket('v4-client').remotePort;
    const dry = setProcessKeepalive({ port }, false, { dryRun: true });
    expect(dry.connections.map((c) => c.status).sort()).toEqual(['unchanged', 'would-apply']);
    expect(kernelNow(holder)['v4-client']!.enabled).toBe(true);
    const done = setProcessKeepalive({ port, pid: holder.pid }, false);
    expect(done.connections.map((c) => c.status).sort()).toEqual(['applied', 'unchanged']);
    expect(kernelNow(holder)['v4-client']!.enabled).toBe(false);
  });
});

describe('setProcessKeepalive checks before it touches anything', () => {
  sharedHolder();
  it('says in capabilities() that it can run here', () => {
    expect(capabilities().otherProcesses).toEqual({ set: true, reason: null });
  });

  it('touches nothing when the descriptor is not the socket /proc named, or is gone', () => {
    const initial = kernelNow(holder);
    const client = holder.socket('v4-client');
    const values = { enabled: 1, idle: 33, interval: 3, count: 3, userTimeout: 0 };
    // The process closed the descriptor and its number now names another socket.
    const otherInode = Number(/\d+/.exec(readlinkSync(`/proc/${holder.pid}/fd/${holder.socket('v4-peer').fd}`))![0]);
    expect(change({ pid: holder.pid, fd: client.fd }, otherInode, values, false)).toMatchObject({ status: 'failed', before: null, error: { code: 'ERR_FD_REUSED' } });
    const closed = change({ pid: holder.pid, fd: 1000 }, otherInode, values, false);
    expect(closed).toMatchObject({ status: 'failed', error: { code: 'EBADF', message: `process ${holder.pid} closed fd 1000 before its socket could be changed` } });
    const exited = change({ pid: unusedPid(), fd: client.fd }, otherInode, values, false);
    expect(exited).toMatchObject({ status: 'failed', error: { code: 'ESRCH' } });
    expect(kernelNow(holder)).toEqual(initial);
  });

  it('gets a duplicate opened close-on-exec, which no child can inherit', () => {
    // The kernel sets O_CLOEXEC on what pidfd_getfd returns; checked here on
    // the binding's own call, the one setProcessKeepalive makes.
    const dup = native().pidfdGetfd(holder.pid, holder.socket('v4-client').fd);
    try {
      const flags = /^flags:\s*(\d+)$/m.exec(readFileSync(`/proc/self/fdinfo/${dup}`, 'utf8'))![1]!;
      expect(Number.parseInt(flags, 8) & 0o2000000).toBe(0o2000000);
    } finally {
      native().close(dup);
    }
  });

  it('validates everything before touching a socket, with codes', () => {
    const initial = kernelNow(holder);
    const pid = holder.pid;
    const thread = Number(readdirSync(`/proc/${pid}/task`).find((t) => t !== String(pid)));
    const bad: [() => unknown, string, RegExp][] = [
      [() => setProcessKeepalive({ pid }, { idle: 0 }), 'ERR_OUT_OF_RANGE', /^Expected an integer between 1 and 32767 \(seconds\) for idle but received 0/],
      [() => setProcessKeepalive({ pid }, { count: '3' } as never), 'ERR_INVALID_ARG_TYPE', /for count but received '3' of type string/],
      [() => setProcessKeepalive({ pid }, { idel: 3 } as never), 'ERR_INVALID_ARG_VALUE', /options\.idel/],
      [() => setProcessKeepalive({ pid }, 60 as never), 'ERR_INVALID_ARG_TYPE', /for settings/],
      [() => setProcessKeepalive({}, { idle: 60 }), 'ERR_INVALID_ARG_VALUE', /at least one of pid, port or remote/],
      [() => setProcessKeepalive({ pid: 1.5 }, { idle: 60 }), 'ERR_OUT_OF_RANGE', /for target\.pid/],
      [() => setProcessKeepalive({ fd: 3, port: 80 }, { idle: 60 }), 'ERR_INVALID_ARG_VALUE', /needs the pid/],
      [() => setProcessKeepalive({ pid, remote: 'localhost' }, { idle: 60 }), 'ERR_INVALID_ARG_VALUE', /target\.remote/],
      [() => setProcessKeepalive({ pid, state: 'open' }, { idle: 60 }), 'ERR_INVALID_ARG_VALUE', /Unknown TCP state/],
      [() => setProcessKeepalive({ pid, host: 'x' } as never, { idle: 60 }), 'ERR_INVALID_ARG_VALUE', /target\.host/],
      [() => setProcessKeepalive({ pid: thread }, { idle: 60 }), 'ERR_INVALID_ARG_VALUE', /A thread id, not a process id \(its process is \d+\)/],
      [() => setProcessKeepalive({ pid }, { idle: 60 }, { dry: true } as never), 'ERR_INVALID_ARG_VALUE', /options\.dry/],
    ];
    for (const [call, code, message] of bad) {
      let error: (Error & { code?: string }) | undefined;
      try {
        call();
      } catch (e) {
        error = e as Error & { code?: string };
      }
      expect(error?.code).toBe(code);
      expect(error?.message).toMatch(message);
    }
    expect(kernelNow(holder)).toEqual(initial);
  });

  it('a pid no process has: nothing matched, ESRCH', () => {
    expect(setProcessKeepalive({ pid: unusedPid() }, { idle: 60 })).toEqual({ connections: [], reason: { code: 'ESRCH', message: expect.stringMatching(/^no process with pid/) } });
  });
});

interface LiveEvent {
  pid: number;
  port: number;
  connections: Record<'off' | 'defaults', { fd: number; localPort: number }>;
}

const monotonicMs = () => Number(process.hrtime.bigint() / 1000n) / 1000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(skipNetns)(netnsTitle('the point of it: a service hung on a vanished peer, fixed live (private namespace)'), () => {
  it('connections on the system defaults stay "connected"; set gives them 2/1/3 and a userTimeout, and they are dropped in time', async () => {
    const fix = { idle: 2, interval: 1, count: 3, userTimeout: 5000 };
    const detection = detectionTime(fix); // 5 s
    const fixture = isolated('live-dead-peer.mjs', { untilS: 30 }, { timeoutMs: 60_000 });
    try {
      const ready = (await fixture.next('ready')) as unknown as LiveEvent;
      const vanished = (await fixture.next('vanished')) as unknown as { atMs: number };
      const fds = [ready.connections.off.fd, ready.connections.defaults.fd];
      // A fresh namespace's defaults are the kernel's: 7200 s, 75 s, 9.
      expect(peek(ready.pid, fds)).toEqual([
        { enabled: false, idle: 7200, interval: 75, count: 9, userTimeout: 0 },
        { enabled: true, idle: 7200, interval: 75, count: 9, userTimeout: 0 },
      ]);

      // The namespace is not this one: without --pid nothing here matches.
      const elsewhere = cli(['set', '--port', String(ready.port), '--idle', '2']);
      expect(elsewhere.status).toBe(1);
      expect(elsewhere.stderr).toMatch(/^tcp-keepalive: nothing changed: no TCP connection in this network namespace with port \d+; \d+ process(es run| runs) in other network namespaces \(containers\): name one with --pid to reach its connections\n$/);

      // Longer than the fix will take: on the defaults nothing notices.
      while (monotonicMs() < vanished.atMs + detection * 1100) await sleep(100);
      expect(fixture.events.filter((e) => e.event === 'error')).toEqual([]);

      const setAt = monotonicMs();
      // The client ends only: --remote, in the holder's own namespace.
      const args = ['--pid', String(ready.pid), '--remote', `127.0.0.1:${ready.port}`, '--idle', '2', '--interval', '1', '--count', '3', '--user-timeout', '5000'];
      const r = cli(['set', ...args, '--json']);
      expect(r.status, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout) as SetOutput;
      const rows = out.connections.map((c) => [c.fd, c.status, c.state, c.after]).sort((a, b) => (a[0] as number) - (b[0] as number));
      expect(rows).toEqual([...fds].sort((a, b) => a - b).map((fd) => [fd, 'applied', 'ESTABLISHED', { enabled: true, ...fix }]));

      const result = (await fixture.result()) as unknown as { connections: Record<string, { error: string | null; atMs: number | null }> };
      for (const name of ['off', 'defaults']) {
        const c = result.connections[name]!;
        expect(c.error, name).toBe('ETIMEDOUT');
        // From the moment the command started, since it sets the values somewhere within its run.
        // Bun's process.hrtime counts from each process's start: the fixture's clock cannot be compared with this one.
        if (underBun) continue;
        const after = (c.atMs! - setAt) / 1000;
        expect(after, `${name} dropped ${after} s after set`).toBeLessThanOrEqual(detection * (1 + LATE));
        expect(after, name).toBeGreaterThan(0);
      }
    } finally {
      fixture.kill();
    }
  });
});
