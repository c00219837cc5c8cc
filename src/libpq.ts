// libpq's keepalive parameters (keepalives, keepalives_idle,
// keepalives_interval, keepalives_count, tcp_user_timeout) turned into this
// package's options, so a team moving a service from libpq to Node keeps the
// settings it already has in its connection strings.
//
// A string is split as libpq 15's fe-connect.c splits it (conninfo_parse,
// conninfo_uri_parse_options, conninfo_uri_parse_params) and refused where
// libpq refuses it, so a string no libpq client could use never passes here
// with settings of its own. The values are then judged as libpq judges them
// when it opens a TCP connection (parse_int_param, the setKeepalives*
// functions): a negative value becomes 0, and a value the kernel refuses
// makes libpq's connection fail, so it is refused here too.
//
// The connection string may hold a password, and a malformed one can move
// the password into any part of it (a '/' in the password ends the user
// part early, so "postgres://app:x/y?keepalives_idle=pw@db" hands "pw@db"
// to keepalives_idle). So no error repeats any text of the input: a
// parameter is named only when it is one of libpq's, values are described
// by their shape, and positions are given as offsets.
import type { KeepaliveOptions } from './options.js';
import { platform, type Field, type Range } from './platform.js';

/** A libpq-style parameter object, as PQconnectdbParams takes it; values are strings or numbers. */
export type LibpqParams = Readonly<Record<string, unknown>>;

interface Spec {
  name: string;
  field: Field;
  unit: string;
}

const SPECS: readonly Spec[] = [
  { name: 'keepalives_idle', field: 'idle', unit: 'seconds' },
  { name: 'keepalives_interval', field: 'interval', unit: 'seconds' },
  { name: 'keepalives_count', field: 'count', unit: 'probes' },
  { name: 'tcp_user_timeout', field: 'userTimeout', unit: 'milliseconds' },
];

const KEEPALIVE_NAMES = ['keepalives', ...SPECS.map((s) => s.name)];
const KEEPALIVE_LIST = `${KEEPALIVE_NAMES.slice(0, -1).join(', ')} and ${KEEPALIVE_NAMES.at(-1)!}`;

// libpq 15's PQconninfoOptions, plus requiressl (which conninfo_storeval
// turns into sslmode) and the names libpq 16 and 17 added, so a string
// written for a newer libpq is not refused over a parameter this package
// never reads.
const LIBPQ_NAMES: ReadonlySet<string> = new Set([
  'service', 'user', 'password', 'passfile', 'channel_binding', 'connect_timeout', 'dbname', 'host', 'hostaddr', 'port',
  'client_encoding', 'options', 'application_name', 'fallback_application_name', ...KEEPALIVE_NAMES, 'sslmode',
  'sslcompression', 'sslcert', 'sslkey', 'sslpassword', 'sslrootcert', 'sslcrl', 'sslcrldir', 'sslsni', 'requirepeer',
  'ssl_min_protocol_version', 'ssl_max_protocol_version', 'gssencmode', 'krbsrvname', 'gsslib', 'replication',
  'target_session_attrs', 'requiressl',
  // libpq 16 and 17.
  'require_auth', 'sslcertmode', 'gssdelegation', 'load_balance_hosts', 'sslnegotiation',
]);

// Names close enough to a keepalive parameter that a typo (keepalive_idle,
// Keepalives, tcp_keepalives_idle) should not pass silently in an object,
// where other names are left alone.
const KEEPALIVE_ISH = /keep_?alive|user_?timeout/i;

// Drivers' own names for keepalive, which users reach for by habit.
const DRIVER_NAMES: Readonly<Record<string, string>> = {
  keepAlive: "node-postgres's keepAlive",
  keepAliveInitialDelayMillis: "node-postgres's keepAliveInitialDelayMillis",
};

const INT_MIN = -2147483648;
const INT_MAX = 2147483647;

// isspace() in the C locale: libpq splits and trims on these bytes only. A
// no-break space, an EM SPACE or a BOM is an ordinary character to it.
const BLANK = /^[ \t\n\v\f\r]$/;
const BLANKS = /^[ \t\n\v\f\r]+$/;
// parse_int_param: strtol (leading blanks, a sign, decimal digits) followed
// by nothing but blanks.
const LIBPQ_INT = /^[ \t\n\v\f\r]*([+-]?[0-9]+)[ \t\n\v\f\r]*$/;
const UNICODE_SPACE = /[\u0085\u00a0\u1680\u2000-\u200b\u2028\u2029\u202f\u205f\u3000\ufeff]/;

const URI_PREFIXES = ['postgresql://', 'postgres://'];
const URI_LIKE = /^\s*postgres(?:ql)?:\/\//i;

