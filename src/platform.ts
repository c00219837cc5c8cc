// What the platform underneath accepts and does. Validation takes its ranges
// from here, and the server path asks here which settings a listening socket
// hands on to the sockets it accepts.
import { binding, Capability } from './native.js';

export interface Range {
  readonly min: number;
  readonly max: number;
}

export type Field = 'idle' | 'interval' | 'count' | 'userTimeout';

export interface Platform {
  readonly os: NodeJS.Platform;
  /** Accepted values per field; a field missing here cannot be set at all. */
  readonly ranges: Readonly<Partial<Record<Field, Range>>>;
  /** Settings the kernel copies from a listening socket into accepted ones. */
  readonly inherited: Readonly<Record<Field | 'enabled', boolean>>;
}

const linux: Platform = {
  os: 'linux',
  ranges: {
    idle: { min: 1, max: 32767 },
    interval: { min: 1, max: 32767 },
    count: { min: 1, max: 127 },
    userTimeout: { min: 0, max: 2147483647 },
  },
  inherited: { enabled: true, idle: true, interval: true, count: true, userTimeout: true },
};

function detect(): Platform {
  // Until the other systems are built and verified, they get Linux's ranges
  // narrowed to what the compiled shim reports it can set.
  const caps = binding.capabilities;
  const ranges: Partial<Record<Field, Range>> = {};
  if (caps & Capability.Idle) ranges.idle = linux.ranges.idle;
  if (caps & Capability.Interval) ranges.interval = linux.ranges.interval;
  if (caps & Capability.Count) ranges.count = linux.ranges.count;
  if (caps & Capability.UserTimeout) ranges.userTimeout = linux.ranges.userTimeout;
  if (process.platform === 'linux') return { ...linux, ranges };
  return {
    os: process.platform,
    ranges,
    inherited: { enabled: true, idle: false, interval: false, count: false, userTimeout: false },
  };
}

let current: Platform = detect();

export function platform(): Platform {
  return current;
}

/**
 * Replaces the platform description, for tests that exercise another
 * platform's logic on Linux (for example the per-connection server path).
 * Returns a function that restores the previous one.
 */
export function overridePlatform(changes: Partial<Platform>): () => void {
  const previous = current;
  current = { ...current, ...changes };
  return () => {
    current = previous;
  };
}
