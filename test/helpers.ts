// Shared fixtures: loopback connections, and a reader of the kernel's state
// that shares no code with the package.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { once } from 'node:events';

export const fixtures = path.join(__dirname, 'fixtures');
export const key = readFileSync(path.join(fixtures, 'key.pem'));
export const cert = readFileSync(path.join(fixtures, 'cert.pem'));

export async function listen<S extends net.Server>(server: S, host = '127.0.0.1'): Promise<number> {
  server.listen(0, host);
  await once(server, 'listening');
  return (server.address() as net.AddressInfo).port;
}

export interface Pair<S extends net.Socket = net.Socket> {
  client: S;
  accepted: S;
  server: net.Server;
  port: number;
  close(): Promise<void>;
}

async function makePair<S extends net.Socket>(
  server: net.Server,
  acceptEvent: string,
  connect: (port: number) => S,
  connectEvent: string,
): Promise<Pair<S>> {
  const port = await listen(server);
  const acceptedP = once(server, acceptEvent);
  const client = connect(port);
  await once(client, connectEvent);
  const [accepted] = (await acceptedP) as [S];
  return {
    client,
    accepted,
    server,
    port,
    async close() {
      client.destroy();
      accepted.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

/** A connected loopback pair: client and the server's accepted socket. */
export function tcpPair(): Promise<Pair> {
  return makePair(net.createServer(), 'connection', (port) => net.connect(port, '127.0.0.1'), 'connect');
}

export function tlsPair(): Promise<Pair<tls.TLSSocket>> {
  return makePair(
    tls.createServer({ key, cert }),
    'secureConnection',
    (port) => tls.connect({ port, host: '127.0.0.1', ca: cert, servername: 'localhost' }),
    'secureConnect',
  );
}

export interface KernelView {
  enabled: boolean;
  idle: number;
  interval: number;
  count: number;
  userTimeout: number;
}

// The system's own Python, not a version-manager shim that costs 300 ms a call.
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

const GETSOCKOPT = path.join(fixtures, 'getsockopt.py');

/** The descriptor behind a socket or server, from Node's own handle. */
export function fdOf(target: net.Socket | net.Server): number {
  const fd = (target as unknown as { _handle: { fd: number } | null })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) throw new Error('no descriptor');
  return fd;
}

/**
 * What the kernel holds for a socket, read by Python's getsockopt on a
 * duplicate of its descriptor (test/fixtures/getsockopt.py): an independent
 * witness, not the package.
 */
export function kernel(target: net.Socket | net.Server | number): KernelView {
  const fd = typeof target === 'number' ? target : fdOf(target);
  const result = spawnSync(PYTHON, [GETSOCKOPT], { stdio: ['ignore', 'pipe', 'pipe', fd], encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`python3 getsockopt failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as KernelView;
}

/** The system defaults, straight from /proc. */
export function procDefaults(): { idle: number; interval: number; count: number } {
  const read = (name: string) => Number(readFileSync(`/proc/sys/net/ipv4/${name}`, 'utf8'));
  return { idle: read('tcp_keepalive_time'), interval: read('tcp_keepalive_intvl'), count: read('tcp_keepalive_probes') };
}

/**
 * This process's established TCP sockets: descriptor and both ports. Found
 * the way ss and lsof do: /proc/net/tcp{,6} gives each socket's inode,
 * /proc/self/fd the descriptors that refer to it.
 */
function ownConnections(): { fd: number; localPort: number; remotePort: number }[] {
  const ports = new Map<string, { localPort: number; remotePort: number }>();
  const port = (endpoint: string) => Number.parseInt(endpoint.split(':')[1]!, 16);
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 10 || cols[3] !== '01') continue;
      ports.set(cols[9]!, { localPort: port(cols[1]!), remotePort: port(cols[2]!) });
    }
  }
  const found: { fd: number; localPort: number; remotePort: number }[] = [];
  for (const name of readdirSync('/proc/self/fd')) {
    let link: string;
    try {
      link = readlinkSync(`/proc/self/fd/${name}`);
    } catch {
      continue;
    }
    const m = /^socket:\[(\d+)\]$/.exec(link);
    const p = m && ports.get(m[1]!);
    if (p) found.push({ fd: Number(name), ...p });
  }
  return found;
}

/**
 * The descriptor, in this process, of the TCP socket bound to localPort:
 * for client sockets that a library keeps to itself.
 */
export function fdByLocalPort(localPort: number): number {
  const found = ownConnections().find((c) => c.localPort === localPort);
  if (!found) throw new Error(`no socket in this process on local port ${localPort}`);
  return found.fd;
}

/**
 * Descriptors in this process of established TCP sockets whose remote port
 * is remotePort, with their local ports: the client ends of connections a
 * library opened and never handed out.
 */
export function fdsByRemotePort(remotePort: number): { fd: number; localPort: number }[] {
  return ownConnections()
    .filter((c) => c.remotePort === remotePort)
    .map(({ fd, localPort }) => ({ fd, localPort }));
}

/**
 * How late a measured detection may be, as a fraction: 10 %, as the issues
 * set, unless a slowed run (the sanitizer build, scripts/asan.mjs) says
 * otherwise through TEST_DETECTION_LATE.
 */
export const LATE = Number(process.env.TEST_DETECTION_LATE ?? '0.1');
