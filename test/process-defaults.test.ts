// setDefaultKeepalive reaches every client path and accepted sockets.
import { once } from 'node:events';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import tls from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { setDefaultKeepalive, setKeepalive, type ConnectionInfo } from '../src/index.js';
import { cert, fdByLocalPort, kernel, key, listen, procDefaults } from './helpers.js';

const ours = { idle: 67, interval: 6, count: 4, userTimeout: 25_000 };

// Each server records the remote port of every connection it accepts: the
// client's local port, by which a library's hidden socket is found.
const accepted: net.Socket[] = [];
function track<S extends net.Server>(server: S): S {
  server.on('connection', (socket: net.Socket) => {
    accepted.push(socket);
    socket.on('error', () => {});
  });
  return server;
}

let netPort = 0;
let otherPort = 0;
let tlsPort = 0;
let httpPort = 0;
let h2Port = 0;
const servers: net.Server[] = [];

beforeAll(async () => {
  const make = async (server: net.Server) => {
    servers.push(track(server));
    return listen(server);
  };
  netPort = await make(net.createServer((s) => s.resume()));
  otherPort = await make(net.createServer((s) => s.resume()));
  tlsPort = await make(tls.createServer({ key, cert }, (s) => s.resume()));
  httpPort = await make(http.createServer((_req, res) => res.end('ok')));
  h2Port = await make(http2.createServer((_req, res) => res.end('ok')) as unknown as net.Server);
});

afterAll(async () => {
  for (const s of accepted) s.destroy();
  for (const server of servers) {
    (server as { closeAllConnections?: () => void }).closeAllConnections?.();
    server.close();
  }
});

afterEach(() => setDefaultKeepalive(false));

/** The newest socket accepted on port: its remotePort is the client's local port. */
async function lastAccepted(port: number): Promise<net.Socket> {
  for (let i = 0; i < 100; i++) {
    const s = [...accepted].reverse().find((a) => a.localPort === port && !a.destroyed);
    if (s) return s;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`nothing accepted on ${port}`);
}

async function clientFdVia(port: number): Promise<number> {
  const server = await lastAccepted(port);
  return fdByLocalPort(server.remotePort!);
}

const clientPaths: [string, () => Promise<{ fd: number; done: () => void }>][] = [
  [
    'net.connect()',
    async () => {
      const s = net.connect(netPort, '127.0.0.1');
      await once(s, 'connect');
      return { fd: await clientFdVia(netPort), done: () => s.destroy() };
    },
  ],
  [
    'new net.Socket().connect() (as pg does)',
    async () => {
      const s = new net.Socket();
      s.connect(netPort, '127.0.0.1');
      await once(s, 'connect');
      return { fd: await clientFdVia(netPort), done: () => s.destroy() };
    },
  ],
  [
    'tls.connect()',
    async () => {
      const s = tls.connect({ port: tlsPort, host: '127.0.0.1', ca: cert, servername: 'localhost' });
      await once(s, 'secureConnect');
      return { fd: await clientFdVia(tlsPort), done: () => s.destroy() };
    },
  ],
  [
    'http.Agent',
    async () => {
      const agent = new http.Agent({ keepAlive: true, keepAliveMsecs: 2000 });
      await new Promise<void>((resolve, reject) =>
        http.get({ host: '127.0.0.1', port: httpPort, agent }, (res) => res.resume().on('end', resolve)).on('error', reject),
      );
      await new Promise((r) => setImmediate(r));
      return { fd: await clientFdVia(httpPort), done: () => agent.destroy() };
    },
  ],
  [
    'fetch (undici)',
    async () => {
      const res = await fetch(`http://127.0.0.1:${httpPort}/`);
      await res.text();
      return { fd: await clientFdVia(httpPort), done: () => {} };
    },
  ],
  [
    'http2.connect()',
    async () => {
      const session = http2.connect(`http://127.0.0.1:${h2Port}`);
      const req = session.request({ ':path': '/' });
      req.resume();
      await once(req, 'end');
      return { fd: await clientFdVia(h2Port), done: () => session.destroy() };
    },
  ],
];

