// The preload: `node --require tcp-keepalive/register app.js`, or
// `--import tcp-keepalive/register`, or either in NODE_OPTIONS. Turns on
// process-wide keepalive from the TCP_KEEPALIVE_* variables with no change
// to the application. A bad value stops the process here, before the
// application starts, since running without the protection the operator
// asked for is worse than not starting; with no variable set, nothing at all
// happens.
import { writeSync } from 'node:fs';
import { debuglog } from 'node:util';
import { setDefaultKeepalive } from './defaults-process.js';
import { configFromEnv, describeConfig, filterFor, type EnvConfig } from './env.js';

/** sysexits.h EX_CONFIG: tells a supervisor this is configuration, not a crash. */
const EXIT_CONFIG = 78;

function start(): void {
  let config: EnvConfig | null;
  try {
    config = configFromEnv(process.env);
  } catch (error) {
    // One line, no stack: the operator needs the variable and the value.
    writeSync(2, `tcp-keepalive: ${(error as Error).message}\n`);
    process.exit(EXIT_CONFIG);
  }
  if (config === null) return;
  const filter = filterFor(config);
  setDefaultKeepalive(config.options, filter ? { filter } : {});
  debuglog('tcp-keepalive')(describeConfig(config));
}

start();
