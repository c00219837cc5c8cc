// Types for mysql2.mjs, for TypeScript users of the recipe and for the tests.
import type { Socket } from 'node:net';
import type { Connection, ConnectionOptions, Pool, PoolOptions } from 'mysql2/promise';
import type { KeepaliveOptions } from 'tcp-keepalive';

export function keepaliveStream(settings?: KeepaliveOptions): (opts: { config: { port?: number; host?: string } }) => Socket;
export function connect(options: ConnectionOptions, settings?: KeepaliveOptions): Promise<Connection>;
export function createPool(options: PoolOptions, settings?: KeepaliveOptions): Pool;
export function keepaliveToPort(port?: number, settings?: KeepaliveOptions): () => void;
