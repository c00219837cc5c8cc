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
  /**
   * Milliseconds sent data may stay unacknowledged (TCP_USER_TIMEOUT); 0 is
   * the system default. Keepalive does not probe while data is in flight,
   * so a connection that sends needs this to find a dead peer.
   */
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

/**
 * Options are plain objects only: an object literal, Object.create(null), or
 * what getKeepalive returns. A Map, a Date, a boxed `false` or a class
 * instance is a mistake, not a set of options, and must not turn keepalive on.
 */
export function isPlainObject(value: unknown): value is Record<PropertyKey, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

const OPTION_NAMES = 'idle, interval, count, userTimeout or enabled';

/**
 * Reads an options object's own properties only (an `enabled` or `idle` on
 * Object.prototype is not the caller's), each exactly once, so a getter
 * cannot pass validation and then change.
 */
export function fromObject(options: object, name = 'options'): Values {
  if (!isPlainObject(options)) throw invalidArgType(name, `a plain object with ${OPTION_NAMES}`, options);
  let enabled: unknown;
  let idle: unknown;
  let interval: unknown;
  let count: unknown;
  let userTimeout: unknown;
  // Object.getOwnPropertyNames takes V8's fast path for an object literal
  // (about 20 ns here, where Reflect.ownKeys takes about 180); symbol keys,
  // which it leaves out, are looked for only in an object that has no
  // string keys beyond the known ones. Comparisons with constant strings are
  // pointer checks once V8 has internalized them.
  const keys = Object.getOwnPropertyNames(options);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    if (key === 'idle') idle = options.idle;
    else if (key === 'interval') interval = options.interval;
    else if (key === 'count') count = options.count;
    else if (key === 'userTimeout') userTimeout = options.userTimeout;
    else if (key === 'enabled') enabled = options.enabled;
    else throw invalidArgValue(`${name}.${key}`, `Unknown option (expected ${OPTION_NAMES})`, options[key]);
  }
  const symbols = Object.getOwnPropertySymbols(options);
  if (symbols.length > 0) {
    const key = symbols[0]!;
    throw invalidArgValue(`${name}[${key.toString()}]`, `Unknown option (expected ${OPTION_NAMES})`, options[key]);
  }
  if (enabled !== undefined && typeof enabled !== 'boolean') {
    throw invalidArgType('enabled', 'a boolean', enabled);
  }
  const ranges = platform().ranges;
  return {
    enabled: enabled === false ? 0 : 1,
    idle: check('idle', idle, ranges.idle),
    interval: check('interval', interval, ranges.interval),
    count: check('count', count, ranges.count),
    userTimeout: check('userTimeout', userTimeout, ranges.userTimeout),
  };
}

export const OFF: Readonly<Values> = Object.freeze({ enabled: 0, idle: LEAVE, interval: LEAVE, count: LEAVE, userTimeout: LEAVE });
export const ON: Readonly<Values> = Object.freeze({ enabled: 1, idle: LEAVE, interval: LEAVE, count: LEAVE, userTimeout: LEAVE });

/**
 * The forms setKeepalive accepts after its target:
 * (options), (false), (true), (idle, interval?, count?, userTimeout?).
 * argc counts the target too.
 */
export function parse(argc: number, first: unknown, interval: unknown, count: unknown, userTimeout: unknown): Values {
  if (typeof first === 'number') {
    if (argc > 5) {
      throw invalidArgType('arguments', `at most four values after the target (idle, interval, count, userTimeout), not ${argc - 1}`, undefined);
    }
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
  if (isPlainObject(first)) return fromObject(first);
  throw invalidArgType('options', `a plain object with ${OPTION_NAMES}, a number of seconds, or false`, first);
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

/** A complete, coherent set of options, as keepaliveFor returns it. */
export interface KeepaliveSet {
  idle: number;
  interval?: number;
  count?: number;
  /** Left out where the system has no TCP_USER_TIMEOUT (macOS, FreeBSD, Windows). */
  userTimeout?: number;
}

/** The longest idle keepaliveFor chooses: half the smallest common middlebox idle timeout (Azure Load Balancer, 240 s). */
export const MAX_CHOSEN_IDLE = 120;
const MAX_COUNT = 127;
/** The shortest and longest time keepaliveFor can meet. */
export const KEEPALIVE_FOR_RANGE: Range = Object.freeze({ min: 2, max: MAX_CHOSEN_IDLE + MAX_COUNT * MAX_CHOSEN_IDLE });

// Where only the idle time can be set (Windows with a Node that cannot pass
// interval and count), probes follow the system's 1 s interval, 10 times.
const FIXED_PROBES = { interval: 1, count: 10 } as const;

/**
 * Settings under which a dead peer is found within `seconds`, whether the
 * connection is idle (keepalive probes: idle + interval * count = seconds)
 * or busy with data in flight (TCP_USER_TIMEOUT = seconds). Three probes
 * where the time allows; idle and interval stay at most 120 s, so a NAT or
 * load balancer on the path never sees the flow silent long enough to
 * forget it. Fields the platform cannot set are left out.
 */
export function keepaliveFor(seconds: number): KeepaliveSet {
  const range = KEEPALIVE_FOR_RANGE;
  const wanted = `an integer between ${range.min} and ${range.max} (seconds)`;
  if (typeof seconds !== 'number') throw invalidArgType('seconds', wanted, seconds);
  if (!Number.isInteger(seconds) || seconds < range.min || seconds > range.max) throw outOfRange('seconds', wanted, seconds);
  const ranges = platform().ranges;
  if (ranges.interval === undefined || ranges.count === undefined) {
    const probing = FIXED_PROBES.interval * FIXED_PROBES.count;
    return { idle: Math.min(MAX_CHOSEN_IDLE, Math.max(1, seconds - probing)) };
  }
  let count = 3;
  let interval = Math.max(1, Math.floor(seconds / 9));
  if (seconds - interval * count < 1) {
    // Under 4 s: one-second probes, as many as fit after a one-second idle.
    count = seconds - 1;
    interval = 1;
  } else if (seconds - interval * count > MAX_CHOSEN_IDLE) {
    const rest = seconds - MAX_CHOSEN_IDLE;
    count = Math.max(3, Math.ceil(rest / MAX_CHOSEN_IDLE));
    interval = Math.floor(rest / count);
  }
  const set: KeepaliveSet = { idle: seconds - interval * count, interval, count };
  if (ranges.userTimeout !== undefined) set.userTimeout = seconds * 1000;
  return set;
}
