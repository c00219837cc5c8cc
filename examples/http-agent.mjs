// Node's http.Agent and https.Agent (and agents built on them): every socket
// the agent opens, or every connection to the server's port. The README's
// http.Agent recipe is the region below.
// #region recipe
import { setDefaultKeepalive, setKeepalive } from 'tcp-keepalive';

// A server that stops answering is dropped after 60 + 10 * 3 = 90 s.
const keepalive = { idle: 60, interval: 10, count: 3 };

// Wraps the agent's socket factory; the socket is still connecting and gets
// the settings as it connects. Works for http.Agent and https.Agent alike.
export function withKeepalive(agent, settings = keepalive) {
  const createConnection = agent.createConnection;
  agent.createConnection = function (...args) {
    const socket = createConnection.apply(this, args);
    if (socket) setKeepalive(socket, settings);
    return socket;
  };
  return agent;
}

// Or leave the agent alone: every connection this process opens to the server's port.
export function keepaliveToPort(port = 443, settings = keepalive) {
  setDefaultKeepalive(settings, {
    filter: ({ direction, remotePort }) => direction === 'client' && remotePort === port,
  });
}
// #endregion recipe
