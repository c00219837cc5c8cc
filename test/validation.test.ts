// Bad input throws a coded error before any system call: the socket's
// settings, read back from the kernel, are exactly as they were.
import { Duplex } from 'node:stream';
import { EventEmitter } from 'node:events';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { detectionTime, getKeepalive, setKeepalive } from '../src/index.js';
import { kernel, tcpPair, type Pair } from './helpers.js';

const known = { enabled: true, idle: 100, interval: 20, count: 5, userTimeout: 1000 };
let pair: Pair;
beforeAll(async () => {
  pair = await tcpPair();
});
afterAll(() => pair.close());
beforeEach(() => {
  setKeepalive(pair.client, known);
});

type Case = [string, unknown[], typeof TypeError | typeof RangeError, string];
const T = (name: string, ...args: unknown[]): Case => [name, args, TypeError, 'ERR_INVALID_ARG_TYPE'];
const R = (name: string, ...args: unknown[]): Case => [name, args, RangeError, 'ERR_OUT_OF_RANGE'];
const V = (name: string, ...args: unknown[]): Case => [name, args, TypeError, 'ERR_INVALID_ARG_VALUE'];

// Each case's arguments follow the socket.
const cases: Case[] = [
  // Wrong types per field.
  T('idle as a string', { idle: '60' }),
  T('idle null', { idle: null }),
  T('idle true', { idle: true }),
  T('idle an object', { idle: {} }),
  T('idle an array', { idle: [60] }),
  T('idle a bigint', { idle: 60n }),
  T('idle a symbol', { idle: Symbol('x') }),
  T('idle a function', { idle: () => 60 }),
  T('interval as a string', { interval: '10' }),
  T('interval null', { interval: null }),
  T('count as a string', { count: '3' }),
  T('count a boolean', { count: false }),
  T('userTimeout as a string', { userTimeout: '1000' }),
  T('userTimeout a bigint', { userTimeout: 1000n }),
  T('enabled as a string', { enabled: 'yes' }),
  T('enabled as a number', { enabled: 1 }),
  // Out of range, fractional, NaN, infinite.
  R('idle 0', { idle: 0 }),
  R('idle -1', { idle: -1 }),
  R('idle -0', { idle: -0 }),
  R('idle 32768', { idle: 32768 }),
  R('idle fractional', { idle: 1.5 }),
  R('idle NaN', { idle: Number.NaN }),
  R('idle Infinity', { idle: Number.POSITIVE_INFINITY }),
  R('idle huge', { idle: 1e10 }),
  R('interval 0', { interval: 0 }),
  R('interval 32768', { interval: 32768 }),
  R('interval fractional', { interval: 2.5 }),
  R('interval -Infinity', { interval: Number.NEGATIVE_INFINITY }),
  R('count 0', { count: 0 }),
  R('count 128', { count: 128 }),
  R('count fractional', { count: 3.3 }),
  R('count NaN', { count: Number.NaN }),
  R('userTimeout -1', { userTimeout: -1 }),
  R('userTimeout 2^31', { userTimeout: 2 ** 31 }),
  R('userTimeout fractional', { userTimeout: 0.5 }),
  R('userTimeout NaN', { userTimeout: Number.NaN }),
  // One good field and one bad: the good one must not be applied either.
  R('valid idle with bad count', { idle: 60, count: 500 }),
  T('valid idle and interval with bad userTimeout', { idle: 60, interval: 5, userTimeout: '5' }),
  // Unknown option names.
  V('a typo: idel', { idel: 60 }),
  V('wrong case: Idle', { Idle: 60 }),
  V('a foreign option: keepAliveInitialDelay', { keepAliveInitialDelay: 1000 }),
  // The options argument itself.
  T('options null', null),
  T('options undefined', undefined),
  T('options a string', '60'),
  T('options an array', [60, 10, 3]),
  T('options a bigint', 60n),
  T('options a function', () => ({})),
  T('no options at all'),
  // Positional form.
  T('positional idle as a string', '60', 10, 3),
  T('positional interval as a string', 60, '10', 3),
  R('positional count 0', 60, 10, 0),
  R('positional idle 0', 0, 10, 3),
  R('positional userTimeout -5', 60, 10, 3, -5),
  R('positional fractional interval', 60, 0.1, 3),
  T('an object followed by positional numbers', { idle: 60 }, 10),
  // More values than the four fields: not silently dropped.
  T('five positional values', 60, 10, 3, 1000, 1),
  T('a hundred thousand positional values', 60, ...Array<number>(100_000).fill(1)),
  // Only plain objects are options: these would otherwise turn keepalive on.
  T('options a boxed false', new Boolean(false)),
  T('options a Map', new Map([['idle', 60]])),
  T('options a Date', new Date()),
  T('options a class instance', new (class Settings { idle = 60; })()),
  T('options a boxed number', new Number(60)),
  V('options with only a Symbol key', { [Symbol('idle')]: 60 }),
];

