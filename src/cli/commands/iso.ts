// `deployforge iso …`: read ISO images (UDF, ISO 9660, Joliet, Rock Ridge, El Torito) without
// mounting or extracting them: info, ls, cat, extract. Files stream straight out of the image.
import { mkdir, open, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { type Command, Option } from 'commander';
import { InputError, UsageError } from '../../errors.js';
import { type IsoBootEntry, type IsoEntry, type IsoImage, type IsoWriteMode, openIso, writeIsoFile } from '../../formats/iso/index.js';
import { folderToIsoInput, remasterIso } from '../../media/remaster.js';
import { type ByteSource, FileSource, LazyFileSource } from '../../util/byte-source.js';
import { withAtomicOutput } from '../../util/fs.js';
import type { CommandEnv } from '../main.js';
import { collectList, collectPair } from '../options.js';
import { formatSize } from '../render-inspect.js';

const CHUNK = 1 << 20;

async function withIso<T>(path: string, use: (iso: IsoImage) => Promise<T>): Promise<T> {
  const source = await FileSource.open(path);
  try {
    return await use(await openIso(source));
  } finally {
    await source.close();
  }
}

/** Copies a file out of the image in 1 MiB chunks. */
async function copyOut(file: ByteSource, write: (chunk: Uint8Array) => Promise<void>, onBytes?: (n: number) => void): Promise<void> {
  for (let at = 0; at < file.size; at += CHUNK) {
    const chunk = await file.read(at, Math.min(CHUNK, file.size - at));
    await write(chunk);
    onBytes?.(chunk.length);
  }
}

function entryJson(e: IsoEntry) {
  return { path: e.path, directory: e.isDirectory, size: e.size, modified: e.modified };
}

/** Refuses image paths that would climb out of the destination folder. */
function safeJoin(dest: string, imagePath: string): string {
  const parts = imagePath.split('/').filter((p) => p !== '');
  if (parts.some((p) => p === '..' || p === '.' || p.includes('\\')))
    throw new InputError('DF_ISO_UNSAFE_PATH', `refusing to extract '${imagePath}': its name could write outside the destination`);
  return join(dest, ...parts);
}

interface BuildOptions {
  out: string;
  from?: string;
  dir?: string;
  replace: Record<string, string>;
  add: Record<string, string>;
  remove: string[];
  label?: string;
  mode: IsoWriteMode;
  bootBios?: string;
  bootUefi?: string;
  boot: boolean;
  timestamp?: string;
  layout: 'auto' | 'in-place' | 'fresh';
}

function bootEntries(opts: BuildOptions): IsoBootEntry[] | undefined {
  if (!opts.boot) return [];
  const entries: IsoBootEntry[] = [];
  // Windows media: BIOS etfsboot.com loaded at 0x7C0, 8 sectors; UEFI efisys.bin (FORMATS.md §2).
  if (opts.bootBios) entries.push({ platform: 0, imagePath: opts.bootBios, loadSegment: 0x7c0, sectorCount: 8 });
  if (opts.bootUefi) entries.push({ platform: 0xef, imagePath: opts.bootUefi });
  return entries.length > 0 ? entries : undefined;
}

export function registerIsoCommand(program: Command, env: CommandEnv): void {
  const iso = program.command('iso').description('read and write ISO images: info, ls, cat, extract, build');

  iso
    .command('build')
    .description('write a bootable UDF/ISO 9660 image from another ISO (remaster, no extraction) or from a folder')
    .requiredOption('--out <iso>', 'the image to write (temporary name, flushed, renamed)')
    .option('--from <iso>', 'start from this ISO: unchanged files are copied extent to extent, its boot entries kept')
    .option('--dir <folder>', 'start from a folder')
    .option('--replace <image=local>', 'replace a file of the source (repeatable)', collectPair, {})
    .option('--add <image=local>', 'add a file (repeatable)', collectPair, {})
    .option('--remove <image>', 'drop a file or folder of the source (repeatable)', collectList, [])
    .option('--label <label>', "volume label (default: the source's)")
    .addOption(
      new Option('--mode <mode>', 'udf: UDF + README-only ISO 9660 bridge (like Microsoft media); hybrid: UDF + full ISO 9660/Joliet; iso9660: ISO 9660 + Joliet')
        .choices(['udf', 'hybrid', 'iso9660'])
        .default('udf'),
    )
    .option('--boot-bios <image-path>', 'BIOS no-emulation boot image, e.g. boot/etfsboot.com')
    .option('--boot-uefi <image-path>', 'UEFI boot image, e.g. efi/microsoft/boot/efisys.bin')
    .option('--no-boot', 'write no El Torito boot entries')
    .option('--timestamp <iso-date>', 'fixed time for every file and serial: the same inputs give the same bytes')
    .addOption(
      new Option(
        '--layout <layout>',
        'with --from: in-place keeps unchanged files at their sectors over a kernel-side copy of the source; fresh lays every file out anew; auto is in-place unless the replaced and removed files hold over a quarter of the source',
      )
        .choices(['auto', 'in-place', 'fresh'])
        .default('auto'),
    )
    .action(async (opts: BuildOptions) => {
      const ctx = env.ctx();
      if (Boolean(opts.from) === Boolean(opts.dir)) throw new UsageError('DF_USAGE', 'give exactly one of --from SRC.iso or --dir FOLDER');
      const timestamp = opts.timestamp ? new Date(opts.timestamp) : undefined;
      if (timestamp && Number.isNaN(timestamp.getTime())) throw new UsageError('DF_USAGE', `--timestamp '${opts.timestamp}' is not a date (use e.g. 2024-07-01T00:00:00Z)`);
      const out = resolve(ctx.io.cwd, opts.out);
      const local = (m: Record<string, string>) => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, resolve(ctx.io.cwd, v)]));
      if (opts.from) {
        const result = await remasterIso(resolve(ctx.io.cwd, opts.from), out, {
          replace: local(opts.replace),
          add: local(opts.add),
          remove: opts.remove,
          label: opts.label,
          mode: opts.mode,
          boot: bootEntries(opts),
          timestamp,
          progress: ctx.progress,
          inPlace: opts.layout === 'auto' ? undefined : opts.layout === 'in-place',
        });
        ctx.result({ ...result, out }, () =>
          [
            `wrote ${out} (${formatSize(result.size)}, ${result.files} files; ${formatSize(result.keptBytes)} kept in place from the source)`,
            ...result.replaced.map((p) => `  replaced ${p}`),
            ...result.added.map((p) => `  added ${p}`),
            ...result.removed.map((p) => `  removed ${p}`),
            ...result.boot.map((b) => `  boot 0x${b.platform.toString(16)} ${b.imagePath}`),
          ].join('\n'),
        );
        return;
      }
      if (Object.keys(opts.replace).length > 0 || opts.remove.length > 0) throw new UsageError('DF_USAGE', '--replace and --remove need --from; with --dir, change the folder');
      const folder = await folderToIsoInput(resolve(ctx.io.cwd, opts.dir as string));
      for (const [path, file] of Object.entries(local(opts.add))) {
        const { size } = await stat(file);
        folder.files.push({ path, size, source: new LazyFileSource(file, size) });
      }
      const boot = bootEntries(opts) ?? [];
      const { size } = await writeIsoFile(
        folder.files,
        { volumeLabel: opts.label ?? 'DEPLOYFORGE', mode: opts.mode, directories: folder.directories, boot, timestamp, progress: ctx.progress },
        out,
      );
      ctx.result({ size, files: folder.files.length, out, boot }, () => `wrote ${out} (${formatSize(size)}, ${folder.files.length} files, ${boot.length} boot entries)`);
    });

  iso
    .command('info')
    .description('label, file systems and El Torito boot entries')
    .argument('<iso>')
    .action(async (path: string) => {
      const ctx = env.ctx();
      await withIso(resolve(ctx.io.cwd, path), async (image) => {
        const info = { volumeLabel: image.volumeLabel, tree: image.tree, trees: image.trees, size: image.size, bootEntries: image.bootCatalog };
        ctx.result(info, () =>
          [
            `label ${image.volumeLabel}, read through its ${image.tree} tree, ${formatSize(image.size)}`,
            ...image.bootCatalog.map(
              (b) =>
                `  boot: ${b.platformName} ${b.emulation} load segment 0x${(b.loadSegment || (b.platform === 0 ? 0x7c0 : 0)).toString(16)} ${b.sectorCount} sectors ${b.bootImagePath ?? `(LBA ${b.loadRba})`}`,
            ),
          ].join('\n'),
        );
      });
    });

  iso
    .command('ls')
    .description('list a folder of the image (or everything with -r)')
    .argument('<iso>')
    .argument('[path]', 'folder inside the image', '/')
    .option('-r, --recursive', 'list the whole tree below the folder', false)
    .action(async (path: string, folder: string, opts: { recursive: boolean }) => {
      const ctx = env.ctx();
      await withIso(resolve(ctx.io.cwd, path), async (image) => {
        let entries: IsoEntry[];
        if (opts.recursive) {
          const prefix = `/${folder.replace(/^[\\/]+|[\\/]+$/g, '').toLowerCase()}`;
          entries = [];
          for await (const e of image.walk()) if (prefix === '/' || e.path.toLowerCase().startsWith(`${prefix}/`)) entries.push(e);
        } else entries = await image.list(folder);
        ctx.result(entries.map(entryJson), () =>
          entries.map((e) => `${e.isDirectory ? 'd' : '-'} ${String(e.size).padStart(14)}  ${e.modified ?? ''.padEnd(24)}  ${e.path}${e.isDirectory ? '/' : ''}`).join('\n'),
        );
      });
    });

  iso
    .command('cat')
    .description('write one file of the image to stdout (or -o FILE)')
    .argument('<iso>')
    .argument('<path>')
    .option('-o, --out <file>', 'write to a file (atomically) instead of stdout')
    .action(async (path: string, inner: string, opts: { out?: string }) => {
      const ctx = env.ctx();
      await withIso(resolve(ctx.io.cwd, path), async (image) => {
        const file = await image.openFile(inner);
        if (opts.out) {
          await withAtomicOutput(resolve(ctx.io.cwd, opts.out), async (partial) => {
            const handle = await open(partial, 'w');
            try {
              await copyOut(file, async (c) => void (await handle.write(c)));
            } finally {
              await handle.close();
            }
          });
          return;
        }
        const out = ctx.io.stdout as unknown as NodeJS.WritableStream;
        // A real stream takes bytes and tells when they are flushed; an in-process capture
        // (tests) takes text, so bytes go through as latin1, one char per byte.
        if (typeof out.once === 'function') await copyOut(file, (c) => new Promise((res, rej) => out.write(c, (e) => (e ? rej(e) : res()))));
        else await copyOut(file, async (c) => void ctx.io.stdout.write(Buffer.from(c).toString('latin1')));
      });
    });

  iso
    .command('extract')
    .description('copy files out of the image into a folder (all, or the paths given)')
    .argument('<iso>')
    .argument('<dest>', 'destination folder')
    .argument('[paths...]', 'files or folders inside the image (default: everything)')
    .action(async (path: string, dest: string, paths: string[]) => {
      const ctx = env.ctx();
      const target = resolve(ctx.io.cwd, dest);
      await withIso(resolve(ctx.io.cwd, path), async (image) => {
        const wanted = paths.map(
          (p) =>
            `/${p
              .replace(/\\/g, '/')
              .replace(/^\/+|\/+$/g, '')
              .toLowerCase()}`,
        );
        const chosen: IsoEntry[] = [];
        for await (const e of image.walk()) {
          const lower = e.path.toLowerCase();
          if (wanted.length === 0 || wanted.some((w) => lower === w || lower.startsWith(`${w}/`))) chosen.push(e);
        }
        if (wanted.length > 0 && chosen.length === 0) throw new InputError('DF_NOT_FOUND', `none of ${paths.join(', ')} is in ${path}: check with 'deployforge iso ls ${path} -r'`);
        const total = chosen.reduce((n, e) => n + (e.isDirectory ? 0 : e.size), 0);
        let done = 0;
        for (const e of chosen) {
          const out = safeJoin(target, e.path);
          if (e.isDirectory) {
            await mkdir(out, { recursive: true });
            continue;
          }
          await mkdir(dirname(out), { recursive: true });
          const file = await image.openFile(e.path);
          await withAtomicOutput(out, async (partial) => {
            const handle = await open(partial, 'w');
            try {
              await copyOut(
                file,
                async (c) => void (await handle.write(c)),
                (n) => {
                  done += n;
                  ctx.progress.emit({ phase: 'extract', done, total, unit: 'bytes' });
                },
              );
            } finally {
              await handle.close();
            }
          });
        }
        const files = chosen.filter((e) => !e.isDirectory).length;
        ctx.result({ files, bytes: total, destination: target }, () => `extracted ${files} files (${formatSize(total)}) to ${target}`);
      });
    });
}
