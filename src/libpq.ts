// libpq's keepalive parameters (keepalives, keepalives_idle,
// keepalives_interval, keepalives_count, tcp_user_timeout) turned into this
// package's options, so a team moving a service from libpq to Node keeps the
// settings it already has in its connection strings.
//
// Connection strings are read the way libpq reads them (fe-connect.c): a
// URI's query parameters, percent-decoded; or key=value pairs with
// libpq's quoting. Every other parameter (host, dbname, sslmode, ...) is
// ignored. Messages never repeat the connection string or any value other
// than the keepalive parameters', since it may hold a password.
import { codedError, invalidArgType, invalidArgValue, outOfRange } from './errors.js';
import type { KeepaliveOptions } from './options.js';
import { platform, type Field } from './platform.js';

/** A libpq-style parameter object, as PQconnectdbParams takes it; values are strings or numbers. */
export type LibpqParams = Readonly<Record<string, unknown>>;

const PARAMS: Readonly<Record<string, { field: Field; unit: string } | null>> = {
  keepalives: null,
  keepalives_idle: { field: 'idle', unit: 'seconds' },
  keepalives_interval: { field: 'interval', unit: 'seconds' },
  keepalives_count: { field: 'count', unit: 'probes' },
  tcp_user_timeout: { field: 'userTimeout', unit: 'milliseconds' },
};

const KNOWN = Object.keys(PARAMS);

// Names close enough to a keepalive parameter that a typo (keepalive_idle,
// Keepalives, tcp_keepalives_idle) should not pass silently as "unrelated".
const KEEPALIVE_ISH = /keep_?alive|user_?timeout/i;

function malformed(what: string, offset: number): Error {
  return codedError('ERR_INVALID_ARG_VALUE', `Malformed connection string: ${what} at offset ${offset}`);
}

function isSpace(c: string | undefined): boolean {
  return c !== undefined && /\s/.test(c);
}

/** libpq's conninfo_parse: key = value pairs, values optionally 'quoted' with \ escapes. */
function parseKeyValue(text: string): Map<string, string> {
  const out = new Map<string, string>();
  let i = 0;
  while (i < text.length) {
    if (isSpace(text[i])) {
      i++;
      continue;
    }
    const keyStart = i;
    while (i < text.length && text[i] !== '=' && !isSpace(text[i])) i++;
    const key = text.slice(keyStart, i);
    while (isSpace(text[i])) i++;
    if (text[i] !== '=') throw malformed('missing "=" after a parameter name', i);
    if (key === '') throw malformed('a parameter with no name', keyStart);
    i++;
    while (isSpace(text[i])) i++;
    let value = '';
    if (text[i] === "'") {
      const quoteAt = i;
      i++;
      for (;;) {
        if (i >= text.length) throw malformed('unterminated quoted value', quoteAt);
        const c = text[i]!;
        if (c === '\\') {
          i++;
          if (i < text.length) value += text[i++];
          continue;
        }
        i++;
        if (c === "'") break;
        value += c;
      }
    } else {
      while (i < text.length && !isSpace(text[i])) {
        if (text[i] === '\\') {
          i++;
          if (i < text.length) value += text[i++];
        } else {
          value += text[i++];
        }
      }
    }
    // As in libpq, a later occurrence wins.
    out.set(key, value);
  }
  return out;
}

function percentDecode(text: string, offset: number): string {
  for (let i = text.indexOf('%'); i >= 0; i = text.indexOf('%', i + 1)) {
    const hex = text.slice(i + 1, i + 3);
    if (!/^[0-9a-fA-F]{2}$/.test(hex)) throw malformed('invalid percent-encoding', offset + i);
    if (hex === '00') throw malformed('%00 is not allowed', offset + i);
  }
  return text.replace(/(?:%[0-9a-fA-F]{2})+/g, (run) => Buffer.from(run.replaceAll('%', ''), 'hex').toString('utf8'));
}

const URI_PREFIX = /^postgres(?:ql)?:\/\//i;

