// Errors a caller may branch on, each with a `code`, shaped like Node's own.
import { inspect } from 'node:util';

type Coded<E extends Error> = E & { code: string };

function coded<E extends Error>(error: E, code: string): Coded<E> {
  Object.defineProperty(error, 'code', { value: code, enumerable: true, writable: true, configurable: true });
  return error as Coded<E>;
}

/** How a received value is named in messages: its value and its type. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'function') return `function ${value.name || '<anonymous>'}`;
  if (typeof value === 'object') {
    const name = (value as object).constructor?.name;
    return name ? `an instance of ${name}` : inspect(value, { depth: 0 });
  }
  let shown = inspect(value);
  if (shown.length > 40) shown = `${shown.slice(0, 37)}...`;
  return `${shown} of type ${typeof value}`;
}

export function invalidArgType(name: string, expected: string, value: unknown): Coded<TypeError> {
  return coded(new TypeError(`Expected ${expected} for ${name} but received ${describe(value)}`), 'ERR_INVALID_ARG_TYPE');
}

export function invalidArgValue(name: string, reason: string, value: unknown): Coded<TypeError> {
  return coded(new TypeError(`${reason} for ${name}, received ${describe(value)}`), 'ERR_INVALID_ARG_VALUE');
}

export function outOfRange(name: string, expected: string, value: unknown): Coded<RangeError> {
  return coded(new RangeError(`Expected ${expected} for ${name} but received ${describe(value)}`), 'ERR_OUT_OF_RANGE');
}

export function codedError(code: string, message: string): Coded<Error> {
  return coded(new Error(message), code);
}
