// Test helpers: build small ISO images with independent tools (xorriso, genisoimage, mkudffs) and
// read back what those tools (7-Zip, xorriso, udfinfo) say about them, as oracles for the reader.
// Nothing here is used at run time by the product.
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { runTool } from '../../util/exec.js';
import { crcItu } from './udf-tag.js';

/** Deterministic bytes (xorshift32) so test images are reproducible. */
export function patternBytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The files of the sample tree, relative paths to contents: shaped like Windows install media. */
export function sampleFiles(options: { deep?: boolean; longNames?: boolean } = {}): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>([
    ['boot/etfsboot.com', patternBytes(4096, 1)],
    ['efi/microsoft/boot/efisys.bin', patternBytes(64 * 1024, 2)],
    ['sources/install.wim', patternBytes(300_001, 3)],
    ['sources/empty.txt', new Uint8Array(0)],
    ['setup.exe', patternBytes(5000, 4)],
    ['README.TXT', new TextEncoder().encode('This disc contains a test tree.\n')],
  ]);
  if (options.longNames ?? true) {
    files.set('sources/A Long File Name With Spaces.txt', patternBytes(2049, 5));
    files.set('support/Mixed Case Folder/lowercase-name.inf', patternBytes(777, 6));
  }
  if (options.deep) files.set('sources/d1/d2/d3/d4/d5/d6/d7/d8/d9/leaf.txt', patternBytes(10, 7));
  return files;
}

export async function writeTree(root: string, files: Map<string, Uint8Array>): Promise<void> {
  for (const [path, bytes] of files) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), bytes);
  }
}

const TOOL_ENV = { ...process.env, LC_ALL: 'C.UTF-8', LANG: 'C.UTF-8' };

/** `xorriso -as mkisofs` with the given extra options and the Windows-style two-entry El Torito setup. */
export async function makeXorrisoIso(srcDir: string, out: string, extra: string[], boot = true): Promise<void> {
  const bootArgs = boot ? ['-b', 'boot/etfsboot.com', '-no-emul-boot', '-boot-load-size', '8', '-eltorito-alt-boot', '-e', 'efi/microsoft/boot/efisys.bin', '-no-emul-boot'] : [];
  await runTool('xorriso', ['-as', 'mkisofs', '-quiet', ...extra, ...bootArgs, '-o', out, srcDir], { env: TOOL_ENV, timeoutMs: 60_000 });
}

/** `genisoimage -udf`: UDF 1.02 plus an ISO 9660 bridge, with El Torito as in uup-dump's converter. */
export async function makeGenisoimageUdf(srcDir: string, out: string, extra: string[] = []): Promise<void> {
  await runTool(
    'genisoimage',
    [
      '-quiet',
      '-udf',
      '-D',
      '-b',
      'boot/etfsboot.com',
      '-no-emul-boot',
      '-boot-load-size',
      '8',
      '-boot-load-seg',
      '0x7c0',
      '-eltorito-alt-boot',
      '-b',
      'efi/microsoft/boot/efisys.bin',
      '-no-emul-boot',
      ...extra,
      '-o',
      out,
      srcDir,
    ],
    { env: TOOL_ENV, timeoutMs: 60_000 },
  );
}

export interface ListedFile {
  path: string;
  isDirectory: boolean;
  size: number;
}

/** `7zz l -slt`: path, folder flag and size of every entry. */
export async function listWith7z(iso: string): Promise<{ type: string; files: ListedFile[] }> {
  const { stdout } = await runTool('7zz', ['l', '-slt', iso], { env: TOOL_ENV, timeoutMs: 60_000 });
  const [head, body = ''] = stdout.split('\n----------\n');
  const type = /^Type = (.*)$/m.exec(head)?.[1] ?? '';
  const files: ListedFile[] = [];
  for (const block of body.split('\n\n')) {
    const fields = new Map<string, string>();
    for (const line of block.split('\n')) {
      const eq = line.indexOf(' = ');
      if (eq > 0) fields.set(line.slice(0, eq), line.slice(eq + 3));
    }
    const path = fields.get('Path');
    // 7-Zip shows El Torito images as synthetic "[BOOT]/…" entries; they are not in any tree.
    if (path === undefined || path.startsWith('[BOOT]')) continue;
    const isDirectory = fields.get('Folder') === '+';
    files.push({ path: `/${path}`, isDirectory, size: isDirectory ? 0 : Number(fields.get('Size') ?? '0') });
  }
  return { type, files };
}

