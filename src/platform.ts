// What the platform underneath accepts and does. Validation takes its ranges
// from here, the server path asks here which settings a listening socket
// hands on to the sockets it accepts, and capabilities() reports it.
//
// Sources for the numbers: Linux's tcp_sock_set_keep{idle,intvl,cnt}
// (MAX_TCP_KEEPIDLE 32767, MAX_TCP_KEEPINTVL 32767, MAX_TCP_KEEPCNT 127);
// XNU's tcp_ctloutput (TCP_KEEPALIVE and TCP_KEEPINTVL up to
// UINT32_MAX / 1000 seconds, TCP_KEEPCNT up to INT32_MAX) and its
// tcp_input, which copies keepcnt and keepintvl into an accepted socket but
// not keepidle; FreeBSD's tcp_ctloutput (at most UINT_MAX / hz seconds, hz
// being 1000 by default) and syncache_socket, which copies all three. On
// every system 0 means "the system default" rather than "no wait", so the
// ranges start at 1.
import net from 'node:net';
import { native, Capability } from './native.js';

export interface Range {
  readonly min: number;
  readonly max: number;
}

export type Field = 'idle' | 'interval' | 'count' | 'userTimeout';

/**
 * How getKeepalive learns a value: 'kernel' reads it with getsockopt;
 * 'recorded' knows it only once this package has set it on that socket
 * (Windows, where Node gives no descriptor to read from), and reports null
 * before; 'absent' means the system has no such option (userTimeout outside
 * Linux), reported as 0, "the system default".
 */
export type Readback = 'kernel' | 'recorded' | 'absent';

export interface Platform {
  readonly os: NodeJS.Platform;
  /** False where a TCP socket has no descriptor for the native layer (Windows). */
  readonly descriptors: boolean;
  /** Accepted values per field; a field missing here cannot be set at all. */
  readonly ranges: Readonly<Partial<Record<Field, Range>>>;
  /** Why each field missing from ranges cannot be set. */
  readonly reasons: Readonly<Partial<Record<Field, string>>>;
  /** How getKeepalive learns each value. */
  readonly read: Readonly<Record<Field | 'enabled', Readback>>;
  /** Settings the kernel copies from a listening socket into accepted ones. */
  readonly inherited: Readonly<Record<Field | 'enabled', boolean>>;
}

/** What a platform description depends on besides the system itself. */
export interface Environment {
  /** The compiled shim's Capability bits (POSIX systems). */
  capabilities: number;
  /** Node passes interval and count through socket.setKeepAlive (Windows). */
  nodeSetsIntervalAndCount: boolean;
  /** process.version, for messages. */
  node: string;
}

const SECONDS_32767: Range = { min: 1, max: 32767 };
// Kernels that keep keepalive times in milliseconds in 32 bits.
const SECONDS_MS32: Range = { min: 1, max: 4294967 };
const INT32: Range = { min: 1, max: 2147483647 };
const ALL = { enabled: true, idle: true, interval: true, count: true, userTimeout: true } as const;
const NONE = { enabled: false, idle: false, interval: false, count: false, userTimeout: false } as const;
const KERNEL = { enabled: 'kernel', idle: 'kernel', interval: 'kernel', count: 'kernel', userTimeout: 'kernel' } as const;

const NAMES: Partial<Record<NodeJS.Platform, string>> = { darwin: 'macOS', freebsd: 'FreeBSD', win32: 'Windows', linux: 'Linux' };

function posixRanges(os: NodeJS.Platform): Partial<Record<Field, Range>> {
  switch (os) {
    case 'linux':
      return { idle: SECONDS_32767, interval: SECONDS_32767, count: { min: 1, max: 127 }, userTimeout: { min: 0, max: 2147483647 } };
    case 'darwin':
    case 'freebsd':
      return { idle: SECONDS_MS32, interval: SECONDS_MS32, count: INT32 };
    default:
      // Another POSIX system: what the shim compiled, within Linux's bounds,
      // which every system with these options accepts.
      return { idle: SECONDS_32767, interval: SECONDS_32767, count: { min: 1, max: 127 }, userTimeout: { min: 0, max: 2147483647 } };
  }
}

const FIELD_BITS: Record<Field, number> = {
  idle: Capability.Idle,
  interval: Capability.Interval,
  count: Capability.Count,
  userTimeout: Capability.UserTimeout,
};

const OPTION: Record<Field, string> = {
  idle: 'TCP_KEEPIDLE',
  interval: 'TCP_KEEPINTVL',
  count: 'TCP_KEEPCNT',
  userTimeout: 'TCP_USER_TIMEOUT',
};

