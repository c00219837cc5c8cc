// `tcp-keepalive ls` on a busy host: one process holding many loopback
// connections, listed by `ls --json`, `ls --pid <it> --json` and
// `ss -tnoep` in interleaved rounds. Reports median wall time (and its ratio
// to ss), peak RSS, and when the first row reached the reader.
//
//   node bench/ls.mjs            10,000 and 50,000 sockets, 7 rounds
//   node bench/ls.mjs --quick    10,000 sockets, 3 rounds (also BENCH_QUICK=1)
//
// Needs root or a hard descriptor limit above the socket count (the holder
// runs under prlimit), and ss (iproute2).
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(root, 'bin', 'tcp-keepalive.js');

// --- The holder: node bench/ls.mjs --holder SOCKETS --------------------------
async function holder(sockets) {
  const deadline = setTimeout(() => {
    process.stderr.write(`holder: not all ${sockets} sockets connected within 60 s\n`);
    process.exit(1);
  }, 60_000);
  const pairs = Math.ceil(sockets / 2);
  // Several listeners, so no (address, port) pair runs short of ephemeral ports.
  const servers = [];
  const accepted = [];
  for (let i = 0; i < Math.max(1, Math.ceil(pairs / 10000)); i++) {
    const server = net.createServer((s) => accepted.push(s));
    server.listen(0, '127.0.0.1', 4096);
    await once(server, 'listening');
    servers.push(server);
  }
  const clients = [];
  const batch = 256;
  for (let done = 0; done < pairs; done += batch) {
    const wave = [];
    for (let i = done; i < Math.min(pairs, done + batch); i++) {
      const c = net.connect(servers[i % servers.length].address().port, '127.0.0.1');
      // Half the sockets with keepalive on, as a pool of clients would have.
      c.setKeepAlive(true, 60_000);
      clients.push(c);
      wave.push(once(c, 'connect'));
    }
    await Promise.all(wave);
  }
  while (accepted.length < pairs) await new Promise((r) => setTimeout(r, 10));
  clearTimeout(deadline);
  process.stdout.write(`${JSON.stringify({ pid: process.pid, sockets: clients.length + accepted.length })}\n`);
  process.stdin.resume();
  process.stdin.on('end', () => {
    // A reset, not a close, so the run leaves no TIME_WAIT behind.
    for (const s of [...clients, ...accepted]) s.resetAndDestroy();
    for (const s of servers) s.close();
    setTimeout(() => process.exit(0), 200);
  });
}

// --- The benchmark ------------------------------------------------------------
function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

async function startHolder(sockets) {
  const limit = String(sockets + 1024);
  const child = spawn('prlimit', [`--nofile=${limit}:${limit}`, process.execPath, fileURLToPath(import.meta.url), '--holder', String(sockets)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout });
  const [line] = await Promise.race([once(lines, 'line'), once(child, 'exit').then(() => [null])]);
  if (line === null) throw new Error(`the holder of ${sockets} sockets exited (${child.exitCode}): is the descriptor limit raisable (root)?`);
  const info = JSON.parse(line);
  return {
    ...info,
    async stop() {
      const exited = once(child, 'exit');
      child.stdin.end();
      await exited;
    },
  };
}

/**
 * Runs one command with its output read and thrown away, as a pager
 * would: wall time to exit, to the first row, and the peak RSS (GNU time's
 * %M, kB) where /usr/bin/time exists.
 */