/** `xorriso -find / -exec lsdl`: the Rock Ridge view as xorriso loads it. */
export async function listWithXorriso(iso: string): Promise<ListedFile[]> {
  const { stdout } = await runTool('xorriso', ['-indev', iso, '-find', '/', '-exec', 'lsdl'], { env: TOOL_ENV, timeoutMs: 60_000 });
  const files: ListedFile[] = [];
  for (const line of stdout.split('\n')) {
    const m = /^(\S)\S+\s+\d+\s+\S+\s+\S+\s+(\d+)\s+\w+\s+\d+\s+[\d:]+\s+'(.*)'$/.exec(line);
    if (!m || m[3] === '/') continue;
    files.push({ path: m[3].replace(/'"'"'/g, "'"), isDirectory: m[1] === 'd', size: m[1] === 'd' ? 0 : Number(m[2]) });
  }
  return files;
}

export interface ReportedBootImage {
  platform: 'BIOS' | 'UEFI' | string;
  bootable: boolean;
  emulation: string;
  loadSegment: number;
  loadSize: number;
  lba: number;
  path?: string;
}

/** `xorriso -report_el_torito plain`. */
export async function reportElTorito(iso: string): Promise<ReportedBootImage[]> {
  const { stdout } = await runTool('xorriso', ['-indev', iso, '-report_el_torito', 'plain'], { env: TOOL_ENV, timeoutMs: 60_000 });
  const images: ReportedBootImage[] = [];
  for (const line of stdout.split('\n')) {
    const img = /^El Torito boot img :\s+(\d+)\s+(\S+)\s+(\S)\s+(\S+)\s+(0x[0-9a-f]+)\s+\S+\s+(\d+)\s+(\d+)/.exec(line);
    if (img)
      images[Number(img[1]) - 1] = {
        platform: img[2],
        bootable: img[3] === 'y',
        emulation: img[4],
        loadSegment: Number.parseInt(img[5], 16),
        loadSize: Number(img[6]),
        lba: Number(img[7]),
      };
    const path = /^El Torito img path :\s+(\d+)\s+(.*)$/.exec(line);
    if (path && images[Number(path[1]) - 1]) images[Number(path[1]) - 1].path = path[2];
  }
  return images;
}

/** `udfinfo` key=value output. */
export async function udfinfo(image: string): Promise<Map<string, string>> {
  const { stdout } = await runTool('udfinfo', [image], { env: TOOL_ENV, timeoutMs: 60_000 });
  const out = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0 && !out.has(line.slice(0, eq))) out.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return out;
}

export async function sha256File(path: string): Promise<string> {
  return sha256(await readFile(path));
}

function retag(b: Uint8Array, at: number, crcLength?: number): void {
  const v = new DataView(b.buffer, b.byteOffset + at);
  if (crcLength !== undefined) v.setUint16(10, crcLength, true);
  v.setUint16(8, crcItu(b.subarray(at + 16, at + 16 + v.getUint16(10, true))), true);
  let sum = 0;
  for (let i = 0; i < 16; i++) if (i !== 4) sum += b[at + i];
  b[at + 4] = sum & 0xff;
}

/**
 * Rewrites a genisoimage UDF 1.02 image (2048-byte blocks, short_ad file entries) into a UDF 2.50
 * layout with a metadata partition (OSTA UDF 2.2.10), because no tool installed here can write one.
 * The metadata file maps the physical partition rotated by half its length in two extents, so any
 * address translated the wrong way lands on the wrong block. The file set descriptor and the root
 * directory (entry and data) are then reached only through the metadata partition; other entries
 * stay addressed in the physical partition, as UDF allows. udfinfo and 7-Zip check the result.
 */
export function convertToMetadataPartition(image: Uint8Array): Uint8Array {
  const bs = 2048;
  // One block appended at the end holds the metadata file entry; the partition grows to reach it.
  const b = new Uint8Array(image.length + 2 * bs);
  b.set(image);
  const v = new DataView(b.buffer);
  const metadataFileBlock = image.length / bs;
  const anchor = 256 * bs;
  const sequences = [
    { start: v.getUint32(anchor + 20, true), count: v.getUint32(anchor + 16, true) / bs },
    { start: v.getUint32(anchor + 28, true), count: v.getUint32(anchor + 24, true) / bs },
  ];
  let P = -1;
  let L = -1;
  for (let s = sequences[0].start; s < sequences[0].start + sequences[0].count; s++) {
    if (v.getUint16(s * bs, true) === 5) {
      P = v.getUint32(s * bs + 188, true);
      L = v.getUint32(s * bs + 192, true);
    }
  }
  if (P < 0) throw new Error('no partition descriptor');
  const K = Math.floor(L / 2);
  const meta = (p: number) => (p - K + L) % L;
  const M = metadataFileBlock - P;
  let fsdBlock = -1;
  for (const seq of sequences) {
    for (let s = seq.start; s < seq.start + seq.count; s++) {
      const at = s * bs;
      const id = v.getUint16(at, true);
      if (id === 5) {
        v.setUint32(at + 192, M + 2, true);
        b.set(new TextEncoder().encode('+NSR03'), at + 25);
        retag(b, at);
      } else if (id === 6) {
        fsdBlock = v.getUint32(at + 252, true);
        v.setUint16(at + 216 + 24, 0x0250, true);
        v.setUint32(at + 252, meta(fsdBlock), true);
        v.setUint16(at + 256, 1, true);
        v.setUint32(at + 264, 6 + 64, true);
        v.setUint32(at + 268, 2, true);
        const m = at + 440 + 6;
        b[m] = 2;
        b[m + 1] = 64;
        b.set(new TextEncoder().encode('*UDF Metadata Partition'), m + 5);
        v.setUint16(m + 4 + 24, 0x0250, true);
        v.setUint16(m + 36, 1, true);
        v.setUint16(m + 38, 0, true);
        v.setUint32(m + 40, M, true);
        v.setUint32(m + 44, M + 1, true);
        v.setUint32(m + 48, 0xffffffff, true);
        v.setUint32(m + 52, 32, true);
        v.setUint16(m + 56, 1, true);
        retag(b, at, 440 + 70 - 16);
        // The integrity descriptor records the minimum UDF read revision (OSTA UDF 2.2.6.4); N = 1 partition here.
        const lvid = v.getUint32(at + 436, true) * bs;
        if (v.getUint16(lvid, true) === 9) {
          const iu = lvid + 80 + 8 * v.getUint32(lvid + 72, true);
          v.setUint16(iu + 40, 0x0250, true);
          v.setUint16(iu + 42, 0x0250, true);
          v.setUint16(iu + 44, 0x0250, true);
          retag(b, lvid);
        }
      }
    }
  }
  // VRS: UDF 2.00 and later record NSR03 (ECMA-167 3rd edition).
  for (let s = 16; s < 32; s++) if (new TextDecoder().decode(b.subarray(s * bs + 1, s * bs + 6)) === 'NSR02') b.set(new TextEncoder().encode('NSR03'), s * bs + 1);
  const fsd = (P + fsdBlock) * bs;
  const rootBlock = v.getUint32(fsd + 404, true);
  v.setUint32(fsd + 12, meta(fsdBlock), true);
  v.setUint32(fsd + 404, meta(rootBlock), true);
  v.setUint16(fsd + 408, 1, true);
  retag(b, fsd);
  const fe = (P + rootBlock) * bs;
  if ((v.getUint16(fe + 16 + 18, true) & 7) !== 0) throw new Error('root entry does not use short_ad');
  v.setUint32(fe + 12, meta(rootBlock), true);
  const adStart = fe + 176 + v.getUint32(fe + 168, true);
  for (let at = adStart; at < adStart + v.getUint32(fe + 172, true); at += 8) {
    const length = v.getUint32(at, true) & 0x3fffffff;
    if (length === 0) break;
    const pos = v.getUint32(at + 4, true);
    // FIDs in the root directory: parent links now name the root by its metadata address.
    for (let f = (P + pos) * bs; f < (P + pos) * bs + length; ) {
      if (v.getUint16(f, true) !== 257) break;
      const fidBlock = Math.floor(f / bs) - P;
      v.setUint32(f + 12, meta(fidBlock), true);
      if (b[f + 18] & 0x08) {
        v.setUint32(f + 24, meta(rootBlock), true);
        v.setUint16(f + 28, 1, true);
      }
      retag(b, f);
      f += 4 * Math.ceil((38 + v.getUint16(f + 36, true) + b[f + 19]) / 4);
    }
    v.setUint32(at + 4, meta(pos), true);
  }
  retag(b, fe);
  // The metadata file entry (file type 250) with two short_ads: blocks K..L-1, then 0..K-1.
  const mf = metadataFileBlock * bs;
  v.setUint16(mf, 261, true);
  v.setUint16(mf + 2, 3, true);
  v.setUint32(mf + 12, M, true);
  v.setUint16(mf + 16 + 4, 4, true);
  v.setUint16(mf + 16 + 8, 1, true);
  b[mf + 16 + 11] = 250;
  v.setUint32(mf + 36, 0xffffffff, true);
  v.setUint32(mf + 40, 0xffffffff, true);
  v.setUint16(mf + 48, 1, true);
  v.setUint32(mf + 56, L * bs, true);
  v.setUint32(mf + 64, L, true);
  v.setUint32(mf + 172, 16, true);
  v.setUint32(mf + 176, (L - K) * bs, true);
  v.setUint32(mf + 180, K, true);
  v.setUint32(mf + 184, K * bs, true);
  v.setUint32(mf + 188, 0, true);
  retag(b, mf, 176 + 16 - 16);
  const mirror = mf + bs;
  b.copyWithin(mirror, mf, mf + bs);
  v.setUint32(mirror + 12, M + 1, true);
  b[mirror + 16 + 11] = 251;
  retag(b, mirror);
  return b;
}
