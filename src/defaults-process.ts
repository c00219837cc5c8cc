// setDefaultKeepalive: keepalive for every TCP connection the process opens
// or accepts from now on, without touching the code that opens them.
//
// Each call adds a rule; rules compose. A connection gets the values of one
// rule, the most specific that matches it: a rule naming the connection's
// port comes before a rule for every port, and a rule for one direction
// before a rule for both. At the same level, rules with a filter are asked
// first, in the order they were added; the first that answers true applies,
// and a rule without a filter applies when none did. Two rules without a
// filter for the same port (or both for every port) and the same direction
// would each claim the same connections: the second is refused unless it
// says { replace: true }. So nothing in force is ever replaced silently.
//
// Clients: the hooks see each connection come up, before Node's afterConnect
// and the 'connect' listeners. Servers: a rule that can be decided from the
// listening port alone (no filter) goes on the listening socket once, as
// setKeepalive(server) does, so accepting costs no system call; a filter
// needs each accepted socket, and is asked from a 'connection' listener of
// the package's, ahead of the application's, on that server only.
import diagnostics from 'node:diagnostics_channel';
import net from 'node:net';
import { debug } from './debug.js';
import { describe, invalidArgType, invalidArgValue, outOfRange } from './errors.js';
import { publishesServerSocket, watchServerSockets } from './hooks.js';
import { checkRuntime } from './runtime.js';
import { modeOf, rememberPeer, type Peer } from './managed.js';
import { fromObject, isPlainObject, type KeepaliveOptions, type Values } from './options.js';
import { applyPending, applyToHandle, hasPending, readFd, writeValues } from './socket.js';
import { applyToListener, isServerManaged, listenerHasFd, setListenerState } from './server.js';
import { handleOf, tcpFd, tcpHandle, type Handle } from './target.js';
import { checkNewSocketValues, describeValues, warn } from './warnings.js';
import { install } from './work.js';

export type Direction = 'client' | 'server' | 'both';

export interface ConnectionInfo {
  /** 'client' for connections this process opened, 'server' for accepted ones. */
  readonly direction: 'client' | 'server';
  readonly remoteAddress: string | undefined;
  readonly remotePort: number | undefined;
  readonly remoteFamily: string | undefined;
  readonly localAddress: string | undefined;
  readonly localPort: number | undefined;
  readonly socket: net.Socket;
}

export interface DefaultKeepaliveConfig {
  /**
   * Only connections to or on these service ports: a connection this
   * process opens matches on its remote port, one it accepts on its local
   * (listening) port.
   */
  ports?: number | readonly number[];
  /** 'client' (connections it opens), 'server' (connections it accepts) or 'both' (the default). */
  direction?: Direction;
  /** Return true to apply this rule, false to leave the connection to other rules. Called once per connection. */
  filter?: (info: ConnectionInfo) => boolean;
  /** Replace a rule without a filter already in force for the same ports and direction, instead of refusing. */
  replace?: boolean;
}

interface Rule {
  readonly values: Values;
  readonly ports: ReadonlySet<number> | null;
  readonly direction: Direction;
  readonly filter: ((info: ConnectionInfo) => boolean) | undefined;
  /** 0 ports and one direction, 1 ports, 2 one direction, 3 everything. */
  readonly level: number;
  readonly seq: number;
  readonly text: string;
}

/** In the order they are consulted. */
let rules: Rule[] = [];
let nextSeq = 0;

function matches(rule: Rule, direction: 'client' | 'server', port: number | undefined): boolean {
  if (rule.direction !== 'both' && rule.direction !== direction) return false;
  return rule.ports === null || (port !== undefined && rule.ports.has(port));
}

// A filter that throws or gives something other than true or false is
// reported once, not once per connection.
const reported = new WeakSet<object>();

function ask(rule: Rule, info: ConnectionInfo): boolean | null {
  const filter = rule.filter!;
  let answer: unknown;
  try {
    answer = filter(info);
  } catch (error) {
    if (!reported.has(filter)) {
      reported.add(filter);
      warn(`the setDefaultKeepalive filter ${filterName(filter)} threw (${String(error)}); connections it is asked about are left as they are`, 'TCP_KEEPALIVE_FILTER_FAILED');
    }
    return null;
  }
  if (answer === true || answer === false) return answer;
  if (!reported.has(filter)) {
    reported.add(filter);
    warn(
      `the setDefaultKeepalive filter ${filterName(filter)} returned ${describe(answer)}, not true or false; connections it is asked about are left as they are`,
      'TCP_KEEPALIVE_FILTER_ANSWER',
    );
  }
  return null;
}

