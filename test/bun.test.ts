// Under Bun: its http.Server and https.Server are not net.Servers (they
// listen through Bun.serve and show no handle), yet take settings as any
// server does: on the listening socket, which the kernel copies into every
// connection it accepts. These run when the suite runs under Bun
// (`npm run test:bun`); the rest of the suite covers Bun's net and tls.
import { once } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { getKeepalive, setDefaultKeepalive, setKeepalive } from '../src/index.js';
import { cert, fdsByRemotePort, kernel, key, listen } from './helpers.js';

const underBun = process.versions.bun !== undefined;
const ours = { idle: 71, interval: 9, count: 5, userTimeout: 33_000 };

const kinds: [string, () => net.Server][] = [
  ['http.Server', () => http.createServer((_req, res) => res.end('ok')) as unknown as net.Server],
  ['https.Server', () => https.createServer({ key, cert }, (_req, res) => res.end('ok')) as unknown as net.Server],
];

/** The accepted end of a raw connection to port, found in /proc (Bun's http sockets show no descriptor). */
async function acceptedFd(port: number): Promise<{ fd: number; client: net.Socket }> {
  const client = net.connect(port, '127.0.0.1');
  client.on('error', () => {});
  await once(client, 'connect');
  for (let i = 0; i < 200; i++) {
    const [found] = fdsByRemotePort(client.localPort!);
    if (found) return { fd: found.fd, client };
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`the server on ${port} accepted nothing`);
}

async function close(server: net.Server, client?: net.Socket): Promise<void> {
  client?.destroy();
  (server as { closeAllConnections?: () => void }).closeAllConnections?.();
  await new Promise((r) => server.close(r));
}

describe.runIf(underBun)('Bun', () => {
  afterEach(() => setDefaultKeepalive(false));

  it('runs this suite (its own http.Server is not a net.Server)', () => {
    expect(http.createServer()).not.toBeInstanceOf(net.Server);
  });

  describe.each(kinds)('%s', (_name, make) => {
    it('before listen(): the listener and each accepted connection carry the settings', async () => {
      const server = make();
      setKeepalive(server, ours);
      const port = await listen(server);
      expect(getKeepalive(server)).toEqual({ enabled: true, ...ours });
      const { fd, client } = await acceptedFd(port);
      expect(kernel(fd)).toEqual({ enabled: true, ...ours });
      await close(server, client);
    });

    it('after listen(): the same, and getKeepalive reads the listener', async () => {
      const server = make();
      const port = await listen(server);
      expect(getKeepalive(server).enabled).toBe(false);
      setKeepalive(server, ours);
      expect(getKeepalive(server)).toEqual({ enabled: true, ...ours });
      const { fd, client } = await acceptedFd(port);
      expect(kernel(fd)).toEqual({ enabled: true, ...ours });
      await close(server, client);
    });

    it('process-wide defaults for accepted connections reach it', async () => {
      setDefaultKeepalive(ours, { direction: 'server' });
      const server = make();
      const port = await listen(server);
      const { fd, client } = await acceptedFd(port);
      expect(kernel(fd)).toEqual({ enabled: true, ...ours });
      await close(server, client);
    });

    it('once closed, it is not running, and its old descriptor is never touched', async () => {
      const server = make();
      setKeepalive(server, ours);
      await listen(server);
      await close(server);
      expect(() => getKeepalive(server)).toThrow(expect.objectContaining({ code: 'ERR_SERVER_NOT_RUNNING' }));
    });
  });
});
