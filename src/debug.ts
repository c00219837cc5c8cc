// NODE_DEBUG=tcp-keepalive: what the package does, for the person finding
// out why a connection was or was not protected.
import { debuglog } from 'node:util';

const log = debuglog('tcp-keepalive');

/** Writes a line under NODE_DEBUG=tcp-keepalive; costs one check otherwise. */
export function debug(message: string): void {
  if (log.enabled) log('%s', message);
}

export function debugging(): boolean {
  return log.enabled;
}
