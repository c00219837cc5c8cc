// Running the built command as a user would, a process that holds
// connections for it to find, and ss's view of the same sockets.
import { spawn, spawnSync, type ChildProcess, type SpawnSyncOptions } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, cpSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { KernelView } from './helpers.js';

export const root = path.join(__dirname, '..');
const BIN = 'bin/tcp-keepalive.js';
const HOLDER = 'test/fixtures/cli-holder.js';
export const bin = path.join(root, BIN);

export interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function clean(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const copy = { ...env };
  delete copy.NO_COLOR;
  delete copy.FORCE_COLOR;
  return copy;
}

/**
 * `tcp-keepalive ...args`, optionally behind a prefix such as setpriv or
 * nsenter, from this checkout or from `base` (see readableCheckout).
 */
export function cli(args: string[], options: { prefix?: string[]; env?: NodeJS.ProcessEnv; base?: string } = {}): Run {
  const prefix = options.prefix ?? [];
  const base = options.base ?? root;
  const argv = [...prefix, process.execPath, path.join(base, BIN), ...args];
  // The machine-wide list can pass the 1 MB default on a busy machine.
  const spawnOptions: SpawnSyncOptions = { cwd: base, encoding: 'utf8', env: clean({ ...process.env, ...options.env }), timeout: 20_000, maxBuffer: 64 * 1024 * 1024 };
  const r = spawnSync(argv[0]!, argv.slice(1), spawnOptions);
  if (r.error) throw r.error;
  return { status: r.status, stdout: String(r.stdout), stderr: String(r.stderr) };
}

export function json<T = unknown>(args: string[], options?: Parameters<typeof cli>[1]): T {
  const r = cli([...args, '--json'], options);
  if (r.status !== 0 && r.status !== 1) throw new Error(`tcp-keepalive ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

export interface HeldSocket {
  name: 'v4-client' | 'v4-peer' | 'v6-client' | 'v6-peer';
  fd: number;
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
  /** Python's getsockopt on the socket, inside the holder. */
  kernel: KernelView;
}

export interface Holder {
  child: ChildProcess;
  pid: number;
  sockets: HeldSocket[];
  listening: number[];
  socket(name: HeldSocket['name']): HeldSocket;
  stop(): Promise<void>;
}

/**
 * Starts test/fixtures/cli-holder.js (behind `prefix`, e.g. setpriv or
 * unshare; from `base`, see readableCheckout) and waits for its
 * description of the connections it holds.
 */
export async function startHolder(settings: object = {}, prefix: string[] = [], base = root): Promise<Holder> {
  const argv = [...prefix, process.execPath, path.join(base, HOLDER), JSON.stringify(settings)];
  const child = spawn(argv[0]!, argv.slice(1), { cwd: base, stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! });
  const first = (await Promise.race([once(lines, 'line'), once(child, 'exit').then(() => [null])])) as [string | null];
  if (first[0] === null) throw new Error(`holder exited early (${child.exitCode})`);
  const info = JSON.parse(first[0]) as { pid: number; sockets: HeldSocket[]; listening: number[] };
  return {
    child,
    ...info,
    socket(name) {
      const found = info.sockets.find((s) => s.name === name);
      if (!found) throw new Error(`holder has no ${name}`);
      return found;
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill();
      await exited;
    },
  };
}

/** ss's names for states, to the kernel's (which `ls` uses). */
const SS_STATES: Record<string, string> = {
  ESTAB: 'ESTABLISHED',
  'SYN-SENT': 'SYN_SENT',
  'SYN-RECV': 'SYN_RECV',
  'FIN-WAIT-1': 'FIN_WAIT1',
  'FIN-WAIT-2': 'FIN_WAIT2',
  'TIME-WAIT': 'TIME_WAIT',
  UNCONN: 'CLOSE',
  'CLOSE-WAIT': 'CLOSE_WAIT',
  'LAST-ACK': 'LAST_ACK',
  LISTEN: 'LISTEN',
  CLOSING: 'CLOSING',
};

export interface SsSocket {
  state: string;
  local: string;
  remote: string;
  inode: number;
  timer: string | null;
  /** Seconds, as ss prints them (truncated to whole seconds above 10 s). */
  timerSeconds: number | null;
  probes: number | null;
}

/** ss's own timer format (print_ms_timer in iproute2): 1min1sec, 57sec, 8.123ms, 123ms. */
export function ssSeconds(text: string): number {
  const m = /^(?:(\d+)min)?(?:(\d+)(sec|\.))?(?:(\d+)ms)?$/.exec(text);
  if (!m) throw new Error(`unexpected ss time ${text}`);
  const [, min = '0', sec = '0', , ms = '0'] = m;
  return Number(min) * 60 + Number(sec) + Number(ms) / 1000;
}

/** Endpoints the way both tools can be compared: no brackets. */
export function endpoint(address: string, port: number): string {
  return `${address}:${port}`;
}

/** `ss -tnoeH` (with -a if asked), parsed. */
export function ss(options: { all?: boolean; prefix?: string[] } = {}): SsSocket[] {
  const argv = [...(options.prefix ?? []), 'ss', options.all ? '-tnoeHa' : '-tnoeH'];
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ss failed: ${r.stderr}`);
  return r.stdout
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => {
      const f = line.trim().split(/\s+/);
      const strip = (e: string) => e.replace(/^\[(.*)\]:(\d+)$/, '$1:$2');
      const timer = /timer:\((\w+),([^,]*),(\d+)\)/.exec(line);
      return {
        state: SS_STATES[f[0]!] ?? f[0]!,
        local: strip(f[3]!),
        remote: strip(f[4]!),
        inode: Number(/ino:(\d+)/.exec(line)?.[1] ?? 0),
        timer: timer ? timer[1]! : null,
        timerSeconds: timer ? ssSeconds(timer[2]!) : null,
        probes: timer ? Number(timer[3]) : null,
      };
    });
}

