// Settings the kernel accepts but that do not do what they seem to. On Linux
// a non-zero TCP_USER_TIMEOUT takes over from TCP_KEEPCNT: once userTimeout
// ms have passed and one probe is unanswered, the connection is dropped, so
// a userTimeout shorter than idle + interval * count quietly sends fewer
// probes than `count`. Users hear of it once per distinct setting, through
// process warnings (which they can route or silence), never console output.
import net from 'node:net';
import { detectionSeconds, systemDefaults } from './defaults.js';
import { LEAVE, type Values } from './options.js';
import { readFd } from './socket.js';
import { handleOf, tcpFd } from './target.js';

export const WARNING_TYPE = 'TcpKeepaliveWarning';

/** userTimeout < idle: a single probe, then the connection is dropped. */
export const SINGLE_PROBE = 'TCP_KEEPALIVE_SINGLE_PROBE';
/** userTimeout < idle + interval * count: fewer than `count` probes. */
export const COUNT_CUT_SHORT = 'TCP_KEEPALIVE_COUNT_CUT_SHORT';

export interface Settings {
  idle: number;
  interval: number;
  count: number;
  userTimeout: number;
}

export interface SelfDefeating {
  code: typeof SINGLE_PROBE | typeof COUNT_CUT_SHORT;
  message: string;
}

/** What is wrong with a complete set of values, or null when count is honoured. */
export function selfDefeating(s: Settings): SelfDefeating | null {
  if (s.userTimeout <= 0) return null;
  const full = s.idle + s.interval * s.count;
  // Every probe goes out before the user timeout can end the connection.
  if (s.userTimeout >= full * 1000) return null;
  const cut = detectionSeconds(s.idle, s.interval, s.count, s.userTimeout);
  if (cut >= full) return null;
  const probes = (cut - s.idle) / s.interval;
  const advice = `Set userTimeout to at least ${full * 1000} ms (or 0) for all ${s.count} probes; it also bounds unacknowledged data.`;
  if (s.userTimeout < s.idle * 1000) {
    return {
      code: SINGLE_PROBE,
      message:
        `userTimeout (${s.userTimeout} ms) is shorter than idle (${s.idle} s), so only one keepalive probe is sent: ` +
        `a silent peer is dropped after ${cut} s and count (${s.count}) has no effect. ${advice}`,
    };
  }
  return {
    code: COUNT_CUT_SHORT,
    message:
      `userTimeout (${s.userTimeout} ms) is shorter than idle + interval * count (${full} s), so only ${probes} of ${s.count} ` +
      `keepalive probes are sent: a silent peer is dropped after ${cut} s, not ${full} s. ${advice}`,
  };
}

const warned = new Set<string>();

function warn(s: Settings): void {
  const found = selfDefeating(s);
  if (!found) return;
  const key = `${found.code} ${s.idle} ${s.interval} ${s.count} ${s.userTimeout}`;
  if (warned.has(key)) return;
  warned.add(key);
  process.emitWarning(found.message, { type: WARNING_TYPE, code: found.code });
}

type Target = net.Socket | net.Server;

// Whether the package last set a non-zero userTimeout on the target: only
// then can a later change of idle, interval or count defeat itself, and
// only then is the kernel read back.
const kUserTimeout = Symbol('tcp-keepalive.userTimeout');
const kDeferred = Symbol('tcp-keepalive.warnDeferred');

type Marked = Target & { [kUserTimeout]?: boolean; [kDeferred]?: boolean };

function isServer(target: Target): target is net.Server {
  return target instanceof net.Server;
}

/** The values in force, from the kernel; undefined while there is no descriptor to read. */
function inForce(target: Target): Settings | undefined {
  const handle = handleOf(target);
  const fd = handle?.fd;
  if (!handle || typeof fd !== 'number' || fd < 0) return undefined;
  if (!isServer(target) && (target.connecting || target.destroyed)) return undefined;
  const v = readFd(tcpFd(target, handle));
  return v.enabled ? v : { ...v, userTimeout: 0 };
}

function checkLater(this: Marked): void {
  this[kDeferred] = false;
  try {
    const settings = inForce(this);
    if (settings) warn(settings);
  } catch {
    // The socket is gone or refused the settings; that error has its own path.
  }
}

/** Called after setKeepalive applied (or queued) values on a target. */
export function checkSettings(target: Target, values: Values): void {
  const marked = target as Marked;
  if (values.userTimeout !== LEAVE) marked[kUserTimeout] = values.userTimeout > 0;
  if (!values.enabled || !marked[kUserTimeout]) return;
  // Only turning keepalive on changes none of the numbers to judge.
  if (values.idle === LEAVE && values.interval === LEAVE && values.count === LEAVE && values.userTimeout === LEAVE) return;
  try {
    // All four given: judge them as given, without reading the kernel.
    if (values.idle !== LEAVE && values.interval !== LEAVE && values.count !== LEAVE && values.userTimeout !== LEAVE) {
      warn(values);
      return;
    }
    const settings = inForce(target);
    if (settings) {
      warn(settings);
      return;
    }
    const waiting = isServer(target) ? !target.listening : target.connecting || !handleOf(target);
    if (waiting) {
      // Read what the kernel holds once the queued settings are applied.
      if (!marked[kDeferred]) {
        marked[kDeferred] = true;
        target.once(isServer(target) ? 'listening' : 'connect', checkLater);
      }
      return;
    }
    // A listener with no descriptor of its own (a cluster worker): judge the
    // values given, the rest as a new socket would have them.
    checkNewSocketValues(values);
  } catch {
    // A warning must never turn a successful setKeepalive into a failure.
  }
}

/**
 * Judges values that new sockets will get (setDefaultKeepalive), fields
 * left out taking this namespace's system defaults.
 */
export function checkNewSocketValues(values: Values): void {
  if (!values.enabled || values.userTimeout <= 0) return;
  try {
    const d = systemDefaults();
    warn({
      idle: values.idle === LEAVE ? d.idle : values.idle,
      interval: values.interval === LEAVE ? d.interval : values.interval,
      count: values.count === LEAVE ? d.count : values.count,
      userTimeout: values.userTimeout,
    });
  } catch {
    // No defaults to read on this system: nothing to judge against.
  }
}
