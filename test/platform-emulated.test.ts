// What a run on another architecture rests on, checked in every run: natively
// here, and under qemu-user with Node for arm64 (scripts/arm64.mjs). The
// binary loaded is the one built for the architecture Node runs on; the
// Node processes the tests start run on it too; and TCP_INFO reports each
// field the kernel's answer holds, and null (never leftover memory) for the
// rest. qemu-user answers TCP_INFO with 4 bytes, so there the short path is
// the one taken.
import { spawnSync } from 'node:child_process';
import { openSync, readFileSync, readSync, closeSync } from 'node:fs';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { classify, summarize } from '../src/cause.js';
import { getKeepaliveState } from '../src/index.js';
import { native } from '../src/native.js';
import { tcpPair, type Pair } from './helpers.js';

const emulated = Boolean(process.env.TKA_EMULATED_NODE);
const ELF_MACHINE: Record<string, number> = { x64: 62, arm64: 183 };

let pair: Pair<net.Socket> | undefined;
afterEach(async () => {
  await pair?.close();
  pair = undefined;
});

/** e_machine of an ELF file: which processor it is for. */
function elfMachine(file: string): number {
  const fd = openSync(file, 'r');
  try {
    const header = Buffer.alloc(20);
    readSync(fd, header, 0, 20, 0);
    expect(header.subarray(0, 4).toString('latin1')).toBe('\x7fELF');
    return header.readUInt16LE(18);
  } finally {
    closeSync(fd);
  }
}

describe.runIf(process.platform === 'linux')('the architecture of this run', () => {
  it('loads the binary built for the architecture Node runs on', () => {
    native();
    const maps = readFileSync('/proc/self/maps', 'utf8');
    const loaded = [...new Set(maps.split('\n').map((l) => l.split(/\s+/)[5]).filter((f) => f?.endsWith('.node')))];
    const ours = loaded.filter((f) => /tcp[-_]keepalive\.node$/.test(f!));
    expect(ours).toHaveLength(1);
    expect(elfMachine(ours[0]!)).toBe(ELF_MACHINE[process.arch]);
    if (process.env.PREBUILDS_ONLY) expect(ours[0]).toContain(`prebuilds/linux-${process.arch}/`);
  });

  it('starts its child processes on the same architecture', () => {
    const r = spawnSync(process.execPath, ['-p', 'process.arch'], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe(process.arch);
  });
});

describe.runIf(process.platform === 'linux')('TCP_INFO as long as the kernel gave it', () => {
  it(emulated ? 'under qemu-user: the first 4 bytes as numbers, every later field null' : 'natively: every field a number', async () => {
    pair = await tcpPair();
    const state = getKeepaliveState(pair.client);
    expect(state.state).toBe('ESTABLISHED');
    // tcpi_state, tcpi_ca_state, tcpi_retransmits, tcpi_probes come first.
    expect(state.unansweredProbes).toBe(0);
    expect(state.retransmits).toBe(0);
    const later = {
      backoff: state.backoff,
      unacked: state.unacked,
      totalRetransmits: state.totalRetransmits,
      lastDataSentMs: state.lastDataSentMs,
      lastDataReceivedMs: state.lastDataReceivedMs,
      lastAckReceivedMs: state.lastAckReceivedMs,
      rtoMs: state.rtoMs,
      rttMs: state.rttMs,
      rttVarMs: state.rttVarMs,
    };
    for (const [name, value] of Object.entries(later)) {
      if (emulated) expect(value, name).toBeNull();
      else expect(typeof value, name).toBe('number');
    }
    if (!emulated) {
      // Values a fresh loopback connection has, not stale memory.
      expect(state.unacked).toBe(0);
      expect(state.rtoMs).toBeGreaterThanOrEqual(200);
      expect(state.rtoMs).toBeLessThanOrEqual(1000);
    }
  });
});

describe('a loss report from a short TCP_INFO', () => {
  // Under qemu-user (or an older kernel) probes and retransmits are known
  // and unacked is not: nothing then says the send queue was empty.
  const report = (unacked: number | null) => {
    const r = {
      cause: classify('ETIMEDOUT', 0, 0, unacked, 3000),
      code: 'ETIMEDOUT',
      settings: { enabled: true, idle: 2, interval: 1, count: 3, userTimeout: 3000 },
      silentMs: null,
      idleMs: null,
      lastDataSentMs: null,
      lastDataReceivedMs: null,
      lastAckReceivedMs: null,
      probes: 0,
      retransmits: 0,
      unacked,
      totalRetransmits: null,
      state: 'CLOSE',
      localAddress: '127.0.0.1',
      localPort: 1,
      remoteAddress: '127.0.0.1',
      remotePort: 2,
    };
    return { cause: r.cause, summary: summarize(r) };
  };

  it('does not call an unknown send queue a peer that stopped reading, nor say nothing was in flight', () => {
    expect(report(null)).toEqual({ cause: 'timeout', summary: 'timed out (ETIMEDOUT) with no keepalive probe unanswered and no retransmission' });
  });

  it('with the send queue known to be empty, a user timeout over that is a peer that stopped reading', () => {
    expect(report(0).cause).toBe('peer-not-reading');
  });
});
