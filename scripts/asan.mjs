// `npm run test:asan`: the native shim built with AddressSanitizer and
// UndefinedBehaviorSanitizer (Debian's gcc runtime), then the whole test
// suite against that build, with the fuzz test at FUZZ_CALLS=100000 (or
// what FUZZ_CALLS says). Passes only if every test passes and the
// sanitizers wrote no report at all.
//
// The build happens in a copy under .cache/asan so the normal build in
// build/ is left alone. Node itself is not instrumented, and the ASan runtime
// must be the first library a process loads: a copy of the node binary with
// the runtimes added at the head of its needed libraries (patchelf) runs the
// suite, and is first on PATH for tests that start `node`. LD_PRELOAD would
// reach every program the tests start (PostgreSQL's initdb hangs under it).
// Leak checking is valgrind's job (npm run test:valgrind), since Node frees
// little at exit and LeakSanitizer would report all of it.
// Arguments pass through to vitest.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const work = join(root, '.cache/asan');
const copy = join(work, 'pkg');
const logs = join(work, 'logs');
const SANITIZE = '-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -g -O1';

function run(cmd, args, options = {}) {
  const result = spawnSync(cmd, args, { stdio: 'inherit', ...options });
  if (result.error) throw result.error;
  return result.status ?? 1;
}

function runtime(name) {
  const found = execFileSync('gcc', [`-print-file-name=${name}`], { encoding: 'utf8' }).trim();
  return found.startsWith('/') && existsSync(found) ? found : null;
}

function hasPatchelf() {
  return spawnSync('patchelf', ['--version']).status === 0;
}

// Debian ships the runtimes with gcc (libasan8, libubsan1); install them, and
// patchelf, if this machine lacks them.
if (!runtime('libasan.so') || !runtime('libubsan.so') || !hasPatchelf()) {
  console.log('installing the sanitizer runtimes and patchelf from Debian');
  if (run('apt-get', ['update', '-qq']) !== 0 || run('apt-get', ['install', '-y', '-qq', 'libasan8', 'libubsan1', 'libgcc-12-dev', 'patchelf']) !== 0) {
    console.error('could not install libasan8, libubsan1 and patchelf');
    process.exit(1);
  }
}
/** The runtime's soname (libasan.so.8), as a DT_NEEDED entry names it. */
function soname(name) {
  const out = execFileSync('readelf', ['-d', runtime(name)], { encoding: 'utf8' });
  return /\(SONAME\)\s+Library soname: \[([^\]]+)\]/.exec(out)[1];
}

rmSync(work, { recursive: true, force: true });
mkdirSync(logs, { recursive: true });
// Everything but what is built or installed, which the copy makes or links.
const skip = new Set(['.git', '.cache', 'node_modules', 'build', 'prebuilds', 'dist']);
for (const entry of readdirSync(root)) {
  if (!skip.has(entry)) cpSync(join(root, entry), join(copy, entry), { recursive: true });
}
symlinkSync(join(root, 'node_modules'), join(copy, 'node_modules'));

// As a prebuild, which is what the suite loads (the package test installs
// the packed package and loads it from there), but not stripped, so reports
// name functions.
const buildEnv = { ...process.env, CFLAGS: SANITIZE, CXXFLAGS: SANITIZE, LDFLAGS: '-fsanitize=address,undefined' };
if (run('npx', ['prebuildify', '--napi'], { cwd: copy, env: buildEnv }) !== 0) process.exit(1);
// The package ships the linux-arm64 prebuild next to this one (made by
// `npm run prebuild`, which `npm test` runs first); the package test checks
// the tarball holds both, so the copy packs it too, uninstrumented.
const arm64 = join(root, 'prebuilds', 'linux-arm64');
if (existsSync(arm64)) cpSync(arm64, join(copy, 'prebuilds', 'linux-arm64'), { recursive: true });
const addon = createRequire(join(copy, 'package.json'))('node-gyp-build').resolve(copy);
const symbols = execFileSync('nm', ['-D', addon], { encoding: 'utf8' });
if (!/__asan_report_(load|store)/.test(symbols) || !/__ubsan_handle_/.test(symbols)) {
  console.error(`${addon} is not instrumented`);
  process.exit(1);
}

