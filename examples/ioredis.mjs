// Redis with ioredis: the connection and every reconnection, or every
// connection to the server's port. docs/recipes.md shows the region below.
// #region recipe
import { Redis } from 'ioredis';
import { keepaliveFor, setDefaultKeepalive, setKeepalive } from 'tcp-keepalive';

// A server that vanishes is found within 90 s, whether the connection is idle
// or a command is in flight: { idle: 60, interval: 10, count: 3, userTimeout: 90000 }.
const keepalive = keepaliveFor(90);

// 'connect' fires for the first connection and again after each reconnection.
export function createRedis(options, settings = keepalive) {
  const redis = new Redis(options);
  // A dead server is now an error (and a reconnect) instead of a hang.
  redis.on('error', (error) => console.error('redis connection lost:', error.message));
  redis.on('connect', () => setKeepalive(redis.stream, settings));
  return redis;
}

// Or leave the driver alone: every connection this process opens to the
// server's port. Returns a function that removes the rule.
export function keepaliveToPort(port = 6379, settings = keepalive) {
  return setDefaultKeepalive(settings, { ports: port, direction: 'client' });
}
// #endregion recipe
