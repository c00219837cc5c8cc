// Finding the sockets a library keeps to itself, and the facts of Node's own
// setKeepAlive that the driver tests compare against.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/**
 * Descriptors in this process of established TCP sockets whose remote port
 * is remotePort, with their local ports: the client ends of connections a
 * library opened and never handed out. Read from /proc as ss and lsof do.
 */
export function fdsByRemotePort(remotePort: number): { fd: number; localPort: number }[] {
  const byInode = new Map<string, number>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 10 || cols[3] !== '01') continue;
      const remote = Number.parseInt(cols[2]!.split(':')[1]!, 16);
      if (remote === remotePort) byInode.set(cols[9]!, Number.parseInt(cols[1]!.split(':')[1]!, 16));
    }
  }
  const found: { fd: number; localPort: number }[] = [];
  for (const name of readdirSync('/proc/self/fd')) {
    let link: string;
    try {
      link = readlinkSync(`/proc/self/fd/${name}`);
    } catch {
      continue;
    }
    const m = /^socket:\[(\d+)\]$/.exec(link);
    const localPort = m && byInode.get(m[1]!);
    if (localPort) found.push({ fd: Number(name), localPort });
  }
  return found;
}

/**
 * What Node's socket.setKeepAlive(true, ms) sets besides the idle time, the
 * way every driver calls it (no interval or count given): libuv's fixed 1 s
 * and 10 probes. Measured the same on Node 20, 24 and 26.
 */
export const nodeProbes = { interval: 1, count: 10 } as const;