describe.each(clientPaths)('client path %s', (_name, open) => {
  it('gets the default settings', async () => {
    setDefaultKeepalive(ours);
    const { fd, done } = await open();
    try {
      expect(kernel(fd)).toEqual({ enabled: true, ...ours });
    } finally {
      done();
    }
  });

  it('is left alone once the defaults are turned off', async () => {
    setDefaultKeepalive(ours);
    setDefaultKeepalive(false);
    const { fd, done } = await open();
    try {
      // Some paths set an idle time of their own (http.Agent its
      // keepAliveMsecs, undici 60 s); none of them sets ours.
      const k = kernel(fd);
      expect(k.userTimeout).toBe(0);
      expect(k.idle).not.toBe(ours.idle);
      expect(k.count).not.toBe(ours.count);
    } finally {
      done();
    }
  });
});

describe('accepted sockets and the filter', () => {
  it('accepted sockets get the defaults', async () => {
    setDefaultKeepalive(ours, { filter: ({ direction }) => direction === 'server' });
    const client = net.connect(netPort, '127.0.0.1');
    await once(client, 'connect');
    const server = await lastAccepted(netPort);
    await new Promise((r) => setImmediate(r));
    expect(kernel(server)).toEqual({ enabled: true, ...ours });
    // The filter said server only: the client end is untouched.
    expect(kernel(client).enabled).toBe(false);
    client.destroy();
  });

  it("after a server's first accepted socket, the defaults are in place before the application's 'connection' listeners", async () => {
    setDefaultKeepalive(ours);
    const seen: number[] = [];
    const server = net.createServer((socket) => {
      socket.on('error', () => {});
      seen.push(kernel(socket).idle);
    });
    const port = await listen(server);
    for (let i = 0; i < 3; i++) {
      const client = net.connect(port, '127.0.0.1');
      await once(client, 'connect');
      await new Promise((r) => setTimeout(r, 20));
      client.destroy();
    }
    expect(seen.slice(1)).toEqual([ours.idle, ours.idle]);
    server.close();
  });

  it('the filter sees direction, addresses and ports, and a non-matching connection is untouched', async () => {
    const seen: Omit<ConnectionInfo, 'socket'>[] = [];
    setDefaultKeepalive(ours, {
      filter: ({ socket: _socket, ...info }) => {
        seen.push(info);
        return info.direction === 'client' && info.remotePort === netPort;
      },
    });
    const wanted = net.connect(netPort, '127.0.0.1');
    const other = net.connect(otherPort, '127.0.0.1');
    await Promise.all([once(wanted, 'connect'), once(other, 'connect')]);
    expect(kernel(wanted)).toEqual({ enabled: true, ...ours });
    expect(kernel(other)).toMatchObject({ enabled: false, idle: procDefaults().idle });
    expect(seen).toContainEqual(
      expect.objectContaining({ direction: 'client', remoteAddress: '127.0.0.1', remotePort: netPort, localPort: wanted.localPort }),
    );
    wanted.destroy();
    other.destroy();
  });

  it('an explicit setKeepalive on the socket wins over the defaults', async () => {
    setDefaultKeepalive(ours);
    const client = net.connect(netPort, '127.0.0.1');
    setKeepalive(client, { idle: 99 });
    await once(client, 'connect');
    expect(kernel(client)).toMatchObject({ enabled: true, idle: 99, count: procDefaults().count });
    client.destroy();
  });

  it('default settings are pinned', async () => {
    setDefaultKeepalive(ours);
    const client = net.connect({ port: netPort, host: '127.0.0.1', keepAlive: true, keepAliveInitialDelay: 3000 });
    await once(client, 'connect');
    client.setKeepAlive(true, 1000);
    expect(kernel(client)).toEqual({ enabled: true, ...ours });
    client.destroy();
  });

  it('a filter that throws leaves the connection alone and says so as a warning', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    setDefaultKeepalive(ours, {
      filter: () => {
        throw new Error('boom');
      },
    });
    const client = net.connect(netPort, '127.0.0.1');
    await once(client, 'connect');
    await new Promise((r) => setImmediate(r));
    process.off('warning', onWarning);
    expect(kernel(client).enabled).toBe(false);
    expect(warnings.map((w) => (w as { code?: string }).code)).toContain('TCP_KEEPALIVE_FILTER_FAILED');
    client.destroy();
  });

  it('bad arguments are coded errors and change nothing', async () => {
    expect(() => setDefaultKeepalive({ idle: 0 })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => setDefaultKeepalive(null as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(() => setDefaultKeepalive({}, { filter: 5 as never })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    const client = net.connect(netPort, '127.0.0.1');
    await once(client, 'connect');
    expect(kernel(client).enabled).toBe(false);
    client.destroy();
  });
});
