// Nothing the application can see that it did not ask for. The same
// application runs without the package and with it (the preload with every
// variable set, plus an explicit setKeepalive), and everything application
// code can observe of its sockets, servers and errors is the same: own
// properties, enumerable keys, listener counts, and what JSON.stringify
// makes of a lost connection's error. Node's own test-http-connect.js
// assertions run inside (no 'close', 'data' or 'end' listener on the socket
// a CONNECT hands over). What stays visible, by design, is listed in
// docs/api.md: symbol-keyed properties and the wrapped prototype methods.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixtures } from './helpers.js';

// Where Bun truly differs from Node, a test is skipped there with its reason.
const underBun = process.versions.bun !== undefined;

const root = path.join(__dirname, '..');

function run(mode: 'plain' | 'package'): { seen: Record<string, unknown>; kernel: Record<string, { enabled: boolean; idle: number; userTimeout: number }> } {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(env)) if (name.startsWith('TCP_KEEPALIVE_') || name === 'NODE_OPTIONS') delete env[name];
  if (mode === 'package') {
    Object.assign(env, {
      NODE_OPTIONS: `--require ${path.join(root, 'register.js')}`,
      TCP_KEEPALIVE_IDLE: '60',
      TCP_KEEPALIVE_INTERVAL: '10',
      TCP_KEEPALIVE_COUNT: '3',
      TCP_KEEPALIVE_USER_TIMEOUT: '90000',
    });
  }
  const r = spawnSync(process.execPath, [path.join(fixtures, 'observable.cjs'), mode], { cwd: root, env, encoding: 'utf8', timeout: 30_000 });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

describe('what application code can observe', () => {
  // Bun: its http.Server's sockets have no descriptor to read (bun.test.ts reads its listener instead).
  it.skipIf(underBun)('is the same with the package on (the preload and an explicit setKeepalive) as without it', () => {
    const plain = run('plain');
    const withPackage = run('package');
    // Not vacuous: the package was at work on every one of these sockets.
    const on = { enabled: true, idle: 60, interval: 10, count: 3, userTimeout: 90_000 };
    for (const name of ['connect.accepted', 'plain', 'reconnected', 'tls']) expect(withPackage.kernel[name], name).toEqual(on);
    // Node's global http.Agent asks for a 1 s idle itself: shorter, so kept.
    expect(withPackage.kernel['connect.client']).toEqual({ ...on, idle: 1 });
    expect(withPackage.kernel.explicit).toMatchObject({ enabled: true, idle: 20, userTimeout: 35_000 });
    expect(withPackage.seen).toEqual(plain.seen);
  });

  it.skipIf(underBun)("a lost connection's report is on the error but not enumerable: JSON and deep equality see what they saw before", () => {
    const withPackage = run('package');
    expect((withPackage.seen.resetError as { keys: string[] }).keys).not.toContain('keepalive');
    expect((withPackage.seen.resetError as { json: string[] }).json).not.toContain('keepalive');
  });
});
