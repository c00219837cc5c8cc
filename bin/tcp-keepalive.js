#!/usr/bin/env node
'use strict';
// A reader that stops early (`tcp-keepalive ls | head`) closes the pipe:
// end quietly with status 0, as ss and ls do, instead of a stack trace.
function closed(error) {
  if (error && error.code === 'EPIPE') process.exit(0);
  throw error;
}
process.stdout.on('error', closed);
process.stderr.on('error', closed);
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
