// Turns the public argument forms into one set of integers, or throws before
// anything has touched the socket.
import { describe, invalidArgType, invalidArgValue, outOfRange } from './errors.js';
import { platform, type Field, type Range } from './platform.js';

/** What the native layer takes. -1 leaves a field as the socket has it. */
export interface Values {
  enabled: number;
  idle: number;
  interval: number;
  count: number;
  userTimeout: number;
}

export interface KeepaliveOptions {
  /** Seconds of idleness before the first probe (TCP_KEEPIDLE). */
  idle?: number;
  /** Seconds between unanswered probes (TCP_KEEPINTVL). */
  interval?: number;
  /** Unanswered probes before the connection is dropped (TCP_KEEPCNT). */
  count?: number;
  /** Milliseconds sent data may stay unacknowledged (TCP_USER_TIMEOUT); 0 is the system default. */
  userTimeout?: number;
  /** SO_KEEPALIVE; true unless given. `false` sets the other fields but leaves probing off. */
  enabled?: boolean;
}

export const LEAVE = -1;

const UNITS: Record<Field, string> = {
  idle: 'seconds',
  interval: 'seconds',
  count: 'probes',
  userTimeout: 'milliseconds',
};

function expected(field: Field, range: Range): string {
  return `an integer between ${range.min} and ${range.max} (${UNITS[field]})`;
}

function unsupported(field: Field, value: unknown): Error {
  const p = platform();
  const reason = p.reasons[field] ?? `this platform (${p.os}) has no such option`;
  const error = new TypeError(`Cannot set ${field}: ${reason}; received ${describe(value)}`);
  (error as unknown as { code: string }).code = 'ERR_KEEPALIVE_UNSUPPORTED';
  return Object.assign(error, { field });
}

/** One field: undefined leaves it, anything else must be an integer in range. */
export function field(name: Field, value: unknown): number {
  return check(name, value, platform().ranges[name]);
}

// The range comes from the caller, read by a fixed property name, so the hot
// paths below make no lookup by a variable key.
function check(name: Field, value: unknown, range: Range | undefined): number {
  if (value === undefined) return LEAVE;
  if (typeof value === 'number' && Number.isInteger(value) && range !== undefined && value >= range.min && value <= range.max) {
    return value;
  }
  if (range === undefined) throw unsupported(name, value);
  if (typeof value !== 'number') throw invalidArgType(name, expected(name, range), value);
  throw outOfRange(name, expected(name, range), value);
}

// Comparisons with constant strings are pointer checks once V8 has
// internalized them; a Set lookup hashes on every call of a hot path.
function known(key: string): boolean {
  return key === 'idle' || key === 'interval' || key === 'count' || key === 'userTimeout' || key === 'enabled';
}

export function fromObject(options: KeepaliveOptions): Values {
  for (const key in options) {
    if (!known(key)) {
      throw invalidArgValue(`options.${key}`, 'Unknown option (expected idle, interval, count, userTimeout or enabled)', (options as Record<string, unknown>)[key]);
    }
  }
  const enabled = options.enabled;
  if (enabled !== undefined && typeof enabled !== 'boolean') {
    throw invalidArgType('enabled', 'a boolean', enabled);
  }
  const ranges = platform().ranges;
  return {
    enabled: enabled === false ? 0 : 1,
    idle: check('idle', options.idle, ranges.idle),
    interval: check('interval', options.interval, ranges.interval),
    count: check('count', options.count, ranges.count),
    userTimeout: check('userTimeout', options.userTimeout, ranges.userTimeout),
  };
}

export const OFF: Readonly<Values> = Object.freeze({ enabled: 0, idle: LEAVE, interval: LEAVE, count: LEAVE, userTimeout: LEAVE });
export const ON: Readonly<Values> = Object.freeze({ enabled: 1, idle: LEAVE, interval: LEAVE, count: LEAVE, userTimeout: LEAVE });

/**
 * The forms setKeepalive accepts after its target:
 * (options), (false), (true), (idle, interval?, count?, userTimeout?).
 */
export function parse(argc: number, first: unknown, interval: unknown, count: unknown, userTimeout: unknown): Values {
  if (typeof first === 'number') {
    const ranges = platform().ranges;
    return {
      enabled: 1,
      idle: check('idle', first, ranges.idle),
      interval: check('interval', interval, ranges.interval),
      count: check('count', count, ranges.count),
      userTimeout: check('userTimeout', userTimeout, ranges.userTimeout),
    };
  }
  if (argc > 2) {
    throw invalidArgType('idle', 'a number when interval, count or userTimeout follow', first);
  }
  if (first === false) return OFF;
  if (first === true) return ON;
  if (typeof first === 'object' && first !== null && !Array.isArray(first)) {
    return fromObject(first as KeepaliveOptions);
  }
  throw invalidArgType('options', 'an object, a number of seconds or false', first);
}

/** Overlays b's fields on a's, for settings that arrive while a socket connects. */
export function merge(a: Values, b: Values): Values {
  return {
    enabled: b.enabled,
    idle: b.idle === LEAVE ? a.idle : b.idle,
    interval: b.interval === LEAVE ? a.interval : b.interval,
    count: b.count === LEAVE ? a.count : b.count,
    userTimeout: b.userTimeout === LEAVE ? a.userTimeout : b.userTimeout,
  };
}
