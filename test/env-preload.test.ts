// The preload (dist/register.js, by absolute path) with a TCP_KEEPALIVE_*
// variable a careless or hostile environment can hold: the process stops
// before the application with EX_CONFIG (78) and one line of printable ASCII
// on stderr, whatever the name or the value holds.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const register = path.join(__dirname, '..', 'dist', 'register.js');

function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('TCP_KEEPALIVE_') && k !== 'NODE_OPTIONS' && k !== 'NODE_DEBUG') env[k] = v;
  }
  return { ...env, ...extra };
}

function start(extra: Record<string, string>): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--require', register, '-e', "console.log('the application ran')"], { env: cleanEnv(extra) });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

const cases: [string, Record<string, string>, string][] = [
  ['a NO-BREAK SPACE before the digits', { TCP_KEEPALIVE_IDLE: '\u00a060' }, 'tcp-keepalive: TCP_KEEPALIVE_IDLE must be a whole number of seconds from 1 to 32767, got "\\xa060"'],
  ['an IDEOGRAPHIC SPACE after them', { TCP_KEEPALIVE_COUNT: '3\u3000' }, 'tcp-keepalive: TCP_KEEPALIVE_COUNT must be a whole number of probes from 1 to 127, got "3\\u3000"'],
  ['a BOM', { TCP_KEEPALIVE_INTERVAL: '\ufeff10' }, 'tcp-keepalive: TCP_KEEPALIVE_INTERVAL must be a whole number of seconds from 1 to 32767, got "\\ufeff10"'],
  [
    'an unknown name with a newline and escape sequences',
    { 'TCP_KEEPALIVE_IDLE\n\u001b[2J\u001b[31mPWN\nFAKE': '60' },
    'tcp-keepalive: "TCP_KEEPALIVE_IDLE\\n\\x1b[2J\\x1b[31mPWN\\nFAKE" is not a variable tcp-keepalive knows',
  ],
];

describe.concurrent('the preload refuses what the environment should not hold', () => {
  it.each(cases)('%s', async (_label, env, line) => {
    const r = await start(env);
    expect(r.status).toBe(78);
    expect(r.stdout).not.toContain('the application ran');
    expect(r.stderr.endsWith('\n')).toBe(true);
    const lines = r.stderr.slice(0, -1).split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^[\x20-\x7e]+$/);
    expect(lines[0]!.startsWith(line), lines[0]).toBe(true);
  });

  it('ASCII blanks around the digits are fine', async () => {
    const r = await start({ TCP_KEEPALIVE_IDLE: ' 60\t' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('the application ran');
  });
});
