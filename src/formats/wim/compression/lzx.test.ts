// LZX against real data: WIMs that wimlib-imagex (an independent implementation) captures with
// every LZX chunk size, DeployForge's sample boot.wim, hand-built chunks for what wimlib never
// writes (uncompressed blocks, E8 edges), and mutated real chunks that must fail cleanly.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { makeTempDir } from '../../../../test/helpers/corpus.js';
import { FormatError } from '../../../errors.js';
import { makeSampleMedia } from '../../../sample/sample-media.js';
import { BufferSource } from '../../../util/byte-source.js';
import { runTool } from '../../../util/exec.js';
import { readBlobTable } from '../blob-table.js';
import { readWimHeader } from '../header.js';
import { decompressLzx, lzxDecompressor } from './lzx.js';

const CHUNK_SIZES = [32768, 65536, 131072, 1048576, 2097152];
const sha1 = (data: Uint8Array) => createHash('sha1').update(data).digest('hex');

interface StoredChunk {
  input: Uint8Array;
  size: number;
  raw: boolean;
}
interface StoredBlob {
  sha1: string;
  size: number;
  chunks: StoredChunk[];
}

/** Reads every non-solid blob's chunks straight from the file: a compressed resource starts
 *  with (chunks − 1) chunk offsets (u32, or u64 for ≥ 4 GiB), and a chunk stored at its full
 *  size is raw (wimlib resource.h / FORMATS.md §4). */
async function readStoredBlobs(path: string): Promise<{ chunkSize: number; blobs: StoredBlob[] }> {
  const bytes = new Uint8Array(await readFile(path));
  const source = new BufferSource(bytes, path);
  const header = await readWimHeader(source);
  assert.equal(header.compression, 'lzx');
  const table = await readBlobTable(source, header);
  const chunkSize = header.chunkSize;
  const blobs: StoredBlob[] = [];
  for (const entry of table.entries) {
    const r = entry.resource;
    const size = r.originalSize;
    if (!r.flags.compressed) {
      blobs.push({ sha1: entry.sha1, size, chunks: [{ input: bytes.subarray(r.offset, r.offset + size), size, raw: true }] });
      continue;
    }
    const count = Math.ceil(size / chunkSize);
    const width = size >= 2 ** 32 ? 8 : 4;
    const tableBytes = (count - 1) * width;
    const view = new DataView(bytes.buffer, bytes.byteOffset + r.offset, tableBytes);
    const offsets = [0];
    for (let i = 0; i < count - 1; i++) offsets.push(width === 4 ? view.getUint32(i * 4, true) : Number(view.getBigUint64(i * 8, true)));
    offsets.push(r.sizeInWim - tableBytes);
    const base = r.offset + tableBytes;
    const chunks: StoredChunk[] = [];
    for (let i = 0; i < count; i++) {
      const usize = Math.min(chunkSize, size - i * chunkSize);
      const input = bytes.subarray(base + offsets[i], base + offsets[i + 1]);
      chunks.push({ input, size: usize, raw: input.length === usize });
    }
    blobs.push({ sha1: entry.sha1, size, chunks });
  }
  return { chunkSize, blobs };
}

function assemble(blob: StoredBlob, chunkSize: number): Uint8Array {
  const decompress = lzxDecompressor(chunkSize);
  const out = new Uint8Array(blob.size);
  blob.chunks.forEach((c, i) => {
    const data = c.raw ? c.input : decompress(c.input, c.size);
    assert.equal(data.length, c.size);
    out.set(data, i * chunkSize);
  });
  return out;
}

/** Deterministic bytes for the source folder. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s;
  };
}

/** Compressible data dense in E8 bytes whose operands sit on every edge of the translation. */
function makeE8Torture(size: number): Uint8Array {
  const out = new Uint8Array(size);
  const next = prng(7);
  const view = new DataView(out.buffer);
  for (let i = 0; i + 5 <= size; ) {
    if (next() % 4 === 0) {
      out.set(new TextEncoder().encode('mov eax, ebx; '.slice(0, Math.min(14, size - i))), i);
      i += 14;
      continue;
    }
    out[i] = 0xe8;
    const edges = [0, 1, -1, -i, -i - 1, 1 - i, 12_000_000, 11_999_999, 12_000_000 - i, 11_999_999 - i, -12_000_000, 0x7fffffff, -0x80000000, next() | 0, (next() % 65536) - 32768];
    view.setInt32(i + 1, edges[next() % edges.length], true);
    i += 5;
  }
  return out;
}

