// Settings stay in force when Node or a driver calls setKeepAlive later.
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { setKeepalive } from '../src/index.js';
import { kernel, listen, tcpPair, tlsPair, type Pair } from './helpers.js';

const ours = { idle: 77, interval: 7, count: 4 };
let pair: Pair<net.Socket> | undefined;
afterEach(async () => {
  await pair?.close();
  pair = undefined;
});

describe('pinned sockets', () => {
  it("survive a direct setKeepAlive(true, 5000)", async () => {
    pair = await tcpPair();
    setKeepalive(pair.client, ours);
    pair.client.setKeepAlive(true, 5000);
    pair.client.setKeepAlive(true, 9000);
    expect(kernel(pair.client)).toMatchObject({ enabled: true, ...ours });
  });

  it('survive setKeepAlive(false) too, until released', async () => {
    pair = await tcpPair();
    setKeepalive(pair.client, ours);
    pair.client.setKeepAlive(false);
    expect(kernel(pair.client)).toMatchObject({ enabled: true, ...ours });
  });

  it('survive setKeepAlive on a TLS socket (through TLSWrap to the TCP handle)', async () => {
    pair = await tlsPair();
    setKeepalive(pair.client, ours);
    pair.client.setKeepAlive(true, 5000);
    expect(kernel(pair.client)).toMatchObject({ enabled: true, ...ours });
  });

  it('win over { keepAlive: true, keepAliveInitialDelay } on a connecting socket', async () => {
    const server = net.createServer();
    const port = await listen(server);
    const client = net.connect({ port, host: '127.0.0.1', keepAlive: true, keepAliveInitialDelay: 5000 });
    setKeepalive(client, ours);
    await once(client, 'connect');
    expect(kernel(client)).toMatchObject({ enabled: true, ...ours });
    client.setKeepAlive(true, 3000);
    expect(kernel(client)).toMatchObject({ enabled: true, ...ours });
    client.destroy();
    server.close();
  });

  it('win over { keepAlive: true } when applied after connect', async () => {
    const server = net.createServer();
    const port = await listen(server);
    const client = net.connect({ port, host: '127.0.0.1', keepAlive: true, keepAliveInitialDelay: 5000 });
    await once(client, 'connect');
    expect(kernel(client)).toMatchObject({ enabled: true, idle: 5 });
    setKeepalive(client, ours);
    client.setKeepAlive(true, 5000);
    expect(kernel(client)).toMatchObject({ enabled: true, ...ours });
    client.destroy();
    server.close();
  });

  it('are released by setKeepalive(socket, false), after which Node works as usual', async () => {
    pair = await tcpPair();
    setKeepalive(pair.client, ours);
    pair.client.setKeepAlive(true, 5000);
    setKeepalive(pair.client, false);
    expect(kernel(pair.client).enabled).toBe(false);
    pair.client.setKeepAlive(true, 5000);
    expect(kernel(pair.client)).toMatchObject({ enabled: true, idle: 5 });
  });

  it('hold across http.Agent pool reuse with a different keepAliveMsecs', async () => {
    const server = http.createServer((_req, res) => res.end('ok'));
    const port = await listen(server);
    const agent = new http.Agent({ keepAlive: true, keepAliveMsecs: 3000, maxSockets: 1 });
    const get = () =>
      new Promise<net.Socket>((resolve, reject) => {
        http
          .get({ port, host: '127.0.0.1', agent }, (res) => {
            const socket = res.socket;
            res.resume();
            res.on('end', () => resolve(socket));
          })
          .on('error', reject);
      });
    const first = await get();
    setKeepalive(first, ours);
    // The socket goes back to the pool (agent.keepSocketAlive calls
    // setKeepAlive(true, 3000)) and comes out again for the next request.
    await new Promise((r) => setImmediate(r));
    const second = await get();
    expect(second).toBe(first);
    await new Promise((r) => setImmediate(r));
    expect(kernel(second)).toMatchObject({ enabled: true, ...ours });
    agent.destroy();
    server.close();
  });

  it('without pinning, the same pool resets the idle time (the problem this solves)', async () => {
    const server = http.createServer((_req, res) => res.end('ok'));
    const port = await listen(server);
    const agent = new http.Agent({ keepAlive: true, keepAliveMsecs: 3000, maxSockets: 1 });
    const socket = await new Promise<net.Socket>((resolve) => {
      http.get({ port, host: '127.0.0.1', agent }, (res) => {
        const s = res.socket;
        res.resume();
        res.on('end', () => resolve(s));
      });
    });
    await new Promise((r) => setImmediate(r));
    expect(kernel(socket)).toMatchObject({ enabled: true, idle: 3 });
    agent.destroy();
    server.close();
  });
});

describe('no leaks', () => {
  it('10,000 pinned sockets, connected and connecting, closed: no listener or memory growth', async () => {
    const { spawnSync } = await import('node:child_process');
    const path = await import('node:path');
    const script = path.join(__dirname, 'fixtures', 'pin-leak.cjs');
    const result = spawnSync(process.execPath, ['--expose-gc', script], { encoding: 'utf8', timeout: 120_000 });
    expect(result.status, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout.trim().split('\n').pop()!) as {
      sockets: number;
      heapGrowthBytes: number;
      listenerGrowth: number;
      liveSockets: number;
    };
    expect(report.sockets).toBe(10_000);
    expect(report.listenerGrowth).toBe(0);
    expect(report.liveSockets).toBe(0);
    // Measured from one warm-up round to the end, after GC: a leak of even
    // a hundred bytes per socket would show as 1 MB.
    expect(report.heapGrowthBytes).toBeLessThan(1_000_000);
  }, 180_000);
});
