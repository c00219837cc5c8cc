// Connect/close cycles on loopback under process-wide defaults: what every
// connection pays when setDefaultKeepalive (or the preload) is on. One
// process per mode, each with its own server and clients, so the mode
// without the package never loads it:
//
//   off      no package, no keepalive: the baseline
//   floor    no package; the same settings with the least work there is:
//            put on the listening socket once (the kernel copies them into
//            each accepted socket) and one raw setsockopt per field on each
//            client socket from its 'connect' listener
//   defaults setDefaultKeepalive(SETTINGS): the package, process-wide
//   preload  the preload (--require register.js) with TCP_KEEPALIVE_IDLE,
//            _INTERVAL, _COUNT, _USER_TIMEOUT and _PORTS (the server's port)
//
// A cycle: the client connects, the server accepts and closes at once, the
// client sees the close. CONCURRENCY cycles are in flight at a time.
//
//   node bench/connect.mjs worker <mode>       batches on request: stdin "n\n",
//                                              stdout one JSON line per batch
//   node bench/connect.mjs cycles <mode> <n>   n cycles and exit (under strace)
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import net from 'node:net';
import { createInterface } from 'node:readline';
import { require, root } from './common.mjs';

export const SETTINGS = { idle: 60, interval: 10, count: 3, userTimeout: 90_000 };
export const MODES = ['off', 'floor', 'defaults', 'preload'];
const CONCURRENCY = 8;

async function setup(mode) {
  let onClient = null;
  let floor = null;
  if (mode === 'floor') floor = require('./bench/build/Release/floor.node');
  if (mode === 'defaults') require('tcp-keepalive').setDefaultKeepalive(SETTINGS);
  const server = net.createServer((socket) => {
    socket.on('error', () => {});
    socket.destroy();
  });
  server.listen(Number(process.env.BENCH_PORT ?? 0), '127.0.0.1', 511);
  await once(server, 'listening');
  const s = SETTINGS;
  if (floor) {
    floor.set(server._handle.fd, 1, s.idle, s.interval, s.count, s.userTimeout);
    onClient = function () {
      floor.set(this._handle.fd, 1, s.idle, s.interval, s.count, s.userTimeout);
    };
  }
  const port = server.address().port;
  function cycle() {
    return new Promise((resolve) => {
      const c = net.connect(port, '127.0.0.1');
      if (onClient) c.on('connect', onClient);
      c.on('error', resolve);
      c.on('close', resolve);
      c.resume();
    });
  }
  async function run(n) {
    let next = 0;
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, n) }, async () => {
      while (next++ < n) await cycle();
    }));
  }
  return { run, close: () => server.close() };
}

async function worker(mode) {
  const bench = await setup(mode);
  await bench.run(500);
  for await (const line of createInterface({ input: process.stdin })) {
    const n = Number(line);
    if (!n) break;
    const cpu = process.cpuUsage();
    const start = process.hrtime.bigint();
    await bench.run(n);
    const wall = Number(process.hrtime.bigint() - start);
    const used = process.cpuUsage(cpu);
    process.stdout.write(`${JSON.stringify({ wallNs: wall / n, cpuNs: ((used.user + used.system) * 1000) / n })}\n`);
  }
  bench.close();
}

function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** A port free now, for the preload's TCP_KEEPALIVE_PORTS. */
async function freePort() {
  const server = net.createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();
  server.close();
  await once(server, 'close');
  return port;
}

/** How to start a process for mode: node's arguments before the script, and its environment. */
async function processFor(mode) {
  if (mode !== 'preload') return { args: [], env: process.env };
  const port = await freePort();
  const s = SETTINGS;
  const env = {
    ...process.env,
    BENCH_PORT: String(port),
    TCP_KEEPALIVE_IDLE: String(s.idle),
    TCP_KEEPALIVE_INTERVAL: String(s.interval),
    TCP_KEEPALIVE_COUNT: String(s.count),
    TCP_KEEPALIVE_USER_TIMEOUT: String(s.userTimeout),
    TCP_KEEPALIVE_PORTS: String(port),
  };
  return { args: ['--require', join(root, 'register.js')], env };
}

/** A worker process for mode, answering one batch at a time. */
async function spawnWorker(mode) {
  const how = await processFor(mode);
  const child = spawn(process.execPath, [...how.args, fileURLToPath(import.meta.url), 'worker', mode], { stdio: ['pipe', 'pipe', 'inherit'], env: how.env });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  return {
    mode,
    async batch(n) {
      child.stdin.write(`${n}\n`);
      const { value, done } = await lines.next();
      if (done) throw new Error(`connect worker ${mode} ended`);
      return JSON.parse(value);
    },
    async end() {
      child.stdin.end('0\n');
      await once(child, 'exit');
    },
  };
}

/**
 * Interleaved rounds, the modes in a new random order each round. Returns,
 * per mode, the median wall and CPU ns per cycle and the median over rounds
 * of its throughput and CPU ratios against each other mode in that round.
 */
export async function measureConnect({ rounds, cycles }) {
  const workers = await Promise.all(MODES.map(async (mode) => spawnWorker(mode)));
  const samples = Object.fromEntries(MODES.map((m) => [m, []]));
  for (let r = 0; r < rounds; r++) {
    const order = [...workers].sort(() => Math.random() - 0.5);
    for (const w of order) samples[w.mode].push(await w.batch(cycles));
  }
  await Promise.all(workers.map((w) => w.end()));
  const result = {};
  for (const mode of MODES) {
    const s = samples[mode];
    result[mode] = {
      wallNs: median(s.map((x) => x.wallNs)),
      cpuNs: median(s.map((x) => x.cpuNs)),
      /** Throughput of this mode over that one's, per round: wall time of that over this. */
      throughput: (other) => median(s.map((x, i) => samples[other][i].wallNs / x.wallNs)),
      cpu: (other) => median(s.map((x, i) => x.cpuNs / samples[other][i].cpuNs)),
    };
  }
  return result;
}

/** System calls per cycle, by name, from strace -c -f at two cycle counts (their difference cancels start-up). */
export async function countSyscalls(mode, low = 500, high = 1500) {
  const how = await processFor(mode);
  const counts = [low, high].map((n) => {
    const out = join(tmpdir(), `tcp-keepalive-strace-${process.pid}-${mode}-${n}`);
    const r = spawnSync('strace', ['-f', '-c', '-o', out, process.execPath, ...how.args, fileURLToPath(import.meta.url), 'cycles', mode, String(n)], { encoding: 'utf8', env: how.env });
    if (r.error || r.status !== 0) return null;
    const table = new Map();
    for (const line of readFileSync(out, 'utf8').split('\n')) {
      const f = line.trim().split(/\s+/);
      // % time, seconds, usecs/call, calls, [errors,] syscall
      if (f.length >= 5 && /^\d+$/.test(f[3]) && f.at(-1) !== 'total') table.set(f.at(-1), Number(f[3]));
    }
    rmSync(out, { force: true });
    return table;
  });
  if (counts.includes(null)) return null;
  const perCycle = {};
  for (const [name, n] of counts[1]) {
    const d = (n - (counts[0].get(name) ?? 0)) / (high - low);
    if (d >= 0.05) perCycle[name] = Math.round(d * 100) / 100;
  }
  return perCycle;
}

const [command, mode, count] = process.argv.slice(2);
if (command === 'worker') await worker(mode);
else if (command === 'cycles') {
  const bench = await setup(mode);
  await bench.run(Number(count));
  bench.close();
}