type Coded<E extends Error> = E & { code: string };

function typeError(code: string, message: string): Coded<TypeError> {
  return Object.assign(new TypeError(message), { code });
}

function rangeError(message: string): Coded<RangeError> {
  return Object.assign(new RangeError(message), { code: 'ERR_OUT_OF_RANGE' });
}

function malformed(what: string, offset: number): Coded<TypeError> {
  return typeError('ERR_INVALID_ARG_VALUE', `Malformed connection string: ${what} at offset ${offset}`);
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function ordinal(n: number): string {
  const tens = n % 100;
  const suffix = tens >= 11 && tens <= 13 ? 'th' : (['th', 'st', 'nd', 'rd'][n % 10] ?? 'th');
  return `${n}${suffix}`;
}

/** What a received string looks like, without any of its text. */
function shapeOf(raw: string): string {
  const length = [...raw].length;
  if (length === 0) return 'an empty value';
  if (BLANKS.test(raw)) return `a value of ${plural(length, 'blank')} only`;
  const hint = UNICODE_SPACE.test(raw) ? ' (it holds a non-ASCII space, which libpq does not take for a blank)' : '';
  return `a value of ${plural(length, 'character')} that is not such an integer${hint}`;
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') {
    const name = (Object.getPrototypeOf(value) as { constructor?: { name?: unknown } } | null)?.constructor?.name;
    return typeof name === 'string' && name !== '' && name !== 'Object' ? `an instance of ${name}` : 'an object';
  }
  return typeof value === 'undefined' ? 'undefined' : `a value of type ${typeof value}`;
}

/** A parameter's value as given: a string, or a number from an object. */
type Raw = string | number;

/** libpq's parse_int_param, with the same verdict on every input. */
function libpqInteger(name: string, raw: Raw, expected: string): number {
  let n: number;
  if (typeof raw === 'number') {
    if (Number.isNaN(raw)) throw rangeError(`Expected ${expected} for ${name} but received NaN`);
    if (!Number.isFinite(raw)) throw rangeError(`Expected ${expected} for ${name} but received an infinite number`);
    if (!Number.isInteger(raw)) throw rangeError(`Expected ${expected} for ${name} but received a fractional number`);
    n = raw;
  } else {
    const m = LIBPQ_INT.exec(raw);
    if (!m) throw typeError('ERR_INVALID_ARG_VALUE', `Expected ${expected} for ${name}, in ASCII digits with an optional sign and ASCII blanks around, but received ${shapeOf(raw)}`);
    n = Number(m[1]);
  }
  if (n < INT_MIN || n > INT_MAX) throw rangeError(`Expected ${expected} for ${name} but received a number beyond a C int, which libpq refuses`);
  return n === 0 ? 0 : n;
}

// Where a value of 0 reaches the kernel as "the system default" rather than
// being refused: macOS's and FreeBSD's tcp_ctloutput keep 0 and fall back to
// the sysctl; libpq on Windows replaces 0 (and less) by 2 hours and 1 second,
// Windows's own defaults. Linux refuses 0 with EINVAL (tcp_sock_set_keepidle
// and its siblings take 1 and up), and libpq's connection fails.
function zeroIsDefault(os: NodeJS.Platform, field: Field): boolean {
  return field !== 'userTimeout' && (os === 'darwin' || os === 'freebsd' || os === 'win32');
}

function expectedValue(spec: Spec, range: Range | undefined, os: NodeJS.Platform): string {
  if (range === undefined) return `an integer (${spec.unit})`;
  if (spec.field === 'userTimeout' || zeroIsDefault(os, spec.field)) return `an integer up to ${range.max} (${spec.unit}; 0 or less is the system default)`;
  return `an integer from ${range.min} to ${range.max} (${spec.unit})`;
}

/**
 * What libpq does with the keepalive parameters when it opens a TCP
 * connection: `keepalives` first, and nothing else is read when it is 0;
 * then idle, interval, count and the user timeout, each parsed, a negative
 * value raised to 0, and handed to setsockopt.
 */
