// Types for ioredis.mjs, for TypeScript users of the recipe and for the tests.
import type { Redis, RedisOptions } from 'ioredis';
import type { KeepaliveOptions } from 'tcp-keepalive';

export function createRedis(options: RedisOptions, settings?: KeepaliveOptions): Redis;
export function keepaliveToPort(port?: number, settings?: KeepaliveOptions): () => void;
