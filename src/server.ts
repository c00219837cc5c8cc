// Servers: the listening socket carries the settings and the kernel copies
// them into each accepted socket, so accepting costs no system call. What
// the platform does not copy (macOS leaves out the idle time), or all of it
// where the listener has no descriptor of its own (a cluster worker under
// round-robin), is set on each accepted socket as it arrives.
import type net from 'node:net';
import { codedError } from './errors.js';
import { binding } from './native.js';
import { LEAVE, merge, type Values } from './options.js';
import { pinHandle, pinSocket } from './pin.js';
import { platform } from './platform.js';
import { readFd, setSocket, type KeepaliveSettings } from './socket.js';
import { handleOf, tcpFd, tcpHandle } from './target.js';

const kServer = Symbol('tcp-keepalive.server');

interface ServerState {
  /** Everything asked for so far, merged; applied at 'listening'. */
  values: Values;
  /** What each accepted socket still needs, or null when the kernel copies it all. */
  perConnection: Values | null;
  /** The server's own keepAlive option, switched off while the package holds the settings. */
  nodeKeepAlive: boolean | undefined;
}

type WithState = net.Server & { [kServer]?: ServerState; keepAlive?: boolean };

/** The fields of values the kernel will not copy from the listener. */
function notInherited(values: Values, listenerSet: boolean): Values | null {
  if (!values.enabled) return null;
  const inherited = platform().inherited;
  const keep = (name: keyof Values, value: number): number => (listenerSet && inherited[name] ? LEAVE : value);
  const rest: Values = {
    enabled: keep('enabled', values.enabled),
    idle: keep('idle', values.idle),
    interval: keep('interval', values.interval),
    count: keep('count', values.count),
    userTimeout: keep('userTimeout', values.userTimeout),
  };
  const needed = rest.enabled !== LEAVE || rest.idle !== LEAVE || rest.interval !== LEAVE || rest.count !== LEAVE || rest.userTimeout !== LEAVE;
  return needed ? { ...rest, enabled: 1 } : null;
}

function onConnection(this: WithState, socket: net.Socket): void {
  const state = this[kServer];
  if (!state || !state.values.enabled) return;
  try {
    if (state.perConnection) {
      setSocket(socket, state.perConnection);
    } else {
      // The kernel copied the settings already; only hold them in place.
      pinSocket(socket, false);
      const handle = handleOf(socket);
      if (handle) pinHandle(tcpHandle(handle));
    }
  } catch (error) {
    socket.destroy(error as Error);
  }
}

function apply(server: WithState, state: ServerState): void {
  const handle = handleOf(server);
  const fd = handle?.fd;
  // Windows has a listening descriptor only inside libuv: nothing to set there.
  const hasFd = platform().descriptors && typeof fd === 'number' && fd >= 0;
  if (handle && hasFd) {
    const v = state.values;
    binding.set(tcpFd(server, handle), v.enabled, v.idle, v.interval, v.count, v.userTimeout);
  }
  state.perConnection = notInherited(state.values, hasFd);
}

function onListening(this: WithState): void {
  const state = this[kServer];
  if (!state) return;
  try {
    apply(this, state);
  } catch (error) {
    // Nothing to throw to: report on 'error' where someone listens, else as
    // a process warning, never as an uncaught exception.
    if (this.listenerCount('error') > 0) this.emit('error', error);
    else process.emitWarning(error as Error);
  }
}

export function setServer(server: WithState, values: Values): void {
  let state = server[kServer];
  const fresh = state === undefined;
  const merged = state ? merge(state.values, values) : values;
  const next: ServerState = {
    values: merged,
    perConnection: state?.perConnection ?? null,
    nodeKeepAlive: state?.nodeKeepAlive,
  };
  if (server.listening) {
    // Validate and apply before touching any state, so a failure changes nothing.
    apply(server, next);
  }
  state = next;
  server[kServer] = state;
  if (fresh) {
    server.prependListener('listening', onListening);
    server.prependListener('connection', onConnection);
  }
  if (merged.enabled) {
    if (state.nodeKeepAlive === undefined && typeof server.keepAlive === 'boolean') {
      state.nodeKeepAlive = server.keepAlive;
      server.keepAlive = false;
    }
  } else {
    if (state.nodeKeepAlive !== undefined) server.keepAlive = state.nodeKeepAlive;
    state.nodeKeepAlive = undefined;
  }
}

/** Whether setKeepalive was called on this server (to turn it on or off). */
export function isServerManaged(server: net.Server): boolean {
  return (server as WithState)[kServer] !== undefined;
}

export function getServer(server: net.Server): KeepaliveSettings {
  const handle = handleOf(server);
  if (!server.listening || !handle) {
    throw codedError('ERR_SERVER_NOT_RUNNING', `The ${server.constructor.name} is not listening; read its keepalive after 'listening'`);
  }
  return readFd(tcpFd(server, handle));
}
