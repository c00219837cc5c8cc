// `tcp-keepalive ls` against a separate process that holds connections the
// package configured, checked against that process's own getsockopt and
// against ss.
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import net from 'node:net';
import os from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Connection } from '../src/cli/ls.js';
import {
  cli,
  endpoint,
  hasCommand,
  isRoot,
  json,
  missing,
  readableCheckout,
  root,
  ss,
  startHolder,
  titled,
  type HeldSocket,
  type Holder,
  type SsSocket,
} from './cli-helpers.js';
import { listen, procDefaults } from './helpers.js';

interface Listing {
  connections: Connection[];
}

const noV6 = missing({
  'needs IPv6 on loopback (::1)': Object.values(os.networkInterfaces()).some((list) => list?.some((a) => a.family === 'IPv6' && a.address === '::1')),
});
const noSs = missing({ 'needs ss (iproute2)': hasCommand('ss') });
const hasSetpriv = hasCommand('setpriv');

// The name the kernel gives a process, as ss shows it: "node", or on Node 24
// and later "node-MainThread", the name Node gives its main thread.
function processName(pid: number): string {
  return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
}

let holder: Holder;
beforeAll(async () => {
  holder = await startHolder();
});
afterAll(async () => {
  await holder?.stop();
});

function rowFor(rows: Connection[], s: HeldSocket): Connection {
  const found = rows.filter((c) => c.localPort === s.localPort && c.remotePort === s.remotePort && c.localAddress === s.localAddress);
  expect(found, `${s.name} listed once`).toHaveLength(1);
  return found[0]!;
}

// The kernel's keepalive timer, by hand: idle + interval * count, or with a
// userTimeout the first probe at idle + k * interval (k >= 1) at or past it.
const EXPECTED_DETECTION: Record<string, number> = {
  'v4-client': 61 + 7, // userTimeout 30 s has passed by the first probe at 61 s
  'v6-client': 125 + 15 * 5,
};

