// `npm start`: a short demonstration on loopback. Opens a connection, shows
// the kernel's defaults, applies settings, reads them back, shows that a
// later Node setKeepAlive() does not undo them, and shows the socket as
// `ss -tnoe` sees it.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { once } from 'node:events';
import net from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
if (!existsSync(join(root, 'dist/index.mjs'))) {
  spawnSync('npm', ['run', 'build:ts'], { cwd: root, stdio: 'inherit' });
}
const { setKeepalive, getKeepalive, systemDefaults, detectionTime } = await import(join(root, 'dist/index.mjs'));

const fmt = (s) => {
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  return [h && `${h} h`, m && `${m} min`, r && `${r} s`].filter(Boolean).join(' ') || '0 s';
};
const show = (label, v) =>
  console.log(`  ${label.padEnd(34)} enabled=${v.enabled} idle=${v.idle}s interval=${v.interval}s count=${v.count} userTimeout=${v.userTimeout}ms`);

const server = net.createServer((s) => s.on('error', () => {}));
server.listen(0, '127.0.0.1');
await once(server, 'listening');
const { port } = server.address();
const client = net.connect(port, '127.0.0.1');
await once(client, 'connect');

const d = systemDefaults();
console.log(`tcp-keepalive demonstration (node ${process.version}, loopback port ${port})\n`);
console.log(`System defaults: idle ${d.idle}s, interval ${d.interval}s, count ${d.count}: a vanished peer is noticed after ${fmt(detectionTime(d))}.\n`);
show('a new socket, as the kernel has it:', getKeepalive(client));

const wanted = { idle: 60, interval: 10, count: 3, userTimeout: 90_000 };
setKeepalive(client, wanted);
show('after setKeepalive(socket, {...}):', getKeepalive(client));

client.setKeepAlive(true, 5000);
show("after Node's setKeepAlive(true, 5000):", getKeepalive(client));
console.log(`\nA vanished peer is now noticed after ${fmt(detectionTime(wanted))}.\n`);

const ss = spawnSync('ss', ['-tnoe', 'state', 'established', `sport = :${client.localPort}`], { encoding: 'utf8' });
if (ss.error) {
  console.log('`ss` (iproute2) is not installed, so the kernel-side view is skipped.');
} else {
  console.log(`The same socket as \`ss -tnoe\` sees it (note timer:(keepalive,...)):\n${ss.stdout.trimEnd()}`);
}

client.destroy();
server.close();
