// `npm run bench`: the package against the kernel floor, a bare N-API
// floor, Node core and the peers, in one process on loopback with the rows
// interleaved round by round; then cold load times, the command line and
// memory, each in fresh processes; then connect/close cycles under
// process-wide defaults, one process per mode. Prints markdown tables
// (medians and ratios against the floors and peers of the same run).
//
// `npm run bench -- --quick` (or BENCH_QUICK=1): every section with fewer
// rounds, in about a minute; CI runs it, so every figure keeps being
// produced. BENCH_ROUNDS (default 61), BENCH_BATCH_MS (default 5),
// BENCH_LOAD_RUNS (default 21), BENCH_MEMORY_CALLS (default 1000000),
// BENCH_CONNECT_ROUNDS (default 31) and BENCH_CONNECT_CYCLES (default 1000)
// trade time for noise.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { ensureBuilt, root } from './common.mjs';

const QUICK = process.argv.includes('--quick') || process.env.BENCH_QUICK === '1';
const setting = (name, full, quick) => Number(process.env[name] ?? (QUICK ? quick : full));
const ROUNDS = setting('BENCH_ROUNDS', 61, 9);
const BATCH_MS = setting('BENCH_BATCH_MS', 5, 2);
const LOAD_RUNS = setting('BENCH_LOAD_RUNS', 21, 5);
const MEMORY_CALLS = setting('BENCH_MEMORY_CALLS', 1_000_000, 100_000);
const CONNECT_ROUNDS = setting('BENCH_CONNECT_ROUNDS', 31, 5);
const CONNECT_CYCLES = setting('BENCH_CONNECT_CYCLES', 1000, 400);

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
  const result = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', env: cleanEnv(), ...options });
  if (result.status !== 0) throw new Error(`node ${args.join(' ')} failed:\n${result.stderr}`);
  return result.stdout;
}

// Each subject is loaded by package name from an application directory
// (made below), so each pays the same resolution through node_modules and an
// exports map that a user's require pays.
const LOAD_SUBJECTS = [
  { name: 'tcp-keepalive', spec: 'tcp-keepalive' },
  { name: 'tcp-keepalive/register, no TCP_KEEPALIVE_* variable', spec: 'tcp-keepalive/register' },
  { name: '…/register.js by absolute path, no variable', spec: join(root, 'register.js') },
  { name: 'floor: one empty file + dlopen of the binary', spec: 'load-floor' },
  { name: 'reference: one empty file', spec: 'load-empty' },
  { name: 'net-keepalive', spec: 'net-keepalive' },
  { name: 'sockopt', spec: 'sockopt' },
];

/** A directory with node_modules/ holding each subject, and the reference packages. */
function makeApp() {
  const app = mkdtempSync(join(os.tmpdir(), 'tcp-keepalive-bench-'));
  const modules = join(app, 'node_modules');
  mkdirSync(modules);
  symlinkSync(root, join(modules, 'tcp-keepalive'), 'dir');
  for (const name of ['net-keepalive', 'sockopt']) symlinkSync(join(root, 'node_modules', name), join(modules, name), 'dir');
  const fixture = (name, text) => {
    mkdirSync(join(modules, name));
    writeFileSync(join(modules, name, 'index.js'), text);
    writeFileSync(join(modules, name, 'index.mjs'), "import './index.js';\n");
    writeFileSync(join(modules, name, 'package.json'), JSON.stringify({ name, main: './index.js', exports: { '.': { import: './index.mjs', require: './index.js' } } }));
  };
  // The package's binary where the package looks first.
  const built = join(root, 'build/Release/tcp_keepalive.node');
  const binary = existsSync(built) ? built : join(root, 'prebuilds', `${process.platform}-${process.arch}`, 'tcp-keepalive.node');
  fixture('load-floor', `// One file and dlopen of the package's binary: the floor a load is held to.\nprocess.dlopen({ exports: {} }, ${JSON.stringify(binary)});\n`);
  fixture('load-empty', '// An empty module.\n');
  fixture('load-warm', '// Another empty module, so a timed load never pays the loader\'s first-use cost.\n');
  return app;
}

/** The environment of a child without anything that would configure the preload. */
function cleanEnv() {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('TCP_KEEPALIVE_') && k !== 'NODE_OPTIONS') env[k] = v;
  return env;
}

