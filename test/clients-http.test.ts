// HTTP clients against in-process HTTP/1.1, HTTPS and HTTP/2 servers: the
// README's http.Agent and undici recipes, with each client's own keepalive
// on, read back from the kernel. Every server answers with the remote port
// it saw, which is the client's local port: the socket the request really
// went over, found in this process by that port.
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import type net from 'node:net';
import { Agent, getGlobalDispatcher, request, setGlobalDispatcher } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { keepaliveToPort as agentToPort, withKeepalive } from '../examples/http-agent.mjs';
import { createAgent, keepaliveToPort as undiciToPort } from '../examples/undici.mjs';
import { setDefaultKeepalive } from '../src/index.js';
import { cert, fdByLocalPort, kernel, key, listen } from './helpers.js';
import { nodeProbes } from './setup/sockets.js';

// Where Bun truly differs from Node, a test is skipped there with its reason.
const underBun = process.versions.bun !== undefined;

const ours = { idle: 83, interval: 11, count: 3, userTimeout: 35_000 };

function answer(req: http.IncomingMessage | http2.Http2ServerRequest, res: http.ServerResponse | http2.Http2ServerResponse): void {
  res.setHeader('x-http-version', req.httpVersion);
  res.end(String(req.socket.remotePort));
}

const servers: net.Server[] = [];
let httpPort = 0;
let httpsPort = 0;
let h2Port = 0;

beforeAll(async () => {
  const add = async (server: net.Server) => {
    servers.push(server);
    return listen(server);
  };
  httpPort = await add(http.createServer(answer));
  httpsPort = await add(https.createServer({ key, cert }, answer));
  // TLS with ALPN: what undici needs for HTTP/2 (it does not speak h2c by default).
  h2Port = await add(http2.createSecureServer({ key, cert }, answer) as unknown as net.Server);
});

afterAll(() => {
  for (const server of servers) {
    (server as { closeAllConnections?: () => void }).closeAllConnections?.();
    server.close();
  }
});

afterEach(() => setDefaultKeepalive(false));

/** The kernel's view of the client socket whose local port the server reported. */
const clientSide = (body: string) => kernel(fdByLocalPort(Number(body)));

function get(url: string, agent: http.Agent): Promise<string> {
  const mod = url.startsWith('https:') ? https : http;
  return new Promise((resolve, reject) => {
    mod
      .get(url, { agent, ca: cert }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d: string) => (body += d));
        res.on('end', () => resolve(body));
      })
      .on('error', reject);
  });
}

describe('http.Agent and https.Agent', () => {
  it("the agent's own keepAlive: the idle time (keepAliveMsecs) only", async () => {
    const agent = new http.Agent({ keepAlive: true, keepAliveMsecs: 6000 });
    try {
      const k = clientSide(await get(`http://127.0.0.1:${httpPort}/`, agent));
      expect(k).toEqual({ enabled: true, idle: 6, ...nodeProbes, userTimeout: 0 });
      console.log(`http.Agent keepAlive + keepAliveMsecs 6000 -> kernel ${JSON.stringify(k)}`);
    } finally {
      agent.destroy();
    }
  });

  it("Node's global agent as it comes (keepAlive on, keepAliveMsecs 1000): probes after 1 s idle", async () => {
    const k = clientSide(await get(`http://127.0.0.1:${httpPort}/`, http.globalAgent));
    expect(k).toEqual({ enabled: true, idle: 1, ...nodeProbes, userTimeout: 0 });
    console.log(`http.globalAgent default -> kernel ${JSON.stringify(k)}`);
  });

  it('withKeepalive(http.Agent): the settings hold over the agent\'s own keepAlive, on reused sockets too', async () => {
    const agent = withKeepalive(new http.Agent({ keepAlive: true, keepAliveMsecs: 6000, maxSockets: 1 }), ours);
    try {
      const first = await get(`http://127.0.0.1:${httpPort}/`, agent);
      // The agent calls setKeepAlive again each time it takes a socket back.
      const second = await get(`http://127.0.0.1:${httpPort}/`, agent);
      expect(second).toBe(first);
      expect(clientSide(second)).toEqual({ enabled: true, ...ours });
    } finally {
      agent.destroy();
    }
  });

  it('withKeepalive(https.Agent): TLS sockets', async () => {
    const agent = withKeepalive(new https.Agent({ keepAlive: true, keepAliveMsecs: 6000 }), ours);
    try {
      expect(clientSide(await get(`https://127.0.0.1:${httpsPort}/`, agent))).toEqual({ enabled: true, ...ours });
    } finally {
      agent.destroy();
    }
  });

  it("keepaliveToPort: an agent that knows nothing of it, keeping the agent's shorter idle", async () => {
    agentToPort(httpsPort, ours);
    const agent = new https.Agent({ keepAlive: true, keepAliveMsecs: 6000 });
    const other = new http.Agent({ keepAlive: true, keepAliveMsecs: 6000 });
    try {
      // The rule's interval, count and userTimeout hold; the agent's own 6 s idle, shorter, is kept.
      expect(clientSide(await get(`https://127.0.0.1:${httpsPort}/`, agent))).toEqual({ enabled: true, ...ours, idle: 6 });
      // Another port: left to the agent's own setting.
      expect(clientSide(await get(`http://127.0.0.1:${httpPort}/`, other))).toMatchObject({ enabled: true, idle: 6 });
    } finally {
      agent.destroy();
      other.destroy();
    }
  });
});

