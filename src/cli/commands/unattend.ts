// `deployforge unattend generate|check`: write an answer file from options (YAML or JSON), and
// check an existing one (well-formed, passes and components, a UTF-8 BOM Windows 11 24H2 rejects).
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { LineCounter, parseDocument } from 'yaml';
import { ConfigError, FormatError } from '../../errors.js';
import { generateUnattend } from '../../formats/unattend/generate.js';
import { UnattendOptionsSchema } from '../../formats/unattend/options-schema.js';
import { summarizeUnattend } from '../../formats/unattend/summary.js';
import { writeUnattend } from '../../formats/unattend/write.js';
import { writeFileAtomic } from '../../util/fs.js';
import type { CommandEnv } from '../main.js';

export function registerUnattendCommand(program: Command, env: CommandEnv): void {
  const unattend = program.command('unattend').description('answer files: generate, check');

  unattend
    .command('generate')
    .description('write autounattend.xml (UTF-8 without BOM) from an options file (YAML or JSON)')
    .argument('<options>', 'e.g. architecture: amd64, languages, disk, accounts, skipOobe, bypassRequirements…')
    .option('-o, --out <file>', 'write here (atomically) instead of stdout')
    .action(async (optionsFile: string, opts: { out?: string }) => {
      const ctx = env.ctx();
      const path = resolve(ctx.io.cwd, optionsFile);
      const lineCounter = new LineCounter();
      const doc = parseDocument(await readFile(path, 'utf8'), { lineCounter });
      if (doc.errors.length > 0)
        throw new ConfigError('DF_UNATTEND_OPTIONS_SYNTAX', `${optionsFile}:${lineCounter.linePos(doc.errors[0].pos[0]).line}: ${doc.errors[0].message.split('\n')[0]}`);
      const parsed = UnattendOptionsSchema.safeParse(doc.toJS());
      if (!parsed.success) {
        const issues = parsed.error.issues.map((i) => ({ file: optionsFile, field: i.path.join('.'), message: i.message }));
        throw new ConfigError('DF_UNATTEND_OPTIONS_INVALID', `${optionsFile}: ${issues[0].field || '(top level)'}: ${issues[0].message}`, issues);
      }
      const bytes = writeUnattend(generateUnattend(parsed.data));
      if (opts.out) {
        await writeFileAtomic(resolve(ctx.io.cwd, opts.out), bytes);
        ctx.result({ written: resolve(ctx.io.cwd, opts.out), bytes: bytes.length }, () => `wrote ${opts.out} (${bytes.length} bytes)`);
      } else ctx.io.stdout.write(Buffer.from(bytes).toString('utf8'));
    });

  unattend
    .command('check')
    .description('check an answer file: well-formed, passes and components, encoding; exit 3 when it is broken')
    .argument('<file>')
    .action(async (file: string) => {
      const ctx = env.ctx();
      const summary = summarizeUnattend(new Uint8Array(await readFile(resolve(ctx.io.cwd, file))), file);
      ctx.result(summary, () =>
        [
          `${file}: ${summary.encoding}${summary.byteOrderMark ? ' with byte-order mark' : ''}, ${summary.passes.length} passes`,
          ...summary.passes.map((p) => `  ${p.pass}: ${p.components.join(', ')}`),
          ...summary.warnings.map((w) => `  warning: ${w}`),
        ].join('\n'),
      );
      if (summary.byteOrderMark && summary.encoding === 'utf-8')
        throw new FormatError('DF_UNATTEND_BOM', `${file} starts with a UTF-8 byte-order mark, which Windows 11 24H2 Setup rejects: save it without one`);
    });
}