function windows(env: Environment): Platform {
  const ranges: Partial<Record<Field, Range>> = { idle: SECONDS_MS32 };
  const reasons: Partial<Record<Field, string>> = {
    userTimeout: 'Windows has no TCP_USER_TIMEOUT',
  };
  if (env.nodeSetsIntervalAndCount) {
    ranges.interval = SECONDS_MS32;
    ranges.count = { min: 1, max: 255 };
  } else {
    const why = `Node ${env.node} can set only the idle time on Windows (interval and count need a Node whose socket.setKeepAlive takes them, such as 24.21 or 26.10)`;
    reasons.interval = why;
    reasons.count = why;
  }
  return {
    os: 'win32',
    descriptors: false,
    ranges,
    reasons,
    read: { enabled: 'recorded', idle: 'recorded', interval: 'recorded', count: 'recorded', userTimeout: 'absent' },
    // Node hands no listening descriptor over, so nothing is set on it and
    // every accepted socket gets the settings itself.
    inherited: NONE,
  };
}

/** The description of a platform, from its name and the environment: no I/O. */
export function describePlatform(os: NodeJS.Platform, env: Environment): Platform {
  if (os === 'win32') return windows(env);
  const all = posixRanges(os);
  const ranges: Partial<Record<Field, Range>> = {};
  const reasons: Partial<Record<Field, string>> = {};
  const read: Record<Field | 'enabled', Readback> = { ...KERNEL };
  for (const f of Object.keys(FIELD_BITS) as Field[]) {
    const range = all[f];
    if (range && env.capabilities & FIELD_BITS[f]) {
      ranges[f] = range;
      continue;
    }
    const name = NAMES[os] ?? os;
    reasons[f] =
      f === 'userTimeout'
        ? `${name} has no TCP_USER_TIMEOUT${os === 'darwin' ? ' (TCP_RXT_CONNDROPTIME counts seconds and covers retransmissions only)' : ''}`
        : `this build for ${name} has no ${OPTION[f]}`;
    read[f] = 'absent';
  }
  let inherited: Record<Field | 'enabled', boolean>;
  if (os === 'linux' || os === 'freebsd') inherited = { ...ALL };
  else if (os === 'darwin') inherited = { ...ALL, idle: false };
  else inherited = { ...NONE, enabled: true };
  // A field the system lacks is not copied either: there is nothing to copy.
  for (const f of Object.keys(FIELD_BITS) as Field[]) if (!ranges[f]) inherited[f] = false;
  return { os, descriptors: true, ranges, reasons, read, inherited };
}

function versionAtLeast(version: string, want: readonly number[]): boolean {
  const have = version.replace(/^v/, '').split('.').map((n) => Number.parseInt(n, 10));
  for (let i = 0; i < want.length; i++) {
    const h = have[i] ?? 0;
    if (h !== want[i]) return h > want[i]!;
  }
  return true;
}

/**
 * Whether this Node's socket.setKeepAlive carries interval and count down to
 * libuv's uv_tcp_keepalive_ex. Both signs are needed: libuv 1.52 (the first
 * that sets TCP_KEEPINTVL and TCP_KEEPCNT) and a setKeepAlive that takes
 * four arguments. A wrapped setKeepAlive (an APM agent) may hide the second
 * sign; that only makes interval and count refused with a clear error.
 */
export function nodeSetsIntervalAndCount(versions: NodeJS.ProcessVersions = process.versions, setKeepAlive: (...args: never[]) => unknown = net.Socket.prototype.setKeepAlive): boolean {
  return versionAtLeast(versions.uv ?? '0', [1, 52]) && setKeepAlive.length >= 4;
}

function detect(): Platform {
  return describePlatform(process.platform, {
    capabilities: native().capabilities,
    nodeSetsIntervalAndCount: nodeSetsIntervalAndCount(),
    node: process.version,
  });
}

/**
 * The options a build for each system has: every one the system has (all
 * four on Linux, with glibc and musl alike; no TCP_USER_TIMEOUT on macOS and
 * FreeBSD). For judging values without a socket to set them on.
 */
const SYSTEM_OPTIONS: Partial<Record<NodeJS.Platform, number>> = {
  linux: Capability.Idle | Capability.Interval | Capability.Count | Capability.UserTimeout,
  darwin: Capability.Idle | Capability.Interval | Capability.Count,
  freebsd: Capability.Idle | Capability.Interval | Capability.Count,
};

/**
 * What this operating system accepts, without loading the binary where the
 * system is known: the command line's `check` judges values this way, and
 * needs no socket. Elsewhere it is platform().
 */
export function systemPlatform(): Platform {
  const options = SYSTEM_OPTIONS[process.platform];
  if (options === undefined && process.platform !== 'win32') return platform();
  return describePlatform(process.platform, { capabilities: options ?? 0, nodeSetsIntervalAndCount: nodeSetsIntervalAndCount(), node: process.version });
}

let current: Platform | undefined;

/** This system's description, made on first use (it loads the binary). */
export function platform(): Platform {
  return (current ??= detect());
}

/**
 * Replaces the platform description, for tests that exercise another
 * platform's logic on Linux (for example the per-connection server path or
 * the Windows path through Node's setKeepAlive). Returns a function that
 * restores the previous one.
 */
export function overridePlatform(changes: Partial<Platform>): () => void {
  const previous = platform();
  current = { ...previous, ...changes };
  return () => {
    current = previous;
  };
}
