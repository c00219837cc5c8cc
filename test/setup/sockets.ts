// The facts of Node's own setKeepAlive that the driver tests compare against.

/**
 * What Node's socket.setKeepAlive(true, ms) sets besides the idle time, the
 * way every driver calls it (no interval or count given): libuv's fixed 1 s
 * and 10 probes. Measured the same on Node 20, 24 and 26.
 */
export const nodeProbes = { interval: 1, count: 10 } as const;
