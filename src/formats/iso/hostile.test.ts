// Hostile ISO images: small real images (xorriso ISO 9660 + Joliet + Rock Ridge + El Torito,
// genisoimage -udf, mkudffs 2.01, and a UDF 2.50 metadata-partition rewrite) patched into loops,
// out-of-range extents, broken tags and catalogs, each with the exact error code or the documented
// tolerant behaviour; then a structure-aware fuzz run over all of them with a time and heap guard.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import { makeTempDir } from '../../../test/helpers/corpus.js';
import { DeployForgeError } from '../../errors.js';
import { BufferSource, type ByteSource } from '../../util/byte-source.js';
import { runTool } from '../../util/exec.js';
import { type IsoEntry, type IsoImage, openIso, type TreeKind } from './index.js';
import { type DirectoryRecord, parseDirectoryExtent } from './iso9660-directory.js';
import { convertToMetadataPartition, makeGenisoimageUdf, makeXorrisoIso, patternBytes, writeTree } from './test-support.js';
import { crcItu } from './udf-tag.js';

const SECTOR = 2048;

const files = new Map<string, Uint8Array>([
  ['boot/etfsboot.com', patternBytes(4096, 21)],
  ['efi/microsoft/boot/efisys.bin', patternBytes(8192, 22)],
  ['sources/install.wim', patternBytes(20_000, 23)],
  ['sources/A Long Name For Joliet.txt', patternBytes(100, 24)],
  ['sources/sub/x.bin', patternBytes(3000, 25)],
  ['a/b/deep.txt', patternBytes(10, 26)],
  ['empty.dat', new Uint8Array(0)],
]);
// Enough long names that the "many" directory spans two sectors in every tree.
for (let i = 0; i < 30; i++) files.set(`many/File number ${String(i).padStart(2, '0')} with a long name.txt`, patternBytes(1 + i, 100 + i));

let temp: { path: string; cleanup: () => Promise<void> };
/** xorriso: ISO 9660 level 3 + Joliet + Rock Ridge + El Torito (BIOS and UEFI entries). */
let X: Uint8Array;
/** genisoimage -udf: UDF 1.02 bridge with El Torito. */
let U: Uint8Array;
/** U rewritten to UDF 2.50 with a metadata partition. */
let M: Uint8Array;
/** mkudffs 2.01, 512-byte blocks: default (embedded root) and long_ad root. */
let K: Uint8Array;
let KL: Uint8Array;

before(async () => {
  temp = await makeTempDir('df-iso-hostile-');
  const src = join(temp.path, 'src');
  await writeTree(src, files);
  await makeXorrisoIso(src, join(temp.path, 'x.iso'), ['-iso-level', '3', '-J', '-R', '-V', 'HOSTILE']);
  await makeGenisoimageUdf(src, join(temp.path, 'u.iso'), ['-V', 'HOSTILE_UDF']);
  for (const [name, extra] of [
    ['k.img', []],
    ['kl.img', ['--ad=long']],
  ] as const) {
    await runTool('truncate', ['-s', '256K', join(temp.path, name)]);
    await runTool('mkudffs', ['--media-type=hd', '--udfrev=2.01', '--blocksize=512', ...extra, '--label=HOSTILE_MK', join(temp.path, name)], { timeoutMs: 60_000 });
  }
  X = new Uint8Array(await readFile(join(temp.path, 'x.iso')));
  U = new Uint8Array(await readFile(join(temp.path, 'u.iso')));
  M = convertToMetadataPartition(U);
  K = new Uint8Array(await readFile(join(temp.path, 'k.img')));
  KL = new Uint8Array(await readFile(join(temp.path, 'kl.img')));
});

after(async () => {
  await temp.cleanup();
});

// ---------------------------------------------------------------------------------------------
// Byte helpers

