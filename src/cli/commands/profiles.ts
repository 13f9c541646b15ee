// `deployforge profiles list|show`: the profile catalog (catalog/profiles), composable recipe
// fragments a recipe builds on with `extends`. `list` prints the index; `show` loads one profile
// through the recipe loader and prints its description, bases, steps and the resolved recipe.
// Nothing here builds or plans.
import { relative } from 'node:path';
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { listProfiles, loadProfile, type ProfileSummary, profileNameOf, summarizeStep } from '../../catalog/profiles.js';
import { resolveExtends } from '../../recipe/loader.js';
import type { CommandEnv } from '../main.js';

/** The first sentence, cut to `width` characters. */
function headline(description: string, width: number): string {
  const first = /^.*?[.!?](?=\s|$)/.exec(description)?.[0] ?? description;
  return first.length > width ? `${first.slice(0, width - 1)}…` : first;
}

/** What a recipe writes to build on `profile`: its name when `extends` resolves names to the
 *  catalog, else the profile's file (relative paths are resolved from the recipe's folder). */
function extendsEntryFor(profile: ProfileSummary): string {
  return resolveExtends(profile.name, profile.file) === profile.file ? profile.name : profile.file;
}

export function registerProfilesCommand(program: Command, env: CommandEnv): void {
  const profiles = program.command('profiles').description('profiles: ready-made recipe fragments (gaming, privacy, developer, browsers...) to extend');
  profiles
    .command('list')
    .description('list the profiles with their category, step kinds and description')
    .option('--category <category>', 'only this category, e.g. gaming, privacy, developer, wizard')
    .action(async (opts: { category?: string }) => {
      const ctx = env.ctx();
      const list = await listProfiles({ category: opts.category });
      ctx.result({ count: list.length, profiles: list }, () => {
        const nameWidth = Math.max(...list.map((p) => p.name.length));
        const kindWidth = Math.max(...list.map((p) => p.allStepKinds.join(',').length));
        const lines: string[] = [];
        for (const category of [...new Set(list.map((p) => p.category))]) {
          const members = list.filter((p) => p.category === category);
          lines.push(ctx.colors.bold(`${category} (${members.length})`));
          for (const p of members) lines.push(`  ${p.name.padEnd(nameWidth)}  ${ctx.colors.dim(p.allStepKinds.join(',').padEnd(kindWidth))}  ${headline(p.description, 90)}`);
        }
        lines.push(`${list.length} profile${list.length === 1 ? '' : 's'}; 'deployforge profiles show NAME' for one`);
        return lines.join('\n');
      });
    });
  profiles
    .command('show')
    .description('show a profile: description, what it extends, its steps (bases first) and the resolved recipe')
    .argument('<name>', 'category/name, e.g. gaming/competitive')
    .action(async (name: string) => {
      const ctx = env.ctx();
      const { profile, loaded } = await loadProfile(name);
      const from = (file: string) => profileNameOf(file) ?? relative(ctx.io.cwd, file);
      const steps = loaded.steps.map((s) => ({ index: s.index, type: s.step.type, summary: summarizeStep(s.step as Record<string, unknown>), from: from(s.file), line: s.line }));
      const entry = extendsEntryFor(profile);
      ctx.result({ profile, extendsEntry: entry, files: loaded.files, steps, recipe: loaded.recipe }, () => {
        const lines = [
          `${ctx.colors.bold(profile.name)}  ${ctx.colors.dim(relative(ctx.io.cwd, profile.file) || profile.file)}`,
          profile.description,
          `tags: ${profile.tags.join(', ') || '(none)'}`,
          `extends: ${profile.bases.join(', ') || '(nothing)'}`,
          `in a recipe: extends: ${entry}`,
          `steps (${steps.length}, bases first):`,
          ...steps.map((s) => `  ${String(s.index + 1).padStart(2)}. ${s.type.padEnd(13)} ${s.summary}  ${ctx.colors.dim(`[${s.from}:${s.line}]`)}`),
          'resolved recipe:',
          ...stringify(loaded.recipe, { lineWidth: 0 })
            .trimEnd()
            .split('\n')
            .map((l) => `  ${l}`),
        ];
        return lines.join('\n');
      });
    });
}
