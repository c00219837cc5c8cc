// PostgreSQL with node-postgres (pg): Client, Pool, or every connection to
// the server's port. The README's pg recipe is the region below.
// #region recipe
import pg from 'pg';
import { setDefaultKeepalive, setKeepalive } from 'tcp-keepalive';

// A server that stops answering is dropped after 60 + 10 * 3 = 90 s.
const keepalive = { idle: 60, interval: 10, count: 3 };

// One client: its socket exists before connect() and gets the settings as it connects.
export async function connectClient(config, settings = keepalive) {
  const client = new pg.Client(config);
  setKeepalive(client.connection.stream, settings);
  await client.connect();
  return client;
}

// A pool: every connection it opens, including those that replace retired ones.
export function createPool(config, settings = keepalive) {
  const pool = new pg.Pool(config);
  pool.on('connect', (client) => setKeepalive(client.connection.stream, settings));
  return pool;
}

// Or leave the driver alone: every connection this process opens to the server's port.
export function keepaliveToPort(port = 5432, settings = keepalive) {
  setDefaultKeepalive(settings, {
    filter: ({ direction, remotePort }) => direction === 'client' && remotePort === port,
  });
}
// #endregion recipe
