// Where the package meets Node: a few wrappers on prototypes, put in once,
// on first use, and never taken out (a wrapper someone else puts on top of
// ours later keeps working). Each one costs a property read on sockets the
// package does not manage, and nothing it keeps is visible on a socket: the
// state lives on Node's TCP handle under symbols (managed.ts).
//
// - TCP handle setKeepAlive: every path to SO_KEEPALIVE and TCP_KEEPIDLE goes
//   through it (socket.setKeepAlive from the application or a driver, the
//   keepAlive option of net.connect and of servers, TLSWrap's proxy), so a
//   managed handle holds its settings whatever calls it.
// - TCP handle connect/connect6: the request's completion callback runs the
//   package's work once the connection is up and before Node's afterConnect,
//   so settings are in place before Node applies its own keepAlive option and
//   before any 'connect' listener runs.
// - TCP handle listen, and net.Server's _listen2 for listeners that are not
//   TCP handles: a server's settings go on the listening socket before it
//   listens, and the handle's onconnection marks each accepted handle.
// - net.Socket's _destroy: a managed connection's kernel state (TCP_INFO) is
//   read before Node closes the descriptor, for the report of why it died.
//
// Bun builds net on its own sockets, with Node's request shape on top: the
// same points are its client handlers' open (which completes the connect
// request), its listening Server's kRealListen, the handle's onconnection
// and the setKeepAlive of each handle class (taking milliseconds there).
// Bun publishes no 'net.server.socket', so a server that was listening
// before the package's first use is seen at its 'connection' event instead.
import net from 'node:net';
import { adoptBunListener, runtime } from './runtime.js';
import type { Handle } from './target.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Method = (this: any, ...args: any[]) => unknown;
type Proto = Record<string, unknown>;

/** What the hooks call; filled in by the modules that do the work. */
export interface Handlers {
  /** A managed handle's setKeepAlive was called: decide, return true when handled. */
  setKeepAlive(handle: Handle, enable: boolean, delay: number): boolean;
  /** An outgoing connection is up (status 0), before Node's afterConnect. */
  connected(socket: net.Socket, handle: Handle, address: string, port: number, family: 'IPv4' | 'IPv6'): void;
  /** A server is about to listen on handle (a TCP handle, or another kind when tcp is false). */
  listening(server: net.Server, handle: Handle, tcp: boolean): void;
  /** A listener accepted clientHandle, before Node makes a socket of it. */
  accepted(serverHandle: Handle, clientHandle: Handle): void;
  /** A socket is being destroyed with an error, its descriptor still open. */
  destroying(socket: net.Socket, error: Error): void;
}

let handlers: Handlers | undefined;

/** Node's own methods, as they were before the hooks went in. */
export const originals: { setKeepAlive?: Method } = {};

// Each handle class's own setKeepAlive, where there are several (Bun).
const ownSetKeepAlive = new WeakMap<object, Method>();

/** The runtime's own setKeepAlive for this handle, past the package's hook. */
export function originalSetKeepAlive(handle: Handle): Method | undefined {
  const proto = Object.getPrototypeOf(handle) as object | null;
  return (proto && ownSetKeepAlive.get(proto)) ?? originals.setKeepAlive;
}

const kOnComplete = Symbol('tcp-keepalive.oncomplete');
const kFamily = Symbol('tcp-keepalive.family');
const kConnectSeen = Symbol('tcp-keepalive.connectSeen');
const kOnConnection = Symbol('tcp-keepalive.onconnection');
const kListenSeen = Symbol('tcp-keepalive.listenSeen');

const kSocket = Symbol('tcp-keepalive.socket');

interface ConnectRequest {
  oncomplete?: Method;
  address?: string;
  port?: number;
  addressType?: number;
  [kSocket]?: unknown;
  [kOnComplete]?: Method;
  [kFamily]?: 'IPv4' | 'IPv6';
}

type Hooked = Handle & {
  owner?: unknown;
  onconnection?: (...args: unknown[]) => unknown;
  [kConnectSeen]?: boolean;
  [kOnConnection]?: (...args: unknown[]) => unknown;
  [kListenSeen]?: boolean;
};

function complete(this: ConnectRequest, status: unknown, handle: Hooked, ...rest: unknown[]): unknown {
  const next = this[kOnComplete]!;
  if (status === 0 && handle) {
    const socket = handle.owner ?? this[kSocket];
    if (socket instanceof net.Socket) {
      handlers!.connected(socket, handle, this.address ?? '', this.port ?? 0, this[kFamily] ?? 'IPv4');
    }
  }
  return next.call(this, status, handle, ...rest);
}

