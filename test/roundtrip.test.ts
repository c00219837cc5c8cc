import { afterEach, describe, expect, it } from 'vitest';
import { getKeepalive, setKeepalive } from '../src/index.js';
import { kernel, procDefaults, tcpPair, tlsPair, type Pair } from './helpers.js';
import type net from 'node:net';

let pair: Pair<net.Socket> | undefined;
afterEach(async () => {
  await pair?.close();
  pair = undefined;
});

const full = { idle: 61, interval: 11, count: 4, userTimeout: 45_000 };

describe.each([
  ['TCP client', async () => (pair = await tcpPair()).client],
  ['TCP accepted', async () => (pair = await tcpPair()).accepted],
  ['TLS client', async () => (pair = await tlsPair()).client],
  ['TLS accepted', async () => (pair = await tlsPair()).accepted],
])('%s socket', (_name, make) => {
  it('carries every field into the kernel (object form)', async () => {
    const socket = await make();
    setKeepalive(socket, full);
    expect(kernel(socket)).toEqual({ enabled: true, ...full });
    expect(getKeepalive(socket)).toEqual({ enabled: true, ...full });
  });

  it('takes the positional form', async () => {
    const socket = await make();
    setKeepalive(socket, 30, 5, 7);
    expect(kernel(socket)).toMatchObject({ enabled: true, idle: 30, interval: 5, count: 7 });
  });

  it('leaves omitted fields as they were', async () => {
    const socket = await make();
    setKeepalive(socket, full);
    setKeepalive(socket, { interval: 3 });
    expect(kernel(socket)).toEqual({ enabled: true, ...full, interval: 3 });
    setKeepalive(socket, 90);
    expect(kernel(socket)).toEqual({ enabled: true, ...full, interval: 3, idle: 90 });
  });

  it('turns keepalive off with false and keeps the values', async () => {
    const socket = await make();
    setKeepalive(socket, full);
    setKeepalive(socket, false);
    expect(kernel(socket)).toEqual({ enabled: false, ...full });
    expect(getKeepalive(socket).enabled).toBe(false);
  });

  it('turns SO_KEEPALIVE on and nothing else with {}', async () => {
    const socket = await make();
    const before = kernel(socket);
    expect(before.enabled).toBe(false);
    setKeepalive(socket, {});
    expect(kernel(socket)).toEqual({ ...before, enabled: true });
  });

  it('reports the system defaults on a never-set socket', async () => {
    const socket = await make();
    const d = procDefaults();
    expect(getKeepalive(socket)).toEqual({ enabled: false, idle: d.idle, interval: d.interval, count: d.count, userTimeout: 0 });
    expect(getKeepalive(socket)).toEqual(kernel(socket));
  });

  it('sets the fields but leaves probing off with enabled: false', async () => {
    const socket = await make();
    setKeepalive(socket, { enabled: false, idle: 42 });
    expect(kernel(socket)).toMatchObject({ enabled: false, idle: 42 });
  });

  it('round-trips what getKeepalive returns', async () => {
    const socket = await make();
    setKeepalive(socket, full);
    const read = getKeepalive(socket);
    setKeepalive(socket, { ...read, idle: 120 });
    expect(kernel(socket)).toEqual({ ...read, idle: 120 });
  });
});

describe('ends of a connection are independent', () => {
  it('setting the client leaves the accepted socket alone', async () => {
    pair = await tcpPair();
    setKeepalive(pair.client, full);
    expect(kernel(pair.accepted).enabled).toBe(false);
    expect(kernel(pair.accepted).idle).toBe(procDefaults().idle);
  });
});
