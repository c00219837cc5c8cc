#!/usr/bin/env node
'use strict';
// Loading can fail before the command's own error handling exists (no
// native binary for this platform): say so in one line, not a stack trace.
let cli;
try {
  cli = require('../dist/cli/main.js');
} catch (error) {
  process.stderr.write(`tcp-keepalive: cannot load: ${String(error && error.message).split('\n')[0]}\n`);
  process.exit(1);
}
process.exitCode = cli.main(process.argv.slice(2));
