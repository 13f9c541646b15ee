// The recipe module's public surface: the schema and its step-kind extension point, the loader,
// and the JSON Schema export. Plans and builds live elsewhere (build/). Importing the steps
// registers every step kind's schema, so a loaded recipe may use any of them.
import '../steps/index.js';

export { generateRecipeJsonSchema, RECIPE_SCHEMA_DRAFT, renderRecipeJsonSchema } from './json-schema.js';
export { type LoadedRecipe, type LoadedStep, type LoadRecipeOptions, loadRecipe, PROFILES_DIR, resolveExtends, type SourceLocation } from './loader.js';
export * from './schema.js';
