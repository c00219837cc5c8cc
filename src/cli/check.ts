// `tcp-keepalive check`: what a set of values does, and what is wrong with it.
import { common, integer, parse } from './args.js';
import { duration, styleFor } from './format.js';
import { detectionTime, systemDefaults } from '../defaults.js';
import { platform, type Field } from '../platform.js';

export const help = `Usage: tcp-keepalive check [--idle S] [--interval S] [--count N]
                           [--user-timeout MS] [--json]

Computes how long a connection with these keepalive values takes to notice
a silent peer, as Linux's keepalive timer does it, and warns about:
  - idle at or above a common middlebox idle timeout (Azure Load Balancer
    240 s, AWS Network Load Balancer 350 s, Google Cloud VPC firewall 600 s),
    which drops the flow before the first probe is sent;
  - a userTimeout that overrides count (the kernel then ignores count and
    drops the connection at the first probe past userTimeout);
  - values outside the kernel's ranges (setsockopt refuses them with EINVAL).
A value left out takes this network namespace's system default.

Options:
  --idle S           seconds idle before the first probe (TCP_KEEPIDLE)
  --interval S       seconds between unanswered probes (TCP_KEEPINTVL)
  --count N          unanswered probes that drop the connection (TCP_KEEPCNT)
  --user-timeout MS  milliseconds sent data may go unacknowledged
                     (TCP_USER_TIMEOUT)
  --json             {"idle", ..., "detectionTime", "warnings": [...]}
  -h, --help         this text

Exit status: 0 no warnings, 1 warnings, 2 bad input.`;

/** Idle timeouts of common middleboxes that drop silent flows, in seconds. */
export const MIDDLEBOXES = [
  { name: 'Azure Load Balancer', timeout: 240 },
  { name: 'AWS Network Load Balancer', timeout: 350 },
  { name: 'Google Cloud VPC firewall', timeout: 600 },
] as const;

export type WarningCode = 'OUT_OF_RANGE' | 'IDLE_EXCEEDS_MIDDLEBOX' | 'USER_TIMEOUT_OVERRIDES_COUNT';

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
  /** Seconds; null when a value is one the kernel would refuse. */
  detectionTime: number | null;
  /** Probes sent before the connection is dropped (differs from count under a userTimeout). */
  probes: number | null;
  warnings: CheckWarning[];
}

const UNIT: Record<Field, string> = { idle: 's', interval: 's', count: 'probes', userTimeout: 'ms' };

export function check(given: Partial<Record<Field, number>>): CheckReport {
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
  const { ranges } = platform();
  for (const field of ['idle', 'interval', 'count', 'userTimeout'] as const) {
    const range = ranges[field];
    const value = values[field];
    if (range === undefined) {
      if (given[field] !== undefined) {
        warnings.push({ code: 'OUT_OF_RANGE', field, message: `this platform (${platform().os}) cannot set ${field}` });
      }
    } else if (value < range.min || value > range.max) {
      warnings.push({
        code: 'OUT_OF_RANGE',
        field,
        message: `${field} ${value} is outside the kernel's range ${range.min} to ${range.max} (${UNIT[field]}): setsockopt refuses it with EINVAL`,
      });
    }
  }
  const valid = warnings.length === 0;

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

  let time: number | null = null;
  let probes: number | null = null;
  if (valid) {
    // userTimeout 0 is passed only where it means something: on a platform
    // without TCP_USER_TIMEOUT even 0 is a value it cannot take.
    const { userTimeout, ...rest } = values;
    time = detectionTime(userTimeout > 0 ? values : rest);
    probes = Math.round((time - values.idle) / values.interval);
    if (values.userTimeout > 0 && probes !== values.count) {
      warnings.push({
        code: 'USER_TIMEOUT_OVERRIDES_COUNT',
        field: 'count',
        message:
          `userTimeout ${values.userTimeout} ms overrides count ${values.count}: the kernel drops the connection after ${probes} unanswered ` +
          `probe${probes === 1 ? '' : 's'}, at ${time} s instead of ${values.idle + values.interval * values.count} s`,
      });
    }
  }
  return { ...values, fromSystemDefaults, detectionTime: time, probes, warnings };
}

export function render(r: CheckReport, style: ReturnType<typeof styleFor>): string {
  const mark = (field: Field) => (r.fromSystemDefaults.includes(field) ? ' (system default)' : '');
  const lines = [
    `idle ${r.idle} s${mark('idle')}, interval ${r.interval} s${mark('interval')}, count ${r.count}${mark('count')}, ` +
      `userTimeout ${r.userTimeout} ms${r.userTimeout === 0 ? ' (off)' : ''}`,
  ];
  if (r.detectionTime === null) {
    lines.push('Detection time not computed: the kernel would refuse these values.');
  } else {
    const how =
      r.userTimeout > 0
        ? `${r.idle} + ${r.interval} \u00d7 ${r.probes}, the first probe at or past userTimeout`
        : `${r.idle} + ${r.interval} \u00d7 ${r.count}`;
    lines.push(`A silent peer is detected after ${style.bold(duration(r.detectionTime))} (${r.detectionTime} s = ${how}).`);
  }
  if (r.userTimeout === 0) {
    lines.push(
      style.dim('note: keepalive does not probe while sent data is unacknowledged; then only tcp_retries2 (about 15 min)'),
      style.dim('      ends the connection. --user-timeout bounds that time too.'),
    );
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