// In an application the module loader has already resolved a package and
// node:net is loaded (there are sockets to protect); a bare process pays for
// both.
const SETTINGS = {
  bare: { require: '', import: '' },
  app: {
    require: "require('node:net'); require('load-warm');",
    import: "await import('node:net'); await import('load-warm');",
  },
};

/** Cold load: the first require() or import() of each package in a fresh process, timed inside it. */
function load() {
  const app = makeApp();
  const samples = new Map();
  const add = (key, value) => {
    if (!samples.has(key)) samples.set(key, []);
    samples.get(key).push(value);
  };
  for (let run = 0; run < LOAD_RUNS; run++) {
    for (const subject of shuffle([...LOAD_SUBJECTS])) {
      for (const [setting, before] of Object.entries(SETTINGS)) {
        const req = JSON.stringify(subject.spec);
        const imp = req;
        const start = 'const c = process.cpuUsage(); const t = process.hrtime.bigint();';
        const clock = 'const w = process.hrtime.bigint() - t; const u = process.cpuUsage(c); process.stdout.write(`${w} ${(u.user + u.system) * 1000}`);';
        const parse = (out) => out.split(' ').map((x) => Number(x) / 1e6);
        add(`${subject.name} ${setting} require`, parse(child(['-e', `${before.require} ${start} require(${req}); ${clock}`], { cwd: app })));
        add(`${subject.name} ${setting} import`, parse(child(['--input-type=module', '-e', `${before.import} ${start} await import(${imp}); ${clock}`], { cwd: app })));
      }
    }
  }
  rmSync(app, { recursive: true, force: true });
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

// Whole processes, timed from outside: what a user waits for.
const PROCESSES = [
  { name: 'node -e 0', args: ['-e', '0'] },
  { name: 'tcp-keepalive --help', args: ['bin/tcp-keepalive.js', '--help'] },
  { name: 'tcp-keepalive check --idle 60 --interval 10 --count 3 --user-timeout 90000', args: ['bin/tcp-keepalive.js', 'check', '--idle', '60', '--interval', '10', '--count', '3', '--user-timeout', '90000'] },
  { name: 'tcp-keepalive defaults', args: ['bin/tcp-keepalive.js', 'defaults'] },
  { name: 'node --require (empty file) -e 0', args: ['--require', './bench/fixtures/empty.js', '-e', '0'] },
  { name: 'node --require tcp-keepalive/register -e 0, no variable', args: ['--require', './register.js', '-e', '0'] },
];

function processes() {
  const samples = new Map(PROCESSES.map((p) => [p.name, []]));
  for (let run = 0; run < LOAD_RUNS; run++) {
    for (const p of shuffle([...PROCESSES])) {
      const start = process.hrtime.bigint();
      const r = spawnSync(process.execPath, p.args, { cwd: root, env: cleanEnv(), stdio: 'ignore' });
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      if (r.status !== 0 && !(p.name.includes('check') && r.status === 1)) throw new Error(`${p.name} failed`);
      samples.get(p.name).push(ms);
    }
  }
  const result = {};
  const base = samples.get('node -e 0');
  const lines = ['| process | median ms | × `node -e 0` |', '| --- | ---: | ---: |'];
  for (const p of PROCESSES) {
    const s = samples.get(p.name);
    result[p.name] = { ms: median(s), ratio: median(s.map((x, i) => x / base[i])) };
    lines.push(`| \`${p.name}\` | ${fmt(result[p.name].ms, 1)} | ${fmt(result[p.name].ratio, 2)} |`);
  }
  return { table: lines.join('\n'), result };
}

const CONNECT_ROWS = {
  off: 'off: no package, no keepalive',
  floor: 'floor: raw setsockopt, listener once + 5 per client socket',
  defaults: 'setDefaultKeepalive({ idle, interval, count, userTimeout })',
  preload: 'the preload: TCP_KEEPALIVE_* with TCP_KEEPALIVE_PORTS',
};

async function connect() {
  const { measureConnect, countSyscalls, MODES, SETTINGS } = await import('./connect.mjs');
  const r = await measureConnect({ rounds: CONNECT_ROUNDS, cycles: CONNECT_CYCLES });
  const strace = spawnSync('strace', ['-V'], { stdio: 'ignore' }).status === 0;
  const calls = {};
  for (const mode of MODES) calls[mode] = strace ? await countSyscalls(mode, QUICK ? 200 : 500, QUICK ? 600 : 1500) : null;
  const names = ['setsockopt', 'getsockopt', 'getpeername', 'getsockname'];
  const lines = [
    `| | median µs/cycle | CPU µs/cycle | throughput × off | CPU × off | CPU × floor | system calls/cycle | ${names.join(' | ')} |`,
    `| --- | ---: | ---: | ---: | ---: | ---: | ---: | ${names.map(() => '---:').join(' | ')} |`,
  ];
  for (const mode of MODES) {
    const m = r[mode];
    const c = calls[mode];
    const total = c ? Object.values(c).reduce((a, b) => a + b, 0) : null;
    const cell = (name) => (c ? fmt(c[name] ?? 0, 2) : 'n/a');
    lines.push(`| ${CONNECT_ROWS[mode]} | ${fmt(m.wallNs / 1000, 1)} | ${fmt(m.cpuNs / 1000, 1)} | ${fmt(m.throughput('off'), 3)} | ${fmt(m.cpu('off'), 3)} | ${fmt(m.cpu('floor'), 3)} | ${total === null ? 'n/a' : fmt(total, 1)} | ${names.map(cell).join(' | ')} |`);
  }
  return { table: lines.join('\n'), result: r, calls, settings: SETTINGS };
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
const procs = processes();
console.log(`**Whole processes** (median wall-clock ms of ${LOAD_RUNS} fresh processes each, interleaved, timed from outside; ratios are medians of per-run ratios)\n`);
console.log(`${procs.table}\n`);
const mem = memory();
console.log(`**Memory** (a fresh process each, measured after gc before and after the loop)\n\n${mem.table}\n`);
const conn = await connect();
console.log(`**Connect/close cycles under process-wide defaults** (loopback; a process per row, ${CONNECT_ROUNDS} interleaved rounds of ${fmt(CONNECT_CYCLES)} cycles, 8 in flight; ` +
  `a cycle: connect, accept, the server closes; settings ${JSON.stringify(conn.settings)}; ratios are medians of per-round ratios; system calls per cycle from strace -f -c, the difference of two run lengths)\n`);
console.log(`${conn.table}\n`);

const g = Object.fromEntries(bench.groups.map((group) => [group.key, group]));
const row = (key, pred) => g[key].rows.find(pred);
const of = (key, a, b) => ratio(row(key, a), row(key, b));
const isPkg = (r) => r.subject === 'package';
const napi = (r) => r.floor === 'napi';
const kernel = (r) => r.floor === 'kernel';
const goals = [
  ['setKeepalive (3 fields) × kernel floor', of('set3', isPkg, kernel), null, `(${fmt(of('set3', isPkg, napi), 2)} × N-API floor)`],
  ['setKeepalive (4 fields) × kernel floor', of('set4', isPkg, kernel), null, `(${fmt(of('set4', isPkg, napi), 2)} × N-API floor)`],
  ['getKeepalive × kernel floor', of('get', isPkg, kernel), null, `(${fmt(of('get', isPkg, napi), 2)} × N-API floor)`],
  ['setKeepalive (3 fields) ≤ 1.1 × N-API floor', of('set3', isPkg, napi), (x) => x <= 1.1, ''],
  ['setKeepalive (4 fields) ≤ 1.1 × N-API floor', of('set4', isPkg, napi), (x) => x <= 1.1, ''],
  ['getKeepalive ≤ 1.2 × N-API floor', of('get', isPkg, napi), (x) => x <= 1.2, ''],
  ['setKeepalive (3 fields) × Node core setKeepAlive, alternating values (same 4 system calls)', of('set3', isPkg, (r) => r.subject === 'core'), null, ''],
];
if (coreHasFourArgs) {
  goals.push(['setKeepalive (3 fields) × Node core four-argument setKeepAlive, alternating values', of('set3', isPkg, (r) => r.subject === 'core4'), null, '']);
}
const loadOf = (name) => loads.result[name];
const floorLoad = loadOf('floor: one empty file + dlopen of the binary');
const emptyLoad = loadOf('reference: one empty file');
for (const where of ['app', 'bare']) {
  for (const how of ['require', 'import']) {
    const x = loadOf('tcp-keepalive')[where][how].cpu / floorLoad[where][how].cpu;
    goals.push([`${how} of the package ≤ 1.5 × (empty file + dlopen), ${where === 'app' ? 'in an application' : 'bare process'}, CPU`, x, (v) => v <= 1.5,
      `(${fmt(loadOf('tcp-keepalive')[where][how].wall, 2)} ms vs ${fmt(floorLoad[where][how].wall, 2)} ms wall)`]);
  }
}
for (const [how, name] of [['by name', 'tcp-keepalive/register, no TCP_KEEPALIVE_* variable'], ['by absolute path', '…/register.js by absolute path, no variable']]) {
  for (const where of ['app', 'bare']) {
    const pre = loadOf(name)[where].require;
    const x = pre.cpu - emptyLoad[where].require.cpu;
    goals.push([`preload ${how}, no variable, ≤ 1 ms over an empty file, ${where === 'app' ? 'in an application' : 'bare process'}, CPU ms`, x, (v) => v <= 1, `(wall ${fmt(pre.wall - emptyLoad[where].require.wall, 2)} ms over)`]);
  }
}
const p = procs.result;
goals.push(['`tcp-keepalive --help` × `node -e 0`, wall', p['tcp-keepalive --help'].ratio, (x) => x <= 1.1, `(${fmt(p['tcp-keepalive --help'].ms, 1)} ms vs ${fmt(p['node -e 0'].ms, 1)} ms)`]);
goals.push([`RSS growth < 5 MB after ${fmt(MEMORY_CALLS)} set+get, MB`, mem.result.package.rssGrowth, (x) => x < 5, '']);
const cr = conn.result;
goals.push(['connect/close cycles, setDefaultKeepalive: throughput ≥ 0.95 × off', cr.defaults.throughput('off'), (x) => x >= 0.95, `(floor: ${fmt(cr.floor.throughput('off'), 3)})`]);
goals.push(['connect/close cycles, setDefaultKeepalive: CPU per cycle × off', cr.defaults.cpu('off'), null, `(floor: ${fmt(cr.floor.cpu('off'), 3)})`]);
goals.push(['connect/close cycles, setDefaultKeepalive: CPU per cycle × floor', cr.defaults.cpu('floor'), null, `(preload: ${fmt(cr.preload.cpu('floor'), 3)})`]);
if (conn.calls.defaults && conn.calls.floor) {
  const extra = Object.entries(conn.calls.defaults).reduce((sum, [name, n]) => sum + n - (conn.calls.floor[name] ?? 0), 0);
  goals.push(['connect/close cycles, setDefaultKeepalive: system calls per cycle beyond the floor', extra, (x) => x < 0.5, '']);
}

// For information: the ratio against a peer that makes more system calls
// grows with what a system call costs on the machine.
const info = [
  ['net-keepalive set (3 fields) × setKeepalive', of('set3', (r) => r.subject === 'net-keepalive', isPkg)],
  ['net-keepalive set (4 fields) × setKeepalive', of('set4', (r) => r.subject === 'net-keepalive', isPkg)],
  ['net-keepalive get (3 values) × getKeepalive (5 values)', of('get', (r) => r.subject === 'net-keepalive', isPkg)],
  ['net-keepalive require × tcp-keepalive require, in an application, CPU', loadOf('net-keepalive').app.require.cpu / loadOf('tcp-keepalive').app.require.cpu],
];

console.log('**Goals**\n\n| goal | measured | |\n| --- | ---: | --- |');
for (const [name, value, ok, note] of goals) console.log(`| ${name} | ${fmt(value, 2)} ${note} | ${ok ? verdict(ok(value)) : ''} |`);
console.log(`\n**For information** (a system call costs ${fmt(syscallNs)} ns here)\n\n| ratio | measured |\n| --- | ---: |`);
for (const [name, value] of info) console.log(`| ${name} | ${fmt(value, 2)} |`);

// `tcp-keepalive ls` on a busy host, in its own processes (a holder with
// thousands of sockets, the CLI's peak RSS measured from outside).
console.log('\n**`tcp-keepalive ls` on a busy host**\n');
const lsRun = spawnSync(process.execPath, [join(root, 'bench', 'ls.mjs'), ...(QUICK ? ['--quick'] : [])], { stdio: 'inherit' });
if (lsRun.status !== 0) throw new Error(`bench/ls.mjs exited with ${lsRun.status ?? lsRun.signal}`);