// Bun replaces the undici package with its own built-in module, and its fetch is native.
describe.skipIf(underBun)('undici and fetch', () => {
  async function body(url: string, dispatcher: Agent): Promise<string> {
    const res = await request(url, { dispatcher });
    return res.body.text();
  }

  it("undici's own keepAliveInitialDelay: the idle time only", async () => {
    const agent = new Agent({ connect: { keepAliveInitialDelay: 7000 } });
    try {
      const k = clientSide(await body(`http://127.0.0.1:${httpPort}/`, agent));
      expect(k).toEqual({ enabled: true, idle: 7, ...nodeProbes, userTimeout: 0 });
      console.log(`undici connect.keepAliveInitialDelay 7000 -> kernel ${JSON.stringify(k)}`);
    } finally {
      await agent.close();
    }
  });

  it("Node's global fetch as it comes: keepalive after 60 s idle", async () => {
    const res = await fetch(`http://127.0.0.1:${httpPort}/`);
    const k = clientSide(await res.text());
    expect(k).toEqual({ enabled: true, idle: 60, ...nodeProbes, userTimeout: 0 });
    console.log(`global fetch default -> kernel ${JSON.stringify(k)}`);
  });

  it('createAgent: HTTP/1.1', async () => {
    const agent = createAgent({}, ours);
    try {
      expect(clientSide(await body(`http://127.0.0.1:${httpPort}/`, agent))).toEqual({ enabled: true, ...ours });
    } finally {
      await agent.close();
    }
  });

  it('createAgent: HTTPS, and HTTP/2 with allowH2', async () => {
    const agent = createAgent({ connect: { ca: cert }, allowH2: true }, ours);
    try {
      expect(clientSide(await body(`https://127.0.0.1:${httpsPort}/`, agent))).toEqual({ enabled: true, ...ours });
      const res = await request(`https://127.0.0.1:${h2Port}/`, { dispatcher: agent });
      const text = await res.body.text();
      expect(res.headers['x-http-version']).toBe('2.0');
      expect(clientSide(text)).toEqual({ enabled: true, ...ours });
    } finally {
      await agent.close();
    }
  });

  it("createAgent as the global dispatcher: Node's own fetch uses it", async () => {
    const previous = getGlobalDispatcher();
    const agent = createAgent({}, ours);
    setGlobalDispatcher(agent);
    try {
      const res = await fetch(`http://127.0.0.1:${httpPort}/`);
      expect(clientSide(await res.text())).toEqual({ enabled: true, ...ours });
    } finally {
      setGlobalDispatcher(previous);
      await agent.close();
    }
  });

  it("keepaliveToPort: fetch as it comes, keeping undici's shorter idle", async () => {
    // A server of its own: fetch's pool may still hold a connection to the others.
    const server = http.createServer(answer);
    const port = await listen(server);
    try {
      undiciToPort(port, ours);
      const res = await fetch(`http://127.0.0.1:${port}/`);
      // undici asks for 60 s itself (keepAliveInitialDelay's default): shorter than the rule's, so kept.
      expect(clientSide(await res.text())).toEqual({ enabled: true, ...ours, idle: 60 });
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});
