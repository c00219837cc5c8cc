// setDefaultKeepalive reaches every client path and accepted sockets.
import { once } from 'node:events';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import tls from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { setDefaultKeepalive, setKeepalive, type ConnectionInfo } from '../src/index.js';
import { cert, fdByLocalPort, kernel, key, listen, procDefaults } from './helpers.js';

// Where Bun truly differs from Node, a test is skipped there with its reason.
const underBun = process.versions.bun !== undefined;

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

// Each path, the idle time it asks for itself through Node's setKeepAlive
// (null: none), and how to open a connection on it.
const clientPaths: [string, number | null, () => Promise<{ fd: number; done: () => void }>][] = [
  [
    'net.connect()',
    null,
    async () => {
      const s = net.connect(netPort, '127.0.0.1');
      await once(s, 'connect');
      return { fd: await clientFdVia(netPort), done: () => s.destroy() };
    },
  ],
  [
    'new net.Socket().connect() (as pg does)',
    null,
    async () => {
      const s = new net.Socket();
      s.connect(netPort, '127.0.0.1');
      await once(s, 'connect');
      return { fd: await clientFdVia(netPort), done: () => s.destroy() };
    },
  ],
  [
    'tls.connect()',
    null,
    async () => {
      const s = tls.connect({ port: tlsPort, host: '127.0.0.1', ca: cert, servername: 'localhost' });
      await once(s, 'secureConnect');
      return { fd: await clientFdVia(tlsPort), done: () => s.destroy() };
    },
  ],
  [
    'http.Agent',
    2,
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
    60,
    async () => {
      const res = await fetch(`http://127.0.0.1:${httpPort}/`);
      await res.text();
      return { fd: await clientFdVia(httpPort), done: () => {} };
    },
  ],
  [
    'http2.connect()',
    null,
    async () => {
      const session = http2.connect(`http://127.0.0.1:${h2Port}`);
      const req = session.request({ ':path': '/' });
      req.resume();
      await once(req, 'end');
      return { fd: await clientFdVia(h2Port), done: () => session.destroy() };
    },
  ],
];

