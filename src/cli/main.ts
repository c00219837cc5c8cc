// The `tcp-keepalive` command: picks the subcommand, and turns every failure
// into one line on stderr and an exit status instead of a stack trace.
// Each subcommand's module is loaded only when it runs (or its help is
// asked for), so `--help` loads this file and `check` never loads what `ls`
// needs; only `ls` and `set` load the native binary.
import { parseArgs } from 'node:util';
import { UsageError } from './args.js';

interface Command {
  run(args: string[]): number;
  help: string;
}

const commands: Record<string, () => Command> = {
  ls: () => require('./ls.js') as Command,
  set: () => require('./set.js') as Command,
  defaults: () => require('./defaults.js') as Command,
  check: () => require('./check.js') as Command,
};

export const help = `Usage: tcp-keepalive <command> [options]

See, check and fix TCP keepalive settings.

Commands:
  ls        every TCP connection with its keepalive state and values
  set       change the keepalive of a running process's connections, live
  defaults  this network namespace's keepalive defaults and how to change them
  check     the detection time of a set of values, and warnings about them

Options:
  -h, --help     this text; "tcp-keepalive <command> --help" for a command's
  -v, --version  the package version

Every command takes --json for output that scripts can read.`;

function version(): string {
  return (require('../../package.json') as { version: string }).version;
}

function dispatch(argv: string[]): number {
  const [name, ...rest] = argv;
  if (name !== undefined) {
    const command = Object.hasOwn(commands, name) ? commands[name] : undefined;
    if (command) return command().run(rest);
    if (name === 'help') {
      const topic = rest[0];
      if (topic === undefined) process.stdout.write(`${help}\n`);
      else if (Object.hasOwn(commands, topic)) process.stdout.write(`${commands[topic]!().help}\n`);
      else throw new UsageError(`unknown command '${topic}' (commands: ls, set, defaults, check)`);
      return 0;
    }
  }
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: { help: { type: 'boolean', short: 'h' }, version: { type: 'boolean', short: 'v' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw new UsageError(`${(error as Error).message.split('\n')[0]!.replace(/\. To specify .*/, '')} (see tcp-keepalive --help)`);
  }
  if (parsed.positionals.length > 0) {
    throw new UsageError(`unknown command '${parsed.positionals[0]}' (commands: ls, set, defaults, check)`);
  }
  if (parsed.values.help) {
    process.stdout.write(`${help}\n`);
    return 0;
  }
  if (parsed.values.version) {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  throw new UsageError('missing command: ls, set, defaults or check (see tcp-keepalive --help)');
}

/** Runs the command line and returns the exit status. */
export function main(argv: string[]): number {
  try {
    return dispatch(argv);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`tcp-keepalive: ${error.message}\n`);
      return 2;
    }
    const e = error as NodeJS.ErrnoException;
    let text = e instanceof Error ? e.message : String(error);
    if (e?.code && !text.includes(e.code)) text = `${e.code}: ${text}`;
    process.stderr.write(`tcp-keepalive: ${text.split('\n')[0]}\n`);
    return 1;
  }
}
