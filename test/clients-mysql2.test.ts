// mysql2 against a real MariaDB: the README's mysql2 recipes, with the
// driver's own enableKeepAlive on, read back from the kernel.
import type net from 'node:net';
import mysql from 'mysql2/promise';
import { afterEach, describe, expect, it } from 'vitest';
import { connect, createPool, keepaliveToPort } from '../examples/mysql2.mjs';
import { setDefaultKeepalive } from '../src/index.js';
import { kernel, procDefaults } from './helpers.js';
import { useDatabase } from './setup/databases.js';
import { nodeProbes } from './setup/sockets.js';

const ours = { idle: 79, interval: 9, count: 6, userTimeout: 50_000 };

type Core = { stream: net.Socket; threadId: number };
const coreOf = (c: mysql.Connection | mysql.PoolConnection) => (c as unknown as { connection: Core }).connection;

/** Runs a query and checks that the server ran it for this very connection. */
async function queryOn(c: mysql.Connection | mysql.PoolConnection): Promise<net.Socket> {
  const [rows] = await c.query('select connection_id() as id');
  const core = coreOf(c);
  expect((rows as { id: number }[])[0]!.id).toBe(core.threadId);
  return core.stream;
}

describe('mysql2 and MariaDB', () => {
  const server = useDatabase('mariadb');
  const options = () => ({ host: '127.0.0.1', port: server().port, user: 'root', enableKeepAlive: true, keepAliveInitialDelay: 5000 });
  afterEach(() => setDefaultKeepalive(false));

  it("the driver's own enableKeepAlive: the idle time only, nothing for probes or a user timeout", async () => {
    const c = await mysql.createConnection(options());
    try {
      const k = kernel(await queryOn(c));
      expect(k).toEqual({ enabled: true, idle: 5, ...nodeProbes, userTimeout: 0 });
      console.log(`mysql2 enableKeepAlive + keepAliveInitialDelay 5000 -> kernel ${JSON.stringify(k)}`);
    } finally {
      await c.end();
    }
  });

  it("the driver's defaults (keepalive on, no delay): the system's 2-hour defaults", async () => {
    const c = await mysql.createConnection({ host: '127.0.0.1', port: server().port, user: 'root' });
    try {
      expect(kernel(await queryOn(c))).toEqual({ enabled: true, ...procDefaults(), userTimeout: 0 });
    } finally {
      await c.end();
    }
  });

  it('one connection: setKeepalive on connection.connection.stream', async () => {
    const c = await connect(options(), ours);
    try {
      expect(kernel(await queryOn(c))).toEqual({ enabled: true, ...ours });
    } finally {
      await c.end();
    }
  });

  it('a pool: every connection, including the ones that replace those it closed when idle', async () => {
    // maxIdle 0: the pool closes each connection within a second of its release.
    const pool = createPool({ ...options(), connectionLimit: 2, maxIdle: 0, idleTimeout: 100 }, ours);
    const ports = new Set<number>();
    try {
      for (let i = 0; i < 2; i++) {
        const c = await pool.getConnection();
        const stream = await queryOn(c);
        ports.add(stream.localPort!);
        expect(kernel(stream)).toEqual({ enabled: true, ...ours });
        c.release();
        await new Promise<void>((resolve) => stream.once('close', () => resolve()));
      }
      expect(ports.size).toBe(2);
    } finally {
      await pool.end();
    }
  });

  it("keepaliveToPort: a pool that knows nothing of it, keeping the driver's shorter idle", async () => {
    keepaliveToPort(server().port, ours);
    const pool = mysql.createPool({ ...options(), connectionLimit: 2 });
    try {
      const [a, b] = await Promise.all([pool.getConnection(), pool.getConnection()]);
      for (const c of [a!, b!]) {
        // The rule's interval, count and userTimeout hold; the driver's own 5 s idle, shorter, is kept.
        expect(kernel(await queryOn(c))).toEqual({ enabled: true, ...ours, idle: 5 });
        c.release();
      }
    } finally {
      await pool.end();
    }
  });
});
