// The JavaScript each call runs, with the system calls taken out: the
// package's binding and Node core's handle method are replaced by no-ops in
// this process only, so what remains is argument handling, validation and
// dispatch. Prints one JSON line: median ns per call for each row.
import { createRequire } from 'node:module';
import { root, tcpPair } from './common.mjs';

const require = createRequire(`${root}/package.json`);
const binding = require('./dist/native.js').native();
const pkg = require('tcp-keepalive');
const ROUNDS = Number(process.argv[2] ?? 15);

binding.set = () => {};
binding.get = () => {};

const pairs = [await tcpPair(), await tcpPair(), await tcpPair(), await tcpPair()];
const [a, b, c, d] = pairs.map((p) => p.client);
d._handle.setKeepAlive = () => 0;
const fourArgs = d.setKeepAlive.length >= 4;
let sink = 0;

const rows = {
  'setKeepalive(s, { idle, interval, count })': (n) => { for (let i = 0; i < n; i++) pkg.setKeepalive(a, { idle: 60 + (i & 1), interval: 10, count: 3 }); },
  'setKeepalive(s, idle, interval, count)': (n) => { for (let i = 0; i < n; i++) pkg.setKeepalive(b, 60 + (i & 1), 10, 3); },
  'setKeepalive(s, { idle, interval, count, userTimeout })': (n) => { for (let i = 0; i < n; i++) pkg.setKeepalive(c, { idle: 60 + (i & 1), interval: 10, count: 3, userTimeout: 100_000 }); },
  'getKeepalive(s)': (n) => { for (let i = 0; i < n; i++) sink += pkg.getKeepalive(a).idle; },
  'Node core s.setKeepAlive(true, ms)': (n) => { for (let i = 0; i < n; i++) d.setKeepAlive(true, (60 + (i & 1)) * 1000); },
};
if (fourArgs) {
  rows['Node core s.setKeepAlive(true, ms, ms, count)'] = (n) => { for (let i = 0; i < n; i++) d.setKeepAlive(true, (60 + (i & 1)) * 1000, 10_000, 3); };
}

const N = 200_000;
const samples = {};
for (const fn of Object.values(rows)) fn(20_000);
for (let r = 0; r < ROUNDS; r++) {
  for (const [name, fn] of Object.entries(rows).sort(() => Math.random() - 0.5)) {
    const start = process.hrtime.bigint();
    fn(N);
    (samples[name] ??= []).push(Number(process.hrtime.bigint() - start) / N);
  }
}
for (const p of pairs) p.close();
const result = {};
for (const [name, s] of Object.entries(samples)) result[name] = s.sort((x, y) => x - y)[s.length >> 1];
process.stdout.write(`${JSON.stringify({ result, sink })}\n`);
