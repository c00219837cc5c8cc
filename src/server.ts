// Servers: the listening socket carries the settings and the kernel copies
// them into each accepted socket, so accepting costs no system call; the
// hooks only mark each accepted handle as managed. What the platform does
// not copy (macOS leaves out the idle time), or all of it where the listener
// has no descriptor of its own (a cluster worker under round-robin), is set
// on each accepted socket as it arrives.
import net from 'node:net';
import { codedError } from './errors.js';
import { watchAccepts } from './hooks.js';
import { manage, type Mode } from './managed.js';
import { LEAVE, merge, type Values } from './options.js';
import { platform } from './platform.js';
import { readFd, writeValues } from './socket.js';
import { handleOf, isPipe, notTcp, tcpFd, type Handle } from './target.js';
import { checkApplied, warn } from './warnings.js';
import { install } from './work.js';

const kServer = Symbol('tcp-keepalive.server');
const kListener = Symbol('tcp-keepalive.listener');

/** What setKeepalive asked of a server: everything so far, merged. */
interface ServerState {
  values: Values;
}

/** What a listening handle does with each connection it accepts. */
export interface ListenerState {
  /** How accepted handles are marked; undefined leaves them alone. */
  accepted: Mode | undefined;
  /** What each accepted socket needs set on it, or null when the kernel copies it all. */
  perConnection: Values | null;
  /** The server, for messages: a cluster worker's listener has no owner to ask. */
  server: net.Server;
}

type WithState = net.Server & { [kServer]?: ServerState };
type Listening = Handle & { [kListener]?: ListenerState };

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

/** Whether the listener has a descriptor this package can set. */
export function listenerHasFd(handle: Handle): boolean {
  return platform().descriptors && typeof handle.fd === 'number' && handle.fd >= 0;
}

/**
 * Puts values on a listening handle (where it has a descriptor) and records
 * what its accepted connections need. Throws before changing anything.
 */
export function applyToListener(server: net.Server, handle: Handle, values: Values, mode: Mode): void {
  if (isPipe(handle)) throw notTcp(server, 'unix');
  const hasFd = listenerHasFd(handle);
  if (hasFd) {
    writeValues(server, handle, values);
    checkApplied(server, handle, values);
  }
  setListenerState(handle, { accepted: values.enabled ? mode : undefined, perConnection: notInherited(values, hasFd), server });
}

export function setListenerState(handle: Handle, state: ListenerState | undefined): void {
  (handle as Listening)[kListener] = state;
  watchAccepts(handle);
}

export function listenerState(handle: Handle): ListenerState | undefined {
  return (handle as Listening)[kListener];
}

/** The hooks' call for each accepted handle, before Node makes a socket of it. */
export function onAccepted(serverHandle: Handle, clientHandle: Handle): void {
  const state = (serverHandle as Listening)[kListener];
  if (state?.accepted === undefined) return;
  if (state.perConnection) {
    try {
      writeValues(state.server, clientHandle, state.perConnection);
    } catch (error) {
      // No socket exists yet to fail; the connection stays as accepted, unmanaged.
      warn(`keepalive could not be set on an accepted connection: ${(error as Error).message}`, (error as { code?: string }).code ?? 'ERR_KEEPALIVE_ACCEPT');
      return;
    }
  }
  manage(clientHandle, state.accepted);
}

/** The hooks' call as a server starts listening: its own settings, if it has any. */
export function onServerListening(server: net.Server, handle: Handle): boolean {
  const state = (server as WithState)[kServer];
  if (!state) return false;
  try {
    applyToListener(server, handle, state.values, 'explicit');
  } catch (error) {
    // Nothing to throw to, and the server is healthy: the settings are
    // refused with a warning that says why, and the server listens on.
    delete (server as WithState)[kServer];
    const e = error as Error & { code?: string };
    warn(`setKeepalive(server) was called before listen(), and cannot apply: ${e.message}`, e.code ?? 'ERR_KEEPALIVE_LISTEN');
  }
  return true;
}

export function setServer(server: net.Server, values: Values): void {
  install();
  const state = (server as WithState)[kServer];
  const merged = state ? merge(state.values, values) : values;
  const handle = handleOf(server);
  // Validate and apply before touching any state, so a failure changes nothing.
  if (server.listening && handle) applyToListener(server, handle, merged, 'explicit');
  (server as WithState)[kServer] = { values: merged };
}

/** Whether setKeepalive was called on this server (to turn it on or off). */
export function isServerManaged(server: net.Server): boolean {
  return (server as WithState)[kServer] !== undefined;
}

export function getServer(server: net.Server): ReturnType<typeof readFd> {
  const handle = handleOf(server);
  if (!server.listening || !handle) {
    throw codedError('ERR_SERVER_NOT_RUNNING', `The ${server.constructor.name} is not listening; read its keepalive after 'listening'`);
  }
  return readFd(tcpFd(server, handle));
}
