// Server inheritance rules per platform drive the server path: what the
// platform says the listener does not hand on is set on each accepted
// socket. Checked on Linux (which copies everything) by changing the
// listener's idle time behind the package's back after it is set: an
// accepted socket then shows the listener's value where the rules say
// "inherited", and the package's where they say "per connection".
import net from 'node:net';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { setKeepalive } from '../src/index.js';
import { Capability, native } from '../src/native.js';

const binding = native();
import { describePlatform, overridePlatform, type Platform } from '../src/platform.js';
import { fdOf, kernel, listen } from './helpers.js';

const ALL = Capability.Idle | Capability.Interval | Capability.Count | Capability.UserTimeout;
let restore: (() => void) | undefined;
afterEach(() => {
  restore?.();
  restore = undefined;
});

async function acceptedUnder(rules: Platform['inherited']): Promise<{ listener: ReturnType<typeof kernel>; accepted: ReturnType<typeof kernel> }> {
  restore = overridePlatform({ inherited: rules });
  const server = net.createServer();
  setKeepalive(server, { idle: 41, interval: 6, count: 3 });
  const port = await listen(server);
  // The listener now holds 41 s; make it 99 s, as if something else set it.
  binding.set(fdOf(server), -1, 99, -1, -1, -1);
  const acceptedP = once(server, 'connection');
  const client = net.connect(port, '127.0.0.1');
  const [socket] = (await acceptedP) as [net.Socket];
  try {
    return { listener: kernel(server), accepted: kernel(socket) };
  } finally {
    client.destroy();
    socket.destroy();
    await new Promise((r) => server.close(r));
  }
}

describe('server inheritance rules per platform', () => {
  it("macOS's rules: idle is set on each accepted socket, the rest comes from the listener", async () => {
    const { listener, accepted } = await acceptedUnder(describePlatform('darwin', { capabilities: ALL, nodeSetsIntervalAndCount: false, node: process.version }).inherited);
    expect(listener).toMatchObject({ enabled: true, idle: 99, interval: 6, count: 3 });
    expect(accepted).toMatchObject({ enabled: true, idle: 41, interval: 6, count: 3 });
  });

  it("Linux's rules: everything comes from the listener, no call per connection", async () => {
    const { accepted } = await acceptedUnder(describePlatform('linux', { capabilities: ALL, nodeSetsIntervalAndCount: false, node: process.version }).inherited);
    expect(accepted).toMatchObject({ enabled: true, idle: 99, interval: 6, count: 3 });
  });

  it("FreeBSD's rules are Linux's for the options it has", async () => {
    const { accepted } = await acceptedUnder(describePlatform('freebsd', { capabilities: ALL & ~Capability.UserTimeout, nodeSetsIntervalAndCount: false, node: process.version }).inherited);
    expect(accepted).toMatchObject({ enabled: true, idle: 99, interval: 6, count: 3 });
  });
});
