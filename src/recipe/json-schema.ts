// The recipe JSON Schema (draft 2020-12) for editors, generated from the zod schema of a recipe
// file. `scripts/write-recipe-schema.mjs` writes it to schema/recipe.schema.json and a test keeps
// the checked-in copy equal to what this generates. Every step kind DeployForge ships is in it
// (importing the steps registers them); plugins' kinds appear when registered before generation.
import { z } from 'zod';
import '../steps/index.js';
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
