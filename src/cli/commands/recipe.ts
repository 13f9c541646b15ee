// `deployforge recipe check FILE`: load a recipe with its extends and variables, validate it
// against the schema, and list its steps with the file and line each came from. Building from
// recipes (plan, build) is on its way; this command lets authors check recipes now.
import { relative, resolve } from 'node:path';
import type { Command } from 'commander';
import { loadRecipe } from '../../recipe/index.js';
import type { CommandEnv } from '../main.js';
import { collectPair } from '../options.js';

export function registerRecipeCommand(program: Command, env: CommandEnv): void {
  const recipe = program.command('recipe').description('recipes: check');
  recipe
    .command('check')
    .description('validate a recipe (extends, variables, schema) and list its steps with where each came from')
    .argument('<file>')
    .option('--var <name=value>', 'set a recipe variable (repeatable)', collectPair, {})
    .action(async (file: string, opts: { var: Record<string, string> }) => {
      const ctx = env.ctx();
      const loaded = await loadRecipe(resolve(ctx.io.cwd, file), { variables: opts.var });
      const where = (f: string, line: number) => `${relative(ctx.io.cwd, f) || f}:${line}`;
      ctx.result({ file: loaded.file, files: loaded.files, variables: loaded.variables, recipe: loaded.recipe, steps: loaded.steps }, () =>
        [
          `${file}: valid (${loaded.files.length} file${loaded.files.length === 1 ? '' : 's'}, ${loaded.steps.length} steps)`,
          ...loaded.steps.map((s) => `  ${String(s.index + 1).padStart(2)}. ${s.step.type.padEnd(14)} ${where(s.file, s.line)}`),
        ].join('\n'),
      );
    });
}
