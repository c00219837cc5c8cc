// The system's own keepalive defaults, and the time a silent peer takes to be
// declared dead under a given set of values.
import { readFileSync } from 'node:fs';
import { fromObject, LEAVE } from './options.js';

export interface SystemDefaults {
  /** net.ipv4.tcp_keepalive_time, seconds. */
  idle: number;
  /** net.ipv4.tcp_keepalive_intvl, seconds. */
  interval: number;
  /** net.ipv4.tcp_keepalive_probes. */
  count: number;
}

// Documented defaults where there is no /proc to read.
const FALLBACK: Partial<Record<NodeJS.Platform, SystemDefaults>> = {
  darwin: { idle: 7200, interval: 75, count: 8 },
  freebsd: { idle: 7200, interval: 75, count: 8 },
  win32: { idle: 7200, interval: 1, count: 10 },
};

function sysctl(name: string): number {
  const text = readFileSync(`/proc/sys/net/ipv4/${name}`, 'latin1');
  return Number.parseInt(text, 10);
}

/**
 * This network namespace's defaults, read fresh from
 * /proc/sys/net/ipv4/tcp_keepalive_{time,intvl,probes} (containers often
 * have their own, not the host's).
 */
export function systemDefaults(): SystemDefaults {
  if (process.platform === 'linux') {
    return { idle: sysctl('tcp_keepalive_time'), interval: sysctl('tcp_keepalive_intvl'), count: sysctl('tcp_keepalive_probes') };
  }
  const known = FALLBACK[process.platform];
  if (!known) throw Object.assign(new Error(`No known keepalive defaults for ${process.platform}`), { code: 'ERR_KEEPALIVE_UNSUPPORTED' });
  return { ...known };
}

/** The fields that decide detection; a getKeepalive() result fits too. */
export interface DetectionSettings {
  idle?: number;
  interval?: number;
  count?: number;
  userTimeout?: number;
  enabled?: boolean;
}

/**
 * Seconds after the last data from the peer at which an idle connection to
 * a silent peer is dropped, as Linux's keepalive timer does it:
 * idle + interval * count; with a userTimeout, the first probe time
 * idle + k * interval (k >= 1) at or past userTimeout, count being ignored.
 * Fields left out take this namespace's system defaults. With
 * `enabled: false` no probe is ever sent: Infinity.
 */
export function detectionTime(settings: DetectionSettings = {}): number {
  const parsed = fromObject(settings, 'settings');
  if (!parsed.enabled) return Infinity;
  let { idle, interval, count } = parsed;
  const userTimeout = parsed.userTimeout;
  if (idle === LEAVE || interval === LEAVE || count === LEAVE) {
    const d = systemDefaults();
    if (idle === LEAVE) idle = d.idle;
    if (interval === LEAVE) interval = d.interval;
    if (count === LEAVE) count = d.count;
  }
  return detectionSeconds(idle, interval, count, userTimeout);
}

/** detectionTime's arithmetic on values already validated and complete. */
export function detectionSeconds(idle: number, interval: number, count: number, userTimeout: number): number {
  if (userTimeout > 0) {
    const k = Math.max(1, Math.ceil((userTimeout / 1000 - idle) / interval));
    return idle + k * interval;
  }
  return idle + interval * count;
}
