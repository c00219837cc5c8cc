// MySQL and MariaDB with mysql2 (promise API): one connection, a pool, or
// every connection to the server's port. docs/recipes.md shows the region below.
// #region recipe
import mysql from 'mysql2/promise';
import { keepaliveFor, setDefaultKeepalive, setKeepalive } from 'tcp-keepalive';

// A server that vanishes is found within 90 s, whether the connection is idle
// or a query is in flight: { idle: 60, interval: 10, count: 3, userTimeout: 90000 }.
const keepalive = keepaliveFor(90);

// One connection: connection.connection is the driver's own, with the socket.
export async function connect(options, settings = keepalive) {
  const connection = await mysql.createConnection(options);
  // A dead server is now an error instead of a hang: without a listener it would end the process.
  connection.on('error', (error) => console.error('mysql connection lost:', error.message));
  setKeepalive(connection.connection.stream, settings);
  return connection;
}

// A pool: every connection it opens, including those that replace idle ones
// it closed. The pool listens for its connections' errors and drops them.
export function createPool(options, settings = keepalive) {
  const pool = mysql.createPool(options);
  pool.on('connection', (connection) => setKeepalive(connection.stream, settings));
  return pool;
}

// Or leave the driver alone: every connection this process opens to the
// server's port. Returns a function that removes the rule.
export function keepaliveToPort(port = 3306, settings = keepalive) {
  return setDefaultKeepalive(settings, { ports: port, direction: 'client' });
}
// #endregion recipe
