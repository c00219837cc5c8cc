// Private network namespaces: a peer can vanish without a FIN or RST only
// where the test owns the network. Two shapes:
// - isolated(): one Node fixture inside `unshare -n` with lo up (and any
//   per-namespace sysctls set); it takes lo down (or removes an address)
//   itself at the right moment. The namespace ends with its last process;
// - vethPair(): two named namespaces joined by a veth pair, 198.18.0.1 and
//   198.18.0.2, for a client and a server in separate processes.
// Everything made here is deleted when the test is done, or at exit.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import path from 'node:path';

export const fixturesDir = path.join(__dirname, 'fixtures');

function works(cmd: string, args: string[]): boolean {
  const r = spawnSync(cmd, args, { stdio: 'ignore' });
  return !r.error && r.status === 0;
}

function probe(): string {
  if (process.platform !== 'linux') return 'network namespaces exist on Linux only';
  if (process.getuid?.() !== 0) return 'needs root, for unshare -n and ip netns';
  if (!works('ip', ['-V'])) return 'needs ip (iproute2)';
  if (!works('unshare', ['-n', 'true'])) return 'unshare -n is not permitted here';
  return '';
}

/** Why namespace tests cannot run here, or '' when they can. */
export const netnsUnavailable = probe();

/**
 * Whether to skip. Never in CI, which runs as root: there a missing
 * capability must fail the run rather than hide the fault tests.
 */
export const skipNetns = netnsUnavailable !== '' && !process.env.CI;

/** A suite title that says why it was skipped. */
export function netnsTitle(title: string): string {
  return skipNetns ? `${title} (skipped: ${netnsUnavailable})` : title;
}

/**
 * Makes sure a Debian-packaged command exists, installing it with apt-get
 * when it does not (CI runs as root on Debian). Returns '' or why not.
 */
export function ensureCommand(command: string, pkg = command): string {
  if (works('sh', ['-c', `command -v ${command}`])) return '';
  if (process.getuid?.() !== 0) return `${command} is not installed and installing it needs root`;
  const install = () =>
    spawnSync('apt-get', ['install', '-y', '-q', '--no-install-recommends', '-o', 'DPkg::Lock::Timeout=120', pkg], {
      stdio: 'ignore',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  let r = install();
  if (r.error || r.status !== 0) {
    spawnSync('apt-get', ['update', '-q', '-o', 'DPkg::Lock::Timeout=120'], { stdio: 'ignore' });
    r = install();
  }
  if (r.error || r.status !== 0) return `apt-get install ${pkg} failed`;
  return works('sh', ['-c', `command -v ${command}`]) ? '' : `${command} is still missing after apt-get install ${pkg}`;
}

export type Event = Record<string, unknown> & { event?: string };

// Fixtures still running, killed at exit if a test could not.
const running = new Set<Fixture>();
process.on('exit', () => {
  for (const f of running) f.kill();
});

/**
 * A fixture script running in its own process group, so that whatever it
 * started (a database server, tcpdump) goes with it: a process left over
 * would keep an anonymous namespace alive. It reports on stdout, one JSON
 * object per line; its last line is its result.
 */
export class Fixture {
  readonly child: ChildProcess;
  readonly events: Event[] = [];
  private stderr = '';
  private waiters: Array<{ match: (e: Event) => boolean; resolve: (e: Event) => void }> = [];
  private readonly exited: Promise<number | null>;
  private readonly timer: NodeJS.Timeout;
  private closed = false;

  constructor(argv: string[], timeoutMs: number) {
    const [cmd, ...args] = argv;
    this.child = spawn(cmd!, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    running.add(this);
    let partial = '';
    this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop()!;
      for (const line of lines) {
        if (!line.trim()) continue;
        let event: Event;
        try {
          event = JSON.parse(line) as Event;
        } catch {
          this.stderr += `(stdout) ${line}\n`;
          continue;
        }
        this.events.push(event);
        this.waiters = this.waiters.filter((w) => (w.match(event) ? (w.resolve(event), false) : true));
      }
    });
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (this.stderr += chunk));
    this.timer = setTimeout(() => {
      this.stderr += `\n(killed after ${timeoutMs} ms)`;
      this.kill();
    }, timeoutMs);
    // Leftovers of a fixture that ended would hold its output open too.
    this.child.on('exit', () => this.kill());
    this.exited = new Promise((resolve) => {
      this.child.on('error', (error) => {
        this.stderr += String(error);
        running.delete(this);
        resolve(null);
      });
      this.child.on('close', (code) => {
        clearTimeout(this.timer);
        running.delete(this);
        this.closed = true;
        resolve(code);
      });
    });
  }

  /** The first event (already seen or still to come) named `name`. */
  async next(name: string): Promise<Event> {
    const seen = this.events.find((e) => e.event === name);
    if (seen) return seen;
    const waiting = new Promise<Event>((resolve) => this.waiters.push({ match: (e) => e.event === name, resolve }));
    const gone = this.exited.then((code) => {
      throw new Error(`fixture exited (${code}) before '${name}':\n${this.stderr}`);
    });
    return Promise.race([waiting, gone]);
  }

  /** The fixture's last line, once it has exited cleanly. */
  async result<T = Event>(): Promise<T> {
    const code = await this.exited;
    const last = this.events.at(-1);
    if (code !== 0 || last === undefined) throw new Error(`fixture failed (exit ${code}):\n${this.stderr}`);
    return last as T;
  }

  /** Kills the fixture and everything it started. */
  kill(): void {
    // Once closed, the group id may belong to someone else.
    if (this.closed || this.child.pid === undefined) return;
    try {
      process.kill(-this.child.pid, 'SIGKILL');
    } catch {
      // The group is gone already.
    }
  }
}