describe.each(clientPaths)('client path %s', (_name, ownIdle, open) => {
  // Bun's fetch is native: its connections never pass through node:net.
  it.skipIf(underBun && _name.startsWith('fetch'))('gets the default settings, and keeps a shorter idle the client asks for itself', async () => {
    setDefaultKeepalive(ours);
    const { fd, done } = await open();
    try {
      expect(kernel(fd)).toEqual({ enabled: true, ...ours, idle: Math.min(ours.idle, ownIdle ?? Infinity) });
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
    // The listener carried the values before it listened: every socket, the first too.
    expect(seen).toEqual([ours.idle, ours.idle, ours.idle]);
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

  it('default settings hold against a longer idle and against false; a shorter idle is taken, the rest stay', async () => {
    setDefaultKeepalive(ours);
    const client = net.connect({ port: netPort, host: '127.0.0.1', keepAlive: true, keepAliveInitialDelay: 90_000 });
    await once(client, 'connect');
    // Node applied the keepAlive option (90 s) after the defaults: not taken.
    expect(kernel(client)).toEqual({ enabled: true, ...ours });
    client.setKeepAlive(true, 300_000);
    client.setKeepAlive(false);
    expect(kernel(client)).toEqual({ enabled: true, ...ours });
    client.setKeepAlive(true, 5000);
    expect(kernel(client)).toEqual({ enabled: true, ...ours, idle: 5 });
    // Shorter than what is in force now, not than the defaults: 30 s is not.
    client.setKeepAlive(true, 30_000);
    expect(kernel(client)).toEqual({ enabled: true, ...ours, idle: 5 });
    client.destroy();
  });

  it("the keepAlive option of net.connect with a shorter delay is taken at connect, before 'connect' listeners run", async () => {
    setDefaultKeepalive(ours);
    const client = net.connect({ port: netPort, host: '127.0.0.1', keepAlive: true, keepAliveInitialDelay: 3000 });
    const [seen] = (await once(client, 'connect').then(() => [kernel(client)])) as [ReturnType<typeof kernel>];
    expect(seen).toEqual({ enabled: true, ...ours, idle: 3 });
    client.destroy();
  });

  it("a setKeepAlive the application had wrapped on the socket itself (instrumentation, a spy) still sees every call, and a shorter idle it lets through takes effect", async () => {
    setDefaultKeepalive(ours);
    const client = new net.Socket();
    const calls: unknown[][] = [];
    const own = client.setKeepAlive;
    client.setKeepAlive = function spy(this: net.Socket, ...args: Parameters<net.Socket['setKeepAlive']>) {
      calls.push(args);
      return own.apply(this, args);
    };
    client.connect(netPort, '127.0.0.1');
    await once(client, 'connect');
    client.setKeepAlive(true, 4000);
    client.setKeepAlive(true, 200_000);
    expect(calls).toEqual([[true, 4000], [true, 200_000]]);
    expect(kernel(client)).toEqual({ enabled: true, ...ours, idle: 4 });
    // The package put nothing of its own on the socket: the spy is still the application's.
    expect(client.setKeepAlive.name).toBe('spy');
    client.destroy();
  });

  it('an explicit setKeepalive holds against every setKeepAlive, shorter ones included', async () => {
    const client = net.connect(netPort, '127.0.0.1');
    setKeepalive(client, ours);
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

describe('rules: ports, directions, composition', () => {
  const pg = { idle: 31, interval: 3, count: 3, userTimeout: 31_000 };
  const redis = { idle: 41, interval: 4, count: 3, userTimeout: 41_000 };

  it('ports: a client connection by its remote port, an accepted one by its local (listening) port', async () => {
    setDefaultKeepalive(pg, { ports: [netPort] });
    const wanted = net.connect(netPort, '127.0.0.1');
    const other = net.connect(otherPort, '127.0.0.1');
    await Promise.all([once(wanted, 'connect'), once(other, 'connect')]);
    const accepted = await lastAccepted(netPort);
    const acceptedOther = await lastAccepted(otherPort);
    expect(kernel(wanted)).toEqual({ enabled: true, ...pg });
    expect(kernel(accepted)).toEqual({ enabled: true, ...pg });
    expect(kernel(other).enabled).toBe(false);
    expect(kernel(acceptedOther).enabled).toBe(false);
    wanted.destroy();
    other.destroy();
  });

  it('two services, two rules: each port keeps its own values (the pg and ioredis recipes together)', async () => {
    setDefaultKeepalive(pg, { ports: netPort, direction: 'client' });
    setDefaultKeepalive(redis, { ports: otherPort, direction: 'client' });
    const a = net.connect(netPort, '127.0.0.1');
    const b = net.connect(otherPort, '127.0.0.1');
    await Promise.all([once(a, 'connect'), once(b, 'connect')]);
    expect(kernel(a)).toEqual({ enabled: true, ...pg });
    expect(kernel(b)).toEqual({ enabled: true, ...redis });
    // direction 'client': the accepted ends are not this rule's.
    expect(kernel(await lastAccepted(netPort)).enabled).toBe(false);
    a.destroy();
    b.destroy();
  });

  it('a rule naming the port wins over a rule for every port, whatever the order they were added in', async () => {
    setDefaultKeepalive(pg, { ports: [netPort] });
    setDefaultKeepalive(ours);
    const a = net.connect(netPort, '127.0.0.1');
    const b = net.connect(otherPort, '127.0.0.1');
    await Promise.all([once(a, 'connect'), once(b, 'connect')]);
    expect(kernel(a)).toEqual({ enabled: true, ...pg });
    expect(kernel(b)).toEqual({ enabled: true, ...ours });
    a.destroy();
    b.destroy();
  });

  it('a second rule for the same ports and direction is refused, and changes nothing, unless it says replace', async () => {
    setDefaultKeepalive(pg, { ports: [netPort, otherPort] });
    expect(() => setDefaultKeepalive(redis, { ports: [otherPort] })).toThrow(expect.objectContaining({ code: 'ERR_KEEPALIVE_RULE_EXISTS' }));
    expect(() => setDefaultKeepalive(redis, { ports: otherPort, direction: 'both' })).toThrow(/port/);
    const a = net.connect(otherPort, '127.0.0.1');
    await once(a, 'connect');
    expect(kernel(a)).toEqual({ enabled: true, ...pg });
    a.destroy();
    setDefaultKeepalive(redis, { ports: [otherPort], replace: true });
    const b = net.connect(otherPort, '127.0.0.1');
    const c = net.connect(netPort, '127.0.0.1');
    await Promise.all([once(b, 'connect'), once(c, 'connect')]);
    expect(kernel(b)).toEqual({ enabled: true, ...redis });
    // The replaced rule is gone entirely, its other port too.
    expect(kernel(c).enabled).toBe(false);
    b.destroy();
    c.destroy();
  });

  it('every port twice is a conflict too; rules for different directions are not', () => {
    setDefaultKeepalive(ours);
    expect(() => setDefaultKeepalive(pg)).toThrow(expect.objectContaining({ code: 'ERR_KEEPALIVE_RULE_EXISTS' }));
    expect(() => setDefaultKeepalive(pg, { direction: 'client' })).not.toThrow();
    expect(() => setDefaultKeepalive(pg, { replace: true })).not.toThrow();
  });

  it('the function a call returns removes that rule only', async () => {
    const removePg = setDefaultKeepalive(pg, { ports: netPort });
    setDefaultKeepalive(redis, { ports: otherPort });
    removePg();
    removePg();
    const a = net.connect(netPort, '127.0.0.1');
    const b = net.connect(otherPort, '127.0.0.1');
    await Promise.all([once(a, 'connect'), once(b, 'connect')]);
    expect(kernel(a).enabled).toBe(false);
    expect(kernel(b)).toEqual({ enabled: true, ...redis });
    a.destroy();
    b.destroy();
  });

  it('bad rule arguments are coded errors, inherited properties are not read, and nothing changes', async () => {
    expect(() => setDefaultKeepalive(ours, { ports: [0] })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => setDefaultKeepalive(ours, { ports: [] })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(() => setDefaultKeepalive(ours, { direction: 'up' as never })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(() => setDefaultKeepalive(ours, { prots: [5432] } as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(() => setDefaultKeepalive(new Boolean(false) as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(() => setDefaultKeepalive(ours, new Map() as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    const proto = Object.prototype as Record<string, unknown>;
    proto.ports = [1];
    proto.filter = () => false;
    try {
      setDefaultKeepalive(ours, {});
    } finally {
      delete proto.ports;
      delete proto.filter;
    }
    const a = net.connect(netPort, '127.0.0.1');
    await once(a, 'connect');
    // Neither the inherited ports nor the inherited filter were read.
    expect(kernel(a)).toEqual({ enabled: true, ...ours });
    a.destroy();
  });
});

describe('filters', () => {
  const warningsDuring = async (run: () => Promise<void>): Promise<(Error & { code?: string })[]> => {
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      await run();
      await new Promise((r) => setImmediate(r));
    } finally {
      process.off('warning', onWarning);
    }
    return warnings.filter((w) => (w as { code?: string }).code?.startsWith('TCP_KEEPALIVE_FILTER'));
  };

  const connectMany = async (n: number, port = netPort): Promise<net.Socket[]> => {
    const sockets = Array.from({ length: n }, () => net.connect(port, '127.0.0.1'));
    await Promise.all(sockets.map((s) => once(s, 'connect')));
    return sockets;
  };

  it.each([
    ['no return (undefined)', () => undefined],
    ['a Promise (an async filter)', async () => false],
    ['a truthy string', () => 'yes'],
  ])('answering %s leaves every connection alone and warns once for the filter', async (_what, filter) => {
    let sockets: net.Socket[] = [];
    const warnings = await warningsDuring(async () => {
      setDefaultKeepalive(ours, { filter: filter as never });
      sockets = await connectMany(5);
    });
    for (const s of sockets) expect(kernel(s).enabled).toBe(false);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.code).toBe('TCP_KEEPALIVE_FILTER_ANSWER');
    for (const s of sockets) s.destroy();
  });

  it('a filter that throws warns once for the filter, not once per connection', async () => {
    let sockets: net.Socket[] = [];
    const warnings = await warningsDuring(async () => {
      setDefaultKeepalive(ours, {
        filter: () => {
          throw new Error('boom');
        },
      });
      sockets = await connectMany(20);
    });
    for (const s of sockets) expect(kernel(s).enabled).toBe(false);
    expect(warnings.map((w) => w.code)).toEqual(['TCP_KEEPALIVE_FILTER_FAILED']);
    for (const s of sockets) s.destroy();
  });

  it('an explicit setKeepalive made inside the filter wins, even when the filter then says true', async () => {
    const mine = { idle: 7, interval: 7, count: 7 };
    setDefaultKeepalive(ours, {
      filter: ({ socket }) => {
        setKeepalive(socket, mine);
        return true;
      },
    });
    const client = net.connect(netPort, '127.0.0.1');
    await once(client, 'connect');
    expect(kernel(client)).toMatchObject({ enabled: true, ...mine });
    const accepted = await lastAccepted(netPort);
    await new Promise((r) => setImmediate(r));
    expect(kernel(accepted)).toMatchObject({ enabled: true, ...mine });
    client.destroy();
  });

  it('the filter can destructure and spread what it is given', async () => {
    const seen: { direction: string; socket?: unknown }[] = [];
    setDefaultKeepalive(ours, { filter: (info) => (seen.push({ ...info, socket: undefined }), info.direction === 'client') });
    const client = net.connect(netPort, '127.0.0.1');
    await once(client, 'connect');
    expect(seen.find((info) => info.direction === 'client')).toEqual(
      expect.objectContaining({ direction: 'client', remoteAddress: '127.0.0.1', remotePort: netPort, remoteFamily: 'IPv4', localAddress: '127.0.0.1', localPort: client.localPort }),
    );
    client.destroy();
  });
});

describe('listening sockets carry the defaults', () => {
  it('a rule without a filter goes on the listening socket once: accepted sockets inherit it', async () => {
    setDefaultKeepalive(ours, { direction: 'server' });
    const server = net.createServer((s) => s.on('error', () => {}));
    const port = await listen(server);
    expect(kernel(server)).toEqual({ enabled: true, ...ours });
    const client = net.connect(port, '127.0.0.1');
    const [accepted] = (await once(server, 'connection')) as [net.Socket];
    expect(kernel(accepted)).toEqual({ enabled: true, ...ours });
    // Accepted sockets are held like any other under the defaults.
    accepted.setKeepAlive(false);
    expect(kernel(accepted)).toEqual({ enabled: true, ...ours });
    client.destroy();
    server.close();
  });

  it('removing the rule gives the listening socket back what it had, and new connections are left alone', async () => {
    const server = net.createServer((s) => s.on('error', () => {}));
    const port = await listen(server);
    const before = kernel(server);
    const remove = setDefaultKeepalive(ours, { ports: port });
    // A server already listening when the rule came: the rule reaches it too.
    const first = net.connect(port, '127.0.0.1');
    const [a] = (await once(server, 'connection')) as [net.Socket];
    await new Promise((r) => setImmediate(r));
    expect(kernel(a)).toEqual({ enabled: true, ...ours });
    expect(kernel(server)).toEqual({ enabled: true, ...ours });
    remove();
    expect(kernel(server)).toEqual(before);
    const second = net.connect(port, '127.0.0.1');
    const [b] = (await once(server, 'connection')) as [net.Socket];
    expect(kernel(b).enabled).toBe(false);
    first.destroy();
    second.destroy();
    server.close();
  });

  it("a server's own setKeepalive wins over the rules", async () => {
    setDefaultKeepalive(ours);
    const server = net.createServer((s) => s.on('error', () => {}));
    const mine = { idle: 19, interval: 9, count: 2, userTimeout: 40_000 };
    setKeepalive(server, mine);
    const port = await listen(server);
    expect(kernel(server)).toEqual({ enabled: true, ...mine });
    const client = net.connect(port, '127.0.0.1');
    const [accepted] = (await once(server, 'connection')) as [net.Socket];
    expect(kernel(accepted)).toEqual({ enabled: true, ...mine });
    client.destroy();
    server.close();
  });
});
