// The warning for a userTimeout that cuts keepalive probing short: when it
// comes, what it says (from the values the kernel holds), and that it comes
// once per distinct setting.
import { once } from 'node:events';
import net from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { setDefaultKeepalive, setKeepalive } from '../src/index.js';
import { listen, procDefaults, tcpPair, type Pair } from './helpers.js';

interface Warning extends Error {
  code?: string;
}

let seen: Warning[] = [];
const onWarning = (w: Warning) => {
  if (w.name === 'TcpKeepaliveWarning') seen.push(w);
};
beforeAll(() => {
  process.on('warning', onWarning);
});
afterAll(() => {
  process.off('warning', onWarning);
});

let pair: Pair | undefined;
afterEach(async () => {
  await pair?.close();
  pair = undefined;
  seen = [];
});

/** Warnings are emitted on a later tick. */
const settle = () => new Promise((r) => setImmediate(r));

// Each test uses its own values: a setting warned about once stays quiet
// for the rest of the process.
describe('a userTimeout shorter than idle + interval * count', () => {
  it('setDefaultKeepalive is judged when it is called, missing fields as new sockets get them', async () => {
    try {
      setDefaultKeepalive({ idle: 3, interval: 2, userTimeout: 6000 }, { filter: () => false });
      await settle();
      expect(seen.map((w) => w.code)).toEqual(['TCP_KEEPALIVE_COUNT_CUT_SHORT']);
      expect(seen[0]!.message).toContain('userTimeout (6000 ms)');
    } finally {
      setDefaultKeepalive(false);
    }
  });

  it('warns with TCP_KEEPALIVE_COUNT_CUT_SHORT, naming the probes really sent and the real detection time', async () => {
    pair = await tcpPair();
    setKeepalive(pair.client, { idle: 2, interval: 1, count: 10, userTimeout: 4500 });
    await settle();
    expect(seen).toHaveLength(1);
    expect(seen[0]!.code).toBe('TCP_KEEPALIVE_COUNT_CUT_SHORT');
    expect(seen[0]!.message).toContain('userTimeout (4500 ms)');
    expect(seen[0]!.message).toContain('only 3 of 10 keepalive probes');
    expect(seen[0]!.message).toContain('after 5 s, not 12 s');
  });

  it('judges the values the kernel holds, not only those in the call', async () => {
    pair = await tcpPair();
    setKeepalive(pair.client, { idle: 20, interval: 2, count: 9 });
    await settle();
    expect(seen).toHaveLength(0);
    setKeepalive(pair.client, { userTimeout: 25_000 });
    await settle();
    expect(seen).toHaveLength(1);
    // 20 + 2 * 9 = 38 s in full; the user timeout ends it at the probe at 26 s.
    expect(seen[0]!.message).toContain('only 3 of 9 keepalive probes');
    expect(seen[0]!.message).toContain('after 26 s, not 38 s');
  });

  it('warns once per distinct setting, however many sockets carry it', async () => {
    pair = await tcpPair();
    const settings = { idle: 4, interval: 2, count: 6, userTimeout: 7000 };
    setKeepalive(pair.client, settings);
    setKeepalive(pair.client, settings);
    setKeepalive(pair.accepted, settings);
    await settle();
    expect(seen.map((w) => w.code)).toEqual(['TCP_KEEPALIVE_COUNT_CUT_SHORT']);
    setKeepalive(pair.client, { ...settings, count: 7 });
    await settle();
    expect(seen).toHaveLength(2);
  });

  it('warns when a later call shortens what an earlier userTimeout allows', async () => {
    pair = await tcpPair();
    // 2 + 1 * 3 = 5 s, within the 6 s user timeout: fine.
    setKeepalive(pair.client, { idle: 2, interval: 1, count: 3, userTimeout: 6000 });
    await settle();
    expect(seen).toHaveLength(0);
    setKeepalive(pair.client, { count: 8 });
    await settle();
    expect(seen).toHaveLength(1);
    expect(seen[0]!.message).toContain('only 4 of 8 keepalive probes');
    // With the user timeout back at 0, count governs again.
    setKeepalive(pair.client, { userTimeout: 0 });
    setKeepalive(pair.client, { count: 9 });
    await settle();
    expect(seen).toHaveLength(1);
  });
});

describe('a userTimeout shorter than idle', () => {
  it('warns with TCP_KEEPALIVE_SINGLE_PROBE', async () => {
    pair = await tcpPair();
    setKeepalive(pair.client, 10, 5, 4, 3000);
    await settle();
    expect(seen).toHaveLength(1);
    expect(seen[0]!.code).toBe('TCP_KEEPALIVE_SINGLE_PROBE');
    expect(seen[0]!.message).toContain('shorter than idle (10 s)');
    expect(seen[0]!.message).toContain('only one keepalive probe');
    expect(seen[0]!.message).toContain('after 15 s');
  });
});

