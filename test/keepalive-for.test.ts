// keepaliveFor(seconds): one call for a coherent, complete set that finds a
// dead peer within the time asked for, idle or busy, and that the kernel
// takes as it is.
import { describe, expect, it } from 'vitest';
import { detectionTime, getKeepalive, keepaliveFor, setKeepalive } from '../src/index.js';
import { kernel, tcpPair } from './helpers.js';
import { MAX_CHOSEN_IDLE } from '../src/options.js';

describe('keepaliveFor', () => {
  it.each([
    [90, { idle: 60, interval: 10, count: 3, userTimeout: 90_000 }],
    [30, { idle: 21, interval: 3, count: 3, userTimeout: 30_000 }],
    [5, { idle: 2, interval: 1, count: 3, userTimeout: 5000 }],
    [3, { idle: 1, interval: 1, count: 2, userTimeout: 3000 }],
    [2, { idle: 1, interval: 1, count: 1, userTimeout: 2000 }],
    [300, { idle: 120, interval: 60, count: 3, userTimeout: 300_000 }],
  ])('keepaliveFor(%i) is %o', (seconds, expected) => {
    expect(keepaliveFor(seconds)).toEqual(expected);
  });

  it('for every whole second it accepts: idle detection exactly as asked, the user timeout the same, no probe cut short, no idle or interval past 120 s', () => {
    for (let seconds = 2; seconds <= 15_360; seconds++) {
      const s = keepaliveFor(seconds);
      const { userTimeout: _ut, ...probing } = s;
      expect(s.idle + s.interval! * s.count!).toBe(seconds);
      expect(detectionTime(probing)).toBe(seconds);
      // With the user timeout the kernel still sends every probe.
      expect(detectionTime(s)).toBe(seconds);
      expect(s.userTimeout).toBe(seconds * 1000);
      expect(s.idle).toBeGreaterThanOrEqual(1);
      expect(s.idle).toBeLessThan(MAX_CHOSEN_IDLE + s.count!);
      expect(s.interval).toBeLessThanOrEqual(MAX_CHOSEN_IDLE);
      expect(s.count).toBeLessThanOrEqual(127);
    }
  });

  it('the kernel holds exactly what it returns', async () => {
    const pair = await tcpPair();
    try {
      for (const seconds of [2, 7, 90, 600, 15_360]) {
        setKeepalive(pair.client, keepaliveFor(seconds));
        expect(kernel(pair.client)).toEqual({ enabled: true, ...keepaliveFor(seconds) });
        expect(getKeepalive(pair.client)).toEqual({ enabled: true, ...keepaliveFor(seconds) });
      }
    } finally {
      await pair.close();
    }
  });

  it.each([
    [1, 'ERR_OUT_OF_RANGE'],
    [0, 'ERR_OUT_OF_RANGE'],
    [15_361, 'ERR_OUT_OF_RANGE'],
    [1.5, 'ERR_OUT_OF_RANGE'],
    [Number.NaN, 'ERR_OUT_OF_RANGE'],
    ['90', 'ERR_INVALID_ARG_TYPE'],
    [undefined, 'ERR_INVALID_ARG_TYPE'],
  ])('keepaliveFor(%o) is %s', (seconds, code) => {
    expect(() => keepaliveFor(seconds as never)).toThrow(expect.objectContaining({ code }));
  });

  it('names the range in its message', () => {
    expect(() => keepaliveFor(1)).toThrow('Expected an integer between 2 and 15360 (seconds) for seconds but received 1 of type number');
  });
});
