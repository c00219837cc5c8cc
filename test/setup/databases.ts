// Real database servers for the driver tests: PostgreSQL, Redis and MariaDB
// from Debian's packages, installed when missing, started on loopback on a
// free port with data under this run's directory, once per run whichever
// test file asks first (workers take turns through a lock directory), and
// stopped by the globalSetup's teardown (test/setup/servers.ts).
//
// A server that cannot be had is reported with the reason, and its tests
// are skipped and counted; under CI they fail instead.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync, chownSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { beforeAll, beforeEach, inject, type TestContext } from 'vitest';

export type ServerName = 'postgres' | 'redis' | 'mariadb';

export type ServerRecord =
  | { ok: true; name: string; host: string; port: number; pid: number; stopSignal: NodeJS.Signals; startMs: number; log: string }
  | { ok: false; name: string; reason: string; pid: 0; stopSignal: NodeJS.Signals; startMs: 0 };

/** CI must run every test: a missing server there is a failure, not a skip. */
export const inCI = !!process.env.CI && process.env.CI !== 'false' && process.env.CI !== '0';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Running and not a zombie left for a parent that never reaps it. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

function runDir(): string {
  return inject('serversDir');
}

async function withLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const lock = path.join(runDir(), `${name}.lock`);
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    // A worker that died holding the lock leaves it behind.
    try {
      const holder = Number(readFileSync(path.join(lock, 'pid'), 'utf8'));
      if (holder > 0 && !alive(holder)) {
        rmSync(lock, { recursive: true, force: true });
        continue;
      }
    } catch {
      // Not written yet: the holder is between mkdir and writeFile.
    }
    await sleep(100);
  }
  writeFileSync(path.join(lock, 'pid'), String(process.pid));
  try {
    return await fn();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

function readRecord(file: string): ServerRecord | undefined {
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as ServerRecord) : undefined;
}

// Where each server's binary lives once its Debian package is installed.
function postgresBin(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => existsSync(path.join(root, v, 'bin/postgres')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? undefined : path.join(root, versions[0], 'bin');
}

function firstExisting(...candidates: string[]): string | undefined {
  return candidates.find((c) => existsSync(c));
}

const binaries: Record<ServerName, () => string | undefined> = {
  postgres: () => {
    const bin = postgresBin();
    return bin && path.join(bin, 'postgres');
  },
  redis: () => firstExisting('/usr/bin/redis-server', '/usr/local/bin/redis-server'),
  mariadb: () => firstExisting('/usr/sbin/mariadbd', '/usr/sbin/mysqld'),
};

const packages: Record<ServerName, string> = { postgres: 'postgresql', redis: 'redis-server', mariadb: 'mariadb-server' };

const ALL: ServerName[] = ['postgres', 'redis', 'mariadb'];

/**
 * Installs every missing server package in one apt transaction, once per
 * run: one `apt-get update` and one `apt-get install` cost less than three.
 */
async function installMissing(): Promise<ServerRecord> {
  const file = path.join(runDir(), 'install.json');
  return withLock('install', async () => {
    const done = readRecord(file);
    if (done) return done;
    const missing = ALL.filter((name) => !binaries[name]());
    let record: ServerRecord;
    if (missing.length === 0) {
      record = { ok: true, name: 'install', host: '', port: 0, pid: 0, stopSignal: 'SIGTERM', startMs: 0, log: '' };
    } else if (process.getuid?.() !== 0) {
      record = {
        ok: false,
        name: 'install',
        reason: `not root, so cannot apt-get install ${missing.map((m) => packages[m]).join(' ')}`,
        pid: 0,
        stopSignal: 'SIGTERM',
        startMs: 0,
      };
    } else {
      const started = performance.now();
      const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
      const apt = (args: string[]) =>
        spawnSync('apt-get', ['-o', 'DPkg::Lock::Timeout=300', ...args], { env, encoding: 'utf8', timeout: 600_000 });
      const update = apt(['update', '-qq']);
      const install =
        update.status === 0
          ? apt(['install', '-y', '-qq', '--no-install-recommends', ...missing.map((m) => packages[m])])
          : update;
      record =
        install.status === 0
          ? { ok: true, name: 'install', host: '', port: 0, pid: 0, stopSignal: 'SIGTERM', startMs: performance.now() - started, log: '' }
          : {
              ok: false,
              name: 'install',
              reason: `apt-get failed: ${(install.stderr || String(install.error ?? install.status)).trim().split('\n').slice(-2).join(' ')}`,
              pid: 0,
              stopSignal: 'SIGTERM',
              startMs: 0,
            };
    }
    writeFileSync(file, JSON.stringify(record));
    return record;
  });
}

function unavailable(name: string, reason: string): ServerRecord {
  return { ok: false, name, reason, pid: 0, stopSignal: 'SIGTERM', startMs: 0 };
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

function userIds(user: string): { uid: number; gid: number } | undefined {
  const uid = spawnSync('id', ['-u', user], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', user], { encoding: 'utf8' });
  if (uid.status !== 0 || gid.status !== 0) return undefined;
  return { uid: Number(uid.stdout), gid: Number(gid.stdout) };
}

interface Plan {
  command: string;
  args: string[];
  ready: RegExp;
  stopSignal: NodeJS.Signals;
  ids?: { uid: number; gid: number };
}

function run(command: string, args: string[], ids?: { uid: number; gid: number }): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'], ...(ids ?? {}) });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (error) => resolve({ status: null, stderr: String(error) }));
    child.on('close', (status) => resolve({ status, stderr }));
  });
}

