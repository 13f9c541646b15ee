// Test support, not shipped behaviour: builds real cabinets with gcab in a temp dir and parses
// the listings of the independent tools (gcab, cabextract, 7-Zip) we compare our reader with.
// It does not write cabinets itself except by patching bytes of gcab's output.
import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { runTool } from '../../util/exec.js';
import { cfdataChecksum } from './checksum.js';

/** Oracles run in UTC so DOS times (zone-less) come out the same everywhere. */
export const UTC_ENV = { ...process.env, TZ: 'UTC', LC_ALL: 'C.UTF-8' };

export interface FixtureFile {
  /** Path with '/' separators, as given to gcab. */
  path: string;
  bytes: Uint8Array;
  /** Modification time; DOS keeps two-second steps. */
  mtime: Date;
}

export async function makeTempDir(prefix: string): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), `df-cab-${prefix}-`));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Writes `files` under `dir/src-<name>` and packs them into `dir/<name>.cab` with gcab. */
export async function makeCab(dir: string, name: string, files: FixtureFile[], options: { mszip: boolean }): Promise<string> {
  const root = join(dir, `src-${name}`);
  for (const file of files) {
    const path = join(root, file.path);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, file.bytes);
    await utimes(path, file.mtime, file.mtime);
  }
  const cab = join(dir, `${name}.cab`);
  const args = ['-c', ...(options.mszip ? ['-z'] : []), cab, ...files.map((f) => f.path)];
  await runTool('gcab', args, { cwd: root, env: UTC_ENV });
  return cab;
}

/** Deterministic pseudo-random bytes, partly compressible so MSZIP has work to do. */
export function patternBytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = i % 7 < 4 ? x & 0xff : 0x41 + (i % 26);
  }
  return out;
}

export interface OracleEntry {
  name: string;
  size: number;
  modified: string;
  attributes?: number;
}

/** `gcab -l`: "name size YYYY-MM-DD HH:MM:SS 0xATTR" per line; names may hold spaces. */
export async function listWithGcab(cab: string): Promise<OracleEntry[]> {
  const { stdout } = await runTool('gcab', ['-l', cab], { env: UTC_ENV });
  return stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const m = /^(.*) (\d+) (\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d) 0x([0-9A-Fa-f]+)$/.exec(line);
      if (!m) throw new Error(`unexpected gcab line: ${line}`);
      return {
        name: m[1],
        size: Number(m[2]),
        modified: `${m[3]}T${m[4]}`,
        attributes: Number.parseInt(m[5], 16),
      };
    });
}

/** `cabextract -l`: a table of "size | dd.mm.yyyy hh:mm:ss | name". */
export async function listWithCabextract(cab: string): Promise<OracleEntry[]> {
  const { stdout } = await runTool('cabextract', ['-l', cab], { env: UTC_ENV });
  const out: OracleEntry[] = [];
  for (const line of stdout.split('\n')) {
    const m = /^\s*(\d+) \| (\d\d)\.(\d\d)\.(\d{4}) (\d\d:\d\d:\d\d) \| (.*)$/.exec(line);
    if (m)
      out.push({
        name: m[6],
        size: Number(m[1]),
        modified: `${m[4]}-${m[3]}-${m[2]}T${m[5]}`,
      });
  }
  return out;
}

export interface SevenZipListing {
  archive: Record<string, string>;
  entries: Record<string, string>[];
}

/** `7zz l -slt`: "Key = value" blocks; the first block after "----------" is per entry. */
export async function listWithSevenZip(cab: string): Promise<SevenZipListing> {
  const { stdout } = await runTool('7zz', ['l', '-slt', cab], { env: UTC_ENV });
  const [head, body = ''] = stdout.split('\n----------\n');
  const parse = (block: string) => {
    const record: Record<string, string> = {};
    for (const line of block.split('\n')) {
      const at = line.indexOf(' = ');
      if (at > 0) record[line.slice(0, at)] = line.slice(at + 3);
    }
    return record;
  };
  const archive = parse(head.slice(head.indexOf('\n--\n') + 4));
  const entries = body
    .split(/\n\s*\n/)
    .map(parse)
    .filter((r) => r.Path !== undefined);
  return { archive, entries };
}

export interface CombineOptions {
  reserve?: { header: number; folder: number; data: number };
  previous?: { cabinet: string; disk: string };
  next?: { cabinet: string; disk: string };
  setId?: number;
  cabinetIndex?: number;
  /** 'ms-cab' sums the data reserve as MS-CAB and 7-Zip do; 'libmspack' leaves it out. */
  checksumStyle?: 'ms-cab' | 'libmspack';
}