function filterName(filter: (...args: never[]) => unknown): string {
  return filter.name ? `'${filter.name}'` : '(anonymous)';
}

/** The rule for a connection, or null to leave it alone. */
function ruleFor(direction: 'client' | 'server', port: number | undefined, info: () => ConnectionInfo): Rule | null {
  for (const rule of rules) {
    if (!matches(rule, direction, port)) continue;
    if (!rule.filter) return rule;
    const answer = ask(rule, info());
    if (answer === null) return null;
    if (answer) return rule;
  }
  return null;
}

/** For a listening port: the rule, 'filter' when only each connection can tell, or null. */
function listenerRule(port: number | undefined): Rule | 'filter' | null {
  for (const rule of rules) {
    if (matches(rule, 'server', port)) return rule.filter ? 'filter' : rule;
  }
  return null;
}

/**
 * What a filter is told. A plain object (filters destructure and spread
 * it), whose addresses are read only when the filter reads them: each is a
 * system call it may not need. The peer of a client connection is known
 * from its connect call.
 */
function connectionInfo(direction: 'client' | 'server', socket: net.Socket, peer: Peer | null): ConnectionInfo {
  const lazy = (read: () => unknown): PropertyDescriptor => ({ get: read, enumerable: true, configurable: true });
  const info = { direction, socket } as Record<string, unknown>;
  Object.defineProperties(info, {
    remoteAddress: peer ? { value: peer.address, enumerable: true } : lazy(() => socket.remoteAddress),
    remotePort: peer ? { value: peer.port, enumerable: true } : lazy(() => socket.remotePort),
    remoteFamily: peer ? { value: peer.family, enumerable: true } : lazy(() => socket.remoteFamily),
    // Bun answers for the socket only once its 'connect' has run; its
    // handle knows already.
    localAddress: lazy(() => socket.localAddress ?? (handleOf(socket) as { localAddress?: string } | null | undefined)?.localAddress),
    localPort: lazy(() => socket.localPort ?? (handleOf(socket) as { localPort?: number } | null | undefined)?.localPort),
  });
  return info as unknown as ConnectionInfo;
}

function applyDefaults(socket: net.Socket, handle: Handle, rule: Rule): void {
  try {
    applyToHandle(socket, handle, rule.values, 'defaults');
  } catch (error) {
    socket.destroy(error as Error);
  }
}

/** The hooks' call when an outgoing connection is up, before 'connect'. */
export function onConnected(socket: net.Socket, handle: Handle, peer: Peer): void {
  if (hasPending(socket) || rules.length === 0) {
    applyPending(socket, handle, peer);
    return;
  }
  const rule = ruleFor('client', peer.port, () => connectionInfo('client', socket, peer));
  // A setKeepalive made inside the filter is the application's own: it wins.
  if (applyPending(socket, handle, peer) || rule === null) return;
  rememberPeer(tcpHandle(handle), peer);
  applyDefaults(socket, handle, rule);
}

// Listening handles, with what the rules put on them and what they held
// before, so that a change of rules can take it back.
interface ListenerDefaults {
  server: net.Server;
  port: number | undefined;
  rule: Rule | 'filter' | null;
  original: Values | null;
}

const listeners = new Map<Handle, ListenerDefaults>();

function localPort(handle: Handle): number | undefined {
  const out: { port?: number } = {};
  const get = (handle as { getsockname?: (out: object) => unknown }).getsockname;
  if (typeof get !== 'function') return undefined;
  get.call(handle, out);
  return out.port;
}

const kFilterListener = Symbol('tcp-keepalive.filterListener');

function decide(handle: Handle, entry: ListenerDefaults): void {
  const { server } = entry;
  if (isServerManaged(server)) return;
  const choice = rules.length > 0 ? listenerRule(entry.port) : null;
  if (choice === entry.rule) return;
  const hasFd = listenerHasFd(handle);
  try {
    if (choice !== null && choice !== 'filter') {
      if (hasFd && entry.original === null) {
        const v = readFd(tcpFd(server, handle));
        entry.original = { enabled: v.enabled ? 1 : 0, idle: v.idle, interval: v.interval, count: v.count, userTimeout: v.userTimeout };
      }
      applyToListener(server, handle, choice.values, 'defaults');
    } else {
      if (entry.original !== null) writeValues(server, handle, entry.original);
      entry.original = null;
      setListenerState(handle, undefined);
    }
  } catch (error) {
    const e = error as Error & { code?: string };
    warn(`process-wide keepalive could not be put on a listening ${server.constructor.name}: ${e.message}`, e.code ?? 'ERR_KEEPALIVE_LISTEN');
    return;
  }
  entry.rule = choice;
  if (choice === 'filter' && !(server as { [kFilterListener]?: boolean })[kFilterListener]) {
    (server as { [kFilterListener]?: boolean })[kFilterListener] = true;
    server.prependListener('connection', onFilteredConnection);
  }
}

