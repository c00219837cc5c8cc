// The preload: `node --require /app/node_modules/tcp-keepalive/register.js
// app.js` (or `--import`, or either in NODE_OPTIONS). Turns on process-wide
// keepalive from the TCP_KEEPALIVE_* variables with no change to the
// application. A bad value stops the process here, before the application
// starts, since running without the protection the operator asked for is
// worse than not starting. With no variable set, nothing else is loaded and
// nothing happens: this file runs in every Node process that inherits
// NODE_OPTIONS (health checks, npm, build tools), so that case costs one
// look at the environment's names.
import type { EnvConfig } from './env.js';

const PREFIX = 'TCP_KEEPALIVE_';

/** sysexits.h EX_CONFIG: tells a supervisor this is configuration, not a crash. */
const EXIT_CONFIG = 78;

function anySet(env: NodeJS.ProcessEnv): boolean {
  for (const name in env) if (name.startsWith(PREFIX) && env[name] !== '') return true;
  return false;
}

function start(): void {
  if (!anySet(process.env)) return;
  const { configFromEnv, describeConfig } = require('./env.js') as typeof import('./env.js');
  let config: EnvConfig | null;
  try {
    config = configFromEnv(process.env);
  } catch (error) {
    // One line, no stack: the operator needs the variable and the value.
    require('node:fs').writeSync(2, `tcp-keepalive: ${(error as Error).message}\n`);
    process.exit(EXIT_CONFIG);
  }
  if (config === null) return;
  const { setDefaultKeepalive } = require('./defaults-process.js') as typeof import('./defaults-process.js');
  const { debug } = require('./debug.js') as typeof import('./debug.js');
  debug(describeConfig(config));
  setDefaultKeepalive(config.options, {
    direction: config.direction,
    ...(config.ports === null ? {} : { ports: [...config.ports] }),
  });
}

start();
