// undici, and Node's global fetch (which is undici inside): a dispatcher
// whose connector applies the settings, or every connection to the
// server's port. docs/recipes.md shows the region below.
// #region recipe
import { Agent, buildConnector } from 'undici';
import { keepaliveFor, setDefaultKeepalive, setKeepalive } from 'tcp-keepalive';

// A server that vanishes is found within 90 s, whether the connection is idle
// or a request is in flight: { idle: 60, interval: 10, count: 3, userTimeout: 90000 }.
// A lost connection fails the requests on it; undici opens a new one for the next.
const keepalive = keepaliveFor(90);

// An Agent whose connector applies the settings to each new socket (HTTP/1.1
// and, with allowH2, HTTP/2). Pass it as `dispatcher`, or make it what the
// global fetch uses with undici's setGlobalDispatcher(agent).
/** @param {import('undici').Agent.Options} [options] */
export function createAgent(options = {}, settings = keepalive) {
  // undici would build this connector itself from these options.
  const connect = buildConnector({ allowH2: options.allowH2, ...options.connect });
  return new Agent({
    ...options,
    connect(opts, callback) {
      connect(opts, (error, socket) => {
        if (error) return callback(error, null);
        try {
          setKeepalive(socket, settings);
        } catch (failure) {
          socket.destroy();
          return callback(/** @type {Error} */ (failure), null);
        }
        callback(null, socket);
      });
    },
  });
}

// Or leave undici alone (fetch included): every connection this process
// opens to the server's port. Returns a function that removes the rule.
export function keepaliveToPort(port = 443, settings = keepalive) {
  return setDefaultKeepalive(settings, { ports: port, direction: 'client' });
}
// #endregion recipe
