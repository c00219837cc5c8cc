// Redis with ioredis: the connection and every reconnection, or every
// connection to the server's port. The README's ioredis recipe is the region below.
// #region recipe
import Redis from 'ioredis';
import { setDefaultKeepalive, setKeepalive } from 'tcp-keepalive';

// A server that stops answering is dropped after 60 + 10 * 3 = 90 s.
const keepalive = { idle: 60, interval: 10, count: 3 };

// 'connect' fires for the first connection and again after each reconnection.
export function createRedis(options, settings = keepalive) {
  const redis = new Redis(options);
  redis.on('connect', () => setKeepalive(redis.stream, settings));
  return redis;
}

// Or leave the driver alone: every connection this process opens to the server's port.
export function keepaliveToPort(port = 6379, settings = keepalive) {
  setDefaultKeepalive(settings, {
    filter: ({ direction, remotePort }) => direction === 'client' && remotePort === port,
  });
}
// #endregion recipe
