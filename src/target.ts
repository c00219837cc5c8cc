// Finding the descriptor behind a socket or server, and refusing clearly
// when there is none or it is not TCP.
import type net from 'node:net';
import { codedError } from './errors.js';
import { binding, Kind } from './native.js';

/** The parts of Node's internal stream handles this package relies on. */
export interface Handle {
  fd?: number;
  setKeepAlive?: (enable: boolean, delay?: number, ...rest: number[]) => unknown;
  /** A TLSWrap's underlying TCP handle. */
  _parent?: Handle | null;
  [key: symbol]: unknown;
}

export function handleOf(target: net.Socket | net.Server): Handle | null | undefined {
  return (target as unknown as { _handle?: Handle | null })._handle;
}

/** The TCP handle under a TLSWrap, or the handle itself. */
export function tcpHandle(handle: Handle): Handle {
  return handle._parent ?? handle;
}

// The descriptor a handle was last checked to be TCP for, so the check
// costs one system call per socket rather than one per setKeepalive.
const kCheckedFd = Symbol('tcp-keepalive.checkedFd');

function label(target: net.Socket | net.Server, what: string): string {
  return `${what} (${target.constructor.name})`;
}

/** A pipe handle (Unix domain socket, named pipe, IPC) before it has a descriptor. */
export function isPipe(handle: Handle): boolean {
  return tcpHandle(handle).constructor.name === 'Pipe';
}

export function notTcp(target: net.Socket | net.Server, unix: boolean): Error {
  const what = unix ? 'a Unix domain socket or pipe' : 'not a TCP socket';
  return codedError('ERR_SOCKET_NOT_TCP', `Keepalive needs a TCP socket, but ${label(target, 'this one')} is ${what}`);
}

/**
 * The descriptor of a TCP handle, or a coded error: ERR_SOCKET_NO_FD when the
 * stream has none (a JS stream under TLS, Windows), ERR_SOCKET_NOT_TCP when
 * it is a Unix domain socket or a pipe.
 */
export function tcpFd(target: net.Socket | net.Server, handle: Handle): number {
  const fd = handle.fd;
  if (typeof fd !== 'number' || fd < 0) {
    throw codedError('ERR_SOCKET_NO_FD', `${label(target, 'This stream')} has no file descriptor to set keepalive on`);
  }
  if (handle[kCheckedFd] !== fd) {
    const kind = binding.kind(fd);
    if (kind !== Kind.Tcp) throw notTcp(target, kind === Kind.Unix);
    handle[kCheckedFd] = fd;
  }
  return fd;
}
