// What getKeepalive returns. Linux, macOS and FreeBSD read every value from
// the kernel; on Windows some can only be known once this package has set
// them. The plain form promises numbers and throws rather than invent one;
// the partial form says null where a value cannot be known.
import { codedError, invalidArgType, invalidArgValue } from './errors.js';
import { platform } from './platform.js';
import type { KeepaliveSettings } from './socket.js';

/** getKeepalive(target, { partial: true }): null where the value cannot be known. */
export interface PartialKeepaliveSettings {
  /** SO_KEEPALIVE, or null where nothing has told this package. */
  enabled: boolean | null;
  /** Seconds of idleness before the first probe, or null where unknown. */
  idle: number | null;
  /** Seconds between probes, or null where unknown. */
  interval: number | null;
  /** Unanswered probes before the connection is dropped, or null where unknown. */
  count: number | null;
  /** TCP_USER_TIMEOUT in milliseconds; 0 is the system default, and all there is where the system has no such option. */
  userTimeout: number;
}

export interface ReadOptions {
  /** Return null for what cannot be known instead of throwing ERR_KEEPALIVE_UNKNOWN. */
  partial?: boolean;
}

/** Validates getKeepalive's options; true for the partial form. */
export function partialRequested(options: unknown): boolean {
  if (options === undefined) return false;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw invalidArgType('options', 'an object such as { partial: true }', options);
  }
  for (const key of Object.keys(options)) {
    if (key !== 'partial') throw invalidArgValue(`options.${key}`, 'Unknown option (expected partial)', (options as Record<string, unknown>)[key]);
  }
  const partial = (options as ReadOptions).partial;
  if (partial !== undefined && typeof partial !== 'boolean') throw invalidArgType('options.partial', 'a boolean', partial);
  return partial === true;
}

/** The native layer's reading, where -1 marks an option this build lacks. */
export function fromKernel(settings: KeepaliveSettings): PartialKeepaliveSettings {
  const known = (n: number): number | null => (n < 0 ? null : n);
  return {
    enabled: settings.enabled,
    idle: known(settings.idle),
    interval: known(settings.interval),
    count: known(settings.count),
    // No TCP_USER_TIMEOUT means no timeout but the system's own: exactly 0.
    userTimeout: settings.userTimeout < 0 ? 0 : settings.userTimeout,
  };
}

const FIELDS = ['enabled', 'idle', 'interval', 'count'] as const;

/** The reading with every value known, or ERR_KEEPALIVE_UNKNOWN naming what is not. */
export function complete(reading: PartialKeepaliveSettings): KeepaliveSettings {
  const unknown = FIELDS.filter((f) => reading[f] === null);
  if (unknown.length === 0) return reading as KeepaliveSettings;
  const p = platform();
  const why = p.descriptors
    ? 'this build cannot read them'
    : 'Node gives no descriptor to read them from, and this package has not set them on it';
  const error = codedError(
    'ERR_KEEPALIVE_UNKNOWN',
    `Cannot know ${unknown.join(', ')} on ${p.os}: ${why}. getKeepalive(target, { partial: true }) returns what is known, with null for the rest`,
  );
  throw Object.assign(error, { fields: unknown });
}
