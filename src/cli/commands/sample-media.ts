// `deployforge sample-media OUT.iso`: build the Windows-like sample ISO used by tests and demos.
import { resolve } from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import { makeSampleMedia, SAMPLE_DEFAULTS } from '../../sample/sample-media.js';
import type { CommandEnv } from '../main.js';

function wholeNumber(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('expected a whole number');
  return Number(value);
}

export function registerSampleMediaCommand(program: Command, env: CommandEnv): void {
  program
    .command('sample-media')
    .description('build a Windows-like install ISO (BIOS+UEFI boot, boot.wim, install.wim/esd with editions, real hives) for tests and demos')
    .argument('<out>', 'output ISO path (written to a temporary name, then renamed)')
    .option('--size-mb <n>', 'approximate ISO size in MiB', wholeNumber, SAMPLE_DEFAULTS.sizeMb)
    .option('--editions <k>', 'number of editions in install.wim', wholeNumber, SAMPLE_DEFAULTS.editions)
    .option('--esd', 'store the install image as a solid LZMS install.esd', false)
    .option('--seed <s>', 'seed: the same seed gives the same bytes', wholeNumber, SAMPLE_DEFAULTS.seed)
    .option('--label <label>', 'volume label', SAMPLE_DEFAULTS.label)
    .action(async (out: string, opts: { sizeMb: number; editions: number; esd: boolean; seed: number; label: string }) => {
      const ctx = env.ctx();
      const result = await makeSampleMedia(resolve(ctx.io.cwd, out), { ...opts, progress: ctx.progress });
      ctx.result(result, () =>
        [
          `wrote ${result.path} (${(result.size / 1024 / 1024).toFixed(1)} MiB, label ${result.label})`,
          `  ${result.installImage}: ${result.editions.map((e) => e.name).join(', ')}`,
          `  BIOS entry boot/etfsboot.com prints '${result.biosMarker}' on COM1; UEFI entry efi/microsoft/boot/efisys.bin`,
        ].join('\n'),
      );
    });
}
