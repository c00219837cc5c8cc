// Node's http.Agent and https.Agent (and agents built on them): every socket
// the agent opens, or every connection to the server's port.
// docs/recipes.md shows the region below.
// #region recipe
import { keepaliveFor, setDefaultKeepalive, setKeepalive } from 'tcp-keepalive';

// A server that vanishes is found within 90 s, whether the connection is idle
// or a request is in flight: { idle: 60, interval: 10, count: 3, userTimeout: 90000 }.
// A lost connection fails the request on it (its 'error' event); the agent
// already listens for errors on the sockets it keeps idle.
const keepalive = keepaliveFor(90);

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

// Or leave the agent alone: every connection this process opens to the
// server's port. Returns a function that removes the rule.
export function keepaliveToPort(port = 443, settings = keepalive) {
  return setDefaultKeepalive(settings, { ports: port, direction: 'client' });
}
// #endregion recipe
