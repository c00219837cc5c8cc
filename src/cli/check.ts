// `tcp-keepalive check`: what a set of values does, and what is wrong with it.
import { common, integer, parse, UsageError } from './args.js';
import { duration, styleFor } from './format.js';
import { detectionSeconds, systemDefaults } from '../defaults.js';
import { LEAVE } from '../options.js';
import { systemPlatform, type Field } from '../platform.js';
import { unitMistakes } from '../warnings.js';

export const help = `Usage: tcp-keepalive check [--idle S] [--interval S] [--count N]
                           [--user-timeout MS] [--json]

Computes how long a connection with these keepalive values takes to notice
a silent peer, as Linux's keepalive timer does it, and warns about:
  - no userTimeout: keepalive does not probe while sent data is
    unacknowledged, so a connection with a request in flight to a peer that
    vanished is not covered (only tcp_retries2, about 15 min, ends it);
  - idle at or above a common middlebox idle timeout (Azure Load Balancer
    240 s, AWS Network Load Balancer 350 s, Google Cloud VPC firewall 600 s),
    which drops the flow before the first probe is sent;
  - a userTimeout that overrides count (the kernel then ignores count and
    drops the connection at the first probe past userTimeout);
  - values that look like the wrong unit (idle or interval in milliseconds,
    userTimeout in seconds).
A value left out takes this network namespace's system default. A value the
kernel would refuse is bad input.

Options:
  --idle S           seconds idle before the first probe (TCP_KEEPIDLE)
  --interval S       seconds between unanswered probes (TCP_KEEPINTVL)
  --count N          unanswered probes that drop the connection (TCP_KEEPCNT)
  --user-timeout MS  milliseconds sent data may go unacknowledged
                     (TCP_USER_TIMEOUT)
  --json             {"idle", ..., "detectionTime", "warnings": [...]}
  -h, --help         this text

Exit status: 0 no warnings, 1 warnings, 2 bad input (including values
outside the kernel's ranges).`;

/** Idle timeouts of common middleboxes that drop silent flows, in seconds. */
export const MIDDLEBOXES = [
  { name: 'Azure Load Balancer', timeout: 240 },
  { name: 'AWS Network Load Balancer', timeout: 350 },
  { name: 'Google Cloud VPC firewall', timeout: 600 },
] as const;

export type WarningCode = 'NO_USER_TIMEOUT' | 'UNITS' | 'IDLE_EXCEEDS_MIDDLEBOX' | 'USER_TIMEOUT_OVERRIDES_COUNT';

export interface CheckWarning {
  code: WarningCode;
  message: string;
  field?: Field;
  middlebox?: string;
  timeout?: number;
}

export interface CheckReport {
  idle: number;
  interval: number;
  count: number;
  userTimeout: number;
  /** idle, interval or count when not given and so taken from the system defaults. */
  fromSystemDefaults: Field[];
  /** Seconds. */
  detectionTime: number;
  /** Probes sent before the connection is dropped (differs from count under a userTimeout). */
  probes: number;
  warnings: CheckWarning[];
}

const UNIT: Record<Field, string> = { idle: 'seconds', interval: 'seconds', count: 'probes', userTimeout: 'milliseconds' };
const FLAG: Record<Field, string> = { idle: 'idle', interval: 'interval', count: 'count', userTimeout: 'user-timeout' };

/**
 * Values given on the command line must be ones setKeepalive would take,
 * with the same ranges; values from the system defaults are the kernel's
 * own and are taken as they are, whatever they are (a namespace may set
 * tcp_keepalive_probes to 200).
 */
function validate(given: Partial<Record<Field, number>>): void {
  const { ranges, os } = systemPlatform();
  for (const field of ['idle', 'interval', 'count', 'userTimeout'] as const) {
    const value = given[field];
    if (value === undefined) continue;
    const range = ranges[field];
    if (range === undefined) throw new UsageError(`--${FLAG[field]}: this platform (${os}) cannot set ${field}`);
    if (value < range.min || value > range.max) {
      throw new UsageError(`--${FLAG[field]} expects a whole number of ${UNIT[field]} from ${range.min} to ${range.max}, got ${value}`);
    }
  }
}