export function hasCommand(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`]).status === 0;
}

export const isRoot = process.getuid?.() === 0;

/** The first requirement not met, so that a skipped test can say why. */
export function missing(requirements: Record<string, boolean>): string | undefined {
  return Object.entries(requirements).find(([, met]) => !met)?.[0];
}

/** A test title that carries the reason it is skipped, where it is. */
export function titled(title: string, why: string | undefined): string {
  return why ? `${title} [skipped: ${why}]` : title;
}

/** Whether the user that `prefix` switches to can load the command from `base`. */
function canLoad(base: string, prefix: string[]): boolean {
  const argv = [...prefix, process.execPath, '-e', `require(${JSON.stringify(path.join(base, 'dist/cli/main.js'))})`];
  return spawnSync(argv[0]!, argv.slice(1), { cwd: '/', stdio: 'ignore' }).status === 0;
}

// What the command and the holder need at run time, relative to the root.
function runtimeFiles(): string[] {
  const release = 'build/Release';
  const built = existsSync(path.join(root, release)) ? readdirSync(path.join(root, release)).filter((f) => f.endsWith('.node')) : [];
  return [
    'package.json',
    'bin',
    'dist',
    ...built.map((f) => `${release}/${f}`),
    ...(existsSync(path.join(root, 'prebuilds')) ? ['prebuilds'] : []),
    'node_modules/node-gyp-build',
    HOLDER,
    'test/fixtures/getsockopt.py',
  ];
}

/** chmod a+rX, so that any user can read what was copied whatever the umask. */
function openToAll(file: string): void {
  const mode = statSync(file).mode;
  if ((mode & 0o170000) === 0o040000) {
    chmodSync(file, 0o755);
    for (const name of readdirSync(file)) openToAll(path.join(file, name));
  } else {
    chmodSync(file, mode & 0o111 ? 0o755 : 0o644);
  }
}

/**
 * Where the user that `prefix` switches to (e.g. setpriv to nobody) can run
 * the command and the holder from: this checkout when that user can read
 * it, else a copy of what they need in a world-readable temporary directory
 * (a clone under /root, as in CI, is closed to other users). remove()
 * deletes the copy.
 */
export function readableCheckout(prefix: string[]): { base: string; remove(): void } {
  if (canLoad(root, prefix)) return { base: root, remove() {} };
  const base = mkdtempSync(path.join(os.tmpdir(), 'tcp-keepalive-cli-'));
  for (const file of runtimeFiles()) cpSync(path.join(root, file), path.join(base, file), { recursive: true, dereference: true });
  openToAll(base);
  if (!canLoad(base, prefix)) {
    rmSync(base, { recursive: true, force: true });
    throw new Error(`the command cannot be loaded from ${base} by the user ${prefix.join(' ')} switches to`);
  }
  return { base, remove: () => rmSync(base, { recursive: true, force: true }) };
}
