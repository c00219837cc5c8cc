// fromLibpq: libpq's keepalive parameters from URIs, key=value strings and
// objects, on a table of good and malformed inputs.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fromLibpq, getKeepalive, setKeepalive, type KeepaliveOptions } from '../src/index.js';
import { platform, overridePlatform } from '../src/platform.js';
import { fixtures, kernel, tcpPair } from './helpers.js';

type Input = Parameters<typeof fromLibpq>[0];

const good: [string, Input, KeepaliveOptions | false][] = [
  [
    'URI with all five',
    'postgresql://app:pw@db.internal:5432/orders?keepalives=1&keepalives_idle=60&keepalives_interval=10&keepalives_count=3&tcp_user_timeout=90000',
    { idle: 60, interval: 10, count: 3, userTimeout: 90_000 },
  ],
  ['postgres:// short scheme, keepalives=0', 'postgres://db/orders?keepalives=0', false],
  ['URI without parameters: on, system values (libpq default)', 'postgres://db/orders', {}],
  ['URI with only unrelated parameters', 'postgres://db/orders?sslmode=require&application_name=x', {}],
  ['multi-host URI', 'postgresql://h1:5432,h2:5433/orders?target_session_attrs=read-write&keepalives_idle=30', { idle: 30 }],
  ["unencoded '?' in the password", 'postgresql://app:pa?ss@db/orders?keepalives_idle=45', { idle: 45 }],
  ['percent-encoded keys and values', 'postgresql:///orders?host=%2Fvar%2Frun%2Fpostgresql&keepalives%5Fidle=%36%30', { idle: 60 }],
  ['scheme in capitals', 'POSTGRESQL://db/?keepalives_count=5', { count: 5 }],
  ['0 is the system default (field left out)', 'postgres://db/?keepalives_idle=0&keepalives_interval=0&keepalives_count=0', {}],
  ['tcp_user_timeout=0 is the system default (0)', 'postgres://db/?tcp_user_timeout=0', { userTimeout: 0 }],
  ['the later of two wins', 'postgres://db/?keepalives_idle=10&keepalives_idle=20', { idle: 20 }],
  ["libpq's integer syntax: sign and blanks", 'postgres://db/?keepalives_idle=%2B15&keepalives_count=%204%20', { idle: 15, count: 4 }],
  ['keepalives=2 is on, as in libpq', 'postgres://db/?keepalives=2&keepalives_idle=9', { idle: 9 }],
  ["a trailing '&'", 'postgres://db/?keepalives_idle=5&', { idle: 5 }],
  [
    'key=value string',
    "host=db.internal dbname=orders keepalives_idle=60 keepalives_interval = 10  keepalives_count='3' tcp_user_timeout=90000",
    { idle: 60, interval: 10, count: 3, userTimeout: 90_000 },
  ],
  ['key=value, keepalives=0 with values', 'dbname=orders keepalives=0 keepalives_idle=60', false],
  ['empty string', '', {}],
  ['blanks only', '  \t ', {}],
  ['blanks after "="', 'keepalives_idle=   60', { idle: 60 }],
  ['quoted value with escaped quote and backslash', "password='it\\'s \\\\ keepalives_idle=1' keepalives_idle=7", { idle: 7 }],
  ['escaped blank in an unquoted value', 'application_name=a\\ keepalives_idle=1 keepalives_count=4', { count: 4 }],
  ['a quoted value followed directly by the next key', "keepalives_idle='60'keepalives_count=2", { idle: 60, count: 2 }],
  ['object with numbers and strings', { host: 'db', keepalives_idle: 60, keepalives_interval: '10', keepalives_count: 3 }, { idle: 60, interval: 10, count: 3 }],
  ['object keepalives: 0', { keepalives: 0, keepalives_idle: 60 }, false],
  ["object keepalives: '0'", { keepalives: '0' }, false],
  ['object with null and undefined values', { keepalives: null, keepalives_idle: undefined, tcp_user_timeout: 2500 }, { userTimeout: 2500 }],
  ['object with unrelated values of any type', { port: 5432, ssl: { rejectUnauthorized: false }, keepalives_count: 2 }, { count: 2 }],
  ['a URL object', new URL('postgres://db/orders?keepalives_idle=61'), { idle: 61 }],
];

describe('fromLibpq on good input', () => {
  it.each(good)('%s', (_name, input, want) => {
    expect(fromLibpq(input)).toEqual(want);
  });
});

