// Runs a Node script in a private network namespace of its own (unshare -n):
// its loopback is the only interface, and `ip link set lo down` inside it
// makes every peer there vanish without a FIN or RST. The namespace ends with
// the script's last process, so nothing is left to delete.
import { spawn, spawnSync } from 'node:child_process';

/** Why a private network namespace cannot be made here, or undefined if it can. */
export function netnsUnavailable(): string | undefined {
  const probe = spawnSync('unshare', ['-n', '--', 'ip', 'link', 'set', 'lo', 'up'], { encoding: 'utf8' });
  if (probe.error) return `unshare or ip is missing: ${probe.error.message}`;
  if (probe.status !== 0) return `unshare -n fails (it needs root or CAP_SYS_ADMIN): ${probe.stderr.trim()}`;
  return undefined;
}

export interface NsResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node script ...args` inside a new network namespace; killed whole after timeoutMs. */
export function nodeInNetns(script: string, args: string[], timeoutMs: number): Promise<NsResult> {
  return new Promise((resolve) => {
    const child = spawn('unshare', ['-n', '--', process.execPath, script, ...args], {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      stderr += `\n(killed after ${timeoutMs} ms)`;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }, timeoutMs);
    child.on('close', (status) => {
      clearTimeout(timer);
      // Anything the script left running would keep the namespace alive.
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // Nothing left.
      }
      resolve({ status, stdout, stderr });
    });
  });
}
