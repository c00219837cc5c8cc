// `npm run bench`: the package against the kernel floor, a bare N-API
// floor, Node core and the peers, in one process on loopback with the rows
// interleaved round by round; then cold load times and memory, each in fresh
// processes. Prints markdown tables (median ns per operation and ratios).
//
// BENCH_ROUNDS (default 61), BENCH_BATCH_MS (default 5), BENCH_LOAD_RUNS
// (default 21) and BENCH_MEMORY_CALLS (default 1000000) trade time for noise.
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { ensureBuilt, root } from './common.mjs';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 61);
const BATCH_MS = Number(process.env.BENCH_BATCH_MS ?? 5);
const LOAD_RUNS = Number(process.env.BENCH_LOAD_RUNS ?? 21);
const MEMORY_CALLS = Number(process.env.BENCH_MEMORY_CALLS ?? 1_000_000);

ensureBuilt();
const { makeGroups, coreHasFourArgs } = await import('./speed.mjs');
const { floor } = (await import('./common.mjs')).loadAll();

function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function quantile(values, q) {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.round(q * (s.length - 1))))];
}

/** Wall-clock and thread-CPU ns per operation of one batch of n. */
function time(row, n) {
  const cpu = floor.threadCpuNs();
  const start = process.hrtime.bigint();
  const own = row.run(n);
  const ns = Number(process.hrtime.bigint() - start);
  const cpuNs = floor.threadCpuNs() - cpu;
  return { wall: typeof own === 'number' ? own : ns / n, cpu: cpuNs / n };
}

function shuffle(array) {
  for (let i = array.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [array[i], array[j]] = [array[j], array[i]];
  }
  return array;
}

function speed(groups) {
  const rows = groups.flatMap((g) => g.rows);
  for (const row of rows) {
    // Warm the JIT, then size the batch to about BATCH_MS.
    let n = 64;
    for (;;) {
      const ns = time(row, n).wall * n;
      if (ns > BATCH_MS * 1e6 / 4 || n >= 1 << 22) {
        row.n = Math.max(16, Math.round(n * (BATCH_MS * 1e6) / ns));
        break;
      }
      n *= 2;
    }
    time(row, row.n);
    row.samples = [];
    row.cpuSamples = [];
  }
  for (let r = 0; r < ROUNDS; r++) {
    for (const row of shuffle([...rows])) {
      const t = time(row, row.n);
      row.samples.push(t.wall);
      row.cpuSamples.push(t.cpu);
    }
  }
  for (const row of rows) {
    row.median = median(row.samples);
    row.q1 = quantile(row.samples, 0.25);
    row.q3 = quantile(row.samples, 0.75);
    row.cpu = median(row.cpuSamples);
  }
}

/**
 * Median over rounds of a/b within each round, on thread CPU time: rows of
 * one round run moments apart, so this cancels the machine's slower drifts,
 * and CPU time leaves out the waits for a core that other work caused.
 */
function ratio(a, b) {
  return median(a.cpuSamples.map((x, i) => x / b.cpuSamples[i]));
}

