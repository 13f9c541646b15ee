// Checks the LZMS decompressor against wimlib-imagex (an independent implementation): WIMs
// captured with --compress=lzms at several chunk sizes and ESDs exported with --solid at several
// solid chunk sizes. Every compressed resource is read chunk by chunk here, decompressed, and
// must reproduce each blob's SHA-1 from the blob table and every source file. Then real chunks
// are mutated and truncated: the decoder must return output of the right size or throw
// FormatError DF_WIM_BAD_CHUNK, and nothing else.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { makeTempDir } from '../../../../test/helpers/corpus.js';
import { FormatError } from '../../../errors.js';
import { FileSource } from '../../../util/byte-source.js';
import { hasTool, runTool } from '../../../util/exec.js';
import { readBlobTable } from '../blob-table.js';
import { readWimHeader } from '../header.js';
import { decompressLzms, lzmsChunkDecompressor, lzmsOffsetSlotCount, undoLzmsX86Translation } from './lzms.js';

const sha1 = (b: Uint8Array): string => createHash('sha1').update(b).digest('hex');
const u32 = (b: Uint8Array, at: number): number => (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;
const u64 = (b: Uint8Array, at: number): number => u32(b, at) + u32(b, at + 4) * 0x100000000;

interface Chunk {
  data: Uint8Array;
  size: number;
}

/** Splits a stored chunked resource into chunks (resource.h: non-solid resources start with
 *  (chunks-1) offsets, 4 bytes each below 4 GiB; chunks stored at full size are raw). */
function nonSolidChunks(stored: Uint8Array, size: number, chunkSize: number): Chunk[] {
  const count = Math.ceil(size / chunkSize);
  const entry = size > 0xffffffff ? 8 : 4;
  const tableSize = (count - 1) * entry;
  const starts = [0];
  for (let i = 0; i < count - 1; i++) starts.push(entry === 8 ? u64(stored, i * entry) : u32(stored, i * entry));
  starts.push(stored.length - tableSize);
  return starts.slice(0, count).map((s, i) => ({
    data: stored.subarray(tableSize + s, tableSize + starts[i + 1]),
    size: Math.min(chunkSize, size - i * chunkSize),
  }));
}

/** A solid resource: u64 size, u32 chunk size, u32 format, then every chunk's stored size. */
function solidChunks(stored: Uint8Array): { size: number; chunks: Chunk[] } {
  const size = u64(stored, 0);
  const chunkSize = u32(stored, 8);
  assert.equal(u32(stored, 12), 3, 'solid resource compressed with LZMS');
  const count = Math.ceil(size / chunkSize);
  let at = 16 + count * 4;
  const chunks: Chunk[] = [];
  for (let i = 0; i < count; i++) {
    const len = u32(stored, 16 + i * 4);
    chunks.push({ data: stored.subarray(at, at + len), size: Math.min(chunkSize, size - i * chunkSize) });
    at += len;
  }
  assert.equal(at, stored.length, 'chunk sizes add up to the resource');
  return { size, chunks };
}

interface Decoded {
  hashes: Set<string>;
  chunks: Chunk[]; // the compressed ones
  bytes: number;
  ms: number;
  chunkSizes: Set<number>;
}

function expand(chunks: Chunk[], total: number, stats: Decoded): Uint8Array {
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    let data: Uint8Array;
    if (c.data.length === c.size) data = c.data;
    else {
      const t = performance.now();
      data = lzmsChunkDecompressor(c.data, c.size);
      stats.ms += performance.now() - t;
      stats.bytes += c.size;
      stats.chunks.push(c);
      stats.chunkSizes.add(c.size);
      assert.equal(data.length, c.size);
    }
    out.set(data, at);
    at += c.size;
  }
  return out;
}

