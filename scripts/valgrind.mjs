// `npm run test:valgrind`: valgrind --leak-check=full over a loop of
// set/get calls through the public API and the native layer, success and
// error paths alike. Passes when no block that is lost (definitely,
// indirectly or possibly) was allocated under the package's addon.
//
// Node itself keeps memory until exit that valgrind counts as lost, so the
// verdict looks only at loss records whose allocation stack passes through
// the addon (the file node-gyp-build loads: the build or the prebuild). A control run does the same for sockopt, whose
// getsockopt mallocs and never frees: if that leak is not found, the check
// is blind and the run fails.
//
// VALGRIND_CALLS (default 5000) sets the loop length.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

if (process.argv[2] === '--loop') {
  await loop(process.argv[3], Number(process.argv[4]));
  process.exit(0);
}

async function loop(subject, calls) {
  const { tcpPair } = await import('../bench/common.mjs');
  const require = createRequire(join(root, 'package.json'));
  const pair = await tcpPair();
  const client = pair.client;
  const fd = client._handle.fd;

  if (subject === 'sockopt') {
    const sockopt = require('sockopt');
    for (let i = 0; i < calls; i++) sockopt.getsockopt(client, 6, 4);
  } else {
    const { setKeepalive, getKeepalive } = require('tcp-keepalive');
    const binding = require('./dist/native.js').native();
    const out = new Int32Array(5);
    const info = new Float64Array(binding.infoFields);
    const attempt = (fn) => {
      try {
        fn();
      } catch (error) {
        if (typeof error.code !== 'string') throw error;
      }
    };
    for (let i = 0; i < calls; i++) {
      setKeepalive(client, { idle: 60 + (i & 1), interval: 10, count: 3, userTimeout: 30_000 });
      setKeepalive(client, 61, 11, 4);
      getKeepalive(client);
      binding.get(fd, out);
      binding.tcpInfo(fd, info);
      binding.kind(fd);
      // Error paths build messages and error objects in native code.
      attempt(() => binding.set(-1, 1, 60, 10, 3, -1));
      attempt(() => binding.set(fd, 1, 0, 10, 3, -1));
      attempt(() => binding.get(0, out));
      attempt(() => binding.pidfdGetfd(2147483647, 0));
      attempt(() => binding.get(fd, new Float64Array(5)));
      attempt(() => binding.set(fd, 'x', 1, 1, 1, 1));
      attempt(() => setKeepalive(client, { idle: 0 }));
      // Valgrind 3.19 answers pidfd_open with ENOSYS; newer ones run it.
      if ((i & 1023) === 0) attempt(() => binding.close(binding.pidfdGetfd(process.pid, fd)));
    }
    setKeepalive(client, false);
  }
  pair.close();
}

function valgrindInstalled() {
  return spawnSync('valgrind', ['--version']).status === 0;
}

if (!valgrindInstalled()) {
  console.log('installing valgrind from Debian');
  const apt = (args) => spawnSync('apt-get', args, { stdio: 'inherit' }).status;
  if (apt(['update', '-qq']) !== 0 || apt(['install', '-y', '-qq', 'valgrind']) !== 0 || !valgrindInstalled()) {
    console.error('could not install valgrind');
    process.exit(1);
  }
}
const ngb = createRequire(join(root, 'package.json'))('node-gyp-build');
let addon;
try {
  addon = ngb.resolve(root);
} catch {
  if (spawnSync('npm', ['run', 'build:native'], { cwd: root, stdio: 'inherit' }).status !== 0) process.exit(1);
  addon = ngb.resolve(root);
}
if (spawnSync('npm', ['run', 'build:ts'], { cwd: root, stdio: 'inherit' }).status !== 0) process.exit(1);
// Loss records name the file a frame's code came from.
const addonFile = basename(addon);

const logs = join(root, '.cache/valgrind');
rmSync(logs, { recursive: true, force: true });
mkdirSync(logs, { recursive: true });

/** Loss records (definitely, indirectly, possibly lost) whose stack passes through `library`. */
function run(subject, calls, library) {
  const log = join(logs, `${subject}.log`);
  const started = Date.now();
  const result = spawnSync('valgrind', [
    '--leak-check=full', '--show-leak-kinds=definite,indirect,possible', '--num-callers=40',
    `--log-file=${log}`, process.execPath, fileURLToPath(import.meta.url), '--loop', subject, String(calls),
  ], { cwd: root, stdio: 'inherit' });
  const seconds = ((Date.now() - started) / 1000).toFixed(0);
  if (result.status !== 0) throw new Error(`valgrind run for ${subject} exited ${result.status}; see ${log}`);
  const text = readFileSync(log, 'utf8');
  const records = text.split(/\n(?===\d+== \n)/).filter((block) => /are (definitely|indirectly|possibly) lost in loss record/.test(block));
  const ours = records.filter((block) => block.includes(library));
  const bytes = ours.reduce((sum, block) => sum + Number(/([\d,]+) (?:\([\d,]+ direct, [\d,]+ indirect\) )?bytes in/.exec(block)?.[1].replace(/,/g, '') ?? 0), 0);
  const summary = /LEAK SUMMARY:[\s\S]*?(?===\d+== \n|$)/.exec(text)?.[0] ?? '';
  return { log, records: records.length, ours, bytes, summary, seconds };
}

const CALLS = Number(process.env.VALGRIND_CALLS ?? 5_000);
const control = run('sockopt', 2_000, 'node_modules/sockopt/');
console.log(`control (sockopt, 2,000 getsockopt calls, ${control.seconds} s): ${control.ours.length} loss records, ${control.bytes} bytes lost under node_modules/sockopt`);
if (control.ours.length === 0) {
  console.error(`the control leak was not found: the check cannot see leaks (log: ${control.log})`);
  process.exit(1);
}

const ours = run('tcp-keepalive', CALLS, addonFile);
console.log(`tcp-keepalive (${CALLS} iterations of 13 calls, ${ours.seconds} s): ${ours.ours.length} loss records, ${ours.bytes} bytes lost under ${addonFile}; ` +
  `${ours.records} loss records in the whole process (Node's own)`);
for (const block of ours.ours) console.error(block);
console.log(ours.summary.replace(/==\d+== /g, '  '));
console.log(`valgrind: ${ours.ours.length === 0 ? 1 : 0} passed, ${ours.ours.length === 0 ? 0 : 1} failed`);
process.exit(ours.ours.length === 0 ? 0 : 1);
