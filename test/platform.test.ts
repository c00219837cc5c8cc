// Per-platform rules, checked on Linux with the platform injected: the
// ranges validation uses, what each system hands on to accepted sockets,
// what capabilities() reports, and that the rules reach the kernel.
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { capabilities, getKeepalive, setKeepalive } from '../src/index.js';
import { Capability } from '../src/native.js';
import { describePlatform, nodeSetsIntervalAndCount, overridePlatform, platform, type Environment } from '../src/platform.js';
import { kernel, tcpPair, type Pair } from './helpers.js';

// Where Bun truly differs from Node, a test is skipped there with its reason.
const underBun = process.versions.bun !== undefined;

// What the macOS and FreeBSD builds report (check:platforms verifies it).
const BSD = Capability.Idle | Capability.Interval | Capability.Count;
const env = (over: Partial<Environment> = {}): Environment => ({ capabilities: BSD, nodeSetsIntervalAndCount: false, node: 'v22.0.0', ...over });

let restore: (() => void) | undefined;
let pair: Pair | undefined;
afterEach(async () => {
  restore?.();
  restore = undefined;
  await pair?.close();
  pair = undefined;
});

describe('describePlatform', () => {
  it("gives Linux the kernel's own limits and every field from the listener", () => {
    const linux = describePlatform('linux', env({ capabilities: BSD | Capability.UserTimeout }));
    expect(linux.descriptors).toBe(true);
    expect(linux.ranges).toEqual({
      idle: { min: 1, max: 32767 },
      interval: { min: 1, max: 32767 },
      count: { min: 1, max: 127 },
      userTimeout: { min: 0, max: 2147483647 },
    });
    expect(linux.inherited).toEqual({ enabled: true, idle: true, interval: true, count: true, userTimeout: true });
    expect(Object.values(linux.read)).toEqual(['kernel', 'kernel', 'kernel', 'kernel', 'kernel']);
  });

  it('gives macOS its millisecond-clock ranges, no user timeout, and idle set per accepted socket', () => {
    const mac = describePlatform('darwin', env());
    expect(mac.ranges).toEqual({ idle: { min: 1, max: 4294967 }, interval: { min: 1, max: 4294967 }, count: { min: 1, max: 2147483647 } });
    expect(mac.reasons.userTimeout).toMatch(/^macOS has no TCP_USER_TIMEOUT/);
    expect(mac.read.userTimeout).toBe('absent');
    expect(mac.inherited).toEqual({ enabled: true, idle: false, interval: true, count: true, userTimeout: false });
  });

  it('gives FreeBSD the same ranges and every option it has from the listener', () => {
    const bsd = describePlatform('freebsd', env());
    expect(bsd.ranges.idle).toEqual({ min: 1, max: 4294967 });
    expect(bsd.ranges.userTimeout).toBeUndefined();
    expect(bsd.reasons.userTimeout).toBe('FreeBSD has no TCP_USER_TIMEOUT');
    expect(bsd.inherited).toEqual({ enabled: true, idle: true, interval: true, count: true, userTimeout: false });
  });

  it('gives Windows idle only on a Node that cannot pass interval and count, and says why', () => {
    const win = describePlatform('win32', env({ capabilities: 0, node: 'v22.23.3' }));
    expect(win.descriptors).toBe(false);
    expect(Object.keys(win.ranges)).toEqual(['idle']);
    expect(win.reasons.interval).toContain('Node v22.23.3 can set only the idle time on Windows');
    expect(win.reasons.userTimeout).toBe('Windows has no TCP_USER_TIMEOUT');
    expect(win.read).toEqual({ enabled: 'recorded', idle: 'recorded', interval: 'recorded', count: 'recorded', userTimeout: 'absent' });
    expect(Object.values(win.inherited).some(Boolean)).toBe(false);
  });

  it('gives Windows interval and count (at most 255 probes) where Node passes them', () => {
    const win = describePlatform('win32', env({ capabilities: 0, nodeSetsIntervalAndCount: true }));
    expect(win.ranges.interval).toEqual({ min: 1, max: 4294967 });
    expect(win.ranges.count).toEqual({ min: 1, max: 255 });
    expect(win.reasons.interval).toBeUndefined();
  });

  it('takes away what the compiled shim lacks, and does not claim it is inherited', () => {
    const old = describePlatform('darwin', env({ capabilities: Capability.Idle }));
    expect(Object.keys(old.ranges)).toEqual(['idle']);
    expect(old.reasons.interval).toBe('this build for macOS has no TCP_KEEPINTVL');
    expect(old.read.count).toBe('absent');
    expect(old.inherited.interval).toBe(false);
  });
});