function judge(get: (name: string) => Raw | undefined): KeepaliveOptions | false {
  const { os, ranges } = platform();
  const keepalives = get('keepalives');
  if (keepalives !== undefined && libpqInteger('keepalives', keepalives, 'an integer (0 turns keepalive off, any other on)') === 0) return false;
  const options: KeepaliveOptions = {};
  for (const spec of SPECS) {
    // libpq on Windows sets idle and interval through SIO_KEEPALIVE_VALS and
    // never reads keepalives_count.
    if (os === 'win32' && spec.field === 'count') continue;
    const raw = get(spec.name);
    if (raw === undefined) continue;
    const range = ranges[spec.field];
    const expected = expectedValue(spec, range, os);
    let n = libpqInteger(spec.name, raw, expected);
    if (n < 0) n = 0;
    // libpq leaves out on its own what the platform has no option for.
    if (range === undefined) continue;
    if (n === 0 && zeroIsDefault(os, spec.field)) continue;
    if (n < range.min || n > range.max) {
      const got = n === 0 ? 'zero or a negative number, which libpq hands to the kernel as 0' : `a number above ${range.max}`;
      throw rangeError(`Expected ${expected} for ${spec.name} but received ${got}; the kernel refuses it (EINVAL), so libpq's own connection fails`);
    }
    options[spec.field] = n;
  }
  return options;
}

function unknownName(where: string, name: string): Coded<TypeError> {
  const hint = KEEPALIVE_ISH.test(name) ? `; it looks like a keepalive setting, and libpq's are ${KEEPALIVE_LIST}` : '';
  return typeError('ERR_INVALID_ARG_VALUE', `${where} is not a libpq parameter (its name has ${plural([...name].length, 'character')})${hint}`);
}

