// `tcp-keepalive defaults`, `check`, help and bad input, run as a user runs
// them: the built command in a child process.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type { CheckReport } from '../src/cli/check.js';
import { bin, cli, hasCommand, isRoot, json, missing, titled } from './cli-helpers.js';
import { procDefaults } from './helpers.js';

describe('defaults', () => {
  it('--json matches /proc/sys/net/ipv4 and adds up the detection time', () => {
    const d = procDefaults();
    expect(json(['defaults'])).toEqual({ ...d, detectionTime: d.idle + d.interval * d.count });
  });

  it('prints the values, the detection time and the sysctl lines that change them', () => {
    const d = procDefaults();
    const r = cli(['defaults']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`idle\\s+${d.idle} s\\s+net.ipv4.tcp_keepalive_time`));
    expect(r.stdout).toMatch(new RegExp(`interval\\s+${d.interval} s\\s+net.ipv4.tcp_keepalive_intvl`));
    expect(r.stdout).toMatch(new RegExp(`count\\s+${d.count} probes\\s+net.ipv4.tcp_keepalive_probes`));
    expect(r.stdout).toContain(`(${d.idle + d.interval * d.count} s = ${d.idle} + ${d.interval} \u00d7 ${d.count})`);
    // The lines change something: they suggest values, not repeat the current ones.
    expect(r.stdout).toContain('e.g. to 60 / 10 / 3 (a silent peer found in 90 s)');
    expect(r.stdout).toContain('sysctl -w net.ipv4.tcp_keepalive_time=60');
    expect(r.stdout).toContain('sysctl -w net.ipv4.tcp_keepalive_intvl=10');
    expect(r.stdout).toContain('sysctl -w net.ipv4.tcp_keepalive_probes=3');
    expect(r.stdout).toContain('no sysctl sets a user timeout');
  });

  const noNetns = missing({ 'needs root for a network namespace': isRoot, 'needs unshare (util-linux)': hasCommand('unshare') });
  it.skipIf(noNetns)(titled('reads the namespace it runs in: a fresh one has the stock 2 h 11 min 15 s, then what is written', noNetns), () => {
    const fresh = spawnSync('unshare', ['-n', process.execPath, bin, 'defaults'], { encoding: 'utf8' });
    expect(fresh.status).toBe(0);
    expect(fresh.stdout).toContain('A silent peer is detected after 2 h 11 min 15 s (7875 s = 7200 + 75 \u00d7 9)');
    const changed = spawnSync(
      'unshare',
      [
        '-n',
        'sh',
        '-c',
        'echo 300 > /proc/sys/net/ipv4/tcp_keepalive_time && echo 20 > /proc/sys/net/ipv4/tcp_keepalive_intvl && ' +
          'echo 4 > /proc/sys/net/ipv4/tcp_keepalive_probes && exec "$0" "$@"',
        process.execPath,
        bin,
        'defaults',
        '--json',
      ],
      { encoding: 'utf8' },
    );
    expect(changed.status).toBe(0);
    expect(JSON.parse(changed.stdout)).toEqual({ idle: 300, interval: 20, count: 4, detectionTime: 380 });
  });
});

const check = (...args: string[]) => {
  const r = cli(['check', ...args, '--json']);
  return { status: r.status, report: JSON.parse(r.stdout) as CheckReport, stderr: r.stderr };
};