let tmp: { path: string; cleanup: () => Promise<void> };
const sources = new Map<string, Uint8Array>(); // sha1 → content
const wims = new Map<number, Awaited<ReturnType<typeof readStoredBlobs>>>();

before(async () => {
  tmp = await makeTempDir('deployforge-lzx-');
  const dir = join(tmp.path, 'src');
  await mkdir(dir);
  const next = prng(1);
  const lines: string[] = [];
  for (let i = 0; i < 60000; i++) lines.push(`line ${i}: the quick brown fox jumps over the lazy dog ${(i * i) % 977}`);
  const random = new Uint8Array(400000).map(() => next() & 0xff);
  const pattern = new Uint8Array(3_000_000);
  const unit = new TextEncoder().encode('ABCDEFGHIJKLMNOP'.repeat(7) + 'xyz');
  for (let i = 0; i < pattern.length; i++) pattern[i] = unit[i % unit.length];
  // Half-compressible: random runs between repeats, so blocks and tree deltas vary.
  const mixed = new Uint8Array(2_500_000);
  for (let i = 0; i < mixed.length; i++) mixed[i] = (i >> 12) % 3 === 0 ? next() & 0xff : mixed[Math.max(0, i - 1 - (next() % 300))] ^ ((next() & 0x3f) === 0 ? 1 : 0);
  const files: Record<string, Uint8Array> = {
    'text.txt': new TextEncoder().encode(lines.join('\n')),
    'random.bin': random,
    'zeros.bin': new Uint8Array(3_000_000),
    'pattern.bin': pattern,
    'mixed.bin': mixed,
    'e8.bin': makeE8Torture(1_200_000),
    'small.txt': new TextEncoder().encode('hello'),
    'e8-11.bin': new Uint8Array(11).fill(0xe8),
    'e8-40.bin': new Uint8Array(40).fill(0xe8),
  };
  for (const [name, data] of Object.entries(files)) await writeFile(join(dir, name), data);
  for (const exe of ['/usr/bin/xorriso', '/usr/lib/efitools/x86_64-linux-gnu/HelloWorld.efi', '/usr/lib/x86_64-linux-gnu/libc.so.6']) {
    if (existsSync(exe)) await copyFile(exe, join(dir, exe.split('/').pop() as string));
  }
  const { readdir } = await import('node:fs/promises');
  for (const name of await readdir(dir)) {
    const data = new Uint8Array(await readFile(join(dir, name)));
    sources.set(sha1(data), data);
  }
  for (const chunkSize of CHUNK_SIZES) {
    const wim = join(tmp.path, `lzx-${chunkSize}.wim`);
    await runTool('wimlib-imagex', ['capture', dir, wim, '--compress=lzx', `--chunk-size=${chunkSize}`, '--threads=1']);
    wims.set(chunkSize, await readStoredBlobs(wim));
  }
});

after(async () => {
  await tmp?.cleanup();
});