// Bun: its handles are not Node's TCP handles (their setKeepAlive answers true and takes milliseconds).
describe.skipIf(underBun)('nodeSetsIntervalAndCount', () => {
  const four = function (_a: never, _b: never, _c: never, _d: never) {};
  const two = function (_a: never, _b: never) {};
  const v = (uv: string) => ({ ...process.versions, uv });

  it('needs both libuv 1.52 and a four-argument setKeepAlive', () => {
    expect(nodeSetsIntervalAndCount(v('1.52.1'), four)).toBe(true);
    expect(nodeSetsIntervalAndCount(v('1.60.0'), four)).toBe(true);
    expect(nodeSetsIntervalAndCount(v('2.0.0'), four)).toBe(true);
    expect(nodeSetsIntervalAndCount(v('1.51.0'), four)).toBe(false);
    expect(nodeSetsIntervalAndCount(v('1.52.1'), two)).toBe(false);
  });

  it("agrees with what this Node's TCP handle does with interval and count", async () => {
    pair = await tcpPair();
    const handle = (pair.client as unknown as { _handle: { setKeepAlive(...a: unknown[]): number } })._handle;
    expect(handle.setKeepAlive(true, 60, 7, 4)).toBe(0);
    const k = kernel(pair.client);
    expect(k.idle).toBe(60);
    expect(k.interval === 7 && k.count === 4).toBe(nodeSetsIntervalAndCount());
  });
});

describe('validation takes its ranges from the platform', () => {
  it("refuses beyond Linux's limits on Linux, before any system call", async () => {
    pair = await tcpPair();
    expect(() => setKeepalive(pair!.client, { idle: 32768 })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => setKeepalive(pair!.client, { count: 128 })).toThrow(/between 1 and 127/);
    expect(kernel(pair.client).enabled).toBe(false);
  });

  it("lets macOS's wider ranges through to the kernel, which here is Linux and says EINVAL", async () => {
    pair = await tcpPair();
    restore = overridePlatform({ ranges: describePlatform('darwin', env()).ranges });
    let error: unknown;
    try {
      setKeepalive(pair.client, { idle: 40000 });
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: 'EINVAL', syscall: 'setsockopt', option: 'TCP_KEEPIDLE' });
    expect(() => setKeepalive(pair!.client, { idle: 4294968 })).toThrow(/between 1 and 4294967 \(seconds\)/);
  });

  it('refuses userTimeout where the system has none, names why, and changes nothing', async () => {
    pair = await tcpPair();
    const mac = describePlatform('darwin', env());
    restore = overridePlatform({ ranges: mac.ranges, reasons: mac.reasons, os: 'darwin' });
    const before = kernel(pair.client);
    let error: Error & { code?: string; field?: string } = new Error('none');
    try {
      setKeepalive(pair.client, { idle: 30, userTimeout: 10_000 });
    } catch (e) {
      error = e as typeof error;
    }
    expect(error).toBeInstanceOf(TypeError);
    expect(error.code).toBe('ERR_KEEPALIVE_UNSUPPORTED');
    expect(error.field).toBe('userTimeout');
    expect(error.message).toBe('Cannot set userTimeout: macOS has no TCP_USER_TIMEOUT (TCP_RXT_CONNDROPTIME counts seconds and covers retransmissions only); received 10000 of type number');
    expect(kernel(pair.client)).toEqual(before);
  });
});

describe('capabilities()', () => {
  it('describes this Linux build: every field, from the kernel, inherited by accepted sockets', () => {
    const c = capabilities();
    expect(c.platform).toBe('linux');
    expect(c.node).toBe(process.version);
    expect(c.descriptors).toBe(true);
    expect(c.enabled).toEqual({ set: true, read: 'kernel', inherited: true });
    expect(c.idle).toEqual({ set: true, range: { min: 1, max: 32767 }, read: 'kernel', reason: null, inherited: true });
    expect(c.count.range).toEqual({ min: 1, max: 127 });
    expect(c.userTimeout).toEqual({ set: true, range: { min: 0, max: 2147483647 }, read: 'kernel', reason: null, inherited: true });
  });

  it('hands out a copy: changing it changes nothing', () => {
    const c = capabilities();
    (c.idle.range as { max: number }).max = 5;
    expect(capabilities().idle.range!.max).toBe(32767);
    expect(platform().ranges.idle!.max).toBe(32767);
  });

  it('follows the platform: Windows on an older Node', () => {
    restore = overridePlatform(describePlatform('win32', env({ capabilities: 0, node: 'v20.1.0' })));
    const c = capabilities();
    expect(c.platform).toBe('win32');
    expect(c.descriptors).toBe(false);
    expect(c.idle).toMatchObject({ set: true, read: 'recorded', inherited: false });
    expect(c.interval).toEqual({ set: false, range: null, read: 'recorded', reason: expect.stringContaining('Node v20.1.0'), inherited: false });
    expect(c.userTimeout).toMatchObject({ set: false, read: 'absent', reason: 'Windows has no TCP_USER_TIMEOUT' });
  });
});

describe("getKeepalive's options", () => {
  it('returns the same kernel values in the partial form on Linux', async () => {
    pair = await tcpPair();
    setKeepalive(pair.client, { idle: 62, interval: 9, count: 5, userTimeout: 20_000 });
    const full = getKeepalive(pair.client);
    expect(getKeepalive(pair.client, { partial: true })).toEqual(full);
    expect(full).toEqual(kernel(pair.client));
    expect(getKeepalive(pair.client, { partial: false })).toEqual(full);
  });

  it('refuses options that are not { partial: boolean }', async () => {
    pair = await tcpPair();
    const s: net.Socket = pair.client;
    expect(() => getKeepalive(s, 'partial' as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(() => getKeepalive(s, { partial: 1 } as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(() => getKeepalive(s, { partal: true } as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
  });
});
