// A peer that vanishes without a FIN or RST, against the real kernel, in
// network namespaces the tests own. One table gives the settings and the
// detection time the issue asks for; detectionTime must predict it and the
// kernel must deliver it: ETIMEDOUT no sooner than 0.3 s before and no later
// than 10% after, timed from the last packet the prober received.
import { describe, expect, it } from 'vitest';
import { detectionTime, type DetectionSettings } from '../src/index.js';
import { LATE } from './helpers.js';
import { isolated, netnsTitle, skipNetns, vethPair, type Event } from './netns.js';

interface Row {
  name: string;
  /** client: the prober is the connecting side (lo goes down); server: the accepting side (veth, client vanishes). */
  side: 'client' | 'server';
  settings: Required<Pick<DetectionSettings, 'idle' | 'interval' | 'count'>> & { userTimeout?: number };
  /** Seconds from the last packet received to ETIMEDOUT. */
  expected: number;
}

const table: Row[] = [
  { name: 'client, idle 2 s, interval 1 s, 3 probes', side: 'client', settings: { idle: 2, interval: 1, count: 3 }, expected: 5 },
  { name: 'server side of a vanished client, idle 1 s, interval 2 s, 2 probes', side: 'server', settings: { idle: 1, interval: 2, count: 2 }, expected: 5 },
  {
    name: 'userTimeout 4500 ms cuts 10 probes to 3 (5 s, not 12 s)',
    side: 'client',
    settings: { idle: 2, interval: 1, count: 10, userTimeout: 4500 },
    expected: 5,
  },
  {
    name: 'userTimeout shorter than idle: one probe (4 s, not 12 s)',
    side: 'client',
    settings: { idle: 2, interval: 2, count: 5, userTimeout: 1000 },
    expected: 4,
  },
];
// Idle and interval stay at 2 s or less on purpose: the kernel's timer wheel
// files a timer of 504 ticks or more (2.016 s at HZ 250) at a coarser level
// and fires it up to 64 ticks (256 ms) late, which alone would eat most of a
// 10% window on a 4 s detection time.

/** The window the issue sets: not before expected - 0.3 s, not after expected + 10% (LATE). */
function expectOnTime(actual: unknown, expected: number): void {
  const low = expected - 0.3;
  const high = expected * (1 + LATE);
  const ok = typeof actual === 'number' && actual >= low && actual <= high;
  expect(ok, `failed after ${String(actual)} s; expected ${expected} s (window ${low} to ${high.toFixed(2)} s)`).toBe(true);
}

/** Probes the kernel sends before it gives up: one per interval after idle. */
const probesSent = (row: Row) => (row.expected - row.settings.idle) / row.settings.interval;

interface Connection {
  kernel: { enabled: boolean; idle: number; interval: number; count: number; userTimeout: number };
  error: string | null;
  failedAfterS: number | null;
  failedAfterRetransmitS: number | null;
  openAfterS: number | null;
  destroyed: boolean;
  maxUnansweredProbes: number;
  first: { rtoMs: number; unacked: number };
  last: { state: string; unansweredProbes: number; unacked: number; retransmits: number };
}

interface DeadPeerResult extends Event {
  defaults: { idle: number; interval: number; count: number };
  connections: Record<string, Connection>;
}

describe('detectionTime agrees with the table', () => {
  it.each(table)('$name: $expected s', (row) => {
    expect(detectionTime(row.settings)).toBe(row.expected);
  });
});

