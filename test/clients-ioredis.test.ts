// ioredis against a real Redis: the README's ioredis recipes, with the
// driver's own keepAlive option on, read back from the kernel.
import { once } from 'node:events';
import type net from 'node:net';
import Redis from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { createRedis, keepaliveToPort } from '../examples/ioredis.mjs';
import { setDefaultKeepalive } from '../src/index.js';
import { kernel } from './helpers.js';
import { useDatabase } from './setup/databases.js';
import { nodeProbes } from './setup/sockets.js';

const ours = { idle: 73, interval: 8, count: 4, userTimeout: 40_000 };

/** Runs commands and checks that the server saw them on this very socket. */
async function commandsOn(redis: Redis): Promise<net.Socket> {
  await redis.set('tcp-keepalive', 'yes');
  expect(await redis.get('tcp-keepalive')).toBe('yes');
  const info = (await redis.call('CLIENT', 'INFO')) as string;
  const stream = redis.stream as net.Socket;
  expect(info).toContain(`addr=127.0.0.1:${stream.localPort} `);
  return stream;
}

describe('ioredis and Redis', () => {
  const server = useDatabase('redis');
  // ioredis's keepAlive is a number of milliseconds (30000 unless given).
  const options = () => ({ host: '127.0.0.1', port: server().port, keepAlive: 4000 });
  afterEach(() => setDefaultKeepalive(false));

  it("the driver's own keepAlive: the idle time only, nothing for probes or a user timeout", async () => {
    const redis = new Redis(options());
    try {
      const k = kernel(await commandsOn(redis));
      expect(k).toEqual({ enabled: true, idle: 4, ...nodeProbes, userTimeout: 0 });
      console.log(`ioredis keepAlive 4000 -> kernel ${JSON.stringify(k)}`);
    } finally {
      redis.disconnect();
    }
  });

  it("the driver's default keepAlive (30000 ms)", async () => {
    const redis = new Redis({ host: '127.0.0.1', port: server().port });
    try {
      const k = kernel(await commandsOn(redis));
      expect(k).toEqual({ enabled: true, idle: 30, ...nodeProbes, userTimeout: 0 });
      console.log(`ioredis default keepAlive -> kernel ${JSON.stringify(k)}`);
    } finally {
      redis.disconnect();
    }
  });

  it("the 'connect' recipe: the first connection and the one after a reconnection", async () => {
    const redis = createRedis(options(), ours);
    try {
      const first = await commandsOn(redis);
      expect(kernel(first)).toEqual({ enabled: true, ...ours });
      // The server drops the connection; ioredis reconnects on its own.
      const reconnected = once(redis, 'ready');
      // SKIPME no: by default a client may not kill itself.
      await redis.call('CLIENT', 'KILL', 'ID', String(await redis.call('CLIENT', 'ID')), 'SKIPME', 'no').catch(() => {});
      await reconnected;
      const second = await commandsOn(redis);
      expect(second).not.toBe(first);
      expect(second.localPort).not.toBe(first.localPort);
      expect(kernel(second)).toEqual({ enabled: true, ...ours });
    } finally {
      redis.disconnect();
    }
  });

  it("keepaliveToPort: a client that knows nothing of it, keeping the driver's shorter idle", async () => {
    keepaliveToPort(server().port, ours);
    const redis = new Redis(options());
    try {
      // The rule's interval, count and userTimeout hold; the driver's own 4 s idle, shorter, is kept.
      expect(kernel(await commandsOn(redis))).toEqual({ enabled: true, ...ours, idle: 4 });
    } finally {
      redis.disconnect();
    }
  });
});
