// Command-line parsing on node:util's parseArgs, with failures turned into
// one-line messages that end the run with status 2.
import { parseArgs, type ParseArgsConfig } from 'node:util';

type Parsed<O extends Options> = ReturnType<typeof parseArgs<{ options: O; strict: true; allowPositionals: false }>>['values'];

/** Bad input on the command line: printed as one line, exit status 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** The options every subcommand takes. */
export const common = {
  help: { type: 'boolean', short: 'h' },
  json: { type: 'boolean' },
} as const satisfies Options;

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

/**
 * Parses a subcommand's arguments strictly: unknown options, missing values
 * and stray positionals are UsageErrors naming what was wrong.
 */
export function parse<O extends Options>(command: string, args: string[], options: O): Parsed<O> {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false }).values;
  } catch (error) {
    const code = (error as { code?: string }).code;
    const message = (error as Error).message;
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      // Node's hint about positionals after '--' does not apply: no subcommand takes any.
      const name = /'([^']+)'/.exec(message)?.[1] ?? message;
      throw new UsageError(`unknown option ${name} for ${command} (see tcp-keepalive ${command} --help)`);
    }
    if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
      const name = /'([^']+)'/.exec(message)?.[1] ?? message;
      throw new UsageError(`unexpected argument '${name}' for ${command} (see tcp-keepalive ${command} --help)`);
    }
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && /ambiguous/.test(message)) {
      const name = /'([^']+)'/.exec(message)?.[1] ?? 'the option';
      throw new UsageError(`${name} needs a value; write one that starts with '-' as ${name}=-1`);
    }
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) throw new UsageError(oneLine(message));
    throw error;
  }
}

/**
 * A whole number given on the command line, or undefined when absent.
 * Any integer is returned, even one outside the kernel's range, so that
 * `check` can say what the kernel would do with it; fractions and words are
 * UsageErrors.
 */
export function integer(option: string, text: string | undefined, what: string): number | undefined {
  if (text === undefined) return undefined;
  if (!/^[+-]?\d+$/.test(text.trim())) {
    throw new UsageError(`--${option} expects ${what}, got '${text}'`);
  }
  return Number(text.trim());
}

/** A whole number that must also lie within [min, max], else a UsageError. */
export function bounded(option: string, text: string | undefined, what: string, min: number, max: number): number | undefined {
  const value = integer(option, text, what);
  if (value !== undefined && (value < min || value > max)) {
    throw new UsageError(`--${option} expects ${what} from ${min} to ${max}, got ${text}`);
  }
  return value;
}
