// Why a connection died, each cause produced for real in a private network
// namespace (isolated() in test/netns.ts) by test/fixtures/lost.cjs: a silent peer
// (loopback taken down) for keepalive, the user timeout and the system's
// retransmission limit; a reset peer; a peer that closed before a write.
// The fixture runs the built package (dist/), which `npm test` builds first.
import { beforeAll, describe, expect, it } from 'vitest';
import { CONNECTION_LOST_CHANNEL, type ConnectionLost } from '../src/index.js';
import type { KernelView } from './helpers.js';
import { isolated, netnsTitle, skipNetns as skip } from './netns.js';

// Where Bun truly differs from Node, a test is skipped there with its reason.
const underBun = process.versions.bun !== undefined;

interface SocketOutcome {
  code: string;
  syscall: string;
  atMs: number;
  keepalive?: ConnectionLost;
  enumerable: boolean;
}

interface Outcome {
  scenario: string;
  before: Record<string, KernelView>;
  errors: Record<string, SocketOutcome>;
  published: { name: string; errorCode: string; report: ConnectionLost }[];
  ownDestroy?: Record<string, boolean>;
  probesBeforeWrite?: number;
  wroteAtMs?: number;
  patientAlive?: boolean;
}

const scenarios: Record<string, Record<string, number>> = {
  keepalive: {},
  'user-timeout': {},
  // Set in the namespace only: about 4 s instead of about 15 minutes.
  retransmissions: { 'net.ipv4.tcp_retries2': 2 },
  mixed: {},
  'not-reading': {},
  reset: {},
  epipe: {},
};

const outcomes: Record<string, Outcome> = {};

beforeAll(async () => {
  if (skip) return;
  // All five at once, each in its own namespace: about as long as the slowest.
  await Promise.all(
    Object.entries(scenarios).map(async ([name, sysctls]) => {
      const run = isolated('lost.cjs', { scenario: name }, { sysctls, timeoutMs: 40_000 });
      outcomes[name] = await run.result<Outcome>().catch((error: Error) => {
        throw new Error(`scenario ${name}: ${error.message}`);
      });
    }),
  );
}, 60_000);

function lost(scenario: string, socket: string): ConnectionLost {
  const e = outcomes[scenario]!.errors[socket];
  expect(e, `${socket} saw no error`).toBeDefined();
  expect(e!.keepalive, `${socket} has no error.keepalive`).toBeDefined();
  // Not enumerable: JSON.stringify(error) and deep-equality checks of the
  // error are what they would be without the package.
  expect(e!.enumerable).toBe(false);
  return e!.keepalive!;
}

/** Each report was published once on the channel, the same as on the error. */
function expectPublished(scenario: string, sockets: string[]): void {
  const o = outcomes[scenario]!;
  expect(o.published.map((p) => p.name).sort()).toEqual([...sockets].sort());
  for (const p of o.published) expect(p.report).toEqual(o.errors[p.name]!.keepalive);
}

