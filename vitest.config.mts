import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // examples/ import the package by name, as users do; under test that name
    // is the source, the same module instance the tests themselves import.
    // The entry point (src/index.ts) loads src/api.ts with require() on first
    // use, which finds only the compiled dist/: the source's tests import the
    // API directly, and test/loading.test.ts checks the entry point as built.
    alias: [
      { find: /^tcp-keepalive$/, replacement: fileURLToPath(new URL('./src/api.ts', import.meta.url)) },
      { find: /^(\.\.\/)+src\/index\.js$/, replacement: fileURLToPath(new URL('./src/api.ts', import.meta.url)) },
    ],
  },
  test: {
    include: ['test/**/*.test.ts'],
    // Database servers for the driver tests: started on first use, stopped here.
    globalSetup: ['test/setup/servers.ts'],
    // Sockets and child processes, not DOM: forks isolate native state per file.
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