describe('setKeepalive rejects bad input and changes nothing', () => {
  it('has at least 40 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(40);
  });

  it.each(cases)('%s', (_name, args, ErrorClass, code) => {
    let thrown: unknown;
    try {
      (setKeepalive as (...a: unknown[]) => void)(pair.client, ...args);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ErrorClass);
    expect((thrown as { code?: string }).code).toBe(code);
    expect(kernel(pair.client)).toEqual(known);
  });

  it('messages name the field, the range and what was received', () => {
    expect(() => setKeepalive(pair.client, { idle: 0.5 })).toThrow(
      'Expected an integer between 1 and 32767 (seconds) for idle but received 0.5 of type number',
    );
    expect(() => setKeepalive(pair.client, { count: 128 })).toThrow('between 1 and 127 (probes) for count but received 128');
    expect(() => setKeepalive(pair.client, { userTimeout: '5' as never })).toThrow(
      "between 0 and 2147483647 (milliseconds) for userTimeout but received '5' of type string",
    );
    expect(() => setKeepalive(pair.client, { idel: 5 } as never)).toThrow(/options\.idel/);
  });

  it('reads each option once, so a getter cannot pass validation and then change', () => {
    let reads = 0;
    const tricky = {
      get idle() {
        reads++;
        return reads === 1 ? 60 : 0;
      },
    };
    setKeepalive(pair.client, tricky);
    expect(kernel(pair.client).idle).toBe(60);
  });
});

describe('options are the object\'s own properties', () => {
  const proto = Object.prototype as Record<string, unknown>;

  it('an enabled: false inherited from Object.prototype does not turn keepalive off', () => {
    setKeepalive(pair.client, false);
    proto.enabled = false;
    try {
      setKeepalive(pair.client, { idle: 30 });
    } finally {
      delete proto.enabled;
    }
    expect(kernel(pair.client)).toMatchObject({ enabled: true, idle: 30 });
  });

  it('an unknown property inherited from Object.prototype is not an unknown option', () => {
    proto.foo = 1;
    proto.idle = 5;
    try {
      setKeepalive(pair.client, { interval: 7 });
    } finally {
      delete proto.foo;
      delete proto.idle;
    }
    // Neither the pollution's foo nor its idle was read.
    expect(kernel(pair.client)).toMatchObject({ enabled: true, idle: known.idle, interval: 7 });
  });

  it("an object without a prototype, and getKeepalive's own result, are options", () => {
    const bare = Object.assign(Object.create(null) as object, { idle: 31 });
    setKeepalive(pair.client, bare);
    expect(kernel(pair.client).idle).toBe(31);
    setKeepalive(pair.client, getKeepalive(pair.client));
    setKeepalive(pair.client, Object.freeze({ ...known, idle: 32 }));
    expect(kernel(pair.client)).toEqual({ ...known, idle: 32 });
  });

  it('the count of values is named in the message', () => {
    expect(() => (setKeepalive as (...a: unknown[]) => void)(pair.client, 60, 10, 3, 1000, 1)).toThrow(/at most four values after the target .* not 5/);
  });
});

describe('targets that are not sockets', () => {
  const notSockets: [string, unknown][] = [
    ['null', null],
    ['undefined', undefined],
    ['a plain object', {}],
    ['a number (a descriptor)', 3],
    ['a string', 'localhost:5432'],
    ['an EventEmitter', new EventEmitter()],
    ['a Duplex stream', new Duplex({ read() {}, write(_c, _e, cb) { cb(); } })],
    ['an object with a fake _handle', { _handle: { fd: 0 } }],
  ];

  it.each(notSockets)('setKeepalive on %s is ERR_INVALID_ARG_TYPE', (_name, target) => {
    expect(() => setKeepalive(target as never, known)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(() => setKeepalive(target as never, known)).toThrow(TypeError);
  });

  it.each(notSockets)('getKeepalive on %s is ERR_INVALID_ARG_TYPE', (_name, target) => {
    expect(() => getKeepalive(target as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
  });
});

describe('detectionTime validates like setKeepalive', () => {
  it.each([
    [{ idle: 0 }, 'ERR_OUT_OF_RANGE'],
    [{ interval: '5' }, 'ERR_INVALID_ARG_TYPE'],
    [{ count: 1.5 }, 'ERR_OUT_OF_RANGE'],
    [{ userTimeout: -1 }, 'ERR_OUT_OF_RANGE'],
    [null, 'ERR_INVALID_ARG_TYPE'],
    [{ idel: 5 }, 'ERR_INVALID_ARG_VALUE'],
    [[], 'ERR_INVALID_ARG_TYPE'],
    [new Map(), 'ERR_INVALID_ARG_TYPE'],
    [42, 'ERR_INVALID_ARG_TYPE'],
    ['60', 'ERR_INVALID_ARG_TYPE'],
  ])('%o -> %s', (settings, code) => {
    expect(() => detectionTime(settings as never)).toThrow(expect.objectContaining({ code }));
  });

  it('disabled settings never detect an idle dead peer: Infinity', () => {
    expect(detectionTime({ enabled: false, idle: 60, interval: 10, count: 3 })).toBe(Infinity);
    expect(detectionTime({ enabled: true, idle: 60, interval: 10, count: 3 })).toBe(90);
  });
});
