// `deployforge config show`: the merged configuration and where each value came from.
import type { Command } from 'commander';
import { flattenConfig } from '../../config.js';
import type { CommandEnv } from '../main.js';

export function registerConfigCommand(program: Command, env: CommandEnv): void {
  const config = program.command('config').description('show the configuration');
  config
    .command('show')
    .description('print the merged configuration and which layer set each value (default ← user file ← project file ← DEPLOYFORGE_* ← --set)')
    .action(async () => {
      const ctx = env.ctx();
      const { config: merged, sources } = await env.config();
      ctx.result({ config: merged, sources }, () => {
        const rows = flattenConfig(merged).map(([path, value]) => [path, JSON.stringify(value), sources[path]] as const);
        const w0 = Math.max(...rows.map((r) => r[0].length));
        const w1 = Math.max(...rows.map((r) => r[1].length));
        return rows.map(([p, v, s]) => `${p.padEnd(w0)}  ${v.padEnd(w1)}  ${ctx.colors.dim(`# ${s}`)}`).join('\n');
      });
    });
}