function u16(b: Uint8Array, at: number): number {
  return b[at] | (b[at + 1] << 8);
}
function u32(b: Uint8Array, at: number): number {
  return (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;
}
function put16(b: Uint8Array, at: number, v: number): void {
  b[at] = v & 0xff;
  b[at + 1] = (v >>> 8) & 0xff;
}
function put32(b: Uint8Array, at: number, v: number): void {
  for (let i = 0; i < 4; i++) b[at + i] = (v >>> (8 * i)) & 0xff;
}
/** ECMA-119 §7.3.3 both-byte-order 32-bit field. */
function putBoth32(b: Uint8Array, at: number, v: number): void {
  put32(b, at, v);
  for (let i = 0; i < 4; i++) b[at + 4 + i] = (v >>> (8 * (3 - i))) & 0xff;
}

function copy(b: Uint8Array): Uint8Array {
  return new Uint8Array(b);
}

/** Recomputes a UDF tag's CRC (over its recorded CRC length, clamped to `limit`) and checksum. */
function retag(b: Uint8Array, at: number, limit = b.length - at): void {
  const crcLength = Math.min(u16(b, at + 10), Math.max(0, limit - 16));
  put16(b, at + 10, crcLength);
  put16(b, at + 8, crcItu(b.subarray(at + 16, at + 16 + crcLength)));
  let sum = 0;
  for (let i = 0; i < 16; i++) if (i !== 4) sum += b[at + i];
  b[at + 4] = sum & 0xff;
}

function hasTag(b: Uint8Array, at: number): boolean {
  if (at + 16 > b.length) return false;
  let sum = 0;
  for (let i = 0; i < 16; i++) if (i !== 4) sum += b[at + i];
  const id = u16(b, at);
  return (sum & 0xff) === b[at + 4] && ((id >= 1 && id <= 9) || (id >= 256 && id <= 266)) && b[at + 5] === 0;
}

async function open(b: Uint8Array, tree?: TreeKind): Promise<IsoImage> {
  return openIso(new BufferSource(b, 'hostile.iso'), tree ? { tree } : {});
}

async function walkAll(iso: IsoImage, limit = 10_000): Promise<IsoEntry[]> {
  const out: IsoEntry[] = [];
  for await (const e of iso.walk()) {
    out.push(e);
    if (out.length > limit) throw new Error('walk did not stop');
  }
  return out;
}

async function rejects(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (e: unknown) => {
    assert.ok(e instanceof DeployForgeError, `expected a DeployForgeError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    return true;
  });
}

// ---------------------------------------------------------------------------------------------
// ISO 9660 locations, found through the reader on the intact image

function descriptorAt(b: Uint8Array, type: number): number {
  for (let s = 16; s < 64; s++) {
    const o = s * SECTOR;
    if (b[o] === type && String.fromCharCode(...b.subarray(o + 1, o + 6)) === 'CD001') return o;
    if (b[o] === 255) break;
  }
  throw new Error(`no descriptor of type ${type}`);
}

async function directoryExtent(b: Uint8Array, tree: TreeKind, path: string): Promise<{ offset: number; length: number }> {
  const iso = await open(b, tree);
  if (path === '/') {
    const d = descriptorAt(b, tree === 'joliet' ? 2 : 1);
    return { offset: u32(b, d + 156 + 2) * SECTOR, length: u32(b, d + 156 + 10) };
  }
  const e = await iso.stat(path);
  assert.ok(e?.isDirectory, `${path} is a directory`);
  return e.extents[0];
}

function recordName(r: DirectoryRecord, joliet: boolean): string {
  let s = '';
  if (joliet) for (let i = 0; i + 1 < r.identifier.length; i += 2) s += String.fromCharCode((r.identifier[i] << 8) | r.identifier[i + 1]);
  else s = String.fromCharCode(...r.identifier);
  return s.replace(/;1$/, '').toLowerCase();
}

/** Records of a directory with absolute offsets. */
async function recordsOf(b: Uint8Array, tree: TreeKind, path: string): Promise<(DirectoryRecord & { abs: number })[]> {
  const { offset, length } = await directoryExtent(b, tree, path);
  return parseDirectoryExtent(b.subarray(offset, offset + length), SECTOR, 'test').map((r) => ({ ...r, abs: offset + r.at }));
}

async function recordOf(b: Uint8Array, tree: TreeKind, dir: string, name: string): Promise<DirectoryRecord & { abs: number }> {
  const r = (await recordsOf(b, tree, dir)).find((x) => recordName(x, tree === 'joliet') === name.toLowerCase());
  assert.ok(r, `${dir}/${name} exists in the ${tree} tree`);
  return r;
}

// ---------------------------------------------------------------------------------------------
// UDF locations

interface Fid {
  at: number;
  name: string;
  icbAt: number;
  length: number;
}

function fidsIn(b: Uint8Array, offset: number, length: number): Fid[] {
  const out: Fid[] = [];
  for (let at = offset; at + 38 <= offset + length && u16(b, at) === 257; ) {
    const nameLength = b[at + 19];
    const implLength = u16(b, at + 36);
    const total = 4 * Math.ceil((38 + implLength + nameLength) / 4);
    const raw = b.subarray(at + 38 + implLength + 1, at + 38 + implLength + nameLength);
    const name =
      b[at + 38 + implLength] === 16 ? String.fromCharCode(...Array.from({ length: raw.length / 2 }, (_, i) => (raw[2 * i] << 8) | raw[2 * i + 1])) : String.fromCharCode(...raw);
    out.push({ at, name, icbAt: at + 20, length: total });
    at += total;
  }
  return out;
}

async function udfFid(b: Uint8Array, dir: string, name: string): Promise<Fid> {
  const e = dir === '/' ? null : await (await open(b, 'udf')).stat(dir);
  const { offset, length } = e ? e.extents[0] : await udfRootData(b);
  const fid = fidsIn(b, offset, length).find((f) => f.name.toLowerCase() === name.toLowerCase());
  assert.ok(fid, `FID ${dir}/${name}`);
  return fid;
}

async function udfRootData(b: Uint8Array): Promise<{ offset: number; length: number }> {
  const iso = await open(b, 'udf');
  const first = (await iso.list('/'))[0];
  // The root's FIDs: find the block holding a FID whose ICB names the first child.
  for (let o = 0; o + SECTOR <= b.length; o += SECTOR) {
    if (u16(b, o) !== 257 || !hasTag(b, o)) continue;
    const fids = fidsIn(b, o, SECTOR);
    if (fids.some((f) => f.name === first.name)) return { offset: o, length: SECTOR };
  }
  throw new Error('no root FIDs');
}

/** Absolute offset of the (E)FE a FID points at (physical partition, genisoimage layout). */
function partitionStart(b: Uint8Array, blockSize: number): number {
  for (let o = 16 * blockSize; o < 512 * blockSize && o + blockSize <= b.length; o += blockSize) if (u16(b, o) === 5 && hasTag(b, o)) return u32(b, o + 188);
  throw new Error('no partition descriptor');
}

function tagSectors(b: Uint8Array, blockSize: number, id: number): number[] {
  const out: number[] = [];
  for (let o = 0; o + blockSize <= b.length; o += blockSize) if (u16(b, o) === id && hasTag(b, o)) out.push(o);
  return out;
}

// ---------------------------------------------------------------------------------------------

describe('hostile ISO 9660 directories', () => {
  test('a directory that lists its own ancestor (the root) is listed but not entered', async () => {
    const b = copy(X);
    const root = await directoryExtent(b, 'iso9660', '/');
    const rec = await recordOf(b, 'iso9660', '/a', 'b');
    putBoth32(b, rec.abs + 2, root.offset / SECTOR);
    putBoth32(b, rec.abs + 10, root.length);
    for (const tree of ['iso9660', 'rock-ridge'] as const) {
      const iso = await open(b, tree);
      const paths = (await walkAll(iso)).map((e) => e.path.toLowerCase());
      assert.ok(paths.includes('/a/b'));
      assert.ok(!paths.some((p) => p.startsWith('/a/b/')), 'the loop is not entered');
      assert.deepEqual(
        (await iso.list('/a/b')).map((e) => e.name),
        (await iso.list('/')).map((e) => e.name),
      );
      // Paths through the loop resolve (each step is a real lookup) and stay bounded by depth.
      assert.equal((await iso.stat('/a/b/a/b/a/b/a'))?.isDirectory, true);
      assert.equal(await iso.stat(`/${'a/b/'.repeat(100)}`), null);
    }
    // The Joliet tree has its own directories and is untouched.
    assert.ok((await walkAll(await open(b))).some((e) => e.path === '/a/b/deep.txt'));
  });

  test('a directory that lists itself (ISO 9660 and Joliet) is listed but not entered', async () => {
    for (const tree of ['iso9660', 'joliet'] as const) {
      const b = copy(X);
      const a = await directoryExtent(b, tree, '/a');
      const rec = await recordOf(b, tree, '/a', 'b');
      putBoth32(b, rec.abs + 2, a.offset / SECTOR);
      putBoth32(b, rec.abs + 10, a.length);
      const iso = await open(b, tree);
      const paths = (await walkAll(iso)).map((e) => e.path.toLowerCase());
      assert.deepEqual(
        paths.filter((p) => p.startsWith('/a')),
        ['/a', '/a/b'],
      );
    }
  });

  test('a file extent past the end of the image: listed, but openFile throws DF_TRUNCATED', async () => {
    const b = copy(X);
    const rec = await recordOf(b, 'iso9660', '/sources', 'install.wim');
    putBoth32(b, rec.abs + 2, 0x00ffffff);
    const iso = await open(b, 'iso9660');
    assert.equal((await iso.stat('/SOURCES/INSTALL.WIM'))?.size, 20_000);
    await rejects(iso.openFile('/SOURCES/INSTALL.WIM'), 'DF_TRUNCATED');
    // A size running past the end, from a valid start.
    const c = copy(X);
    putBoth32(c, (await recordOf(c, 'joliet', '/sources', 'install.wim')).abs + 10, 0xfffff000);
    await rejects((await open(c)).openFile('/sources/install.wim'), 'DF_TRUNCATED');
  });

  test('a directory extent past the end of the image throws DF_TRUNCATED when listed', async () => {
    const b = copy(X);
    putBoth32(b, (await recordOf(b, 'joliet', '/', 'sources')).abs + 2, 0x00ffffff);
    const iso = await open(b);
    await rejects(iso.list('/sources'), 'DF_TRUNCATED');
    await rejects(walkAll(iso), 'DF_TRUNCATED');
  });

  test('a multi-extent chain that never ends throws DF_ISO_BAD_MULTI_EXTENT', async () => {
    for (const tree of ['iso9660', 'joliet'] as const) {
      const b = copy(X);
      const rec = await recordOf(b, tree, '/a/b', 'deep.txt');
      b[rec.abs + 25] |= 0x80;
      await rejects((await open(b, tree)).list('/a/b'), 'DF_ISO_BAD_MULTI_EXTENT');
    }
  });

  test('a record length of 0 mid-sector ends that sector (ECMA-119 §6.8.1.1): later records are not listed', async () => {
    const b = copy(X);
    const records = (await recordsOf(b, 'iso9660', '/')).filter((r) => r.identifier[0] > 1);
    const efi = records.findIndex((r) => recordName(r, false) === 'efi');
    assert.ok(efi > 0);
    b[records[efi].abs] = 0;
    const iso = await open(b, 'iso9660');
    assert.deepEqual(
      (await iso.list('/')).map((e) => e.name),
      records.slice(0, efi).map((r) => recordName(r, false).toUpperCase()),
    );
  });

  test('a directory record crossing a sector end throws DF_ISO_BAD_RECORD', async () => {
    const b = copy(X);
    const dir = await directoryExtent(b, 'joliet', '/many');
    assert.ok(dir.length > SECTOR, 'the many directory spans two sectors');
    const inFirst = (await recordsOf(b, 'joliet', '/many')).filter((r) => r.abs < dir.offset + SECTOR);
    const last = inFirst[inFirst.length - 1];
    const length = dir.offset + SECTOR - last.abs + 8;
    assert.ok(length <= 255);
    b[last.abs] = length;
    await rejects((await open(b)).list('/many'), 'DF_ISO_BAD_RECORD');
  });

  test('a 4 GB root directory in a tiny image throws DF_ISO_DIRECTORY_TOO_LARGE without allocating it; the Joliet tree still reads', async () => {
    const b = copy(X);
    putBoth32(b, descriptorAt(b, 1) + 156 + 10, 0xfffff800);
    const before = process.memoryUsage().arrayBuffers;
    assert.equal((await (await open(b)).stat('/a/b/deep.txt'))?.size, 10);
    await rejects((await open(b, 'iso9660')).list('/'), 'DF_ISO_DIRECTORY_TOO_LARGE');
    await rejects(walkAll(await open(b, 'rock-ridge')), 'DF_ISO_DIRECTORY_TOO_LARGE');
    assert.ok(process.memoryUsage().arrayBuffers - before < 16 * 1024 * 1024);
  });

  test('a 48 MiB subdirectory in a 0.5 MB image (larger than the image) throws DF_ISO_DIRECTORY_TOO_LARGE without allocating it', async () => {
    const b = copy(X);
    putBoth32(b, (await recordOf(b, 'joliet', '/', 'sources')).abs + 10, 48 * 1024 * 1024);
    const before = process.memoryUsage().arrayBuffers;
    await rejects((await open(b)).list('/sources'), 'DF_ISO_DIRECTORY_TOO_LARGE');
    assert.ok(process.memoryUsage().arrayBuffers - before < 16 * 1024 * 1024);
  });

  test('directories overlapping the same bytes (sizes summing past the image) throw DF_ISO_OVERLAPPING_DIRECTORIES', async () => {
    const b = copy(X);
    // xorriso pads the image with zero sectors: empty directories can be pointed anywhere in them.
    const sectors = b.length / SECTOR;
    let tail = 0;
    while (tail < sectors && b.subarray((sectors - 1 - tail) * SECTOR, (sectors - tail) * SECTOR).every((x) => x === 0)) tail++;
    assert.ok(tail >= 100, `${tail} zero sectors at the end`);
    const dirs = (await recordsOf(b, 'iso9660', '/')).filter((r) => r.isDirectory && r.identifier[0] > 1);
    assert.ok(dirs.length * (tail - dirs.length) * SECTOR > b.length);
    dirs.forEach((r, i) => {
      putBoth32(b, r.abs + 2, sectors - tail + i);
      putBoth32(b, r.abs + 10, (tail - i) * SECTOR);
    });
    const iso = await open(b, 'iso9660');
    assert.equal((await iso.list('/a')).length, 0);
    await rejects(walkAll(iso), 'DF_ISO_OVERLAPPING_DIRECTORIES');
  });

  test('Joliet names of odd length throw DF_ISO_BAD_NAME in the Joliet tree; the other trees still read', async () => {
    const b = copy(X);
    const rec = await recordOf(b, 'joliet', '/a/b', 'deep.txt');
    b[rec.abs + 32] -= 1;
    await rejects((await open(b)).list('/a/b'), 'DF_ISO_BAD_NAME');
    assert.equal((await (await open(b, 'rock-ridge')).stat('/a/b/deep.txt'))?.size, 10);
    assert.equal((await (await open(b, 'iso9660')).stat('/A/B/DEEP.TXT'))?.size, 10);
  });
});

describe('hostile Rock Ridge continuation areas', () => {
  /** Writes a CE entry over the file record's first SUSP entry of at least 28 bytes, padding the rest with a dummy entry. */
  async function withContinuation(b: Uint8Array, target: { block: number; offset: number; length: number }): Promise<void> {
    const rec = await recordOf(b, 'iso9660', '/sources', 'install.wim');
    const su = rec.abs + rec.recordLength - rec.systemUse.length;
    let at = su;
    while (at + 4 <= su + rec.systemUse.length && b[at + 2] < 28) at += b[at + 2];
    const old = b[at + 2];
    assert.ok(old >= 28, 'a SUSP entry long enough for CE');
    writeCe(b, at, target);
    if (old > 28) b.set([0x58, 0x58, old - 28, 1], at + 28);
  }
  function writeCe(b: Uint8Array, at: number, target: { block: number; offset: number; length: number }): void {
    b.set([0x43, 0x45, 28, 1], at);
    putBoth32(b, at + 4, target.block);
    putBoth32(b, at + 12, target.offset);
    putBoth32(b, at + 20, target.length);
  }

  test('a CE area that continues into itself is read once', async () => {
    const b = copy(X);
    // Sector 1 (system area, zeros in xorriso images) holds a CE pointing at itself.
    writeCe(b, SECTOR, { block: 1, offset: 0, length: 28 });
    await withContinuation(b, { block: 1, offset: 0, length: 28 });
    const iso = await open(b, 'rock-ridge');
    assert.equal((await iso.stat('/sources/install.wim'))?.size, 20_000);
    assert.ok((await walkAll(iso)).length > 40);
  });

  test('two CE areas that continue into each other are each read once', async () => {
    const b = copy(X);
    writeCe(b, SECTOR, { block: 1, offset: 100, length: 28 });
    writeCe(b, SECTOR + 100, { block: 1, offset: 0, length: 28 });
    await withContinuation(b, { block: 1, offset: 0, length: 28 });
    assert.equal((await (await open(b, 'rock-ridge')).stat('/sources/install.wim'))?.size, 20_000);
  });

  test('a CE area of absurd length throws DF_ISO_BAD_SUSP; one past the end throws DF_TRUNCATED', async () => {
    const b = copy(X);
    await withContinuation(b, { block: 1, offset: 0, length: 0x7fffffff });
    await rejects((await open(b, 'rock-ridge')).list('/sources'), 'DF_ISO_BAD_SUSP');
    const c = copy(X);
    await withContinuation(c, { block: 0x00ffffff, offset: 0, length: 100 });
    await rejects((await open(c, 'rock-ridge')).list('/sources'), 'DF_TRUNCATED');
  });
});

describe('hostile El Torito catalogs', () => {
  function catalogAt(b: Uint8Array): number {
    return u32(b, descriptorAt(b, 0) + 0x47) * SECTOR;
  }

  test('a validation entry with a bad checksum throws DF_ELTORITO_BAD_CATALOG', async () => {
    const b = copy(X);
    b[catalogAt(b) + 4] ^= 0x20;
    await rejects(open(b), 'DF_ELTORITO_BAD_CATALOG');
  });

  test('a validation entry without the 55 AA key throws DF_ELTORITO_BAD_CATALOG', async () => {
    const b = copy(X);
    b[catalogAt(b) + 30] = 0;
    b[catalogAt(b) + 31] = 0;
    await rejects(open(b), 'DF_ELTORITO_BAD_CATALOG');
  });

  test('a section header counting entries past the catalog throws DF_ELTORITO_BAD_CATALOG', async () => {
    const b = copy(X);
    const header = catalogAt(b) + 64;
    assert.ok(b[header] === 0x91 || b[header] === 0x90, 'a section header follows the default entry');
    // Past the catalog sector, into bytes that are not boot entries (indicator neither 88 nor 00).
    put16(b, header + 2, 70);
    b[catalogAt(b) + SECTOR] = 0x4c;
    await rejects(open(b), 'DF_ELTORITO_BAD_ENTRY');
    // Past the four sectors a catalog may span (zeros there read as non-bootable entries).
    b.fill(0, catalogAt(b) + SECTOR, catalogAt(b) + 4 * SECTOR);
    put16(b, header + 2, 0xffff);
    await rejects(open(b), 'DF_ELTORITO_BAD_CATALOG');
  });

  test('a boot image LBA past the end is reported as recorded, without a path', async () => {
    const b = copy(X);
    put32(b, catalogAt(b) + 32 + 8, 0xfffffff0);
    const iso = await open(b);
    assert.equal(iso.bootCatalog[0].loadRba, 0xfffffff0);
    assert.equal(iso.bootCatalog[0].bootImagePath, undefined);
    assert.equal(iso.bootCatalog[1].bootImagePath?.toLowerCase(), '/efi/microsoft/boot/efisys.bin');
  });

  test('a boot catalog pointer past the end throws DF_ELTORITO_BAD_CATALOG', async () => {
    const b = copy(X);
    put32(b, descriptorAt(b, 0) + 0x47, 0x00ffffff);
    await rejects(open(b), 'DF_ELTORITO_BAD_CATALOG');
  });
});

describe('hostile UDF structures', () => {
  test('a FID pointing back at the root is listed but not entered', async () => {
    const b = copy(U);
    const fsd = tagSectors(b, SECTOR, 256)[0];
    const fid = await udfFid(b, '/a', 'b');
    b.set(b.subarray(fsd + 400 + 4, fsd + 400 + 10), fid.icbAt + 4);
    retag(b, fid.at, fid.length);
    const iso = await open(b);
    assert.equal(iso.tree, 'udf');
    const paths = (await walkAll(iso)).map((e) => e.path);
    assert.ok(paths.includes('/a/b'));
    assert.ok(!paths.some((p) => p.startsWith('/a/b/')));
    assert.deepEqual(
      (await iso.list('/a/b')).map((e) => e.name),
      (await iso.list('/')).map((e) => e.name),
    );
  });

  test('a FID pointing at an ancestor directory is listed but not entered', async () => {
    const b = copy(U);
    const a = await udfFid(b, '/', 'a');
    const fid = await udfFid(b, '/a/b', 'deep.txt');
    b.set(b.subarray(a.icbAt + 4, a.icbAt + 10), fid.icbAt + 4);
    retag(b, fid.at, fid.length);
    const iso = await open(b);
    const entries = await walkAll(iso);
    assert.equal(entries.find((e) => e.path === '/a/b/deep.txt')?.isDirectory, true);
    assert.ok(!entries.some((e) => e.path.startsWith('/a/b/deep.txt/')));
  });

  test('a short_ad past the end of the image: listed, but openFile throws DF_TRUNCATED', async () => {
    const b = copy(U);
    const fid = await udfFid(b, '/sources', 'install.wim');
    const fe = (partitionStart(b, SECTOR) + u32(b, fid.icbAt + 4)) * SECTOR;
    assert.equal(u16(b, fe), 261);
    assert.equal(u16(b, fe + 34) & 7, 0, 'short_ad');
    put32(b, fe + 176 + u32(b, fe + 168) + 4, 0x3ffffff0);
    retag(b, fe, SECTOR);
    const iso = await open(b);
    assert.equal((await iso.stat('/sources/install.wim'))?.size, 20_000);
    await rejects(iso.openFile('/sources/install.wim'), 'DF_TRUNCATED');
  });

  test('a long_ad past the end (root of a mkudffs --ad=long image) throws DF_TRUNCATED; one naming a missing partition throws DF_UDF_BAD_PARTITION', async () => {
    const efes = tagSectors(KL, 512, 266);
    const root = efes.find((o) => KL[o + 16 + 11] === 4);
    assert.ok(root !== undefined);
    assert.equal(u16(KL, root + 34) & 7, 1, 'long_ad');
    const ad = root + 216 + u32(KL, root + 208);
    const b = copy(KL);
    put32(b, ad + 4, 0x3ffffff0);
    retag(b, root, 512);
    await rejects(walkAll(await open(b)), 'DF_TRUNCATED');
    const c = copy(KL);
    put16(c, ad + 8, 5);
    retag(c, root, 512);
    await rejects(open(c), 'DF_UDF_BAD_PARTITION');
  });

  function vdsDescriptors(b: Uint8Array, id: number): number[] {
    return tagSectors(b, SECTOR, id).filter((o) => o < 256 * SECTOR);
  }

  test('a damaged main volume descriptor sequence falls back to the reserve (ECMA-167 3/8.4.2)', async () => {
    const [lvdMain] = vdsDescriptors(U, 6);
    const [pdMain] = vdsDescriptors(U, 5);
    const [pvdMain] = vdsDescriptors(U, 1);
    const damage: [string, (b: Uint8Array) => void][] = [
      [
        'tag checksum',
        (b) => {
          b[lvdMain + 4] ^= 0xff;
        },
      ],
      [
        'CRC',
        (b) => {
          b[pdMain + 100] ^= 0xff;
        },
      ],
      [
        'tag location',
        (b) => {
          put32(b, pvdMain + 12, 7);
          retag(b, pvdMain);
        },
      ],
    ];
    for (const [what, hurt] of damage) {
      const b = copy(U);
      hurt(b);
      const iso = await open(b);
      assert.equal(iso.tree, 'udf', what);
      assert.equal(iso.volumeLabel, 'HOSTILE_UDF', what);
      assert.equal((await iso.stat('/sources/install.wim'))?.size, 20_000, what);
    }
  });

  test('main and reserve both damaged: DF_UDF_BAD_TAG (checksum) or DF_UDF_BAD_CRC', async () => {
    const b = copy(U);
    for (const o of vdsDescriptors(b, 6)) b[o + 4] ^= 0xff;
    await rejects(open(b), 'DF_UDF_BAD_TAG');
    const c = copy(U);
    for (const o of vdsDescriptors(c, 5)) c[o + 100] ^= 0xff;
    await rejects(open(c), 'DF_UDF_BAD_CRC');
  });

  test('an AVDP missing at sector 256 but present at the last sector is found there', async () => {
    for (const [base, bs] of [
      [U, SECTOR],
      [K, 512],
    ] as const) {
      const b = copy(base);
      b.fill(0, 256 * bs, 257 * bs);
      const iso = await open(b);
      assert.equal(iso.tree, 'udf');
      assert.ok((await iso.list('/')).length >= 0);
      // Without the last one and the one at N-256 (ECMA-167 3/8.4.2.1), there is no anchor at all.
      const last = b.length / bs - 1;
      for (const sector of [256, 512, last, last - 256]) if (sector < b.length / bs) b.fill(0, sector * bs, (sector + 1) * bs);
      await rejects(open(b), 'DF_UDF_NO_ANCHOR');
    }
  });

  test('a partition starting outside the image throws DF_UDF_BAD_ALLOCATION; a map naming a missing partition DF_UDF_BAD_PARTITION', async () => {
    const b = copy(U);
    for (const o of vdsDescriptors(b, 5)) {
      put32(b, o + 188, 0x7fffff00);
      retag(b, o);
    }
    await rejects(open(b), 'DF_UDF_BAD_ALLOCATION');
    const c = copy(U);
    for (const o of vdsDescriptors(c, 6)) {
      put16(c, o + 440 + 4, 7);
      retag(c, o);
    }
    await rejects(open(c), 'DF_UDF_BAD_PARTITION');
  });

  test('a file entry with an absurd allocation descriptor length throws DF_UDF_BAD_FILE_ENTRY', async () => {
    const b = copy(U);
    const fid = await udfFid(b, '/sources', 'install.wim');
    const fe = (partitionStart(b, SECTOR) + u32(b, fid.icbAt + 4)) * SECTOR;
    put32(b, fe + 172, 0xfffffff0);
    retag(b, fe, SECTOR);
    await rejects((await open(b)).list('/sources'), 'DF_UDF_BAD_FILE_ENTRY');
    // The same in the root's entry stops the open.
    const c = copy(U);
    const fsd = tagSectors(c, SECTOR, 256)[0];
    const rootFe = (partitionStart(c, SECTOR) + u32(c, fsd + 404)) * SECTOR;
    put32(c, rootFe + 168, 0x7ffffff0);
    retag(c, rootFe, SECTOR);
    await rejects(open(c), 'DF_UDF_BAD_FILE_ENTRY');
  });

  test('a 4 GB UDF directory throws DF_ISO_DIRECTORY_TOO_LARGE without allocating it', async () => {
    const b = copy(U);
    const fid = await udfFid(b, '/', 'sources');
    const fe = (partitionStart(b, SECTOR) + u32(b, fid.icbAt + 4)) * SECTOR;
    put32(b, fe + 56, 0xfffff000);
    retag(b, fe, SECTOR);
    await rejects((await open(b)).list('/sources'), 'DF_ISO_DIRECTORY_TOO_LARGE');
  });
});

// ---------------------------------------------------------------------------------------------
// Fuzzing

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as (options?: { type: 'minor' | 'major' }) => void;
/** A scavenge before each case is cheap (a full collection would make the run ten times slower). */
const GC_MODE = { type: 'minor' as const };

interface Region {
  offset: number;
  length: number;
  /** Offset of a UDF tag at the region's start, to re-checksum after damage so it passes the gate. */
  tag: boolean;
}

interface Base {
  name: string;
  bytes: Uint8Array;
  trees: (TreeKind | undefined)[];
  regions: Region[];
  blockSize: number;
}

/** Where the damage matters: descriptors, path tables, directories, the boot catalog, UDF tags. */
async function hotRegions(b: Uint8Array, blockSize: number, trees: TreeKind[]): Promise<Region[]> {
  const regions: Region[] = [];
  const add = (offset: number, length: number, tag = false) => {
    if (offset >= 0 && length > 0 && offset + length <= b.length) regions.push({ offset, length, tag });
  };
  for (let s = 16; s < 40 && (s + 1) * SECTOR <= b.length; s++) {
    const o = s * SECTOR;
    const id = String.fromCharCode(...b.subarray(o + 1, o + 6));
    if (!['CD001', 'BEA01', 'NSR02', 'NSR03', 'TEA01'].includes(id)) break;
    add(o, SECTOR);
    if (id === 'CD001' && (b[o] === 1 || b[o] === 2)) {
      const size = u32(b, o + 132);
      add(u32(b, o + 140) * SECTOR, Math.min(size, SECTOR));
      add(((b[o + 148] << 24) | (b[o + 149] << 16) | (b[o + 150] << 8) | b[o + 151]) * SECTOR, Math.min(size, SECTOR));
    }
    if (id === 'CD001' && b[o] === 0) add(u32(b, o + 0x47) * SECTOR, SECTOR);
  }
  for (const tree of trees) {
    const iso = await open(b, tree);
    if (tree !== 'udf') {
      const d = descriptorAt(b, tree === 'joliet' ? 2 : 1);
      add(u32(b, d + 156 + 2) * SECTOR, u32(b, d + 156 + 10));
    }
    for await (const e of iso.walk()) if (e.isDirectory) for (const x of e.extents) add(x.offset, x.length);
  }
  if (trees.includes('udf')) for (let o = 0; o + blockSize <= b.length; o += blockSize) if (hasTag(b, o)) add(o, blockSize, true);
  return regions;
}

const INTERESTING_32 = [0, 1, 2, 16, 255, 256, 257, 0x7fff, 0x8000, 0xffff, 0x10000, 0x3fffffff, 0x40000000, 0x7fffffff, 0x80000000, 0xc0000000, 0xfffffffe, 0xffffffff];

const mutationArb = fc.oneof(
  fc.record({ kind: fc.constant('byte' as const), region: fc.nat(), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({
    kind: fc.constant('u32' as const),
    region: fc.nat(),
    at: fc.nat(),
    value: fc.oneof(fc.constantFrom(...INTERESTING_32), fc.integer({ min: 0, max: 1024 })),
    both: fc.boolean(),
  }),
  fc.record({ kind: fc.constant('u16' as const), region: fc.nat(), at: fc.nat(), value: fc.constantFrom(0, 1, 4, 5, 7, 0x20, 0xff, 0x7fff, 0xffff) }),
  fc.record({ kind: fc.constant('zero' as const), region: fc.nat(), at: fc.nat(), value: fc.integer({ min: 1, max: 64 }) }),
  fc.record({ kind: fc.constant('copy' as const), region: fc.nat(), at: fc.nat(), value: fc.nat() }),
);

const caseArb = fc.record({
  tree: fc.nat(),
  mutations: fc.array(mutationArb, { minLength: 1, maxLength: 8 }),
  retag: fc.boolean(),
  // One case in five is also truncated, half of those inside a hot region.
  truncate: fc.oneof({ weight: 4, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.record({ hot: fc.boolean(), at: fc.nat() }) }),
});

type Case = typeof caseArb extends fc.Arbitrary<infer T> ? T : never;

/** Applies a case to `b` in place; returns the undo list (offset, original bytes). */
function damage(base: Base, b: Uint8Array, c: Case): { undo: [number, Uint8Array][]; length: number } {
  const undo: [number, Uint8Array][] = [];
  const save = (offset: number, length: number) => {
    const end = Math.min(b.length, offset + length);
    if (end > offset) undo.push([offset, b.slice(offset, end)]);
  };
  const touched = new Set<Region>();
  for (const m of c.mutations) {
    const r = base.regions[m.region % base.regions.length];
    touched.add(r);
    const at = r.offset + (m.at % r.length);
    switch (m.kind) {
      case 'byte':
        save(at, 1);
        b[at] = m.value;
        break;
      case 'u32':
        if (at + 8 > b.length) break;
        save(at, 8);
        if (m.both) putBoth32(b, at, m.value);
        else put32(b, at, m.value);
        break;
      case 'u16':
        if (at + 2 > b.length) break;
        save(at, 2);
        put16(b, at, m.value);
        break;
      case 'zero': {
        const n = Math.min(m.value, r.offset + r.length - at);
        save(at, n);
        b.fill(0, at, at + n);
        break;
      }
      case 'copy': {
        // Another hot region's bytes over this one: duplicated descriptors, directories that list
        // another directory's records (loops), FIDs pointing where FIDs were.
        const from = base.regions[m.value % base.regions.length];
        const n = Math.min(from.length, r.length);
        save(r.offset, n);
        b.copyWithin(r.offset, from.offset, from.offset + n);
        break;
      }
    }
  }
  if (c.retag) {
    for (const r of touched) {
      if (!r.tag) continue;
      save(r.offset, 16);
      if (u16(b, r.offset + 10) + 16 > r.length) {
        save(r.offset, r.length);
      } else save(r.offset + 16, u16(b, r.offset + 10));
      retag(b, r.offset, r.length);
    }
  }
  let length = b.length;
  if (c.truncate) {
    const r = base.regions[c.truncate.at % base.regions.length];
    length = c.truncate.hot ? r.offset + (c.truncate.at % r.length) : c.truncate.at % b.length;
  }
  return { undo, length };
}

/** A BufferSource that yields to the event loop now and then (so a time-limit race can fire), checks the deadline, and samples the heap. */
class GuardedSource implements ByteSource {
  readonly size: number;
  readonly name = 'fuzzed.iso';
  private reads = 0;
  private readonly inner: BufferSource;
  constructor(
    bytes: Uint8Array,
    private readonly deadline: number,
    private readonly memory: { peak: number },
  ) {
    this.inner = new BufferSource(bytes, 'fuzzed.iso');
    this.size = bytes.length;
  }
  async read(offset: number, length: number): Promise<Uint8Array> {
    if (++this.reads % 128 === 0) {
      await new Promise((resolve) => setImmediate(resolve));
      sampleMemory(this.memory);
      if (performance.now() > this.deadline) throw new Error('fuzz case exceeded its time limit');
    }
    return this.inner.read(offset, length);
  }
  async close(): Promise<void> {}
}

function heapNow(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

function sampleMemory(memory: { peak: number }): void {
  memory.peak = Math.max(memory.peak, heapNow());
}

const CASE_LIMIT_MS = 2000;

/** Everything a caller does: open, full walk, list every directory, stat some paths, open every file and read its ends. */
async function exercise(source: ByteSource, tree: TreeKind | undefined): Promise<void> {
  const iso = await openIso(source, tree ? { tree } : {});
  const entries: IsoEntry[] = [];
  for await (const e of iso.walk()) {
    entries.push(e);
    if (entries.length > 100_000) throw new Error('walk produced more than 100,000 entries');
  }
  for (const e of [{ path: '/', isDirectory: true }, ...entries]) if (e.isDirectory) await iso.list(e.path);
  for (const path of ['/sources/install.wim', '/a/b/deep.txt', '/no/such/file', ...entries.slice(0, 3).map((e) => e.path)]) await iso.stat(path);
  for (const e of entries) {
    if (e.isDirectory) continue;
    const data = await iso.openFile(e.path);
    if (data.size > 0) {
      await data.read(0, 1);
      await data.read(data.size - 1, 1);
    }
  }
}

interface FuzzStats {
  cases: number;
  ok: number;
  codes: Map<string, number>;
  peakGrowth: number;
  ms: number;
}

async function fuzzBase(base: Base, runs: number, seed: number, stats: FuzzStats): Promise<void> {
  const work = new Uint8Array(base.bytes);
  const memory = { peak: 0 };
  let baseline = 0;
  const started = performance.now();
  await fc.assert(
    fc.asyncProperty(caseArb, async (c) => {
      // A collection before each case, so what the case allocates is measured, not earlier garbage.
      gc(GC_MODE);
      baseline = heapNow();
      memory.peak = baseline;
      const { undo, length } = damage(base, work, c);
      const tree = base.trees[c.tree % base.trees.length];
      let timer: NodeJS.Timeout | undefined;
      try {
        const source = new GuardedSource(work.subarray(0, length), performance.now() + CASE_LIMIT_MS, memory);
        const timeout = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`fuzz case did not finish within ${CASE_LIMIT_MS} ms`)), CASE_LIMIT_MS);
        });
        try {
          await Promise.race([exercise(source, tree), timeout]);
          stats.ok++;
        } catch (e) {
          if (!(e instanceof DeployForgeError)) throw e;
          stats.codes.set(e.code, (stats.codes.get(e.code) ?? 0) + 1);
        }
        sampleMemory(memory);
        const growth = memory.peak - baseline;
        stats.peakGrowth = Math.max(stats.peakGrowth, growth);
        // The reader may hold a directory or two and its tree; never a multiple of the image.
        assert.ok(growth < 4 * base.bytes.length + 4 * 1024 * 1024, `heap grew by ${growth} bytes on a ${base.bytes.length}-byte image`);
      } finally {
        clearTimeout(timer);
        for (let i = undo.length - 1; i >= 0; i--) work.set(undo[i][1], undo[i][0]);
      }
    }),
    { numRuns: runs, seed, endOnFailure: true },
  );
  stats.cases += runs;
  stats.ms += performance.now() - started;
  assert.deepEqual(work, base.bytes, 'every case was undone');
}

test('5,000+ damaged images only ever throw DeployForgeErrors, finish in time, and stay within memory', { timeout: 120_000 }, async () => {
  const bases: Base[] = [
    { name: 'xorriso', bytes: X, trees: [undefined, 'joliet', 'rock-ridge', 'iso9660'], regions: [], blockSize: SECTOR },
    { name: 'genisoimage -udf', bytes: U, trees: [undefined, 'udf', 'iso9660'], regions: [], blockSize: SECTOR },
    { name: 'UDF 2.50 metadata', bytes: M, trees: [undefined], regions: [], blockSize: SECTOR },
    { name: 'mkudffs 2.01', bytes: K, trees: [undefined], regions: [], blockSize: 512 },
    { name: 'mkudffs 2.01 long_ad', bytes: KL, trees: [undefined], regions: [], blockSize: 512 },
  ];
  const runs = [1700, 1500, 800, 500, 500];
  for (const base of bases) {
    const trees = base.trees.filter((t): t is TreeKind => t !== undefined);
    base.regions = await hotRegions(base.bytes, base.blockSize, trees.length > 0 ? trees : ['udf']);
    assert.ok(base.regions.length >= 4, `${base.name}: ${base.regions.length} hot regions`);
    // The intact image reads fully.
    await exercise(new BufferSource(base.bytes), undefined);
  }
  const stats: FuzzStats = { cases: 0, ok: 0, codes: new Map(), peakGrowth: 0, ms: 0 };
  gc();
  const before = heapNow();
  for (let i = 0; i < bases.length; i++) await fuzzBase(bases[i], runs[i], 0x5eed + i, stats);
  gc();
  const leaked = heapNow() - before;
  const codes = [...stats.codes.entries()].sort((a, b) => b[1] - a[1]);
  console.log(
    `iso fuzz: ${stats.cases} cases in ${Math.round(stats.ms)} ms; ${stats.ok} read fully; peak heap growth ${(stats.peakGrowth / 1048576).toFixed(1)} MiB; after ${(leaked / 1048576).toFixed(1)} MiB; codes ${codes.map(([c, n]) => `${c}=${n}`).join(' ')}`,
  );
  assert.ok(stats.cases >= 5000);
  assert.ok(stats.codes.size >= 10, `only ${stats.codes.size} distinct error codes: the damage does not reach deep code`);
  assert.ok(stats.ok >= stats.cases / 20, `only ${stats.ok} variants read fully`);
  assert.ok(stats.ok <= stats.cases * 0.9, `${stats.ok} of ${stats.cases} variants read fully: the damage misses the structures`);
  assert.ok(leaked < 32 * 1024 * 1024, `heap grew by ${leaked} bytes over the run`);
});
