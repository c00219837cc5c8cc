// `tcp-keepalive defaults`: this network namespace's keepalive sysctls, what
// they add up to, and how to change them.
import { common, parse } from './args.js';
import { duration, styleFor } from './format.js';
import { detectionSeconds, systemDefaults, type SystemDefaults } from '../defaults.js';

export const help = `Usage: tcp-keepalive defaults [--json]

Shows the keepalive defaults of this network namespace (on Linux,
/proc/sys/net/ipv4/tcp_keepalive_{time,intvl,probes}), the time they take to
detect a silent peer, and the sysctl lines that change them. A socket uses
them for every value it has not set itself, once SO_KEEPALIVE is on.

Options:
  --json      {"idle", "interval", "count", "detectionTime"}, seconds and probes
  -h, --help  this text`;

/** What the example lines suggest: keepaliveFor(90)'s probing values. */
const SUGGESTED = { idle: 60, interval: 10, count: 3 } as const;

const SYSCTL = { idle: 'net.ipv4.tcp_keepalive_time', interval: 'net.ipv4.tcp_keepalive_intvl', count: 'net.ipv4.tcp_keepalive_probes' } as const;

export interface DefaultsReport extends SystemDefaults {
  detectionTime: number;
}

export function report(): DefaultsReport {
  const d = systemDefaults();
  // The kernel's own values, taken as they are (a sysctl may hold what
  // setsockopt refuses, such as tcp_keepalive_probes up to 255): with no
  // user timeout the kernel probes for idle + interval * count.
  return { ...d, detectionTime: detectionSeconds(d.idle, d.interval, d.count, 0) };
}

export function render(r: DefaultsReport, linux: boolean, bold: (t: string) => string): string {
  const source = linux ? 'this network namespace, /proc/sys/net/ipv4' : `documented for ${process.platform}`;
  const lines = [
    `System keepalive defaults (${source}):`,
    `  idle      ${String(r.idle).padStart(6)} s       ${linux ? SYSCTL.idle : ''}`.trimEnd(),
    `  interval  ${String(r.interval).padStart(6)} s       ${linux ? SYSCTL.interval : ''}`.trimEnd(),
    `  count     ${String(r.count).padStart(6)} probes  ${linux ? SYSCTL.count : ''}`.trimEnd(),
    '',
    `A silent peer is detected after ${bold(duration(r.detectionTime))} (${r.detectionTime} s = ${r.idle} + ${r.interval} \u00d7 ${r.count}),`,
    'on sockets with SO_KEEPALIVE on that have not set their own values.',
    'Sockets without SO_KEEPALIVE are never probed.',
  ];
  if (linux) {
    const s = SUGGESTED;
    lines.push(
      '',
      `To change them for this network namespace, e.g. to ${s.idle} / ${s.interval} / ${s.count} (a silent peer found in ${s.idle + s.interval * s.count} s),`,
      'as root (lost at reboot):',
      `  sysctl -w ${SYSCTL.idle}=${s.idle}`,
      `  sysctl -w ${SYSCTL.interval}=${s.interval}`,
      `  sysctl -w ${SYSCTL.count}=${s.count}`,
      'To keep them across reboots, put the same settings in /etc/sysctl.d/60-tcp-keepalive.conf:',
      `  ${SYSCTL.idle} = ${s.idle}`,
      `  ${SYSCTL.interval} = ${s.interval}`,
      `  ${SYSCTL.count} = ${s.count}`,
      'Containers have their own network namespace: set them per container',
      `(docker run --sysctl ${SYSCTL.idle}=${s.idle}, or a Kubernetes pod's securityContext.sysctls).`,
      'These reach only sockets with SO_KEEPALIVE on, and no sysctl sets a user timeout: a connection',
      'with a request in flight needs TCP_USER_TIMEOUT, which only the process can set (the preload,',
      'or setKeepalive with userTimeout).',
    );
  }
  return lines.join('\n');
}

export function run(args: string[]): number {
  const values = parse('defaults', args, common);
  if (values.help) {
    process.stdout.write(`${help}\n`);
    return 0;
  }
  const r = report();
  if (values.json) process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
  else process.stdout.write(`${render(r, process.platform === 'linux', styleFor(process.stdout).bold)}\n`);
  return 0;
}
