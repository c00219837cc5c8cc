// What the benchmark scripts share: the package and its peers, loopback
// pairs, and the build steps they need.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const require = createRequire(join(root, 'package.json'));

// Linux option numbers, for the peers that take raw levels and names.
export const SOL_SOCKET = 1;
export const SO_KEEPALIVE = 9;
export const IPPROTO_TCP = 6;
export const TCP_KEEPIDLE = 4;
export const TCP_KEEPINTVL = 5;
export const TCP_KEEPCNT = 6;
export const TCP_USER_TIMEOUT = 18;

function run(cmd, args) {
  const result = spawnSync(cmd, args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  if (result.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed`);
}

function newer(output, inputs) {
  if (!existsSync(output)) return false;
  const built = statSync(output).mtimeMs;
  return inputs.every((input) => statSync(join(root, input)).mtimeMs <= built);
}

/** Builds the package and the benchmark's floor addon where they are missing or stale. */
export function ensureBuilt() {
  const native = ['native/binding.cc', 'native/keepalive_posix.c', 'native/keepalive.h', 'native/inspect_linux.c', 'native/inspect.h'];
  if (!newer(join(root, 'build/Release/tcp_keepalive.node'), native)) run('npm', ['run', 'build:native']);
  if (!existsSync(join(root, 'dist/index.js'))) run('npm', ['run', 'build:ts']);
  if (!newer(join(root, 'bench/build/Release/floor.node'), ['bench/floor.c', ...native.slice(1)])) {
    run('npm', ['run', 'bench:build']);
  }
}

export function loadAll() {
  return {
    pkg: require('tcp-keepalive'),
    binding: require('./dist/native.js').native(),
    floor: require('./bench/build/Release/floor.node'),
    netKeepalive: require('net-keepalive'),
    sockopt: require('sockopt'),
  };
}

export function fdOf(socket) {
  return socket._handle.fd;
}

/** A connected loopback pair; the client is what gets measured. */
export async function tcpPair() {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const accepted = once(server, 'connection');
  const client = net.connect(server.address().port, '127.0.0.1');
  await once(client, 'connect');
  const [peer] = await accepted;
  return {
    client,
    close() {
      client.destroy();
      peer.destroy();
      server.close();
    },
  };
}