function fmt(x, digits = 0) {
  return x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function speedTable(group) {
  const kernel = group.rows.find((r) => r.floor === 'kernel');
  const napi = group.rows.find((r) => r.floor === 'napi');
  const pkg = group.rows.find((r) => r.subject === 'package');
  const lines = [
    `**${group.title}**`,
    '',
    '| | median ns/op | IQR ns/op | CPU ns/op | × kernel floor | × N-API floor | × package |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const row of group.rows) {
    const to = (base) => (base ? fmt(ratio(row, base), 2) : '');
    lines.push(`| ${row.name} | ${fmt(row.median)} | ${fmt(row.q1)}–${fmt(row.q3)} | ${fmt(row.cpu)} | ${to(kernel)} | ${to(napi)} | ${to(pkg)} |`);
  }
  return lines.join('\n');
}

function child(args, options = {}) {
  const result = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', ...options });
  if (result.status !== 0) throw new Error(`node ${args.join(' ')} failed:\n${result.stderr}`);
  return result.stdout;
}

const LOAD_SUBJECTS = [
  { name: 'tcp-keepalive', spec: 'tcp-keepalive' },
  { name: 'net-keepalive', spec: 'net-keepalive' },
  { name: 'sockopt', spec: 'sockopt' },
  { name: 'reference: one empty file', spec: './bench/fixtures/empty.js', esm: './bench/fixtures/empty.mjs' },
];

// In an application the module loader has already run and node:net is
// loaded (there are sockets to protect); a bare process pays for both.
const SETTINGS = {
  bare: { require: '', import: '' },
  app: {
    require: "require('node:net'); require('./bench/fixtures/warm.js');",
    import: "await import('node:net'); await import('./bench/fixtures/warm.mjs');",
  },
};

/** Cold load: the first require() or import() of each package in a fresh process, timed inside it. */
function load() {
  const samples = new Map();
  const add = (key, value) => {
    if (!samples.has(key)) samples.set(key, []);
    samples.get(key).push(value);
  };
  for (let run = 0; run < LOAD_RUNS; run++) {
    for (const subject of shuffle([...LOAD_SUBJECTS])) {
      for (const [setting, before] of Object.entries(SETTINGS)) {
        const req = JSON.stringify(subject.spec);
        const imp = JSON.stringify(subject.esm ?? subject.spec);
        const start = 'const c = process.cpuUsage(); const t = process.hrtime.bigint();';
        const clock = 'const w = process.hrtime.bigint() - t; const u = process.cpuUsage(c); process.stdout.write(`${w} ${(u.user + u.system) * 1000}`);';
        const parse = (out) => out.split(' ').map((x) => Number(x) / 1e6);
        add(`${subject.name} ${setting} require`, parse(child(['-e', `${before.require} ${start} require(${req}); ${clock}`])));
        add(`${subject.name} ${setting} import`, parse(child(['--input-type=module', '-e', `${before.import} ${start} await import(${imp}); ${clock}`])));
      }
    }
  }
  const lines = [
    '| package | `require()` ms, app | `import()` ms, app | `require()` ms, bare process | `import()` ms, bare process |',
    '| --- | ---: | ---: | ---: | ---: |',
  ];
  const result = {};
  for (const subject of LOAD_SUBJECTS) {
    const m = (key) => {
      const all = samples.get(`${subject.name} ${key}`);
      return { wall: median(all.map((x) => x[0])), cpu: median(all.map((x) => x[1])) };
    };
    const r = (result[subject.name] = { app: { require: m('app require'), import: m('app import') }, bare: { require: m('bare require'), import: m('bare import') } });
    const cell = (x) => `${fmt(x.wall, 2)} (${fmt(x.cpu, 2)})`;
    lines.push(`| ${subject.name} | ${cell(r.app.require)} | ${cell(r.app.import)} | ${cell(r.bare.require)} | ${cell(r.bare.import)} |`);
  }
  return { table: lines.join('\n'), result };
}

function memory() {
  const lines = [
    '| subject | set+get calls | RSS after MB | RSS growth MB | heap used after MB | heap growth MB | ns per set+get |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  const result = {};
  // net-keepalive runs a tenth of the calls: at its speed the full count
  // would take minutes, and its growth is plain by then.
  const subjects = [['package', 1], ['raw binding', 1], ['sockopt', 1], ['net-keepalive', 10]];
  for (const [subject, share] of subjects) {
    const calls = Math.round(MEMORY_CALLS / share);
    const r = JSON.parse(child(['--expose-gc', 'bench/memory.mjs', subject, String(calls)]));
    const mb = (x) => x / (1024 * 1024);
    result[subject] = { rssGrowth: mb(r.after.rss - r.before.rss), heapGrowth: mb(r.after.heapUsed - r.before.heapUsed) };
    lines.push(`| ${subject} | ${fmt(calls)} | ${fmt(mb(r.after.rss), 1)} | ${fmt(result[subject].rssGrowth, 1)} | ${fmt(mb(r.after.heapUsed), 1)} | ${fmt(result[subject].heapGrowth, 2)} | ${fmt(r.nsPerPair)} |`);
  }
  return { table: lines.join('\n'), result };
}

function overhead() {
  const { result } = JSON.parse(child(['bench/overhead.mjs']));
  const lines = ['| JavaScript per call, system calls stubbed out | median ns |', '| --- | ---: |'];
  for (const [name, ns] of Object.entries(result)) lines.push(`| ${name} | ${fmt(ns, 1)} |`);
  return { table: lines.join('\n'), result };
}

function verdict(ok) {
  return ok ? 'met' : '**missed**';
}

const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
console.log(`## tcp-keepalive benchmark\n`);
console.log(`Node ${process.version} (N-API ${process.versions.napi}), Linux ${os.release()}, ${cpu}, ${os.cpus().length} cores; ` +
  `${ROUNDS} interleaved rounds of ~${BATCH_MS} ms per row; Node core four-argument setKeepAlive: ${coreHasFourArgs ? 'present' : 'absent'}; ` +
  `load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}. Ratios are medians of per-round ratios of thread CPU time.\n`);

const syscallNs = median(Array.from({ length: 9 }, () => floor.loopSyscall(100_000)));
console.log(`The cheapest system call (getppid) costs ${fmt(syscallNs)} ns here; the floors below are made of such calls.\n`);
const bench = await makeGroups();
speed(bench.groups);
bench.close();
for (const group of bench.groups) console.log(`${speedTable(group)}\n`);

const js = overhead();
console.log(`**Where the time goes** (a separate process)\n\n${js.table}\n`);
const loads = load();
console.log(`**Cold load** (median of ${LOAD_RUNS} fresh processes each, timed inside the process around the first require/import; ` +
  '"app": node:net and the module loader already in use, as in a program that has sockets; "bare": nothing loaded before; ' +
  'wall-clock ms, with CPU ms of the process in parentheses)\n');
console.log(`${loads.table}\n`);
const mem = memory();
console.log(`**Memory** (a fresh process each, measured after gc before and after the loop)\n\n${mem.table}\n`);

const g = Object.fromEntries(bench.groups.map((group) => [group.key, group]));
const row = (key, pred) => g[key].rows.find(pred);
const of = (key, a, b) => ratio(row(key, a), row(key, b));
const isPkg = (r) => r.subject === 'package';
const napi = (r) => r.floor === 'napi';
const kernel = (r) => r.floor === 'kernel';
const goals = [
  ['setKeepalive (3 fields) ≤ 1.1 × N-API floor', of('set3', isPkg, napi), (x) => x <= 1.1, `(${fmt(of('set3', isPkg, kernel), 2)} × kernel floor)`],
  ['setKeepalive (4 fields) ≤ 1.1 × N-API floor', of('set4', isPkg, napi), (x) => x <= 1.1, `(${fmt(of('set4', isPkg, kernel), 2)} × kernel floor)`],
  ['getKeepalive ≤ 1.2 × N-API floor', of('get', isPkg, napi), (x) => x <= 1.2, `(${fmt(of('get', isPkg, kernel), 2)} × kernel floor)`],
  ['net-keepalive set (3 fields) ≥ 10 × setKeepalive', of('set3', (r) => r.subject === 'net-keepalive', isPkg), (x) => x >= 10, ''],
  ['net-keepalive set (4 fields) ≥ 10 × setKeepalive', of('set4', (r) => r.subject === 'net-keepalive', isPkg), (x) => x >= 10, ''],
  ['net-keepalive get (3 values) ≥ 10 × getKeepalive (5 values)', of('get', (r) => r.subject === 'net-keepalive', isPkg), (x) => x >= 10, ''],
  ['setKeepalive (3 fields) ≤ 1.0 × Node core setKeepAlive (same 4 system calls)', of('set3', isPkg, (r) => r.subject === 'core'), (x) => x <= 1.0, ''],
];
if (coreHasFourArgs) {
  goals.push(['setKeepalive (3 fields) ≤ 1.0 × Node core four-argument setKeepAlive', of('set3', isPkg, (r) => r.subject === 'core4'), (x) => x <= 1.0, '']);
}
const ours = loads.result['tcp-keepalive'];
for (const setting of ['app', 'bare']) {
  for (const clock of ['wall', 'cpu']) {
    const x = Math.max(ours[setting].require[clock], ours[setting].import[clock]);
    goals.push([`cold load < 3 ms, ${setting === 'app' ? 'in an application' : 'bare process'}, ${clock === 'wall' ? 'wall clock' : 'CPU time'} (slower of require and import), ms`, x, (v) => v < 3, '']);
  }
}
goals.push([`RSS growth < 5 MB after ${fmt(MEMORY_CALLS)} set+get, MB`, mem.result.package.rssGrowth, (x) => x < 5, '']);

console.log('**Goals**\n\n| goal | measured | |\n| --- | ---: | --- |');
for (const [name, value, ok, note] of goals) console.log(`| ${name} | ${fmt(value, 2)} ${note} | ${verdict(ok(value))} |`);
