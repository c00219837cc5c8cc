// Which JavaScript runtime the package runs in. Bun and Deno implement
// Node's API over their own socket layers: the handles under net.Socket are
// theirs, not Node's, and the hooks (hooks.ts) meet them where they differ.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import net from 'node:net';
const versions = process.versions as Record<string, string | undefined>;

export type Runtime = 'node' | 'bun' | 'deno';

export const runtime: Runtime = versions.deno !== undefined ? 'deno' : versions.bun !== undefined ? 'bun' : 'node';

/** The runtime and its version, for messages. */
export function runtimeName(): string {
  if (runtime === 'bun') return `Bun ${versions.bun}`;
  if (runtime === 'deno') return `Deno ${versions.deno}`;
  return `Node ${process.versions.node}`;
}

/**
 * Why this runtime cannot have keepalive set, or null. Deno's TCP handles
 * carry no file descriptor (`_handle.fd` is undefined) and nothing else
 * reaches the socket: `_handle.fdForIpc()` hands out a new duplicate on
 * every call that keeps the connection open until it is closed, too fragile
 * to build on. Refusing at the first call, before anything is recorded,
 * leaves no server half-configured and no connection waiting on settings
 * that can never come.
 */
export function runtimeRefusal(): Error | null {
  if (runtime !== 'deno') return null;
  const error = new Error(
    `${runtimeName()} gives its TCP sockets no file descriptor (socket._handle.fd is undefined), so keepalive cannot be set or read here; tcp-keepalive supports Node.js and Bun`,
  );
  return Object.assign(error, { code: 'ERR_KEEPALIVE_RUNTIME_UNSUPPORTED' });
}

const refusal = runtimeRefusal();

/** Throws the runtime's refusal, if it has one. */
export function checkRuntime(): void {
  if (refusal !== null) throw runtimeRefusal();
}

// Bun's http.Server and https.Server are not net.Servers: they listen
// through Bun.serve, whose listening socket has no handle in JavaScript and
// whose connections have no descriptor. On Linux the listening descriptor
// is found in /proc (the socket listening on the server's port that this
// process holds), and the settings put there are copied by the kernel into
// every connection it accepts, as for any server.

let bunHttpServer: (abstract new (...args: never[]) => object) | null | undefined;

/** Whether value is Bun's own http.Server (or https.Server). */
export function isBunHttpServer(value: unknown): value is net.Server {
  if (runtime !== 'bun' || typeof value !== 'object' || value === null) return false;
  if (bunHttpServer === undefined) {
    const get = (process as { getBuiltinModule?: (id: string) => unknown }).getBuiltinModule;
    bunHttpServer = (get?.('node:http') as { Server?: typeof bunHttpServer } | undefined)?.Server ?? null;
  }
  return bunHttpServer !== null && value instanceof bunHttpServer;
}

/** Where a Bun http.Server's listening socket is kept while it listens (read by target.ts). */
export const kListenerHandle = Symbol('tcp-keepalive.listenerHandle');

/** The descriptors of this process that listen on a TCP port (Linux, from /proc). */
export function listeningFds(port: number): number[] {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      // sl local_address rem_address st ... inode
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || f[3] !== '0A') continue;
      if (parseInt(f[1]!.split(':')[1]!, 16) === port) inodes.add(f[9]!);
    }
  }
  const fds: number[] = [];
  if (inodes.size === 0) return fds;
  let names: string[];
  try {
    names = readdirSync('/proc/self/fd');
  } catch {
    return fds;
  }
  for (const name of names) {
    let link: string;
    try {
      link = readlinkSync(`/proc/self/fd/${name}`);
    } catch {
      continue;
    }
    const m = /^socket:\[(\d+)\]$/.exec(link);
    if (m && inodes.has(m[1]!)) fds.push(Number(name));
  }
  return fds;
}

/** A stand-in for the listening handle a Bun http.Server does not show, or null. */
export function bunListenerHandle(server: net.Server): { fd: number; getsockname(out: { port?: number }): number } | null {
  const address = server.address();
  if (address === null || typeof address !== 'object') return null;
  const [fd] = listeningFds(address.port);
  if (fd === undefined) return null;
  return {
    fd,
    getsockname(out) {
      out.port = address.port;
      return 0;
    },
  };
}

type ListenerHolder = net.Server & { [kListenerHandle]?: object };

function forgetListener(this: ListenerHolder): void {
  delete this[kListenerHandle];
}

/**
 * Finds a listening Bun http.Server's descriptor and keeps it as the
 * server's handle until the server closes (the number may then name another
 * socket). Returns it, or null when the server is not listening on TCP.
 */
export function adoptBunListener(server: net.Server): object | null {
  const holder = server as ListenerHolder;
  if (holder[kListenerHandle]) return holder[kListenerHandle];
  const handle = server.listening ? bunListenerHandle(server) : null;
  if (handle) {
    holder[kListenerHandle] = handle;
    server.once('close', forgetListener);
  }
  return handle;
}

/** Whether target is a server the package takes: a net.Server, or Bun's http.Server (its listener then found). */
export function isServerTarget(target: unknown): target is net.Server {
  if (target instanceof net.Server) return true;
  if (!isBunHttpServer(target)) return false;
  adoptBunListener(target);
  return true;
}
