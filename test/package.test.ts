// The packed tarball, installed with --ignore-scripts into an empty project,
// loads from its prebuild and works from CommonJS and ESM.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = path.join(__dirname, '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
let project: string;
let installed: string;

beforeAll(() => {
  // scripts/test.mjs has built dist/ and a fresh prebuild before any test
  // ran; packing without scripts keeps this file from rebuilding them under
  // the feet of the tests running beside it.
  project = mkdtempSync(path.join(os.tmpdir(), 'tcp-keepalive-consumer-'));
  const tarball = execFileSync(npm, ['pack', '--silent', '--ignore-scripts', '--pack-destination', project], { cwd: root, encoding: 'utf8' })
    .trim()
    .split('\n')
    .pop()!;
  writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }));
  execFileSync(npm, ['install', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline', path.join(project, tarball)], {
    cwd: project,
    stdio: 'ignore',
  });
  installed = path.join(project, 'node_modules', 'tcp-keepalive');
}, 300_000);

afterAll(() => {
  if (project) rmSync(project, { recursive: true, force: true });
});

const USE = `
  const server = net.createServer().listen(0, '127.0.0.1', () => {
    const client = net.connect(server.address().port, '127.0.0.1');
    setKeepalive(client, { idle: 44, interval: 4, count: 4, userTimeout: 4000 });
    client.on('connect', () => {
      console.log(JSON.stringify({ read: getKeepalive(client), binary: gypBuild.path(pkgDir) }));
      client.destroy();
      server.close();
    });
  });
`;

function runIn(file: string, source: string): { read: unknown; binary: string } {
  const full = path.join(project, file);
  mkdirSync(path.dirname(full), { recursive: true });
  writeFileSync(full, source);
  const result = spawnSync(process.execPath, [full], { cwd: project, encoding: 'utf8', timeout: 30_000 });
  expect(result.status, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as { read: unknown; binary: string };
}

describe('the published package', () => {
  it('ships dist, the command, native sources, prebuilds and binding.gyp, and no build/', () => {
    const top = readdirSync(installed).sort();
    expect(top).toEqual(['LICENSE', 'README.md', 'bin', 'binding.gyp', 'dist', 'native', 'package.json', 'prebuilds', 'register.js']);
    expect(existsSync(path.join(installed, 'prebuilds', `${process.platform}-${process.arch}`))).toBe(true);
  });

  it.runIf(process.platform === 'linux' && process.arch === 'x64')('ships the Linux prebuilds for x64 and arm64, each an ELF file for its processor', () => {
    expect(readdirSync(path.join(installed, 'prebuilds')).sort()).toEqual(['linux-arm64', 'linux-x64']);
    for (const [dir, machine] of [['linux-x64', 62], ['linux-arm64', 183]] as const) {
      const binary = readFileSync(path.join(installed, 'prebuilds', dir, 'tcp-keepalive.node'));
      expect(binary.subarray(0, 4).toString('latin1')).toBe('\x7fELF');
      expect(binary.readUInt16LE(18), dir).toBe(machine);
    }
  });

  it('works from CommonJS, loading the prebuild', () => {
    const out = runIn(
      'cjs.cjs',
      `const net = require('node:net');
       const { setKeepalive, getKeepalive } = require('tcp-keepalive');
       const gypBuild = require('node-gyp-build');
       const pkgDir = require('node:path').dirname(require.resolve('tcp-keepalive/package.json'));
       ${USE}`,
    );
    expect(out.read).toEqual({ enabled: true, idle: 44, interval: 4, count: 4, userTimeout: 4000 });
    expect(out.binary).toContain(`${path.sep}prebuilds${path.sep}`);
  });

  it('works from ESM, loading the prebuild', () => {
    const out = runIn(
      'esm.mjs',
      `import net from 'node:net';
       import { createRequire } from 'node:module';
       import { setKeepalive, getKeepalive } from 'tcp-keepalive';
       const require = createRequire(import.meta.url);
       const gypBuild = require('node-gyp-build');
       const pkgDir = require('node:path').dirname(require.resolve('tcp-keepalive/package.json'));
       ${USE}`,
    );
    expect(out.read).toEqual({ enabled: true, idle: 44, interval: 4, count: 4, userTimeout: 4000 });
    expect(out.binary).toContain(`${path.sep}prebuilds${path.sep}`);
  });

  it('ESM and CommonJS share one copy of the package', () => {
    const full = path.join(project, 'both.mjs');
    writeFileSync(
      full,
      `import { createRequire } from 'node:module';
       import * as esm from 'tcp-keepalive';
       const cjs = createRequire(import.meta.url)('tcp-keepalive');
       console.log(esm.setKeepalive === cjs.setKeepalive && esm.setDefaultKeepalive === cjs.setDefaultKeepalive);`,
    );
    expect(execFileSync(process.execPath, [full], { cwd: project, encoding: 'utf8' }).trim()).toBe('true');
  });

  it('passes @arethetypeswrong/cli and publint', () => {
    const attw = spawnSync(path.join(root, 'node_modules/.bin/attw'), ['--pack', root, '--format', 'ascii'], { encoding: 'utf8' });
    expect(attw.status, attw.stdout + attw.stderr).toBe(0);
    const publint = spawnSync(path.join(root, 'node_modules/.bin/publint'), ['--strict', root], { encoding: 'utf8' });
    expect(publint.status, publint.stdout + publint.stderr).toBe(0);
  }, 120_000);
});
