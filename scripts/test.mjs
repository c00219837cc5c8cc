// `npm test`: builds what the tests need, runs the suite with vitest, and
// ends with one plain line of counts. Arguments pass through to vitest
// (e.g. `npm test -- test/roundtrip.test.ts`).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { installNode } from './node-versions.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

function run(cmd, args, options = {}) {
  const result = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...options });
  if (result.error) throw result.error;
  return result.status ?? 1;
}

// The prebuild (what the package ships) is made whenever the native sources
// are newer than it; making it also leaves the local build in build/.
function newest(dir) {
  if (!existsSync(dir)) return 0;
  return Math.max(0, ...readdirSync(dir).map((f) => statSync(join(dir, f)).mtimeMs));
}
const prebuilds = join(root, 'prebuilds', `${process.platform}-${process.arch}`);
const sources = Math.max(newest(join(root, 'native')), statSync(join(root, 'binding.gyp')).mtimeMs);
if (!existsSync(join(root, 'build/Release/tcp_keepalive.node')) || newest(prebuilds) < sources || process.env.TCP_KEEPALIVE_REBUILD) {
  if (run(npm, ['run', 'prebuild']) !== 0) process.exit(1);
}
if (run(npm, ['run', 'build:ts']) !== 0) process.exit(1);
// The tests are TypeScript too: type errors fail the run like failing tests.
if (run(npm, ['run', 'typecheck']) !== 0) process.exit(1);

const cache = join(root, '.cache');
mkdirSync(cache, { recursive: true });
const report = join(cache, 'vitest-report.json');
rmSync(report, { force: true });

// A Node whose setKeepAlive passes interval and count down (24.21+), for the
// tests of the Windows path; on Linux only a newer Node can show it working.
if (process.platform === 'linux' && process.arch === 'x64' && !process.env.TKA_NODE_KEEPALIVE_EX) {
  try {
    process.env.TKA_NODE_KEEPALIVE_EX = installNode('26');
  } catch (error) {
    console.error(`${error.message}: the Windows-path tests on a newer Node will be skipped`);
  }
}

const vitest = join(root, 'node_modules/vitest/vitest.mjs');
const status = run(process.execPath, [vitest, 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...process.argv.slice(2)]);

if (existsSync(report)) {
  const r = JSON.parse(readFileSync(report, 'utf8'));
  const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  console.log(`\nnode ${process.version}: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`);
  if (r.numTotalTests === 0) {
    console.error('no test ran');
    process.exit(1);
  }
}
process.exit(status);
