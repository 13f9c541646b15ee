// `deployforge wim …`: read WIM, ESD, SWM and PPKG files with the project's own engine — info,
// ls, stat, cat, extract — no wimlib needed. WIM:INDEX picks an image (default 1); a split
// set is found from its first part (install.swm, install2.swm, …); a WIM inside an ISO is
// named X.iso:sources/install.wim:INDEX or X.iso:install:INDEX (parsed in ../image-path.ts).
import { mkdir, open, readFile, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { InputError, UsageError } from '../../errors.js';
import {
  exportImages,
  exportImagesRaw,
  openWim,
  openWimEdit,
  rollbackWim,
  splitWim,
  verifyWim,
  type WimCheckpoint,
  type WimCommitResult,
  type WimEdit,
  type WimEntryStat,
  type WimImage,
} from '../../formats/wim/index.js';
import { inspectPath, inspectSource } from '../../inspect/inspect.js';
import { filetimeToIso } from '../../util/binary.js';
import { withAtomicOutput, writeFileAtomic } from '../../util/fs.js';
import type { CliContext } from '../context.js';
import { editWimInIso, parseWimLocation, withWimImage, withWimSource } from '../image-path.js';
import type { CommandEnv } from '../main.js';
import { collectList, collectPair } from '../options.js';
import { formatSize, renderInspect } from '../render-inspect.js';

const ATTRIBUTE_NAMES: [number, string][] = [
  [0x1, 'READONLY'],
  [0x2, 'HIDDEN'],
  [0x4, 'SYSTEM'],
  [0x10, 'DIRECTORY'],
  [0x20, 'ARCHIVE'],
  [0x80, 'NORMAL'],
  [0x100, 'TEMPORARY'],
  [0x200, 'SPARSE_FILE'],
  [0x400, 'REPARSE_POINT'],
  [0x800, 'COMPRESSED'],
  [0x2000, 'NOT_CONTENT_INDEXED'],
  [0x4000, 'ENCRYPTED'],
];

function attributeNames(attributes: number): string {
  return (
    ATTRIBUTE_NAMES.filter(([bit]) => attributes & bit)
      .map(([, n]) => n)
      .join('|') || 'none'
  );
}

/** Opens the image a spec names: WIM[:INDEX], a split set's first part, or a WIM inside an ISO
 *  (`X.iso:sources/install.wim:6`, `X.iso:install:6`), read in place with nothing extracted. */
function withImage<T>(ctx: CliContext, spec: string, use: (image: WimImage) => Promise<T>): Promise<T> {
  return withWimImage(parseWimLocation(spec, { cwd: ctx.io.cwd }), ctx.io.cwd, use);
}

function statJson(e: WimEntryStat) {
  return {
    path: e.path,
    directory: e.isDirectory,
    size: e.size,
    attributes: e.attributes,
    attributeNames: attributeNames(e.attributes),
    created: filetimeToIso(e.creationTime),
    lastWritten: filetimeToIso(e.lastWriteTime),
    lastAccessed: filetimeToIso(e.lastAccessTime),
    shortName: e.shortName || undefined,
    securityId: e.securityId,
    securityDescriptor: e.securityDescriptor ? Buffer.from(e.securityDescriptor).toString('hex') : null,
    streams: e.streams,
    reparseTag: e.reparseTag,
    linkCount: e.linkCount,
  };
}

export function registerWimCommand(program: Command, env: CommandEnv): void {
  const wim = program.command('wim').description('read WIM, ESD, SWM and PPKG files: info, ls, stat, cat, extract');

  wim
    .command('update')
    .description('edit one image in place by appending (replaced files keep their security descriptor, attributes and times); --checkpoint saves what rollback needs')
    .argument('<wim>', 'WIM:INDEX')
    .option('--replace <image=local>', 'replace a file (repeatable)', collectPair, {})
    .option('--add <image=local>', 'add a file, or a folder tree (repeatable)', collectPair, {})
    .option('--delete <image>', 'delete a file or folder (repeatable)', collectList, [])
    .option('--mkdir <image>', 'create a folder (repeatable)', collectList, [])
    .option('--rename <from=to>', 'rename or move (repeatable)', collectPair, {})
    .option('--checkpoint <file>', 'write a checkpoint before committing, for `wim rollback`')
    .option('-o, --out <file>', 'for a WIM inside an ISO (X.iso:install:N): the new .iso (remastered in place) or .wim to write; the ISO is never changed')
    .action(
      async (
        spec: string,
        opts: {
          replace: Record<string, string>;
          add: Record<string, string>;
          delete: string[];
          mkdir: string[];
          rename: Record<string, string>;
          checkpoint?: string;
          out?: string;
        },
      ) => {
        const ctx = env.ctx();
        const location = parseWimLocation(spec, { cwd: ctx.io.cwd });
        const { file, inIso, index } = location;
        const stage = async (edit: WimEdit) => {
          for (const dir of opts.mkdir) edit.mkdir(dir);
          for (const [from, to] of Object.entries(opts.rename)) edit.rename(from, to);
          for (const target of opts.delete) edit.delete(target);
          for (const [image, local] of Object.entries(opts.replace)) edit.replaceFile(image, resolve(ctx.io.cwd, local));
          for (const [image, local] of Object.entries(opts.add)) {
            const where = resolve(ctx.io.cwd, local);
            if ((await stat(where)).isDirectory()) await edit.addTree(image, where);
            else edit.addFile(image, where);
          }
        };
        const describe = (result: WimCommitResult) =>
          result.changed ? `committed: ${result.blobsWritten} new blobs, ${result.blobsReused} reused, ${formatSize(result.bytesAppended)} appended` : 'nothing to change';
        if (inIso !== undefined) {
          // A one-step build: the ISO is only read.
          if (!opts.out) throw new UsageError('DF_IMAGE_NEEDS_OUT', `${inIso} is inside ${file}, which is never changed in place: give -o NEW.iso (or NEW.wim)`);
          if (opts.checkpoint) throw new UsageError('DF_USAGE', '--checkpoint applies to a WIM file edited in place, not to a one-step build with -o');
          const result = await editWimInIso(location, opts.out, stage, { cwd: ctx.io.cwd, progress: ctx.progress });
          const out = resolve(ctx.io.cwd, opts.out);
          ctx.result({ ...result, out }, () => `${describe(result)} → ${out}`);
          return;
        }
        if (opts.out) throw new UsageError('DF_USAGE', '-o is for a WIM inside an ISO; a WIM file is edited in place (copy it first to keep the original)');
        const edit = await openWimEdit(resolve(ctx.io.cwd, file), index);
        await stage(edit);
        if (opts.checkpoint) {
          const cp = await edit.checkpoint();
          await writeFileAtomic(resolve(ctx.io.cwd, opts.checkpoint), JSON.stringify({ ...cp, header: Buffer.from(cp.header).toString('base64') }));
        }
        const result = await edit.commit();
        ctx.result(result, () => describe(result));
      },
    );

  wim
    .command('rollback')
    .description('undo commits since a checkpoint: truncate and restore the header (exact original bytes)')
    .argument('<checkpoint>', 'the file `wim update --checkpoint` wrote')
    .action(async (file: string) => {
      const ctx = env.ctx();
      const saved = JSON.parse(await readFile(resolve(ctx.io.cwd, file), 'utf8')) as Omit<WimCheckpoint, 'header'> & { header: string };
      const header = Buffer.from(saved.header, 'base64');
      if (typeof saved.path !== 'string' || !Number.isSafeInteger(saved.size) || header.length !== 208)
        throw new InputError('DF_BAD_CHECKPOINT', `${file} is not a checkpoint written by 'deployforge wim update --checkpoint'`);
      await rollbackWim({ ...saved, header: new Uint8Array(header) });
      ctx.result({ restored: saved.path, size: saved.size }, () => `restored ${saved.path} to its state of ${new Date(saved.takenAt).toISOString()} (${saved.size} bytes)`);
    });

  wim
    .command('export')
    .description('copy editions into a new WIM or ESD with wimlib (Microsoft chunk sizes: LZX 32 KiB, solid LZMS 64 MiB for .esd)')
    .argument('<src>')
    .argument('<dest>', '.esd: solid LZMS; anything else: LZX')
    .option('--image <index-or-name...>', 'editions to keep (default: all)')
    .option('--compress <type>', 'none, xpress, lzx or lzms (default from the destination name)')
    .option('--boot', 'mark the exported image bootable', false)
    .option('--raw', 'copy the editions as stored: no wimlib, no recompression (non-solid WIMs; also one inside an ISO, X.iso:install)')
    .action(async (src: string, dest: string, opts: { image?: string[]; compress?: 'none' | 'xpress' | 'lzx' | 'lzms'; boot: boolean; raw?: boolean }) => {
      const ctx = env.ctx();
      const images = opts.image ? opts.image.map((i) => (/^\d+$/.test(i) ? Number(i) : i)) : 'all';
      const target = resolve(ctx.io.cwd, dest);
      if (opts.raw) {
        if (opts.compress || opts.boot) throw new UsageError('DF_USAGE', '--raw copies resources as stored: it takes neither --compress nor --boot');
        const location = parseWimLocation(src, { cwd: ctx.io.cwd });
        const { size, indexes } = await withWimSource(location, ctx.io.cwd, async (source) => {
          const wim = await openWim(source);
          const indexes =
            images === 'all'
              ? wim.images.map((i) => i.index)
              : images.map((i) => {
                  const found = typeof i === 'number' ? wim.images.find((x) => x.index === i) : wim.images.find((x) => x.name?.toLowerCase() === i.toLowerCase());
                  if (!found) throw new InputError('DF_WIM_NO_IMAGE', `${src} has no image ${JSON.stringify(i)}`);
                  return found.index;
                });
          return { ...(await exportImagesRaw(source, indexes, target, { progress: ctx.progress })), indexes };
        });
        ctx.result({ written: target, images: indexes, size }, () => `exported ${indexes.join(', ')} as stored → ${target} (${size} bytes)`);
        return;
      }
      await exportImages(resolve(ctx.io.cwd, src), images, target, { compress: opts.compress, boot: opts.boot || undefined, progress: ctx.progress });
      ctx.result({ written: target, images }, () => `exported ${images === 'all' ? 'all images' : images.join(', ')} → ${target}`);
    });

  wim
    .command('split')
    .description('split a WIM into SWM parts for FAT32 sticks (≤ 4,000 MiB each by default)')
    .argument('<wim>')
    .argument('<dest>', 'first part, e.g. install.swm')
    .option('--part-size-mb <n>', 'largest part in MiB', '4000')
    .action(async (path: string, dest: string, opts: { partSizeMb: string }) => {
      const ctx = env.ctx();
      const result = await splitWim(resolve(ctx.io.cwd, path), resolve(ctx.io.cwd, dest), { partSizeMiB: Number(opts.partSizeMb), progress: ctx.progress });
      ctx.result(result, () => `wrote ${result.parts.length} parts: ${result.parts.join(', ')}`);
    });

  wim
    .command('verify')
    .description('check every blob and the integrity table with wimlib; exit 3 naming what is damaged')
    .argument('<wim>')
    .action(async (path: string) => {
      const ctx = env.ctx();
      const result = await verifyWim(resolve(ctx.io.cwd, path), { progress: ctx.progress });
      ctx.result(result, () => `${path}: ok${result.integrityChecked ? ' (integrity table checked)' : ''}`);
    });

  wim
    .command('info')
    .description('header and per-image facts (as inspect shows them)')
    .argument('<wim>')
    .action(async (path: string) => {
      const ctx = env.ctx();
      const location = parseWimLocation(path, { cwd: ctx.io.cwd });
      // A WIM inside an ISO (X.iso:install) is inspected through the ISO's extents.
      const report =
        location.inIso !== undefined ? await withWimSource(location, ctx.io.cwd, (source) => inspectSource(source, path)) : await inspectPath(resolve(ctx.io.cwd, path));
      if (!['wim', 'esd', 'swm', 'ppkg'].includes(report.format)) throw new InputError('DF_NOT_A_WIM', `${path} is ${report.format.toUpperCase()}, not a WIM, ESD, SWM or PPKG`);
      ctx.result({ ...report, path }, () => renderInspect({ ...report, path }, ctx.colors));
    });

  wim
    .command('ls')
    .description('list a folder of an image (or everything with -r)')
    .argument('<wim>', 'WIM[:INDEX]')
    .argument('[path]', 'folder inside the image', '/')
    .option('-r, --recursive', 'list the whole tree below the folder', false)
    .option('--paths', 'print only the paths (as wimlib-imagex dir does); the fastest listing', false)
    .action(async (spec: string, folder: string, opts: { recursive: boolean; paths: boolean }) => {
      const ctx = env.ctx();
      await withImage(ctx, spec, async (image) => {
        const base = `/${folder.replace(/\\/g, '/').replace(/^\/+|\/+$/g, '')}`.toLowerCase();
        if (opts.paths) {
          // Names only: no entry's stat is built (walkPaths), which is most of a listing's work.
          const paths = opts.recursive ? [...image.walkPaths()].filter((p) => base === '/' || p.toLowerCase().startsWith(`${base}/`)) : image.list(folder).map((e) => e.path);
          ctx.result(paths, () => paths.join('\n'));
          return;
        }
        const entries = opts.recursive ? [...image.walk()].filter((e) => base === '/' || e.path.toLowerCase().startsWith(`${base}/`)) : image.list(folder);
        ctx.result(entries.map(statJson), () =>
          entries
            .map(
              (e) =>
                `${e.isDirectory ? 'd' : '-'} ${String(e.size).padStart(14)}  ${filetimeToIso(e.lastWriteTime) ?? ''.padEnd(24)}  ${e.path}${e.isDirectory && e.path !== '/' ? '/' : ''}`,
            )
            .join('\n'),
        );
      });
    });

  wim
    .command('stat')
    .description('one entry: attributes, times, security descriptor, streams, short name, links')
    .argument('<wim>', 'WIM[:INDEX]')
    .argument('<path>')
    .action(async (spec: string, path: string) => {
      const ctx = env.ctx();
      await withImage(ctx, spec, async (image) => {
        const s = statJson(image.stat(path));
        ctx.result(s, () =>
          [
            `${s.path}${s.directory ? '/' : ''}`,
            `  size:        ${s.size}`,
            `  attributes:  0x${s.attributes.toString(16)} (${s.attributeNames})`,
            `  created:     ${s.created}`,
            `  written:     ${s.lastWritten}`,
            `  accessed:    ${s.lastAccessed}`,
            `  short name:  ${s.shortName ?? '-'}`,
            `  security:    ${s.securityDescriptor ? `id ${s.securityId}, ${s.securityDescriptor.length / 2}-byte descriptor` : 'none'}`,
            `  links:       ${s.linkCount}${s.reparseTag !== null ? `, reparse tag 0x${s.reparseTag.toString(16)}` : ''}`,
            ...s.streams.map((st) => `  stream ${st.name || '(unnamed)'}: ${st.size ?? '?'} bytes, sha1 ${st.sha1 ?? 'none'}`),
          ].join('\n'),
        );
      });
    });

  wim
    .command('cat')
    .description('write one file of an image to stdout (or -o FILE); SHA-1 checked')
    .argument('<wim>', 'WIM[:INDEX]')
    .argument('<path>')
    .option('--stream <name>', 'a named data stream instead of the file contents')
    .option('-o, --out <file>', 'write to a file (atomically) instead of stdout')
    .action(async (spec: string, path: string, opts: { stream?: string; out?: string }) => {
      const ctx = env.ctx();
      await withImage(ctx, spec, async (image) => {
        const blob = await image.openFile(path, opts.stream);
        if (opts.out) {
          await withAtomicOutput(resolve(ctx.io.cwd, opts.out), async (partial) => {
            const handle = await open(partial, 'w');
            try {
              for await (const chunk of blob.stream()) await handle.write(chunk);
            } finally {
              await handle.close();
            }
          });
          return;
        }
        const out = ctx.io.stdout as unknown as NodeJS.WritableStream;
        for await (const chunk of blob.stream()) {
          if (typeof out.once === 'function') await new Promise<void>((res, rej) => out.write(chunk, (e) => (e ? rej(e) : res())));
          else ctx.io.stdout.write(Buffer.from(chunk).toString('latin1'));
        }
      });
    });

  wim
    .command('extract')
    .description('copy files of an image into a folder (all, or the paths given); SHA-1 checked')
    .argument('<wim>', 'WIM[:INDEX]')
    .argument('<dest>')
    .argument('[paths...]')
    .action(async (spec: string, dest: string, paths: string[]) => {
      const ctx = env.ctx();
      const target = resolve(ctx.io.cwd, dest);
      await withImage(ctx, spec, async (image) => {
        const wanted = paths.map((p) => `/${p.replace(/\\/g, '/').replace(/^\/+|\/+$/g, '')}`.toLowerCase());
        const chosen = [...image.walk()].filter((e) => wanted.length === 0 || wanted.some((w) => e.path.toLowerCase() === w || e.path.toLowerCase().startsWith(`${w}/`)));
        if (wanted.length > 0 && chosen.length === 0)
          throw new InputError('DF_NOT_FOUND', `none of ${paths.join(', ')} is in the image: check with 'deployforge wim ls ${spec} -r'`);
        const total = chosen.reduce((n, e) => n + (e.isDirectory ? 0 : e.size), 0);
        let done = 0;
        for (const e of chosen) {
          const parts = e.path.split('/').filter(Boolean);
          if (parts.some((p) => p === '..' || p === '.')) throw new UsageError('DF_WIM_UNSAFE_PATH', `refusing to extract '${e.path}': it would write outside ${dest}`);
          const out = join(target, ...parts);
          if (e.isDirectory) {
            await mkdir(out, { recursive: true });
            continue;
          }
          if (e.reparseTag !== null) continue; // links and junctions have no meaning outside NTFS
          await mkdir(dirname(out), { recursive: true });
          const blob = await image.openFile(e.path);
          await withAtomicOutput(out, async (partial) => {
            const handle = await open(partial, 'w');
            try {
              for await (const chunk of blob.stream()) {
                await handle.write(chunk);
                done += chunk.length;
                ctx.progress.emit({ phase: 'extract', done, total, unit: 'bytes' });
              }
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
