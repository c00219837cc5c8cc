// The TCP_KEEPALIVE_* variables as configFromEnv reads them: ASCII digits
// with ASCII blanks around them and nothing else, and every name or value
// it prints escaped so one error stays one harmless line on a terminal.
import { describe, expect, it } from 'vitest';
import { configFromEnv } from '../src/env.js';

const NUMERIC = ['TCP_KEEPALIVE_IDLE', 'TCP_KEEPALIVE_INTERVAL', 'TCP_KEEPALIVE_COUNT', 'TCP_KEEPALIVE_USER_TIMEOUT'] as const;
const FIELD = { TCP_KEEPALIVE_IDLE: 'idle', TCP_KEEPALIVE_INTERVAL: 'interval', TCP_KEEPALIVE_COUNT: 'count', TCP_KEEPALIVE_USER_TIMEOUT: 'userTimeout' } as const;

// Characters String.prototype.trim and \s take for blanks, and digits
// outside ASCII: none of them may pass for part of a number.
const LOOKALIKES: [string, string][] = [
  ['NO-BREAK SPACE', '\u00a0'],
  ['IDEOGRAPHIC SPACE', '\u3000'],
  ['BOM', '\ufeff'],
  ['EM SPACE', '\u2003'],
  ['NARROW NO-BREAK SPACE', '\u202f'],
  ['LINE SEPARATOR', '\u2028'],
  ['NEXT LINE', '\u0085'],
  ['OGHAM SPACE MARK', '\u1680'],
];

function thrown(env: NodeJS.ProcessEnv): Error & { code?: string; variable?: string } {
  try {
    configFromEnv(env);
  } catch (error) {
    return error as Error & { code?: string; variable?: string };
  }
  throw new Error(`configFromEnv accepted ${JSON.stringify(env)}`);
}

describe('values: ASCII digits and ASCII blanks only', () => {
  it.each(NUMERIC)('%s takes ASCII blanks around the digits', (name) => {
    for (const value of ['10', ' 10', '10 ', '\t10\n', '\r\n 10 \r\n', '\v\f10']) {
      expect(configFromEnv({ [name]: value })?.options, JSON.stringify(value)).toEqual({ [FIELD[name]]: 10 });
    }
  });

  describe.each(LOOKALIKES)('%s', (_label, c) => {
    it.each(NUMERIC)('is refused before, after or as the value of %s', (name) => {
      for (const value of [`${c}10`, `10${c}`, `${c}10${c}`, `1${c}0`, c, `${c} `]) {
        const error = thrown({ [name]: value });
        expect(error.code, JSON.stringify(value)).toBe('ERR_INVALID_ARG_VALUE');
        expect(error.variable).toBe(name);
        expect(error.message).toMatch(new RegExp(`^${name} must be a whole number of `));
      }
    });

    it('is refused in TCP_KEEPALIVE_PORTS and TCP_KEEPALIVE_DIRECTION', () => {
      for (const value of [`5432,${c}6379`, `${c}5432`, `5432${c}`, c]) {
        expect(thrown({ TCP_KEEPALIVE_PORTS: value }).variable, JSON.stringify(value)).toBe('TCP_KEEPALIVE_PORTS');
      }
      for (const value of [`${c}server`, `client${c}`, c]) {
        expect(thrown({ TCP_KEEPALIVE_DIRECTION: value }).variable, JSON.stringify(value)).toBe('TCP_KEEPALIVE_DIRECTION');
      }
    });
  });

  it('refuses digits outside ASCII', () => {
    for (const value of ['\uff16\uff10', '\u0666\u0660', '\u0966\u0966', '6\u20070']) {
      expect(thrown({ TCP_KEEPALIVE_IDLE: value }).code, JSON.stringify(value)).toBe('ERR_INVALID_ARG_VALUE');
    }
    expect(thrown({ TCP_KEEPALIVE_PORTS: '\uff15\uff14\uff13\uff12' }).variable).toBe('TCP_KEEPALIVE_PORTS');
  });

  it('an empty or ASCII-blank value counts as not set, as before', () => {
    expect(configFromEnv({ TCP_KEEPALIVE_IDLE: '', TCP_KEEPALIVE_PORTS: ' \t', TCP_KEEPALIVE_DIRECTION: '\n' })).toBeNull();
    expect(configFromEnv({ TCP_KEEPALIVE_IDLE: ' ', TCP_KEEPALIVE_COUNT: '3' })?.options).toEqual({ count: 3 });
    expect(configFromEnv({ TCP_KEEPALIVE_PORTS: ' 5432 ,\t6379 ', TCP_KEEPALIVE_DIRECTION: ' Client\t' })).toMatchObject({ ports: new Set([5432, 6379]), direction: 'client' });
  });
});