describe('settings that do what they say are not warned about', () => {
  it.each([
    ['userTimeout covering every probe', { idle: 2, interval: 1, count: 3, userTimeout: 5000 }],
    ['userTimeout 0', { idle: 2, interval: 1, count: 3, userTimeout: 0 }],
    ['no userTimeout', { idle: 2, interval: 1, count: 3 }],
    ['userTimeout ending at the last probe anyway', { idle: 2, interval: 1, count: 10, userTimeout: 11_500 }],
    ['one probe asked for, userTimeout shorter than idle', { idle: 5, interval: 1, count: 1, userTimeout: 1000 }],
  ])('%s', async (_name, settings) => {
    pair = await tcpPair();
    setKeepalive(pair.client, settings);
    await settle();
    expect(seen).toHaveLength(0);
  });

  it('nor when keepalive is being turned off', async () => {
    pair = await tcpPair();
    setKeepalive(pair.client, { enabled: false, idle: 2, interval: 1, count: 10, userTimeout: 3100 });
    await settle();
    expect(seen).toHaveLength(0);
  });
});

describe('targets that cannot be read yet', () => {
  it('a socket still connecting is judged once it connects, on everything queued for it', async () => {
    const server = net.createServer();
    const port = await listen(server);
    const client = net.connect(port, '127.0.0.1');
    try {
      // Two calls before 'connect': the second alone, on the system
      // defaults, would be a single probe after 7200 s.
      setKeepalive(client, { idle: 3, interval: 2, count: 5 });
      setKeepalive(client, { userTimeout: 6000 });
      expect(client.connecting).toBe(true);
      await once(client, 'connect');
      await settle();
      expect(seen).toHaveLength(1);
      expect(seen[0]!.message).toContain('only 2 of 5 keepalive probes');
    } finally {
      client.destroy();
      server.close();
    }
  });

  it('a server is judged once it listens', async () => {
    const server = net.createServer();
    try {
      // count is left to the kernel, so only the listening socket can say
      // what it will be.
      setKeepalive(server, { idle: 6, interval: 3, userTimeout: 8000 });
      await settle();
      expect(seen).toHaveLength(0);
      await listen(server);
      await settle();
      expect(seen).toHaveLength(1);
      expect(seen[0]!.message).toContain(`only 1 of ${procDefaults().count} keepalive probes`);
    } finally {
      server.close();
    }
  });

  it('a server given all four values is judged at once', async () => {
    const server = net.createServer();
    try {
      setKeepalive(server, { idle: 6, interval: 3, count: 4, userTimeout: 8000 });
      await settle();
      expect(seen).toHaveLength(1);
      expect(seen[0]!.message).toContain('only 1 of 4 keepalive probes');
    } finally {
      server.close();
    }
  });
});

describe('values that look like the wrong unit', () => {
  it('idle or interval in whole thousands (milliseconds meant): TCP_KEEPALIVE_UNITS, once per distinct values, and the values still apply', async () => {
    pair = await tcpPair();
    setKeepalive(pair.client, { idle: 5000, interval: 10, count: 3, userTimeout: 5_030_000 });
    setKeepalive(pair.client, { idle: 5000, interval: 10, count: 3, userTimeout: 5_030_000 });
    await settle();
    expect(seen.map((w) => w.code)).toEqual(['TCP_KEEPALIVE_UNITS']);
    expect(seen[0]!.message).toBe('idle is 5000 s (1 h 23 min): idle is in seconds, not milliseconds. For 5 s, give idle: 5.');
    setKeepalive(pair.client, { idle: 60, interval: 2000 });
    await settle();
    expect(seen.map((w) => w.code)).toEqual(['TCP_KEEPALIVE_UNITS', 'TCP_KEEPALIVE_UNITS']);
    expect(seen[1]!.message).toContain('interval is 2000 s');
  });

  it('a userTimeout under a second next to an idle time (seconds meant)', async () => {
    pair = await tcpPair();
    setKeepalive(pair.client, { idle: 30, interval: 5, count: 3, userTimeout: 45 });
    await settle();
    expect(seen.map((w) => w.code)).toContain('TCP_KEEPALIVE_UNITS');
    expect(seen.find((w) => w.code === 'TCP_KEEPALIVE_UNITS')!.message).toContain('userTimeout is 45 ms next to idle 30 s');
  });

  it('also for a process-wide rule, when it is added', async () => {
    try {
      setDefaultKeepalive({ idle: 7000, interval: 7, count: 3, userTimeout: 7_021_000 }, { ports: 1 });
      await settle();
      expect(seen.map((w) => w.code)).toEqual(['TCP_KEEPALIVE_UNITS']);
    } finally {
      setDefaultKeepalive(false);
    }
  });

  it('round values that are seconds are not warned about', async () => {
    pair = await tcpPair();
    setKeepalive(pair.client, { idle: 900, interval: 60, count: 3, userTimeout: 1_080_000 });
    setKeepalive(pair.client, { idle: 1001, interval: 1, count: 1, userTimeout: 1_002_000 });
    await settle();
    expect(seen).toEqual([]);
  });
});
