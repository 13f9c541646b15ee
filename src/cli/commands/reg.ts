// `deployforge reg …`: offline registry hives from the command line — export, import, get, set,
// delete, diff, new, check, recover. Edits are written to a temporary file and renamed over the
// hive (or to -o OUT), so a failed command never leaves a half-written hive. A HIVE may also be
// a path into an image (X.iso:install:6:/Windows/System32/config/SOFTWARE, X.wim:6:/…): it is
// read in place, and an edit writes a new image named by -o (see ../image-path.ts).
import { access, open, readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { FormatError, InputError, UsageError } from '../../errors.js';
import { checkHive, formatCheckReport } from '../../formats/regf/check.js';
import { REG_TYPE, regTypeName } from '../../formats/regf/constants.js';
import { openHive, type RegistryValue } from '../../formats/regf/hive.js';
import { createEmptyHive, editHive, type HiveEdit, openHiveForEdit } from '../../formats/regf/hive-edit.js';
import { recoverHiveFile } from '../../formats/regf/recover.js';
import { diffHives } from '../../formats/regf/reg-diff.js';
import { exportHiveEntries } from '../../formats/regf/reg-export.js';
import { streamHiveExport } from '../../formats/regf/reg-export-stream.js';
import { parseRegFile, type RegEntry, streamRegFile } from '../../formats/regf/reg-file.js';
import { importRegFile } from '../../formats/regf/reg-import.js';
import { withAtomicOutput, writeFileAtomic, writerFlushingAsItGoes } from '../../util/fs.js';
import type { CliContext } from '../context.js';
import { checkImageOutput, type ImagePath, isInImage, parseImagePath, readImageFile, writeImageFile } from '../image-path.js';
import type { CommandEnv } from '../main.js';

async function readLocalBytes(path: string): Promise<Uint8Array> {
  const buffer = await readFile(path);
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

/** A hive's bytes from a file, or straight from the ISO or WIM an image path points into. */
async function readHiveBytes(ctx: CliContext, text: string): Promise<Uint8Array> {
  return readImageFile(parseImagePath(text, { cwd: ctx.io.cwd }), { cwd: ctx.io.cwd });
}

/** Opens a hive for editing. In an image, -o (the new image) is checked first, so a command
 *  that cannot write fails before reading anything. */
async function openHiveEdit(ctx: CliContext, text: string, out: string | undefined): Promise<{ ref: ImagePath; edit: HiveEdit }> {
  const ref = parseImagePath(text, { cwd: ctx.io.cwd });
  if (!isInImage(ref)) return { ref, edit: await openHiveForEdit(resolve(ctx.io.cwd, text)) };
  await checkImageOutput(ref, out, ctx.io.cwd);
  return { ref, edit: editHive(await readImageFile(ref, { cwd: ctx.io.cwd }), { name: text }) };
}

const HIVE_HELP = 'a hive file, or a hive in an image: X.iso:install:INDEX:/Windows/System32/config/SOFTWARE, X.wim:INDEX:/Users/Default/NTUSER.DAT';

const TYPE_ALIASES: Record<string, number> = Object.fromEntries(
  Object.entries(REG_TYPE).flatMap(([name, n]) => [
    [name.toLowerCase(), n],
    [name.slice(4).toLowerCase(), n],
  ]),
);

/** `REG_DWORD`, `dword`, `4` or `0x4` → 4. */
export function parseRegType(text: string): number {
  const known = TYPE_ALIASES[text.toLowerCase()];
  if (known !== undefined) return known;
  if (/^(0x[0-9a-f]{1,8}|\d{1,10})$/i.test(text)) {
    const n = Number(text);
    if (n <= 0xffffffff) return n;
  }
  throw new UsageError('DF_USAGE', `unknown value type '${text}': use REG_SZ, REG_EXPAND_SZ, REG_MULTI_SZ, REG_DWORD, REG_QWORD, REG_BINARY, REG_NONE or a number`);
}

function parseInteger(text: string, bits: 32 | 64): bigint {
  if (!/^(0x[0-9a-f]+|\d+)$/i.test(text)) throw new InputError('DF_BAD_VALUE_DATA', `'${text}' is not a whole number (decimal or 0x hex)`);
  const n = BigInt(text);
  if (n >= 1n << BigInt(bits)) throw new InputError('DF_BAD_VALUE_DATA', `${text} does not fit in ${bits} bits`);
  return n;
}

/** Turns --data strings into the bytes a hive stores for `type`. */
export function encodeValueData(type: number, data: string[]): Uint8Array {
  const utf16z = (s: string) => new Uint8Array(Buffer.from(`${s}\0`, 'utf16le'));
  switch (type) {
    case REG_TYPE.REG_SZ:
    case REG_TYPE.REG_EXPAND_SZ:
      if (data.length !== 1) throw new InputError('DF_BAD_VALUE_DATA', 'a string value takes exactly one --data');
      return utf16z(data[0]);
    case REG_TYPE.REG_MULTI_SZ:
      return new Uint8Array(Buffer.from(`${data.map((s) => `${s}\0`).join('')}\0`, 'utf16le'));
    case REG_TYPE.REG_DWORD: {
      const out = Buffer.alloc(4);
      out.writeUInt32LE(Number(parseInteger(data[0] ?? '', 32)));
      return new Uint8Array(out);
    }
    case REG_TYPE.REG_DWORD_BIG_ENDIAN: {
      const out = Buffer.alloc(4);
      out.writeUInt32BE(Number(parseInteger(data[0] ?? '', 32)));
      return new Uint8Array(out);
    }
    case REG_TYPE.REG_QWORD: {
      const out = Buffer.alloc(8);
      out.writeBigUInt64LE(parseInteger(data[0] ?? '', 64));
      return new Uint8Array(out);
    }
    default: {
      // Binary and other types: hex bytes, with or without commas (as in a .reg file).
      const hex = data.join('').replace(/[\s,]/g, '');
      if (!/^([0-9a-f]{2})*$/i.test(hex)) throw new InputError('DF_BAD_VALUE_DATA', `binary data must be hex bytes like 01,ff,20 or 01ff20, got '${data.join(' ')}'`);
      return new Uint8Array(Buffer.from(hex, 'hex'));
    }
  }
}

function describeValue(v: RegistryValue) {
  let data: unknown;
  try {
    data = v.data;
  } catch {
    data = undefined;
  }
  return { name: v.name, type: v.type, typeName: v.typeName, data: data instanceof Uint8Array ? Buffer.from(data).toString('hex') : data, raw: Buffer.from(v.raw).toString('hex') };
}

function showValue(value: ReturnType<typeof describeValue>): string {
  const shown = Array.isArray(value.data) ? value.data.join(' | ') : String(value.data ?? `hex:${value.raw}`);
  return `${value.name === '' ? '(default)' : value.name}  ${value.typeName}  ${shown}`;
}

/** Writes a .reg file's bytes, chunk by chunk, in the given form. */
type RegProducer = (write: (chunk: Uint8Array) => Promise<void>, form: { version: 4 | 5; encoding: 'utf8' | 'utf16le' }) => Promise<void>;

/** Streams a .reg file to -o (atomically; UTF-16LE like regedit unless --utf8) or to stdout
 *  (UTF-8), so exporting a large hive never holds the whole text in memory. */
async function writeRegOutput(ctx: CliContext, produce: RegProducer, out: string | undefined, utf8: boolean, regedit4: boolean): Promise<void> {
  const version = regedit4 ? 4 : 5;
  if (!out) {
    await produce(async (chunk) => void ctx.io.stdout.write(Buffer.from(chunk).toString('utf8')), { version, encoding: 'utf8' });
    return;
  }
  await withAtomicOutput(resolve(ctx.io.cwd, out), async (partial) => {
    const handle = await open(partial, 'w');
    try {
      const writer = writerFlushingAsItGoes(handle);
      await produce(writer.write, { version, encoding: utf8 ? 'utf8' : 'utf16le' });
      await writer.end();
    } finally {
      await handle.close();
    }
  });
}

const entriesProducer =
  (entries: Iterable<RegEntry>): RegProducer =>
  (write, form) =>
    streamRegFile(entries, write, form);

/** Saves an edited hive over its source (atomically) or to -o; a hive in an image goes into the
 *  new image -o names (a one-step build; the source image is only read). */
async function saveEdit(edit: HiveEdit, ref: ImagePath, out: string | undefined, ctx: CliContext): Promise<string> {
  if (isInImage(ref)) return (await writeImageFile(ref, edit.toBytes(), { out, cwd: ctx.io.cwd, progress: ctx.progress })).written;
  const target = resolve(ctx.io.cwd, out ?? ref.text);
  await edit.save(target);
  return target;
}

export function registerRegCommand(program: Command, env: CommandEnv): void {
  const reg = program.command('reg').description('read and edit offline registry hives and .reg files');

  reg
    .command('export')
    .description('export a hive (or one key) as a .reg file: UTF-16LE like regedit with -o, UTF-8 on stdout')
    .argument('<hive>', HIVE_HELP)
    .argument('[key]', 'key path inside the hive', '')
    .option('-o, --out <file>', 'write to a file instead of stdout')
    .option('--prefix <root>', "root to name keys under, e.g. 'HKEY_LOCAL_MACHINE\\SOFTWARE'")
    .option('--utf8', 'write UTF-8 instead of UTF-16LE to the file', false)
    .option('--regedit4', 'write the old REGEDIT4 format', false)
    .action(async (hivePath: string, key: string, opts: { out?: string; prefix?: string; utf8: boolean; regedit4: boolean }) => {
      const ctx = env.ctx();
      const hive = openHive(await readHiveBytes(ctx, hivePath), hivePath);
      const entries = exportHiveEntries(hive, { keyPath: key, prefix: opts.prefix });
      if (ctx.options.json) {
        ctx.result(
          [...entries].map((e) => (e.kind === 'value' ? { ...e, data: Buffer.from(e.data).toString('hex') } : e)),
          () => '',
        );
        return;
      }
      // Version 5 (regedit's, in UTF-16LE or UTF-8) has a direct path from the hive's cells.
      const produce: RegProducer = (write, form) =>
        form.version === 5 ? streamHiveExport(hive, write, { keyPath: key, prefix: opts.prefix, encoding: form.encoding }) : streamRegFile(entries, write, form);
      await writeRegOutput(ctx, produce, opts.out, opts.utf8, opts.regedit4);
    });

  reg
    .command('import')
    .description('apply a .reg file to a hive (in place, atomically, or to -o)')
    .argument('<hive>', HIVE_HELP)
    .argument('<reg>')
    .option('--prefix <root>', "the .reg root that maps to this hive, e.g. 'HKEY_LOCAL_MACHINE\\SOFTWARE' ('' when paths are hive-relative)", '')
    .option('-o, --out <file>', 'write the result here and leave the hive untouched (for a hive in an image: the new .iso or .wim, required)')
    .action(async (hivePath: string, regPath: string, opts: { prefix: string; out?: string }) => {
      const ctx = env.ctx();
      const file = parseRegFile(await readLocalBytes(resolve(ctx.io.cwd, regPath)), regPath);
      const { ref, edit } = await openHiveEdit(ctx, hivePath, opts.out);
      const counts = importRegFile(edit, file, { prefix: opts.prefix });
      const target = await saveEdit(edit, ref, opts.out, ctx);
      ctx.result(
        { ...counts, written: target },
        () => `imported ${regPath}: ${counts.keysCreated} keys created, ${counts.keysDeleted} deleted, ${counts.valuesSet} values set, ${counts.valuesDeleted} deleted → ${target}`,
      );
    });

  reg
    .command('get')
    .description('show a key (its subkeys and values) or one value')
    .argument('<hive>', HIVE_HELP)
    .argument('<key>', "key path inside the hive ('' for the root)")
    .argument('[value]', "value name ('' for the default value)")
    .action(async (hivePath: string, keyPath: string, valueName: string | undefined) => {
      const ctx = env.ctx();
      const hive = openHive(await readHiveBytes(ctx, hivePath), hivePath);
      const key = keyPath === '' ? hive.root : hive.key(keyPath);
      if (!key) throw new InputError('DF_REG_KEY_NOT_FOUND', `${hivePath} has no key '${keyPath}': check the path (it is relative to the hive root)`);
      if (valueName !== undefined) {
        const value = key.value(valueName);
        if (!value) throw new InputError('DF_REG_VALUE_NOT_FOUND', `key '${keyPath}' has no value '${valueName}'`);
        const shown = describeValue(value);
        ctx.result(shown, () => showValue(shown));
        return;
      }
      const report = { path: key.path, lastWritten: key.lastWritten, subkeys: key.subkeys().map((k) => k.name), values: key.values().map(describeValue) };
      ctx.result(report, () =>
        [`[${key.path || '\\'}]  last written ${key.lastWritten ?? 'unknown'}`, ...report.subkeys.map((n) => `  ${n}\\`), ...report.values.map((v) => `  ${showValue(v)}`)].join(
          '\n',
        ),
      );
    });

  reg
    .command('set')
    .description('set one value (creates the key when missing)')
    .argument('<hive>', HIVE_HELP)
    .argument('<key>')
    .argument('<value>', "value name ('' for the default value)")
    .requiredOption('--type <type>', 'REG_SZ, REG_EXPAND_SZ, REG_MULTI_SZ, REG_DWORD, REG_QWORD, REG_BINARY, REG_NONE or a number')
    .option('--data <data...>', 'the data: text, a number (decimal or 0x hex), hex bytes, or several strings for REG_MULTI_SZ', [])
    .option('-o, --out <file>', 'write the result here and leave the hive untouched (for a hive in an image: the new .iso or .wim, required)')
    .action(async (hivePath: string, keyPath: string, valueName: string, opts: { type: string; data: string[]; out?: string }) => {
      const ctx = env.ctx();
      const type = parseRegType(opts.type);
      const data = encodeValueData(type, opts.data);
      const { ref, edit } = await openHiveEdit(ctx, hivePath, opts.out);
      edit.setValue(keyPath, valueName, type, data);
      const target = await saveEdit(edit, ref, opts.out, ctx);
      ctx.result(
        { key: keyPath, value: valueName, type, typeName: regTypeName(type), bytes: data.length, written: target },
        () => `set ${keyPath}\\${valueName || '(default)'} (${regTypeName(type)}, ${data.length} bytes) → ${target}`,
      );
    });

  reg
    .command('delete')
    .description('delete a key (recursively) or one value')
    .argument('<hive>', HIVE_HELP)
    .argument('<key>')
    .argument('[value]')
    .option('-o, --out <file>', 'write the result here and leave the hive untouched (for a hive in an image: the new .iso or .wim, required)')
    .action(async (hivePath: string, keyPath: string, valueName: string | undefined, opts: { out?: string }) => {
      const ctx = env.ctx();
      const { ref, edit } = await openHiveEdit(ctx, hivePath, opts.out);
      const deleted = valueName === undefined ? edit.deleteKey(keyPath) : edit.deleteValue(keyPath, valueName);
      if (!deleted) throw new InputError('DF_REG_NOT_FOUND', valueName === undefined ? `no key '${keyPath}' to delete` : `no value '${valueName}' in key '${keyPath}' to delete`);
      const target = await saveEdit(edit, ref, opts.out, ctx);
      ctx.result(
        { deleted: valueName === undefined ? { key: keyPath } : { key: keyPath, value: valueName }, written: target },
        () => `deleted ${keyPath}${valueName === undefined ? '' : `\\${valueName || '(default)'}`} → ${target}`,
      );
    });

  reg
    .command('diff')
    .description('print the .reg file that turns hive A into hive B')
    .argument('<a>', HIVE_HELP)
    .argument('<b>', HIVE_HELP)
    .option('-o, --out <file>', 'write the .reg to a file (UTF-16LE) instead of stdout')
    .option('--prefix <root>', "root to name keys under, e.g. 'HKEY_LOCAL_MACHINE\\SOFTWARE'")
    .option('--utf8', 'write UTF-8 instead of UTF-16LE to the file', false)
    .action(async (aPath: string, bPath: string, opts: { out?: string; prefix?: string; utf8: boolean }) => {
      const ctx = env.ctx();
      const a = openHive(await readHiveBytes(ctx, aPath), aPath);
      const b = openHive(await readHiveBytes(ctx, bPath), bPath);
      const file = diffHives(a, b, { prefix: opts.prefix });
      if (ctx.options.json) {
        ctx.result(
          file.entries.map((e) => (e.kind === 'value' ? { ...e, data: Buffer.from(e.data).toString('hex') } : e)),
          () => '',
        );
        return;
      }
      await writeRegOutput(ctx, entriesProducer(file.entries), opts.out, opts.utf8, false);
    });

  reg
    .command('new')
    .description('create a new, empty hive (regf 1.5)')
    .argument('<file>')
    .option('--root-name <name>', 'name of the root key', 'ROOT')
    .option('--force', 'replace an existing file', false)
    .action(async (file: string, opts: { rootName: string; force: boolean }) => {
      const ctx = env.ctx();
      const target = resolve(ctx.io.cwd, file);
      const exists = await access(target).then(
        () => true,
        () => false,
      );
      if (exists && !opts.force) throw new InputError('DF_FILE_EXISTS', `${file} already exists: choose another name or pass --force`);
      await writeFileAtomic(target, createEmptyHive({ rootName: opts.rootName }));
      ctx.result({ written: target }, () => `created ${target}`);
    });

  reg
    .command('check')
    .description('check every structural invariant of a hive; exit 3 when something is broken')
    .argument('<hive>', HIVE_HELP)
    .option('--max-problems <n>', 'stop listing after this many problems', '1000')
    .action(async (hivePath: string, opts: { maxProblems: string }) => {
      const ctx = env.ctx();
      const report = checkHive(await readHiveBytes(ctx, hivePath), { name: hivePath, maxProblems: Number(opts.maxProblems) || 1000 });
      ctx.result(report, () => formatCheckReport(report));
      if (!report.ok) {
        const errors = report.problems.filter((p) => p.severity === 'error').length;
        throw new FormatError(
          'DF_HIVE_CHECK_FAILED',
          `${hivePath} has ${errors}${report.truncated ? '+' : ''} structural errors (listed above); recover it from its logs or a backup`,
        );
      }
    });

  reg
    .command('recover')
    .description('replay a dirty hive’s transaction logs (.LOG1/.LOG2) into a clean hive')
    .argument('<hive>')
    .option('-o, --out <file>', 'where to write the clean hive (default: HIVE.recovered)')
    .option('--log <file...>', 'the logs, in order (default: found beside the hive)')
    .action(async (hivePath: string, opts: { out?: string; log?: string[] }) => {
      const ctx = env.ctx();
      const input = resolve(ctx.io.cwd, hivePath);
      const out = resolve(ctx.io.cwd, opts.out ?? `${hivePath}.recovered`);
      const result = await recoverHiveFile(input, { out, logs: opts.log?.map((l) => resolve(ctx.io.cwd, l)) });
      const summary = { wasDirty: result.wasDirty, applied: result.applied, ignored: result.ignored, logs: result.logPaths, written: result.written };
      ctx.result(summary, () =>
        [
          result.wasDirty
            ? `replayed ${result.applied.reduce((n, a) => n + a.sequences.length, 0)} log entries (${result.applied.reduce((n, a) => n + a.pages, 0)} pages)`
            : 'the hive was clean; copied unchanged',
          ...result.ignored.map((i) => `  ignored ${i.log}: ${i.reason}`),
          `wrote ${result.written}`,
        ].join('\n'),
      );
    });
}
