// The speed rows: each a function that runs n operations on its own socket
// (so one row's pin or cache never touches another's) and returns nothing,
// or, for the C loops, the ns per call it timed itself.
import net from 'node:net';
import {
  fdOf, IPPROTO_TCP, loadAll, SO_KEEPALIVE, SOL_SOCKET, tcpPair,
  TCP_KEEPCNT, TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_USER_TIMEOUT,
} from './common.mjs';

// Every row alternates idle between these two, so no cache anywhere (Node's
// own included) can skip the work; interval and count stay as they are.
const IDLE = [60, 61];
const INTERVAL = 10;
const COUNT = 3;
const USER_TIMEOUT = 100_000; // a coherent set: all 3 probes go out before it (60 + 10 * 3 s)

/** Node 26.4+ takes interval and count as setKeepAlive's third and fourth arguments. */
export const coreHasFourArgs = net.Socket.prototype.setKeepAlive.length >= 4;

export async function makeGroups() {
  const { pkg, binding, floor, netKeepalive: nk, sockopt } = loadAll();
  const pairs = [];
  async function socket() {
    const pair = await tcpPair();
    pairs.push(pair);
    return pair.client;
  }
  const out = new Int32Array(5);
  let sink = 0;

  const set3 = [];
  const set4 = [];
  const get = [];
  const again = [];

  {
    const fd = fdOf(await socket());
    set3.push({ name: 'kernel floor: C loop', floor: 'kernel', run: (n) => floor.loopSet(fd, n, IDLE[0], IDLE[1], INTERVAL, COUNT, -1) });
  }
  {
    const fd = fdOf(await socket());
    set3.push({ name: 'N-API floor: bare N-API call, no validation', floor: 'napi', run(n) { for (let i = 0; i < n; i++) floor.set(fd, 1, IDLE[i & 1], INTERVAL, COUNT, -1); } });
  }
  {
    const fd = fdOf(await socket());
    set3.push({ name: 'raw binding (binding.set, no validation)', run(n) { for (let i = 0; i < n; i++) binding.set(fd, 1, IDLE[i & 1], INTERVAL, COUNT, -1); } });
  }
  {
    const s = await socket();
    set3.push({ name: 'setKeepalive(s, { idle, interval, count })', subject: 'package', run(n) { for (let i = 0; i < n; i++) pkg.setKeepalive(s, { idle: IDLE[i & 1], interval: INTERVAL, count: COUNT }); } });
  }
  {
    const s = await socket();
    set3.push({ name: 'setKeepalive(s, idle, interval, count)', run(n) { for (let i = 0; i < n; i++) pkg.setKeepalive(s, IDLE[i & 1], INTERVAL, COUNT); } });
  }
  {
    const s = await socket();
    set3.push({ name: 'Node core s.setKeepAlive(true, ms): idle only, forces 1 s/10', subject: 'core', run(n) { for (let i = 0; i < n; i++) s.setKeepAlive(true, IDLE[i & 1] * 1000); } });
  }
  if (coreHasFourArgs) {
    const s = await socket();
    set3.push({ name: 'Node core s.setKeepAlive(true, ms, ms, count)', subject: 'core4', run(n) { for (let i = 0; i < n; i++) s.setKeepAlive(true, IDLE[i & 1] * 1000, INTERVAL * 1000, COUNT); } });
  }
  {
    const s = await socket();
    set3.push({
      name: 'net-keepalive: core setKeepAlive + interval + probes',
      subject: 'net-keepalive',
      run(n) {
        for (let i = 0; i < n; i++) {
          s.setKeepAlive(true, IDLE[i & 1] * 1000);
          nk.setKeepAliveInterval(s, INTERVAL * 1000);
          nk.setKeepAliveProbes(s, COUNT);
        }
      },
    });
  }
  {
    const s = await socket();
    set3.push({
      name: 'sockopt: 4 setsockopt calls',
      subject: 'sockopt',
      run(n) {
        for (let i = 0; i < n; i++) {
          sockopt.setsockopt(s, IPPROTO_TCP, TCP_KEEPIDLE, IDLE[i & 1]);
          sockopt.setsockopt(s, IPPROTO_TCP, TCP_KEEPINTVL, INTERVAL);
          sockopt.setsockopt(s, IPPROTO_TCP, TCP_KEEPCNT, COUNT);
          sockopt.setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, 1);
        }
      },
    });
  }

  {
    const fd = fdOf(await socket());
    set4.push({ name: 'kernel floor: C loop', floor: 'kernel', run: (n) => floor.loopSet(fd, n, IDLE[0], IDLE[1], INTERVAL, COUNT, USER_TIMEOUT) });
  }
  {
    const fd = fdOf(await socket());
    set4.push({ name: 'N-API floor: bare N-API call, no validation', floor: 'napi', run(n) { for (let i = 0; i < n; i++) floor.set(fd, 1, IDLE[i & 1], INTERVAL, COUNT, USER_TIMEOUT); } });
  }
  {
    const fd = fdOf(await socket());
    set4.push({ name: 'raw binding (binding.set, no validation)', run(n) { for (let i = 0; i < n; i++) binding.set(fd, 1, IDLE[i & 1], INTERVAL, COUNT, USER_TIMEOUT); } });
  }
  {
    const s = await socket();
    set4.push({ name: 'setKeepalive(s, { idle, interval, count, userTimeout })', subject: 'package', run(n) { for (let i = 0; i < n; i++) pkg.setKeepalive(s, { idle: IDLE[i & 1], interval: INTERVAL, count: COUNT, userTimeout: USER_TIMEOUT }); } });
  }
  {
    const s = await socket();
    set4.push({
      name: 'net-keepalive: core setKeepAlive + interval + probes + user timeout',
      subject: 'net-keepalive',
      run(n) {
        for (let i = 0; i < n; i++) {
          s.setKeepAlive(true, IDLE[i & 1] * 1000);
          nk.setKeepAliveInterval(s, INTERVAL * 1000);
          nk.setKeepAliveProbes(s, COUNT);
          nk.setUserTimeout(s, USER_TIMEOUT);
        }
      },
    });
  }
  {
    const s = await socket();
    set4.push({
      name: 'sockopt: 5 setsockopt calls',
      subject: 'sockopt',
      run(n) {
        for (let i = 0; i < n; i++) {
          sockopt.setsockopt(s, IPPROTO_TCP, TCP_KEEPIDLE, IDLE[i & 1]);
          sockopt.setsockopt(s, IPPROTO_TCP, TCP_KEEPINTVL, INTERVAL);
          sockopt.setsockopt(s, IPPROTO_TCP, TCP_KEEPCNT, COUNT);
          sockopt.setsockopt(s, IPPROTO_TCP, TCP_USER_TIMEOUT, USER_TIMEOUT);
          sockopt.setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, 1);
        }
      },
    });
  }

  {
    const s = await socket();
    pkg.setKeepalive(s, { idle: 60, interval: INTERVAL, count: COUNT, userTimeout: USER_TIMEOUT });
    const fd = fdOf(s);
    get.push({ name: 'kernel floor: C loop', floor: 'kernel', run: (n) => floor.loopGet(fd, n) });
    get.push({ name: 'N-API floor: bare N-API call, no validation', floor: 'napi', run(n) { for (let i = 0; i < n; i++) floor.get(fd, out); sink += out[1]; } });
    get.push({ name: 'raw binding (binding.get, no validation)', run(n) { for (let i = 0; i < n; i++) binding.get(fd, out); sink += out[1]; } });
    get.push({ name: 'getKeepalive(s): all five values', subject: 'package', run(n) { for (let i = 0; i < n; i++) sink += pkg.getKeepalive(s).idle; } });
  }
  {
    const s = await socket();
    get.push({
      name: 'net-keepalive: interval + probes + user timeout (3 values; it has no idle or enabled getter)',
      subject: 'net-keepalive',
      run(n) {
        for (let i = 0; i < n; i++) sink += nk.getKeepAliveInterval(s) + nk.getKeepAliveProbes(s) + nk.getUserTimeout(s);
      },
    });
  }
  {
    const s = await socket();
    get.push({
      name: 'sockopt: 5 getsockopt calls',
      subject: 'sockopt',
      run(n) {
        for (let i = 0; i < n; i++) {
          sink += sockopt.getsockopt(s, SOL_SOCKET, SO_KEEPALIVE) + sockopt.getsockopt(s, IPPROTO_TCP, TCP_KEEPIDLE) +
            sockopt.getsockopt(s, IPPROTO_TCP, TCP_KEEPINTVL) + sockopt.getsockopt(s, IPPROTO_TCP, TCP_KEEPCNT) +
            sockopt.getsockopt(s, IPPROTO_TCP, TCP_USER_TIMEOUT);
        }
      },
    });
  }

  {
    const s = await socket();
    again.push({ name: 'setKeepalive(s, same idle, interval, count) again', subject: 'package', run(n) { for (let i = 0; i < n; i++) pkg.setKeepalive(s, { idle: 60, interval: INTERVAL, count: COUNT }); } });
  }
  {
    const s = await socket();
    again.push({ name: 'Node core s.setKeepAlive(true, same ms): skipped by its cache', subject: 'core', run(n) { for (let i = 0; i < n; i++) s.setKeepAlive(true, 60_000); } });
  }

  return {
    groups: [
      { key: 'set3', title: 'setKeepalive: idle, interval, count (4 setsockopt)', rows: set3 },
      { key: 'set4', title: 'setKeepalive: idle, interval, count, userTimeout (5 setsockopt)', rows: set4 },
      { key: 'get', title: 'getKeepalive (5 getsockopt)', rows: get },
      { key: 'again', title: 'the same settings applied again (a pooled connection handed out again)', rows: again },
    ],
    close() {
      for (const pair of pairs) pair.close();
      return sink;
    },
  };
}
