// The scenario the package exists for: a database connection idles, the
// network under it dies without a FIN or RST, and the driver must hear of it
// within the detection time the user chose, then recover once the network is
// back. Real servers, each in a private network namespace whose loopback is
// taken down (test/fixtures/netns-redis.mjs, netns-pg.mjs, run by
// isolated() in test/netns.ts).
import { beforeAll, describe, expect, it } from 'vitest';
import { detectionTime } from '../src/index.js';
import { isolated, netnsUnavailable } from './netns.js';
import { initPostgres, scratchDir, serverBinary, skipUnless } from './setup/databases.js';

// Where Bun truly differs from Node, a test is skipped there with its reason.
const underBun = process.versions.bun !== undefined;

const settings = { idle: 2, interval: 1, count: 2 };
const expected = detectionTime(settings) * 1000;
// Each driver's own keepalive is on with a 1 s idle time, which alone would
// give 1 + 1 * 10 = 11 s (Node sets 1 s and 10 probes): well outside the
// window asserted below.
const driverDelay = 1000;

type Binary = { path: string } | { reason: string };
const why = (binary: Binary | undefined) => netnsUnavailable || (binary && 'reason' in binary ? binary.reason : undefined);
const pathOf = (binary: Binary | undefined) => (binary as { path: string }).path;

interface Outcome {
  before: { localPort: number; keepalive: object };
  after: { localPort: number; keepalive: object };
  error: { code: string; message: string; afterMs: number } | null;
}

function runFixture(script: string, input: object): Promise<Outcome> {
  return isolated(script, input, { timeoutMs: expected + 30_000 }).result<Outcome>();
}

function expectDetectedAndRecovered(result: Outcome): void {
  expect(result.before.keepalive).toEqual({ enabled: true, ...settings, userTimeout: 0 });
  // The kernel gave up on the connection, and the driver said so.
  expect(result.error?.code).toBe('ETIMEDOUT');
  // Keepalive timers fire on time to within a few jiffies; the margin is for a busy machine.
  expect(result.error!.afterMs).toBeGreaterThanOrEqual(expected - 250);
  expect(result.error!.afterMs).toBeLessThan(expected + 2500);
  // Work after the link came back ran on a new connection, which got the settings too.
  expect(result.after.localPort).not.toBe(result.before.localPort);
  expect(result.after.keepalive).toEqual({ enabled: true, ...settings, userTimeout: 0 });
}

describe.concurrent('a link that goes down under an idle connection', () => {
  let redis: Binary | undefined;
  let postgres: Binary | undefined;
  beforeAll(async () => {
    [redis, postgres] = await Promise.all([serverBinary('redis'), serverBinary('postgres')]);
  }, 600_000);

  it('detection time for these settings', () => {
    expect(expected).toBe(4000);
  });

  // Bun does not resolve the package's own name from its fixture (self-reference through exports).
  it.skipIf(underBun)('ioredis and Redis: ETIMEDOUT within idle + interval * count, then a reconnect', async (ctx) => {
    skipUnless(ctx, why(redis));
    const result = (await runFixture('netns-redis.mjs', { redisServer: pathOf(redis), settings, driverKeepAlive: driverDelay })) as Outcome & {
      value: string;
    };
    console.log(`ioredis, link down after idling: ${JSON.stringify(result)}`);
    expectDetectedAndRecovered(result);
    expect(result.value).toBe('before');
  });

  it.skipIf(underBun)("ioredis and Redis, for comparison: the driver's own keepalive alone takes 1 + 1 * 10 = 11 s", async (ctx) => {
    skipUnless(ctx, why(redis));
    const result = await runFixture('netns-redis.mjs', { redisServer: pathOf(redis), settings: null, driverKeepAlive: driverDelay });
    console.log(`ioredis without the package, link down after idling: ${JSON.stringify(result)}`);
    expect(result.before.keepalive).toEqual({ enabled: true, idle: 1, interval: 1, count: 10, userTimeout: 0 });
    expect(result.error?.code).toBe('ETIMEDOUT');
    expect(result.error!.afterMs).toBeGreaterThanOrEqual(11_000 - 250);
    expect(result.error!.afterMs).toBeLessThan(11_000 + 2500);
  });

  it("pg Pool and PostgreSQL: the idle client's ETIMEDOUT within idle + interval * count, then a new connection", async (ctx) => {
    skipUnless(ctx, why(postgres));
    const binary = pathOf(postgres);
    const db = await initPostgres(binary, scratchDir('netns-pg'));
    if (typeof db === 'string') throw new Error(db);
    const result = (await runFixture('netns-pg.mjs', { binary, data: db.data, ids: db.ids, settings, driverDelay })) as Outcome & {
      after: { serverSaw: number };
    };
    console.log(`pg Pool, link down after idling: ${JSON.stringify(result)}`);
    expectDetectedAndRecovered(result);
    expect(result.after.serverSaw).toBe(result.after.localPort);
  });
});