describe('decompressLzx against wimlib-imagex captures', () => {
  for (const chunkSize of CHUNK_SIZES) {
    test(`chunk size ${chunkSize}: every blob matches its source file and its SHA-1`, () => {
      const { blobs } = wims.get(chunkSize) ?? assert.fail('no WIM');
      let compressedChunks = 0;
      let fileBlobs = 0;
      for (const blob of blobs) {
        const data = assemble(blob, chunkSize);
        assert.equal(sha1(data), blob.sha1, `blob ${blob.sha1} (${blob.size} bytes)`);
        const source = sources.get(blob.sha1);
        if (source) {
          assert.deepEqual(Buffer.from(data), Buffer.from(source));
          fileBlobs++;
        }
        compressedChunks += blob.chunks.filter((c) => !c.raw).length;
      }
      assert.equal(fileBlobs, sources.size, 'every source file is a blob');
      assert.ok(compressedChunks > (chunkSize === 32768 ? 300 : 10), `${compressedChunks} compressed chunks`);
    });
  }

  test('speed (logged, not asserted)', () => {
    const { blobs, chunkSize } = wims.get(32768) ?? assert.fail('no WIM');
    const chunks = blobs.flatMap((b) => b.chunks.filter((c) => !c.raw));
    let bytes = 0;
    const start = performance.now();
    for (let round = 0; round < 3; round++) {
      for (const c of chunks) bytes += decompressLzx(c.input, c.size, chunkSize).length;
    }
    const seconds = (performance.now() - start) / 1000;
    console.log(`LZX 32 KiB chunks: ${(bytes / 1e6 / seconds).toFixed(0)} MB/s of output`);
    const big = wims.get(1048576) ?? assert.fail('no WIM');
    const bigChunks = big.blobs.flatMap((b) => b.chunks.filter((c) => !c.raw));
    let bigBytes = 0;
    const bigStart = performance.now();
    for (const c of bigChunks) bigBytes += decompressLzx(c.input, c.size, big.chunkSize).length;
    console.log(`LZX 1 MiB chunks: ${(bigBytes / 1e6 / ((performance.now() - bigStart) / 1000)).toFixed(0)} MB/s of output`);
  });
});

describe('the sample media boot.wim', () => {
  test('every LZX blob of boot.wim (metadata and files) decompresses to its SHA-1', { timeout: 300_000 }, async () => {
    const iso = join(tmp.path, 'sample.iso');
    await makeSampleMedia(iso, { sizeMb: 8, editions: 1, workDir: tmp.path });
    const bootWim = join(tmp.path, 'boot.wim');
    await runTool('xorriso', ['-osirrox', 'on', '-indev', iso, '-extract', '/sources/boot.wim', bootWim]);
    const { chunkSize, blobs } = await readStoredBlobs(bootWim);
    let compressed = 0;
    for (const blob of blobs) {
      assert.equal(sha1(assemble(blob, chunkSize)), blob.sha1);
      compressed += blob.chunks.filter((c) => !c.raw).length;
    }
    assert.ok(compressed > 0);
  });
});

// A minimal LZX writer for what wimlib never emits: 16-bit LE words, bits MSB first.
class BitWriter {
  readonly bytes: number[] = [];
  private word = 0;
  private count = 0;
  bits(value: number, n: number): this {
    for (let i = n - 1; i >= 0; i--) {
      this.word = (this.word << 1) | ((value >>> i) & 1);
      if (++this.count === 16) {
        this.bytes.push(this.word & 0xff, this.word >>> 8);
        this.word = 0;
        this.count = 0;
      }
    }
    return this;
  }
  /** Uncompressed-block alignment: pad to the word boundary, or a whole word if already there. */
  align(): this {
    return this.bits(0, 16 - this.count);
  }
  raw(data: ArrayLike<number>): this {
    assert.equal(this.count, 0);
    for (let i = 0; i < data.length; i++) this.bytes.push(data[i]);
    return this;
  }
  u32(v: number): this {
    return this.raw([v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24]);
  }
  finish(): Uint8Array {
    if (this.count > 0) this.bits(0, 16 - this.count);
    return Uint8Array.from(this.bytes);
  }
}

function canonicalCodes(lens: number[]): number[] {
  const codes: number[] = new Array(lens.length).fill(0);
  let code = 0;
  for (let len = 1; len <= 16; len++) {
    for (let s = 0; s < lens.length; s++) if (lens[s] === len) codes[s] = code++;
    code <<= 1;
  }
  return codes;
}

// A complete pretree (12 × 4 bits, 8 × 5 bits) and a complete main code: literals 0–127 8 bits,
// 128–255 9 bits, match symbols 256–383 (position slots 0–15) 9 bits; no other symbols.
const PRE_LENS = Array.from({ length: 20 }, (_, i) => (i < 12 ? 4 : 5));
const PRE_CODES = canonicalCodes(PRE_LENS);
const MAIN_LENS = Array.from({ length: 656 }, (_, s) => (s < 128 ? 8 : s < 384 ? 9 : 0));
const MAIN_CODES = canonicalCodes(MAIN_LENS);