describe('check', () => {
  // Expected times are Linux's keepalive timer worked by hand: probes start
  // after idle and go every interval; without userTimeout the connection
  // drops after count unanswered ones, with it at the first probe time at or
  // past userTimeout (tcp_keepalive_timer in net/ipv4/tcp_timer.c).
  it('clean values: the detection time, idle and busy, no warnings, exit 0', () => {
    const { status, report } = check('--idle', '60', '--interval', '10', '--count', '3', '--user-timeout', '90000');
    expect(status).toBe(0);
    expect(report).toEqual({ idle: 60, interval: 10, count: 3, userTimeout: 90_000, fromSystemDefaults: [], detectionTime: 90, probes: 3, warnings: [] });
    const text = cli(['check', '--idle', '60', '--interval', '10', '--count', '3', '--user-timeout', '90000']);
    expect(text.status).toBe(0);
    expect(text.stdout).toContain('A silent idle peer is detected after 1 min 30 s (90 s = 60 + 10 \u00d7 3, the first probe at or past userTimeout).');
    expect(text.stdout).toContain('A peer that stops acknowledging data in flight is detected after 1 min 30 s (userTimeout).');
    expect(text.stdout).toContain('No warnings.');
  });

  it('no userTimeout: a connection with a request in flight is not covered, and check says so (exit 1)', () => {
    const { status, report } = check('--idle', '2', '--interval', '1', '--count', '3');
    expect(status).toBe(1);
    expect(report.detectionTime).toBe(5);
    expect(report.warnings).toEqual([expect.objectContaining({ code: 'NO_USER_TIMEOUT', field: 'userTimeout' })]);
    expect(report.warnings[0]!.message).toContain('in flight');
    expect(report.warnings[0]!.message).toContain('add --user-timeout, e.g. 5000');
    expect(cli(['check', '--idle', '2', '--interval', '1', '--count', '3']).stdout).toMatch(/warning: no userTimeout: keepalive does not probe while sent data is unacknowledged/);
  });

  it.each([
    [['--idle', '5000', '--interval', '1000', '--count', '3', '--user-timeout', '8000000'], ['idle is 5000 s (1 h 23 min)', 'interval is 1000 s']],
    [['--idle', '60', '--interval', '10', '--count', '3', '--user-timeout', '90'], ['userTimeout is 90 ms next to idle 60 s']],
  ])('values that look like the wrong unit: %j warns UNITS, exit 1', (args, messages) => {
    const { status, report } = check(...args);
    expect(status).toBe(1);
    const units = report.warnings.filter((w) => w.code === 'UNITS');
    expect(units).toHaveLength(messages.length);
    messages.forEach((m, i) => expect(units[i]!.message).toContain(m));
  });

  it('a userTimeout equal to the probes\u2019 end changes nothing: exit 0', () => {
    const { status, report } = check('--idle', '30', '--interval', '10', '--count', '3', '--user-timeout', '60000');
    expect(status).toBe(0);
    expect(report.detectionTime).toBe(60);
    expect(report.warnings).toEqual([]);
  });

  it('a userTimeout shorter than the probes cuts them short: warning, exit 1', () => {
    const { status, report } = check('--idle', '60', '--interval', '10', '--count', '6', '--user-timeout', '75000');
    expect(status).toBe(1);
    expect(report.detectionTime).toBe(80); // probes at 70 s and 80 s; 80 s >= 75 s
    expect(report.probes).toBe(2);
    expect(report.warnings).toEqual([expect.objectContaining({ code: 'USER_TIMEOUT_OVERRIDES_COUNT', field: 'count' })]);
    expect(report.warnings[0]!.message).toContain('after 2 unanswered probes, at 80 s instead of 120 s');
  });

  it('a userTimeout longer than the probes keeps probing past count: warning, exit 1', () => {
    const { status, report } = check('--idle', '30', '--interval', '5', '--count', '2', '--user-timeout', '60000');
    expect(status).toBe(1);
    expect(report.detectionTime).toBe(60); // 30 + 6 x 5, not 30 + 2 x 5
    expect(report.probes).toBe(6);
    expect(report.warnings.map((w) => w.code)).toEqual(['USER_TIMEOUT_OVERRIDES_COUNT']);
  });

  it('a userTimeout below idle drops at the first unanswered probe', () => {
    const { report } = check('--idle', '61', '--interval', '7', '--count', '4', '--user-timeout', '30000');
    expect(report.detectionTime).toBe(68);
  });

  it.each([
    [239, []],
    [240, [['Azure Load Balancer', 240]]],
    [349, [['Azure Load Balancer', 240]]],
    [350, [['Azure Load Balancer', 240], ['AWS Network Load Balancer', 350]]],
    [600, [['Azure Load Balancer', 240], ['AWS Network Load Balancer', 350], ['Google Cloud VPC firewall', 600]]],
  ] as const)('idle %i s warns about each middlebox whose idle timeout it reaches', (idle, boxes) => {
    const full = (idle + 30) * 1000;
    const { status, report } = check('--idle', String(idle), '--interval', '10', '--count', '3', '--user-timeout', String(full));
    expect(status).toBe(boxes.length ? 1 : 0);
    expect(report.detectionTime).toBe(idle + 30);
    expect(report.warnings).toEqual(boxes.map(([middlebox, timeout]) => expect.objectContaining({ code: 'IDLE_EXCEEDS_MIDDLEBOX', middlebox, timeout })));
  });

  it.each([
    [['--idle', '60000'], /--idle expects a whole number of seconds from 1 to 32767, got 60000/],
    [['--idle', '0'], /--idle expects a whole number of seconds from 1 to 32767, got 0/],
    [['--interval', '32768'], /--interval expects a whole number of seconds from 1 to 32767/],
    [['--count', '128'], /--count expects a whole number of probes from 1 to 127, got 128/],
    [['--user-timeout=-1'], /--user-timeout expects a whole number of milliseconds from 0 to 2147483647, got -1/],
  ])('values the kernel would refuse, %j, are bad input: one line, exit 2, no middlebox warnings', (args, message) => {
    const r = cli(['check', ...args]);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(message);
  });

  it('fields left out come from the system defaults and say so', () => {
    const d = procDefaults();
    const { report } = check('--idle', '60');
    expect(report).toMatchObject({ idle: 60, interval: d.interval, count: d.count, fromSystemDefaults: ['interval', 'count'] });
    expect(report.detectionTime).toBe(60 + d.interval * d.count);
    expect(cli(['check', '--idle', '60']).stdout).toContain(`interval ${d.interval} s (system default)`);
  });

  const noNetns = missing({ 'needs root for a network namespace': isRoot, 'needs unshare (util-linux)': hasCommand('unshare') });
  it.skipIf(noNetns)(titled('a namespace whose sysctls are beyond the package\u2019s ranges: what the kernel really does with them', noNetns), () => {
    const r = spawnSync(
      'unshare',
      ['-n', 'sh', '-c', 'echo 200 > /proc/sys/net/ipv4/tcp_keepalive_probes && exec "$0" "$@"', process.execPath, bin, 'check', '--idle', '60', '--interval', '10', '--user-timeout', '2060000', '--json'],
      { encoding: 'utf8' },
    );
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const report = JSON.parse(r.stdout) as CheckReport;
    // count 200 is the kernel's own value here; it probes 200 times.
    expect(report).toMatchObject({ count: 200, fromSystemDefaults: ['count'], detectionTime: 2060, probes: 200, warnings: [] });
  });
});

