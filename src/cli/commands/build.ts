// `deployforge build RECIPE --source X.iso --out Y.iso`: plan, then apply the recipe and write
// the outputs (see src/build/build.ts). The source is never modified.
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { buildRecipe } from '../../build/build.js';
import { UsageError } from '../../errors.js';
import { loadRecipe } from '../../recipe/index.js';
import type { CommandEnv } from '../main.js';
import { collectPair } from '../options.js';
import { formatSize } from '../render-inspect.js';

export function registerBuildCommand(program: Command, env: CommandEnv): void {
  program
    .command('build')
    .description('build customized media from a recipe: keep editions, apply steps, write the ISO/WIM')
    .argument('<recipe>')
    .option('--source <iso-or-wim>', 'the stock media (default: the recipe’s source.path)')
    .option('--out <iso>', 'the ISO to write (default: the recipe’s outputs.iso.path)')
    .option('--out-dir <folder>', 'resolve the recipe’s relative output paths from this folder')
    .option('--var <name=value>', 'set a recipe variable (repeatable)', collectPair, {})
    .option('--lock <file>', 'where to write the lockfile (default: <recipe>.lock.json in --out-dir, else beside the recipe)')
    .option('--deterministic', 'fixed timestamps and IDs: the same inputs give the same bytes (also options.deterministic)')
    .action(async (recipeFile: string, opts: { source?: string; out?: string; outDir?: string; var: Record<string, string>; lock?: string; deterministic?: boolean }) => {
      const ctx = env.ctx();
      const { config } = await env.config();
      const loaded = await loadRecipe(resolve(ctx.io.cwd, recipeFile), { variables: opts.var });
      const source = opts.source ? resolve(ctx.io.cwd, opts.source) : loaded.recipe.source?.path;
      if (!source) throw new UsageError('DF_USAGE', 'no source: give --source X.iso (or set source.path in the recipe)');
      const result = await buildRecipe(loaded, {
        source,
        out: opts.out ? resolve(ctx.io.cwd, opts.out) : undefined,
        outDir: opts.outDir ? resolve(ctx.io.cwd, opts.outDir) : undefined,
        workDir: config.workDir,
        lockPath: opts.lock ? resolve(ctx.io.cwd, opts.lock) : undefined,
        deterministic: opts.deterministic,
        progress: ctx.progress,
      });
      ctx.result(result, () =>
        [
          ...result.editions.map((e) => `edition ${e.index}: ${e.name}: ${e.changes} changes (${e.hivesWritten.length} hives written)`),
          ...result.outputs.map((o) => `wrote ${o.path} (${formatSize(o.size)})`),
          ...(result.answerFile ? [`answer file: ${result.answerFile.where === 'media' ? '/' : 'boot.wim:'}${result.answerFile.path} (${result.answerFile.reason})`] : []),
          `lockfile: ${result.lockfile}`,
          ...result.warnings.map((w) => `warning: ${w}`),
        ].join('\n'),
      );
    });
}
