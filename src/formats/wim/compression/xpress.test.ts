// XPRESS Huffman checked against wimlib-imagex: WIMs captured with --compress=xpress at 4, 32 and
// 64 KiB chunks are taken apart here (blob table → chunk table → chunks) and every chunk must
// decompress to the captured files' bytes and the blob table's SHA-1. Our compressor is checked
// by round trips through our decoder and a slow bit-by-bit reference decoder written below from
// MS-XCA §2.2 alone, and by wimlib itself: our chunks are spliced into wimlib's WIM in place of
// its own, and `wimlib-imagex verify` / `extract` must accept them.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { makeTempDir, repoRoot } from '../../../../test/helpers/corpus.js';
import { DeployForgeError } from '../../../errors.js';
import { FileSource } from '../../../util/byte-source.js';
import { runTool } from '../../../util/exec.js';
import { readBlobTable } from '../blob-table.js';
import { readWimHeader } from '../header.js';
import { compressXpress, decompressXpress, limitedHuffmanLengths, XPRESS_MAX_CHUNK_SIZE } from './xpress.js';

// ---------------------------------------------------------------------------------------------
// A deliberately naive reference decoder (MS-XCA §2.2.4, one bit at a time, no tables).

function referenceDecompress(input: Uint8Array, outputSize: number): Uint8Array {
  const lengths: number[] = [];
  for (let i = 0; i < 256; i++) lengths.push(input[i] & 15, input[i] >> 4);
  // Canonical code: symbols sorted by (length, value) get consecutive codes.
  const bySymbol = new Map<string, number>(); // "length:code" → symbol
  let code = 0;
  for (let len = 1; len <= 15; len++) {
    for (let s = 0; s < 512; s++) {
      if (lengths[s] === len) bySymbol.set(`${len}:${code++}`, s);
    }
    code *= 2;
  }
  let pos = 256;
  const word = (): number => {
    if (pos + 1 >= input.length) throw new Error('reference: read past the end');
    const w = input[pos] | (input[pos + 1] << 8);
    pos += 2;
    return w;
  };
  let nextBits = word() * 65536 + word();
  let extra = 16;
  const bit = (): number => {
    const b = Math.floor(nextBits / 2 ** 31);
    nextBits = (nextBits * 2) % 2 ** 32;
    extra--;
    if (extra < 0) {
      nextBits += word() * 2 ** -extra;
      extra += 16;
    }
    return b;
  };
  const out: number[] = [];
  while (out.length < outputSize) {
    let c = 0;
    let symbol: number | undefined;
    for (let len = 1; symbol === undefined; len++) {
      if (len > 15) throw new Error('reference: no code');
      c = c * 2 + bit();
      symbol = bySymbol.get(`${len}:${c}`);
    }
    if (symbol < 256) {
      out.push(symbol);
      continue;
    }
    let length = (symbol - 256) % 16;
    const offsetBits = Math.floor((symbol - 256) / 16);
    if (length === 15) {
      length = input[pos++];
      if (length === 255) {
        length = input[pos] + input[pos + 1] * 256 - 15;
        pos += 2;
      }
      length += 15;
    }
    length += 3;
    let offset = 1;
    for (let k = 0; k < offsetBits; k++) offset = offset * 2 + bit();
    if (offset > out.length) throw new Error('reference: match before start');
    for (let k = 0; k < length; k++) out.push(out[out.length - offset]);
  }
  if (out.length !== outputSize) throw new Error('reference: overrun');
  return Uint8Array.from(out);
}

// ---------------------------------------------------------------------------------------------

function sha1(bytes: Uint8Array): string {
  return createHash('sha1').update(bytes).digest('hex');
}

function isChunkError(e: unknown): boolean {
  return e instanceof DeployForgeError && e.code === 'DF_WIM_BAD_CHUNK';
}

