// node-postgres against a real PostgreSQL: the README's pg recipes, with the
// driver's own keepAlive option on, read back from the kernel.
import type net from 'node:net';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { connectClient, createPool, keepaliveToPort } from '../examples/pg.mjs';
import { setDefaultKeepalive } from '../src/index.js';
import { kernel, procDefaults } from './helpers.js';
import { useDatabase } from './setup/databases.js';
import { nodeProbes } from './setup/sockets.js';

const ours = { idle: 71, interval: 7, count: 5, userTimeout: 45_000 };

// pg's types leave out the connection's socket.
type Client = pg.Client & { connection: { stream: net.Socket } };

/** Runs a query and checks that the server saw it on this very socket. */
async function queryOn(client: pg.Client | pg.PoolClient): Promise<void> {
  const { rows } = await client.query<{ port: number }>('select inet_client_port() as port');
  expect(rows[0]!.port).toBe((client as Client).connection.stream.localPort);
}

describe('pg and PostgreSQL', () => {
  const server = useDatabase('postgres');
  // The driver's own option is on throughout, so the tests show the package's
  // values holding against it.
  const config = () => ({
    host: '127.0.0.1',
    port: server().port,
    user: 'postgres',
    database: 'postgres',
    keepAlive: true,
    keepAliveInitialDelayMillis: 3000,
  });
  afterEach(() => setDefaultKeepalive(false));

  it("the driver's own keepAlive: the idle time only, nothing for probes or a user timeout", async () => {
    const client = new pg.Client(config()) as Client;
    await client.connect();
    try {
      await queryOn(client);
      const k = kernel(client.connection.stream);
      expect(k).toEqual({ enabled: true, idle: 3, ...nodeProbes, userTimeout: 0 });
      console.log(`pg keepAlive + keepAliveInitialDelayMillis 3000 -> kernel ${JSON.stringify(k)}`);
    } finally {
      await client.end();
    }
  });

  it("the driver's keepAlive with its default delay of 0: keepalive on, at the system's 2-hour defaults", async () => {
    const client = new pg.Client({ ...config(), keepAliveInitialDelayMillis: undefined }) as Client;
    await client.connect();
    try {
      await queryOn(client);
      expect(kernel(client.connection.stream)).toEqual({ enabled: true, ...procDefaults(), userTimeout: 0 });
    } finally {
      await client.end();
    }
  });

  it("Client: the recipe's stream option, set before connect()", async () => {
    const client = (await connectClient(config(), ours)) as Client;
    try {
      await queryOn(client);
      expect(kernel(client.connection.stream)).toEqual({ enabled: true, ...ours });
    } finally {
      await client.end();
    }
  });

  it("Pool: every connection, including the ones that replace retired connections (maxUses: 1)", async () => {
    const pool = createPool({ ...config(), max: 2, maxUses: 1 }, ours);
    const ports = new Set<number>();
    try {
      for (let i = 0; i < 3; i++) {
        const client = await pool.connect();
        try {
          await queryOn(client);
          const stream = (client as unknown as Client).connection.stream;
          ports.add(stream.localPort!);
          expect(kernel(stream)).toEqual({ enabled: true, ...ours });
        } finally {
          client.release();
        }
      }
      // maxUses: 1 retired each connection after one use: three sockets.
      expect(ports.size).toBe(3);
    } finally {
      await pool.end();
    }
  });

  it("keepaliveToPort: a Pool that knows nothing of it, keeping the driver's shorter idle", async () => {
    keepaliveToPort(server().port, ours);
    const pool = new pg.Pool({ ...config(), max: 1, maxUses: 1 });
    try {
      for (let i = 0; i < 2; i++) {
        const client = await pool.connect();
        try {
          await queryOn(client);
          // The rule's interval, count and userTimeout hold; the driver's own 3 s idle, shorter, is kept.
          expect(kernel((client as unknown as Client).connection.stream)).toEqual({ enabled: true, ...ours, idle: 3 });
        } finally {
          client.release();
        }
      }
    } finally {
      await pool.end();
    }
  });
});
