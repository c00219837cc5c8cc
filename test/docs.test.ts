// Every code block in the README and docs/ is checked against the package
// as it ships, so no page can drift from the code:
// - TypeScript blocks compile with tsc --strict in a nodenext consumer
//   project that installed the packed tarball (and the drivers' own types);
// - JavaScript blocks compile there too (checkJs), and run, each on its own,
//   as a user would paste them: their calls into the package must not
//   throw (a connection to a host that does not exist here may fail later);
// - shell blocks run where they are the package's own command and safe
//   (ls, defaults, check, help; set only with --dry-run);
// - every relative link between pages, and every #anchor, resolves.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = path.join(__dirname, '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const pages = ['README.md', ...readdirSync(path.join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

interface Block {
  page: string;
  line: number;
  lang: string;
  code: string;
}

function blocks(page: string): Block[] {
  const found: Block[] = [];
  const lines = readFileSync(path.join(root, page), 'utf8').split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```(\w*)\s*$/.exec(lines[i]!);
    if (!open) continue;
    const indent = open[1]!.length;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^\s*```\s*$/.test(lines[i]!); i++) body.push(lines[i]!.slice(indent));
    found.push({ page, line: start + 1, lang: open[2]!, code: body.join('\n') });
  }
  return found;
}

const all = pages.flatMap(blocks);
const named = (b: Block) => `${b.page}:${b.line}`;
const ts = all.filter((b) => b.lang === 'ts' || b.lang === 'typescript');
const js = all.filter((b) => b.lang === 'js' || b.lang === 'javascript');
const sh = all.filter((b) => b.lang === 'sh' || b.lang === 'shell' || b.lang === 'bash');

// The consumer project: the packed tarball installed as a user installs it,
// the drivers' packages (and their types) linked from this checkout.
let project = '';
const LINKED = ['@types/node', '@types/pg', 'pg', 'pg-pool', 'ioredis', 'mysql2', 'undici', '@grpc/grpc-js', 'typescript'];

beforeAll(() => {
  project = mkdtempSync(path.join(os.tmpdir(), 'tcp-keepalive-docs-'));
  const tarball = execFileSync(npm, ['pack', '--silent', '--ignore-scripts', '--pack-destination', project], { cwd: root, encoding: 'utf8' }).trim().split('\n').pop()!;
  writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'docs-consumer', version: '1.0.0', private: true, type: 'module' }));
  execFileSync(npm, ['install', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline', path.join(project, tarball)], { cwd: project, stdio: 'ignore' });
  for (const name of LINKED) {
    const target = path.join(project, 'node_modules', name);
    mkdirSync(path.dirname(target), { recursive: true });
    if (!existsSync(target)) symlinkSync(path.join(root, 'node_modules', name), target, 'dir');
  }
  writeFileSync(
    path.join(project, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'es2022',
        module: 'nodenext',
        moduleResolution: 'nodenext',
        types: ['node'],
        strict: true,
        noEmit: true,
        allowJs: true,
        checkJs: true,
        skipLibCheck: true,
        esModuleInterop: true,
      },
      include: ['snippets/**/*'],
    }),
  );
}, 300_000);

afterAll(() => {
  if (project) rmSync(project, { recursive: true, force: true });
});

/** Each block its own module, named after where it is. */
function snippetFile(b: Block, ext: string): string {
  const file = path.join(project, 'snippets', `${b.page.replace(/[/.]/g, '_')}_${b.line}.${ext}`);
  mkdirSync(path.dirname(file), { recursive: true });
  const isModule = /^\s*(import|export)\s/m.test(b.code);
  writeFileSync(file, isModule ? `${b.code}\n` : `${b.code}\nexport {};\n`);
  return file;
}