// The last column: libpq's own parser refuses it too (value errors such as
// 'abc' pass PQconninfoParse and fail only when libpq connects).
const bad: [string, unknown, string, RegExp, boolean?][] = [
  ['a word', 'postgres://db/?keepalives_idle=abc', 'ERR_INVALID_ARG_VALUE', /keepalives_idle/],
  ['a unit suffix', 'postgres://db/?keepalives_idle=60s', 'ERR_INVALID_ARG_VALUE', /keepalives_idle.*'60s'/],
  ['a fraction', 'keepalives_interval=1.5', 'ERR_INVALID_ARG_VALUE', /keepalives_interval/],
  ['an empty value', 'postgres://db/?keepalives_idle=', 'ERR_INVALID_ARG_VALUE', /keepalives_idle/],
  ['negative', 'postgres://db/?keepalives_idle=-1', 'ERR_OUT_OF_RANGE', /between 0 and 32767 \(seconds.*for keepalives_idle but received '-1'/],
  ['idle too large', 'postgres://db/?keepalives_idle=40000', 'ERR_OUT_OF_RANGE', /keepalives_idle/],
  ['count too large', 'keepalives_count=128', 'ERR_OUT_OF_RANGE', /between 0 and 127 \(probes.*for keepalives_count but received '128'/],
  ['beyond a C int', 'tcp_user_timeout=99999999999', 'ERR_OUT_OF_RANGE', /tcp_user_timeout/],
  ['keepalives=yes', 'keepalives=yes', 'ERR_INVALID_ARG_VALUE', /0 turns keepalives off\) for keepalives, received 'yes'/],
  ['keepalive_idle (typo)', 'postgres://db/?keepalive_idle=60', 'ERR_INVALID_ARG_VALUE', /Unknown keepalive parameter "keepalive_idle"/, true],
  ['KEEPALIVES (libpq names are lowercase)', 'postgres://db/?KEEPALIVES=1', 'ERR_INVALID_ARG_VALUE', /Unknown keepalive parameter "KEEPALIVES"/, true],
  ['tcp_keepalives_idle (the server GUC)', 'tcp_keepalives_idle=60', 'ERR_INVALID_ARG_VALUE', /Unknown keepalive parameter/, true],
  ["node-postgres's keepAlive in an object", { keepAlive: true }, 'ERR_INVALID_ARG_VALUE', /Unknown keepalive parameter "keepAlive"/],
  ['a query parameter without "="', 'postgres://db/?keepalives_idle', 'ERR_INVALID_ARG_VALUE', /Malformed connection string: .*no "="/, true],
  ['a second "="', 'postgres://db/?keepalives_idle=6=0', 'ERR_INVALID_ARG_VALUE', /second "="/, true],
  ['an empty query parameter', 'postgres://db/?a=1&&keepalives_idle=2', 'ERR_INVALID_ARG_VALUE', /no "="/, true],
  ['bad percent-encoding', 'postgres://db/?keepalives_idle=%6', 'ERR_INVALID_ARG_VALUE', /percent-encoding at offset 31/, true],
  ['%00', 'postgres://db/?application_name=a%00b', 'ERR_INVALID_ARG_VALUE', /%00/, true],
  ['a bare word (libpq reads it as a key)', 'orders', 'ERR_INVALID_ARG_VALUE', /missing "="/, true],
  ['a key without "="', 'host=db keepalives_idle', 'ERR_INVALID_ARG_VALUE', /missing "=" after a parameter name at offset 23/, true],
  ['an unterminated quote', "host=db password='hunter2", 'ERR_INVALID_ARG_VALUE', /unterminated quoted value at offset 17/, true],
  ['"=" with no name', '=5', 'ERR_INVALID_ARG_VALUE', /no name/, true],
  ['object value 1.5', { keepalives_idle: 1.5 }, 'ERR_OUT_OF_RANGE', /keepalives_idle/],
  ['object value NaN', { keepalives_count: Number.NaN }, 'ERR_OUT_OF_RANGE', /keepalives_count/],
  ['object value true', { keepalives_idle: true }, 'ERR_INVALID_ARG_TYPE', /keepalives_idle/],
  ['a number', 42, 'ERR_INVALID_ARG_TYPE', /connection/],
  ['null', null, 'ERR_INVALID_ARG_TYPE', /connection/],
  ['an array', ['keepalives_idle=1'], 'ERR_INVALID_ARG_TYPE', /connection/],
];

describe('fromLibpq on malformed input', () => {
  it.each(bad)('%s', (_name, input, code, message, _libpqToo) => {
    let caught: unknown;
    try {
      fromLibpq(input as Input);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(Error);
    expect(caught).toMatchObject({ code });
    expect((caught as Error).message).toMatch(message);
  });

  it('never repeats the connection string, which may hold a password', () => {
    for (const input of ['postgresql://app:hunter2@db/?keepalives_idle=abc', "password='hunter2", 'password=hunter2 keepalives_count=999']) {
      expect(() => fromLibpq(input)).toThrow();
      try {
        fromLibpq(input);
      } catch (error) {
        expect((error as Error).message).not.toContain('hunter2');
      }
    }
  });
});

describe('fromLibpq with the rest of the package', () => {
  it('its result lands in the kernel through setKeepalive', async () => {
    const pair = await tcpPair();
    try {
      setKeepalive(pair.client, fromLibpq('postgres://db/orders?keepalives_idle=41&keepalives_interval=7&keepalives_count=5&tcp_user_timeout=33000') as KeepaliveOptions);
      expect(kernel(pair.client)).toEqual({ enabled: true, idle: 41, interval: 7, count: 5, userTimeout: 33_000 });
      setKeepalive(pair.client, fromLibpq('keepalives=0'));
      expect(kernel(pair.client).enabled).toBe(false);
      expect(getKeepalive(pair.client).enabled).toBe(false);
    } finally {
      await pair.close();
    }
  });

  it('leaves out, as libpq does, a parameter the platform has no option for', () => {
    const { userTimeout: _dropped, ...ranges } = platform().ranges;
    const restore = overridePlatform({ ranges });
    try {
      expect(fromLibpq('keepalives_idle=60 tcp_user_timeout=30000')).toEqual({ idle: 60 });
      // ... but still refuses a malformed one.
      expect(() => fromLibpq('tcp_user_timeout=soon')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    } finally {
      restore();
    }
  });
});

// libpq itself, through PQconninfoParse, as the witness of how a string
// splits into parameters (quoting, escapes, percent-encoding, '?' in a
// password). libpq ships with PostgreSQL's client; it is installed if missing.
function libpqParse(inputs: string[]): ({ params: Record<string, string> } | { error: string })[] | string {
  const run = () => spawnSync('python3', [path.join(fixtures, 'libpq-parse.py')], { input: JSON.stringify(inputs), encoding: 'utf8' });
  let result = run();
  if (result.status !== 0 && /OSError|libpq/.test(result.stderr) && process.getuid?.() === 0) {
    const apt = (args: string[]) => spawnSync('apt-get', args, { encoding: 'utf8', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    if (apt(['install', '-y', '--no-install-recommends', 'libpq5']).status !== 0) {
      apt(['update']);
      apt(['install', '-y', '--no-install-recommends', 'libpq5']);
    }
    result = run();
  }
  if (result.status !== 0) return `libpq could not be loaded: ${result.stderr.trim().split('\n').pop()}`;
  return JSON.parse(result.stdout);
}

const FIELDS = [
  ['keepalives_idle', 'idle'],
  ['keepalives_interval', 'interval'],
  ['keepalives_count', 'count'],
  ['tcp_user_timeout', 'userTimeout'],
] as const;

/** libpq's documented meaning of the raw parameter values it parsed. */
function meaning(params: Record<string, string>): KeepaliveOptions | false {
  if (params.keepalives !== undefined && Number(params.keepalives.trim()) === 0) return false;
  const out: KeepaliveOptions = {};
  for (const [key, field] of FIELDS) {
    if (params[key] === undefined) continue;
    const n = Number(params[key]!.trim());
    if (n !== 0 || field === 'userTimeout') out[field] = n;
  }
  return out;
}

// Strings libpq reads differently on purpose: it takes the URI scheme in
// lower case only, where URI schemes are case-insensitive.
const LENIENT = new Set(['scheme in capitals']);

describe('fromLibpq agrees with libpq', () => {
  const goodStrings = good.filter(([name, input]) => typeof input === 'string' && !LENIENT.has(name)) as [string, string, KeepaliveOptions | false][];
  const badStrings = bad.filter(([, input, , , libpqToo]) => typeof input === 'string' && libpqToo) as [string, string, string, RegExp, boolean][];
  const parsed = libpqParse([...goodStrings.map((r) => r[1]), ...badStrings.map((r) => r[1])]);
  const unavailable = typeof parsed === 'string' ? parsed : '';

  it.skipIf(unavailable !== '' && !process.env.CI)(`on every good string (${unavailable || 'libpq loaded'})`, () => {
    expect(unavailable).toBe('');
    goodStrings.forEach(([name, input], i) => {
      const libpq = (parsed as ({ params: Record<string, string> } | { error: string })[])[i]!;
      expect(libpq, name).toHaveProperty('params');
      expect(fromLibpq(input), name).toEqual(meaning((libpq as { params: Record<string, string> }).params));
    });
  });

  it.skipIf(unavailable !== '' && !process.env.CI)(`on malformed strings it also refuses (${unavailable || 'libpq loaded'})`, () => {
    expect(unavailable).toBe('');
    badStrings.forEach(([name], i) => {
      const libpq = (parsed as ({ params: Record<string, string> } | { error: string })[])[goodStrings.length + i]!;
      expect(libpq, name).toHaveProperty('error');
    });
  });
});