async function measure(argv, firstRow) {
  const timeFile = join(tmp, 'rss');
  const useTime = hasTime;
  const full = useTime ? ['/usr/bin/time', '-f', '%M', '-o', timeFile, ...argv] : argv;
  const start = process.hrtime.bigint();
  const child = spawn(full[0], full.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let first = null;
  let seen = '';
  let bytes = 0;
  child.stdout.on('data', (chunk) => {
    bytes += chunk.length;
    if (first === null) {
      seen += chunk.toString('latin1');
      if (firstRow.test(seen)) first = Number(process.hrtime.bigint() - start) / 1e6;
      else if (seen.length > 1 << 16) seen = seen.slice(-4096);
    }
  });
  let stderr = '';
  child.stderr.on('data', (c) => (stderr += c));
  // 'close': the process has exited and its output has been read to the end.
  const [code] = await once(child, 'close');
  const wall = Number(process.hrtime.bigint() - start) / 1e6;
  if (code !== 0) throw new Error(`${argv.join(' ')} exited ${code}: ${stderr}`);
  let rss = null;
  if (useTime) {
    const { readFileSync } = await import('node:fs');
    rss = Number(readFileSync(timeFile, 'utf8').trim().split('\n').pop()) / 1024;
  }
  return { wall, first, rss, bytes };
}

let tmp;
let hasTime;

async function main() {
  const quick = process.env.BENCH_QUICK === '1' || process.argv.includes('--quick');
  const sizes = quick ? [10_000] : [10_000, 50_000];
  const rounds = quick ? 3 : 7;
  if (spawnSync('ss', ['-V']).status !== 0) throw new Error('ss (iproute2) is needed as the peer');
  hasTime = spawnSync('/usr/bin/time', ['-f', '%M', 'true']).status === 0;
  tmp = mkdtempSync(join(os.tmpdir(), 'bench-ls-'));
  writeFileSync(join(tmp, 'empty.js'), '');
  const node = process.execPath;
  console.log(`ls on a busy host: ${rounds} interleaved rounds, medians${quick ? ' (quick)' : ''}; ${os.cpus().length} cores\n`);
  const table = [];
  try {
    for (const size of sizes) {
      // One process where its descriptor limit can be raised that far; else
      // as few as the hard limit allows (a container may forbid raising it).
      const raisable = spawnSync('prlimit', [`--nofile=${size + 1024}:${size + 1024}`, 'true']).status === 0;
      const hard = Number(spawnSync('sh', ['-c', 'ulimit -Hn']).stdout.toString().trim()) || 1024;
      const per = raisable ? size : Math.floor((hard - 1024) / 2) * 2;
      const holders = [];
      for (let left = size; left > 0; left -= per) holders.push(await startHolder(Math.min(per, left)));
      const h = { pid: holders[0].pid, sockets: holders.reduce((n, x) => n + x.sockets, 0), stop: () => Promise.all(holders.map((x) => x.stop())) };
      if (holders.length > 1) console.log(`${size} sockets in ${holders.length} processes (descriptor limit ${hard} cannot be raised); --pid lists the first, ${holders[0].sockets} sockets`);
      const commands = {
        'ss -tnoep': { argv: ['ss', '-tnoep'], row: /\n\S/ },
        'ls --json': { argv: [node, bin, 'ls', '--json'], row: /"family"/ },
        [`ls --pid --json`]: { argv: [node, bin, 'ls', '--pid', String(h.pid), '--json'], row: /"family"/ },
        ls: { argv: [node, bin, 'ls'], row: /\n\S/ },
        'node empty.js': { argv: [node, join(tmp, 'empty.js')], row: /^$/ },
      };
      const runs = Object.fromEntries(Object.keys(commands).map((k) => [k, []]));
      // One warm-up of each, then rounds in which every command runs once.
      for (const c of Object.values(commands)) await measure(c.argv, c.row);
      for (let r = 0; r < rounds; r++) {
        for (const [name, c] of Object.entries(commands)) runs[name].push(await measure(c.argv, c.row));
      }
      await h.stop();
      const ss = median(runs['ss -tnoep'].map((x) => x.wall));
      for (const [name, list] of Object.entries(runs)) {
        const wall = median(list.map((x) => x.wall));
        const firsts = list.map((x) => x.first).filter((x) => x !== null);
        const rss = list.map((x) => x.rss).filter((x) => x !== null);
        table.push({
          sockets: h.sockets,
          command: name,
          'wall ms': wall.toFixed(0),
          '× ss': (wall / ss).toFixed(2),
          'first row ms': name === 'node empty.js' || firsts.length === 0 ? '-' : median(firsts).toFixed(0),
          'first row / wall': name === 'node empty.js' || firsts.length === 0 ? '-' : (median(firsts) / wall).toFixed(2),
          'peak RSS MB': rss.length ? Math.max(...rss).toFixed(1) : '-',
        });
      }
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  const keys = Object.keys(table[0]);
  const widths = keys.map((k) => Math.max(k.length, ...table.map((r) => String(r[k]).length)));
  const line = (cells) => cells.map((c, i) => (i < 2 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ');
  console.log(line(keys));
  for (const r of table) console.log(line(keys.map((k) => r[k])));
  console.log('\nGoals (issue 15): ls ≤ 1.5 × ss wall at 10k and 50k sockets; --pid no slower than the whole list; peak RSS ≤ 80 MB at 50k; rows stream before the scan ends.');
}

if (process.argv[2] === '--holder') {
  await holder(Number(process.argv[3]));
} else {
  await main();
}
