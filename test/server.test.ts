// Servers hand their settings to every accepted socket.
import { once } from 'node:events';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import { describe, expect, it } from 'vitest';
import { getKeepalive, setKeepalive } from '../src/index.js';
import { native } from '../src/native.js';

const binding = native();
import { overridePlatform } from '../src/platform.js';
import { cert, fdOf, kernel, key, listen, procDefaults } from './helpers.js';

// Where Bun truly differs from Node, a test is skipped there with its reason.
const underBun = process.versions.bun !== undefined;

const ours = { idle: 71, interval: 9, count: 5, userTimeout: 33_000 };

const kinds: [string, () => net.Server][] = [
  ['net.Server', () => net.createServer()],
  ['tls.Server', () => tls.createServer({ key, cert })],
  ['http.Server', () => http.createServer()],
  ['https.Server', () => https.createServer({ key, cert })],
  ['http2 server', () => http2.createServer() as unknown as net.Server],
  ['http2 secure server', () => http2.createSecureServer({ key, cert }) as unknown as net.Server],
];

/** Opens a raw TCP connection and returns the server's accepted socket. */
async function accept(server: net.Server, port: number): Promise<{ accepted: net.Socket; client: net.Socket }> {
  const acceptedP = once(server, 'connection');
  const client = net.connect(port, '127.0.0.1');
  client.on('error', () => {});
  const [accepted] = (await acceptedP) as [net.Socket];
  accepted.on('error', () => {});
  return { accepted, client };
}

async function close(server: net.Server, ...sockets: net.Socket[]): Promise<void> {
  for (const s of sockets) s.destroy();
  (server as { closeAllConnections?: () => void }).closeAllConnections?.();
  await new Promise((r) => server.close(r));
}

// Bun's http.Server and https.Server show no handle and emit 'connection' only with a request: bun.test.ts covers them.
describe.each(kinds.filter(([name]) => !(underBun && (name === 'http.Server' || name === 'https.Server'))))('%s', (_name, make) => {
  it('before listen(): accepted sockets carry the settings', async () => {
    const server = make();
    setKeepalive(server, ours);
    const port = await listen(server);
    expect(kernel(server)).toMatchObject({ enabled: true, ...ours });
    const { accepted, client } = await accept(server, port);
    expect(kernel(accepted)).toEqual({ enabled: true, ...ours });
    await close(server, accepted, client);
  });

  it('after listen(): accepted sockets carry the settings; getKeepalive reads the listener', async () => {
    const server = make();
    const port = await listen(server);
    setKeepalive(server, ours);
    expect(getKeepalive(server)).toEqual({ enabled: true, ...ours });
    const { accepted, client } = await accept(server, port);
    expect(kernel(accepted)).toEqual({ enabled: true, ...ours });
    await close(server, accepted, client);
  });
});

describe('server behaviour', () => {
  it('accepted sockets are pinned against setKeepAlive in a connection handler', async () => {
    const server = net.createServer((socket) => socket.setKeepAlive(true, 1000));
    setKeepalive(server, ours);
    const port = await listen(server);
    const { accepted, client } = await accept(server, port);
    await new Promise((r) => setImmediate(r));
    expect(kernel(accepted)).toMatchObject({ enabled: true, ...ours });
    await close(server, accepted, client);
  });

  it("Node's own keepAlive server option does not reset the settings", async () => {
    const server = net.createServer({ keepAlive: true, keepAliveInitialDelay: 1000 });
    setKeepalive(server, ours);
    const port = await listen(server);
    const { accepted, client } = await accept(server, port);
    expect(kernel(accepted)).toMatchObject({ enabled: true, ...ours });
    setKeepalive(server, false);
    expect((server as { keepAlive?: boolean }).keepAlive).toBe(true);
    await close(server, accepted, client);
  });

  it('setKeepalive(server, false) turns it off for the connections that follow', async () => {
    const server = net.createServer();
    setKeepalive(server, ours);
    const port = await listen(server);
    setKeepalive(server, false);
    expect(kernel(server).enabled).toBe(false);
    const { accepted, client } = await accept(server, port);
    expect(kernel(accepted).enabled).toBe(false);
    await close(server, accepted, client);
  });

  it('getKeepalive on a server that is not listening is a coded error', () => {
    expect(() => getKeepalive(net.createServer())).toThrow(expect.objectContaining({ code: 'ERR_SERVER_NOT_RUNNING' }));
  });

  it('a never-set server reports the system defaults', async () => {
    const server = net.createServer();
    await listen(server);
    const d = procDefaults();
    expect(getKeepalive(server)).toEqual({ enabled: false, ...d, userTimeout: 0 });
    await close(server);
  });
});

describe('per-connection path (platforms that do not copy every setting)', () => {
  it('applies what the platform does not copy to each accepted socket', async () => {
    // Pretend, as on macOS, that accepted sockets do not inherit idle,
    // interval and count; then make the listener's own values differ, so
    // only the per-connection path can produce the expected result.
    const restore = overridePlatform({ inherited: { enabled: true, idle: false, interval: false, count: false, userTimeout: true } });
    try {
      const server = net.createServer();
      setKeepalive(server, ours);
      const port = await listen(server);
      binding.set(fdOf(server), 1, 1000, 100, 10, -1);
      const { accepted, client } = await accept(server, port);
      expect(kernel(accepted)).toEqual({ enabled: true, ...ours });
      await close(server, accepted, client);
    } finally {
      restore();
    }
  });

  it('a control server on the inherited path copies the listener as it is', async () => {
    const server = net.createServer();
    setKeepalive(server, ours);
    const port = await listen(server);
    binding.set(fdOf(server), 1, 1000, 100, 10, -1);
    const { accepted, client } = await accept(server, port);
    expect(kernel(accepted)).toMatchObject({ idle: 1000, interval: 100, count: 10 });
    await close(server, accepted, client);
  });
});
