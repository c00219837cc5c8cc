// Types for http-agent.mjs, for TypeScript users of the recipe and for the tests.
import type { Agent } from 'node:http';
import type { KeepaliveOptions } from 'tcp-keepalive';

export function withKeepalive<A extends Agent>(agent: A, settings?: KeepaliveOptions): A;
export function keepaliveToPort(port?: number, settings?: KeepaliveOptions): () => void;
