// `deployforge inspect PATH`: what a file is and what it holds (see src/inspect/).
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { inspectPath } from '../../inspect/inspect.js';
import type { CommandEnv } from '../main.js';
import { renderInspect } from '../render-inspect.js';

export function registerInspectCommand(program: Command, env: CommandEnv): void {
  program
    .command('inspect')
    .description('describe an ISO, WIM/ESD/SWM/PPKG, registry hive or log, VHD/VHDX, CAB/MSU, unattend.xml or .reg file (read-only, no external tools)')
    .argument('<path>', 'the file to inspect')
    .action(async (path: string) => {
      const ctx = env.ctx();
      const report = await inspectPath(resolve(ctx.io.cwd, path));
      ctx.result({ ...report, path }, () => renderInspect({ ...report, path }, ctx.colors));
    });
}
