// Finding the descriptor behind a socket or server, and refusing clearly
// when there is none or it is not TCP.
import type net from 'node:net';
import { codedError } from './errors.js';
import { native, Kind } from './native.js';
import { kListenerHandle } from './runtime.js';

/** The parts of Node's internal stream handles this package relies on. */
export interface Handle {
  fd?: number;
  setKeepAlive?: (enable: boolean, delay?: number, ...rest: number[]) => unknown;
  /** A TLSWrap's underlying TCP handle. */
  _parent?: Handle | null;
  [key: symbol]: unknown;
}

export function handleOf(target: net.Socket | net.Server): Handle | null | undefined {
  // Bun's http.Server shows no handle; runtime.ts keeps its listener here.
  return (target as unknown as { _handle?: Handle | null })._handle ?? (target as unknown as Record<symbol, Handle | undefined>)[kListenerHandle];
}

/** The TCP handle under a TLSWrap, or the handle itself. */
export function tcpHandle(handle: Handle): Handle {
  return handle._parent ?? handle;
}

// The descriptor a handle was last found to be TCP for.
const kCheckedFd = Symbol('tcp-keepalive.checkedFd');

function label(target: net.Socket | net.Server, what: string): string {
  return `${what} (${target.constructor.name})`;
}

/** A pipe handle (Unix domain socket, named pipe, IPC) before it has a descriptor. */
export function isPipe(handle: Handle): boolean {
  return tcpHandle(handle).constructor.name === 'Pipe';
}

export function notTcp(target: net.Socket | net.Server, what: 'unix' | 'tty' | 'other'): Error {
  const kind = what === 'unix' ? 'a Unix domain socket or pipe' : what === 'tty' ? 'a terminal' : 'not a TCP socket';
  return codedError('ERR_SOCKET_NOT_TCP', `Keepalive needs a TCP socket, but ${label(target, 'this one')} is ${kind}`);
}

/**
 * What Node's own handle class says the stream is, where it says it:
 * 'tcp', 'unix' or 'tty'; null for a class it does not name (another
 * runtime's handles), which the kernel is then asked about.
 */
function handleKind(handle: Handle): 'tcp' | 'unix' | 'tty' | null {
  switch (tcpHandle(handle).constructor?.name) {
    case 'TCP':
      return 'tcp';
    case 'Pipe':
      return 'unix';
    case 'TTY':
      return 'tty';
    default:
      return null;
  }
}

function kernelKind(target: net.Socket | net.Server, fd: number): void {
  let kind: number;
  try {
    kind = native().kind(fd);
  } catch (error) {
    // A pipe, a file or a terminal is not a socket at all.
    if ((error as { code?: string }).code === 'ENOTSOCK') throw notTcp(target, 'other');
    throw error;
  }
  if (kind !== Kind.Tcp) throw notTcp(target, kind === Kind.Unix ? 'unix' : 'other');
}

/**
 * The descriptor of a TCP handle, or a coded error: ERR_SOCKET_NO_FD when the
 * stream has none (a JS stream under TLS, Windows), ERR_SOCKET_NOT_TCP when
 * it is a Unix domain socket, a pipe or a terminal. Node's handle class
 * answers without a system call; only a handle of another kind is checked
 * with the kernel, once per descriptor.
 */
export function tcpFd(target: net.Socket | net.Server, handle: Handle): number {
  const fd = handle.fd;
  if (fd !== undefined && handle[kCheckedFd] === fd) return fd as number;
  const kind = handleKind(handle);
  if (kind === 'unix' || kind === 'tty') throw notTcp(target, kind);
  if (typeof fd !== 'number' || fd < 0) {
    throw codedError('ERR_SOCKET_NO_FD', `${label(target, 'This stream')} has no file descriptor to set keepalive on`);
  }
  if (kind === null) kernelKind(target, fd);
  handle[kCheckedFd] = fd;
  return fd;
}
