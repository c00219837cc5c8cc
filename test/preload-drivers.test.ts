// Process-wide defaults never make detection slower than what the
// application or its driver asked for. Under the preload with idle 60 s, a
// driver configured with a shorter keepalive of its own keeps its shorter
// idle, with the preload's interval, count and userTimeout; a longer one,
// or setKeepAlive(false), is ignored. Real drivers against real servers,
// their sockets read from outside the process (pidfd_getfd + getsockopt,
// test/fixtures/peek-fds.py, sharing no code with the package).
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixtures, type KernelView } from './helpers.js';
import { useDatabase } from './setup/databases.js';

const root = path.join(__dirname, '..');
const preload = { idle: 60, interval: 10, count: 3, userTimeout: 90_000 };

describe.skipIf(process.getuid?.() !== 0 && !process.env.CI)('drivers under the preload (TCP_KEEPALIVE_IDLE=60)', () => {
  const postgres = useDatabase('postgres');
  const redis = useDatabase('redis');
  const mariadb = useDatabase('mariadb');

  it("a driver's shorter idle is kept with the preload's interval, count and userTimeout; a longer one and false are ignored", async () => {
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const name of Object.keys(env)) if (name.startsWith('TCP_KEEPALIVE_')) delete env[name];
    Object.assign(env, {
      NODE_OPTIONS: `--require ${path.join(root, 'register.js')}`,
      TCP_KEEPALIVE_IDLE: '60',
      TCP_KEEPALIVE_INTERVAL: '10',
      TCP_KEEPALIVE_COUNT: '3',
      TCP_KEEPALIVE_USER_TIMEOUT: '90000',
    });
    const input = { pgPort: postgres().port, redisPort: redis().port, mysqlPort: mariadb().port };
    // Bun does not read NODE_OPTIONS; it takes the same preload as --require.
    const loader = process.versions.bun !== undefined ? ['--require', path.join(root, 'register.js')] : [];
    const child = spawn(process.execPath, [...loader, path.join(fixtures, 'preload-drivers.mjs'), JSON.stringify(input)], { cwd: root, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    try {
      const info = await new Promise<{ pid: number; fds: Record<string, number> }>((resolve, reject) => {
        let out = '';
        child.stdout.setEncoding('utf8').on('data', (d: string) => {
          out += d;
          if (out.includes('\n')) resolve(JSON.parse(out.slice(0, out.indexOf('\n'))));
        });
        child.on('exit', (code) => reject(new Error(`application exited (${code}): ${stderr}`)));
      });
      const names = Object.keys(info.fds);
      const r = spawnSync('/usr/bin/python3', [path.join(fixtures, 'peek-fds.py'), String(info.pid), ...names.map((n) => String(info.fds[n]))], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      const seen = Object.fromEntries((JSON.parse(r.stdout) as KernelView[]).map((k, i) => [names[i]!, k]));
      console.log(`under the preload: ${JSON.stringify(seen)}`);
      expect(seen).toEqual({
        pgShorter: { enabled: true, ...preload, idle: 10 },
        pgLonger: { enabled: true, ...preload },
        redisShorter: { enabled: true, ...preload, idle: 5 },
        redisLonger: { enabled: true, ...preload },
        mysqlShorter: { enabled: true, ...preload, idle: 7 },
        mysqlLonger: { enabled: true, ...preload },
        turnedOff: { enabled: true, ...preload },
      });
    } finally {
      child.stdin.end();
      await new Promise((resolve) => child.on('close', resolve));
    }
  });
});
