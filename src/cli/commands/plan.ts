// `deployforge plan RECIPE --source X.iso|X.wim`: what a build would change, per edition and
// step, before anything is written. The source is only read.
import { relative, resolve } from 'node:path';
import type { Command } from 'commander';
import { planBuild, STEP_DEFINITIONS } from '../../build/plan.js';
import { UsageError } from '../../errors.js';
import { loadRecipe } from '../../recipe/index.js';
import { changeTime } from '../../steps/define-step.js';
import type { CommandEnv } from '../main.js';
import { collectPair } from '../options.js';
import { formatSize } from '../render-inspect.js';

type AnyChange = Record<string, unknown> & { kind?: string };

/** How the plan names when a change happens. */
const WHEN_LABEL = { offline: 'offline', 'windows-setup': 'setup', 'first-logon': 'first logon' } as const;

/** One line per change, whatever the step kind (registry, files, remove-files…). */
export function describeChange(change: AnyChange): string {
  const view = (v: unknown) => (v && typeof v === 'object' ? `${(v as { type: string }).type} ${(v as { data: string }).data}` : 'absent');
  switch (change.kind) {
    case 'set-value':
      return `set    ${change.hive}\\${change.key} ${change.value || '(default)'}: ${view(change.old)} → ${view(change.new)}`;
    case 'delete-value':
      return `delete ${change.hive}\\${change.key} ${change.value || '(default)'} (was ${view(change.old)})`;
    case 'create-key':
      return `key    ${change.hive}\\${change.key}${change.exists ? ' (exists)' : ''}`;
    case 'delete-key':
      return `delete ${change.hive}\\${change.key}${change.exists ? '' : ' (absent)'}`;
    case 'add':
    case 'replace':
      return `${String(change.kind).padEnd(6)} ${change.path} (${change.size} bytes${change.oldSize !== undefined ? `, was ${change.oldSize}` : ''}) from ${change.source}`;
    case 'mkdir':
      return `mkdir  ${change.path}`;
    default:
      if (typeof change.path === 'string' && 'files' in change) return `remove ${change.path}${change.isDirectory ? '/' : ''} (${change.files} files, ${change.size} bytes)`;
      return JSON.stringify(change, (_k, v) => (v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v));
  }
}

export function registerPlanCommand(program: Command, env: CommandEnv): void {
  program
    .command('plan')
    .description('show what building a recipe would change, per edition and step, and when (offline now, in Windows Setup, at first logon), without writing anything')
    .argument('<recipe>')
    .option('--source <iso-or-wim>', 'the stock media (default: the recipe’s source.path)')
    .option('--var <name=value>', 'set a recipe variable (repeatable)', collectPair, {})
    .action(async (recipeFile: string, opts: { source?: string; var: Record<string, string> }) => {
      const ctx = env.ctx();
      const loaded = await loadRecipe(resolve(ctx.io.cwd, recipeFile), { variables: opts.var });
      const source = opts.source ? resolve(ctx.io.cwd, opts.source) : loaded.recipe.source?.path;
      if (!source) throw new UsageError('DF_USAGE', 'no source: give --source X.iso (or set source.path in the recipe)');
      const plan = await planBuild(loaded, source);
      const where = (file: string, line: number) => `${relative(ctx.io.cwd, file) || file}:${line}`;
      ctx.result(JSON.parse(JSON.stringify(plan, (_k, v) => (v instanceof Uint8Array ? Buffer.from(v).toString('hex') : typeof v === 'bigint' ? v.toString() : v))), () =>
        [
          `plan for ${recipeFile} on ${plan.installImage} (nothing has been written)`,
          ...plan.editions.flatMap((e) => [
            `edition ${e.index}: ${e.name}${e.rename ? ` → ${e.rename}` : ''} (${e.editionId})`,
            ...e.steps.flatMap((s) => [
              `  step ${s.index + 1} ${s.type} (${where(s.file, s.line)}): ${s.plan.changes.length} change${s.plan.changes.length === 1 ? '' : 's'}`,
              ...s.plan.changes.flatMap((c) => {
                const lines = STEP_DEFINITIONS[s.type]?.describe?.(c) ?? [describeChange(c as AnyChange)];
                const tag = `[${WHEN_LABEL[changeTime(c)]}]`.padEnd(13);
                return lines.map((line, i) => `    ${i === 0 ? tag : ' '.repeat(13)} ${line}`);
              }),
              ...s.plan.warnings.map((w) => `    warning: ${w}`),
              ...(s.plan.setupTimeNotes ?? []).map((n) => `    at setup: ${n}`),
            ]),
          ]),
          `expected size: install image ${formatSize(plan.expectedSize.installImage)}${plan.expectedSize.iso !== undefined ? `, ISO ${formatSize(plan.expectedSize.iso)}` : ''} (${plan.expectedSize.note})`,
          ...(plan.expectedSize.isoLayout === 'patch'
            ? [
                `an ISO-only build patches install.wim over the source's (${plan.sourceEditions - plan.editions.length} dropped edition(s) stay as unreferenced data); options.compact: true writes only the kept editions`,
              ]
            : []),
        ].join('\n'),
      );
    });
}
