// Accept throughput: a server whose listening socket carries the package's
// settings (the kernel copies them into each accepted socket) against
// Node's createServer({ keepAlive: true }) (a setsockopt pair per accepted
// socket) and against no keepalive at all. One process, loopback,
// interleaved rounds; prints the median connections per second and ratios.
//
//   node bench/accept.mjs [--rounds 9] [--connections 2000] [--concurrency 64]
import { once } from 'node:events';
import net from 'node:net';
import { parseArgs } from 'node:util';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { setKeepalive } = require('../dist/index.js');
const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '9' },
    connections: { type: 'string', default: '2000' },
    concurrency: { type: 'string', default: '64' },
  },
});
const ROUNDS = Number(args.rounds);
const CONNECTIONS = Number(args.connections);
const CONCURRENCY = Number(args.concurrency);

async function makeServer(kind) {
  const options = kind === 'node keepAlive' ? { keepAlive: true, keepAliveInitialDelay: 60_000 } : {};
  const server = net.createServer(options, (socket) => {
    socket.on('error', () => {});
    socket.destroy();
  });
  if (kind === 'tcp-keepalive server') setKeepalive(server, { idle: 60, interval: 10, count: 3 });
  server.listen(0, '127.0.0.1', 511);
  await once(server, 'listening');
  return { kind, server, port: server.address().port };
}

function connectOnce(port) {
  return new Promise((resolve) => {
    const c = net.connect(port, '127.0.0.1');
    c.on('error', () => resolve());
    c.on('close', () => resolve());
    c.on('connect', () => c.resume());
  });
}

async function round(port) {
  let next = 0;
  const start = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next++ < CONNECTIONS) await connectOnce(port);
    }),
  );
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return CONNECTIONS / seconds;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

const targets = [await makeServer('no keepalive'), await makeServer('node keepAlive'), await makeServer('tcp-keepalive server')];
for (const t of targets) await round(t.port); // warm-up
const results = new Map(targets.map((t) => [t.kind, []]));
for (let r = 0; r < ROUNDS; r++) {
  // Rotate the order each round so drift on a shared machine hits all alike.
  for (let i = 0; i < targets.length; i++) {
    const t = targets[(i + r) % targets.length];
    results.get(t.kind).push(await round(t.port));
  }
}
for (const t of targets) t.server.close();

const base = median(results.get('no keepalive'));
const nodeKa = median(results.get('node keepAlive'));
console.log(`accept throughput, node ${process.version}, ${ROUNDS} rounds x ${CONNECTIONS} connections, concurrency ${CONCURRENCY}`);
console.log('| server | median conn/s | vs no keepalive | vs node keepAlive |');
console.log('| --- | ---: | ---: | ---: |');
for (const t of targets) {
  const m = median(results.get(t.kind));
  console.log(`| ${t.kind} | ${m.toFixed(0)} | ${(m / base).toFixed(3)} | ${(m / nodeKa).toFixed(3)} |`);
}
