// The addon loads and works in several worker threads at once.
import { once } from 'node:events';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { expect, it } from 'vitest';
import { kernel } from './helpers.js';

it('works in 4 worker_threads at once', async () => {
  const script = path.join(__dirname, 'fixtures', 'worker.cjs');
  const workers = [0, 1, 2, 3].map((index) => new Worker(script, { workerData: { index } }));
  try {
    const reports = (await Promise.all(workers.map((w) => once(w, 'message')))).map(([m]) => m as {
      fd: number;
      wanted: { idle: number; interval: number; count: number };
      read: unknown;
    });
    expect(new Set(reports.map((r) => r.fd)).size).toBe(4);
    for (const r of reports) {
      // Descriptors belong to the process, so the main thread can read the
      // kernel's view of each worker's socket independently.
      expect(kernel(r.fd)).toMatchObject({ enabled: true, ...r.wanted });
      expect(r.read).toMatchObject({ enabled: true, ...r.wanted });
    }
  } finally {
    for (const w of workers) w.postMessage('close');
    await Promise.all(workers.map((w) => w.terminate()));
  }
});

it('a worker terminated while holding pinned sockets does not take the process down', async () => {
  const script = path.join(__dirname, 'fixtures', 'worker.cjs');
  const worker = new Worker(script, { workerData: { index: 9 } });
  await once(worker, 'message');
  const code = await worker.terminate();
  expect(code).toBe(1);
});
