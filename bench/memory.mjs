// One memory measurement in a process of its own: RSS and heap before and
// after `calls` set+get pairs on one loopback socket.
// Usage: node --expose-gc bench/memory.mjs <subject> <calls>
import { IPPROTO_TCP, loadAll, SO_KEEPALIVE, SOL_SOCKET, tcpPair, TCP_KEEPCNT, TCP_KEEPIDLE, TCP_KEEPINTVL } from './common.mjs';

const [subject, callsArg] = process.argv.slice(2);
const calls = Number(callsArg);
const { pkg, binding, netKeepalive: nk, sockopt } = loadAll();
const pair = await tcpPair();
const s = pair.client;
const fd = s._handle.fd;
const out = new Int32Array(5);
let sink = 0;

const subjects = {
  package(i) {
    pkg.setKeepalive(s, { idle: 60 + (i & 1), interval: 10, count: 3 });
    sink += pkg.getKeepalive(s).idle;
  },
  'raw binding'(i) {
    binding.set(fd, 1, 60 + (i & 1), 10, 3, -1);
    binding.get(fd, out);
    sink += out[1];
  },
  'net-keepalive'(i) {
    s.setKeepAlive(true, (60 + (i & 1)) * 1000);
    nk.setKeepAliveInterval(s, 10_000);
    nk.setKeepAliveProbes(s, 3);
    sink += nk.getKeepAliveInterval(s) + nk.getKeepAliveProbes(s);
  },
  sockopt(i) {
    sockopt.setsockopt(s, IPPROTO_TCP, TCP_KEEPIDLE, 60 + (i & 1));
    sockopt.setsockopt(s, IPPROTO_TCP, TCP_KEEPINTVL, 10);
    sockopt.setsockopt(s, IPPROTO_TCP, TCP_KEEPCNT, 3);
    sockopt.setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, 1);
    sink += sockopt.getsockopt(s, IPPROTO_TCP, TCP_KEEPIDLE) + sockopt.getsockopt(s, IPPROTO_TCP, TCP_KEEPINTVL) +
      sockopt.getsockopt(s, IPPROTO_TCP, TCP_KEEPCNT);
  },
};
const step = subjects[subject];
if (!step) throw new Error(`unknown subject ${subject}`);

function settle() {
  for (let i = 0; i < 3; i++) globalThis.gc();
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, external: m.external };
}

for (let i = 0; i < 10_000; i++) step(i);
const before = settle();
const start = process.hrtime.bigint();
for (let i = 0; i < calls; i++) step(i);
const ns = Number(process.hrtime.bigint() - start);
const after = settle();
pair.close();
process.stdout.write(`${JSON.stringify({ subject, calls, before, after, nsPerPair: ns / calls, sink })}\n`);