// Bun closes the descriptor before the error reaches JavaScript, so no TCP_INFO is left to classify by.
describe.skipIf(skip || underBun)(netnsTitle('causes of death, each in its own network namespace'), () => {
  it('the channel is named after the package', () => {
    expect(CONNECTION_LOST_CHANNEL).toBe('tcp-keepalive:connection-lost');
  });

  it('keepalive: unanswered probes, on clients and accepted sockets, plain and TLS, explicit and process-wide', () => {
    const o = outcomes.keepalive!;
    const expected: Record<string, { count: number; from: string }> = {
      'default.client': { count: 2, from: 'default.client' },
      'default.accepted': { count: 2, from: 'default.accepted' },
      'tls.client': { count: 3, from: 'tls.client' },
      'tls.accepted': { count: 2, from: 'tls.accepted' },
    };
    for (const [name, { count, from }] of Object.entries(expected)) {
      const r = lost('keepalive', name);
      expect(o.errors[name]!.code).toBe('ETIMEDOUT');
      expect(r.cause, name).toBe('keepalive');
      expect(r.probes, name).toBe(count);
      expect(r.retransmits, name).toBe(0);
      expect(r.state).toBe('CLOSE');
      // The settings in force, as Python's getsockopt saw them before the death.
      expect(r.settings, name).toEqual(o.before[from]);
      // Idle at least idle + interval * count, the kernel's own deadline.
      expect(r.idleMs!, name).toBeGreaterThanOrEqual((1 + count) * 1000 - 50);
      expect(r.summary).toContain(`${count} keepalive probes unanswered`);
    }
    // A client names its peer from its connect call; an accepted socket's
    // peer is named only where Node had already asked for it, since asking
    // on every accepted connection would cost a system call each.
    const client = lost('keepalive', 'default.client');
    const accepted = lost('keepalive', 'default.accepted');
    expect(client.remotePort).toBe(accepted.localPort);
    expect(client.remoteAddress).toBe('127.0.0.1');
    expect(client.localPort).toBeGreaterThan(0);
    expect(accepted.remotePort).toBeUndefined();
    expectPublished('keepalive', Object.keys(expected));
  });

  it('user-timeout: data in flight, retransmitted and never acknowledged', () => {
    const o = outcomes['user-timeout']!;
    const r = lost('user-timeout', 'writer.client');
    expect(o.errors['writer.client']!.code).toBe('ETIMEDOUT');
    expect(r.cause).toBe('user-timeout');
    expect(r.settings).toEqual(o.before['writer.client']);
    expect(r.settings!.userTimeout).toBe(1500);
    expect(r.probes).toBe(0);
    expect(r.retransmits!).toBeGreaterThan(0);
    expect(r.lastAckReceivedMs!).toBeGreaterThanOrEqual(1500);
    // Data went out after the peer last acknowledged anything: it was in flight.
    expect(r.lastDataSentMs!).toBeLessThan(r.lastAckReceivedMs!);
    expect(r.summary).toContain('TCP_USER_TIMEOUT (1500 ms)');
    expectPublished('user-timeout', ['writer.client']);
  });

  it('a probe went out, then a write, then the user timeout: data in flight decides, and the summary says so', () => {
    const o = outcomes.mixed!;
    const e = o.errors['mixed.client']!;
    const r = lost('mixed', 'mixed.client');
    expect(o.probesBeforeWrite).toBeGreaterThanOrEqual(1);
    expect(e.code).toBe('ETIMEDOUT');
    expect(r.cause).toBe('user-timeout');
    expect(r.probes!).toBeGreaterThanOrEqual(1);
    expect(r.retransmits!).toBeGreaterThan(0);
    // Ended by the user timeout counted from the write, not by the probes
    // (count 5 at interval 3 would take 16 s).
    expect(e.atMs - o.wroteAtMs!).toBeGreaterThanOrEqual(2500);
    expect(e.atMs - o.wroteAtMs!).toBeLessThan(2500 * 1.3);
    // Nothing was heard from the peer since before the probe.
    expect(r.silentMs!).toBeGreaterThanOrEqual(2500);
    expect(r.summary).toMatch(/^the peer stopped acknowledging data sent to it \(a request was in flight\), nothing heard from it for \d+\.\d s: \d+ retransmissions?, ended by TCP_USER_TIMEOUT \(2500 ms\)$/);
    expect(r.summary).not.toContain('keepalive probe');
    expectPublished('mixed', ['mixed.client']);
  });

  it('peer-not-reading: a live peer that stops reading is ended by the user timeout too, and the report says it was alive', () => {
    const o = outcomes['not-reading']!;
    const e = o.errors['stalled.client']!;
    const r = lost('not-reading', 'stalled.client');
    expect(e.code).toBe('ETIMEDOUT');
    expect(r.cause).toBe('peer-not-reading');
    expect(r.settings).toEqual(o.before['stalled.client']);
    // Every zero-window probe was answered, nothing was left unacknowledged.
    expect(r.probes).toBe(0);
    expect(r.retransmits).toBe(0);
    expect(r.unacked).toBe(0);
    expect(r.lastAckReceivedMs!).toBeLessThan(2000);
    // The user timeout, counted from the closed window (the write filled it at once).
    expect(e.atMs - o.wroteAtMs!).toBeGreaterThanOrEqual(2000);
    expect(e.atMs - o.wroteAtMs!).toBeLessThan(2000 * 2);
    expect(r.summary).toContain('stopped reading');
    expect(r.summary).toContain('TCP_USER_TIMEOUT (2000 ms)');
    // The same stall without a user timeout is left alone.
    expect(o.patientAlive).toBe(true);
    expect(o.errors['patient.client']).toBeUndefined();
    expectPublished('not-reading', ['stalled.client']);
  });

  it("retransmissions: data in flight until the system's limit, no user timeout", () => {
    const o = outcomes.retransmissions!;
    const r = lost('retransmissions', 'writer.client');
    expect(r.cause).toBe('retransmissions');
    expect(r.settings).toEqual(o.before['writer.client']);
    expect(r.settings!.userTimeout).toBe(0);
    expect(r.probes).toBe(0);
    expect(r.retransmits!).toBeGreaterThan(0);
    expect(r.lastDataSentMs!).toBeLessThan(r.lastAckReceivedMs!);
    expect(r.summary).toContain('net.ipv4.tcp_retries2');
  });

  it('reset: the peer reset the connection; sockets the package does not manage are untouched', () => {
    const o = outcomes.reset!;
    const r = lost('reset', 'managed.client');
    expect(o.errors['managed.client']!.code).toBe('ECONNRESET');
    expect(r.cause).toBe('reset');
    expect(r.settings).toEqual(o.before['managed.client']);
    expect(r.idleMs!).toBeGreaterThanOrEqual(350);
    expect(r.probes).toBe(0);
    expect(r.retransmits).toBe(0);
    for (const name of ['unmanaged.client', 'released.client']) {
      expect(o.errors[name]!.code).toBe('ECONNRESET');
      expect(o.errors[name]!.keepalive).toBeUndefined();
    }
    // No socket carries a property of the package's: the hook is on the prototype.
    expect(o.ownDestroy).toEqual({ managed: false, unmanaged: false, released: false });
    // An accepted socket of a server set with setKeepalive (the kernel copied
    // the listener's values into it) is managed too.
    const accepted = lost('reset', 'server.accepted');
    expect(accepted).toMatchObject({ cause: 'reset', code: 'ECONNRESET' });
    expect(accepted.settings).toEqual(o.before['server.accepted']);
    expect(accepted.settings).toMatchObject({ enabled: true, idle: 50, interval: 6, count: 5 });
    expectPublished('reset', ['managed.client', 'server.accepted']);
  });

  it('EPIPE: writing after the peer closed and reset', () => {
    const o = outcomes.epipe!;
    const r = lost('epipe', 'halfopen.client');
    expect(o.errors['halfopen.client']!).toMatchObject({ code: 'EPIPE', syscall: 'write' });
    expect(r).toMatchObject({ cause: 'reset', code: 'EPIPE', state: 'CLOSE' });
    expect(r.settings!.idle).toBe(45);
    expectPublished('epipe', ['halfopen.client']);
  });
});