describe.skipIf(skipNetns).concurrent(netnsTitle('a vanished peer is found on time (kernel, private namespaces)'), () => {
  for (const [i, row] of table.entries()) {
    if (row.side === 'client') {
      // The first client row also carries a control connection on the
      // system defaults, in the same namespace and the same silence.
      const control = i === 0;
      it(`${row.name}${control ? ', while a connection on the system defaults stays open' : ''}`, async () => {
        const connections = [{ name: 'probed', settings: row.settings }];
        if (control) connections.push({ name: 'control', settings: {} as Row['settings'] });
        const result = await isolated('dead-peer.mjs', { connections, untilS: row.expected * 1.1 + 0.1 }).result<DeadPeerResult>();
        const probed = result.connections.probed!;
        expect(probed.kernel).toEqual({ enabled: true, userTimeout: 0, ...row.settings });
        expect(probed.error).toBe('ETIMEDOUT');
        expectOnTime(probed.failedAfterS, row.expected);
        expect(probed.maxUnansweredProbes).toBe(probesSent(row));
        if (control) {
          const c = result.connections.control!;
          expect(c.kernel).toEqual({ enabled: true, userTimeout: 0, ...result.defaults });
          expect(c.error).toBeNull();
          expect(c.destroyed).toBe(false);
          expect(c.openAfterS).toBeGreaterThanOrEqual(row.expected * 1.1);
          expect(c.last.state).toBe('ESTABLISHED');
          expect(c.maxUnansweredProbes).toBe(0);
        }
      });
    } else {
      it(row.name, async () => {
        const net = vethPair();
        try {
          const server = net.a.run('veth-server.mjs', { host: net.a.addr, settings: row.settings, untilS: row.expected * 1.1 + 0.5 });
          const { port } = await server.next('listening');
          const client = net.b.run('veth-client.mjs', { host: net.a.addr, port, dev: net.b.dev });
          await client.next('vanished');
          const result = await server.result<Connection & Event>();
          // Set on the listening socket, copied by the kernel into the accepted one.
          expect(result.kernel).toEqual({ enabled: true, userTimeout: 0, ...row.settings });
          expect(result.error).toBe('ETIMEDOUT');
          expectOnTime(result.failedAfterS, row.expected);
          expect(result.maxUnansweredProbes).toBe(probesSent(row));
        } finally {
          net.cleanup();
        }
      });
    }
  }

  it('userTimeout ends a connection whose data is never acknowledged; keepalive alone does not', async () => {
    // The keepalive timer stands aside while sent data is unacknowledged;
    // then only TCP_USER_TIMEOUT (or about 15 minutes of retransmissions)
    // ends the connection. Linux counts the user timeout from the first
    // retransmission timeout, which comes one RTO (>= 200 ms) after the
    // write, or two when a tail loss probe goes first.
    const userTimeout = 2000;
    const connections = [
      { name: 'userTimeout', inflight: true, settings: { idle: 30, interval: 1, count: 3, userTimeout } },
      { name: 'same, no userTimeout', inflight: true, settings: { idle: 30, interval: 1, count: 3 } },
      { name: 'short keepalive, no userTimeout', inflight: true, settings: { idle: 1, interval: 1, count: 1 } },
    ];
    const untilS = 3;
    const result = await isolated('dead-peer.mjs', { vanish: 'unroute', connections, untilS }).result<DeadPeerResult>();
    const cut = result.connections.userTimeout!;
    expect(cut.first.unacked).toBeGreaterThan(0);
    expect(cut.error).toBe('ETIMEDOUT');
    expectOnTime(cut.failedAfterRetransmitS, userTimeout / 1000);
    const fromWrite = cut.failedAfterS!;
    expect(fromWrite).toBeGreaterThanOrEqual(userTimeout / 1000);
    expect(fromWrite).toBeLessThanOrEqual(((userTimeout + 2 * cut.first.rtoMs) / 1000) * 1.1);
    expect(cut.maxUnansweredProbes).toBe(0);

    for (const name of ['same, no userTimeout', 'short keepalive, no userTimeout']) {
      const lingering = result.connections[name]!;
      expect(lingering.error, name).toBeNull();
      expect(lingering.destroyed, name).toBe(false);
      // Still open after the userTimeout connection failed, and after the
      // 2 s in which {1, 1, 1} finds an idle dead peer.
      expect(lingering.openAfterS, name).toBeGreaterThan(cut.failedAfterS!);
      expect(lingering.openAfterS, name).toBeGreaterThan(detectionTime({ idle: 1, interval: 1, count: 1 }));
      expect(lingering.last.state, name).toBe('ESTABLISHED');
      expect(lingering.last.unacked, name).toBeGreaterThan(0);
      expect(lingering.last.retransmits, name).toBeGreaterThan(0);
      // With data in flight not one keepalive probe went out.
      expect(lingering.maxUnansweredProbes, name).toBe(0);
    }
  });
});