/** Deterministic pseudo-random bytes (xorshift32). */
function pseudoRandom(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed | 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

async function readRepoText(limit: number): Promise<Uint8Array> {
  const parts: Buffer[] = [];
  let size = 0;
  const walk = async (dir: string): Promise<void> => {
    for (const entry of (await readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
      if (size >= limit) return;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.name.endsWith('.ts')) {
        const text = await readFile(path);
        parts.push(text);
        size += text.length;
      }
    }
  };
  await walk(join(repoRoot, 'src'));
  return new Uint8Array(Buffer.concat(parts).subarray(0, limit));
}

async function hasWimlib(): Promise<boolean> {
  try {
    await runTool('wimlib-imagex', ['--version'], { timeoutMs: 10_000 });
    return true;
  } catch {
    return false;
  }
}

interface Chunk {
  data: Uint8Array;
  size: number;
}

/** The chunks of a compressed non-solid resource: (chunks − 1) chunk-table offsets (4 bytes each
 *  below 4 GiB), then the chunks; a chunk stored at its full size is stored raw. */
function splitResource(stored: Uint8Array, originalSize: number, chunkSize: number): Array<Chunk & { raw: boolean }> {
  const count = Math.ceil(originalSize / chunkSize);
  const entrySize = originalSize > 0xffffffff ? 8 : 4;
  const tableSize = (count - 1) * entrySize;
  const view = new DataView(stored.buffer, stored.byteOffset, stored.byteLength);
  const starts = [0];
  for (let i = 0; i < count - 1; i++) starts.push(entrySize === 4 ? view.getUint32(i * 4, true) : Number(view.getBigUint64(i * 8, true)));
  const chunks: Array<Chunk & { raw: boolean }> = [];
  for (let i = 0; i < count; i++) {
    const begin = tableSize + starts[i];
    const end = i + 1 < count ? tableSize + starts[i + 1] : stored.length;
    const size = i + 1 < count ? chunkSize : originalSize - chunkSize * (count - 1);
    chunks.push({ data: stored.subarray(begin, end), size, raw: end - begin === size });
  }
  return chunks;
}

const CHUNK_SIZES = [4096, 32768, 65536] as const;

describe('XPRESS Huffman', () => {
  let tmp: { path: string; cleanup: () => Promise<void> } | undefined;
  let wimlib = false;
  const sources = new Map<string, Uint8Array>(); // file name → bytes
  const realChunks: Chunk[] = []; // every compressed chunk wimlib wrote, for speed and fuzzing

  before(async () => {
    wimlib = await hasWimlib();
    tmp = await makeTempDir('deployforge-xpress-');
    const text = await readRepoText(400_000);
    const pattern = new Uint8Array(139_999);
    for (let i = 0; i < pattern.length; i++) pattern[i] = 'ABCDEFGHIJ0123456789'.charCodeAt(i % 20);
    sources.set('text.txt', text);
    sources.set('random.bin', pseudoRandom(100_000, 12345));
    sources.set('zeros.bin', new Uint8Array(200_000));
    sources.set('pattern.bin', pattern);
    sources.set('tiny.txt', new TextEncoder().encode('hello, hello, hello!'));
    sources.set('text-65537.txt', text.subarray(1000, 1000 + 65_537));
    for (const binary of ['/usr/bin/xorriso', '/usr/lib/x86_64-linux-gnu/libisofs.so.6.91.0', '/usr/bin/wimlib-imagex']) {
      try {
        sources.set(binary.split('/').pop() as string, new Uint8Array(await readFile(binary)));
      } catch {
        // not installed here: the other files still cover the format
      }
    }
    const dir = join(tmp.path, 'tree');
    await runTool('mkdir', ['-p', dir]);
    for (const [name, bytes] of sources) await writeFile(join(dir, name), bytes);
  });

  after(async () => {
    await tmp?.cleanup();
  });

  test('decodes the MS-XCA §3.2 example (the alphabet as literals plus EOF)', () => {
    const hex = `${'00'.repeat(48)}50${'55'.repeat(10)}4544 04${'00'.repeat(66)}04${'00'.repeat(127)}d8523ed794115be9195ff9d67cdf8d0400000000`;
    const input = Buffer.from(hex.replace(/ /g, ''), 'hex');
    assert.equal(input.length, 276);
    assert.equal(Buffer.from(decompressXpress(input, 26)).toString('latin1'), 'abcdefghijklmnopqrstuvwxyz');
    assert.equal(Buffer.from(referenceDecompress(input, 26)).toString('latin1'), 'abcdefghijklmnopqrstuvwxyz');
  });

  for (const chunkSize of CHUNK_SIZES) {
    test(`decompresses every chunk wimlib-imagex wrote with --chunk-size=${chunkSize} to the captured bytes`, async (t) => {
      if (!wimlib) return t.skip('wimlib-imagex is not installed');
      const wimPath = join(tmp!.path, `xpress-${chunkSize}.wim`);
      await runTool('wimlib-imagex', ['capture', join(tmp!.path, 'tree'), wimPath, '--compress=xpress', `--chunk-size=${chunkSize}`], { timeoutMs: 120_000 });
      const bySha = new Map<string, string>();
      for (const [name, bytes] of sources) bySha.set(sha1(bytes), name);
      const source = await FileSource.open(wimPath);
      let compressedChunks = 0;
      let rawChunks = 0;
      const seen = new Set<string>();
      try {
        const header = await readWimHeader(source);
        assert.equal(header.compression, 'xpress');
        assert.equal(header.chunkSize, chunkSize);
        const table = await readBlobTable(source, header);
        for (const entry of table.entries) {
          if (entry.kind !== 'file' && entry.kind !== 'metadata') continue;
          const stored = await source.read(entry.resource.offset, entry.resource.sizeInWim);
          let data: Uint8Array;
          if (!entry.resource.flags.compressed) {
            data = stored;
          } else {
            const parts: Uint8Array[] = [];
            for (const chunk of splitResource(stored, entry.resource.originalSize, chunkSize)) {
              if (chunk.raw) {
                parts.push(chunk.data);
                rawChunks++;
                continue;
              }
              const plain = decompressXpress(chunk.data, chunk.size);
              assert.equal(plain.length, chunk.size);
              parts.push(plain);
              compressedChunks++;
              if (chunkSize === 65536 || realChunks.length < 400) realChunks.push({ data: Uint8Array.from(chunk.data), size: chunk.size });
            }
            data = Buffer.concat(parts);
          }
          assert.equal(data.length, entry.resource.originalSize);
          assert.equal(sha1(data), entry.sha1, `blob ${entry.sha1} (${entry.kind})`);
          const name = bySha.get(entry.sha1);
          if (name !== undefined) {
            assert.ok(Buffer.from(data).equals(sources.get(name) as Uint8Array), `${name} differs from the captured file`);
            seen.add(name);
          }
        }
      } finally {
        await source.close();
      }
      assert.deepEqual([...seen].sort(), [...sources.keys()].sort(), 'every captured file was found among the blobs');
      assert.ok(compressedChunks > 10 && rawChunks > 0, `${compressedChunks} compressed, ${rawChunks} raw chunks`);
      t.diagnostic(`chunk size ${chunkSize}: ${compressedChunks} compressed and ${rawChunks} raw chunks decoded, ${seen.size} files matched`);
    });
  }

  for (const chunkSize of [4096, 65536]) {
    test(`wimlib-imagex verifies and extracts a WIM whose file blobs hold our ${chunkSize}-byte chunks`, async (t) => {
      if (!wimlib) return t.skip('wimlib-imagex is not installed');
      // Take wimlib's WIM, append every compressible file blob re-encoded by us (chunk table +
      // our chunks, raw where we return undefined) and point its blob table entry there.
      const wimPath = join(tmp!.path, `xpress-${chunkSize}.wim`);
      const patchedPath = join(tmp!.path, `ours-${chunkSize}.wim`);
      const bytes = new Uint8Array(await readFile(wimPath));
      const appended: Uint8Array[] = [];
      let end = bytes.length;
      let replaced = 0;
      let oursTotal = 0;
      let wimlibTotal = 0;
      const source = await FileSource.open(wimPath);
      try {
        const header = await readWimHeader(source);
        const table = await readBlobTable(source, header);
        const bySha = new Map<string, Uint8Array>();
        for (const data of sources.values()) bySha.set(sha1(data), data);
        table.entries.forEach((entry, index) => {
          const data = bySha.get(entry.sha1);
          if (entry.kind !== 'file' || !entry.resource.flags.compressed || data === undefined) return;
          const chunks: Uint8Array[] = [];
          for (let i = 0; i < data.length; i += chunkSize) {
            const plain = data.subarray(i, i + chunkSize);
            chunks.push(compressXpress(plain) ?? plain);
          }
          const chunkTable = new Uint8Array((chunks.length - 1) * 4);
          const view = new DataView(chunkTable.buffer);
          let offset = 0;
          for (let k = 0; k < chunks.length - 1; k++) {
            offset += chunks[k].length;
            view.setUint32(k * 4, offset, true);
          }
          const resource = Buffer.concat([chunkTable, ...chunks]);
          oursTotal += resource.length;
          wimlibTotal += entry.resource.sizeInWim;
          const at = header.blobTable.offset + index * 50; // reshdr: u56 size, u8 flags, u64 offset, u64 size
          const reshdr = new DataView(bytes.buffer, bytes.byteOffset + at, 24);
          reshdr.setUint32(0, resource.length, true);
          reshdr.setUint16(4, 0, true);
          bytes[at + 6] = 0;
          reshdr.setBigUint64(8, BigInt(end), true);
          appended.push(resource);
          end += resource.length;
          replaced++;
        });
      } finally {
        await source.close();
      }
      assert.ok(replaced >= 5, `${replaced} blobs re-encoded`);
      await writeFile(patchedPath, Buffer.concat([bytes, ...appended]));
      await runTool('wimlib-imagex', ['verify', patchedPath], { timeoutMs: 120_000 });
      const dest = join(tmp!.path, `extract-${chunkSize}`);
      await runTool('wimlib-imagex', ['extract', patchedPath, '1', `--dest-dir=${dest}`, '--no-acls'], { timeoutMs: 120_000 });
      for (const [name, data] of sources) assert.ok((await readFile(join(dest, name))).equals(data), `${name} extracted intact`);
      // Control: the same WIM with one byte of our first chunk flipped must fail verification,
      // which shows wimlib really decoded our chunks rather than its own.
      const broken = Buffer.concat([bytes, ...appended]);
      broken[bytes.length + (appended[0].length >> 1)] ^= 0x55;
      await writeFile(patchedPath, broken);
      await assert.rejects(runTool('wimlib-imagex', ['verify', patchedPath], { timeoutMs: 120_000 }));
      assert.ok(oursTotal <= wimlibTotal * 1.05, `our ${oursTotal} bytes vs wimlib's ${wimlibTotal}`);
      t.diagnostic(`${replaced} blobs re-encoded (${oursTotal} bytes vs wimlib's ${wimlibTotal}); wimlib-imagex verify and extract accept them`);
    });
  }

  test('agrees with the bit-by-bit reference decoder on wimlib chunks', (t) => {
    if (realChunks.length === 0) return t.skip('no wimlib chunks');
    for (const chunk of realChunks.slice(0, 60)) assert.deepEqual(decompressXpress(chunk.data, chunk.size), referenceDecompress(chunk.data, chunk.size));
  });

  test('decompresses at a measured speed (logged, not asserted)', (t) => {
    if (realChunks.length === 0) return t.skip('no wimlib chunks');
    // Wall time and this process's CPU time: on a loaded machine the second is the fairer one.
    const clock = () => ({ wall: process.hrtime.bigint(), cpu: process.cpuUsage().user });
    const rate = (bytes: number, from: ReturnType<typeof clock>) => {
      const now = clock();
      return `${(bytes / 1e6 / (Number(now.wall - from.wall) / 1e9)).toFixed(0)} MB/s wall, ${(bytes / (now.cpu - from.cpu)).toFixed(0)} MB/s CPU`;
    };
    let bytes = 0;
    const started = clock();
    while (bytes < 64 * 1024 * 1024) for (const chunk of realChunks) bytes += decompressXpress(chunk.data, chunk.size).length;
    t.diagnostic(`decompressXpress: ${rate(bytes, started)} (output) over ${(bytes / 1e6).toFixed(0)} MB of wimlib chunks`);
    const plain = [...sources.values()].flatMap((b) => {
      const out: Uint8Array[] = [];
      for (let i = 0; i < b.length; i += 65536) out.push(b.subarray(i, i + 65536));
      return out;
    });
    let inBytes = 0;
    let outBytes = 0;
    const t0 = clock();
    for (const chunk of plain) {
      inBytes += chunk.length;
      outBytes += compressXpress(chunk)?.length ?? chunk.length;
    }
    t.diagnostic(`compressXpress: ${rate(inBytes, t0)} (input), ${inBytes} → ${outBytes} bytes in 64 KiB chunks`);
  });

  test('compresses the captured files chunk by chunk into streams both decoders restore', () => {
    for (const [name, bytes] of sources) {
      for (const chunkSize of [4096, 65536]) {
        for (let i = 0; i < bytes.length; i += chunkSize) {
          const chunk = bytes.subarray(i, i + chunkSize);
          const packed = compressXpress(chunk);
          if (packed === undefined) continue;
          assert.ok(packed.length < chunk.length);
          assert.deepEqual(decompressXpress(packed, chunk.length), chunk, `${name} @${i}`);
          if (i === 0) assert.deepEqual(referenceDecompress(packed, chunk.length), chunk, `${name} @${i} (reference)`);
        }
      }
    }
  });

  test('compresses text below half its size and 64 KiB of zeros below 300 bytes', () => {
    const text = sources.get('text.txt')!.subarray(0, 65536);
    const ours = compressXpress(text)!.length;
    assert.ok(ours < text.length * 0.5, `text: ${ours} bytes`);
    const zeros = compressXpress(new Uint8Array(65536))!;
    assert.ok(zeros.length < 300, `zeros: ${zeros.length} bytes`);
  });

  test('round-trips arbitrary and structured data (fast-check)', () => {
    const structured = fc
      .tuple(fc.array(fc.uint8Array({ minLength: 1, maxLength: 40 }), { minLength: 1, maxLength: 8 }), fc.array(fc.nat(), { maxLength: 400 }))
      .map(([pieces, picks]) => {
        const parts = picks.map((p) => pieces[p % pieces.length]);
        return new Uint8Array(Buffer.concat(parts.length > 0 ? parts : pieces));
      });
    const long = fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 20 }), fc.integer({ min: 1, max: 65536 })).map(([unit, size]) => {
      const out = new Uint8Array(size);
      for (let i = 0; i < size; i++) out[i] = unit[i % unit.length];
      return out;
    });
    const data = fc.oneof(
      fc.uint8Array({ maxLength: 3000 }),
      structured,
      long,
      fc.uint8Array({ maxLength: 5, minLength: 0 }).map((a) => new Uint8Array(a.length * 900).fill(a[0] ?? 7)),
    );
    fc.assert(
      fc.property(data, (input) => {
        const chunk = input.subarray(0, XPRESS_MAX_CHUNK_SIZE);
        const packed = compressXpress(chunk);
        if (packed === undefined) return;
        assert.ok(packed.length < chunk.length);
        assert.deepEqual(decompressXpress(packed, chunk.length), chunk);
        assert.deepEqual(referenceDecompress(packed, chunk.length), chunk);
      }),
      { numRuns: 300, seed: 20240601 },
    );
  });

  test('limits Huffman code lengths to 15 bits and keeps the code complete', () => {
    // Fibonacci frequencies force an unlimited Huffman code to depth > 15.
    const freqs = new Array(512).fill(0);
    let a = 1;
    let b = 1;
    for (let s = 0; s < 30; s++) {
      freqs[s * 7] = a;
      [a, b] = [b, a + b];
    }
    const lengths = new Uint8Array(512);
    limitedHuffmanLengths(freqs, lengths, 15);
    let kraft = 0;
    for (let s = 0; s < 512; s++) {
      assert.ok(lengths[s] <= 15);
      assert.equal(lengths[s] === 0, freqs[s] === 0);
      if (lengths[s] > 0) kraft += 2 ** -lengths[s];
    }
    assert.equal(kraft, 1);
    // And a chunk with such skewed symbol statistics still round-trips.
    const parts: number[] = [];
    for (let s = 0; s < 24; s++) for (let k = 0; k < Math.min(freqs[s * 7], 3000); k++) parts.push(s * 7);
    const skewed = Uint8Array.from(pseudoRandom(parts.length, 99).map((r, i) => parts[(i * 7919 + r) % parts.length]));
    const packed = compressXpress(skewed);
    if (packed !== undefined) assert.deepEqual(decompressXpress(packed, skewed.length), skewed);
  });

  test('returns undefined when compression does not help and for empty input', () => {
    assert.equal(compressXpress(pseudoRandom(65536, 7)), undefined);
    assert.equal(compressXpress(new Uint8Array(0)), undefined);
    assert.equal(compressXpress(Uint8Array.of(1, 2, 3)), undefined);
    assert.throws(() => compressXpress(new Uint8Array(65537)), RangeError);
  });

  describe('refuses malformed chunks with DF_WIM_BAD_CHUNK', () => {
    // Lengths: 'A' (0x41) = 1 bit (code 0), symbol 256 (match, length 3, offset 1) = 1 bit (code 1).
    const table = (): Uint8Array => {
      const t = new Uint8Array(256);
      t[0x41 >> 1] = 1 << 4; // 0x41 is odd: high nibble
      t[128] = 1; // symbol 256: low nibble of byte 128
      return t;
    };
    const chunk = (...words: number[]): Uint8Array => {
      const out = new Uint8Array(256 + words.length * 2);
      out.set(table());
      words.forEach((w, i) => {
        out[256 + 2 * i] = w & 0xff;
        out[257 + 2 * i] = w >> 8;
      });
      return out;
    };
    const cases: Array<[string, () => unknown]> = [
      ['an over-subscribed code length table', () => decompressXpress(new Uint8Array(300).fill(0x11), 10)],
      ['a table shorter than 256 bytes', () => decompressXpress(new Uint8Array(100), 10)],
      ['an output size above 64 KiB', () => decompressXpress(chunk(0, 0), 65537)],
      ['a match before the start of the chunk', () => decompressXpress(chunk(0x8000, 0), 4)],
      ['a match that runs past the chunk end', () => decompressXpress(chunk(0x4000, 0), 3)],
      ['bits read past the end of the input', () => decompressXpress(chunk(0x0000), 40)],
      [
        'a bit pattern with no code (incomplete table)',
        () => decompressXpress(Uint8Array.from([...new Uint8Array(256).fill(0).map((_, i) => (i === 0x20 ? 0x10 : 0)), 0xff, 0xff, 0, 0]), 2),
      ],
      [
        'a missing match length byte',
        () => decompressXpress(Uint8Array.from([...new Uint8Array(256).map((_, i) => (i === 0x20 ? 0x10 : i === 135 ? 0x10 : 0)), 0x00, 0x40, 0, 0]), 40),
      ],
    ];
    for (const [name, run] of cases) {
      test(name, () => {
        assert.throws(run, (e) => isChunkError(e));
      });
    }

    test('accepts the same hand-made stream when it is well-formed', () => {
      // 'A' then a match (3 bytes, offset 1): bits 0,1 → "AAAA".
      assert.equal(Buffer.from(decompressXpress(chunk(0x4000, 0), 4)).toString('latin1'), 'AAAA');
      assert.deepEqual(decompressXpress(chunk(0x4000, 0), 0), new Uint8Array(0));
    });
  });

  test('fuzz: mutated and truncated wimlib chunks give the exact size or DF_WIM_BAD_CHUNK', (t) => {
    if (realChunks.length === 0) return t.skip('no wimlib chunks');
    let decoded = 0;
    let refused = 0;
    const started = Date.now();
    fc.assert(
      fc.property(fc.nat(), fc.constantFrom('flip', 'truncate', 'zero-run', 'table', 'size') as fc.Arbitrary<string>, fc.nat(), fc.nat(), (pick, how, at, value) => {
        const chunk = realChunks[pick % realChunks.length];
        let data = Uint8Array.from(chunk.data);
        let size = chunk.size;
        if (how === 'flip') for (let k = 0; k < 1 + (value % 4); k++) data[(at + k * 7919) % data.length] ^= 1 << (((value >> 3) + k) % 8);
        else if (how === 'truncate') data = data.subarray(0, at % data.length);
        else if (how === 'zero-run') data.fill(0, at % data.length, (at % data.length) + 1 + (value % 64));
        else if (how === 'table') data[at % 256] = value & 0xff;
        else size = Math.max(0, size + ((value % 513) - 256));
        try {
          const out = decompressXpress(data, size);
          assert.equal(out.length, size);
          decoded++;
        } catch (e) {
          if (!isChunkError(e)) throw e;
          refused++;
        }
      }),
      { numRuns: 2500, seed: 424242 },
    );
    t.diagnostic(`fuzz: ${decoded} decoded, ${refused} refused in ${Date.now() - started} ms`);
  });
});
