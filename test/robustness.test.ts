// The package's wrappers (setKeepAlive, _destroy, connect) live beside other
// code that wraps the same things, and beside sockets that are reused.
import { once } from 'node:events';
import http2 from 'node:http2';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { getKeepalive, setDefaultKeepalive, setKeepalive } from '../src/index.js';
import { kernel, listen, procDefaults, tcpPair, type Pair } from './helpers.js';

const ours = { idle: 47, interval: 7, count: 3 };
let pair: Pair | undefined;
afterEach(async () => {
  setDefaultKeepalive(false);
  await pair?.close();
  pair = undefined;
});

describe('a socket connected again after close', () => {
  it('is no longer held: a driver can set its keepalive, and defaults reach it', async () => {
    const server = net.createServer((s) => s.on('error', () => {}));
    const port = await listen(server);
    const socket = net.connect(port, '127.0.0.1');
    await once(socket, 'connect');
    setKeepalive(socket, ours);
    socket.destroy();
    await once(socket, 'close');

    socket.connect(port, '127.0.0.1');
    await once(socket, 'connect');
    socket.setKeepAlive(true, 9000);
    expect(kernel(socket)).toMatchObject({ enabled: true, idle: 9 });

    socket.destroy();
    await once(socket, 'close');
    setDefaultKeepalive(ours);
    socket.connect(port, '127.0.0.1');
    await once(socket, 'connect');
    // Node applies the socket's remembered setKeepAlive(true, 9000) to the
    // new connection, and a shorter idle than the defaults' is taken.
    expect(kernel(socket)).toMatchObject({ enabled: true, ...ours, idle: 9 });
    socket.destroy();
    await once(socket, 'close');
    socket.setKeepAlive(false);
    socket.connect(port, '127.0.0.1');
    await once(socket, 'connect');
    expect(kernel(socket)).toMatchObject({ enabled: true, ...ours });
    socket.destroy();
    server.close();
  });
});

describe('other wrappers of net.Socket.prototype.connect', () => {
  it('one put in after setDefaultKeepalive keeps running through false and on again', async () => {
    const server = net.createServer((s) => s.on('error', () => {}));
    const port = await listen(server);
    setDefaultKeepalive(ours);
    const before = net.Socket.prototype.connect;
    let calls = 0;
    net.Socket.prototype.connect = function wrapped(this: net.Socket, ...args: unknown[]) {
      calls++;
      return (before as (...a: unknown[]) => net.Socket).apply(this, args);
    } as typeof before;
    try {
      setDefaultKeepalive(false);
      setDefaultKeepalive(ours);
      const socket = net.connect(port, '127.0.0.1');
      await once(socket, 'connect');
      expect(calls).toBe(1);
      expect(kernel(socket)).toMatchObject({ enabled: true, ...ours });
      socket.destroy();
    } finally {
      net.Socket.prototype.connect = before;
      server.close();
    }
  });
});

describe('the _destroy wrapper under someone else’s', () => {
  it('released and pinned again, a reset still closes the socket and is reported', async () => {
    pair = await tcpPair();
    const { client, accepted } = pair;
    setKeepalive(client, ours);
    const inner = (client as unknown as { _destroy: (...a: unknown[]) => void })._destroy;
    (client as unknown as { _destroy: (...a: unknown[]) => void })._destroy = function outer(this: net.Socket, ...args: unknown[]) {
      return inner.apply(this, args);
    };
    setKeepalive(client, false);
    setKeepalive(client, ours);
    const errorP = once(client, 'error');
    const closeP = new Promise((resolve) => client.on('close', resolve));
    accepted.resetAndDestroy();
    const [error] = (await errorP) as [NodeJS.ErrnoException & { keepalive?: { cause: string } }];
    expect(error.code).toBe('ECONNRESET');
    expect(error.keepalive?.cause).toBe('reset');
    await closeP;
  });
});

describe("http2's proxy of a session's socket", () => {
  it('takes the settings without an error, and they hold', async () => {
    const server = http2.createServer((_req, res) => res.end('ok'));
    const port = await listen(server as unknown as net.Server);
    const session = http2.connect(`http://127.0.0.1:${port}`);
    await once(session, 'connect');
    try {
      expect(() => setKeepalive(session.socket as net.Socket, ours)).not.toThrow();
      expect(getKeepalive(session.socket as net.Socket)).toMatchObject({ enabled: true, ...ours });
      expect(kernel(fdOfSession(session))).toMatchObject({ enabled: true, ...ours });
      setKeepalive(session.socket as net.Socket, false);
      expect(kernel(fdOfSession(session)).enabled).toBe(false);
    } finally {
      session.destroy();
      server.close();
    }
  });
});

function fdOfSession(session: http2.ClientHttp2Session): number {
  return (session.socket as unknown as { _handle: { fd: number } })._handle.fd;
}

describe("Node's memory of its own setKeepAlive", () => {
  it('after release, a driver repeating its earlier call takes effect', async () => {
    pair = await tcpPair();
    pair.client.setKeepAlive(true, 5000);
    setKeepalive(pair.client, ours);
    setKeepalive(pair.client, false);
    expect(kernel(pair.client).enabled).toBe(false);
    pair.client.setKeepAlive(true, 5000);
    expect(kernel(pair.client)).toMatchObject({ enabled: true, idle: 5 });
    expect(procDefaults().idle).not.toBe(5);
  });
});