describe('ls finds the holder process and its values', () => {
  it('--pid --json: every connection, with pid, fd, command and the values the kernel holds', () => {
    const { connections } = json<Listing>(['ls', '--pid', String(holder.pid)]);
    expect(connections).toHaveLength(holder.sockets.length);
    for (const s of holder.sockets) {
      const c = rowFor(connections, s);
      expect(c).toMatchObject({
        pid: holder.pid,
        fd: s.fd,
        command: processName(holder.pid),
        state: 'ESTABLISHED',
        family: s.localAddress.includes(':') ? 'IPv6' : 'IPv4',
        remoteAddress: s.remoteAddress,
        keepalive: s.kernel.enabled,
        idle: s.kernel.idle,
        interval: s.kernel.interval,
        count: s.kernel.count,
        userTimeout: s.kernel.userTimeout,
        error: null,
      });
      expect(c.processes).toEqual([{ pid: holder.pid, fd: s.fd, command: processName(holder.pid) }]);
      expect(c.detectionTime).toBe(EXPECTED_DETECTION[s.name] ?? null);
    }
  });

  it('reports the values the package set, and the system defaults on untouched sockets', () => {
    const { connections } = json<Listing>(['ls', '--pid', String(holder.pid)]);
    expect(rowFor(connections, holder.socket('v4-client'))).toMatchObject({ keepalive: true, idle: 61, interval: 7, count: 4, userTimeout: 30000 });
    const d = procDefaults();
    expect(rowFor(connections, holder.socket('v4-peer'))).toMatchObject({ keepalive: false, ...d, userTimeout: 0, detectionTime: null });
  });

  it.skipIf(noV6)(titled('lists IPv6 connections with their values', noV6), () => {
    const { connections } = json<Listing>(['ls', '--pid', String(holder.pid)]);
    expect(rowFor(connections, holder.socket('v6-client'))).toMatchObject({
      family: 'IPv6',
      localAddress: '::1',
      keepalive: true,
      idle: 125,
      interval: 15,
      count: 5,
    });
  });

  it('finds the connections in the machine-wide list too', () => {
    const { connections } = json<Listing>(['ls']);
    for (const s of holder.sockets) expect(rowFor(connections, s).pid).toBe(holder.pid);
  });

  it('--port keeps the connections with that local or remote port', () => {
    const port = holder.socket('v4-peer').localPort;
    const { connections } = json<Listing>(['ls', '--port', String(port)]);
    for (const c of connections) expect([c.localPort, c.remotePort]).toContain(port);
    rowFor(connections, holder.socket('v4-client'));
    rowFor(connections, holder.socket('v4-peer'));
  });

  it('--all adds the listening sockets', () => {
    const plain = json<Listing>(['ls', '--pid', String(holder.pid)]).connections;
    expect(plain.some((c) => c.state === 'LISTEN')).toBe(false);
    const all = json<Listing>(['ls', '--all', '--pid', String(holder.pid)]).connections;
    const listening = all.filter((c) => c.state === 'LISTEN');
    expect(listening.map((c) => c.localPort).sort()).toEqual([...holder.listening].sort());
    for (const c of listening) expect(c).toMatchObject({ pid: holder.pid, keepalive: false, error: null });
  });

  it('prints an aligned table with the connection, its process and its values', () => {
    const r = cli(['ls', '--pid', String(holder.pid)]);
    expect(r.status).toBe(0);
    expect(r.stdout).not.toMatch(/\x1b\[/); // not a terminal: no colour
    const lines = r.stdout.trimEnd().split('\n');
    const header = lines[0]!;
    const columns = ['STATE', 'LOCAL', 'REMOTE', 'PID', 'COMMAND', 'KEEPALIVE', 'TIMER', 'IDLE', 'INTVL', 'COUNT', 'USER_TIMEOUT', 'DETECTS_IN'];
    expect(header.split(/\s+/)).toEqual(columns);
    const s = holder.socket('v4-client');
    const cells = lines.map((l) => l.split(/\s{2,}/)).find((c) => c[1] === `${s.localAddress}:${s.localPort}`);
    expect(cells).toBeDefined();
    expect(cells!.slice(0, 6)).toEqual(['ESTABLISHED', `127.0.0.1:${s.localPort}`, `127.0.0.1:${s.remotePort}`, String(holder.pid), processName(holder.pid), 'on']);
    expect(cells![6]).toMatch(/^keepalive,\S+,0$/);
    expect(cells!.slice(7)).toEqual(['61s', '7s', '4', '30000ms', '1 min 8 s']);
    // Every line's KEEPALIVE column starts where the header's does.
    const at = header.indexOf('KEEPALIVE');
    for (const l of lines.slice(1)) expect(l.slice(at).match(/^(on|off|\?|-)\s/)).not.toBeNull();
  });
});

interface Snapshot {
  before: Map<string, SsSocket>;
  after: Map<string, SsSocket>;
  ls: Connection[];
}

const key = (local: string, remote: string) => `${local} ${remote}`;

/** ss, then ls, then ss again: whatever both ss runs agree on held while ls ran. */
function bracket(args: string[], prefix: string[] = []): Snapshot {
  const index = (list: SsSocket[]) => new Map(list.map((s) => [key(s.local, s.remote), s]));
  const before = index(ss({ prefix }));
  const ls = json<Listing>(['ls', ...args], { prefix }).connections;
  const after = index(ss({ prefix }));
  return { before, after, ls };
}

function compare(snap: Snapshot, only?: (c: Connection) => boolean): number {
  let compared = 0;
  for (const c of snap.ls) {
    if (only && !only(c)) continue;
    const k = key(endpoint(c.localAddress, c.localPort), endpoint(c.remoteAddress, c.remotePort));
    const a = snap.before.get(k);
    const b = snap.after.get(k);
    // Changed while ls ran (a state change, a probe, a timer re-armed): not comparable.
    if (!a || !b || a.state !== b.state || a.timer !== b.timer || a.inode !== b.inode || a.probes !== b.probes) continue;
    if (a.timerSeconds !== null && b.timerSeconds! > a.timerSeconds) continue;
    expect(c.state, k).toBe(a.state);
    expect(c.inode, k).toBe(a.inode);
    expect(c.timer, k).toBe(a.timer === 'on' ? 'retransmit' : a.timer);
    if (c.state === 'ESTABLISHED' && (a.timer === 'keepalive' || a.timer === null)) {
      expect(c.keepalive, k).toBe(a.timer === 'keepalive');
    }
    if (a.timer === 'keepalive') {
      // ss truncates to whole seconds (whole minutes from 10 min on); ls has /proc's 10 ms ticks.
      const slack = a.timerSeconds! >= 600 ? 60 : 1;
      expect(c.timerSeconds!, k).toBeLessThanOrEqual(a.timerSeconds! + slack);
      expect(c.timerSeconds!, k).toBeGreaterThanOrEqual(b.timerSeconds! - 1);
      expect(c.probes, k).toBe(a.probes);
    }
    compared++;
  }
  return compared;
}

/**
 * A bracket in which `expected` connections held still, trying again when a
 * probe or timer moved under it (the machine is shared and ls takes a while).
 */
function settled(args: string[], expected: number, prefix: string[] = []): Snapshot {
  let snap = bracket(args, prefix);
  for (let attempt = 1; attempt < 5 && compare(snap) < expected; attempt++) snap = bracket(args, prefix);
  expect(compare(snap)).toBe(expected);
  return snap;
}

describe.skipIf(noSs)(titled('ls agrees with ss -tnoe', noSs), () => {
  it('on the holder connections: state, keepalive on/off, timer within a second', () => {
    const snap = settled(['--pid', String(holder.pid)], holder.sockets.length);
    const s = holder.socket('v4-client');
    const seen = snap.before.get(key(endpoint(s.localAddress, s.localPort), endpoint(s.remoteAddress, s.remotePort)));
    expect(seen?.timer).toBe('keepalive');
  });

  it('on every connection both list', () => {
    const snap = bracket([]);
    expect(compare(snap)).toBeGreaterThanOrEqual(holder.sockets.length);
  });

  const noNetns = missing({
    'needs root for a network namespace': isRoot,
    'needs unshare and nsenter (util-linux)': hasCommand('unshare') && hasCommand('nsenter'),
  });
  it.skipIf(noNetns)(
    titled('on unanswered probes to a dead peer (a namespace with lo down)', noNetns),
    async () => {
      // A long interval, so that ss, ls, ss fall between two probes.
      const dead = await startHolder({ v4: { idle: 1, interval: 10, count: 50 }, v6: false }, [
        'unshare', '-n', 'sh', '-c', 'ip link set lo up && exec "$0" "$@"',
      ]);
      try {
        const prefix = ['nsenter', '-t', String(dead.pid), '-n'];
        expect(spawnSync(prefix[0]!, [...prefix.slice(1), 'ip', 'link', 'set', 'lo', 'down']).status).toBe(0);
        // Probes go out 1 s after the last packet answered, then every 10 s.
        await new Promise((r) => setTimeout(r, 2500));
        const snap = settled(['--pid', String(dead.pid)], 2, prefix);
        const s = dead.socket('v4-client');
        const row = snap.ls.find((c) => c.localPort === s.localPort)!;
        expect(row).toMatchObject({ keepalive: true, timer: 'keepalive', idle: 1, interval: 10, count: 50 });
        expect(row.probes).toBeGreaterThanOrEqual(1);
        expect(row.timerSeconds).toBeLessThanOrEqual(10);
      } finally {
        await dead.stop();
      }
    },
  );
});

describe('rows whose values cannot be read say why', () => {
  it('a connection in TIME_WAIT has no process (shown with --all)', async () => {
    const server = net.createServer((socket) => socket.on('end', () => socket.end()));
    const port = await listen(server);
    const client = net.connect(port, '127.0.0.1');
    await once(client, 'connect');
    const localPort = client.localPort;
    client.end(); // the side that closes first keeps TIME_WAIT
    await once(client, 'close');
    try {
      const rows = json<Listing>(['ls', '--all', '--port', String(port)]).connections;
      const row = rows.find((c) => c.localPort === localPort);
      expect(row).toMatchObject({ state: 'TIME_WAIT', pid: null, keepalive: null, idle: null, error: { code: 'ERR_NO_PROCESS' } });
      expect(row!.error!.message).toMatch(/TIME_WAIT/);
      expect(json<Listing>(['ls', '--port', String(port)]).connections.find((c) => c.localPort === localPort)).toBeUndefined();
    } finally {
      server.close();
    }
  });

  // Another user without root cannot read the holder's /proc/PID/fd.
  const asNobody = ['setpriv', '--reuid', '65534', '--regid', '65534', '--clear-groups'];
  const noNobody = missing({
    'needs root to switch users': isRoot,
    'needs setpriv (util-linux)': hasSetpriv,
  });
  // Where nobody runs the command and a holder from: the checkout, or a copy
  // of what they need when nobody cannot read the checkout.
  let readable: ReturnType<typeof readableCheckout> | undefined;
  const nobodys = () => (readable ??= readableCheckout(asNobody)).base;
  afterAll(() => readable?.remove());

  it.skipIf(noNobody)(titled('another user: the owner is unknown, the timer still shows keepalive', noNobody), () => {
    const port = holder.socket('v4-peer').localPort;
    const rows = json<Listing>(['ls', '--port', String(port)], { prefix: asNobody, base: nobodys() }).connections;
    const client = rowFor(rows, holder.socket('v4-client'));
    expect(client).toMatchObject({ pid: null, command: null, idle: null, keepalive: true, timer: 'keepalive', error: { code: 'EACCES' } });
    expect(client.error!.message).toMatch(/run as root/);
    expect(rowFor(rows, holder.socket('v4-peer'))).toMatchObject({ pid: null, keepalive: false, error: { code: 'EACCES' } });
    const r = cli(['ls', '--pid', String(holder.pid)], { prefix: asNobody, base: nobodys() });
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([`tcp-keepalive: cannot read the descriptors of process ${holder.pid} (EACCES); run as root or as its user`]);
  });

  it.skipIf(noNobody)(titled("the process's own user reads its values without root", noNobody), async () => {
    const own = await startHolder({ v6: false }, asNobody, nobodys());
    try {
      const rows = json<Listing>(['ls', '--pid', String(own.pid)], { prefix: asNobody, base: nobodys() }).connections;
      expect(rows).toHaveLength(2);
      for (const s of own.sockets) {
        expect(rowFor(rows, s)).toMatchObject({ pid: own.pid, fd: s.fd, uid: 65534, keepalive: s.kernel.enabled, idle: s.kernel.idle, count: s.kernel.count, error: null });
      }
    } finally {
      await own.stop();
    }
  });

  // Without CAP_SYS_PTRACE and with another real uid, /proc/PID/fd can be
  // read (it checks the effective uid) but pidfd_getfd is refused (it checks
  // the real uid): the process is known, its socket values are not.
  const noPtrace = ['setpriv', '--inh-caps=-sys_ptrace', '--bounding-set=-sys_ptrace'];
  const noCaps = missing({ 'needs root to drop capabilities': isRoot, 'needs setpriv (util-linux)': hasSetpriv });
  it.skipIf(noCaps)(titled('pidfd_getfd refused: pid known, values not, EPERM given', noCaps), async () => {
    const limited = await startHolder({ v6: false }, noPtrace);
    try {
      const prefix = ['setpriv', '--ruid', '65534', ...noPtrace.slice(1)];
      const rows = json<Listing>(['ls', '--pid', String(limited.pid)], { prefix }).connections;
      expect(rows).toHaveLength(2);
      for (const s of limited.sockets) {
        const row = rowFor(rows, s);
        expect(row).toMatchObject({ pid: limited.pid, fd: s.fd, command: processName(limited.pid), keepalive: s.kernel.enabled, idle: null, interval: null, count: null, userTimeout: null, detectionTime: null });
        expect(row.error).toMatchObject({ code: 'EPERM' });
        expect(row.error!.message).toMatch(/not permitted .*pidfd_getfd: EPERM/);
      }
      const table = cli(['ls', '--pid', String(limited.pid)], { prefix });
      expect(table.stdout).toMatch(/not permitted to read process \d+'s sockets/);
    } finally {
      await limited.stop();
    }
  });
});

// Issue 13, items 10 to 13: what a hostile process name, a closed pipe, odd
// arguments, other namespaces and a process exiting mid-scan do to `ls`.
const noNetnsRoot = missing({
  'needs root for a network namespace': isRoot,
  'needs unshare and nsenter (util-linux)': hasCommand('unshare') && hasCommand('nsenter'),
});

function threads(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/task`).length;
  } catch {
    return 0;
  }
}

function waitGone(pid: number): void {
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (let i = 0; i < 400; i++) {
    const stat = (() => {
      try {
        return readFileSync(`/proc/${pid}/stat`, 'latin1');
      } catch {
        return null;
      }
    })();
    // The leader turns zombie while its other threads may still be exiting;
    // its descriptors (and so its sockets) close with the last of them.
    if (stat === null || (/\) [ZX] /.test(stat) && threads(pid) <= 1)) return;
    Atomics.wait(pause, 0, 0, 5);
  }
  throw new Error(`process ${pid} did not exit`);
}

describe('ls hardening (issue 13)', () => {
  it('escapes control characters from /proc in the table: a process name cannot move the cursor or add a row', async () => {
    const hostile = await startHolder({ v6: false, comm: '\x1b[2J\nFAKE\x07' });
    try {
      expect(processName(hostile.pid)).toContain('FAKE');
      const r = cli(['ls', '--pid', String(hostile.pid)]);
      expect(r.status).toBe(0);
      expect(r.stdout).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f]/);
      const lines = r.stdout.trimEnd().split('\n');
      expect(lines).toHaveLength(1 + hostile.sockets.length);
      for (const line of lines.slice(1)) expect(line).toContain('\\x1b[2J\\nFAKE\\x07');
      // JSON keeps the name as it is, escaped by JSON itself.
      const rows = json<Listing>(['ls', '--pid', String(hostile.pid)]).connections;
      expect(rows[0]!.command).toBe('\x1b[2J\nFAKE\x07');
    } finally {
      await hostile.stop();
    }
  });

  it('a reader that closes the pipe early (| head) ends ls quietly with status 0', async () => {
    const big = await startHolder({ v6: false, extra: 300 });
    try {
      for (const args of [['--json'], []]) {
        const command = `"${process.execPath}" bin/tcp-keepalive.js ls --pid ${big.pid} ${args.join(' ')} 2>"$ERR" | head -c 100 >/dev/null; echo "\${PIPESTATUS[0]}"`;
        const err = path.join(os.tmpdir(), `ls-epipe-${process.pid}`);
        const r = spawnSync('bash', ['-c', command], { cwd: root, encoding: 'utf8', env: { ...process.env, ERR: err } });
        expect(r.stdout.trim(), `ls ${args.join(' ')} | head`).toBe('0');
        expect(readFileSync(err, 'utf8')).toBe('');
      }
    } finally {
      await big.stop();
    }
  });

  it('a repeated --pid or --port takes them all', async () => {
    const other = await startHolder({ v6: false });
    try {
      const rows = json<Listing>(['ls', '--pid', String(holder.pid), '--pid', String(other.pid)]).connections;
      expect(new Set(rows.map((c) => c.pid))).toEqual(new Set([holder.pid, other.pid]));
      expect(rows).toHaveLength(holder.sockets.length + other.sockets.length);
      const a = holder.socket('v4-client').localPort;
      const b = other.socket('v4-client').localPort;
      const byPort = json<Listing>(['ls', '--port', String(a), '--port', String(b)]).connections;
      expect(byPort.filter((c) => c.pid === holder.pid)).toHaveLength(2);
      expect(byPort.filter((c) => c.pid === other.pid)).toHaveLength(2);
    } finally {
      await other.stop();
    }
  });

  it('--pid with a thread id lists its process, and says so', () => {
    const threads = readdirSync(`/proc/${holder.pid}/task`).map(Number).filter((t) => t !== holder.pid);
    expect(threads.length).toBeGreaterThan(0);
    const r = cli(['ls', '--pid', String(threads[0]), '--json']);
    expect(r.status).toBe(0);
    expect(r.stderr).toContain(`${threads[0]} is a thread of process ${holder.pid}`);
    const rows = (JSON.parse(r.stdout) as Listing).connections;
    expect(rows).toHaveLength(holder.sockets.length);
    for (const c of rows) expect(c).toMatchObject({ pid: holder.pid, error: null });
  });

  it.skipIf(noNetnsRoot)(titled('a process in another network namespace: says where, and the nsenter hint works', noNetnsRoot), async () => {
    const inner = await startHolder({ v6: false }, ['unshare', '-n', 'sh', '-c', 'ip link set lo up && exec "$0" "$@"']);
    try {
      const r = cli(['ls', '--pid', String(inner.pid)]);
      expect(r.status).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain('another network namespace');
      expect(r.stderr).toContain(`nsenter -t ${inner.pid} -n tcp-keepalive ls --pid ${inner.pid}`);
      const rows = json<Listing>(['ls', '--pid', String(inner.pid)], { prefix: ['nsenter', '-t', String(inner.pid), '-n'] }).connections;
      expect(rows).toHaveLength(2);
      for (const s of inner.sockets) expect(rowFor(rows, s)).toMatchObject({ pid: inner.pid, idle: s.kernel.idle, error: null });
    } finally {
      await inner.stop();
    }
  });

  it.skipIf(noNetnsRoot)(
    titled('DETECTS_IN from a namespace whose tcp_keepalive_probes (200) is beyond what setsockopt accepts', noNetnsRoot),
    async () => {
      const inner = await startHolder({ v4: { idle: 61, interval: 7 }, v6: false }, [
        'unshare', '-n', 'sh', '-c', 'ip link set lo up && sysctl -qw net.ipv4.tcp_keepalive_probes=200 && exec "$0" "$@"',
      ]);
      try {
        const prefix = ['nsenter', '-t', String(inner.pid), '-n'];
        const s = inner.socket('v4-client');
        expect(s.kernel.count).toBe(200);
        const row = rowFor(json<Listing>(['ls', '--pid', String(inner.pid)], { prefix }).connections, s);
        expect(row).toMatchObject({ keepalive: true, idle: 61, interval: 7, count: 200, userTimeout: 0, detectionTime: 61 + 7 * 200 });
        const table = cli(['ls', '--pid', String(inner.pid)], { prefix }).stdout;
        expect(table).toMatch(/\b200\s+0\s+24 min 21 s/);
      } finally {
        await inner.stop();
      }
    },
  );

  it('a holder that exits during the scan: its rows say so, never "run as root"', async () => {
    const { list } = await import('../src/cli/ls.js');
    for (const when of ['afterDump', 'beforeRead'] as const) {
      const gone = await startHolder({ v6: false });
      const ports = gone.sockets.map((s) => s.localPort);
      const kill = () => {
        process.kill(gone.pid, 'SIGKILL');
        waitGone(gone.pid);
      };
      const pid = when === 'beforeRead' ? [gone.pid] : undefined;
      const { connections } = list({ port: ports, pid }, when === 'afterDump' ? { afterDump: kill } : { beforeRead: kill });
      const mine = connections.filter((c) => gone.sockets.some((s) => s.localPort === c.localPort && s.remotePort === c.remotePort));
      expect(mine, when).toHaveLength(2);
      for (const c of mine) {
        expect(c.error, when).toMatchObject({ code: 'ESRCH' });
        expect(c.error!.message, when).toMatch(/during the scan/);
        expect(c.error!.message, when).not.toMatch(/run as root/);
      }
      await gone.stop();
    }
  });
});
