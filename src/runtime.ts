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
