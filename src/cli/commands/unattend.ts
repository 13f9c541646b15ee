// `deployforge unattend generate|check|validate`: write an answer file from options (YAML or
// JSON), take a first look at an existing one (check: passes, components, a UTF-8 BOM Windows 11
// 24H2 rejects), and validate one against Microsoft's unattend reference (validate: every finding
// with severity and XPath; exit 3 when any is an error). check and validate also read an answer
// file in place from an ISO's media (X.iso:/autounattend.xml) or a WIM image
// (X.wim:1:/Windows/Panther/unattend.xml, X.iso:install:1:/…).
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { LineCounter, parseDocument } from 'yaml';
import { ConfigError, FormatError, UsageError } from '../../errors.js';
import { WINDOWS_VERSIONS, type WindowsVersion } from '../../formats/unattend/components.js';
import { generateUnattend } from '../../formats/unattend/generate.js';
import { UnattendOptionsSchema } from '../../formats/unattend/options-schema.js';
import { summarizeUnattend } from '../../formats/unattend/summary.js';
import { validateUnattend } from '../../formats/unattend/validate.js';
import { writeUnattend } from '../../formats/unattend/write.js';
import { writeFileAtomic } from '../../util/fs.js';
import type { CliContext } from '../context.js';
import { parseImagePath, readImageFile } from '../image-path.js';
import type { CommandEnv } from '../main.js';

const FILE_HELP = 'an answer file, or one in an image: X.iso:/autounattend.xml, X.wim:INDEX:/Windows/Panther/unattend.xml, X.iso:install:INDEX:/…';

/** The answer file's bytes, from disk or straight from the ISO or WIM a path points into. */
function readAnswerFile(ctx: CliContext, text: string): Promise<Uint8Array> {
  return readImageFile(parseImagePath(text, { cwd: ctx.io.cwd }), { cwd: ctx.io.cwd });
}

export function registerUnattendCommand(program: Command, env: CommandEnv): void {
  const unattend = program.command('unattend').description('answer files: generate, check, validate');

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
    .argument('<file>', FILE_HELP)
    .action(async (file: string) => {
      const ctx = env.ctx();
      const summary = summarizeUnattend(await readAnswerFile(ctx, file), file);
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

  unattend
    .command('validate')
    .description("validate an answer file against Microsoft's unattend reference; prints 'severity xpath: message' per finding, exit 3 on any error")
    .argument('<file>', FILE_HELP)
    .option('--target <release>', `warn about components and settings this release lacks (${WINDOWS_VERSIONS.join(', ')})`)
    .action(async (file: string, opts: { target?: string }) => {
      const ctx = env.ctx();
      if (opts.target !== undefined && !(WINDOWS_VERSIONS as readonly string[]).includes(opts.target))
        throw new UsageError('DF_USAGE', `--target must be one of ${WINDOWS_VERSIONS.join(', ')}, not '${opts.target}'`);
      const bytes = await readAnswerFile(ctx, file);
      const findings = validateUnattend(bytes, { file, target: opts.target as WindowsVersion | undefined });
      const counts = { error: 0, warning: 0, info: 0 };
      for (const f of findings) counts[f.severity]++;
      ctx.result({ file, valid: counts.error === 0, counts, findings }, () =>
        [
          ...findings.map((f) => `${f.severity} ${f.xpath}${f.line !== undefined ? ` (line ${f.line})` : ''}: ${f.message} [${f.code}]`),
          `${file}: ${plural(counts.error, 'error')}, ${plural(counts.warning, 'warning')}, ${plural(counts.info, 'note')}`,
        ].join('\n'),
      );
      if (counts.error > 0)
        throw new FormatError('DF_UNATTEND_INVALID', `${file} has ${plural(counts.error, 'error finding')}: fix ${counts.error === 1 ? 'it' : 'them'} before using the file`, {
          counts,
        });
    });
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