/** The query parameters of a postgres:// or postgresql:// URI, as libpq's conninfo_uri_parse finds them. */
function parseUri(text: string): Map<string, string> {
  const out = new Map<string, string>();
  const start = text.match(URI_PREFIX)![0].length;
  // The user part may hold '?' unencoded; libpq looks for the query only
  // after it, and only if '@' comes before any '/'.
  let i = start;
  while (i < text.length && text[i] !== '@' && text[i] !== '/') i++;
  const hostStart = text[i] === '@' ? i + 1 : start;
  const q = text.indexOf('?', hostStart);
  if (q < 0) return out;
  let at = q + 1;
  for (const piece of text.slice(q + 1).split('&')) {
    const pieceAt = at;
    at += piece.length + 1;
    if (piece === '' && pieceAt >= text.length) break; // a trailing '&'
    const eq = piece.indexOf('=');
    if (eq < 0) throw malformed('a query parameter with no "="', pieceAt);
    if (piece.indexOf('=', eq + 1) >= 0) throw malformed('a query parameter with a second "="', pieceAt);
    const key = percentDecode(piece.slice(0, eq), pieceAt);
    if (key === '') throw malformed('a query parameter with no name', pieceAt);
    out.set(key, percentDecode(piece.slice(eq + 1), pieceAt + eq + 1));
  }
  return out;
}

// libpq's parse_int_param: strtol with surrounding blanks allowed, and
// nothing else after the digits.
const LIBPQ_INT = /^\s*([+-]?\d+)\s*$/;

function integer(name: string, value: unknown, expected: string): number {
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw outOfRange(name, expected, value);
    return value;
  }
  if (typeof value !== 'string') throw invalidArgType(name, `${expected} as a string or number`, value);
  const m = LIBPQ_INT.exec(value);
  if (!m) throw invalidArgValue(name, `Expected ${expected}`, value);
  const n = Number(m[1]);
  if (n < -2147483648 || n > 2147483647) throw outOfRange(name, expected, value);
  return n;
}

function fromParams(get: (key: string) => unknown, keys: Iterable<string>): KeepaliveOptions | false {
  for (const key of keys) {
    if (!(key in PARAMS) && KEEPALIVE_ISH.test(key)) {
      throw codedError('ERR_INVALID_ARG_VALUE', `Unknown keepalive parameter "${key}" (libpq's are ${KNOWN.join(', ')})`);
    }
  }
  const present = (v: unknown) => v !== undefined && v !== null;
  let enabled = true;
  const raw = get('keepalives');
  if (present(raw)) enabled = integer('keepalives', raw, 'an integer (0 turns keepalives off)') !== 0;
  const options: KeepaliveOptions = {};
  for (const [name, spec] of Object.entries(PARAMS)) {
    if (spec === null) continue;
    const value = get(name);
    if (!present(value)) continue;
    const range = platform().ranges[spec.field];
    const max = range?.max ?? 2147483647;
    const expected = `an integer between 0 and ${max} (${spec.unit}; 0 is the system default)`;
    const n = integer(name, value, expected);
    if (n < 0 || n > max) throw outOfRange(name, expected, value);
    // libpq leaves out on its own what the platform has no option for.
    if (range === undefined) continue;
    // 0 is libpq's "system default": leave the field as the socket has it.
    // For the user timeout the package's own 0 means the same.
    if (n === 0 && spec.field !== 'userTimeout') continue;
    options[spec.field] = n;
  }
  return enabled ? options : false;
}

/**
 * The package's options from libpq's keepalive parameters in a PostgreSQL
 * connection URI (`postgres://` or `postgresql://`), a libpq key=value
 * connection string, or a libpq-style parameter object. Returns `false`
 * for `keepalives=0`, as setKeepalive and setDefaultKeepalive take it, and
 * `{}` (keepalive on, system values) when none is given, which is libpq's
 * default too.
 */
export function fromLibpq(connection: string | URL | LibpqParams): KeepaliveOptions | false {
  if (connection instanceof URL) connection = connection.href;
  if (typeof connection === 'string') {
    const text = connection.trimStart();
    const params = URI_PREFIX.test(text) ? parseUri(text) : parseKeyValue(connection);
    return fromParams((key) => params.get(key), params.keys());
  }
  if (typeof connection !== 'object' || connection === null || Array.isArray(connection)) {
    throw invalidArgType('connection', 'a connection string, a URL or an object of libpq parameters', connection);
  }
  const params = connection;
  return fromParams((key) => (Object.hasOwn(params, key) ? params[key] : undefined), Object.keys(params));
}

