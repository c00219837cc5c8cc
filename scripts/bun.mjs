// `npm run test:bun`: the whole suite under Bun. Bun comes from the npm
// registry as @oven/bun-linux-x64 (pinned below), kept in .cache/bun; the
// suite runs against the same N-API build as under Node, which carries no
// libuv import so that Bun can load it.
//
// BUN_REFRESH=1 reinstalls Bun. Arguments pass through to vitest
// (e.g. `npm run test:bun -- test/roundtrip.test.ts`).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const BUN_VERSION = '1.4.5';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const prefix = join(root, '.cache/bun');
const pkg = `@oven/bun-${process.platform}-${process.arch === 'arm64' ? 'aarch64' : process.arch}`;
const bun = join(prefix, 'node_modules', pkg, 'bin', 'bun');

function run(cmd, args, options = {}) {
  const result = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...options });
  if (result.error) throw result.error;
  return result.status ?? 1;
}

function bunVersion() {
  if (!existsSync(bun)) return null;
  const r = spawnSync(bun, ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

/** The Bun binary at the pinned version, installed from the registry if the cache lacks it. */
export function installBun({ refresh = false } = {}) {
  if (!refresh && bunVersion() === BUN_VERSION) return bun;
  rmSync(prefix, { recursive: true, force: true });
  mkdirSync(prefix, { recursive: true });
  const status = run('npm', ['install', '--prefix', prefix, '--no-save', '--no-package-lock', '--no-audit', '--no-fund', '--loglevel=error', `${pkg}@${BUN_VERSION}`]);
  if (status !== 0 || bunVersion() !== BUN_VERSION) throw new Error(`could not install ${pkg}@${BUN_VERSION}`);
  return bun;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const started = Date.now();
  const binary = installBun({ refresh: Boolean(process.env.BUN_REFRESH) });
  console.log(`Bun ${bunVersion()} from ${pkg} (${((Date.now() - started) / 1000).toFixed(1)} s)`);

  // As `npm test` does: the prebuild whenever the native sources are newer.
  const newest = (dir) => (existsSync(dir) ? Math.max(0, ...readdirSync(dir).map((f) => statSync(join(dir, f)).mtimeMs)) : 0);
  const sources = Math.max(newest(join(root, 'native')), statSync(join(root, 'binding.gyp')).mtimeMs);
  if (!existsSync(join(root, 'build/Release/tcp_keepalive.node')) || newest(join(root, 'prebuilds', `${process.platform}-${process.arch}`)) < sources) {
    if (run('npm', ['run', 'prebuild']) !== 0) process.exit(1);
  }
  if (run('npm', ['run', 'build:ts']) !== 0) process.exit(1);

  const report = join(root, '.cache/vitest-bun.json');
  rmSync(report, { force: true });
  // Tests that start a runtime by process.execPath get Bun; those that start
  // `node` by name still get Node, as an application's child would.
  const env = { ...process.env, PATH: `${dirname(binary)}${delimiter}${process.env.PATH}` };
  const vitest = join(root, 'node_modules/vitest/vitest.mjs');
  const suite = Date.now();
  const status = run(binary, [vitest, 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...process.argv.slice(2)], { env });
  const seconds = ((Date.now() - suite) / 1000).toFixed(1);
  if (!existsSync(report)) {
    console.error(`bun ${BUN_VERSION}: no report (vitest exited ${status}) in ${seconds} s`);
    process.exit(1);
  }
  const r = JSON.parse(readFileSync(report, 'utf8'));
  const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  console.log(`\nbun ${BUN_VERSION}: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped in ${seconds} s`);
  process.exit(status === 0 && r.numFailedTests === 0 && r.numTotalTests > 0 ? 0 : 1);
}
