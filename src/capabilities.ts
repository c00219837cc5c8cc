// capabilities(): what this platform and this Node can set and read back, so
// callers (and the command line tool) can adapt instead of catching errors.
import { liveSupport } from './live.js';
import { platform, type Field, type Range, type Readback } from './platform.js';

export type { Range, Readback } from './platform.js';

export interface FieldCapability {
  /** setKeepalive accepts this field here. */
  set: boolean;
  /** The accepted values when set is true, otherwise null. */
  range: Range | null;
  /** How getKeepalive learns it: 'kernel', 'recorded' (null until this package sets it) or 'absent' (always 0). */
  read: Readback;
  /** Why it cannot be set, when set is false. */
  reason: string | null;
  /** A listening socket hands it on to the sockets it accepts; otherwise each accepted socket gets it. */
  inherited: boolean;
}

export interface Capabilities {
  /** process.platform. */
  platform: NodeJS.Platform;
  /** process.version. */
  node: string;
  /** Sockets are reached through their descriptor (false on Windows: through Node's own setKeepAlive). */
  descriptors: boolean;
  /** SO_KEEPALIVE, which every platform can set. */
  enabled: { set: true; read: Readback; inherited: boolean };
  idle: FieldCapability;
  interval: FieldCapability;
  count: FieldCapability;
  userTimeout: FieldCapability;
  /**
   * setProcessKeepalive and `tcp-keepalive set` can change another running
   * process's sockets (Linux 5.6+, pidfd_getfd); each call still needs
   * ptrace rights over that process. reason says why not when set is false.
   */
  otherProcesses: { set: boolean; reason: string | null };
}

function field(name: Field): FieldCapability {
  const p = platform();
  const range = p.ranges[name];
  return {
    set: range !== undefined,
    range: range ? { min: range.min, max: range.max } : null,
    read: p.read[name],
    reason: range ? null : (p.reasons[name] ?? `This platform (${p.os}) cannot set ${name}`),
    inherited: p.inherited[name],
  };
}

/** A fresh description each call; changing it changes nothing. */
export function capabilities(): Capabilities {
  const p = platform();
  return {
    platform: p.os,
    node: process.version,
    descriptors: p.descriptors,
    enabled: { set: true, read: p.read.enabled, inherited: p.inherited.enabled },
    idle: field('idle'),
    interval: field('interval'),
    count: field('count'),
    userTimeout: field('userTimeout'),
    otherProcesses: liveSupport(),
  };
}