const bin = join(work, 'bin');
const node = join(bin, 'node');
mkdirSync(bin, { recursive: true });
copyFileSync(process.execPath, node);
execFileSync('patchelf', ['--add-needed', soname('libasan.so'), '--add-needed', soname('libubsan.so'), node]);
const needed = execFileSync('readelf', ['-d', node], { encoding: 'utf8' }).match(/\(NEEDED\)[^\n]*\[([^\]]+)\]/g) ?? [];
if (!/libasan/.test(needed[0] ?? '')) {
  console.error(`patchelf did not put the ASan runtime first in ${node}: ${needed.join(', ')}`);
  process.exit(1);
}
const loaded = execFileSync(node, ['-p', 'process.report.getReport().sharedObjects.filter((f) => /lib(a|ub)san/.test(f)).length'], { encoding: 'utf8' });
if (Number(loaded) !== 2) {
  console.error(`${node} does not load both sanitizer runtimes`);
  process.exit(1);
}

const env = {
  ...process.env,
  PATH: `${bin}:${process.env.PATH}`,
  // Node installs its own SIGSEGV handler (WebAssembly bounds checks).
  ASAN_OPTIONS: `detect_leaks=0:halt_on_error=1:allow_user_segv_handler=1:log_path=${join(logs, 'asan')}`,
  UBSAN_OPTIONS: `halt_on_error=1:print_stacktrace=1:log_path=${join(logs, 'ubsan')}`,
  FUZZ_CALLS: process.env.FUZZ_CALLS ?? '100000',
  // The sanitizers slow every process several times over; the detection-time
  // tests keep their early bound and allow 25 % late instead of 10 % here
  // (the 10 % is held by npm test and the Node matrix).
  TEST_DETECTION_LATE: process.env.TEST_DETECTION_LATE ?? '0.25',
};

// Controls: a heap overflow and a signed overflow compiled with the same
// flags must each leave a report in the same way the real run's would, or a
// clean run proves nothing.
const control = join(work, 'control');
writeFileSync(`${control}.c`, `#include <limits.h>
#include <stdlib.h>
int main(int argc, char **argv) {
  (void)argv;
  if (argc == 2) { char *p = malloc(4); p[argc + 2] = 1; int r = p[0]; free(p); return r; }
  int x = INT_MAX - 1; x += argc + 1; return x;
}
`);
const controls = [
  ['asan', '-fsanitize=address', ['heap'], /heap-buffer-overflow/],
  ['ubsan', '-fsanitize=undefined', [], /signed integer overflow/],
];
for (const [kind, flag, args, expected] of controls) {
  const prefix = join(work, `control-${kind}`);
  execFileSync('gcc', [flag, '-fno-sanitize-recover=all', '-O1', `${control}.c`, '-o', prefix]);
  spawnSync(prefix, args, { env: { ...env, ASAN_OPTIONS: `log_path=${prefix}`, UBSAN_OPTIONS: `log_path=${prefix}` } });
  const found = readdirSync(work).filter((f) => f.startsWith(`control-${kind}.`)).map((f) => readFileSync(join(work, f), 'utf8'));
  if (!found.some((text) => expected.test(text))) {
    console.error(`the ${kind} control produced no report: the sanitizer runtime is not working`);
    process.exit(1);
  }
}

// build:ts loads the addon to list its exports, so it needs the runtime too.
if (run('npm', ['run', 'build:ts'], { cwd: copy, env }) !== 0) process.exit(1);
const report = join(work, 'vitest-report.json');
const started = Date.now();
const status = run(node, [join(copy, 'node_modules/vitest/vitest.mjs'), 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...process.argv.slice(2)], { cwd: copy, env });
const seconds = ((Date.now() - started) / 1000).toFixed(1);

const reports = readdirSync(logs);
for (const file of reports) {
  console.error(`\n--- sanitizer report ${file} ---\n${readFileSync(join(logs, file), 'utf8')}`);
}
if (!existsSync(report)) {
  console.error(`vitest wrote no report (exit ${status})`);
  process.exit(1);
}
const r = JSON.parse(readFileSync(report, 'utf8'));
const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
console.log(`\nsanitizer reports: ${reports.length}; fuzz calls: ${env.FUZZ_CALLS} native + ${Math.ceil(Number(env.FUZZ_CALLS) / 4)} public; ${seconds} s`);
console.log(`asan: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`);
process.exit(status === 0 && reports.length === 0 && r.numFailedTests === 0 && r.numTotalTests > 0 ? 0 : 1);
