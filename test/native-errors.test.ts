// System errors from the binding: named as Node names them, and built
// without libuv on POSIX, so the binary loads and reports errors the same
// way in runtimes that implement N-API without libuv (Bun, Deno).
import { spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { existsSync, openSync, closeSync, readFileSync } from 'node:fs';
import { constants } from 'node:os';
import path from 'node:path';
import { getSystemErrorMap, getSystemErrorName } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { Capability, native } from '../src/native.js';

const root = path.join(__dirname, '..');
const posix = process.platform !== 'win32';

// Every binary the package may load here: the local build and the prebuild.
const binaries = [
  path.join(root, 'build', 'Release', 'tcp_keepalive.node'),
  path.join(root, 'prebuilds', `${process.platform}-${process.arch}`, 'tcp-keepalive.node'),
].filter((file) => existsSync(file));

function undefinedSymbols(file: string): string[] {
  const nm = spawnSync('nm', ['-D', '--undefined-only', file], { encoding: 'utf8' });
  if (nm.status === 0) return nm.stdout.split('\n').map((line) => line.trim().split(/\s+/).pop() ?? '').filter(Boolean);
  const readelf = spawnSync('readelf', ['--dyn-syms', '-W', file], { encoding: 'utf8' });
  if (readelf.status !== 0) throw new Error(`neither nm nor readelf could read ${file}: ${nm.stderr}${readelf.stderr}`);
  // Num: Value Size Type Bind Vis Ndx Name
  return readelf.stdout
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((f) => f.length >= 8 && f[6] === 'UND')
    .map((f) => f[7]!);
}

describe.runIf(process.platform === 'linux')('the built binary', () => {
  it('exists where the package loads it from', () => {
    expect(binaries.length).toBeGreaterThan(0);
  });

  it.each(binaries.map((file) => [path.relative(root, file), file]))('%s imports nothing from libuv', (_name, file) => {
    const symbols = undefinedSymbols(file);
    expect(symbols.some((s) => s.startsWith('napi_'))).toBe(true);
    expect(symbols.filter((s) => /^uv_/.test(s))).toEqual([]);
  });
});

/** Calls the raw binding, returning what it threw. */
function thrown(call: () => unknown): NodeJS.ErrnoException & { option?: string } {
  try {
    call();
  } catch (error) {
    return error as NodeJS.ErrnoException & { option?: string };
  }
  throw new Error('expected the call to throw');
}

/** What Node itself says of a (negative) errno: its name and libuv's message. */
function nodeSays(errno: number): { code: string; description: string } {
  const [code, description] = getSystemErrorMap().get(errno) ?? [getSystemErrorName(errno), ''];
  return { code, description };
}

describe.runIf(posix)('system errors from the binding', () => {
  const opened: number[] = [];
  afterAll(() => opened.forEach((fd) => closeSync(fd)));

  const cases: [string, string, () => unknown][] = [
    ['EBADF', 'close', () => native().close(-1)],
    ['ENOTSOCK', 'getsockopt', () => native().get(opened[opened.push(openSync(__filename, 'r')) - 1]!, new Int32Array(5))],
  ];

  it.each(cases)('%s carries the code, errno and message Node gives it', (code, syscall, call) => {
    const error = thrown(call);
    expect(error).toBeInstanceOf(Error);
    expect(error.code).toBe(code);
    expect(error.errno).toBe(-(constants.errno as Record<string, number>)[code]!);
    expect(error.syscall).toBe(syscall);
    const node = nodeSays(error.errno!);
    expect(node.code).toBe(code);
    expect(error.message.startsWith(`${code}: ${node.description}, ${syscall}`)).toBe(true);
  });

  /** A bound UDP socket's descriptor: Node 26 dropped dgram's `_handle`, kept under its state symbol since Node 12. */
  function udpFd(udp: dgram.Socket): number {
    const state = Object.getOwnPropertySymbols(udp).find((s) => s.description === 'state symbol');
    const handle = (udp as unknown as Record<symbol, { handle?: { fd: number } } | undefined>)[state!]?.handle;
    const fd = handle?.fd ?? (udp as unknown as { _handle?: { fd: number } })._handle?.fd;
    if (typeof fd !== 'number' || fd < 0) throw new Error('no descriptor found for the UDP socket');
    return fd;
  }

  it('names a TCP option refused by a UDP socket (ENOPROTOOPT) with the option', async () => {
    const udp = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', resolve));
    try {
      const fd = udpFd(udp);
      const error = thrown(() => native().set(fd, 1, 30, -1, -1, -1));
      expect(error.code).toBe('ENOPROTOOPT');
      expect(error.errno).toBe(-constants.errno.ENOPROTOOPT);
      expect(error.syscall).toBe('setsockopt');
      expect(error.option).toBe('TCP_KEEPIDLE');
      expect(error.message).toBe(`ENOPROTOOPT: ${nodeSays(error.errno!).description}, setsockopt TCP_KEEPIDLE`);
    } finally {
      udp.close();
    }
  });

  it.runIf(process.platform === 'linux' && Boolean(native().capabilities & Capability.Pidfd))('names a process that does not exist (ESRCH)', () => {
    // The highest pid Linux hands out is below 2^22; this one cannot be running.
    const error = thrown(() => native().pidfdGetfd(2 ** 22 + 1, 0));
    expect(error.code).toBe('ESRCH');
    expect(error.errno).toBe(-constants.errno.ESRCH);
    expect(error.message.startsWith(`ESRCH: ${nodeSays(error.errno!).description}, `)).toBe(true);
  });

  it("names each number as Node's own libuv does", () => {
    // The binding's table, read from its source: every entry must be the
    // system's number under Node's name with Node's message.
    const source = readFileSync(path.join(root, 'native', 'binding.cc'), 'utf8');
    const entries = [...source.matchAll(/TKA_ERRNO\((E[A-Z0-9]+), "([^"]+)"\)/g)].map((m) => [m[1]!, m[2]!] as const);
    expect(entries.length).toBeGreaterThan(50);
    const map = getSystemErrorMap();
    const mismatches: string[] = [];
    for (const [name, message] of entries) {
      const number = (constants.errno as Record<string, number | undefined>)[name];
      if (number === undefined) continue; // not on this system; compiled out here too
      const node = map.get(-number);
      // Linux's EOPNOTSUPP is ENOTSUP's number, and that entry is compiled out.
      if (name === 'EOPNOTSUPP' && constants.errno.EOPNOTSUPP === constants.errno.ENOTSUP) continue;
      if (!node || node[0] !== name || node[1] !== message) mismatches.push(`${name} (${number}): binding says "${message}", Node says ${JSON.stringify(node)}`);
    }
    expect(mismatches).toEqual([]);
  });
});
