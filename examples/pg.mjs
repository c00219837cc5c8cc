// PostgreSQL with node-postgres (pg): Client, Pool, or every connection to
// the server's port. docs/recipes.md shows the region below.
// #region recipe
import net from 'node:net';
import pg from 'pg';
import { keepaliveFor, setDefaultKeepalive, setKeepalive } from 'tcp-keepalive';

// A server that vanishes is found within 90 s, whether the connection is idle
// or a query is in flight: { idle: 60, interval: 10, count: 3, userTimeout: 90000 }.
const keepalive = keepaliveFor(90);

// pg's own `stream` option: each socket a Client opens (a Pool's too, and
// those that replace retired ones) gets the settings as it connects.
export function keepaliveStream(settings = keepalive) {
  return () => {
    const socket = new net.Socket();
    setKeepalive(socket, settings);
    return socket;
  };
}

export async function connectClient(config, settings = keepalive) {
  const client = new pg.Client({ ...config, stream: keepaliveStream(settings) });
  // A dead server is now an error instead of a hang: without a listener it would end the process.
  client.on('error', (error) => console.error('postgres connection lost:', error.message));
  await client.connect();
  return client;
}

export function createPool(config, settings = keepalive) {
  const pool = new pg.Pool({ ...config, stream: keepaliveStream(settings) });
  // An idle client's lost connection is emitted here; the pool then drops that client.
  pool.on('error', (error) => console.error('idle postgres connection lost:', error.message));
  return pool;
}

// Or leave the driver alone: every connection this process opens to the
// server's port. Returns a function that removes the rule.
export function keepaliveToPort(port = 5432, settings = keepalive) {
  return setDefaultKeepalive(settings, { ports: port, direction: 'client' });
}
// #endregion recipe