/** conninfo_parse: key = value pairs, values optionally 'quoted', with \ escapes. */
function parseKeyValue(text: string): Map<string, string> {
  const out = new Map<string, string>();
  const blank = (i: number) => i < text.length && BLANK.test(text[i]!);
  let i = 0;
  let index = 0;
  while (i < text.length) {
    if (blank(i)) {
      i++;
      continue;
    }
    const keyStart = i;
    while (i < text.length && text[i] !== '=' && !blank(i)) i++;
    const key = text.slice(keyStart, i);
    while (blank(i)) i++;
    if (text[i] !== '=') throw malformed('a parameter name without "=" after it', keyStart);
    if (key === '') throw malformed('a parameter with no name', keyStart);
    index++;
    if (!LIBPQ_NAMES.has(key)) throw unknownName(`The connection string's ${ordinal(index)} parameter`, key);
    i++;
    while (blank(i)) i++;
    let value = '';
    if (text[i] === "'") {
      const quoteAt = i;
      i++;
      for (;;) {
        if (i >= text.length) throw malformed('a quoted value with no closing quote', quoteAt);
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
      while (i < text.length && !blank(i)) {
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

const HEX = /^[0-9a-fA-F]{2}$/;

/** conninfo_uri_decode: %XX everywhere, %00 refused; bytes read as UTF-8. */
function percentDecode(text: string, offset: number, what: string): string {
  for (let i = text.indexOf('%'); i >= 0; i = text.indexOf('%', i + 3)) {
    const hex = text.slice(i + 1, i + 3);
    if (!HEX.test(hex)) throw malformed(`invalid percent-encoding in ${what}`, offset + i);
    if (hex === '00') throw malformed(`%00 in ${what}`, offset + i);
  }
  if (!text.includes('%')) return text;
  return text.replace(/(?:%[0-9a-fA-F]{2})+/g, (run) => Buffer.from(run.replaceAll('%', ''), 'hex').toString('utf8'));
}

/** conninfo_uri_parse_options and conninfo_uri_parse_params. */
function parseUri(text: string, prefix: number): Map<string, string> {
  const out = new Map<string, string>();
  const n = text.length;
  let p = prefix;
  // user[:password]@, recognised only when '@' comes before any '/'; the
  // user part may hold '?' unencoded.
  let q = p;
  while (q < n && text[q] !== '@' && text[q] !== '/') q++;
  if (text[q] === '@') {
    let u = p;
    while (text[u] !== ':' && text[u] !== '@') u++;
    if (u > p) percentDecode(text.slice(p, u), p, 'the user name');
    if (text[u] === ':') {
      const start = u + 1;
      u = q;
      if (u > start) percentDecode(text.slice(start, u), start, 'the password');
    }
    p = u + 1;
  }
  // host[:port], comma-separated, a host in [brackets] for IPv6.
  let prev: string;
  for (;;) {
    let hostStart: number;
    let hostEnd: number;
    if (text[p] === '[') {
      const bracket = p;
      hostStart = ++p;
      while (p < n && text[p] !== ']') p++;
      if (p >= n) throw malformed('an IPv6 host address with no closing "]"', bracket);
      if (p === hostStart) throw malformed('an empty IPv6 host address', bracket);
      hostEnd = p++;
      if (p < n && !':/?,'.includes(text[p]!)) throw malformed('an unexpected character after an IPv6 host address', p);
    } else {
      hostStart = p;
      while (p < n && !':/?,'.includes(text[p]!)) p++;
      hostEnd = p;
    }
    if (hostEnd > hostStart) percentDecode(text.slice(hostStart, hostEnd), hostStart, 'a host');
    prev = p < n ? text[p]! : '';
    if (prev === ':') {
      const portStart = ++p;
      while (p < n && !'/?,'.includes(text[p]!)) p++;
      if (p > portStart) percentDecode(text.slice(portStart, p), portStart, 'a port');
      prev = p < n ? text[p]! : '';
    }
    if (prev !== ',') break;
    p++;
  }
  if (prev !== '' && prev !== '?') {
    const dbStart = ++p;
    while (p < n && text[p] !== '?') p++;
    if (p > dbStart) percentDecode(text.slice(dbStart, p), dbStart, 'the database name');
    prev = p < n ? text[p]! : '';
  }
  if (prev === '') return out;
  p++;
  let index = 0;
  while (p < n) {
    const keyStart = p;
    let eq = -1;
    for (;;) {
      if (text[p] === '=') {
        if (eq >= 0) throw malformed('a query parameter with a second "="', keyStart);
        eq = p++;
      } else if (p >= n || text[p] === '&') {
        break;
      } else {
        p++;
      }
    }
    const end = p;
    if (p < n) p++;
    if (eq < 0) throw malformed('a query parameter with no "="', keyStart);
    index++;
    let key = percentDecode(text.slice(keyStart, eq), keyStart, 'a query parameter name');
    let value = percentDecode(text.slice(eq + 1, end), eq + 1, 'a query parameter value');
    // libpq's own JDBC-compatible spelling.
    if (key === 'ssl' && value === 'true') [key, value] = ['sslmode', 'require'];
    if (!LIBPQ_NAMES.has(key)) throw unknownName(`The URI's ${ordinal(index)} query parameter`, key);
    out.set(key, value);
  }
  return out;
}

function fromString(text: string): KeepaliveOptions | false {
  const nul = text.indexOf('\0');
  // libpq would stop reading there and ignore the rest without a word.
  if (nul >= 0) throw malformed('a NUL character', nul);
  const prefix = URI_PREFIXES.find((scheme) => text.startsWith(scheme));
  if (prefix === undefined && URI_LIKE.test(text)) {
    throw malformed('a URI that libpq does not read as one (it must begin the string, in lower case: postgresql:// or postgres://)', text.search(/postgres/i));
  }
  const params = prefix === undefined ? parseKeyValue(text) : parseUri(text, prefix.length);
  return judge((name) => params.get(name));
}

function fromObject(params: object): KeepaliveOptions | false {
  const values = new Map<string, Raw>();
  let index = 0;
  for (const key of Object.keys(params)) {
    index++;
    const value = (params as Record<string, unknown>)[key];
    if (KEEPALIVE_NAMES.includes(key)) {
      // PQconnectdbParams skips null and empty values as not given.
      if (value === undefined || value === null || value === '') continue;
      if (typeof value !== 'string' && typeof value !== 'number') {
        throw typeError('ERR_INVALID_ARG_TYPE', `Expected an integer as a string or number for ${key} but received ${kindOf(value)}`);
      }
      values.set(key, value);
    } else if (Object.hasOwn(DRIVER_NAMES, key)) {
      throw typeError('ERR_INVALID_ARG_VALUE', `${key} is ${DRIVER_NAMES[key]!} option, not a libpq parameter; libpq's keepalive parameters are ${KEEPALIVE_LIST}`);
    } else if (KEEPALIVE_ISH.test(key)) {
      throw unknownName(`The object's ${ordinal(index)} property`, key);
    }
  }
  return judge((name) => values.get(name));
}

/**
 * The package's options from libpq's keepalive parameters in a PostgreSQL
 * connection URI (`postgresql://` or `postgres://`), a libpq key=value
 * connection string, a URL, or a libpq-style parameter object. Returns
 * `false` for `keepalives=0`, as setKeepalive and setDefaultKeepalive take
 * it, and `{}` (keepalive on, system values) when none is given, which is
 * libpq's default too.
 */
export function fromLibpq(connection: string | URL | LibpqParams): KeepaliveOptions | false {
  if (connection instanceof URL) return fromString(connection.href);
  if (typeof connection === 'string') return fromString(connection);
  if (typeof connection === 'object' && connection !== null && !Array.isArray(connection)) {
    const proto: unknown = Object.getPrototypeOf(connection);
    if (proto === Object.prototype || proto === null) return fromObject(connection);
  }
  throw typeError('ERR_INVALID_ARG_TYPE', `Expected a connection string, a URL or a plain object of libpq parameters for connection but received ${kindOf(connection)}`);
}