/** Decompresses every compressed blob of a WIM/ESD and checks it against the blob table. */
async function decodeAll(path: string): Promise<Decoded> {
  const file = readFileSync(path);
  const source = await FileSource.open(path);
  const stats: Decoded = { hashes: new Set(), chunks: [], bytes: 0, ms: 0, chunkSizes: new Set() };
  try {
    const header = await readWimHeader(source);
    assert.equal(header.compression, 'lzms');
    const table = await readBlobTable(source, header);
    const solidData = new Map<number, Uint8Array>();
    for (const [index, info] of table.solidResources.entries()) {
      const stored = file.subarray(info.offset, info.offset + info.sizeInWim);
      const { size, chunks } = solidChunks(stored);
      solidData.set(index, expand(chunks, size, stats));
    }
    for (const e of table.entries) {
      if (e.kind === 'solid-resource') continue;
      let blob: Uint8Array;
      if (e.kind === 'solid-blob') {
        assert.ok(e.solid, 'solid blob is located');
        const data = solidData.get(e.solid.resource);
        assert.ok(data);
        blob = data.subarray(e.solid.offset, e.solid.offset + e.size);
      } else {
        const stored = file.subarray(e.resource.offset, e.resource.offset + e.resource.sizeInWim);
        blob = e.resource.flags.compressed ? expand(nonSolidChunks(stored, e.size, header.chunkSize), e.size, stats) : stored;
      }
      assert.equal(sha1(blob), e.sha1, `blob ${e.sha1} (${e.kind}, ${e.size} bytes) decompresses to its SHA-1`);
      stats.hashes.add(e.sha1);
    }
  } finally {
    await source.close();
  }
  return stats;
}

/** Byte data that invites delta matches: arithmetic sequences of 1- to 16-byte integers and an
 *  RGB gradient, 60 KB each. */
function deltaFriendly(): Uint8Array {
  const out = new Uint8Array(420_000);
  const view = new DataView(out.buffer);
  let at = 0;
  for (const width of [1, 2, 3, 4, 8, 16]) {
    const stop = at + 60_000;
    for (let i = 0; at + width <= stop; i++, at += width) {
      if (width === 2) view.setUint16(at, i * 7, true);
      else if (width === 4) view.setUint32(at, i * 1003, true);
      else if (width === 8) view.setBigUint64(at, BigInt(i) * 65537n, true);
      else for (let k = 0; k < width; k++) out[at + k] = (i * (k + 3) + k) & 0xff;
    }
  }
  for (let y = 0; at + 3 <= out.length; y++) {
    for (let x = 0; x < 256 && at + 3 <= out.length; x++, at += 3) out.set([x, y & 0xff, (x + y) & 0xff], at);
  }
  return out;
}

const HAVE_WIMLIB = await hasTool('wimlib-imagex');

