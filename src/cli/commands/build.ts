// `deployforge build RECIPE --source X.iso --out Y.iso`: plan, then apply the recipe and write
// the outputs (see src/build/build.ts). The source is never modified.
import { rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { buildRecipe, withWorkspaceLock } from '../../build/build.js';
import { BuildJournal, type JournalEntry, outputStillThere } from '../../build/journal.js';
import { InputError, UsageError } from '../../errors.js';
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
    .option('--resume', 'continue an interrupted build of the same inputs from its last finished stage')
    .action(
      async (
        recipeFile: string,
        opts: { source?: string; out?: string; outDir?: string; var: Record<string, string>; lock?: string; deterministic?: boolean; resume?: boolean },
      ) => {
        const ctx = env.ctx();
        const { config } = await env.config();
        const loaded = await loadRecipe(resolve(ctx.io.cwd, recipeFile), { variables: opts.var });
        const source = opts.source ? resolve(ctx.io.cwd, opts.source) : loaded.recipe.source?.path;
        if (!source) throw new UsageError('DF_USAGE', 'no source: give --source X.iso (or set source.path in the recipe)');
        // Ctrl-C stops at the next stage boundary and rolls the workspace back; a second one kills.
        const controller = new AbortController();
        const interrupt = () => controller.abort();
        process.once('SIGINT', interrupt);
        const result = await buildRecipe(loaded, {
          source,
          out: opts.out ? resolve(ctx.io.cwd, opts.out) : undefined,
          outDir: opts.outDir ? resolve(ctx.io.cwd, opts.outDir) : undefined,
          workDir: config.workDir,
          lockPath: opts.lock ? resolve(ctx.io.cwd, opts.lock) : undefined,
          deterministic: opts.deterministic,
          resume: opts.resume,
          signal: controller.signal,
          progress: ctx.progress,
        }).finally(() => process.off('SIGINT', interrupt));
        ctx.result(result, () =>
          [
            ...result.editions.map((e) => `edition ${e.index}: ${e.name}: ${e.changes} changes (${e.hivesWritten.length} hives written)`),
            `install.wim: ${result.installLayout === 'patch' ? "a patch over the source's (its resources kept in place; options.compact: true writes only the kept editions')" : 'a new WIM of the kept editions'}`,
            ...result.outputs.map((o) => `wrote ${o.path} (${formatSize(o.size)})`),
            ...(result.answerFile ? [`answer file: ${result.answerFile.where === 'media' ? '/' : 'boot.wim:'}${result.answerFile.path} (${result.answerFile.reason})`] : []),
            `lockfile: ${result.lockfile}`,
            ...result.warnings.map((w) => `warning: ${w}`),
          ].join('\n'),
        );
      },
    );

  program
    .command('rollback')
    .description('undo the stages of an interrupted build workspace (see the journal), down to stage N')
    .argument('<workspace>', 'the deployforge-build-… folder an interrupted build left in the work folder')
    .option('--to <n>', 'keep stages 1..N (default: keep every finished stage and drop unfinished work)', (v) => Number.parseInt(v, 10))
    .option('--list', 'list the journaled stages and change nothing')
    .action(async (workspace: string, opts: { to?: number; list?: boolean }) => {
      const ctx = env.ctx();
      const dir = resolve(ctx.io.cwd, workspace);
      const journal = await BuildJournal.open(dir);
      if (!journal) throw new InputError('DF_NO_JOURNAL', `${dir} has no build journal (journal.json): is it a build workspace?`);
      const describe = (e: JournalEntry) => `${e.n}: ${e.stage}${e.stage === 'edition' ? ` ${e.edition}` : e.stage === 'output' ? ` ${e.kind} ${e.path}` : ''}`;
      if (opts.list) {
        ctx.result({ entries: journal.entries }, () => journal.entries.map(describe).join('\n') || '(no finished stages)');
        return;
      }
      if (opts.to !== undefined && !Number.isInteger(opts.to)) throw new UsageError('DF_USAGE', '--to takes a stage number (see --list)');
      // The build's lock: a running build of this workspace makes this wait for nothing and fail.
      const { dropped, removed } = await withWorkspaceLock(dir, async () => {
        const dropped = await journal.rollbackTo(opts.to);
        // Outputs written by the dropped stages are removed when they are still what the build wrote.
        const removed: string[] = [];
        for (const entry of dropped) {
          if (entry.stage === 'output' && (await outputStillThere(entry))) {
            await rm(entry.path, { force: true, recursive: entry.kind === 'folder' });
            removed.push(entry.path);
          }
        }
        return { dropped, removed };
      });
      ctx.result({ kept: journal.entries.length, dropped: dropped.map(describe), removed }, () =>
        [`kept stages 1..${journal.entries.length}`, ...dropped.map((d) => `undid ${describe(d)}`), ...removed.map((r) => `removed ${r}`)].join('\n'),
      );
    });
}