/** One line of printable ASCII: what a terminal shows as it is. */
const PRINTABLE_LINE = /^[\x20-\x7e]*$/;

describe('what is printed is escaped', () => {
  const names: [string, string, string][] = [
    ['a newline', 'TCP_KEEPALIVE_IDLE\nFAKE', '"TCP_KEEPALIVE_IDLE\\nFAKE"'],
    ['a carriage return', 'TCP_KEEPALIVE_X\rTCP_KEEPALIVE_IDLE', '"TCP_KEEPALIVE_X\\rTCP_KEEPALIVE_IDLE"'],
    ['ESC sequences', 'TCP_KEEPALIVE_\u001b[2J\u001b[31mPWN', '"TCP_KEEPALIVE_\\x1b[2J\\x1b[31mPWN"'],
    ['a C1 CSI', 'TCP_KEEPALIVE_\u009b2J', '"TCP_KEEPALIVE_\\x9b2J"'],
    ['BEL and DEL', 'TCP_KEEPALIVE_\u0007\u007f', '"TCP_KEEPALIVE_\\x07\\x7f"'],
    ['a right-to-left override', 'TCP_KEEPALIVE_\u202eELDI', '"TCP_KEEPALIVE_\\u202eELDI"'],
    ['a quote and a backslash', 'TCP_KEEPALIVE_"\\', '"TCP_KEEPALIVE_\\"\\\\"'],
  ];

  it.each(names)('an unknown name with %s is printed escaped, on one line', (_label, name, printed) => {
    const error = thrown({ [name]: '60' });
    expect(error.code).toBe('ERR_INVALID_ARG_VALUE');
    // The property keeps the name as it is, for code that compares it.
    expect(error.variable).toBe(name);
    expect(error.message).toMatch(PRINTABLE_LINE);
    expect(error.message.startsWith(`${printed} is not a variable tcp-keepalive knows (TCP_KEEPALIVE_IDLE, `)).toBe(true);
  });

  it('a plain unknown name is printed as it is', () => {
    expect(thrown({ TCP_KEEPALIVE_IDEL: '60' }).message).toMatch(/^TCP_KEEPALIVE_IDEL is not a variable tcp-keepalive knows \(.*\), got "60"$/);
  });

  it('values are printed escaped too', () => {
    const cases: [NodeJS.ProcessEnv, string][] = [
      [{ TCP_KEEPALIVE_IDLE: '\u00a060' }, 'got "\\xa060"'],
      [{ TCP_KEEPALIVE_COUNT: '3\n\u001b[2J' }, 'got "3\\n\\x1b[2J"'],
      [{ TCP_KEEPALIVE_DIRECTION: '\u3000server' }, 'got "\\u3000server"'],
      [{ TCP_KEEPALIVE_IDEL: '6\r0' }, 'got "6\\r0"'],
    ];
    for (const [env, got] of cases) {
      const { message } = thrown(env);
      expect(message).toMatch(PRINTABLE_LINE);
      expect(message.endsWith(got), message).toBe(true);
    }
  });
});
