// tcp-keepalive/register: process-wide keepalive from TCP_KEEPALIVE_*
// variables in an application that was not changed. Each application runs
// in a child process, loaded with --require, --import or NODE_OPTIONS from
// an application directory where the package is installed (a symlink to
// this checkout's built package), and its sockets are read from outside it
// with pidfd_getfd and getsockopt (test/fixtures/peek-fds.py).
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configFromEnv } from '../src/env.js';
import type { ConnectionInfo } from '../src/index.js';
import { fixtures, listen, procDefaults, type KernelView } from './helpers.js';

// Where Bun truly differs from Node, a test is skipped there with its reason.
const underBun = process.versions.bun !== undefined;

const root = path.join(__dirname, '..');
let appDir = '';

beforeAll(() => {
  appDir = mkdtempSync(path.join(os.tmpdir(), 'tcp-keepalive-register-'));
  mkdirSync(path.join(appDir, 'node_modules'));
  symlinkSync(root, path.join(appDir, 'node_modules', 'tcp-keepalive'), 'dir');
  for (const name of ['register-app-lib.cjs', 'register-app.cjs', 'register-app.mjs']) copyFileSync(path.join(fixtures, name), path.join(appDir, name));
  writeFileSync(path.join(appDir, 'app.cjs'), "console.log('the application ran');\n");
  writeFileSync(path.join(appDir, 'app.mjs'), "console.log('the application ran');\n");
});

afterAll(() => {
  if (appDir) rmSync(appDir, { recursive: true, force: true });
});

/** The test's environment without anything that would configure the child. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('TCP_KEEPALIVE_') && k !== 'NODE_OPTIONS' && k !== 'NODE_DEBUG') env[k] = v;
  }
  return { ...env, ...extra };
}

type Loader = '--require' | '--import' | 'NODE_OPTIONS=--require' | 'NODE_OPTIONS=--import' | 'NODE_OPTIONS=--require /abs' | 'NODE_OPTIONS=--import /abs';

/** The preload by absolute path, as the container snippets give it. */
const absolute = path.join(root, 'register.js');

function command(loader: Loader, script: string, env: Record<string, string>): { args: string[]; env: NodeJS.ProcessEnv } {
  if (loader.endsWith(' /abs')) {
    const flag = loader.replace('NODE_OPTIONS=', '').replace(' /abs', '');
    return { args: [script], env: cleanEnv({ ...env, NODE_OPTIONS: `${flag} ${absolute}` }) };
  }
  const flag = loader.replace('NODE_OPTIONS=', '');
  if (loader.startsWith('NODE_OPTIONS=')) {
    return { args: [script], env: cleanEnv({ ...env, NODE_OPTIONS: `${flag} tcp-keepalive/register` }) };
  }
  return { args: [flag, 'tcp-keepalive/register', script], env: cleanEnv(env) };
}

interface AppInfo {
  pid: number;
  fds: Record<'listedClient' | 'listedAccepted' | 'otherClient' | 'otherAccepted', number>;
  hooked: boolean;
  serverChannelSubscribed: boolean;
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  const port = await listen(server);
  await new Promise((r) => server.close(r));
  return port;
}

/** Starts the fixture application, returns what it printed and a way to end it. */
async function startApp(loader: Loader, env: Record<string, string>, ports: { listed: number; other: number }) {
  const script = path.join(appDir, /import( \/abs)?$/.test(loader) ? 'register-app.mjs' : 'register-app.cjs');
  const cmd = command(loader, script, { ...env, APP_LISTED_PORT: String(ports.listed), APP_OTHER_PORT: String(ports.other) });
  // By absolute path the preload must work from any working directory.
  const cwd = loader.endsWith(' /abs') ? os.tmpdir() : appDir;
  const child = spawn(process.execPath, cmd.args, { cwd, env: cmd.env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const info = await new Promise<AppInfo>((resolve, reject) => {
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (out.includes('\n')) resolve(JSON.parse(out.slice(0, out.indexOf('\n'))) as AppInfo);
    });
    child.on('exit', (code) => reject(new Error(`application exited (${code}) before reporting: ${stderr}`)));
  });
  const stop = () =>
    new Promise<void>((resolve) => {
      child.on('exit', () => resolve());
      child.stdin.end();
    });
  return { info, stop };
}

