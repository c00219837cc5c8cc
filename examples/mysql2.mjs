// MySQL and MariaDB with mysql2 (promise API): one connection, a pool, or
// every connection to the server's port. docs/recipes.md shows the region below.
// #region recipe
import net from 'node:net';
import mysql from 'mysql2/promise';
import { keepaliveFor, setDefaultKeepalive, setKeepalive } from 'tcp-keepalive';

// A server that vanishes is found within 90 s, whether the connection is idle
// or a query is in flight: { idle: 60, interval: 10, count: 3, userTimeout: 90000 }.
const keepalive = keepaliveFor(90);

// mysql2's own `stream` option: each connection (a pool's too, including
// those that replace idle ones it closed) opens its socket here, as the
// driver would, with the settings.
export function keepaliveStream(settings = keepalive) {
  return ({ config }) => {
    const socket = net.connect(config.port, config.host);
    socket.setNoDelay(true);
    setKeepalive(socket, settings);
    return socket;
  };
}

export async function connect(options, settings = keepalive) {
  const connection = await mysql.createConnection({ ...options, stream: keepaliveStream(settings) });
  // A dead server is now an error instead of a hang: without a listener it would end the process.
  connection.on('error', (error) => console.error('mysql connection lost:', error.message));
  return connection;
}

// The pool listens for its connections' errors itself and drops them.
export function createPool(options, settings = keepalive) {
  return mysql.createPool({ ...options, stream: keepaliveStream(settings) });
}

// Or leave the driver alone: every connection this process opens to the
// server's port. Returns a function that removes the rule.
export function keepaliveToPort(port = 3306, settings = keepalive) {
  return setDefaultKeepalive(settings, { ports: port, direction: 'client' });
}
// #endregion recipe
