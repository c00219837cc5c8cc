// Copies each recipe in examples/ into docs/recipes.md, where a
// `<!-- recipe: examples/NAME -->` line is followed by a code block: the
// page shows the very code the tests run. `--check` only reports drift
// (test/recipes.test.ts does the same on every `npm test`).
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const readmePath = join(root, 'docs', 'recipes.md');

/** The lines between `// #region recipe` and `// #endregion recipe`. */
export function recipeRegion(text) {
  const m = /^\/\/ #region recipe\n([\s\S]*?)^\/\/ #endregion recipe$/m.exec(text);
  if (!m) throw new Error('no "// #region recipe" ... "// #endregion recipe" in the file');
  return m[1].trimEnd();
}

const BLOCK = /(<!-- recipe: (\S+) -->\n```js\n)([\s\S]*?)^```$/gm;

/** The page with every recipe block replaced by its file's region. */
export function render(readme, read = (file) => readFileSync(join(root, file), 'utf8')) {
  return readme.replace(BLOCK, (_all, head, file) => `${head}${recipeRegion(read(file))}\n\`\`\``);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const readme = readFileSync(readmePath, 'utf8');
  const next = render(readme);
  if (process.argv.includes('--check')) {
    if (next !== readme) {
      console.error('docs/recipes.md differs from examples/: run npm run readme:recipes');
      process.exit(1);
    }
  } else if (next !== readme) {
    writeFileSync(readmePath, next);
    console.log('docs/recipes.md updated from examples/');
  }
}
