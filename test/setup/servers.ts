// vitest globalSetup: a private directory for the database servers of this
// run, and their shutdown at the end. The servers themselves start on first
// use (test/setup/databases.ts), so a run of one unrelated test file starts
// none of them, and each starts once however many files use it.
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { alive, type ServerRecord } from './databases.js';

declare module 'vitest' {
  export interface ProvidedContext {
    serversDir: string;
    serversOwner: number;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const PREFIX = 'tcp-keepalive-servers-';

/** Directories left by runs that were killed: their servers stopped themselves, the data stayed. */
function sweep(): void {
  for (const name of readdirSync(os.tmpdir())) {
    if (!name.startsWith(PREFIX)) continue;
    const dir = path.join(os.tmpdir(), name);
    try {
      if (!alive(Number(readFileSync(path.join(dir, 'owner'), 'utf8')))) rmSync(dir, { recursive: true, force: true });
    } catch {
      // Not ours to judge, or just removed by its own run.
    }
  }
}

export default function setup(project: TestProject): () => Promise<void> {
  sweep();
  const dir = mkdtempSync(path.join(os.tmpdir(), PREFIX));
  writeFileSync(path.join(dir, 'owner'), String(process.pid));
  // PostgreSQL runs as its own user and must reach its data directory.
  chmodSync(dir, 0o755);
  project.provide('serversDir', dir);
  project.provide('serversOwner', process.pid);

  return async () => {
    const records: ServerRecord[] = [];
    for (const name of readdirSync(dir)) {
      if (!name.endsWith('.json')) continue;
      try {
        records.push(JSON.parse(readFileSync(path.join(dir, name), 'utf8')) as ServerRecord);
      } catch {
        // A record half written by a worker that died: nothing to stop.
      }
    }
    const running = records.filter((r) => r.ok && r.pid > 0);
    for (const r of running) {
      try {
        process.kill(r.pid, r.stopSignal);
      } catch {
        // Gone already.
      }
    }
    const deadline = Date.now() + 10_000;
    while (running.some((r) => alive(r.pid)) && Date.now() < deadline) await sleep(50);
    for (const r of running) {
      if (alive(r.pid)) process.kill(r.pid, 'SIGKILL');
    }
    const summary = records
      .filter((r) => r.name !== 'install')
      .map((r) => (r.ok ? `${r.name} ${(r.startMs / 1000).toFixed(1)} s` : `${r.name} unavailable (${r.reason})`))
      .join(', ');
    const install = records.find((r) => r.name === 'install');
    if (summary) {
      const installed = install && install.ok && install.startMs > 0 ? `; installed in ${(install.startMs / 1000).toFixed(1)} s` : '';
      console.log(`database servers: ${summary}${installed}`);
    }
    rmSync(dir, { recursive: true, force: true });
  };
}
