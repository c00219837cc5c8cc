// Settings the kernel accepts but that do not do what they seem to, told
// once per distinct setting through process warnings (which users can route
// or silence), never console output:
// - On Linux a non-zero TCP_USER_TIMEOUT takes over from TCP_KEEPCNT: once
//   userTimeout ms have passed and one probe is unanswered, the connection
//   is dropped, so a userTimeout shorter than idle + interval * count
//   quietly sends fewer probes than `count`.
// - Node, pg, ioredis and undici count in milliseconds; idle and interval
//   are seconds. 5000 "ms" as idle is 83 minutes.
// And under NODE_DEBUG=tcp-keepalive, settings without a userTimeout, which
// leave a connection with data in flight to a dead peer unprotected.
import type net from 'node:net';
import { debug, debugging } from './debug.js';
import { detectionSeconds, systemDefaults } from './defaults.js';
import { LEAVE, type Values } from './options.js';
import { readFd } from './socket.js';
import { tcpFd, tcpHandle, type Handle } from './target.js';

export const WARNING_TYPE = 'TcpKeepaliveWarning';

/** userTimeout < idle: a single probe, then the connection is dropped. */
export const SINGLE_PROBE = 'TCP_KEEPALIVE_SINGLE_PROBE';
/** userTimeout < idle + interval * count: fewer than `count` probes. */
export const COUNT_CUT_SHORT = 'TCP_KEEPALIVE_COUNT_CUT_SHORT';
/** idle or interval in milliseconds, or userTimeout in seconds. */
export const UNITS = 'TCP_KEEPALIVE_UNITS';

export interface Settings {
  idle: number;
  interval: number;
  count: number;
  userTimeout: number;
}

export interface Finding {
  code: string;
  message: string;
}

