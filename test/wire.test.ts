// Keepalive probes as they appear on the wire: tcpdump captures a
// namespace's lo while a connection on { idle: 2, interval: 1, count: 3 }
// talks to a peer that has gone silent. The capture is parsed here, and
// the probes' timing comes from the capture's own clock.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectionTime } from '../src/index.js';
import { ensureCommand, isolated, netnsTitle, skipNetns, type Event } from './netns.js';

interface Packet {
  /** Seconds, from the capture. */
  t: number;
  sport: number;
  dport: number;
  seq: number;
  flags: number;
  payload: number;
}

const FIN = 0x01;
const SYN = 0x02;
const RST = 0x04;
const ACK = 0x10;

/** The TCP/IPv4 packets of a pcap file (Ethernet or Linux cooked link layer). */
function readPcap(file: Buffer): Packet[] {
  const magic = file.readUInt32LE(0);
  const nanos = magic === 0xa1b23c4d;
  if (magic !== 0xa1b2c3d4 && !nanos) throw new Error(`not a little-endian pcap file (magic ${magic.toString(16)})`);
  const linktype = file.readUInt32LE(20);
  const linkHeader = linktype === 1 ? 14 : linktype === 113 ? 16 : -1;
  if (linkHeader < 0) throw new Error(`unexpected link type ${linktype}`);
  const packets: Packet[] = [];
  for (let at = 24; at + 16 <= file.length; ) {
    const t = file.readUInt32LE(at) + file.readUInt32LE(at + 4) / (nanos ? 1e9 : 1e6);
    const caplen = file.readUInt32LE(at + 8);
    const frame = file.subarray(at + 16, at + 16 + caplen);
    at += 16 + caplen;
    if (frame.readUInt16BE(linkHeader - 2) !== 0x0800) continue;
    const ip = frame.subarray(linkHeader);
    if (ip[9] !== 6) continue;
    const ipHeader = (ip[0]! & 0x0f) * 4;
    const tcp = ip.subarray(ipHeader);
    const tcpHeader = (tcp[12]! >> 4) * 4;
    packets.push({
      t,
      sport: tcp.readUInt16BE(0),
      dport: tcp.readUInt16BE(2),
      seq: tcp.readUInt32BE(4),
      flags: tcp[13]!,
      payload: ip.readUInt16BE(2) - ipHeader - tcpHeader,
    });
  }
  return packets;
}

let noTcpdump = '';
let dir = '';
beforeAll(() => {
  if (skipNetns) return;
  noTcpdump = ensureCommand('tcpdump');
  dir = mkdtempSync(path.join(os.tmpdir(), 'tka-wire-'));
}, 300_000);
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(skipNetns)(netnsTitle('keepalive probes on the wire'), () => {
  it('first probe idle after the last packet, then interval apart; reset after count unanswered probes', async (ctx) => {
    // In CI a missing tcpdump fails the test instead.
    ctx.skip(noTcpdump !== '' && !process.env.CI, `no capture: ${noTcpdump}`);
    expect(noTcpdump).toBe('');
    const settings = { idle: 2, interval: 1, count: 3 };
    const pcap = path.join(dir, 'lo.pcap');
    const run = await isolated('wire.mjs', { pcap, settings, untilS: 8 }).result<Event & { error: string; clientPort: number; serverPort: number }>();
    expect(run.error).toBe('ETIMEDOUT');

    const packets = readPcap(readFileSync(pcap)).filter(
      (p) => (p.sport === run.clientPort && p.dport === run.serverPort) || (p.sport === run.serverPort && p.dport === run.clientPort),
    );
    const fromServer = packets.filter((p) => p.sport === run.serverPort);
    const fromClient = packets.filter((p) => p.sport === run.clientPort);
    expect(fromServer.length).toBeGreaterThan(0);
    // The last thing the client heard, by the capture's clock.
    const lastHeard = fromServer.at(-1)!.t;

    // A probe carries no data and the sequence number just before the next
    // byte the client would send: the peer must answer it with an ACK.
    let next = 0;
    for (const p of fromClient) {
      if (p.flags & RST) break;
      const end = (p.seq + p.payload + (p.flags & (SYN | FIN) ? 1 : 0)) >>> 0;
      if (p.payload > 0 || p.flags & (SYN | FIN)) next = end;
    }
    const isProbe = (p: Packet) => p.flags === ACK && p.payload === 0 && p.seq === ((next - 1) >>> 0);
    const after = fromClient.filter((p) => p.t > lastHeard);
    const probes = after.filter(isProbe);
    const resets = after.filter((p) => p.flags & RST);
    const at = (p: Packet | undefined) => (p ? (p.t - lastHeard).toFixed(3) : 'none');
    const shown = `probes at ${probes.map(at).join(', ')} s, reset at ${at(resets[0])} s`;
    expect(probes, shown).toHaveLength(settings.count);
    expect(resets, shown).toHaveLength(1);
    const gaps = [probes[0]!.t - lastHeard, ...probes.slice(1).map((p, i) => p.t - probes[i]!.t), resets[0]!.t - probes.at(-1)!.t];
    // Nothing else from the client once probing began.
    expect(after.filter((p) => p.t >= probes[0]!.t && !isProbe(p) && !(p.flags & RST)), shown).toHaveLength(0);
    expect(resets[0]!.t, shown).toBeGreaterThan(probes.at(-1)!.t);

    // Timer ticks are 4 ms here, and the kernel never fires a timer early.
    const within = (actual: number, expected: number) => actual >= expected - 0.05 && actual <= expected * 1.1;
    expect(within(gaps[0]!, settings.idle), `first probe: ${shown}`).toBe(true);
    for (const gap of gaps.slice(1)) expect(within(gap, settings.interval), `interval: ${shown}`).toBe(true);
    const total = resets[0]!.t - lastHeard;
    const expected = detectionTime(settings);
    expect(total >= expected - 0.3 && total <= expected * 1.1, `reset: ${shown}`).toBe(true);
  });
});
