// The recipe JSON Schema (draft 2020-12) for editors, generated from the zod schema of a recipe
// file. `scripts/write-recipe-schema.mjs` writes it to schema/recipe.schema.json and a test keeps
// the checked-in copy equal to what this generates. Built-in step kinds only: plugins' kinds
// appear when they are registered before generation.
import { z } from 'zod';
import { recipeFileSchema } from './schema.js';

export const RECIPE_SCHEMA_DRAFT = 'https://json-schema.org/draft/2020-12/schema';

export function generateRecipeJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(recipeFileSchema(), { target: 'draft-2020-12', io: 'input', unrepresentable: 'throw' }) as Record<string, unknown>;
  const { $schema: _ignored, ...rest } = generated;
  return { $schema: RECIPE_SCHEMA_DRAFT, title: 'DeployForge recipe', ...rest };
}

/** The file's exact text: two-space indented JSON and a final newline. */
export function renderRecipeJsonSchema(): string {
  return `${JSON.stringify(generateRecipeJsonSchema(), null, 2)}\n`;
}