function perConnection(server: net.Server, socket: net.Socket): void {
  const handle = handleOf(socket);
  if (!handle || socket.destroyed || modeOf(tcpHandle(handle)) !== undefined || isServerManaged(server)) return;
  const rule = ruleFor('server', socket.localPort, () => connectionInfo('server', socket, null));
  // A setKeepalive the filter made itself has marked the handle: it wins.
  if (rule === null || modeOf(tcpHandle(handle)) !== undefined) return;
  applyDefaults(socket, handle, rule);
}

function onFilteredConnection(this: net.Server, socket: net.Socket): void {
  const handle = handleOf(this);
  if (handle && listeners.get(handle)?.rule === 'filter') perConnection(this, socket);
}

/** The hooks' call as a server without settings of its own starts listening. */
export function onListening(server: net.Server, handle: Handle): void {
  for (const [h, entry] of listeners) if (handleOf(entry.server) !== h) listeners.delete(h);
  let entry = listeners.get(handle);
  if (!entry) {
    entry = { server, port: undefined, rule: null, original: null };
    listeners.set(handle, entry);
  }
  // A listening port of 0 is chosen by the kernel at bind, before listen.
  entry.port = localPort(handle);
  decide(handle, entry);
}

function refreshListeners(): void {
  for (const [handle, entry] of listeners) {
    if (handleOf(entry.server) !== handle) listeners.delete(handle);
    else decide(handle, entry);
  }
}

// A server that was listening before the package was first used never went
// through the hooks; its first accepted socket is seen here, after its
// 'connection' listeners, and from then on its accepts go through the hooks.
function onServerSocket(message: unknown): void {
  const socket = (message as { socket?: net.Socket }).socket;
  const server = (socket as { server?: net.Server } | undefined)?.server;
  const handle = server && handleOf(server);
  if (!socket || !server || !handle || listeners.has(handle) || isServerManaged(server)) return;
  onListening(server, handle);
  const accepted = handleOf(socket);
  const rule = listeners.get(handle)?.rule;
  if (accepted && rule !== null && rule !== undefined && rule !== 'filter' && modeOf(tcpHandle(accepted)) === undefined) {
    // Inherited nothing: this one was accepted before the listener was set.
    applyDefaults(socket, accepted, rule);
  } else if (rule === 'filter') {
    perConnection(server, socket);
  }
}

let subscribed = false;

const onAcceptedSocket = (socket: net.Socket): void => onServerSocket({ socket });

function rulesChanged(): void {
  const active = rules.length > 0;
  if (active !== subscribed) {
    // Bun does not publish the channel: the hooks watch 'connection' instead.
    if (!publishesServerSocket) watchServerSockets(active ? onAcceptedSocket : null);
    else if (active) diagnostics.subscribe('net.server.socket', onServerSocket);
    else diagnostics.unsubscribe('net.server.socket', onServerSocket);
  }
  subscribed = active;
  refreshListeners();
}

const DIRECTIONS: readonly Direction[] = ['client', 'server', 'both'];

function parsePorts(value: unknown): ReadonlySet<number> | null {
  if (value === undefined) return null;
  const list = typeof value === 'number' ? [value] : Array.isArray(value) ? (value as unknown[]) : null;
  if (list === null || list.length === 0) throw invalidArgType('config.ports', 'a port number or a non-empty array of port numbers', value);
  for (const port of list) {
    if (typeof port !== 'number') throw invalidArgType('config.ports', 'port numbers', port);
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw outOfRange('config.ports', 'an integer between 1 and 65535', port);
  }
  return new Set(list as number[]);
}

interface ParsedConfig {
  ports: ReadonlySet<number> | null;
  direction: Direction;
  filter: ((info: ConnectionInfo) => boolean) | undefined;
  replace: boolean;
}