/** What is wrong with a complete set of values, or null when count is honoured. */
export function selfDefeating(s: Settings): Finding | null {
  if (s.userTimeout <= 0) return null;
  const full = s.idle + s.interval * s.count;
  // Every probe goes out before the user timeout can end the connection.
  if (s.userTimeout >= full * 1000) return null;
  const cut = detectionSeconds(s.idle, s.interval, s.count, s.userTimeout);
  if (cut >= full) return null;
  const probes = (cut - s.idle) / s.interval;
  const advice = `Set userTimeout to at least ${full * 1000} ms for all ${s.count} probes; it also bounds unacknowledged data.`;
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

function looksLikeMilliseconds(seconds: number): boolean {
  return seconds >= 1000 && seconds % 1000 === 0;
}

function minutes(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.round((seconds % 3600) / 60);
  return h ? `${h} h ${m} min` : `${m} min`;
}

/**
 * Values that look like a unit mix-up: idle or interval of 1000 s or more
 * in whole thousands (milliseconds meant), or a userTimeout under a second
 * next to an idle time (seconds meant). Fields not given are LEAVE (-1).
 */
export function unitMistakes(v: { idle: number; interval: number; userTimeout: number }): Finding[] {
  const found: Finding[] = [];
  for (const name of ['idle', 'interval'] as const) {
    const value = v[name];
    if (value !== LEAVE && looksLikeMilliseconds(value)) {
      found.push({
        code: UNITS,
        message: `${name} is ${value} s (${minutes(value)}): ${name} is in seconds, not milliseconds. For ${value / 1000} s, give ${name}: ${value / 1000}.`,
      });
    }
  }
  if (v.userTimeout > 0 && v.userTimeout < 1000 && v.idle !== LEAVE) {
    found.push({
      code: UNITS,
      message: `userTimeout is ${v.userTimeout} ms next to idle ${v.idle} s: userTimeout is in milliseconds, not seconds. For ${v.userTimeout} s, give userTimeout: ${v.userTimeout * 1000}.`,
    });
  }
  return found;
}

/** The note for settings that leave busy connections unprotected. */
export const NO_USER_TIMEOUT =
  'no userTimeout: keepalive does not probe while sent data is unacknowledged, so a connection with a request or query in flight to a peer that vanished is not covered (only net.ipv4.tcp_retries2, about 15 min, ends it); give userTimeout, e.g. from keepaliveFor()';

/** Whether unitMistakes could find anything: a few comparisons, for the per-call path. */
function mayHaveUnitMistake(v: Values): boolean {
  return looksLikeMilliseconds(v.idle) || looksLikeMilliseconds(v.interval) || (v.userTimeout > 0 && v.userTimeout < 1000 && v.idle !== LEAVE);
}

/** The key a warning is told once per; built only when there is one to tell. */
function keyOf(v: Settings): string {
  return `${v.idle} ${v.interval} ${v.count} ${v.userTimeout}`;
}

const judged = new Set<string>();

let lastJudged: Settings = { idle: -1, interval: -1, count: -1, userTimeout: -1 };

/**
 * selfDefeating for a complete set on the per-call path: a coherent set
 * costs two comparisons; an incoherent one is judged (and its message
 * built) once per distinct set, not on every call.
 */
function warnSelfDefeating(s: Settings): void {
  if (s.userTimeout <= 0 || s.userTimeout >= (s.idle + s.interval * s.count) * 1000) return;
  const l = lastJudged;
  if (l.idle === s.idle && l.interval === s.interval && l.count === s.count && l.userTimeout === s.userTimeout) return;
  lastJudged = { idle: s.idle, interval: s.interval, count: s.count, userTimeout: s.userTimeout };
  const key = keyOf(s);
  if (judged.has(key)) return;
  judged.add(key);
  const found = selfDefeating(s);
  if (found) once(found, key);
}

/** Unit mix-ups in values as given, each told once per distinct set. */
function warnUnits(values: Values): void {
  if (!mayHaveUnitMistake(values)) return;
  const key = keyOf(values);
  for (const found of unitMistakes(values)) once(found, key);
}

/** A process warning of this package's type. */
export function warn(message: string, code: string): void {
  process.emitWarning(message, { type: WARNING_TYPE, code });
}

const warned = new Set<string>();

function once(found: Finding, key: string): void {
  const id = `${found.code} ${key}`;
  if (warned.has(id)) return;
  warned.add(id);
  warn(found.message, found.code);
}

/** One line per distinct set of values, for warnings and debug output. */
export function describeValues(v: Values): string {
  if (!v.enabled) return 'keepalive off';
  const parts = (['idle', 'interval', 'count', 'userTimeout'] as const).filter((f) => v[f] !== LEAVE).map((f) => `${f}=${v[f]}`);
  return `keepalive on (${parts.join(' ') || 'system values'})`;
}

const noted = new Set<string>();

function noteNoUserTimeout(values: Values): void {
  if (!debugging()) return;
  const key = describeValues(values);
  if (noted.has(key)) return;
  noted.add(key);
  debug(`${key}: ${NO_USER_TIMEOUT}`);
}

// Whether the package last set a non-zero userTimeout on the connection:
// only then can a later change of idle, interval or count defeat itself,
// and only then is the kernel read back.
const kUserTimeout = Symbol('tcp-keepalive.userTimeout');

type Marked = Handle & { [kUserTimeout]?: boolean };

function complete(v: Values): boolean {
  return v.idle !== LEAVE && v.interval !== LEAVE && v.count !== LEAVE && v.userTimeout !== LEAVE;
}

/**
 * Judges values as setKeepalive receives them, before any socket has them
 * (a server not listening yet, a socket still connecting): what can be told
 * from the values alone is told at once.
 */
export function checkGiven(values: Values): void {
  if (!values.enabled) return;
  warnUnits(values);
  if (complete(values)) warnSelfDefeating(values);
}

/** Called after values were written to a socket or listener. Never throws. */
export function checkApplied(target: net.Socket | net.Server, handle: Handle, values: Values): void {
  if (!values.enabled) return;
  warnUnits(values);
  const tcp = tcpHandle(handle) as Marked;
  if (values.userTimeout !== LEAVE) {
    const on = values.userTimeout > 0;
    // Written only when it changes: a property store on a native handle
    // object is not free on the per-call path.
    if (tcp[kUserTimeout] !== on) tcp[kUserTimeout] = on;
  }
  if (!tcp[kUserTimeout]) {
    noteNoUserTimeout(values);
    return;
  }
  try {
    // All four given: judge them as given, without reading the kernel.
    warnSelfDefeating(complete(values) ? values : readFd(tcpFd(target, handle)));
  } catch {
    // A warning must never turn a successful setKeepalive into a failure.
  }
}

/**
 * Judges values that new sockets will get (setDefaultKeepalive, the
 * preload), fields left out taking this namespace's system defaults.
 */
export function checkNewSocketValues(values: Values): void {
  if (!values.enabled) return;
  warnUnits(values);
  if (values.userTimeout <= 0) {
    noteNoUserTimeout(values);
    return;
  }
  try {
    const d = systemDefaults();
    const settings = {
      idle: values.idle === LEAVE ? d.idle : values.idle,
      interval: values.interval === LEAVE ? d.interval : values.interval,
      count: values.count === LEAVE ? d.count : values.count,
      userTimeout: values.userTimeout,
    };
    const found = selfDefeating(settings);
    if (found) once(found, keyOf(settings));
  } catch {
    // No defaults to read on this system: nothing to judge against.
  }
}
