// `deployforge iso …`: read ISO images (UDF, ISO 9660, Joliet, Rock Ridge, El Torito) without
// mounting or extracting them: info, ls, cat, extract. Files stream straight out of the image.
import { mkdir, open } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { InputError } from '../../errors.js';
import { type IsoEntry, type IsoImage, openIso } from '../../formats/iso/index.js';
import { type ByteSource, FileSource } from '../../util/byte-source.js';
import { withAtomicOutput } from '../../util/fs.js';
import type { CommandEnv } from '../main.js';
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

export function registerIsoCommand(program: Command, env: CommandEnv): void {
  const iso = program.command('iso').description('read ISO images: info, ls, cat, extract');

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
                `  boot: ${b.platformName} ${b.emulation} load segment 0x${(b.loadSegment || 0x7c0).toString(16)} ${b.sectorCount} sectors ${b.bootImagePath ?? `(LBA ${b.loadRba})`}`,
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
