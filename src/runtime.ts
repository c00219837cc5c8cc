// Which JavaScript runtime the package runs in. Bun and Deno implement
// Node's API over their own socket layers: the handles under net.Socket are
// theirs, not Node's, and the hooks (hooks.ts) meet them where they differ.
const versions = process.versions as Record<string, string | undefined>;

export type Runtime = 'node' | 'bun' | 'deno';

export const runtime: Runtime = versions.bun !== undefined ? 'bun' : versions.deno !== undefined ? 'deno' : 'node';

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
