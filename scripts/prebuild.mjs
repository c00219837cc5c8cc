// `npm run prebuild`: the binaries the package ships, each checked before
// it goes in. On linux-x64 that is linux-x64 and, cross-built with Debian's
// g++-aarch64-linux-gnu, linux-arm64 (the Graviton and Ampere servers). The
// local build in build/ is this machine's own afterwards, as before.
//
// Each Linux binary must need no newer glibc than GLIBC_FLOOR, so it loads
// on every distribution still supported (Debian 10, RHEL 8, Amazon Linux 2
// has 2.26 but runs no Node 20). The arm64 one runs under qemu in CI
// (scripts/arm64.mjs); elsewhere (macOS, Windows, musl) prebuildify builds
// this machine's binary only.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { root, run } from './registry-tools.mjs';

export const GLIBC_FLOOR = '2.28';
// libstdc++ of GCC 8 (RHEL 8): node-addon-api's exceptions need a little of it.
export const GLIBCXX_FLOOR = '3.4.25';

const ELF_MACHINE = { x64: 'Advanced Micro Devices X86-64', arm64: 'AArch64' };
const CROSS = { arm64: 'aarch64-linux-gnu' };

function prebuildify(arch, env = {}) {
  const args = ['prebuildify', '--napi', '--strip', ...(arch ? [`--arch=${arch}`] : [])];
  const r = spawnSync('npx', args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

function newer(a, b) {
  const [x, y] = [a.split('.').map(Number), b.split('.').map(Number)];
  for (let i = 0; i < Math.max(x.length, y.length); i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) > (y[i] ?? 0);
  return false;
}

/** The newest GLIBC_ and GLIBCXX_ versions a binary needs; an error above either floor. */
export function checkLinuxBinary(file, arch) {
  const header = run('readelf', ['-h', file]);
  if (!header.includes(ELF_MACHINE[arch])) throw new Error(`${file} is not an ${arch} ELF file:\n${header}`);
  const symbols = run('readelf', ['--dyn-syms', '-W', file]);
  const found = {};
  for (const [name, floor] of [['GLIBC', GLIBC_FLOOR], ['GLIBCXX', GLIBCXX_FLOOR]]) {
    const versions = [...symbols.matchAll(new RegExp(`@${name}_([0-9.]+)`, 'g'))].map((m) => m[1]);
    const newest = versions.reduce((a, b) => (newer(b, a) ? b : a), '0');
    if (newer(newest, floor)) throw new Error(`${file} needs ${name}_${newest}, newer than the floor ${floor}`);
    found[name] = newest;
  }
  return `GLIBC_${found.GLIBC} (floor ${GLIBC_FLOOR}), GLIBCXX_${found.GLIBCXX} (floor ${GLIBCXX_FLOOR})`;
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop())) {
  const binaries = [];
  if (process.platform === 'linux' && process.arch === 'x64') {
    const prefix = CROSS.arm64;
    if (spawnSync(`${prefix}-g++`, ['--version']).error) {
      console.error(`${prefix}-g++ is missing: apt-get install g++-aarch64-linux-gnu (the package ships linux-arm64 too)`);
      process.exit(1);
    }
    prebuildify('arm64', { CC: `${prefix}-gcc`, CXX: `${prefix}-g++`, LINK: `${prefix}-g++`, AR: `${prefix}-ar`, PREBUILD_STRIP_BIN: `${prefix}-strip` });
    binaries.push(['arm64', join(root, 'prebuilds', 'linux-arm64', 'tcp-keepalive.node')]);
  }
  // This machine's own last, so build/ holds a binary this Node can load.
  prebuildify();
  if (process.platform === 'linux') binaries.push([process.arch, join(root, 'prebuilds', `linux-${process.arch}`, 'tcp-keepalive.node')]);
  for (const [arch, file] of binaries) {
    if (!existsSync(file)) throw new Error(`prebuildify made no ${file}`);
    console.log(`linux-${arch}: ${file.slice(root.length + 1)} needs at most ${checkLinuxBinary(file, arch)}`);
  }
}
