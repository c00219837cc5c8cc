// gRPC with @grpc/grpc-js: the library opens and accepts its sockets itself
// and hands none of them out, so the settings go by port, for the client
// channel and for the server. The README's grpc-js recipe is the region below.
// #region recipe
import { setDefaultKeepalive } from 'tcp-keepalive';

// A peer that stops answering is dropped after 60 + 10 * 3 = 90 s.
const keepalive = { idle: 60, interval: 10, count: 3 };

// Client channels to these server ports, and connections accepted on these
// local ports (the port passed to server.bindAsync).
export function keepaliveForGrpc({ serverPorts = [], listenPorts = [] }, settings = keepalive) {
  setDefaultKeepalive(settings, {
    filter: ({ direction, remotePort, localPort }) =>
      direction === 'client' ? serverPorts.includes(remotePort) : listenPorts.includes(localPort),
  });
}
// #endregion recipe
