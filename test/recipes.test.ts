// The recipes page (docs/recipes.md) shows the files the driver tests run:
// every example exactly, all of each file's code is in what the page
// shows, and each shown snippet loads on its own.
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { recipeRegion, render } from '../scripts/readme-recipes.mjs';

const root = path.join(__dirname, '..');
const readme = readFileSync(path.join(root, 'docs', 'recipes.md'), 'utf8');
const examples = readdirSync(path.join(root, 'examples')).filter((f) => f.endsWith('.mjs'));
const source = (file: string) => readFileSync(path.join(root, 'examples', file), 'utf8');

describe('docs/recipes.md', () => {
  it('show every example file, each exactly as the file has it', () => {
    const shown = [...readme.matchAll(/<!-- recipe: examples\/(\S+) -->/g)].map((m) => m[1]);
    expect(shown.sort()).toEqual([...examples].sort());
    // Rendering from the files changes nothing: `npm run readme:recipes` after editing one.
    expect(render(readme)).toBe(readme);
  });

  it.each(examples)('%s: outside the shown region there are only comments', (file) => {
    // So the tests, which run the whole file, run nothing the page leaves out.
    const outside = source(file).replace(recipeRegion(source(file)) as string, '');
    for (const line of outside.split('\n')) expect(line.trim() === '' || line.trim().startsWith('//'), line).toBe(true);
  });

  it.each(examples)('%s: its settings come from keepaliveFor, so a connection with data in flight is covered too', (file) => {
    const region = recipeRegion(source(file)) as string;
    expect(region).toMatch(/const keepalive = keepaliveFor\(\d+\);/);
    expect(region).not.toMatch(/idle:\s*\d+,\s*interval:\s*\d+,\s*count:\s*\d+\s*}/);
  });

  it.concurrent.each(examples)('%s: the snippet alone is a module that loads', async (file) => {
    // Evaluated from the package's root: its imports resolve as in a user's project.
    const { stderr } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', recipeRegion(source(file))], { cwd: root });
    expect(stderr).toBe('');
  });
});
