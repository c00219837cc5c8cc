// MySQL and MariaDB with mysql2 (promise API): one connection, a pool, or
// every connection to the server's port. The README's mysql2 recipe is the
// region below.
// #region recipe
import mysql from 'mysql2/promise';
import { setDefaultKeepalive, setKeepalive } from 'tcp-keepalive';

// A server that stops answering is dropped after 60 + 10 * 3 = 90 s.
const keepalive = { idle: 60, interval: 10, count: 3 };

// One connection: connection.connection is the driver's own, with the socket.
export async function connect(options, settings = keepalive) {
  const connection = await mysql.createConnection(options);
  setKeepalive(connection.connection.stream, settings);
  return connection;
}

// A pool: every connection it opens, including those that replace idle ones it closed.
export function createPool(options, settings = keepalive) {
  const pool = mysql.createPool(options);
  pool.on('connection', (connection) => setKeepalive(connection.stream, settings));
  return pool;
}

// Or leave the driver alone: every connection this process opens to the server's port.
export function keepaliveToPort(port = 3306, settings = keepalive) {
  setDefaultKeepalive(settings, {
    filter: ({ direction, remotePort }) => direction === 'client' && remotePort === port,
  });
}
// #endregion recipe
