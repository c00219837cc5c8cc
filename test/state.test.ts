// getKeepaliveState: TCP_INFO, checked against what `ss` reads from the
// kernel through its own door (netlink), on healthy connections and on one
// whose peer has vanished.
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { getKeepaliveState, setKeepalive } from '../src/index.js';
import { listen, tcpPair, tlsPair, type Pair } from './helpers.js';
import { isolated, netnsTitle, skipNetns, type Event } from './netns.js';

let pair: Pair<net.Socket> | undefined;
afterEach(async () => {
  await pair?.close();
  pair = undefined;
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `ss -tnie` for the one socket whose local port is `port`. */
function ss(port: number): string {
  const r = spawnSync('ss', ['-tnieoH', `sport = :${port}`], { encoding: 'utf8' });
  if (r.error || r.status !== 0) throw new Error(`ss failed: ${r.stderr ?? r.error}`);
  return r.stdout;
}

function ssField(text: string, name: string): number {
  const m = new RegExp(`\\b${name}:(\\d+)`).exec(text);
  if (!m) throw new Error(`no ${name} in ss output: ${text}`);
  return Number(m[1]);
}

async function exchange(p: Pair<net.Socket>): Promise<void> {
  p.accepted.write('hello');
  await once(p.client, 'data');
}

const hasSs = !spawnSync('ss', ['-V']).error;
// qemu-user (scripts/arm64.mjs) answers TCP_INFO with its first 4 bytes, so
// the times and counters these tests compare are null there, as they should
// be; test/platform-emulated.test.ts checks exactly that.
const shortTcpInfo = Boolean(process.env.TKA_EMULATED_NODE);

describe('getKeepaliveState on a healthy connection', () => {
  it.skipIf(!hasSs || shortTcpInfo)('reports ESTABLISHED, no unanswered probes, and the receive times ss sees', async () => {
    pair = await tcpPair();
    await exchange(pair);
    await sleep(300);
    const before = performance.now();
    const state = getKeepaliveState(pair.client);
    const seen = ss(pair.client.localPort!);
    const took = performance.now() - before;
    expect(state.state).toBe('ESTABLISHED');
    expect(seen.startsWith('ESTAB')).toBe(true);
    expect(state.unansweredProbes).toBe(0);
    expect(state.unacked).toBe(0);
    // ss reads a moment later; the kernel counts in 4 ms ticks here (HZ 250).
    for (const [ours, theirs] of [
      [state.lastDataReceivedMs, ssField(seen, 'lastrcv')],
      [state.lastAckReceivedMs, ssField(seen, 'lastack')],
      [state.lastDataSentMs, ssField(seen, 'lastsnd')],
    ] as const) {
      expect(theirs).toBeGreaterThanOrEqual(ours! - 10);
      expect(theirs).toBeLessThanOrEqual(ours! + took + 10);
    }
    expect(state.lastDataReceivedMs).toBeGreaterThanOrEqual(290);
    expect(state.rtoMs).toBe(ssField(seen, 'rto'));
  });

  it.skipIf(shortTcpInfo)('stays at 0 unanswered probes while a live peer answers them', async () => {
    pair = await tcpPair();
    await exchange(pair);
    setKeepalive(pair.client, { idle: 1, interval: 1, count: 2 });
    // Three probe times pass; the peer acknowledges each probe.
    await sleep(2600);
    const state = getKeepaliveState(pair.client);
    expect(pair.client.destroyed).toBe(false);
    expect(state.state).toBe('ESTABLISHED');
    expect(state.unansweredProbes).toBe(0);
    // No data for 2.6 s, but ACKs to the probes arrived within the last second.
    expect(state.lastDataReceivedMs).toBeGreaterThan(2400);
    expect(state.lastAckReceivedMs).toBeLessThan(1100);
  });

  it('reads the TCP socket under TLS, on both sides', async () => {
    const p = await tlsPair();
    pair = p;
    p.accepted.write('hi');
    await once(p.client, 'data');
    for (const socket of [p.client, p.accepted]) {
      const state = getKeepaliveState(socket);
      expect(state.state).toBe('ESTABLISHED');
      expect(state.unansweredProbes).toBe(0);
    }
  });

  it.skipIf(!hasSs)('follows the connection into CLOSE_WAIT when the peer ends it', async () => {
    const server = net.createServer();
    const port = await listen(server);
    const accepted = once(server, 'connection');
    const client = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    await once(client, 'connect');
    const [peer] = (await accepted) as [net.Socket];
    peer.end();
    await once(client, 'end');
    try {
      expect(getKeepaliveState(client).state).toBe('CLOSE_WAIT');
      expect(ss(client.localPort!).startsWith('CLOSE-WAIT')).toBe(true);
    } finally {
      client.destroy();
      peer.destroy();
      server.close();
    }
  });
});

describe('getKeepaliveState refuses what it cannot read, with a code', () => {
  it('a destroyed socket: ERR_SOCKET_CLOSED', async () => {
    pair = await tcpPair();
    pair.client.destroy();
    expect(() => getKeepaliveState(pair!.client)).toThrow(expect.objectContaining({ code: 'ERR_SOCKET_CLOSED' }));
  });

  it('a socket still connecting: ERR_SOCKET_NOT_CONNECTED', async () => {
    const server = net.createServer();
    const port = await listen(server);
    const client = net.connect(port, '127.0.0.1');
    try {
      expect(() => getKeepaliveState(client)).toThrow(expect.objectContaining({ code: 'ERR_SOCKET_NOT_CONNECTED' }));
      await once(client, 'connect');
      expect(getKeepaliveState(client).state).toBe('ESTABLISHED');
    } finally {
      client.destroy();
      server.close();
    }
  });

  it('a server or anything else: ERR_INVALID_ARG_TYPE', async () => {
    pair = await tcpPair();
    for (const target of [pair.server, {}, null, undefined, 42]) {
      expect(() => getKeepaliveState(target as net.Socket)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE', name: 'TypeError' }));
    }
  });

  it('a Unix domain socket: ERR_SOCKET_NOT_TCP', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tka-state-'));
    const server = net.createServer();
    server.listen(path.join(dir, 's'));
    await once(server, 'listening');
    const client = net.connect(path.join(dir, 's'));
    await once(client, 'connect');
    try {
      expect(() => getKeepaliveState(client)).toThrow(expect.objectContaining({ code: 'ERR_SOCKET_NOT_TCP' }));
    } finally {
      client.destroy();
      server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

interface ProbeSample {
  t: number;
  state: string;
  unansweredProbes: number;
  ss: number | null;
}

describe.skipIf(skipNetns)(netnsTitle('getKeepaliveState while a dead peer is probed'), () => {
  it('counts unanswered probes up, 0 to count, as ss sees them, until ETIMEDOUT', async () => {
    const { error, samples } = await isolated('probes.mjs').result<Event & { error: string; samples: ProbeSample[] }>();
    expect(error).toBe('ETIMEDOUT');
    const counts = samples.filter((s) => s.state === 'ESTABLISHED').map((s) => s.unansweredProbes);
    expect(counts[0]).toBe(0);
    for (let i = 1; i < counts.length; i++) expect(counts[i]).toBeGreaterThanOrEqual(counts[i - 1]!);
    // count is 4: each of 0..4 lasts a second and is seen.
    expect([...new Set(counts)]).toEqual([0, 1, 2, 3, 4]);
    for (const [i, s] of samples.entries()) {
      // The last sample may be taken after the kernel gave up, before Node
      // has heard: the socket is then CLOSE, and gone from ss.
      if (i === samples.length - 1 && s.state === 'CLOSE') {
        expect(s.ss).toBeNull();
        continue;
      }
      expect(s.state, JSON.stringify(s)).toBe('ESTABLISHED');
      // ss reads just after: the same count, or one more if a probe left in
      // between; or, on the last sample, nothing if the reset did.
      const agrees = s.ss === s.unansweredProbes || s.ss === s.unansweredProbes + 1 || (s.ss === null && i === samples.length - 1);
      expect(agrees, JSON.stringify(s)).toBe(true);
    }
  });
});
