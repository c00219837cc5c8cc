// Connects the hooks (hooks.ts) to the modules that do the work, and puts
// them in on the package's first use: loading the package changes nothing.
import type net from 'node:net';
import { onDestroying } from './cause.js';
import { debug } from './debug.js';
import { onConnected, onListening } from './defaults-process.js';
import { installHooks } from './hooks.js';
import { modeOf } from './managed.js';
import { native } from './native.js';
import { LEAVE } from './options.js';
import { platform } from './platform.js';
import { isServerManaged, onAccepted, onServerListening } from './server.js';
import { readFd } from './socket.js';
import { isPipe, type Handle } from './target.js';
import { applyWithoutFd, forgetKnown, knownIdle } from './windows.js';

/**
 * Node's setKeepAlive on a managed handle. Under an explicit setKeepalive
 * nothing changes. Under a process-wide rule a shorter idle is taken (the
 * package's interval, count and userTimeout stay), since defaults must never
 * make detection slower than what the application or its driver asked for;
 * a longer idle, or turning keepalive off, is not.
 */
function onNodeSetKeepAlive(tcp: Handle, enable: boolean, delay: number): boolean {
  const mode = modeOf(tcp);
  if (mode === undefined) {
    forgetKnown(tcp);
    return false;
  }
  if (mode === 'defaults' && enable && delay > 0) takeShorterIdle(tcp, delay);
  return true;
}

function takeShorterIdle(tcp: Handle, delay: number): void {
  try {
    let before: number | null;
    if (platform().descriptors) {
      const fd = tcp.fd;
      if (typeof fd !== 'number' || fd < 0) return;
      before = readFd(fd).idle;
      if (delay >= before) return;
      native().set(fd, 1, delay, LEAVE, LEAVE, LEAVE);
    } else {
      before = knownIdle(tcp);
      if (before !== null && delay >= before) return;
      const owner = (tcp as { owner?: net.Socket }).owner;
      if (!owner) return;
      applyWithoutFd(owner, tcp, { enabled: 1, idle: delay, interval: LEAVE, count: LEAVE, userTimeout: LEAVE });
    }
    debug(`setKeepAlive asked for a shorter idle (${delay} s, was ${before ?? 'unknown'} s) on a connection under a process-wide rule: taken`);
  } catch {
    // Node's own setKeepAlive reports no errors to its caller either.
  }
}

function onListen(server: net.Server, handle: Handle): void {
  // Process-wide rules are for TCP; an explicit setKeepalive(server) before
  // listen(path) is refused there, with a warning (server.ts).
  if (isPipe(handle)) {
    if (isServerManaged(server)) onServerListening(server, handle);
    return;
  }
  if (!onServerListening(server, handle)) onListening(server, handle);
}

export function install(): void {
  installHooks({
    setKeepAlive: onNodeSetKeepAlive,
    connected: (socket, handle, address, port, family) => onConnected(socket, handle, { address, port, family }),
    listening: onListen,
    accepted: onAccepted,
    destroying: onDestroying,
  });
}
