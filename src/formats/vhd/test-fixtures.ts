// Test support, not shipped behaviour: unpacks gzip corpus images into a temp dir, builds disks
// with sfdisk and qemu-img, and runs the independent tools (qemu-img info, sfdisk --json,
// vhdiinfo) whose answers the tests compare with ours. It never writes VHD/VHDX structures itself.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { FormatError } from '../../errors.js';
import type { ByteSource } from '../../util/byte-source.js';
import { runTool } from '../../util/exec.js';

export const UTC_ENV = { ...process.env, TZ: 'UTC', LC_ALL: 'C.UTF-8' };

/** Decompresses `gzPath` into `dir` and returns the new file's path. */
export async function gunzipTo(gzPath: string, dir: string): Promise<string> {
  const out = join(dir, basename(gzPath).replace(/\.gz$/, ''));
  await pipeline(createReadStream(gzPath), createGunzip(), createWriteStream(out));
  return out;
}

export interface QemuInfo {
  'virtual-size': number;
  format: string;
  'cluster-size'?: number;
  'backing-filename'?: string;
}

export async function qemuInfo(path: string, format?: string): Promise<QemuInfo> {
  const args = ['info', '--output=json', ...(format ? ['-f', format] : []), path];
  return JSON.parse((await runTool('qemu-img', args, { env: UTC_ENV })).stdout) as QemuInfo;
}

export async function qemuToRaw(path: string, out: string, format?: string): Promise<void> {
  await runTool('qemu-img', ['convert', ...(format ? ['-f', format] : []), '-O', 'raw', path, out], { env: UTC_ENV });
}

export interface SfdiskTable {
  label: 'dos' | 'gpt';
  id: string;
  firstlba?: number;
  lastlba?: number;
  sectorsize: number;
  partitions: { node: string; start: number; size: number; type: string; uuid?: string; name?: string; attrs?: string; bootable?: boolean }[];
}

/** sfdisk's view of a raw image, or null when it finds no partition table. */
export async function sfdiskJson(path: string): Promise<SfdiskTable | null> {
  try {
    const { stdout } = await runTool('sfdisk', ['--json', path], { env: UTC_ENV });
    return (JSON.parse(stdout) as { partitiontable: SfdiskTable }).partitiontable;
  } catch (e) {
    if (/does not contain a recognized partition table/.test(String((e as { stderrTail?: string }).stderrTail ?? ''))) return null;
    throw e;
  }
}

/** Partitions a raw image with an sfdisk script (`label: gpt` / `label: dos` …). */
export async function sfdiskWrite(path: string, script: string): Promise<void> {
  await runTool('sfdisk', ['-q', '--no-reread', '--no-tell-kernel', path], { input: script, env: UTC_ENV });
}

/** sfdisk's GPT attribute text ("RequiredPartition GUID:63") as the 64-bit attribute field. */
export function sfdiskAttrsToBits(attrs: string | undefined): bigint {
  let bits = 0n;
  for (const word of (attrs ?? '').split(/[\s,]+/).filter(Boolean)) {
    if (word === 'RequiredPartition') bits |= 1n;
    else if (word === 'NoBlockIOProtocol') bits |= 2n;
    else if (word === 'LegacyBIOSBootable') bits |= 4n;
    else if (word.startsWith('GUID:')) for (const n of word.slice(5).split(',')) bits |= 1n << BigInt(n);
    else bits |= 1n << BigInt(word);
  }
  return bits;
}

/** `vhdiinfo` (libvhdi) output as key → value. */
export async function vhdiInfo(path: string): Promise<Record<string, string>> {
  const { stdout } = await runTool('vhdiinfo', [path], { env: UTC_ENV });
  const facts: Record<string, string> = {};
  for (const line of stdout.split('\n')) {
    const match = /^\t([^:]+?)\s*:\s*(.*)$/.exec(line);
    if (match) facts[match[1]] = match[2];
  }
  return facts;
}

/** Writes pseudo-random bytes at the given offsets so allocated and sparse regions differ. */
export async function scribble(path: string, spans: { offset: number; length: number }[], seed = 1): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    let x = seed >>> 0 || 1;
    for (const span of spans) {
      const bytes = Buffer.alloc(span.length);
      for (let i = 0; i < bytes.length; i++) {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        bytes[i] = x & 0xff;
      }
      await handle.write(bytes, 0, bytes.length, span.offset);
    }
  } finally {
    await handle.close();
  }
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export async function sha256File(path: string, length?: number): Promise<string> {
  const bytes = await readFile(path);
  return sha256(length === undefined ? bytes : bytes.subarray(0, length));
}

/** A read-only view of `base` with single-byte overwrites and a (possibly shorter) size, so fuzz
 *  variants of a multi-MiB image cost no copy. */
export class PatchedSource implements ByteSource {
  readonly name = 'fuzzed';
  constructor(
    private readonly base: Uint8Array,
    private readonly patches: Map<number, number>,
    readonly size: number,
  ) {}
  async read(offset: number, length: number): Promise<Uint8Array> {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > this.size) {
      throw new FormatError('DF_TRUNCATED', `fuzzed: read ${length} at ${offset} past ${this.size}`);
    }
    const out = Uint8Array.from(this.base.subarray(offset, offset + length));
    for (const [at, value] of this.patches) if (at >= offset && at < offset + length) out[at - offset] = value;
    return out;
  }
  async close(): Promise<void> {}
}
