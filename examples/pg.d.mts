// Types for pg.mjs, for TypeScript users of the recipe and for the tests.
import type { Duplex } from 'node:stream';
import type { Client, ClientConfig, Pool, PoolConfig } from 'pg';
import type { KeepaliveOptions } from 'tcp-keepalive';

export function keepaliveStream(settings?: KeepaliveOptions): () => Duplex;
export function connectClient(config: ClientConfig, settings?: KeepaliveOptions): Promise<Client>;
export function createPool(config: PoolConfig, settings?: KeepaliveOptions): Pool;
export function keepaliveToPort(port?: number, settings?: KeepaliveOptions): () => void;