/** Joins single-folder gcab cabinets into one cabinet with one folder per input, optionally
 *  with reserved areas (filled with junk) and previous/next names, laid out per MS-CAB 2.1–2.4.
 *  Checksums are recomputed over the data, then cbData, cbUncomp and the reserved bytes (MS-CAB
 *  2.4: "cbData through ab"); 7-Zip's and cabextract's tests check the result independently.
 *  Only for tests, and only for gcab's simple output (no reserve, no set, one folder). */
export function combineGcabCabinets(inputs: Uint8Array[], options: CombineOptions = {}): Uint8Array {
  const reserve = options.reserve ?? { header: 0, folder: 0, data: 0 };
  const hasReserve = reserve.header + reserve.folder + reserve.data > 0;
  const enc = new TextEncoder();
  const cstr = (s: string) => [...enc.encode(s), 0];
  const names: number[] = [];
  if (options.previous) names.push(...cstr(options.previous.cabinet), ...cstr(options.previous.disk));
  if (options.next) names.push(...cstr(options.next.cabinet), ...cstr(options.next.disk));

  const parts = inputs.map((bytes) => {
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (dv.getUint16(26, true) !== 1 || dv.getUint16(30, true) !== 0) throw new Error('expects plain one-folder gcab output');
    const coffFiles = dv.getUint32(16, true);
    const cFiles = dv.getUint16(28, true);
    const dataStart = dv.getUint32(36, true);
    const cCFData = dv.getUint16(40, true);
    const typeCompress = dv.getUint16(42, true);
    const blocks: Uint8Array[] = [];
    let at = dataStart;
    for (let i = 0; i < cCFData; i++) {
      const cb = dv.getUint16(at + 4, true);
      const block = new Uint8Array(8 + reserve.data + cb);
      block.set(bytes.subarray(at, at + 8), 0);
      block.fill(0xa5, 8, 8 + reserve.data);
      block.set(bytes.subarray(at + 8, at + 8 + cb), 8 + reserve.data);
      const summedHeader = block.subarray(4, options.checksumStyle === 'libmspack' ? 8 : 8 + reserve.data);
      const csum = cfdataChecksum(block.subarray(8 + reserve.data), summedHeader);
      new DataView(block.buffer).setUint32(0, dv.getUint32(at, true) === 0 ? 0 : csum, true);
      blocks.push(block);
      at += 8 + cb;
    }
    return {
      fileTable: bytes.slice(coffFiles, dataStart),
      cFiles,
      typeCompress,
      blocks,
    };
  });

  const headerLength = 36 + (hasReserve ? 4 + reserve.header : 0) + names.length;
  const folderLength = 8 + reserve.folder;
  const coffFiles = headerLength + parts.length * folderLength;
  const fileTableLength = parts.reduce((n, p) => n + p.fileTable.length, 0);
  let dataAt = coffFiles + fileTableLength;
  const total = dataAt + parts.reduce((n, p) => n + p.blocks.reduce((m, b) => m + b.length, 0), 0);
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  out.set(enc.encode('MSCF'), 0);
  dv.setUint32(8, total, true);
  dv.setUint32(16, coffFiles, true);
  out[24] = 3;
  out[25] = 1;
  dv.setUint16(26, parts.length, true);
  dv.setUint16(
    28,
    parts.reduce((n, p) => n + p.cFiles, 0),
    true,
  );
  dv.setUint16(30, (options.previous ? 1 : 0) | (options.next ? 2 : 0) | (hasReserve ? 4 : 0), true);
  dv.setUint16(32, options.setId ?? 0, true);
  dv.setUint16(34, options.cabinetIndex ?? 0, true);
  let at = 36;
  if (hasReserve) {
    dv.setUint16(at, reserve.header, true);
    out[at + 2] = reserve.folder;
    out[at + 3] = reserve.data;
    out.fill(0x5a, at + 4, at + 4 + reserve.header);
    at += 4 + reserve.header;
  }
  out.set(names, at);
  at += names.length;
  let fileAt = coffFiles;
  parts.forEach((part, index) => {
    dv.setUint32(at, dataAt, true);
    dv.setUint16(at + 4, part.blocks.length, true);
    dv.setUint16(at + 6, part.typeCompress, true);
    out.fill(0x3c, at + 8, at + folderLength);
    at += folderLength;
    out.set(part.fileTable, fileAt);
    // Re-point each CFFILE at its new folder (iFolder, MS-CAB 2.3 offset 8).
    let p = fileAt;
    for (let i = 0; i < part.cFiles; i++) {
      dv.setUint16(p + 8, index, true);
      p = out.indexOf(0, p + 16) + 1;
    }
    fileAt += part.fileTable.length;
    for (const block of part.blocks) {
      out.set(block, dataAt);
      dataAt += block.length;
    }
  });
  return out;
}
