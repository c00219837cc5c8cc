// Runs a Node script inside a private network namespace of its own
// (`unshare -n`), with only loopback, brought up. The namespace is anonymous
// and ends with the process, so nothing can be left behind; taking `lo` down
// inside it makes every packet vanish, a peer gone silent.
import { spawn, spawnSync } from 'node:child_process';

/** Why namespaces cannot be used here, or '' when they can. */
export function netnsUnavailable(): string {
  if (process.platform !== 'linux') return 'network namespaces are Linux only';
  const probe = spawnSync('unshare', ['-n', 'ip', 'link', 'set', 'lo', 'up'], { encoding: 'utf8' });
  if (probe.error) return `unshare or ip is missing: ${probe.error.message}`;
  if (probe.status !== 0) return `unshare -n is not permitted here (needs root or CAP_SYS_ADMIN): ${probe.stderr.trim()}`;
  return '';
}

export interface NsResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * `node script ...args` in a fresh network namespace; `sysctls` are set in
 * that namespace first (net.ipv4.* sysctls are per namespace: the host is
 * untouched). Keys are dotted sysctl names, values numbers.
 */
export function runInOwnNetns(script: string, args: string[], options: { sysctls?: Record<string, string | number>; timeoutMs?: number } = {}): Promise<NsResult> {
  const setup = ['ip link set lo up', ...Object.entries(options.sysctls ?? {}).map(([k, v]) => `echo ${Number(v)} > /proc/sys/${k.replaceAll('.', '/')}`)].join(' && ');
  const quoted = [process.execPath, script, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
  const child = spawn('unshare', ['-n', 'sh', '-c', `${setup} && exec ${quoted}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 25_000);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}
