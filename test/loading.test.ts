// What loading the package loads, as built (dist/): the entry point alone
// until a function is called, the preload alone while no TCP_KEEPALIVE_*
// variable is set, and no native binary for the command line's help, check
// and defaults. Each case runs in a fresh Node process that reports, as it
// exits, the CommonJS files it loaded and the binaries mapped into it
// (test/fixtures/loaded.cjs). How long loading takes is the benchmark's
// business (npm run bench); these tests pin down what is loaded.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fixtures } from './helpers.js';

// Under Bun the child is Bun, which does not apply --require from
// NODE_OPTIONS (so the reporter never runs) and has its own module loader:
// what these tests pin down is what Node loads.
const underBun = process.versions.bun !== undefined;

const root = realpathSync(path.join(__dirname, '..'));
const reporter = path.join(fixtures, 'loaded.cjs');
const scratch = mkdtempSync(path.join(os.tmpdir(), 'tcp-keepalive-loading-'));
let runs = 0;

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

interface Loaded {
  status: number | null;
  stdout: string;
  stderr: string;
  /** CommonJS files, relative to the package root where inside it. */
  modules: string[];
  /** Native binaries mapped into the process, relative to the package root where inside it. */
  binaries: string[];
}

/** The environment without anything that would configure the preload. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('TCP_KEEPALIVE_') && k !== 'NODE_OPTIONS' && k !== 'NODE_DEBUG') env[k] = v;
  }
  return { ...env, ...extra };
}

function run(args: string[], extraEnv: Record<string, string> = {}): Loaded {
  const report = path.join(scratch, `report-${runs++}.json`);
  const env = cleanEnv({ ...extraEnv, LOADED_ROOT: root, LOADED_REPORT: report });
  const options = extraEnv.NODE_OPTIONS ? `--require ${reporter} ${extraEnv.NODE_OPTIONS}` : `--require ${reporter}`;
  env.NODE_OPTIONS = options;
  const result = spawnSync(process.execPath, args, { cwd: root, env, encoding: 'utf8' });
  const { modules, binaries } = JSON.parse(readFileSync(report, 'utf8')) as { modules: string[]; binaries: string[] };
  return { status: result.status, stdout: result.stdout, stderr: result.stderr, modules, binaries };
}

const BINARY = /(^|\/)(build\/Release\/tcp_keepalive|prebuilds\/.*\/tcp-keepalive)\.node$/;

function ours(loaded: Loaded): string[] {
  return loaded.binaries.filter((file) => BINARY.test(file));
}

describe.skipIf(underBun)('loading the package', () => {
  it('require() loads the entry point alone, and no binary', () => {
    const loaded = run(['-e', "const k = require('tcp-keepalive'); if (typeof k.setKeepalive !== 'function') process.exit(3);"]);
    expect(loaded.status, loaded.stderr).toBe(0);
    expect(loaded.modules).toEqual(['dist/index.js']);
    expect(ours(loaded)).toEqual([]);
  });

  it('import loads the ESM face and the entry point alone, and no binary', () => {
    const loaded = run(['--input-type=module', '-e', "import { setKeepalive, CONNECTION_LOST_CHANNEL } from 'tcp-keepalive'; if (typeof setKeepalive !== 'function' || !CONNECTION_LOST_CHANNEL) process.exit(3);"]);
    expect(loaded.status, loaded.stderr).toBe(0);
    expect(loaded.modules).toEqual(['dist/index.js']);
    expect(ours(loaded)).toEqual([]);
  });

  it('the first call loads the rest and the binary; both forms reach the kernel', () => {
    // The child sets two sockets through the entry point and has Python's
    // getsockopt read them (an independent witness), then prints the readings.
    const script = `
      const net = require('node:net');
      const { spawnSync } = require('node:child_process');
      const { setKeepalive, getKeepalive } = require('tcp-keepalive');
      const read = (s) => JSON.parse(spawnSync('python3', [${JSON.stringify(path.join(fixtures, 'getsockopt.py'))}], { stdio: ['ignore', 'pipe', 'inherit', s._handle.fd], encoding: 'utf8' }).stdout);
      const server = net.createServer().listen(0, '127.0.0.1', () => {
        const a = net.connect(server.address().port, '127.0.0.1');
        const b = net.connect(server.address().port, '127.0.0.1');
        let up = 0;
        const go = () => {
          if (++up < 2) return;
          setKeepalive(a, 61, 11, 4, 91000);
          setKeepalive(b, { idle: 62, interval: 12, count: 5 });
          const out = { a: read(a), b: read(b), get: getKeepalive(b).idle, names: [setKeepalive.name, getKeepalive.name] };
          process.stdout.write(JSON.stringify(out));
          a.destroy(); b.destroy(); server.close();
          server.unref();
        };
        a.on('connect', go); b.on('connect', go);
        server.on('connection', (s) => s.on('error', () => {}));
      });`;
    const loaded = run(['-e', script]);
    expect(loaded.status, loaded.stderr).toBe(0);
    const out = JSON.parse(loaded.stdout) as { a: unknown; b: { userTimeout: number }; get: number; names: string[] };
    expect(out.a).toEqual({ enabled: true, idle: 61, interval: 11, count: 4, userTimeout: 91000 });
    expect(out.b).toMatchObject({ enabled: true, idle: 62, interval: 12, count: 5 });
    expect(out.get).toBe(62);
    expect(out.names).toEqual(['setKeepalive', 'getKeepalive']);
    expect(loaded.modules).toContain('dist/api.js');
    expect(ours(loaded)).toHaveLength(1);
  });

  it('the entry point exports the same names as the API it loads', () => {
    const loaded = run(['-e', "const k = require('tcp-keepalive'); const a = require('./dist/api.js'); process.stdout.write(JSON.stringify({ entry: Object.keys(k).sort(), api: Object.keys(a).sort(), channel: k.CONNECTION_LOST_CHANNEL === a.CONNECTION_LOST_CHANNEL }));"]);
    expect(loaded.status, loaded.stderr).toBe(0);
    const out = JSON.parse(loaded.stdout) as { entry: string[]; api: string[]; channel: boolean };
    expect(out.entry).toEqual(out.api);
    expect(out.channel).toBe(true);
  });
});

describe.skipIf(underBun)('the preload with no TCP_KEEPALIVE_* variable', () => {
  const absolute = path.join(root, 'register.js');
  const cases: [string, string[], Record<string, string>, string[]][] = [
    ['--require tcp-keepalive/register', ['--require', 'tcp-keepalive/register', '-e', '0'], {}, ['dist/register.js']],
    ['--import tcp-keepalive/register', ['--import', 'tcp-keepalive/register', '-e', '0'], {}, ['dist/register.js']],
    ['--require by absolute path', ['--require', absolute, '-e', '0'], {}, ['register.js', 'dist/register.js']],
    ['--import by absolute path', ['--import', absolute, '-e', '0'], {}, ['register.js', 'dist/register.js']],
    ['NODE_OPTIONS=--require by absolute path', ['-e', '0'], { NODE_OPTIONS: `--require ${absolute}` }, ['register.js', 'dist/register.js']],
    ['NODE_OPTIONS=--import by absolute path', ['-e', '0'], { NODE_OPTIONS: `--import ${absolute}` }, ['register.js', 'dist/register.js']],
    ['a variable set to the empty string', ['--require', absolute, '-e', '0'], { TCP_KEEPALIVE_IDLE: '' }, ['register.js', 'dist/register.js']],
  ];
  for (const [name, args, env, expected] of cases) {
    it(`${name}: loads the preload alone, and no binary`, () => {
      const loaded = run(args, env);
      expect(loaded.status, loaded.stderr).toBe(0);
      expect(loaded.modules).toEqual(expected);
      expect(ours(loaded)).toEqual([]);
    });
  }

  it('with a variable set, the same preload loads the package and the binary', () => {
    const loaded = run(['--require', absolute, '-e', "require('node:net').connect(1, '127.0.0.1').on('error', () => {})"], { TCP_KEEPALIVE_IDLE: '60' });
    expect(loaded.status, loaded.stderr).toBe(0);
    expect(loaded.modules).toContain('dist/defaults-process.js');
    expect(ours(loaded)).toHaveLength(1);
  });
});

describe.skipIf(underBun)('the command line', () => {
  const bin = path.join(root, 'bin/tcp-keepalive.js');

  it('--help loads the dispatcher alone', () => {
    const loaded = run([bin, '--help']);
    expect(loaded.status, loaded.stderr).toBe(0);
    expect(loaded.stdout).toContain('Usage: tcp-keepalive');
    expect(loaded.modules).toEqual(['bin/tcp-keepalive.js', 'dist/cli/main.js', 'dist/cli/args.js']);
    expect(ours(loaded)).toEqual([]);
  });

  it("a command's help loads that command alone", () => {
    const loaded = run([bin, 'help', 'check']);
    expect(loaded.status, loaded.stderr).toBe(0);
    expect(loaded.modules).toContain('dist/cli/check.js');
    expect(loaded.modules).not.toContain('dist/cli/ls.js');
    expect(loaded.modules).not.toContain('dist/cli/set.js');
  });

  for (const args of [['check', '--idle', '60', '--interval', '10', '--count', '3', '--user-timeout', '90000'], ['check', '--idle', '0'], ['defaults'], ['defaults', '--json']]) {
    it(`${args.join(' ')} does not load the binary`, () => {
      const loaded = run([bin, ...args]);
      expect(loaded.status, loaded.stderr).not.toBeNull();
      expect(loaded.stderr).not.toContain('cannot load');
      expect(loaded.modules).not.toContain('dist/cli/ls.js');
      expect(ours(loaded)).toEqual([]);
    });
  }
});