describe('decompressLzms against wimlib-imagex', { skip: HAVE_WIMLIB ? false : 'wimlib-imagex is not installed' }, () => {
  let dir = '';
  let cleanup: () => Promise<void> = async () => {};
  const path = (name: string) => join(dir, name);
  const sourceHashes = new Map<string, string>();
  const wimlib = (args: string[]) => runTool('wimlib-imagex', args, { timeoutMs: 300_000 });
  const allChunks: Chunk[] = [];

  before(async () => {
    ({ path: dir, cleanup } = await makeTempDir('deployforge-lzms-'));
    const tree = path('tree');
    await mkdir(join(tree, 'small'), { recursive: true });
    const files: Record<string, Uint8Array> = {};
    const words = 'the quick brown fox jumps over a lazy dog while DeployForge customizes Windows media'.split(' ');
    let seed = 12345;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed;
    };
    files['text.txt'] = Buffer.from(Array.from({ length: 300_000 }, () => words[rnd() % words.length]).join(' '));
    files['random.bin'] = randomBytes(300_000);
    files['zeros.bin'] = new Uint8Array(1_500_000);
    files['pattern.bin'] = Buffer.from('0123456789abcdefXYZ'.repeat(40_000));
    files['delta.bin'] = deltaFriendly();
    files['mixed.bin'] = Buffer.concat([randomBytes(70_000), Buffer.from('abc'.repeat(50_000)), randomBytes(5), new Uint8Array(100_000)]);
    for (const bin of ['/usr/bin/xorriso', '/usr/lib/efitools/x86_64-linux-gnu/HelloWorld.efi', '/usr/lib/x86_64-linux-gnu/libc.so.6']) {
      if (existsSync(bin)) files[`bin-${bin.split('/').pop()}`] = readFileSync(bin);
    }
    for (let i = 0; i < 150; i++) files[`small/f${i}.txt`] = Buffer.from(`file ${i} `.repeat(1 + (rnd() % 300)) + randomBytes(rnd() % 40).toString('hex'));
    files['tiny.bin'] = Buffer.from('x');
    for (const [name, data] of Object.entries(files)) {
      await writeFile(join(tree, name), data);
      if (data.length > 0) sourceHashes.set(name, sha1(data));
    }
    await wimlib(['capture', tree, path('default.wim'), '--compress=lzms']);
    await wimlib(['capture', tree, path('c32k.wim'), '--compress=lzms', '--chunk-size=32768']);
    await wimlib(['capture', tree, path('c128k.wim'), '--compress=lzms', '--chunk-size=131072']);
    await wimlib(['capture', tree, path('c1m.wim'), '--compress=lzms', '--chunk-size=1048576']);
    await wimlib(['export', path('default.wim'), 'all', path('solid.esd'), '--solid']);
    await wimlib(['export', path('default.wim'), 'all', path('solid-small.esd'), '--solid', '--solid-chunk-size=32768']);
    await wimlib(['export', path('default.wim'), 'all', path('solid-1m.esd'), '--solid', '--solid-chunk-size=1048576']);
  });
  after(() => cleanup());

  for (const name of ['default.wim', 'c32k.wim', 'c128k.wim', 'c1m.wim', 'solid.esd', 'solid-small.esd', 'solid-1m.esd']) {
    test(`reproduces every blob and source file of ${name}`, async () => {
      const stats = await decodeAll(path(name));
      for (const [file, hash] of sourceHashes) assert.ok(stats.hashes.has(hash), `${file} is reproduced`);
      assert.ok(stats.chunks.length > 0, 'some chunks were compressed');
      const mbps = stats.bytes / 1e6 / (stats.ms / 1000);
      console.log(
        `# ${name}: ${stats.chunks.length} LZMS chunks (sizes up to ${Math.max(...stats.chunkSizes)}), ${(stats.bytes / 1e6).toFixed(1)} MB in ${stats.ms.toFixed(0)} ms = ${mbps.toFixed(1)} MB/s`,
      );
      if (name === 'c32k.wim') allChunks.push(...stats.chunks);
    });
  }

  test('mutated and truncated real chunks give output of the right size or DF_WIM_BAD_CHUNK', () => {
    assert.ok(allChunks.length >= 20, `have ${allChunks.length} real chunks`);
    let errors = 0;
    let outputs = 0;
    let slowest = 0;
    const started = performance.now();
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }), count: fc.integer({ min: 1, max: 8 }) }),
      fc.record({ kind: fc.constant('byte' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
      fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
      fc.record({ kind: fc.constant('random' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 64 }) }),
      fc.record({ kind: fc.constant('size' as const), delta: fc.integer({ min: -1000, max: 1000 }) }),
    );
    fc.assert(
      fc.property(fc.nat(), fc.array(mutation, { minLength: 1, maxLength: 4 }), (pick, mutations) => {
        const chunk = allChunks[pick % allChunks.length];
        let data = Uint8Array.from(chunk.data);
        let size = chunk.size;
        for (const m of mutations) {
          if (m.kind === 'flip') for (let k = 0; k < m.count; k++) data[(m.at + k * 97) % data.length] ^= 1 << m.bit;
          else if (m.kind === 'byte') data[m.at % data.length] = m.value;
          else if (m.kind === 'truncate') data = data.subarray(0, m.at % (data.length + 1));
          else if (m.kind === 'random') {
            const at = m.at % data.length;
            data.set(m.bytes.subarray(0, data.length - at), at);
          } else size = Math.max(0, size + m.delta);
          if (data.length === 0) break;
        }
        const t = performance.now();
        try {
          const out = decompressLzms(data, size);
          assert.equal(out.length, size);
          outputs++;
        } catch (e) {
          assert.ok(e instanceof FormatError, `only FormatError escapes, got ${String(e)}`);
          assert.equal(e.code, 'DF_WIM_BAD_CHUNK');
          errors++;
        }
        slowest = Math.max(slowest, performance.now() - t);
      }),
      { numRuns: 2500, seed: 20240611 },
    );
    console.log(`# fuzz: 2500 cases, ${outputs} decoded, ${errors} DF_WIM_BAD_CHUNK, ${(performance.now() - started).toFixed(0)} ms, slowest ${slowest.toFixed(1)} ms`);
    assert.ok(errors > 0 && outputs > 0);
    assert.ok(slowest < 5000, 'each case finishes quickly (output is at most one 32 KiB chunk plus 1000)');
  });
});

