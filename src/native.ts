// Loads the addon, on first use, and gives it a type, so nothing above
// sees `any`. Loading the package costs no dlopen until a call needs one.
import path = require('node:path');

/** The raw binding in native/binding.cc. Arguments are trusted: validate first. */
export interface Binding {
  /** enabled, idle, interval, count, userTimeout; -1 leaves a field as it is. */
  set(fd: number, enabled: number, idle: number, interval: number, count: number, userTimeout: number): void;
  /** Fills out[0..4] with enabled, idle, interval, count, userTimeout (-1 where the platform has no such option). */
  get(fd: number, out: Int32Array): void;
  /** 0 TCP, 1 Unix domain, 2 anything else. */
  kind(fd: number): number;
  /** Fills out with the TCP_INFO fields listed in InfoField. */
  tcpInfo(fd: number, out: Float64Array): void;
  /** A duplicate, in this process, of descriptor fd of process pid. Close it. */
  pidfdGetfd(pid: number, fd: number): number;
  close(fd: number): void;
  /**
   * Linux: every TCP socket in the states of the bit mask (1 << state), as
   * 64-byte records (native/inspect.h), from one sock_diag dump per family;
   * an errno number when the dump fails.
   */
  tcpDump?(states: number): ArrayBuffer | number;
  /** Linux: uint32 words: links refused, then (fd, inode) per socket of /proc/PID/fd; or an errno number. */
  procSockets?(pid: number): ArrayBuffer | number;
  /**
   * Linux: the keepalive values of process pid's descriptors fds[i], each
   * checked to be socket inodes[i]: six ints per socket in out (status:
   * 0, an errno number, -1 for another file; then enabled, idle, interval,
   * count, userTimeout). Returns 0, or the errno of pidfd_open.
   */
  readSockets?(pid: number, fds: Int32Array, inodes: Float64Array, out: Int32Array): number;
  /** Bit set of Capability. */
  readonly capabilities: number;
  readonly infoFields: number;
}

export const Kind = { Tcp: 0, Unix: 1, Other: 2 } as const;

export const Capability = { Idle: 1, Interval: 2, Count: 4, UserTimeout: 8, TcpInfo: 16, Pidfd: 32 } as const;

/** Indexes into tcpInfo's output, in native/keepalive.h's order. */
export const InfoField = {
  State: 0,
  Probes: 1,
  Backoff: 2,
  Retransmits: 3,
  Unacked: 4,
  TotalRetrans: 5,
  LastDataSent: 6,
  LastDataRecv: 7,
  LastAckRecv: 8,
  Rto: 9,
  Rtt: 10,
  Rttvar: 11,
} as const;

// src/ and dist/ both sit one level below the package root.
const root = path.join(__dirname, '..');

// Where this package's binaries are, in node-gyp-build's order of
// preference: a local build, then the prebuild for this platform. Trying
// them directly spares every process node-gyp-build's start-up; any other
// case (a musl or libc-tagged prebuild, a Debug build) goes through it.
function candidates(): string[] {
  const prebuild = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`, 'tcp-keepalive.node');
  return process.env.PREBUILDS_ONLY ? [prebuild] : [path.join(root, 'build', 'Release', 'tcp_keepalive.node'), prebuild];
}

function load(): Binding {
  const module = { exports: {} as Binding };
  for (const file of candidates()) {
    try {
      process.dlopen(module, file);
      return module.exports;
    } catch {
      // Not there, or not for this system: node-gyp-build looks further.
    }
  }
  // node-gyp-build throws with the list of places it looked when no binary
  // fits; that message is the useful one, so it is not caught here.
  const nodeGypBuild = require('node-gyp-build') as (dir: string) => unknown;
  return nodeGypBuild(root) as Binding;
}

let loaded: Binding | undefined;

/** The raw binding, loaded on the first call. */
export function native(): Binding {
  return (loaded ??= load());
}