async function plan(name: ServerName, binary: string, base: string, port: number): Promise<Plan | string> {
  const root = process.getuid?.() === 0;
  switch (name) {
    case 'redis':
      return {
        command: binary,
        args: ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--dir', base],
        ready: /Ready to accept connections/,
        stopSignal: 'SIGTERM',
      };
    case 'mariadb':
      mkdirSync(path.join(base, 'data'));
      // No system tables and no grant checks: the server starts in about a
      // second instead of the several that mariadb-install-db takes.
      return {
        command: binary,
        args: [
          '--no-defaults',
          `--datadir=${path.join(base, 'data')}`,
          ...(root ? ['--user=root'] : []),
          '--bind-address=127.0.0.1',
          `--port=${port}`,
          `--socket=${path.join(base, 'mysqld.sock')}`,
          `--pid-file=${path.join(base, 'mysqld.pid')}`,
          '--skip-grant-tables',
          '--skip-name-resolve',
          '--innodb-buffer-pool-size=16M',
        ],
        ready: /ready for connections/,
        stopSignal: 'SIGTERM',
      };
    case 'postgres': {
      const db = await initPostgres(binary, base);
      if (typeof db === 'string') return db;
      return {
        command: binary,
        args: ['-D', db.data, '-h', '127.0.0.1', '-p', String(port), '-k', base, '-c', 'fsync=off', '-c', 'full_page_writes=off'],
        ready: /database system is ready to accept connections/,
        // SIGINT is PostgreSQL's fast shutdown; SIGTERM waits for clients.
        stopSignal: 'SIGINT',
        ...(db.ids ? { ids: db.ids } : {}),
      };
    }
  }
}

/**
 * A new PostgreSQL data directory in base (base/data), owned by the user the
 * server must run as, or why there cannot be one.
 */
export async function initPostgres(binary: string, base: string): Promise<{ data: string; ids?: { uid: number; gid: number } } | string> {
  // PostgreSQL refuses to run as root: run it as the package's user.
  const root = process.getuid?.() === 0;
  const ids = root ? userIds('postgres') : undefined;
  if (root && !ids) return 'running as root and there is no postgres user to run PostgreSQL as';
  mkdirSync(base, { recursive: true });
  if (ids) chownSync(base, ids.uid, ids.gid);
  const data = path.join(base, 'data');
  const initdb = await run(
    path.join(path.dirname(binary), 'initdb'),
    ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C'],
    ids,
  );
  if (initdb.status !== 0) return `initdb failed: ${initdb.stderr.trim().split('\n').slice(-2).join(' ')}`;
  return ids ? { data, ids } : { data };
}

