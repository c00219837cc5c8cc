// setDefaultKeepalive: keepalive for every TCP connection the process opens
// or accepts from now on, without touching the code that opens them.
//
// Clients: every client connection in Node, whether from net.connect(),
// new net.Socket().connect() (pg), tls.connect(), http.Agent, undici/fetch or
// http2.connect(), goes through net.Socket.prototype.connect, so one wrapper
// there reaches them all on every Node line. The 'net.client.socket'
// diagnostics channel would be the gentler hook, but on Node 20 it misses
// new net.Socket().connect() and tls.connect(); using it as well would apply
// twice where it does fire. The wrapper only schedules work for 'connect',
// and while no defaults are set it is a single check.
//
// Servers: the 'net.server.socket' channel fires for every accepted socket
// of every net, tls, http, https and http2 server.
import diagnostics from 'node:diagnostics_channel';
import net from 'node:net';
import { invalidArgType } from './errors.js';
import { fromObject, type KeepaliveOptions, type Values } from './options.js';
import { isServerManaged } from './server.js';
import { isExplicit } from './pin.js';
import { applyToHandle } from './socket.js';
import { handleOf } from './target.js';
import { checkNewSocketValues } from './warnings.js';

export interface ConnectionInfo {
  /** 'client' for connections this process opened, 'server' for accepted ones. */
  direction: 'client' | 'server';
  remoteAddress: string | undefined;
  remotePort: number | undefined;
  remoteFamily: string | undefined;
  localAddress: string | undefined;
  localPort: number | undefined;
  socket: net.Socket;
}

export interface DefaultKeepaliveConfig {
  /** Return false to leave a connection as it is. Called once per connection. */
  filter?: (info: ConnectionInfo) => boolean;
}

interface Defaults {
  values: Values;
  filter: ((info: ConnectionInfo) => boolean) | undefined;
}

let current: Defaults | null = null;

const kScheduled = Symbol('tcp-keepalive.defaultScheduled');
type Scheduled = net.Socket & { [kScheduled]?: boolean };

function apply(socket: net.Socket, direction: ConnectionInfo['direction']): void {
  const defaults = current;
  if (defaults === null || socket.destroyed || isExplicit(socket)) return;
  const handle = handleOf(socket);
  if (!handle) return;
  if (defaults.filter) {
    let wanted: boolean;
    try {
      wanted = defaults.filter({
        direction,
        remoteAddress: socket.remoteAddress,
        remotePort: socket.remotePort,
        remoteFamily: socket.remoteFamily,
        localAddress: socket.localAddress,
        localPort: socket.localPort,
        socket,
      });
    } catch (error) {
      process.emitWarning(`setDefaultKeepalive filter threw; connection left as it is: ${String(error)}`, {
        type: 'TcpKeepaliveWarning',
        code: 'TCP_KEEPALIVE_FILTER_FAILED',
      });
      return;
    }
    if (!wanted) return;
  }
  try {
    applyToHandle(socket, handle, defaults.values);
  } catch (error) {
    // Not TCP (a Unix socket through net.connect({ path })) or no descriptor:
    // process-wide defaults apply to TCP connections only.
    const code = (error as { code?: string }).code;
    if (code === 'ERR_SOCKET_NOT_TCP' || code === 'ERR_SOCKET_NO_FD') return;
    socket.destroy(error as Error);
  }
}

function onClientConnect(this: Scheduled): void {
  this[kScheduled] = false;
  apply(this, 'client');
}

// What the wrapper calls: net.Socket.prototype.connect as it was when the
// wrapper went in, an APM agent's own wrapper included. The wrapper is put in
// once and stays, passing straight through while no defaults are set, so a
// wrapper added on top of it later is never cut out by taking it away.
let innerConnect: ((...args: unknown[]) => net.Socket) | null = null;

function connectWithDefaults(this: Scheduled, ...args: unknown[]): net.Socket {
  if (current !== null && !this[kScheduled]) {
    this[kScheduled] = true;
    this.prependOnceListener('connect', onClientConnect);
  }
  return innerConnect!.apply(this, args);
}

// Node publishes 'net.server.socket' only after the server's 'connection'
// listeners have run. So the first socket a server accepts is handled from
// the channel, and the server then gets a 'connection' listener of its own,
// ahead of the application's, for every socket after it.
const kListening = Symbol('tcp-keepalive.defaultsListener');
const kHandled = Symbol('tcp-keepalive.defaultsHandled');

type SeenServer = net.Server & { [kListening]?: boolean };

function onAccepted(server: net.Server | undefined, socket: net.Socket & { [kHandled]?: boolean }): void {
  if (socket[kHandled]) return;
  socket[kHandled] = true;
  // A server with settings of its own has handed them to this socket already.
  if (server && isServerManaged(server)) return;
  apply(socket, 'server');
}

function onServerConnection(this: net.Server, socket: net.Socket): void {
  if (current !== null) onAccepted(this, socket);
}

function onServerSocket(message: unknown): void {
  const socket = (message as { socket?: net.Socket }).socket;
  if (!socket) return;
  const server = (socket as { server?: SeenServer }).server;
  if (server && !server[kListening]) {
    server[kListening] = true;
    server.prependListener('connection', onServerConnection);
  }
  onAccepted(server, socket);
}

function install(): void {
  if (innerConnect === null) {
    innerConnect = net.Socket.prototype.connect as (...args: unknown[]) => net.Socket;
    net.Socket.prototype.connect = connectWithDefaults as typeof net.Socket.prototype.connect;
  }
  diagnostics.subscribe('net.server.socket', onServerSocket);
}

function uninstall(): void {
  diagnostics.unsubscribe('net.server.socket', onServerSocket);
}

/**
 * Applies keepalive settings to every TCP connection the process opens or
 * accepts from now on (those already open are left alone), pinned as
 * setKeepalive pins them. An explicit setKeepalive on a socket or server wins
 * over the defaults. `setDefaultKeepalive(false)` stops it.
 */
export function setDefaultKeepalive(options: KeepaliveOptions | false, config: DefaultKeepaliveConfig = {}): void {
  if (options === false) {
    if (current !== null) uninstall();
    current = null;
    return;
  }
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw invalidArgType('options', 'an object or false', options);
  }
  if (typeof config !== 'object' || config === null) throw invalidArgType('config', 'an object', config);
  const filter = config.filter;
  if (filter !== undefined && typeof filter !== 'function') throw invalidArgType('config.filter', 'a function', filter);
  const values = fromObject(options);
  checkNewSocketValues(values);
  const wasActive = current !== null;
  current = { values, filter };
  if (!wasActive) install();
}