/** Writes code lengths as pretree deltas: from 0 in a chunk's first block, else unchanged (0). */
function writeLengths(w: BitWriter, lens: number[], first: boolean): void {
  for (const l of PRE_LENS) w.bits(l, 4);
  for (const l of lens) {
    const presym = first ? (17 - l) % 17 : 0;
    w.bits(PRE_CODES[presym], PRE_LENS[presym]);
  }
}

/** Block header: type, then 1 for 32768, else 0 and 16 bits (24 when the window ≥ 64 KiB). */
function blockHeader(w: BitWriter, type: number, size: number, windowOrder: number): void {
  w.bits(type, 3);
  if (size === 32768) w.bits(1, 1);
  else {
    w.bits(0, 1);
    if (windowOrder >= 16) w.bits(size >>> 16, 8);
    w.bits(size & 0xffff, 16);
  }
}

/** A verbatim block holding `symbols` (literals, or 256 + slot × 8 + length header). */
function verbatimBlock(w: BitWriter, size: number, symbols: number[], first = true, windowOrder = 15): void {
  const numMain = 256 + 8 * [30, 32, 34, 36, 38, 42, 50][windowOrder - 15];
  blockHeader(w, 1, size, windowOrder);
  writeLengths(w, MAIN_LENS.slice(0, 256), first);
  writeLengths(w, MAIN_LENS.slice(256, numMain), first);
  writeLengths(w, new Array(249).fill(0), first); // empty length tree
  for (const s of symbols) w.bits(MAIN_CODES[s], MAIN_LENS[s]);
}

function uncompressedBlock(w: BitWriter, data: number[], r: [number, number, number], windowOrder = 15): void {
  blockHeader(w, 3, data.length, windowOrder);
  w.align();
  w.u32(r[0]).u32(r[1]).u32(r[2]).raw(data);
  if (data.length & 1) w.raw([0]);
}

const ascii = (s: string) => Array.from(new TextEncoder().encode(s));

