// On the system itself: what runs on the macOS, FreeBSD and Windows CI
// runners (.github/workflows/prebuild.yml), where the rest of the suite's
// Linux witnesses (/proc, ss, namespaces) do not exist. macOS and FreeBSD
// are checked against Python's getsockopt with each system's own option
// numbers; Windows has no descriptor to hand anyone, so there the checks
// are what the package reports and refuses.
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { capabilities, getKeepalive, setKeepalive } from '../src/index.js';
import { native } from '../src/native.js';

const binding = native();

const os = process.platform;
// Option numbers from each system's <netinet/tcp.h>: idle, interval, count.
const OPTIONS: Partial<Record<NodeJS.Platform, [number, number, number]>> = {
  darwin: [0x10, 0x101, 0x102],
  freebsd: [256, 512, 1024],
};
const bsd = OPTIONS[os] !== undefined;

interface View {
  enabled: boolean;
  idle: number;
  interval: number;
  count: number;
}

/** What the kernel holds, read by Python on a duplicate of the descriptor. */
function kernel(target: net.Socket | net.Server): View {
  const fd = (target as unknown as { _handle: { fd: number } })._handle.fd;
  const [idle, interval, count] = OPTIONS[os]!;
  const py = `
import json, socket
s = socket.socket(fileno=3)
g = lambda level, opt: s.getsockopt(level, opt)
print(json.dumps({"enabled": g(socket.SOL_SOCKET, socket.SO_KEEPALIVE) != 0, "idle": g(6, ${idle}), "interval": g(6, ${interval}), "count": g(6, ${count})}))
s.detach()
`;
  const r = spawnSync('python3', ['-c', py], { stdio: ['ignore', 'pipe', 'pipe', fd], encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`python3 getsockopt failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as View;
}

async function pair(): Promise<{ client: net.Socket; accepted: net.Socket; server: net.Server; close(): Promise<void> }> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const acceptedP = once(server, 'connection');
  const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  await once(client, 'connect');
  const [accepted] = (await acceptedP) as [net.Socket];
  return {
    client,
    accepted,
    server,
    async close() {
      client.destroy();
      accepted.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

let open: { close(): Promise<void> } | undefined;
afterEach(async () => {
  await open?.close();
  open = undefined;
});

describe.skipIf(!bsd)(`on ${os} itself (macOS and FreeBSD runners only)`, () => {
  it('sets idle, interval and count, as the kernel holds them', async () => {
    const p = (open = await pair());
    setKeepalive(p.client, { idle: 61, interval: 11, count: 4 });
    expect(kernel(p.client)).toEqual({ enabled: true, idle: 61, interval: 11, count: 4 });
    expect(getKeepalive(p.client)).toEqual({ enabled: true, idle: 61, interval: 11, count: 4, userTimeout: 0 });
  });

  it("accepts values beyond Linux's limits that this system takes", async () => {
    const p = (open = await pair());
    setKeepalive(p.client, { idle: 40000, interval: 40000, count: 200 });
    expect(kernel(p.client)).toEqual({ enabled: true, idle: 40000, interval: 40000, count: 200 });
  });

  it('refuses userTimeout with a coded error and changes nothing', async () => {
    const p = (open = await pair());
    expect(() => setKeepalive(p.client, { idle: 30, userTimeout: 1000 })).toThrow(expect.objectContaining({ code: 'ERR_KEEPALIVE_UNSUPPORTED' }));
    expect(kernel(p.client).enabled).toBe(false);
    expect(capabilities().userTimeout).toMatchObject({ set: false, read: 'absent' });
  });

  it('copies from a listener into accepted sockets exactly what capabilities() says', async () => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    // Set with the native layer alone, so nothing per connection interferes.
    const fd = (server as unknown as { _handle: { fd: number } })._handle.fd;
    binding.set(fd, 1, 41, 6, 3, -1);
    const acceptedP = once(server, 'connection');
    const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    const [accepted] = (await acceptedP) as [net.Socket];
    open = { close: async () => (client.destroy(), accepted.destroy(), await new Promise<void>((r) => server.close(() => r()))) };
    const k = kernel(accepted);
    const c = capabilities();
    expect({ enabled: k.enabled, idle: k.idle === 41, interval: k.interval === 6, count: k.count === 3 }).toEqual({
      enabled: c.enabled.inherited,
      idle: c.idle.inherited,
      interval: c.interval.inherited,
      count: c.count.inherited,
    });
  });

  it('gives every accepted socket of a server all the settings', async () => {
    const server = net.createServer();
    setKeepalive(server, { idle: 42, interval: 7, count: 5 });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const acceptedP = once(server, 'connection');
    const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    const [accepted] = (await acceptedP) as [net.Socket];
    open = { close: async () => (client.destroy(), accepted.destroy(), await new Promise<void>((r) => server.close(() => r()))) };
    expect(kernel(accepted)).toEqual({ enabled: true, idle: 42, interval: 7, count: 5 });
  });
});

describe.skipIf(os !== 'win32')('on Windows itself (Windows runner only)', () => {
  it('has no descriptor, and says which fields this Node can set', () => {
    const c = capabilities();
    expect(c.descriptors).toBe(false);
    expect(c.idle.set).toBe(true);
    expect(c.userTimeout).toMatchObject({ set: false, read: 'absent' });
    expect(c.interval.set).toBe(c.count.set);
  });

  it('sets what this Node can through setKeepAlive and reports it', async () => {
    const p = (open = await pair());
    const c = capabilities();
    const wanted = c.interval.set ? { idle: 61, interval: 7, count: 4 } : { idle: 61 };
    setKeepalive(p.client, wanted);
    expect(getKeepalive(p.client, { partial: true })).toEqual(
      c.interval.set ? { enabled: true, idle: 61, interval: 7, count: 4, userTimeout: 0 } : { enabled: true, idle: 61, interval: null, count: null, userTimeout: 0 },
    );
    p.client.setKeepAlive(true, 1000);
    expect(getKeepalive(p.client, { partial: true }).idle).toBe(61);
  });

  it('accepts the largest values Windows keeps', async () => {
    const p = (open = await pair());
    const c = capabilities();
    setKeepalive(p.client, c.interval.set ? { idle: c.idle.range!.max, interval: c.interval.range!.max, count: c.count.range!.max } : { idle: c.idle.range!.max });
    expect(getKeepalive(p.client, { partial: true }).idle).toBe(c.idle.range!.max);
  });

  it('sets accepted sockets of a server', async () => {
    const server = net.createServer();
    setKeepalive(server, { idle: 42 });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const acceptedP = once(server, 'connection');
    const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    const [accepted] = (await acceptedP) as [net.Socket];
    open = { close: async () => (client.destroy(), accepted.destroy(), await new Promise<void>((r) => server.close(() => r()))) };
    expect(getKeepalive(accepted, { partial: true })).toMatchObject({ enabled: true, idle: 42 });
  });

  it('refuses a named pipe and userTimeout with codes', async () => {
    const path = `\\\\.\\pipe\\tcp-keepalive-${process.pid}`;
    const server = net.createServer().listen(path);
    await once(server, 'listening');
    const client = net.connect(path);
    await once(client, 'connect');
    open = { close: async () => (client.destroy(), await new Promise<void>((r) => server.close(() => r()))) };
    expect(() => setKeepalive(client, { idle: 30 })).toThrow(expect.objectContaining({ code: 'ERR_SOCKET_NOT_TCP' }));
    const p = await pair();
    try {
      expect(() => setKeepalive(p.client, { userTimeout: 5 })).toThrow(expect.objectContaining({ code: 'ERR_KEEPALIVE_UNSUPPORTED' }));
    } finally {
      await p.close();
    }
  });
});