/** This run's private directory, for tests that keep files of their own there. */
export function scratchDir(name: string): string {
  const dir = path.join(runDir(), name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

async function start(name: ServerName): Promise<ServerRecord> {
  const installed = await installMissing();
  const binary = binaries[name]();
  if (!binary) return unavailable(name, installed.ok ? `${packages[name]} installed but its server binary is not found` : installed.reason);
  // The free port can be taken by someone else before the server binds it.
  let record: ServerRecord | undefined;
  for (let attempt = 1; attempt <= 3 && !record?.ok; attempt++) {
    record = await startOnce(name, binary, path.join(runDir(), name, String(attempt)));
  }
  return record!;
}

async function startOnce(name: ServerName, binary: string, base: string): Promise<ServerRecord> {
  const started = performance.now();
  mkdirSync(base, { recursive: true });
  const port = await freePort();
  const p = await plan(name, binary, base, port);
  if (typeof p === 'string') return unavailable(name, p);
  const log = path.join(base, 'server.log');
  const out = openSync(log, 'a');
  if (p.ids) chownSync(log, p.ids.uid, p.ids.gid);
  // Its own process group, so it outlives the worker that started it and is
  // stopped by the teardown, which runs in the main process.
  const child = spawn(p.command, p.args, { cwd: base, detached: true, stdio: ['ignore', out, out], ...(p.ids ?? {}) });
  closeSync(out);
  child.unref();
  const pid = child.pid ?? 0;
  // Should the whole run be killed before its teardown, the server follows.
  spawn(
    'sh',
    ['-c', 'while kill -0 "$0" 2>/dev/null && kill -0 "$1" 2>/dev/null; do sleep 1; done; kill -' + p.stopSignal.slice(3) + ' "$1" 2>/dev/null', String(inject('serversOwner')), String(pid)],
    { detached: true, stdio: 'ignore' },
  ).unref();
  const deadline = Date.now() + 60_000;
  for (;;) {
    const text = existsSync(log) ? readFileSync(log, 'utf8') : '';
    if (p.ready.test(text)) break;
    if (!alive(pid) || Date.now() > deadline) {
      if (alive(pid)) process.kill(pid, 'SIGKILL');
      return unavailable(name, `the server did not start: ${text.trim().split('\n').slice(-3).join(' ') || 'no output'}`);
    }
    await sleep(50);
  }
  return { ok: true, name, host: '127.0.0.1', port, pid, stopSignal: p.stopSignal, startMs: performance.now() - started, log };
}

/** The run's server of this kind, started on first use. */
export async function database(name: ServerName): Promise<ServerRecord> {
  const file = path.join(runDir(), `${name}.json`);
  return withLock(name, async () => {
    const done = readRecord(file);
    if (done) return done;
    const record = await start(name);
    writeFileSync(file, JSON.stringify(record));
    return record;
  });
}

/** The server binary, installing its package if missing: for tests that run their own. */
export async function serverBinary(name: ServerName): Promise<{ path: string } | { reason: string }> {
  const installed = await installMissing();
  const binary = binaries[name]();
  if (binary) return { path: binary };
  return { reason: installed.ok ? `${packages[name]} installed but its server binary is not found` : installed.reason };
}

/**
 * Skips the running test, with the reason as its note, when what it needs
 * cannot be had; under CI the test fails with the reason instead.
 */
export function skipUnless(ctx: TestContext, reason: string | undefined): void {
  if (reason === undefined) return;
  if (inCI) throw new Error(`required under CI but unavailable: ${reason}`);
  ctx.skip(`unavailable: ${reason}`);
}

/**
 * For a suite that needs a server: the run's server of that kind, ready
 * before the suite's first test (installing it may take a while), and each
 * test skipped (under CI, failed) with the reason when it cannot be had.
 */
export function useDatabase(name: ServerName): () => Extract<ServerRecord, { ok: true }> {
  let record: ServerRecord | undefined;
  beforeAll(async () => {
    record = await database(name);
  }, 600_000);
  beforeEach((ctx) => skipUnless(ctx, record && !record.ok ? record.reason : undefined));
  return () => record as Extract<ServerRecord, { ok: true }>;
}