/** The kernel's view of another process's sockets. */
function peek(pid: number, fds: number[]): KernelView[] {
  const r = spawnSync('/usr/bin/python3', [path.join(fixtures, 'peek-fds.py'), String(pid), ...fds.map(String)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`peek-fds.py failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as KernelView[];
}

/**
 * The application on two ports found free a moment before. Another test
 * running at the same time may take one of them as an ephemeral port in
 * between; then it starts again on two new ports.
 */
async function startOnFreePorts(loader: Loader, env: Record<string, string>) {
  for (let attempt = 1; ; attempt++) {
    const ports = { listed: await freePort(), other: await freePort() };
    const withPorts = env.TCP_KEEPALIVE_PORTS === 'LISTED' ? { ...env, TCP_KEEPALIVE_PORTS: String(ports.listed) } : env;
    try {
      return await startApp(loader, withPorts, ports);
    } catch (e) {
      if (attempt < 5 && /EADDRINUSE/.test(String(e))) continue;
      throw e;
    }
  }
}

async function sockets(loader: Loader, env: Record<string, string>) {
  const app = await startOnFreePorts(loader, env);
  try {
    const f = app.info.fds;
    const [listedClient, listedAccepted, otherClient, otherAccepted] = peek(app.info.pid, [f.listedClient, f.listedAccepted, f.otherClient, f.otherAccepted]);
    return { listedClient: listedClient!, listedAccepted: listedAccepted!, otherClient: otherClient!, otherAccepted: otherAccepted!, info: app.info };
  } finally {
    await app.stop();
  }
}

const wanted = { TCP_KEEPALIVE_IDLE: '61', TCP_KEEPALIVE_INTERVAL: '7', TCP_KEEPALIVE_COUNT: '4', TCP_KEEPALIVE_USER_TIMEOUT: '31000' };
const ours: KernelView = { enabled: true, idle: 61, interval: 7, count: 4, userTimeout: 31_000 };

function untouched(): KernelView {
  const d = procDefaults();
  return { enabled: false, idle: d.idle, interval: d.interval, count: d.count, userTimeout: 0 };
}

const pidfd = process.platform === 'linux' && process.getuid?.() === 0;
const why = 'reading another process\'s sockets needs pidfd_getfd (Linux 5.6+) and ptrace rights (root)';

describe.skipIf(!pidfd && !process.env.CI)(`an unchanged application${pidfd ? '' : ` (${why})`}`, { concurrent: true }, () => {
  // Bun reads NODE_OPTIONS only in part: the preload through it is Node's.
  const loaders: Loader[] = underBun ? ['--require', '--import'] : ['--require', '--import', 'NODE_OPTIONS=--require', 'NODE_OPTIONS=--import', 'NODE_OPTIONS=--require /abs', 'NODE_OPTIONS=--import /abs'];

  it.each(loaders)('%s: client and accepted sockets on a listed port carry the values; another port is untouched', async (loader) => {
    const s = await sockets(loader, { ...wanted, TCP_KEEPALIVE_PORTS: 'LISTED' });
    expect(s.listedClient).toEqual(ours);
    // An accepted socket matches on its local (listening) port.
    expect(s.listedAccepted).toEqual(ours);
    expect(s.otherClient).toEqual(untouched());
    expect(s.otherAccepted).toEqual(untouched());
  });

  it('TCP_KEEPALIVE_DIRECTION=client: every client connection, no accepted one', async () => {
    const s = await sockets('--require', { ...wanted, TCP_KEEPALIVE_DIRECTION: 'client' });
    expect([s.listedClient, s.otherClient]).toEqual([ours, ours]);
    expect([s.listedAccepted, s.otherAccepted]).toEqual([untouched(), untouched()]);
  });

  it('TCP_KEEPALIVE_DIRECTION=server with a port: only accepted connections on that port', async () => {
    const s = await sockets('--import', { ...wanted, TCP_KEEPALIVE_DIRECTION: 'server', TCP_KEEPALIVE_PORTS: 'LISTED' });
    expect(s.listedAccepted).toEqual(ours);
    expect([s.listedClient, s.otherClient, s.otherAccepted]).toEqual([untouched(), untouched(), untouched()]);
  });

  it('only the fields given are set; the rest stay the system defaults', async () => {
    const s = await sockets('--require', { TCP_KEEPALIVE_IDLE: '45' });
    expect(s.otherClient).toEqual({ ...untouched(), enabled: true, idle: 45 });
  });

  it.each(['--require', '--import'] as Loader[])('%s with no variable set changes nothing at all', async (loader) => {
    const s = await sockets(loader, {});
    expect([s.listedClient, s.listedAccepted, s.otherClient, s.otherAccepted]).toEqual([untouched(), untouched(), untouched(), untouched()]);
    expect(s.info.hooked).toBe(false);
    expect(s.info.serverChannelSubscribed).toBe(false);
  });

  it.each(['--require', '--import'] as Loader[])("%s: the application's own import of the package shares the preload's state", async (loader) => {
    const s = await sockets(loader, { ...wanted, APP_TURN_OFF: '1' });
    expect([s.listedClient, s.listedAccepted, s.otherClient, s.otherAccepted]).toEqual([untouched(), untouched(), untouched(), untouched()]);
    // The hooks stay once in (they then pass through); the channel
    // subscription is what turning off removes.
    expect(s.info.serverChannelSubscribed).toBe(false);
  });

  it('empty variables count as not set', async () => {
    const s = await sockets('--require', { TCP_KEEPALIVE_IDLE: '', TCP_KEEPALIVE_PORTS: ' ' });
    expect(s.otherClient).toEqual(untouched());
    expect(s.info.hooked).toBe(false);
  });
});

describe('the preload by absolute path in NODE_OPTIONS', () => {
  const values = { TCP_KEEPALIVE_IDLE: '60', TCP_KEEPALIVE_INTERVAL: '10', TCP_KEEPALIVE_COUNT: '3', TCP_KEEPALIVE_USER_TIMEOUT: '90000' };
  const run = (flag: string, cwd: string, code: string) =>
    spawnSync(process.execPath, ['-e', code], { cwd, encoding: 'utf8', env: cleanEnv({ ...values, NODE_OPTIONS: `${flag} ${absolute}` }) });

  it.each(['--require', '--import'])('%s: any other Node process started from another folder runs (a health check, a script in /tmp)', (flag) => {
    for (const cwd of [os.tmpdir(), '/']) {
      const r = run(flag, cwd, "console.log('ok')");
      expect(r.stderr, `${flag} from ${cwd}`).toBe('');
      expect(r.stdout.trim()).toBe('ok');
    }
  });

  it.skipIf(underBun)('a bare name in NODE_OPTIONS does not resolve outside the application folder (why the absolute path is documented)', () => {
    const r = spawnSync(process.execPath, ['-e', '1'], { cwd: os.tmpdir(), encoding: 'utf8', env: cleanEnv({ NODE_OPTIONS: '--require tcp-keepalive/register' }) });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('MODULE_NOT_FOUND');
  });

  it('ships in the package', () => {
    const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { files: string[] };
    expect(pkg.files).toContain('register.js');
  });
});

// Each invalid variable stops the start: exit code 78 (EX_CONFIG), one line
// naming the variable, what it accepts and what it got, and no stack.
const invalid: [string, string, RegExp][] = [
  ['TCP_KEEPALIVE_IDLE', '0', /^tcp-keepalive: TCP_KEEPALIVE_IDLE must be a whole number of seconds from 1 to 32767, got "0"$/],
  ['TCP_KEEPALIVE_IDLE', '60s', /^tcp-keepalive: TCP_KEEPALIVE_IDLE must be a whole number of seconds from 1 to 32767, got "60s"$/],
  ['TCP_KEEPALIVE_IDLE', '1.5', /TCP_KEEPALIVE_IDLE .* got "1.5"$/],
  ['TCP_KEEPALIVE_INTERVAL', '40000', /^tcp-keepalive: TCP_KEEPALIVE_INTERVAL must be a whole number of seconds from 1 to 32767, got "40000"$/],
  ['TCP_KEEPALIVE_COUNT', '128', /^tcp-keepalive: TCP_KEEPALIVE_COUNT must be a whole number of probes from 1 to 127, got "128"$/],
  ['TCP_KEEPALIVE_USER_TIMEOUT', '-1', /^tcp-keepalive: TCP_KEEPALIVE_USER_TIMEOUT must be a whole number of milliseconds from 0 to 2147483647, got "-1"$/],
  ['TCP_KEEPALIVE_PORTS', '5432,70000', /^tcp-keepalive: TCP_KEEPALIVE_PORTS must be a comma-separated list of port numbers from 1 to 65535, got "5432,70000"$/],
  ['TCP_KEEPALIVE_PORTS', '5432,', /TCP_KEEPALIVE_PORTS .* got "5432,"$/],
  ['TCP_KEEPALIVE_DIRECTION', 'inbound', /^tcp-keepalive: TCP_KEEPALIVE_DIRECTION must be one of client, server, both, got "inbound"$/],
  ['TCP_KEEPALIVE_IDEL', '60', /^tcp-keepalive: TCP_KEEPALIVE_IDEL is not a variable tcp-keepalive knows \(TCP_KEEPALIVE_IDLE, .*\), got "60"$/],
];

describe.concurrent('invalid variables stop the start', () => {
  it.each(invalid)('%s=%s', async (name, value, message) => {
    for (const loader of ['--require', '--import'] as Loader[]) {
      const cmd = command(loader, loader === '--import' ? 'app.mjs' : 'app.cjs', { ...wanted, [name]: value });
      const r = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, cmd.args, { cwd: appDir, env: cmd.env });
        let stdout = '';
        let stderr = '';
        child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
        child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
        child.on('close', (status) => resolve({ status, stdout, stderr }));
      });
      expect(r.status, loader).toBe(78);
      expect(r.stdout, loader).not.toContain('the application ran');
      const lines = r.stderr.trimEnd().split('\n');
      expect(lines, loader).toHaveLength(1);
      expect(lines[0], loader).toMatch(message);
    }
  });
});

describe('configFromEnv and its filter', () => {
  it('returns null when nothing is set, and the options when something is', () => {
    expect(configFromEnv({})).toBeNull();
    expect(configFromEnv({ PATH: '/bin', TCP_KEEPALIVE_IDLE: '' })).toBeNull();
    expect(configFromEnv({ TCP_KEEPALIVE_IDLE: ' 60 ', TCP_KEEPALIVE_USER_TIMEOUT: '0' })).toEqual({
      options: { idle: 60, userTimeout: 0 },
      ports: null,
      direction: 'both',
    });
    // A filter alone turns keepalive on with the system's values for what it matches.
    expect(configFromEnv({ TCP_KEEPALIVE_PORTS: '5432, 6379' })).toEqual({ options: {}, ports: new Set([5432, 6379]), direction: 'both' });
    expect(configFromEnv({ TCP_KEEPALIVE_DIRECTION: 'Server' })?.direction).toBe('server');
  });

  it('errors carry a code and the variable', () => {
    expect(() => configFromEnv({ TCP_KEEPALIVE_COUNT: '0' })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE', variable: 'TCP_KEEPALIVE_COUNT' }));
    expect(() => configFromEnv({ TCP_KEEPALIVE_COUNT: 'x' })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE', variable: 'TCP_KEEPALIVE_COUNT' }));
  });
});