function nodeArgv(script: string, input: unknown): string[] {
  return [process.execPath, '--no-warnings', path.resolve(fixturesDir, script), JSON.stringify(input ?? {})];
}

export interface IsolatedOptions {
  /** Killed after this long (default 60 s). */
  timeoutMs?: number;
  /**
   * Set inside the namespace before the fixture starts, e.g.
   * `{ 'net.ipv4.tcp_retries2': 2 }`: net.ipv4.* sysctls are per namespace,
   * so the host's stay untouched.
   */
  sysctls?: Record<string, number>;
}

/** Runs a fixture alone in a new network namespace whose lo is up. */
export function isolated(script: string, input?: unknown, options: IsolatedOptions = {}): Fixture {
  const setup = ['ip link set lo up'];
  for (const [name, value] of Object.entries(options.sysctls ?? {})) {
    if (!/^[a-z0-9_]+(\.[a-z0-9_]+)+$/.test(name) || !Number.isInteger(value)) throw new Error(`bad sysctl ${name}=${value}`);
    setup.push(`echo ${value} > /proc/sys/${name.replaceAll('.', '/')}`);
  }
  const shell = `${setup.join(' && ')} && exec "$@"`;
  return new Fixture(['unshare', '-n', '--', 'sh', '-c', shell, 'sh', ...nodeArgv(script, input)], options.timeoutMs ?? 60_000);
}

// Named namespaces still present, deleted at exit if a test could not.
const live = new Set<string>();
process.on('exit', () => {
  for (const ns of live) spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
});

function ip(args: string[]): string {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr.trim()}`);
  return r.stdout;
}

export interface Host {
  /** The namespace's name. */
  ns: string;
  /** Its end of the veth pair. */
  dev: string;
  addr: string;
  mac: string;
  /** Runs `ip` inside the namespace. */
  ip(...args: string[]): string;
  /** Runs a fixture inside the namespace. */
  run(script: string, input?: unknown, timeoutMs?: number): Fixture;
}

export interface VethPair {
  a: Host;
  b: Host;
  /** Kills fixtures started here and deletes both namespaces. */
  cleanup(): void;
}

let pairs = 0;

/**
 * Two namespaces joined by a veth pair: a has 198.18.0.1, b 198.18.0.2
 * (198.18.0.0/15 is reserved for benchmarking, never routed). Neighbours
 * are permanent entries, so a host that loses its address later drops
 * packets silently instead of the other side learning of it through ARP.
 */
export function vethPair(): VethPair {
  const id = `tka-${process.pid}-${++pairs}`;
  const fixtures: Fixture[] = [];
  const make = (side: 'a' | 'b', n: number): Host => {
    const ns = `${id}-${side}`;
    return {
      ns,
      dev: 'veth0',
      addr: `198.18.0.${n}`,
      mac: `02:00:c6:12:00:0${n}`,
      ip: (...args) => ip(['-n', ns, ...args]),
      run: (script, input, timeoutMs = 60_000) => {
        const f = new Fixture(['ip', 'netns', 'exec', ns, ...nodeArgv(script, input)], timeoutMs);
        fixtures.push(f);
        return f;
      },
    };
  };
  const a = make('a', 1);
  const b = make('b', 2);
  const cleanup = () => {
    for (const f of fixtures) f.kill();
    for (const host of [a, b]) {
      spawnSync('ip', ['netns', 'del', host.ns], { stdio: 'ignore' });
      live.delete(host.ns);
    }
  };
  try {
    for (const host of [a, b]) {
      ip(['netns', 'add', host.ns]);
      live.add(host.ns);
      host.ip('link', 'set', 'lo', 'up');
    }
    a.ip('link', 'add', a.dev, 'address', a.mac, 'type', 'veth', 'peer', 'name', b.dev, 'address', b.mac, 'netns', b.ns);
    for (const [host, peer] of [
      [a, b],
      [b, a],
    ] as const) {
      host.ip('addr', 'add', `${host.addr}/30`, 'dev', host.dev);
      host.ip('link', 'set', host.dev, 'up');
      host.ip('neigh', 'replace', peer.addr, 'lladdr', peer.mac, 'dev', host.dev, 'nud', 'permanent');
    }
  } catch (error) {
    cleanup();
    throw error;
  }
  return { a, b, cleanup };
}