describe('decompressLzx on hand-built chunks', () => {
  test('an uncompressed block sets R0–R2 for the next block', () => {
    const w = new BitWriter();
    uncompressedBlock(w, ascii('ABCDE'), [3, 1, 1]);
    verbatimBlock(w, 4, [256 + 2]); // slot 0 (R0 = 3), length header 2 → 4 bytes
    assert.equal(new TextDecoder().decode(decompressLzx(w.finish(), 9)), 'ABCDECDEC');
  });

  test('an uncompressed block realigns after any bit position, skipping a word when aligned', () => {
    for (let k = 0; k < 16; k++) {
      const w = new BitWriter();
      const literals = Array.from({ length: k + 1 }, (_, i) => 0x61 + (i % 20));
      verbatimBlock(w, literals.length, literals);
      uncompressedBlock(w, ascii('xyz'), [1, 1, 1]);
      const out = decompressLzx(w.finish(), literals.length + 3);
      assert.deepEqual(Array.from(out), [...literals, ...ascii('xyz')], `after ${k + 1} literals`);
    }
  });

  test('E8 translation: positions < size − 10 only, both ranges, the 4 operand bytes skipped', () => {
    const chunk = (edits: [number, number][]) => {
      const data = new Array(24).fill(0x90);
      for (const [at, v] of edits) {
        data[at] = 0xe8;
        for (let i = 0; i < 4; i++) data[at + 1 + i] = (v >> (8 * i)) & 0xff;
      }
      const w = new BitWriter();
      uncompressedBlock(w, data, [1, 1, 1]);
      return new DataView(decompressLzx(w.finish(), 24).buffer);
    };
    // 0x00e80000 ≥ 12e6 stays; its operand holds an E8 (at 3) that must not be scanned.
    let v = chunk([
      [0, 0x00e80000],
      [5, -3],
      [10, 100],
    ]);
    assert.equal(v.getInt32(1, true), 0x00e80000);
    assert.equal(v.getInt32(6, true), -3 + 12_000_000); // −5 ≤ abs < 0 → abs + 12e6
    assert.equal(v.getInt32(11, true), 100 - 10); // 0 ≤ abs < 12e6 → abs − i
    v = chunk([[13, 5]]); // i = size − 11: translated
    assert.equal(v.getInt32(14, true), 5 - 13);
    v = chunk([[13, -14]]); // below −i: unchanged
    assert.equal(v.getInt32(14, true), -14);
    v = chunk([[13, 12_000_000]]);
    assert.equal(v.getInt32(14, true), 12_000_000);
    v = chunk([[14, 5]]); // i = size − 10: not scanned
    assert.equal(v.getInt32(15, true), 5);
    const ten = new BitWriter();
    uncompressedBlock(ten, [0xe8, 1, 0, 0, 0, 0, 0, 0, 0, 0], [1, 1, 1]);
    assert.deepEqual(Array.from(decompressLzx(ten.finish(), 10)), [0xe8, 1, 0, 0, 0, 0, 0, 0, 0, 0], 'a 10-byte chunk is not translated');
  });

  test('wimlib-imagex extracts hand-built chunks spliced into a WIM to the same bytes', async () => {
    // [verbatim: k literals][uncompressed: n bytes, R0 = n][verbatim: 1000 R0 matches of 8] for
    // every 16-bit residue of the uncompressed header's end, with 16- and 24-bit and default sizes.
    const dir = join(tmp.path, 'splice');
    const cases: [number, number, number][] = [];
    for (let k = 1; k <= 16; k++) cases.push([32768, k, 11], [65536, k, 32768]);
    for (const [window, k, n] of cases) {
      const order = Math.log2(window);
      const w = new BitWriter();
      verbatimBlock(
        w,
        k,
        Array.from({ length: k }, (_, i) => 0x61 + (i % 20)),
        true,
        order,
      );
      uncompressedBlock(
        w,
        Array.from({ length: n }, (_, i) => (i * 7 + (i >> 8)) & 0x7f),
        [n, 1, 1],
        order,
      );
      verbatimBlock(w, 8000, new Array(1000).fill(256 + 6), false, order);
      const chunk = w.finish();
      const expected = decompressLzx(chunk, k + n + 8000, window);
      const src = join(dir, `src-${window}-${k}`);
      await mkdir(src, { recursive: true });
      await writeFile(join(src, 'f.bin'), expected);
      const wim = join(dir, `t-${window}-${k}.wim`);
      await runTool('wimlib-imagex', ['capture', src, wim, '--compress=lzx', `--chunk-size=${window}`]);
      // Point the blob's entry at our chunk, appended to the file; wimlib checks the SHA-1.
      const bytes = new Uint8Array(await readFile(wim));
      const header = await readWimHeader(new BufferSource(bytes, wim));
      const digest = sha1(expected);
      const out = new Uint8Array(bytes.length + chunk.length);
      out.set(bytes);
      out.set(chunk, bytes.length);
      const view = new DataView(out.buffer);
      let found = false;
      for (let at = header.blobTable.offset; at < header.blobTable.offset + header.blobTable.originalSize; at += 50) {
        if (Buffer.from(out.subarray(at + 30, at + 50)).toString('hex') !== digest) continue;
        view.setUint32(at, chunk.length, true);
        out.fill(0, at + 4, at + 7);
        out[at + 7] = 0x04; // compressed
        view.setBigUint64(at + 8, BigInt(bytes.length), true);
        found = true;
      }
      assert.ok(found && chunk.length < expected.length);
      await writeFile(wim, out);
      const dest = join(dir, `x-${window}-${k}`);
      await runTool('wimlib-imagex', ['extract', wim, '1', '/f.bin', `--dest-dir=${dest}`]);
      assert.deepEqual(new Uint8Array(await readFile(join(dest, 'f.bin'))), expected, `window ${window}, ${k} literals`);
    }
  });

  const rejects = (input: Uint8Array, size: number, window?: number) =>
    assert.throws(
      () => decompressLzx(input, size, window),
      (e: unknown) => e instanceof FormatError && e.code === 'DF_WIM_BAD_CHUNK',
    );

  test('malformed chunks throw DF_WIM_BAD_CHUNK', () => {
    rejects(new BitWriter().bits(0, 3).bits(1, 1).finish(), 100); // block type 0
    rejects(new BitWriter().bits(5, 3).bits(1, 1).finish(), 100); // block type 5
    rejects(new BitWriter().bits(1, 3).bits(0, 1).bits(0, 16).finish(), 100); // empty block
    rejects(new BitWriter().bits(1, 3).bits(0, 1).bits(200, 16).finish(), 100); // block past the chunk
    rejects(new BitWriter().bits(1, 3).bits(1, 1).finish(), 100); // default 32768 > 100
    const w = new BitWriter();
    verbatimBlock(w, 4, [256 + 2]); // a match before any output
    rejects(w.finish(), 4);
    const u = new BitWriter();
    u.bits(3, 3).bits(0, 1).bits(50, 16).align().u32(1);
    rejects(u.finish(), 50); // uncompressed block truncated
    const over = new BitWriter().bits(1, 3).bits(0, 1).bits(10, 16);
    for (let i = 0; i < 20; i++) over.bits(1, 4); // pretree of twenty 1-bit codes
    rejects(over.finish(), 10);
    rejects(new Uint8Array(0), 10);
    rejects(new Uint8Array(8), 40000); // larger than the window
    rejects(new Uint8Array(8), 10, 3000); // not a valid window size
    assert.equal(decompressLzx(new Uint8Array(0), 0).length, 0);
  });

  test('lzxDecompressor rejects an invalid chunk size up front', () => {
    assert.throws(() => lzxDecompressor(1 << 22), FormatError);
    assert.throws(() => lzxDecompressor(4096), FormatError);
  });
});