describe('help and bad input', () => {
  it.each([[['--help']], [['-h']], [['help']]])('%j prints the tool\u2019s help, exit 0', (args) => {
    const r = cli(args);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^Usage: tcp-keepalive <command>/);
    for (const command of ['ls', 'defaults', 'check']) expect(r.stdout).toContain(`  ${command} `);
  });

  it.each(['ls', 'defaults', 'check'])('%s: --help, -h and help <command> print its own help, exit 0', (command) => {
    const long = cli([command, '--help']);
    expect(long.status).toBe(0);
    expect(long.stdout).toMatch(new RegExp(`^Usage: tcp-keepalive ${command} `));
    expect(cli([command, '-h']).stdout).toBe(long.stdout);
    expect(cli(['help', command]).stdout).toBe(long.stdout);
  });

  it('--version prints the package version', () => {
    const r = cli(['--version']);
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe((require('../package.json') as { version: string }).version);
  });

  it.each([
    [[], /missing command/],
    [['frobnicate'], /unknown command 'frobnicate'/],
    [['--bogus'], /Unknown option '--bogus'/],
    [['help', 'nope'], /unknown command 'nope'/],
    [['ls', '--pid', 'x'], /--pid expects a process id, got 'x'/],
    [['ls', '--pid', '0'], /--pid expects a process id from 1/],
    [['ls', '--pid'], /--pid <value>' argument missing/],
    [['ls', '--pid', '4194305'], /--pid expects a process id/],
    [['ls', '--port', '70000'], /--port expects a port number from 1 to 65535, got 70000/],
    [['ls', '--colour'], /unknown option --colour for ls/],
    [['ls', 'extra'], /unexpected argument 'extra' for ls/],
    [['defaults', '--idle', '5'], /unknown option --idle for defaults/],
    [['check', '--idle', 'abc'], /--idle expects a whole number of seconds, got 'abc'/],
    [['check', '--idle', '1.5'], /--idle expects a whole number of seconds, got '1.5'/],
    [['check', '--count', '3e2'], /--count expects a whole number of probes/],
    [['check', '--user-timeout', ''], /--user-timeout expects a whole number of milliseconds/],
    [['check', '--idle'], /--idle <value>' argument missing/],
    [['check', '--idle', '-5'], /--idle needs a value; write one that starts with '-' as --idle=-1/],
    [['check', '--idel', '5'], /unknown option --idel for check/],
  ])('%j: one line on stderr, nothing on stdout, exit 2', (args, message) => {
    const r = cli(args);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    const lines = r.stderr.split('\n').filter(Boolean);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^tcp-keepalive: /);
    expect(lines[0]).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('a pid with no process is bad input', () => {
    // Pids are handed out upwards and wrap at pid_max; one just below it is almost never in use.
    const pidMax = Number(require('node:fs').readFileSync('/proc/sys/kernel/pid_max', 'utf8'));
    const pid = [pidMax - 1, pidMax - 2, pidMax - 3].find((p) => !require('node:fs').existsSync(`/proc/${p}`));
    const r = cli(['ls', '--pid', String(pid)]);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`tcp-keepalive: no process with pid ${pid}\n`);
  });
});

// `script` runs the command on a pseudo-terminal, where a person would see it.
const noScript = missing({ 'needs script (util-linux) for a pseudo-terminal': hasCommand('script') });
describe.skipIf(noScript)(titled('colour', noScript), () => {
  const onTty = (args: string, env: NodeJS.ProcessEnv = {}) => {
    const command = `${JSON.stringify(process.execPath)} ${JSON.stringify(bin)} ${args}`;
    const r = spawnSync('script', ['-qec', command, '/dev/null'], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '', TERM: 'xterm', ...env } });
    return r.stdout;
  };

  it('on a terminal the output has colour', () => {
    expect(onTty('check --idle 300 --interval 10 --count 3')).toMatch(/\x1b\[33mwarning:\x1b\[39m/);
    expect(onTty('defaults')).toMatch(/after \x1b\[1m[^\x1b]+\x1b\[22m/);
  });

  it('NO_COLOR turns it off, and so does a pipe', () => {
    expect(onTty('check --idle 300 --interval 10 --count 3', { NO_COLOR: '1' })).not.toMatch(/\x1b\[/);
    expect(cli(['check', '--idle', '300', '--interval', '10', '--count', '3']).stdout).not.toMatch(/\x1b\[/);
  });
});
