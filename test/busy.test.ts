// The outage users fear most: a busy service whose database vanishes while
// queries are in flight. Keepalive does not probe while sent data is
// unacknowledged, so only TCP_USER_TIMEOUT ends such a connection; the
// recipes' settings (keepaliveFor) carry one. A pg Pool queried once a
// second, PostgreSQL in a private network namespace whose loopback goes
// down mid-traffic (test/fixtures/netns-busy.mjs).
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { keepaliveFor, type ConnectionLost } from '../src/index.js';
import { LATE } from './helpers.js';
import { isolated, netnsUnavailable } from './netns.js';
import { initPostgres, scratchDir, serverBinary, skipUnless } from './setup/databases.js';

// Where Bun truly differs from Node, a test is skipped there with its reason.
const underBun = process.versions.bun !== undefined;

interface Outcome {
  keepalive: object;
  before: string[];
  first: { outcome: string; code: string | null; afterMs: number | null; report: ConnectionLost | null } | undefined;
}

type Binary = { path: string } | { reason: string };

describe.concurrent('a busy pg Pool whose server vanishes mid-traffic', () => {
  let postgres: Binary | undefined;
  beforeAll(async () => {
    postgres = await serverBinary('postgres');
  }, 600_000);

  async function run(name: string, settings: object, windowMs: number): Promise<Outcome> {
    const binary = (postgres as { path: string }).path;
    const db = await initPostgres(binary, scratchDir(name));
    if (typeof db === 'string') throw new Error(db);
    return isolated('netns-busy.mjs', { binary, data: db.data, ids: db.ids, settings, windowMs }, { timeoutMs: windowMs + 30_000 }).result<Outcome>();
  }

  const why = () => netnsUnavailable || (postgres && 'reason' in postgres ? postgres.reason : undefined);

  // Bun closes the descriptor before the error reaches JavaScript: no TCP_INFO to tell user-timeout from keepalive.
  it.skipIf(underBun)("with the recipe's settings (keepaliveFor(10)): the query in flight fails within userTimeout + 10 %, reported as user-timeout", async (ctx) => {
    skipUnless(ctx, why());
    const settings = keepaliveFor(10);
    expect(settings).toEqual({ idle: 7, interval: 1, count: 3, userTimeout: 10_000 });
    const result = await run('busy-covered', settings, 20_000);
    console.log(`busy pg Pool, keepaliveFor(10): ${JSON.stringify(result.first)}`);
    expect(result.keepalive).toEqual({ enabled: true, ...settings });
    expect(result.before.every((o) => o === 'ok')).toBe(true);
    expect(result.first?.outcome).toBe('failed');
    expect(result.first!.code).toBe('ETIMEDOUT');
    // From the write of the query that was never acknowledged.
    expect(result.first!.afterMs!).toBeGreaterThanOrEqual(10_000);
    expect(result.first!.afterMs!).toBeLessThan(10_000 * (1 + LATE));
    expect(result.first!.report).toMatchObject({ cause: 'user-timeout', code: 'ETIMEDOUT' });
    expect(result.first!.report!.summary).toContain('a request was in flight');
  }, 90_000);

  it('with idle, interval and count alone (2/1/3, found in 5 s when idle): the query in flight is still pending after 20 s', async (ctx) => {
    skipUnless(ctx, why());
    const result = await run('busy-uncovered', { idle: 2, interval: 1, count: 3 }, 20_000);
    console.log(`busy pg Pool, 2/1/3 without userTimeout: ${JSON.stringify(result.first)}`);
    expect(result.before.every((o) => o === 'ok')).toBe(true);
    expect(result.first?.outcome).toBe('pending');
  }, 90_000);
});

describe('settings that leave a busy connection unprotected are named', () => {
  const dist = path.join(__dirname, '..', 'dist', 'index.js');
  const script = (call: string) => `
    const net = require('node:net');
    const { setKeepalive, setDefaultKeepalive } = require(${JSON.stringify(dist)});
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const socket = net.connect(server.address().port, '127.0.0.1', () => { ${call}; socket.destroy(); server.close(); });
    });`;
  const debugOf = (call: string) =>
    spawnSync(process.execPath, ['-e', script(call)], { encoding: 'utf8', env: { ...process.env, NODE_DEBUG: 'tcp-keepalive' } }).stderr;

  // Bun's util.debuglog does not read NODE_DEBUG.
  it.skipIf(underBun)('NODE_DEBUG=tcp-keepalive says so for setKeepalive and for a process-wide rule without userTimeout', () => {
    expect(debugOf("setKeepalive(socket, { idle: 2, interval: 1, count: 3 })")).toMatch(/keepalive on \(idle=2 interval=1 count=3\): no userTimeout: .*in flight/);
    expect(debugOf("setDefaultKeepalive({ idle: 60, interval: 10, count: 3 })")).toMatch(/idle=60 interval=10 count=3.*no userTimeout/);
  });

  it('and is silent where a userTimeout is set', () => {
    expect(debugOf("setKeepalive(socket, { idle: 2, interval: 1, count: 3, userTimeout: 5000 })")).not.toContain('no userTimeout');
  });
});
