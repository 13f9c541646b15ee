#!/usr/bin/env node
// Writes schema/recipe.schema.json from the zod recipe schema (src/recipe/json-schema.ts).
// Run after changing the schema: node scripts/write-recipe-schema.mjs  (--check: fail if stale).
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

register();
const root = new URL('..', import.meta.url);
const target = fileURLToPath(new URL('schema/recipe.schema.json', root));
await import(new URL('src/steps/index.ts', root).href);
const { renderRecipeJsonSchema } = await import(new URL('src/recipe/json-schema.ts', root).href);
const { writeFileAtomic } = await import(new URL('src/util/fs.ts', root).href);
const text = renderRecipeJsonSchema();

if (process.argv.includes('--check')) {
  const current = await readFile(target, 'utf8').catch(() => '');
  if (current !== text) {
    process.stderr.write(`${target} is stale: run node scripts/write-recipe-schema.mjs\n`);
    process.exit(1);
  }
  process.stdout.write(`${target} is up to date\n`);
} else {
  await writeFileAtomic(target, text);
  process.stdout.write(`wrote ${target}\n`);
}
