// Deno: its TCP handles carry no file descriptor, so every entry point
// refuses at the first call with ERR_KEEPALIVE_RUNTIME_UNSUPPORTED, and the
// application's sockets and servers work on exactly as without the package.
// Tested in Deno itself (from the npm registry, pinned) and, wherever this
// suite runs, in this runtime told it is Deno.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const DENO_VERSION = '2.9.6';
const root = path.join(__dirname, '..');
const fixture = path.join(__dirname, 'fixtures', 'runtime-refusal.mjs');
const prefix = path.join(root, '.cache', 'deno');
const pkg = `@deno/${process.platform}-${process.arch === 'x64' ? 'x64' : 'arm64'}-glibc`;
const deno = path.join(prefix, 'node_modules', pkg, 'deno');

/** The pinned Deno, installed from the npm registry into .cache/deno when absent; null where it cannot be. */
function installDeno(): string | null {
  const version = (): string | undefined => spawnSync(deno, ['--version'], { encoding: 'utf8' }).stdout?.split(/\s+/)[1];
  if (existsSync(deno) && version() === DENO_VERSION) return deno;
  mkdirSync(prefix, { recursive: true });
  const npm = spawnSync('npm', ['install', '--prefix', prefix, '--no-save', '--no-package-lock', '--no-audit', '--no-fund', '--loglevel=error', `${pkg}@${DENO_VERSION}`], {
    encoding: 'utf8',
    timeout: 180_000,
  });
  if (npm.status !== 0) console.error(`could not install ${pkg}@${DENO_VERSION}: ${npm.stderr}`);
  return existsSync(deno) && version() === DENO_VERSION ? deno : null;
}

const ENTRY_POINTS = ['serverBeforeListen', 'defaults', 'serverAfterListen', 'getServer', 'clientConnecting', 'clientConnected', 'getClient'];

function check(result: ReturnType<typeof spawnSync>): void {
  expect(result.error).toBeUndefined();
  expect(result.status, String(result.stderr)).toBe(0);
  const out = JSON.parse(String(result.stdout)) as Record<string, { code?: string; message?: string } | string>;
  for (const name of ENTRY_POINTS) {
    const error = out[name] as { code?: string; message?: string };
    expect(error, name).toMatchObject({ code: 'ERR_KEEPALIVE_RUNTIME_UNSUPPORTED' });
    expect(error.message).toMatch(/^Deno \S+ gives its TCP sockets no file descriptor/);
  }
  // Nothing half-applied: the server the package refused serves as usual.
  expect(out.received).toBe('hello');
}

describe('a runtime whose TCP handles have no descriptor (Deno)', () => {
  it('refuses every entry point with a coded error, and the server still works (this runtime, told it is Deno)', () => {
    const result = spawnSync(process.execPath, [fixture], { encoding: 'utf8', timeout: 20_000, env: { ...process.env, TKA_SIMULATE_DENO: '1' } });
    check(result);
  });

  const binary = process.platform === 'linux' && (process.arch === 'x64' || process.arch === 'arm64') ? installDeno() : null;
  it.runIf(binary !== null)(`refuses every entry point in Deno ${DENO_VERSION} itself, without hanging`, () => {
    const result = spawnSync(binary!, ['run', '--allow-all', '--quiet', fixture], { encoding: 'utf8', timeout: 30_000, env: { ...process.env, DENO_NO_UPDATE_CHECK: '1' } });
    check(result);
  });
});