describe('code blocks in README.md and docs/', () => {
  it('there are TypeScript, JavaScript and shell blocks to check', () => {
    expect(ts.length).toBeGreaterThan(0);
    expect(js.length).toBeGreaterThan(0);
    expect(sh.length).toBeGreaterThan(0);
  });

  // TypeScript blocks under --strict as they are; JavaScript blocks checked
  // by the same compiler (checkJs, strict), parameters being untyped in JS.
  it.each([
    ['TypeScript', () => ts, 'mts', {}],
    ['JavaScript', () => js, 'mjs', { noImplicitAny: false }],
  ] as const)('every %s block compiles with tsc --strict against the packed package', (_kind, list, ext, relax) => {
    rmSync(path.join(project, 'snippets'), { recursive: true, force: true });
    for (const b of list()) snippetFile(b, ext);
    const config = path.join(project, `tsconfig.${ext}.json`);
    writeFileSync(config, JSON.stringify({ extends: './tsconfig.json', compilerOptions: relax }));
    const tsc = path.join(project, 'node_modules', 'typescript', 'bin', 'tsc');
    const r = spawnSync(process.execPath, [tsc, '-p', config], { cwd: project, encoding: 'utf8' });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  }, 120_000);

  // Preloaded into each run: names resolve to loopback, and what a block
  // does on the network afterwards is not the block's fault here.
  const harness = `
    import dns from 'node:dns';
    const lookup = dns.lookup;
    dns.lookup = (host, options, callback) => lookup.call(dns, /^[\\d.:]+$/.test(host) ? host : '127.0.0.1', options, callback);
    const network = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EADDRINUSE', 'ECONNRESET', 'EACCES', 'ETIMEDOUT']);
    process.on('uncaughtException', (error) => {
      if (network.has(error.code)) process.exit(0);
      console.error(error);
      process.exit(1);
    });
    setTimeout(() => process.exit(0), 1500).unref();
  `;

  it.each(js.map((b) => [named(b), b] as const))('%s runs as pasted', (_name, b) => {
    const file = snippetFile(b, 'mjs');
    const hook = path.join(project, 'harness.mjs');
    writeFileSync(hook, harness);
    const r = spawnSync(process.execPath, ['--import', hook, file], { cwd: project, encoding: 'utf8', timeout: 20_000, env: { ...process.env, NODE_OPTIONS: '' } });
    expect(r.stderr).not.toMatch(/Error|TypeError|RangeError/);
    expect(r.status).toBe(0);
  });
});

describe('shell blocks of the command line', () => {
  const bin = path.join(root, 'bin', 'tcp-keepalive.js');
  // The package's own command, in forms that only read or only show.
  const runnable = (line: string) => /^(sudo )?tcp-keepalive (ls|defaults|check|help|--help|--version|set .*--dry-run)\b/.test(line);
  const commands = sh.flatMap((b) =>
    b.code
      .split('\n')
      .map((l) => l.replace(/^\$ /, '').trim())
      .filter(runnable)
      .map((line) => [`${named(b)}: ${line}`, line] as const),
  );

  it('there are some', () => {
    expect(commands.length).toBeGreaterThan(0);
  });

  it.each(commands)('%s is accepted (not bad input)', (_name, line) => {
    // A pid in an example is some other machine's: this process stands in.
    const args = line
      .replace(/^sudo /, '')
      .replace(/^tcp-keepalive /, '')
      .replace(/--pid \d+/, `--pid ${process.pid}`)
      .split(/\s+/)
      .filter((a) => !/^[|<>]/.test(a));
    const end = args.findIndex((a) => a === '|' || a.startsWith('#'));
    const r = spawnSync(process.execPath, [bin, ...(end >= 0 ? args.slice(0, end) : args)], { encoding: 'utf8', timeout: 30_000 });
    // 0 clean, 1 warnings or nothing matched; 2 would mean the docs show bad input.
    expect(r.status, r.stderr).not.toBe(2);
    expect(r.stderr).not.toMatch(/unknown option|unexpected argument/);
  });
});

// GitHub's anchors: lower case, punctuation dropped, spaces to hyphens.
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

function anchors(page: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  let fenced = false;
  for (const line of readFileSync(path.join(root, page), 'utf8').split('\n')) {
    if (/^\s*```/.test(line)) fenced = !fenced;
    const m = !fenced && /^#{1,6}\s+(.*)$/.exec(line);
    if (!m) continue;
    const base = slug(m[1]!);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

describe('links between pages', () => {
  const links = pages.flatMap((page) => {
    const text = readFileSync(path.join(root, page), 'utf8').replace(/```[\s\S]*?```/g, '');
    return [...text.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => [page, m[1]!] as const);
  });
  const local = links.filter(([, href]) => !/^[a-z]+:/i.test(href));

  it('there are links to check, and none is an absolute URL into this repository', () => {
    expect(local.length).toBeGreaterThan(10);
    for (const [page, href] of links) expect(href, page).not.toMatch(/github\.com\/.*tcp-keepalive\/(blob|tree)/);
  });

  it.each(local.map(([page, href]) => [`${page} -> ${href}`, page, href] as const))('%s resolves', (_name, page, href) => {
    const [file, anchor] = href.split('#') as [string, string | undefined];
    const target = file === '' ? page : path.posix.normalize(path.posix.join(path.posix.dirname(page), file));
    expect(existsSync(path.join(root, target)), `${target} exists`).toBe(true);
    if (anchor !== undefined && target.endsWith('.md')) expect([...anchors(target)], `#${anchor} in ${target}`).toContain(anchor);
  });
});
