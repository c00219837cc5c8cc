// The scenario the package exists for: a database connection idles, the
// network under it dies without a FIN or RST, and the driver must hear of it
// within the detection time the user chose, then recover once the network is
// back. ioredis and a real Redis, in a private network namespace whose
// loopback is taken down (test/fixtures/netns-redis.mjs).
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { detectionTime } from '../src/index.js';
import { fixtures } from './helpers.js';
import { inCI, needs, serverBinary } from './setup/databases.js';
import { netnsUnavailable, nodeInNetns } from './setup/ns-exec.js';

const settings = { idle: 2, interval: 1, count: 2 };
// The driver's own keepAlive of 1 s would, on its own, give 1 + 1 * 10 = 11 s
// (Node sets 1 s and 10 probes): well outside the window asserted below.
const driverKeepAlive = 1000;

const redis = await serverBinary('redis');
const netns = netnsUnavailable();
const { skip, note } = netns ? { skip: !inCI, note: ` (unavailable: ${netns})` } : needs(redis);

describe.skipIf(skip)(`ioredis across a link that goes down${note}`, () => {
  it('reports the dead connection within idle + interval * count, and reconnects once the link is back', async () => {
    if (netns) throw new Error(netns);
    if (!('path' in redis)) throw new Error(redis.reason);
    const expected = detectionTime(settings) * 1000;
    expect(expected).toBe(4000);
    const run = await nodeInNetns(
      path.join(fixtures, 'netns-redis.mjs'),
      [redis.path, JSON.stringify(settings), String(driverKeepAlive)],
      expected + 20_000,
    );
    expect(run.status, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout.trim().split('\n').pop()!) as {
      before: { localPort: number; keepalive: object };
      after: { localPort: number; keepalive: object };
      error: { code: string; message: string; afterMs: number } | null;
      closedAfterMs: number;
      value: string;
    };
    console.log(`ioredis, link down after idling: ${JSON.stringify(result)}`);

    expect(result.before.keepalive).toEqual({ enabled: true, ...settings, userTimeout: 0 });
    // The kernel gave up on the connection, and the driver said so.
    expect(result.error?.code).toBe('ETIMEDOUT');
    // Keepalive timers fire on time to within a few jiffies; the margin is for a busy machine.
    expect(result.error!.afterMs).toBeGreaterThanOrEqual(expected - 250);
    expect(result.error!.afterMs).toBeLessThan(expected + 2500);
    // A command after the link came back ran on a new connection, which got the settings too.
    expect(result.value).toBe('before');
    expect(result.after.localPort).not.toBe(result.before.localPort);
    expect(result.after.keepalive).toEqual({ enabled: true, ...settings, userTimeout: 0 });
  });
});
