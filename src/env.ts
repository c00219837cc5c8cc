// The TCP_KEEPALIVE_* environment variables read by the preload
// (tcp-keepalive/register), parsed and checked without side effects so a
// bad value can stop the process before anything runs unprotected.
import { codedError } from './errors.js';
import type { KeepaliveOptions } from './options.js';
import { platform, type Field } from './platform.js';

export type Direction = 'client' | 'server' | 'both';

export interface EnvConfig {
  /** Already validated: setDefaultKeepalive accepts it as it is. */
  options: KeepaliveOptions;
  /**
   * The service ports to manage, or null for all: a client connection's
   * remote port, an accepted connection's local (listening) port.
   */
  ports: ReadonlySet<number> | null;
  direction: Direction;
}

const PREFIX = 'TCP_KEEPALIVE_';

const FIELDS: Readonly<Record<string, { field: Field; unit: string }>> = {
  TCP_KEEPALIVE_IDLE: { field: 'idle', unit: 'seconds' },
  TCP_KEEPALIVE_INTERVAL: { field: 'interval', unit: 'seconds' },
  TCP_KEEPALIVE_COUNT: { field: 'count', unit: 'probes' },
  TCP_KEEPALIVE_USER_TIMEOUT: { field: 'userTimeout', unit: 'milliseconds' },
};

export const ENV_VARIABLES: readonly string[] = [...Object.keys(FIELDS), 'TCP_KEEPALIVE_PORTS', 'TCP_KEEPALIVE_DIRECTION'];

const DIRECTIONS: readonly Direction[] = ['client', 'server', 'both'];

// An operator reads these on a terminal: every character outside printable
// ASCII is written as an escape, so a newline cannot split the line and an
// escape sequence cannot act on the terminal.
const NAMED_ESCAPES: Readonly<Record<string, string>> = { '"': '\\"', '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function escaped(text: string): string {
  return text.replace(/[^\x20-\x7e]|["\\]/g, (c) => {
    const named = NAMED_ESCAPES[c];
    if (named !== undefined) return named;
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

function shown(raw: string): string {
  const text = raw.length > 40 ? `${raw.slice(0, 37)}...` : raw;
  return `"${escaped(text)}"`;
}

/** A variable's name as printed: as it is when it is a plain name, quoted and escaped otherwise. */
function shownName(name: string): string {
  return /^[A-Za-z0-9_]+$/.test(name) ? name : shown(name);
}

function invalid(name: string, expected: string, raw: string, code = 'ERR_INVALID_ARG_VALUE'): Error {
  const error = codedError(code, `${name} must be ${expected}, got ${shown(raw)}`);
  (error as Error & { variable?: string }).variable = name;
  return error;
}

// ASCII blanks only. String.prototype.trim would also take a no-break space,
// U+3000 or a BOM, which a value pasted from a document or a spreadsheet
// carries unseen; such a value is refused rather than read as a number.
const ASCII_BLANKS = /^[ \t\n\v\f\r]+|[ \t\n\v\f\r]+$/g;

function trimmed(raw: string): string {
  return raw.replace(ASCII_BLANKS, '');
}

// Decimal digits only: "60s", "1e3", "0x10" and "1.5" are refused rather
// than guessed at, since a unit mix-up is exactly the mistake to catch.
const INTEGER = /^\d+$/;

function integer(name: string, raw: string, min: number, max: number, unit: string): number {
  const text = trimmed(raw);
  const expected = `a whole number of ${unit} from ${min} to ${max}`;
  if (!INTEGER.test(text)) throw invalid(name, expected, raw);
  const value = Number(text);
  if (value < min || value > max) throw invalid(name, expected, raw, 'ERR_OUT_OF_RANGE');
  return value;
}

function ports(name: string, raw: string): Set<number> {
  const expected = 'a comma-separated list of port numbers from 1 to 65535';
  const items = raw.split(',').map(trimmed);
  const result = new Set<number>();
  for (const item of items) {
    if (!INTEGER.test(item) || Number(item) < 1 || Number(item) > 65535) throw invalid(name, expected, raw);
    result.add(Number(item));
  }
  return result;
}

/**
 * The configuration the variables describe, or null when none of them is
 * set (an empty value counts as not set). Throws a coded error whose message
 * names the variable, what it accepts and what it got; `error.variable`
 * holds the name.
 */
export function configFromEnv(env: NodeJS.ProcessEnv = process.env): EnvConfig | null {
  const set = Object.keys(env)
    .filter((name) => name.startsWith(PREFIX) && trimmed(env[name] ?? '') !== '')
    .sort();
  if (set.length === 0) return null;
  // A misspelt name would leave the process unprotected without a word.
  for (const name of set) {
    if (!ENV_VARIABLES.includes(name)) {
      const error = codedError('ERR_INVALID_ARG_VALUE', `${shownName(name)} is not a variable tcp-keepalive knows (${ENV_VARIABLES.join(', ')}), got ${shown(env[name]!)}`);
      (error as Error & { variable?: string }).variable = name;
      throw error;
    }
  }
  const options: KeepaliveOptions = {};
  for (const [name, { field, unit }] of Object.entries(FIELDS)) {
    const raw = env[name];
    if (raw === undefined || trimmed(raw) === '') continue;
    const range = platform().ranges[field];
    if (range === undefined) throw invalid(name, `unset: this platform (${platform().os}) cannot set ${field}`, raw);
    options[field] = integer(name, raw, range.min, range.max, unit);
  }
  const rawPorts = env.TCP_KEEPALIVE_PORTS;
  const portSet = rawPorts !== undefined && trimmed(rawPorts) !== '' ? ports('TCP_KEEPALIVE_PORTS', rawPorts) : null;
  const rawDirection = env.TCP_KEEPALIVE_DIRECTION;
  let direction: Direction = 'both';
  if (rawDirection !== undefined && trimmed(rawDirection) !== '') {
    const wanted = trimmed(rawDirection).toLowerCase();
    if (!(DIRECTIONS as readonly string[]).includes(wanted)) {
      throw invalid('TCP_KEEPALIVE_DIRECTION', `one of ${DIRECTIONS.join(', ')}`, rawDirection);
    }
    direction = wanted as Direction;
  }
  return { options, ports: portSet, direction };
}

/** One line for NODE_DEBUG=tcp-keepalive. */
export function describeConfig(config: EnvConfig): string {
  const fields = Object.entries(config.options).map(([k, v]) => `${k}=${String(v)}`);
  const where = config.ports === null ? 'all ports' : `ports ${[...config.ports].join(',')}`;
  return `preload: keepalive on (${fields.join(' ') || 'system defaults'}) for ${config.direction === 'both' ? 'client and accepted' : config.direction === 'client' ? 'client' : 'accepted'} connections, ${where}`;
}