describe('decompressLzx fuzzing', () => {
  test('≥ 2,000 mutated or truncated real chunks give output or FormatError, quickly', () => {
    const pool: { input: Uint8Array; size: number; window: number }[] = [];
    for (const chunkSize of [32768, 65536, 1048576]) {
      const { blobs } = wims.get(chunkSize) ?? assert.fail('no WIM');
      for (const b of blobs) for (const c of b.chunks) if (!c.raw && c.input.length < 40000) pool.push({ input: c.input, size: c.size, window: chunkSize });
    }
    assert.ok(pool.length > 20);
    let failures = 0;
    let runs = 0;
    const start = performance.now();
    fc.assert(
      fc.property(fc.nat(pool.length - 1), fc.array(fc.tuple(fc.nat(), fc.nat(255), fc.nat(4)), { minLength: 1, maxLength: 6 }), fc.option(fc.nat()), (pick, edits, cut) => {
        const { input, size, window } = pool[pick];
        let bytes = Uint8Array.from(input);
        for (const [at, value, kind] of edits) {
          const i = at % bytes.length;
          if (kind === 0) bytes[i] ^= 1 << (value & 7);
          else if (kind === 1) bytes[i] = value;
          else if (kind === 2) bytes.fill(value, i, i + 8);
          else if (kind === 3) bytes = Uint8Array.from([...bytes.subarray(0, i), ...bytes.subarray(i + 1 + (value & 15))]);
          else bytes[i] = ~bytes[i];
        }
        if (cut !== null) bytes = bytes.subarray(0, cut % (bytes.length + 1));
        const t0 = performance.now();
        runs++;
        try {
          const out = decompressLzx(bytes, size, window);
          assert.equal(out.length, size);
        } catch (e) {
          if (!(e instanceof FormatError) || e.code !== 'DF_WIM_BAD_CHUNK') throw e;
          failures++;
        }
        assert.ok(performance.now() - t0 < 2000, 'one chunk took over 2 s');
      }),
      { numRuns: 2500, seed: 42 },
    );
    console.log(`LZX fuzz: ${runs} runs, ${failures} rejected, ${((performance.now() - start) / 1000).toFixed(1)} s`);
    assert.ok(failures > runs / 4, 'most mutations are detected');
  });
});