export function check(given: Partial<Record<Field, number>>): CheckReport {
  validate(given);
  const fromSystemDefaults: Field[] = [];
  const needDefaults = given.idle === undefined || given.interval === undefined || given.count === undefined;
  const d = needDefaults ? systemDefaults() : undefined;
  const pick = (name: 'idle' | 'interval' | 'count') => {
    const value = given[name];
    if (value !== undefined) return value;
    fromSystemDefaults.push(name);
    return d![name];
  };
  const values = { idle: pick('idle'), interval: pick('interval'), count: pick('count'), userTimeout: given.userTimeout ?? 0 };

  const warnings: CheckWarning[] = [];
  if (values.userTimeout === 0) {
    const { ranges, os } = systemPlatform();
    const why = ranges.userTimeout ? 'no userTimeout' : `this platform (${os}) has no TCP_USER_TIMEOUT`;
    warnings.push({
      code: 'NO_USER_TIMEOUT',
      field: 'userTimeout',
      message: `${why}: keepalive does not probe while sent data is unacknowledged, so a connection with a request in flight to a peer that vanished is not covered (only net.ipv4.tcp_retries2, about 15 min, ends it)${ranges.userTimeout ? '; add --user-timeout, e.g. ' + (values.idle + values.interval * values.count) * 1000 : ''}`,
    });
  }
  for (const found of unitMistakes({
    idle: given.idle ?? LEAVE,
    interval: given.interval ?? LEAVE,
    userTimeout: given.userTimeout ?? LEAVE,
  })) {
    warnings.push({ code: 'UNITS', message: found.message });
  }
  for (const box of MIDDLEBOXES) {
    if (values.idle >= box.timeout) {
      warnings.push({
        code: 'IDLE_EXCEEDS_MIDDLEBOX',
        middlebox: box.name,
        timeout: box.timeout,
        message: `idle ${values.idle} s reaches the ${box.name}'s ${box.timeout} s idle timeout: it drops the flow before the first probe (use idle < ${box.timeout})`,
      });
    }
  }
  const time = detectionSeconds(values.idle, values.interval, values.count, values.userTimeout);
  const probes = Math.round((time - values.idle) / values.interval);
  if (values.userTimeout > 0 && probes !== values.count) {
    warnings.push({
      code: 'USER_TIMEOUT_OVERRIDES_COUNT',
      field: 'count',
      message:
        `userTimeout ${values.userTimeout} ms overrides count ${values.count}: the kernel drops the connection after ${probes} unanswered ` +
        `probe${probes === 1 ? '' : 's'}, at ${time} s instead of ${values.idle + values.interval * values.count} s`,
    });
  }
  return { ...values, fromSystemDefaults, detectionTime: time, probes, warnings };
}

export function render(r: CheckReport, style: ReturnType<typeof styleFor>): string {
  const mark = (field: Field) => (r.fromSystemDefaults.includes(field) ? ' (system default)' : '');
  const lines = [
    `idle ${r.idle} s${mark('idle')}, interval ${r.interval} s${mark('interval')}, count ${r.count}${mark('count')}, ` +
      `userTimeout ${r.userTimeout} ms${r.userTimeout === 0 ? ' (off)' : ''}`,
  ];
  const how =
    r.userTimeout > 0
      ? `${r.idle} + ${r.interval} \u00d7 ${r.probes}, the first probe at or past userTimeout`
      : `${r.idle} + ${r.interval} \u00d7 ${r.count}`;
  lines.push(`A silent idle peer is detected after ${style.bold(duration(r.detectionTime))} (${r.detectionTime} s = ${how}).`);
  if (r.userTimeout > 0) {
    lines.push(`A peer that stops acknowledging data in flight is detected after ${style.bold(duration(r.userTimeout / 1000))} (userTimeout).`);
  }
  for (const w of r.warnings) lines.push(`${style.yellow('warning:')} ${w.message}`);
  if (r.warnings.length === 0) lines.push(style.green('No warnings.'));
  return lines.join('\n');
}

export function run(args: string[]): number {
  const values = parse('check', args, {
    ...common,
    idle: { type: 'string' },
    interval: { type: 'string' },
    count: { type: 'string' },
    'user-timeout': { type: 'string' },
  });
  if (values.help) {
    process.stdout.write(`${help}\n`);
    return 0;
  }
  const given: Partial<Record<Field, number>> = {};
  const idle = integer('idle', values.idle, 'a whole number of seconds');
  const interval = integer('interval', values.interval, 'a whole number of seconds');
  const count = integer('count', values.count, 'a whole number of probes');
  const userTimeout = integer('user-timeout', values['user-timeout'], 'a whole number of milliseconds');
  if (idle !== undefined) given.idle = idle;
  if (interval !== undefined) given.interval = interval;
  if (count !== undefined) given.count = count;
  if (userTimeout !== undefined) given.userTimeout = userTimeout;
  const r = check(given);
  if (values.json) process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
  else process.stdout.write(`${render(r, styleFor(process.stdout))}\n`);
  return r.warnings.length > 0 ? 1 : 0;
}