function hookConnect(original: Method, family: 'IPv4' | 'IPv6'): Method {
  // Named for what it is, so a stack trace shows the package is there.
  return function connectWithKeepalive(this: Hooked, ...args: unknown[]): unknown {
    const req = args[0] as ConnectRequest | undefined;
    if (req && typeof req.oncomplete === 'function' && req.oncomplete !== complete) {
      req[kOnComplete] = req.oncomplete;
      req[kFamily] = family;
      req.oncomplete = complete;
    }
    this[kConnectSeen] = true;
    return original.apply(this, args);
  };
}

/** Whether this handle's connect went through the hook, so its completion will be seen. */
export function connectSeen(handle: Handle): boolean {
  return (handle as Hooked)[kConnectSeen] === true;
}

function onconnection(this: Hooked, error: unknown, clientHandle: unknown, ...rest: unknown[]): unknown {
  if (!error && clientHandle) {
    holdHandleClass(clientHandle as Handle);
    handlers!.accepted(this, clientHandle as Handle);
  }
  return this[kOnConnection]!.call(this, error, clientHandle, ...rest);
}

/** Routes a listening handle's accepted connections through the hooks first. Idempotent. */
export function watchAccepts(handle: Handle): void {
  const h = handle as Hooked;
  if (h.onconnection === onconnection || typeof h.onconnection !== 'function') return;
  h[kOnConnection] = h.onconnection;
  h.onconnection = onconnection;
}

function hookListen(original: Method): Method {
  return function listenWithKeepalive(this: Hooked, ...args: unknown[]): unknown {
    const server = this.owner;
    if (server instanceof net.Server) {
      this[kListenSeen] = true;
      handlers!.listening(server, this, true);
    }
    return original.apply(this, args);
  };
}

// Node's handles take the delay in seconds, Bun's in milliseconds.
const delayUnit = runtime === 'bun' ? 1000 : 1;

function hookSetKeepAlive(original: Method, held: unknown = 0): Method {
  return function setKeepAliveHeld(this: Handle, ...args: unknown[]): unknown {
    if (handlers!.setKeepAlive(this, Boolean(args[0]), Math.floor((Number(args[1]) || 0) / delayUnit))) return held;
    return original.apply(this, args);
  };
}

/**
 * Bun: a handle class is only met through one of its handles, so its
 * setKeepAlive is wrapped the first time the package sees one, which is
 * before the runtime's own keepAlive options reach it.
 */
export function holdHandleClass(handle: Handle): void {
  if (tcpHooked || !installed) return;
  const proto = Object.getPrototypeOf(handle) as Proto | null;
  if (!proto || ownSetKeepAlive.has(proto)) return;
  // Bun's handles answer true for success; the hook answers as they do.
  const original = wrapMethod(proto, 'setKeepAlive', (o) => hookSetKeepAlive(o, true));
  if (original) ownSetKeepAlive.set(proto, original);
}

function wrapMethod(proto: Proto, name: string, make: (original: Method) => Method): Method | undefined {
  const original = proto[name];
  if (typeof original !== 'function') return undefined;
  proto[name] = make(original as Method);
  return original as Method;
}

/**
 * The prototype of Node's TCP handles. No public API hands one out, but a
 * handle that is bound and never listens shows it and is closed at once:
 * the cluster module's own helper makes one without any network traffic.
 */
function tcpPrototype(): Proto | null {
  const make = (net as unknown as { _createServerHandle?: (address: string, port: number, type: number) => unknown })._createServerHandle;
  if (typeof make !== 'function') return null;
  for (const [address, type] of [['127.0.0.1', 4], ['::1', 6]] as const) {
    const handle = make(address, 0, type) as { close?: () => void; constructor: { name: string } } | number;
    if (typeof handle !== 'object' || handle === null) continue;
    handle.close?.();
    const proto = Object.getPrototypeOf(handle) as Proto;
    return handle.constructor.name === 'TCP' ? proto : null;
  }
  return null;
}

/** A symbol-keyed method of a prototype, found by its description. */
function symbolNamed(proto: object, description: string): symbol | undefined {
  return Object.getOwnPropertySymbols(proto).find((s) => s.description === description);
}

/**
 * Bun's client handlers: one object shared by every net.Socket and
 * tls.TLSSocket, whose open() completes the connect request with Node's
 * afterConnect. Read from a socket that never connects.
 */
function bunClientHandlers(): Proto | null {
  const socket = new net.Socket();
  try {
    const key = symbolNamed(socket, 'khandlers');
    const found = key && (socket as unknown as Record<symbol, unknown>)[key];
    return found && typeof found === 'object' ? (found as Proto) : null;
  } finally {
    socket.destroy();
  }
}

interface BunSocketHandle extends Handle {
  data?: { self?: unknown; req?: ConnectRequest } | null;
}

