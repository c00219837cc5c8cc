// A socket that is still connecting gets its settings as it connects, before
// the caller's own 'connect' listeners run.
import { once } from 'node:events';
import net from 'node:net';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getKeepalive, setKeepalive } from '../src/index.js';
import { cert, kernel, key, listen, procDefaults, type KernelView } from './helpers.js';

const ours = { idle: 83, interval: 8, count: 6, userTimeout: 12_000 };
let netServer: net.Server;
let tlsServer: tls.Server;
let netPort = 0;
let tlsPort = 0;

beforeAll(async () => {
  netServer = net.createServer((s) => s.on('error', () => {}).resume());
  tlsServer = tls.createServer({ key, cert }, (s) => s.on('error', () => {}).resume());
  netPort = await listen(netServer);
  tlsPort = await listen(tlsServer);
});
afterAll(() => {
  netServer.close();
  tlsServer.close();
});

/** Reads the kernel from inside the caller's own 'connect' listener. */
function seenAtConnect(socket: net.Socket): Promise<KernelView> {
  return new Promise((resolve, reject) => {
    socket.once('connect', () => {
      try {
        resolve(kernel(socket));
      } catch (error) {
        reject(error);
      }
    });
    socket.once('error', reject);
  });
}

describe('connecting sockets', () => {
  it('net.connect(): settings are in place in a connect listener added before setKeepalive', async () => {
    const socket = net.connect(netPort, '127.0.0.1');
    const seen = seenAtConnect(socket);
    setKeepalive(socket, ours);
    expect(await seen).toEqual({ enabled: true, ...ours });
    socket.destroy();
  });

  it('new net.Socket(): set before connect() is even called', async () => {
    const socket = new net.Socket();
    setKeepalive(socket, ours);
    const seen = seenAtConnect(socket);
    socket.connect(netPort, '127.0.0.1');
    expect(await seen).toEqual({ enabled: true, ...ours });
    socket.destroy();
  });

  it('tls.connect(): in place at connect, and still at secureConnect', async () => {
    const socket = tls.connect({ port: tlsPort, host: '127.0.0.1', ca: cert, servername: 'localhost' });
    const seen = seenAtConnect(socket);
    setKeepalive(socket, ours);
    expect(await seen).toEqual({ enabled: true, ...ours });
    await once(socket, 'secureConnect');
    expect(kernel(socket)).toEqual({ enabled: true, ...ours });
    socket.destroy();
  });

  it('the callback passed to net.connect() already sees them', async () => {
    let seen: KernelView | undefined;
    const socket = net.connect(netPort, '127.0.0.1', () => {
      seen = kernel(socket);
    });
    setKeepalive(socket, ours);
    await once(socket, 'connect');
    expect(seen).toEqual({ enabled: true, ...ours });
    socket.destroy();
  });

  it('several calls while connecting add up, as they would one after another', async () => {
    const socket = net.connect(netPort, '127.0.0.1');
    const seen = seenAtConnect(socket);
    setKeepalive(socket, { idle: 50 });
    setKeepalive(socket, { count: 2 });
    setKeepalive(socket, 40, 4);
    expect(await seen).toMatchObject({ enabled: true, idle: 40, interval: 4, count: 2 });
    socket.destroy();
  });

  it('false while connecting leaves keepalive off', async () => {
    const socket = net.connect(netPort, '127.0.0.1');
    const seen = seenAtConnect(socket);
    setKeepalive(socket, ours);
    setKeepalive(socket, false);
    expect((await seen).enabled).toBe(false);
    socket.destroy();
  });

  it('getKeepalive while connecting is a coded error; after connect it reads the kernel', async () => {
    const socket = net.connect(netPort, '127.0.0.1');
    expect(() => getKeepalive(socket)).toThrow(expect.objectContaining({ code: 'ERR_SOCKET_NOT_CONNECTED' }));
    await once(socket, 'connect');
    expect(getKeepalive(socket)).toMatchObject({ enabled: false, idle: procDefaults().idle });
    socket.destroy();
  });

  it('a socket that never connects keeps nothing pending and fails as usual', async () => {
    const closed = net.createServer();
    const port = await listen(closed);
    await new Promise((r) => closed.close(r));
    const socket = net.connect(port, '127.0.0.1');
    setKeepalive(socket, ours);
    const [error] = (await once(socket, 'error')) as [NodeJS.ErrnoException];
    expect(error.code).toBe('ECONNREFUSED');
    expect(() => setKeepalive(socket, ours)).toThrow(expect.objectContaining({ code: 'ERR_SOCKET_CLOSED' }));
  });
});
