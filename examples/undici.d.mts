// Types for undici.mjs, for TypeScript users of the recipe and for the tests.
import type { Agent } from 'undici';
import type { KeepaliveOptions } from 'tcp-keepalive';

export function createAgent(options?: Agent.Options, settings?: KeepaliveOptions): Agent;
export function keepaliveToPort(port?: number, settings?: KeepaliveOptions): () => void;
