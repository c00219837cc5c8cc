// Types for readme-recipes.mjs, which test/recipes.test.ts imports.
export function recipeRegion(text: string): string;
export function render(readme: string, read?: (file: string) => string): string;
