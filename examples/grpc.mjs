// gRPC with @grpc/grpc-js: the library opens and accepts its sockets itself
// and hands none of them out, so the settings go by port, for the client
// channel and for the server. docs/recipes.md shows the region below.
// #region recipe
import { keepaliveFor, setDefaultKeepalive } from 'tcp-keepalive';

// A peer that vanishes is found within 90 s, whether the connection is idle
// or a call is in flight: { idle: 60, interval: 10, count: 3, userTimeout: 90000 }.
// grpc-js fails the calls on a lost connection and reconnects by itself.
const keepalive = keepaliveFor(90);

// Client channels to these server ports, and connections accepted on these
// local ports (the port passed to server.bindAsync). Returns a function that
// removes both rules.
export function keepaliveForGrpc({ serverPorts = [], listenPorts = [] }, settings = keepalive) {
  const removers = [];
  if (serverPorts.length > 0) removers.push(setDefaultKeepalive(settings, { ports: serverPorts, direction: 'client' }));
  if (listenPorts.length > 0) removers.push(setDefaultKeepalive(settings, { ports: listenPorts, direction: 'server' }));
  return () => removers.forEach((remove) => remove());
}
// #endregion recipe