function parseConfig(config: unknown): ParsedConfig {
  if (config === undefined) return { ports: null, direction: 'both', filter: undefined, replace: false };
  if (!isPlainObject(config)) throw invalidArgType('config', 'a plain object with ports, direction, filter or replace', config);
  const own = (key: string): unknown => (Object.hasOwn(config, key) ? config[key] : undefined);
  for (const key of Reflect.ownKeys(config)) {
    if (key !== 'ports' && key !== 'direction' && key !== 'filter' && key !== 'replace') {
      throw invalidArgValue(`config.${String(key)}`, 'Unknown option (expected ports, direction, filter or replace)', config[key]);
    }
  }
  const direction = own('direction') ?? 'both';
  if (!(DIRECTIONS as readonly unknown[]).includes(direction)) throw invalidArgValue('config.direction', "Expected 'client', 'server' or 'both'", direction);
  const filter = own('filter');
  if (filter !== undefined && typeof filter !== 'function') throw invalidArgType('config.filter', 'a function', filter);
  const replace = own('replace') ?? false;
  if (typeof replace !== 'boolean') throw invalidArgType('config.replace', 'a boolean', replace);
  return { ports: parsePorts(own('ports')), direction: direction as Direction, filter: filter as ParsedConfig['filter'], replace };
}

function scope(ports: ReadonlySet<number> | null, direction: Direction): string {
  const where = ports === null ? 'every port' : `port${ports.size === 1 ? '' : 's'} ${[...ports].join(', ')}`;
  const who = direction === 'both' ? 'client and accepted connections' : direction === 'client' ? 'client connections' : 'accepted connections';
  return `${who} on ${where}`;
}

function overlaps(a: Rule, b: ParsedConfig): boolean {
  if (a.filter || b.filter || a.direction !== b.direction) return false;
  if (a.ports === null || b.ports === null) return a.ports === b.ports;
  for (const port of b.ports) if (a.ports.has(port)) return true;
  return false;
}

function sortRules(): void {
  rules.sort((a, b) => a.level - b.level || Number(!a.filter) - Number(!b.filter) || a.seq - b.seq);
}

/**
 * Adds a rule that applies keepalive settings to the TCP connections the
 * process opens or accepts from now on (those already open are left alone),
 * held in force as setKeepalive holds them, except that a shorter idle asked
 * for through Node's own setKeepAlive (by the application or its driver) is
 * taken. An explicit setKeepalive on a socket or server wins over every
 * rule. Returns a function that removes this rule; `setDefaultKeepalive(false)`
 * removes them all.
 */
export function setDefaultKeepalive(options: false): void;
export function setDefaultKeepalive(options: KeepaliveOptions, config?: DefaultKeepaliveConfig): () => void;
export function setDefaultKeepalive(options: KeepaliveOptions | false, config?: DefaultKeepaliveConfig): (() => void) | void {
  checkRuntime();
  if (options === false) {
    if (rules.length > 0) {
      rules = [];
      debug('process-wide keepalive: every rule removed');
      rulesChanged();
    }
    return;
  }
  if (!isPlainObject(options)) throw invalidArgType('options', 'a plain object or false', options);
  const values = fromObject(options);
  const parsed = parseConfig(config);
  const clashing = rules.filter((rule) => overlaps(rule, parsed));
  if (clashing.length > 0 && !parsed.replace) {
    const error = new Error(
      `setDefaultKeepalive already has a rule for ${clashing[0]!.text}; remove it first (with the function setDefaultKeepalive returned, or setDefaultKeepalive(false)) or pass { replace: true }`,
    );
    throw Object.assign(error, { code: 'ERR_KEEPALIVE_RULE_EXISTS' });
  }
  install();
  checkNewSocketValues(values);
  const level = (parsed.ports === null ? 2 : 0) + (parsed.direction === 'both' ? 1 : 0);
  const rule: Rule = { values, ports: parsed.ports, direction: parsed.direction, filter: parsed.filter, level, seq: nextSeq++, text: scope(parsed.ports, parsed.direction) };
  rules = rules.filter((r) => !clashing.includes(r));
  rules.push(rule);
  sortRules();
  debug(`process-wide keepalive for ${rule.text}${rule.filter ? ` where ${filterName(rule.filter)} says so` : ''}: ${describeValues(values)}`);
  rulesChanged();
  return () => {
    const before = rules.length;
    rules = rules.filter((r) => r !== rule);
    if (rules.length !== before) {
      debug(`process-wide keepalive for ${rule.text}: removed`);
      rulesChanged();
    }
  };
}
