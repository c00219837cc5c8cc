// The preload by absolute path, for NODE_OPTIONS in containers:
//   NODE_OPTIONS="--require /app/node_modules/tcp-keepalive/register.js"
// (or --import with the same path). A bare `tcp-keepalive/register` resolves
// only from the application's own folder, so every other Node process that
// inherits NODE_OPTIONS (a health check, npm, a script run from /tmp) would
// fail to start; a path resolves from anywhere.
'use strict';
require('./dist/register.js');
