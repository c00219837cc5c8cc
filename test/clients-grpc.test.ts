// @grpc/grpc-js client and server in this process: the README's grpc-js
// recipe, with grpc-js's own keepalive (HTTP/2 PING) on, read back from the
// kernel on both ends of the connection. The server answers each call with
// the peer address it saw, which names the client's local port.
import * as grpc from '@grpc/grpc-js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { keepaliveForGrpc } from '../examples/grpc.mjs';
import { setDefaultKeepalive } from '../src/index.js';
import { cert, fdByLocalPort, fdsByRemotePort, kernel, key, procDefaults } from './helpers.js';

const ours = { idle: 89, interval: 13, count: 2, userTimeout: 30_000 };

const identity = (b: Buffer) => b;
const service = {
  peer: {
    path: '/tcpkeepalive.Test/Peer',
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
} satisfies grpc.ServiceDefinition;

type PeerClient = grpc.Client & {
  peer(req: Buffer, callback: (error: grpc.ServiceError | null, res?: Buffer) => void): grpc.ClientUnaryCall;
};
const PeerClient = grpc.makeGenericClientConstructor(service, 'Test') as unknown as new (
  address: string,
  credentials: grpc.ChannelCredentials,
  options?: grpc.ChannelOptions,
) => PeerClient;

// grpc-js's own keepalive, on both ends: HTTP/2 PING frames, not TCP keepalive.
const pings = { 'grpc.keepalive_time_ms': 10_000, 'grpc.keepalive_timeout_ms': 5_000 };

const servers: grpc.Server[] = [];
let insecurePort = 0;
let tlsPort = 0;

async function start(credentials: grpc.ServerCredentials): Promise<number> {
  const server = new grpc.Server(pings);
  server.addService(service, {
    peer: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => callback(null, Buffer.from(call.getPeer())),
  });
  servers.push(server);
  return new Promise((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', credentials, (error, port) => (error ? reject(error) : resolve(port))),
  );
}

beforeAll(async () => {
  insecurePort = await start(grpc.ServerCredentials.createInsecure());
  tlsPort = await start(grpc.ServerCredentials.createSsl(null, [{ private_key: key, cert_chain: cert }]));
});

afterAll(() => {
  for (const server of servers) server.forceShutdown();
});

afterEach(() => setDefaultKeepalive(false));

/** One call on a new channel; the client's and the server's ends of its connection. */
async function call(port: number, secure: boolean): Promise<{ client: number; server: number; close: () => void }> {
  const credentials = secure ? grpc.credentials.createSsl(cert) : grpc.credentials.createInsecure();
  // The certificate names localhost (and 127.0.0.1); naming it avoids TLS SNI with an IP address.
  const names = secure ? { 'grpc.ssl_target_name_override': 'localhost', 'grpc.default_authority': 'localhost' } : {};
  const client = new PeerClient(`127.0.0.1:${port}`, credentials, { ...pings, ...names });
  const peer = await new Promise<string>((resolve, reject) =>
    client.peer(Buffer.alloc(0), (error, res) => (error ? reject(error) : resolve(res!.toString()))),
  );
  const localPort = Number(/:(\d+)$/.exec(peer)![1]);
  const server = fdsByRemotePort(localPort);
  expect(server).toHaveLength(1);
  return { client: fdByLocalPort(localPort), server: server[0]!.fd, close: () => client.close() };
}

describe('@grpc/grpc-js', () => {
  it("grpc-js's own keepalive options leave TCP keepalive off on both ends", async () => {
    const { client, server, close } = await call(insecurePort, false);
    try {
      const defaults = { enabled: false, ...procDefaults(), userTimeout: 0 };
      expect(kernel(client)).toEqual(defaults);
      expect(kernel(server)).toEqual(defaults);
      console.log(`grpc-js grpc.keepalive_time_ms -> kernel client ${JSON.stringify(kernel(client))} server ${JSON.stringify(kernel(server))}`);
    } finally {
      close();
    }
  });

  it('keepaliveForGrpc: the client channel and the server, insecure', async () => {
    keepaliveForGrpc({ serverPorts: [insecurePort], listenPorts: [insecurePort] }, ours);
    const { client, server, close } = await call(insecurePort, false);
    try {
      expect(kernel(client)).toEqual({ enabled: true, ...ours });
      expect(kernel(server)).toEqual({ enabled: true, ...ours });
    } finally {
      close();
    }
  });

  it('keepaliveForGrpc: the client channel and the server, over TLS', async () => {
    keepaliveForGrpc({ serverPorts: [tlsPort], listenPorts: [tlsPort] }, ours);
    const { client, server, close } = await call(tlsPort, true);
    try {
      expect(kernel(client)).toEqual({ enabled: true, ...ours });
      expect(kernel(server)).toEqual({ enabled: true, ...ours });
    } finally {
      close();
    }
  });

  it('keepaliveForGrpc with the server port only: accepted connections get it, this process\'s channels do not', async () => {
    keepaliveForGrpc({ listenPorts: [insecurePort] }, ours);
    const { client, server, close } = await call(insecurePort, false);
    try {
      expect(kernel(server)).toEqual({ enabled: true, ...ours });
      expect(kernel(client).enabled).toBe(false);
    } finally {
      close();
    }
  });
});
