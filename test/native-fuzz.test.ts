// Random calls into the native layer and the public API with every kind of
// descriptor a process can hold and every kind of value: nothing may crash,
// and every failure must be an Error with a code. `npm run test:asan` runs
// this under AddressSanitizer and UndefinedBehaviorSanitizer with
// FUZZ_CALLS=100000; a plain `npm test` runs a shorter loop.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { once } from 'node:events';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getKeepalive, setKeepalive } from '../src/index.js';
import { native } from '../src/native.js';

const binding = native();
import { kernel, listen, tcpPair, tlsPair, type Pair } from './helpers.js';

const CALLS = Number(process.env.FUZZ_CALLS ?? 20_000);
const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));

// mulberry32: small, seeded, so a failing run can be replayed with FUZZ_SEED.
let state = SEED >>> 0;
function random(): number {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
const int32 = (): number => (random() * 2 ** 32 - 2 ** 31) | 0;

const INT_EDGES = [-1, -2, 0, 1, 2, 126, 127, 128, 255, 32766, 32767, 32768, 65535, 2147483647, -2147483648];
/** What the raw binding may be handed: numbers, mostly int32 near the limits. */
function nativeValue(): number {
  const r = random();
  if (r < 0.35) return pick(INT_EDGES);
  if (r < 0.6) return Math.floor(random() * 200);
  if (r < 0.85) return int32();
  return pick([NaN, Infinity, -Infinity, 0.5, -0.5, 1e10, -1e10, 2 ** 53, -0]);
}

const JUNK: readonly unknown[] = [
  undefined, null, true, false, '', '60', 'idle', NaN, Infinity, -Infinity, 0.5, -1, 0, 1e9, 2 ** 31, -(2 ** 31) - 1,
  10n, Symbol('x'), [], [60], {}, { idle: 60 }, () => 60, new Date(0), new Int32Array(5), Object.create(null),
];
const KEYS = ['idle', 'interval', 'count', 'userTimeout', 'enabled', 'idel', 'timeout', '__proto__', 'constructor'];
/** What a user might pass to setKeepalive after the target. */
function publicValue(): unknown {
  const r = random();
  if (r < 0.3) return pick(INT_EDGES);
  if (r < 0.45) return Math.floor(random() * 200);
  if (r < 0.75) {
    const options: Record<string, unknown> = {};
    const n = Math.floor(random() * 4);
    for (let i = 0; i < n; i++) options[pick(KEYS)] = random() < 0.6 ? Math.floor(random() * 40000) - 5 : pick(JUNK);
    return options;
  }
  return pick(JUNK);
}

const resources: Array<() => void | Promise<void>> = [];
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tka-fuzz-'));
let child: ChildProcess;
let childFds: number[] = [];
const fds: Array<{ kind: string; fd: number }> = [];
const targets: Array<{ kind: string; target: unknown; tcp?: net.Socket | net.Server }> = [];
let tcp: Pair;

/** dgram keeps its handle under a symbol; `_handle` is deprecated. */
function udpFd(socket: dgram.Socket): number {
  const key = Object.getOwnPropertySymbols(socket).find((k) => String(k) === 'Symbol(state symbol)')!;
  return (socket as unknown as Record<symbol, { handle: { fd: number } }>)[key]!.handle.fd;
}

async function unixPair(file: string): Promise<{ server: net.Server; client: net.Socket; accepted: net.Socket }> {
  const server = net.createServer();
  server.listen(file);
  await once(server, 'listening');
  const acceptedP = once(server, 'connection');
  const client = net.connect(file);
  await once(client, 'connect');
  const [accepted] = (await acceptedP) as [net.Socket];
  return { server, client, accepted };
}

beforeAll(async () => {
  tcp = await tcpPair();
  const tls = await tlsPair();
  const unix = await unixPair(path.join(tmp, 'unix.sock'));
  const udp = dgram.createSocket('udp4');
  udp.bind(0, '127.0.0.1');
  await once(udp, 'listening');
  const listening = net.createServer();
  await listen(listening);
  const idleServer = net.createServer();
  const httpServer = http.createServer();
  await listen(httpServer);
  resources.push(() => tcp.close(), () => tls.close());
  resources.push(() => {
    udp.close();
    listening.close();
    httpServer.close();
  });
  resources.push(() => {
    unix.client.destroy();
    unix.accepted.destroy();
    unix.server.close();
  });

  const file = fs.openSync(path.join(tmp, 'regular'), 'w+');
  const devnull = fs.openSync('/dev/null', 'r');
  const dir = fs.openSync(tmp, 'r');
  execFileSync('mkfifo', [path.join(tmp, 'fifo')]);
  // O_RDWR opens a FIFO without waiting for a peer.
  const fifo = fs.openSync(path.join(tmp, 'fifo'), fs.constants.O_RDWR | fs.constants.O_NONBLOCK);
  const closed = fs.openSync(path.join(tmp, 'closed'), 'w');
  fs.closeSync(closed);
  resources.push(() => [file, devnull, dir, fifo].forEach((fd) => fs.closeSync(fd)));

  const fdOf = (s: { _handle?: { fd?: number } | null }): number => s._handle!.fd!;
  fds.push(
    { kind: 'tcp client', fd: fdOf(tcp.client as never) },
    { kind: 'tcp accepted', fd: fdOf(tcp.accepted as never) },
    { kind: 'tls client', fd: fdOf(tls.client as never) },
    { kind: 'tcp listening', fd: fdOf(listening as never) },
    { kind: 'udp', fd: udpFd(udp) },
    { kind: 'unix client', fd: fdOf(unix.client as never) },
    { kind: 'unix listening', fd: fdOf(unix.server as never) },
    { kind: 'regular file', fd: file },
    { kind: '/dev/null', fd: devnull },
    { kind: 'directory', fd: dir },
    { kind: 'fifo', fd: fifo },
    { kind: 'closed', fd: closed },
    { kind: 'stdin', fd: 0 },
  );

  // Another process with sockets of its own: its descriptor numbers mean
  // something else (or nothing) here, and pidfd_getfd can reach them.
  child = spawn(process.execPath, ['-e', `
    const net = require('net');
    const c = net.connect(${tcp.port}, '127.0.0.1', () => process.stdout.write('ready\\n'));
    require('fs').openSync(${JSON.stringify(path.join(tmp, 'child-file'))}, 'w');
    // Gone with its parent, even one that crashed: stdin closes then.
    process.stdin.on('end', () => process.exit(0)).resume();
  `], { stdio: ['pipe', 'pipe', 'inherit'] });
  await once(child.stdout!, 'data');
  childFds = fs.readdirSync(`/proc/${child.pid}/fd`).map(Number);
  resources.push(() => {
    child.kill();
  });

  const destroyed = new net.Socket();
  destroyed.destroy();
  const unconnected = new net.Socket();
  resources.push(() => {
    unconnected.destroy();
  });
  targets.push(
    { kind: 'tcp client', target: tcp.client, tcp: tcp.client },
    { kind: 'tcp accepted', target: tcp.accepted, tcp: tcp.accepted },
    { kind: 'tls client', target: tls.client, tcp: tls.client },
    { kind: 'listening server', target: listening, tcp: listening },
    { kind: 'http server', target: httpServer, tcp: httpServer },
    { kind: 'server not listening', target: idleServer },
    { kind: 'unix socket', target: unix.client },
    { kind: 'destroyed socket', target: destroyed },
    { kind: 'unconnected socket', target: unconnected },
    { kind: 'udp socket', target: udp },
    ...JUNK.slice(0, 12).map((junk) => ({ kind: 'junk', target: junk })),
  );
});

afterAll(async () => {
  for (const release of resources.reverse()) await release();
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** A pid for pidfd_getfd: our own child or one that cannot be a live process; never anyone else's. */
function pid(): number {
  return pick([child.pid!, child.pid!, child.pid!, 0, -1, -2147483648, 2147483647, 4194305]);
}

function nativeFd(): number {
  const r = random();
  if (r < 0.7) return pick(fds).fd;
  if (r < 0.85) return pick(childFds);
  return pick([-1, -2147483648, 2147483647, 4096, 65535, 1 << 20, Math.floor(random() * 1024)]);
}

const CODE = /^(E[A-Z0-9]+|ERR_[A-Z_]+)$/;

interface Tally {
  calls: number;
  ok: number;
  codes: Map<string, number>;
  bad: string[];
}

function check(t: Tally, what: string, fn: () => void): void {
  t.calls++;
  try {
    fn();
    t.ok++;
  } catch (error) {
    const e = error as { code?: unknown; errno?: unknown; syscall?: unknown };
    const code = e?.code;
    const system = typeof code === 'string' && /^E[A-Z0-9]+$/.test(code);
    const good = error instanceof Error && typeof code === 'string' && CODE.test(code) &&
      (!system || (typeof e.errno === 'number' && typeof e.syscall === 'string'));
    if (good) t.codes.set(code as string, (t.codes.get(code as string) ?? 0) + 1);
    else if (t.bad.length < 10) t.bad.push(`${what}: ${String(error)} (code ${String(code)})`);
    if (!good) t.codes.set('<uncoded>', (t.codes.get('<uncoded>') ?? 0) + 1);
  }
}

const out32 = new Int32Array(5);
const out64 = new Float64Array(binding.infoFields);
const wrongOut: readonly unknown[] = [new Int32Array(4), new Float64Array(5), new Int32Array(20), new Uint8Array(64), [0, 0, 0, 0, 0], undefined, null, {}];

function nativeCall(t: Tally, fd: number, depth = 0): void {
  const op = random();
  if (op < 0.35) {
    const v = [nativeValue(), nativeValue(), nativeValue(), nativeValue(), nativeValue()];
    check(t, `set(${fd}, ${v.join(', ')})`, () => binding.set(fd, v[0]!, v[1]!, v[2]!, v[3]!, v[4]!));
  } else if (op < 0.55) {
    check(t, `get(${fd})`, () => binding.get(fd, out32));
  } else if (op < 0.65) {
    check(t, `kind(${fd})`, () => binding.kind(fd));
  } else if (op < 0.75) {
    check(t, `tcpInfo(${fd})`, () => binding.tcpInfo(fd, out64));
  } else if (op < 0.85 && depth === 0) {
    const p = pid();
    const target = random() < 0.8 ? pick(childFds) : nativeValue();
    let dup = -1;
    check(t, `pidfdGetfd(${p}, ${target})`, () => {
      dup = binding.pidfdGetfd(p, target);
    });
    if (dup >= 0) {
      for (let i = 0; i < 3; i++) nativeCall(t, dup, 1);
      binding.close(dup);
    }
  } else {
    // Wrong types at the raw binding: refused with a code, nothing read or written.
    const args: unknown[] = [pick([fd, ...JUNK]), pick(JUNK), pick(JUNK), pick(JUNK), pick(JUNK), pick(JUNK)];
    const which = pick(['set', 'get', 'kind', 'tcpInfo'] as const);
    if (which === 'get' || which === 'tcpInfo') args[1] = pick(wrongOut);
    check(t, `${which}(${args.map((a) => typeof a).join(', ')})`, () => (binding[which] as (...a: unknown[]) => void)(...args));
  }
}

const VALIDATION = new Set(['ERR_INVALID_ARG_TYPE', 'ERR_OUT_OF_RANGE', 'ERR_INVALID_ARG_VALUE', 'ERR_KEEPALIVE_UNSUPPORTED']);

function readKernel(target: net.Socket | net.Server): string {
  const handle = (target as unknown as { _handle?: { fd: number } })._handle;
  // Bun's http.Server shows no handle; its listener is read in bun.test.ts.
  if (!handle) return 'no handle';
  binding.get(handle.fd, out32);
  return out32.join(',');
}

function publicCall(t: Tally, changed: { bad: string[] }): void {
  // Mostly real sockets and servers, where the calls reach the kernel.
  const real = targets.filter((t) => t.kind !== 'junk');
  const { kind, target, tcp: socket } = random() < 0.75 ? pick(real) : pick(targets);
  if (random() < 0.25) {
    check(t, `getKeepalive(${kind})`, () => getKeepalive(target as net.Socket));
    return;
  }
  const args = Array.from({ length: 1 + Math.floor(random() * 5) }, publicValue);
  const before = socket ? readKernel(socket) : '';
  let thrown: unknown;
  check(t, `setKeepalive(${kind}, ${args.length} args)`, () => {
    try {
      (setKeepalive as (...a: unknown[]) => void)(target, ...args);
    } catch (error) {
      thrown = error;
      throw error;
    }
  });
  const code = (thrown as { code?: string } | undefined)?.code;
  if (socket && code !== undefined && VALIDATION.has(code) && readKernel(socket) !== before && changed.bad.length < 10) {
    changed.bad.push(`setKeepalive(${kind}) threw ${code} but the kernel's values changed`);
  }
}

function summary(t: Tally): string {
  const codes = [...t.codes].sort((a, b) => b[1] - a[1]).map(([c, n]) => `${c} ${n}`).join(', ');
  return `${t.calls} calls (seed ${SEED}): ${t.ok} returned, ${codes}`;
}

describe('native fuzz', () => {
  it(`survives ${CALLS} random native calls on every kind of descriptor; every failure has a code`, () => {
    const t: Tally = { calls: 0, ok: 0, codes: new Map(), bad: [] };
    const open = fs.readdirSync('/proc/self/fd').length;
    while (t.calls < CALLS) nativeCall(t, nativeFd());
    console.log(`native: ${summary(t)}`);
    // Every descriptor pidfd_getfd duplicated was closed again.
    expect(fs.readdirSync('/proc/self/fd').length).toBe(open);
    expect(t.bad, `seed ${SEED}`).toEqual([]);
    expect(t.codes.get('<uncoded>') ?? 0).toBe(0);
    expect(t.calls).toBeGreaterThanOrEqual(CALLS);
  });

  it(`survives ${Math.ceil(CALLS / 4)} random public calls; every failure has a code and bad input changes nothing`, () => {
    const t: Tally = { calls: 0, ok: 0, codes: new Map(), bad: [] };
    const changed = { bad: [] as string[] };
    while (t.calls < CALLS / 4) publicCall(t, changed);
    console.log(`public: ${summary(t)}`);
    expect(t.bad, `seed ${SEED}`).toEqual([]);
    expect(changed.bad, `seed ${SEED}`).toEqual([]);
  });

  it('leaves the sockets working and the kernel holding what is set last', async () => {
    expect(child.exitCode).toBeNull();
    setKeepalive(tcp.client, { idle: 77, interval: 7, count: 5, userTimeout: 0 });
    expect(kernel(tcp.client)).toEqual({ enabled: true, idle: 77, interval: 7, count: 5, userTimeout: 0 });
    const got = once(tcp.accepted, 'data');
    tcp.client.write('still connected');
    expect(String((await got)[0])).toBe('still connected');
  });
});
