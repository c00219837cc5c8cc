// undici, and Node's global fetch (which is undici inside): a dispatcher
// whose connector applies the settings, or every connection to the
// server's port. The README's undici recipe is the region below.
// #region recipe
import { Agent, buildConnector } from 'undici';
import { setDefaultKeepalive, setKeepalive } from 'tcp-keepalive';

// A server that stops answering is dropped after 60 + 10 * 3 = 90 s.
const keepalive = { idle: 60, interval: 10, count: 3 };

// An Agent whose connector applies the settings to each new socket (HTTP/1.1
// and, with allowH2, HTTP/2). Pass it as `dispatcher`, or make it what the
// global fetch uses with undici's setGlobalDispatcher(agent).
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
          return callback(failure, null);
        }
        callback(null, socket);
      });
    },
  });
}

// Or leave undici alone (fetch included): every connection this process opens to the server's port.
export function keepaliveToPort(port = 443, settings = keepalive) {
  setDefaultKeepalive(settings, {
    filter: ({ direction, remotePort }) => direction === 'client' && remotePort === port,
  });
}
// #endregion recipe
