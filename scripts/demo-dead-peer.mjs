// `npm run demo:dead-peer`: one peer vanishes without a word, and three
// connections to it find out (or not) side by side: one set with this
// package, one with Node's own setKeepAlive(true, 2000), one on the system
// defaults. Runs in a private network namespace (unshare -n), so it needs
// root; taking that namespace's lo down drops every packet silently, which
// is what a peer that lost power looks like.
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import net from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const INSIDE = '--inside-namespace';

if (!process.argv.includes(INSIDE)) {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) {
    console.error(
      'demo:dead-peer needs root on Linux: it makes a private network namespace (unshare -n)\n' +
        'and takes its loopback down to make a peer vanish. Run it as root, e.g. `sudo npm run demo:dead-peer`.',
    );
    process.exit(1);
  }
  const r = spawnSync('unshare', ['-n', '--', 'sh', '-c', 'ip link set lo up && exec "$@"', 'sh', process.execPath, fileURLToPath(import.meta.url), INSIDE], {
    stdio: 'inherit',
  });
  if (r.error) {
    console.error(`demo:dead-peer could not start unshare: ${r.error.message}`);
    process.exit(1);
  }
  process.exit(r.status ?? 1);
}

if (!existsSync(join(root, 'dist/index.mjs'))) {
  spawnSync('npm', ['run', 'build:ts'], { cwd: root, stdio: 'inherit' });
}
const { setKeepalive, getKeepalive, getKeepaliveState, detectionTime } = await import(join(root, 'dist/index.mjs'));

const fmt = (s) => {
  if (s < 120) return `${s} s`;
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  return [h && `${h} h`, m && `${m} min`, r && `${r} s`].filter(Boolean).join(' ');
};

const server = net.createServer((socket) => {
  socket.on('error', () => {});
  socket.once('data', () => socket.write('pong'));
});
server.listen(0, '127.0.0.1');
await once(server, 'listening');

const lanes = [
  { label: 'tcp-keepalive', how: "setKeepalive(s, { idle: 2, interval: 1, count: 3 })", apply: (s) => setKeepalive(s, { idle: 2, interval: 1, count: 3 }) },
  { label: 'Node setKeepAlive', how: 'socket.setKeepAlive(true, 2000)', apply: (s) => s.setKeepAlive(true, 2000) },
  { label: 'system defaults', how: 'setKeepalive(s, {}) (SO_KEEPALIVE on, nothing else)', apply: (s) => setKeepalive(s, {}) },
];

for (const lane of lanes) {
  const socket = net.connect(server.address().port, '127.0.0.1');
  socket.on('error', (error) => {
    lane.error = error.code;
    lane.failedAt = performance.now();
  });
  await once(socket, 'connect');
  lane.apply(socket);
  lane.kernel = getKeepalive(socket);
  lane.expected = detectionTime(lane.kernel);
  socket.write('ping');
  await once(socket, 'data');
  lane.socket = socket;
}

console.log(`A dead peer, three ways (node ${process.version}). Each connection has just exchanged data;`);
console.log('now the peer vanishes: no FIN, no RST, every packet dropped.\n');
for (const lane of lanes) {
  const k = lane.kernel;
  console.log(`  ${lane.label.padEnd(18)} ${lane.how}`);
  console.log(`  ${''.padEnd(18)} kernel: idle ${k.idle} s, interval ${k.interval} s, ${k.count} probes -> gives up after ${fmt(lane.expected)}`);
}
console.log('');

spawnSync('ip', ['link', 'set', 'lo', 'down']);
// Timed from the last packet each connection received, as the kernel does.
for (const lane of lanes) {
  const s = getKeepaliveState(lane.socket);
  lane.lastHeard = performance.now() - Math.min(s.lastDataReceivedMs, s.lastAckReceivedMs);
}
const start = Math.min(...lanes.map((l) => l.lastHeard));
const stopAfter = Math.max(...lanes.filter((l) => l.expected < 60).map((l) => l.expected)) + 1.5;

const cell = (lane) => {
  if (lane.error) return `${lane.error} after ${((lane.failedAt - lane.lastHeard) / 1000).toFixed(2)} s`;
  const s = getKeepaliveState(lane.socket);
  return `${s.state}, ${s.unansweredProbes} unanswered`;
};
console.log(`  ${'time'.padStart(5)}  ${lanes.map((l) => l.label.padEnd(28)).join('')}`);
for (let t = 1; t <= Math.ceil(stopAfter); t++) {
  await new Promise((r) => setTimeout(r, start + t * 1000 - performance.now()));
  console.log(`  ${`${t} s`.padStart(5)}  ${lanes.map((l) => cell(l).padEnd(28)).join('')}`);
}

console.log('\nResult:');
for (const lane of lanes) {
  const seen = lane.error
    ? `found dead after ${((lane.failedAt - lane.lastHeard) / 1000).toFixed(2)} s (${lane.error})`
    : `still "connected" after ${((performance.now() - lane.lastHeard) / 1000).toFixed(1)} s; the kernel would wait ${fmt(lane.expected)}`;
  console.log(`  ${lane.label.padEnd(18)} ${seen}`);
  lane.socket.destroy();
}
// The server's side of each connection is as stuck as the clients were.
process.exit(0);
