// Types for grpc.mjs, for TypeScript users of the recipe and for the tests.
import type { KeepaliveOptions } from 'tcp-keepalive';

export function keepaliveForGrpc(ports: { serverPorts?: number[]; listenPorts?: number[] }, settings?: KeepaliveOptions): () => void;