describe('decompressLzms on hostile input', () => {
  test('rejects odd, tiny and impossible sizes with DF_WIM_BAD_CHUNK', () => {
    const cases: [Uint8Array, number][] = [
      [new Uint8Array(0), 10],
      [new Uint8Array(2), 10],
      [new Uint8Array(5), 10],
      [new Uint8Array(8), -1],
      [new Uint8Array(8), 1.5],
      [new Uint8Array(8), 2 ** 40],
    ];
    for (const [input, size] of cases) {
      assert.throws(
        () => decompressLzms(input, size),
        (e) => e instanceof FormatError && e.code === 'DF_WIM_BAD_CHUNK',
      );
    }
  });

  test('random bytes never escape as anything but output or DF_WIM_BAD_CHUNK', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 4, maxLength: 600 }), fc.integer({ min: 0, max: 70_000 }), (bytes, size) => {
        const input = bytes.length & 1 ? bytes.subarray(1) : bytes;
        try {
          assert.equal(decompressLzms(input, size).length, size);
        } catch (e) {
          assert.ok(e instanceof FormatError && e.code === 'DF_WIM_BAD_CHUNK', String(e));
        }
      }),
      { numRuns: 400, seed: 7 },
    );
  });

  test('an empty chunk decodes to nothing; all-zero input decodes deterministically', () => {
    assert.equal(decompressLzms(new Uint8Array(4), 0).length, 0);
    // All-zero input: every range-coded bit is 0, so every item is a literal.
    const out = decompressLzms(new Uint8Array(64), 1000);
    assert.equal(out.length, 1000);
  });

  test('offset slot counts follow the slot base table', () => {
    assert.equal(lzmsOffsetSlotCount(0), 0);
    assert.equal(lzmsOffsetSlotCount(1), 0);
    assert.equal(lzmsOffsetSlotCount(2), 1); // offset 1 only
    assert.equal(lzmsOffsetSlotCount(10), 9); // offsets 1..9: slots 0..8 (slot 8 = 9..12)
    assert.equal(lzmsOffsetSlotCount(0x465be4a5), 799);
  });

  test('the x86 filter leaves short buffers and non-code alone', () => {
    const short = Uint8Array.from([0xe8, 1, 2, 3, 4, 0xe8, 1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 0]);
    const copy = Uint8Array.from(short);
    undoLzmsX86Translation(short);
    assert.deepEqual(short, copy);
    const text = Buffer.from('plain text without any opcode bytes at all, long enough to scan');
    const t2 = Uint8Array.from(text);
    undoLzmsX86Translation(t2);
    assert.deepEqual(Buffer.from(t2), text);
  });
});