function hookBunOpen(original: Method): Method {
  return function openWithKeepalive(this: unknown, ...args: unknown[]): unknown {
    const handle = args[0] as BunSocketHandle | undefined;
    const req = handle?.data?.req;
    if (handle && req && typeof req.oncomplete === 'function' && req.oncomplete !== complete) {
      holdHandleClass(handle);
      req[kOnComplete] = req.oncomplete;
      req[kFamily] = req.addressType === 6 ? 'IPv6' : 'IPv4';
      req[kSocket] = handle.data?.self;
      req.oncomplete = complete;
      (handle as Hooked)[kConnectSeen] = true;
    }
    return original.apply(this, args);
  };
}

// Bun: servers that were listening before the package's first use.
let serverSocketListener: ((socket: net.Socket) => void) | null = null;
let serverEmitHooked = false;

/** Whether the runtime publishes 'net.server.socket' on diagnostics_channel (Node does, Bun does not). */
export const publishesServerSocket = runtime === 'node';

/**
 * Where 'net.server.socket' is not published: calls listener with each
 * socket a net.Server accepts, after its 'connection' listeners (as Node's
 * channel is). null stops it.
 */
export function watchServerSockets(listener: ((socket: net.Socket) => void) | null): void {
  serverSocketListener = listener;
  if (!listener || serverEmitHooked) return;
  serverEmitHooked = true;
  const proto = net.Server.prototype as unknown as Proto;
  const inherited = proto.emit as Method;
  proto.emit = function emitWithKeepalive(this: net.Server, event: unknown, ...args: unknown[]): unknown {
    const result = inherited.call(this, event, ...args);
    if (event === 'connection' && serverSocketListener && args[0] instanceof net.Socket) serverSocketListener(args[0]);
    return result;
  };
}

/**
 * Bun's http.Server listens in its own kRealListen, through Bun.serve: once
 * it has, its listening descriptor is found and handed on as a server's
 * handle would be, and dropped when the server closes (the number may then
 * name another socket).
 */
function hookBunHttpListen(): void {
  const get = (process as { getBuiltinModule?: (id: string) => unknown }).getBuiltinModule;
  const proto = (get?.('node:http') as { Server?: { prototype: Proto } } | undefined)?.Server?.prototype;
  const key = proto && symbolNamed(proto, 'kRealListen');
  if (!proto || key === undefined) return;
  wrapMethod(proto, key as unknown as string, (original) =>
    function listenWithKeepalive(this: net.Server, ...args: unknown[]): unknown {
      const result = original.apply(this, args);
      const handle = adoptBunListener(this);
      if (handle) handlers!.listening(this, handle as Handle, false);
      return result;
    },
  );
}

let installed = false;
let tcpHooked = false;

/** Whether connections and listeners are seen at the TCP handle (Node); false elsewhere. */
export function tcpHooks(): boolean {
  return tcpHooked;
}

/** Puts the hooks in, once; later calls do nothing. */
export function installHooks(work: Handlers): void {
  if (installed) return;
  installed = true;
  handlers = work;
  const proto = tcpPrototype();
  if (proto) {
    originals.setKeepAlive = wrapMethod(proto, 'setKeepAlive', hookSetKeepAlive);
    wrapMethod(proto, 'connect', (o) => hookConnect(o, 'IPv4'));
    wrapMethod(proto, 'connect6', (o) => hookConnect(o, 'IPv6'));
    wrapMethod(proto, 'listen', hookListen);
    tcpHooked = true;
  } else if (runtime === 'bun') {
    const clientHandlers = bunClientHandlers();
    if (clientHandlers) wrapMethod(clientHandlers, 'open', hookBunOpen);
    hookBunHttpListen();
  }
  const server = net.Server.prototype as unknown as Proto;
  // Node's _listen2; Bun's kRealListen, the same step under its own name.
  const listenStep = typeof server._listen2 === 'function' ? '_listen2' : symbolNamed(server, 'kRealListen');
  if (listenStep !== undefined) {
    wrapMethod(server, listenStep as string, (original) =>
      function listen2WithKeepalive(this: net.Server & { _handle?: Hooked | null }, ...args: unknown[]): unknown {
        const result = original.apply(this as unknown as Handle, args);
        // A listener that did not go through the TCP hook: a Unix socket or
        // pipe, a cluster worker's round-robin handle, or a runtime without
        // Node's TCP class.
        const handle = this._handle;
        if (handle && !handle[kListenSeen]) handlers!.listening(this, handle, false);
        return result;
      },
    );
  }
  const socket = net.Socket.prototype as unknown as Proto;
  wrapMethod(socket, '_destroy', (original) =>
    function destroyWithKeepaliveReport(this: net.Socket, ...args: unknown[]): unknown {
      const error = args[0];
      if (error instanceof Error) handlers!.destroying(this, error);
      return original.apply(this as unknown as Handle, args);
    },
  );
}
