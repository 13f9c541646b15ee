// Reads the uncompressed bytes of WIM resources: stored raw, compressed in independent chunks
// behind a chunk table, or packed with other blobs into a solid resource (ESD). Reads by range
// decompress only the chunks they touch and keep at most CHUNK_CACHE_SIZE chunks in memory.
// Layouts: ebiggers/wimlib include/wimlib/resource.h and src/resource.c (read_compressed_data).
// It never writes, and it does not handle pipable WIMs' inline chunk headers.
import { createHash, type Hash } from 'node:crypto';
import { FormatError } from '../../errors.js';
import { u32le, u64le } from '../../util/binary.js';
import { type ByteSource, sliceSource } from '../../util/byte-source.js';
import type { BlobTableEntry } from './blob-table.js';
import { getDecompressor } from './codecs.js';
import type { ChunkDecompressor } from './compression/types.js';
import type { WimCompression } from './header.js';
import type { WimResourceHeader } from './resource-header.js';
import type { WimFile } from './wim-file.js';

/** Solid resource header (resource.h alt_chunk_table_header_disk): u64 uncompressed size,
 *  u32 chunk size, u32 compression format, then one u32 compressed size per chunk. */
export const SOLID_HEADER_SIZE = 16;
/** Compression format codes in that header (wimlib.h WIMLIB_COMPRESSION_TYPE_*): LZMS is 3. */
export const SOLID_FORMATS: Readonly<Record<number, WimCompression>> = { 0: 'none', 1: 'xpress', 2: 'lzx', 3: 'lzms' };
/** Stored bytes fetched at once by a read over many chunks. */
const BATCH_BYTES = 8 * 1024 * 1024;
/** Decompressed chunks kept per resource: enough for a read that straddles a chunk boundary. */
const CHUNK_CACHE_SIZE = 2;
const ZERO_SHA1 = '0'.repeat(40);

/** The uncompressed bytes of one stored resource, readable by range. */
export interface ResourceData {
  readonly size: number;
  /** Chunk size of the resource (its uncompressed size when it is stored raw). */
  readonly chunkSize: number;
  read(offset: number, length: number): Promise<Uint8Array>;
}

function bad(code: string, message: string, details: Record<string, unknown> = {}): FormatError {
  return new FormatError(code, message, details);
}

/** A resource stored without compression: its bytes are a window of the file. */
class RawResource implements ResourceData {
  readonly chunkSize: number;
  constructor(
    private readonly window: ByteSource,
    readonly size: number,
  ) {
    this.chunkSize = Math.max(1, Math.min(size, 1 << 20));
  }
  read(offset: number, length: number): Promise<Uint8Array> {
    return this.window.read(offset, length);
  }
}

/** A resource of independently compressed chunks. `bounds[i]` is where chunk i starts,
 *  relative to `dataStart`; bounds has numChunks + 1 entries, the last being the data size. */
class ChunkedResource implements ResourceData {
  private readonly cache: { index: number; bytes: Uint8Array }[] = [];
  private decompressor: ChunkDecompressor | null = null;

  constructor(
    private readonly source: ByteSource,
    private readonly dataStart: number,
    private readonly bounds: Float64Array,
    readonly size: number,
    readonly chunkSize: number,
    private readonly compression: WimCompression,
    private readonly what: string,
  ) {}

  async read(offset: number, length: number): Promise<Uint8Array> {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > this.size) {
      throw bad('DF_BAD_OFFSET', `${this.what}: read of ${length} bytes at ${offset} is outside its ${this.size} bytes`, { offset, length, size: this.size });
    }
    const out = new Uint8Array(length);
    // A read over many chunks (a whole metadata resource) fetches their stored bytes in a few
    // large reads rather than one small read per 32 KiB chunk.
    const first = Math.floor(offset / this.chunkSize);
    const last = Math.floor((offset + Math.max(0, length - 1)) / this.chunkSize);
    let batch: { from: number; to: number; bytes: Uint8Array } | undefined;
    const storedOf = async (index: number): Promise<Uint8Array | undefined> => {
      if (last - first < 4) return undefined;
      if (!batch || index >= batch.to) {
        let to = index + 1;
        while (to <= last && this.bounds[to + 1] - this.bounds[index] <= BATCH_BYTES) to++;
        batch = { from: index, to, bytes: await this.source.read(this.dataStart + this.bounds[index], this.bounds[to] - this.bounds[index]) };
      }
      const base = this.bounds[batch.from];
      return batch.bytes.subarray(this.bounds[index] - base, this.bounds[index + 1] - base);
    };
    let done = 0;
    while (done < length) {
      const position = offset + done;
      const index = Math.floor(position / this.chunkSize);
      const chunk = await this.chunk(index, storedOf);
      const within = position - index * this.chunkSize;
      const take = Math.min(chunk.length - within, length - done);
      out.set(chunk.subarray(within, within + take), done);
      done += take;
    }
    return out;
  }

  private async chunk(index: number, storedOf?: (index: number) => Promise<Uint8Array | undefined>): Promise<Uint8Array> {
    const hit = this.cache.findIndex((c) => c.index === index);
    if (hit >= 0) {
      const [entry] = this.cache.splice(hit, 1);
      this.cache.push(entry);
      return entry.bytes;
    }
    const usize = Math.min(this.chunkSize, this.size - index * this.chunkSize);
    const start = this.bounds[index];
    const csize = this.bounds[index + 1] - start;
    const stored = (await storedOf?.(index)) ?? (await this.source.read(this.dataStart + start, csize));
    let bytes: Uint8Array;
    if (csize === usize || this.compression === 'none') {
      // A chunk that did not shrink is stored as is (resource.c: chunk_csize == chunk_usize).
      if (csize !== usize) throw bad('DF_WIM_BAD_CHUNK', `${this.what}: uncompressed chunk ${index} is ${csize} bytes, expected ${usize}`, { index, csize, usize });
      bytes = stored;
    } else {
      this.decompressor ??= await getDecompressor(this.compression, this.chunkSize);
      bytes = this.decompressor(stored, usize);
      if (bytes.length !== usize) {
        throw bad('DF_WIM_BAD_CHUNK', `${this.what}: chunk ${index} decompressed to ${bytes.length} bytes instead of ${usize}; the data is corrupt`, {
          index,
          got: bytes.length,
          usize,
        });
      }
    }
    this.cache.push({ index, bytes });
    if (this.cache.length > CHUNK_CACHE_SIZE) this.cache.shift();
    return bytes;
  }
}

function checkChunkBounds(bounds: Float64Array, chunkSize: number, size: number, what: string): void {
  const n = bounds.length - 1;
  for (let i = 0; i < n; i++) {
    const csize = bounds[i + 1] - bounds[i];
    const usize = Math.min(chunkSize, size - i * chunkSize);
    // resource.c rejects empty chunks and chunks that grew: a compressor that cannot shrink a
    // chunk stores it raw instead.
    if (!(csize > 0 && csize <= usize)) {
      throw bad('DF_WIM_BAD_CHUNK_TABLE', `${what}: chunk ${i} has stored size ${csize} for ${usize} bytes; the chunk table is corrupt`, { index: i, csize, usize });
    }
  }
}

/** Opens a non-solid resource described by `resource` in `source` (a WIM or one SWM part). */
export async function openResourceData(source: ByteSource, resource: WimResourceHeader, compression: WimCompression, chunkSize: number): Promise<ResourceData> {
  const what = `${source.name}: resource at ${resource.offset}`;
  const { sizeInWim, originalSize, offset } = resource;
  if (resource.flags.spanned) throw bad('DF_WIM_UNSUPPORTED', `${what} spans split parts, which DeployForge does not read`, { offset });
  if (resource.flags.solid) throw bad('DF_WIM_BAD_RESOURCE', `${what} is part of a solid resource; open it through its blob`, { offset });
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(originalSize) || offset + sizeInWim > source.size) {
    throw bad('DF_WIM_BAD_RESOURCE', `${what} (${sizeInWim} bytes) runs past the end of the ${source.size}-byte file; it is truncated or corrupt`, {
      offset,
      sizeInWim,
      fileSize: source.size,
    });
  }
  if (!resource.flags.compressed || compression === 'none') {
    if (sizeInWim !== originalSize) {
      throw bad('DF_WIM_BAD_RESOURCE', `${what} is stored uncompressed but its sizes differ (${sizeInWim} stored, ${originalSize} original); the blob table is corrupt`, {
        sizeInWim,
        originalSize,
      });
    }
    return new RawResource(sliceSource(source, offset, sizeInWim, what), originalSize);
  }
  if (originalSize === 0) return new RawResource(sliceSource(source, offset, 0, what), 0);
  if (!(chunkSize > 0)) throw bad('DF_WIM_BAD_CHUNK_SIZE', `${what} is compressed but the WIM has no chunk size`, {});
  const numChunks = Math.ceil(originalSize / chunkSize);
  const entrySize = originalSize > 0xffffffff ? 8 : 4;
  const tableSize = (numChunks - 1) * entrySize;
  if (tableSize > sizeInWim) {
    throw bad('DF_WIM_BAD_CHUNK_TABLE', `${what}: ${numChunks} chunks need a ${tableSize}-byte chunk table but the resource has ${sizeInWim} bytes; it is corrupt`, {
      numChunks,
      sizeInWim,
    });
  }
  const table = await source.read(offset, tableSize);
  const dataSize = sizeInWim - tableSize;
  const bounds = new Float64Array(numChunks + 1);
  // Entries are the offsets of chunks 1..n-1 from the end of the table; chunk 0 starts at 0.
  for (let i = 1; i < numChunks; i++) bounds[i] = entrySize === 4 ? u32le(table, (i - 1) * 4) : u64le(table, (i - 1) * 8);
  bounds[numChunks] = dataSize;
  checkChunkBounds(bounds, chunkSize, originalSize, what);
  return new ChunkedResource(source, offset + tableSize, bounds, originalSize, chunkSize, compression, what);
}

/** Opens a whole solid resource: its own header gives size, chunk size and compression. */
export async function openSolidResourceData(source: ByteSource, offset: number, sizeInWim: number): Promise<ResourceData> {
  const what = `${source.name}: solid resource at ${offset}`;
  if (sizeInWim < SOLID_HEADER_SIZE || offset + sizeInWim > source.size) {
    throw bad('DF_WIM_BAD_RESOURCE', `${what} (${sizeInWim} bytes) does not fit in the ${source.size}-byte file; it is truncated or corrupt`, { offset, sizeInWim });
  }
  const head = await source.read(offset, SOLID_HEADER_SIZE);
  const size = u64le(head, 0);
  const chunkSize = u32le(head, 8);
  const format = u32le(head, 12);
  const compression = SOLID_FORMATS[format];
  if (compression === undefined) throw bad('DF_WIM_BAD_COMPRESSION', `${what} names unknown compression format ${format}`, { format });
  if (chunkSize < 4096 || chunkSize > 1 << 30 || (chunkSize & (chunkSize - 1)) !== 0) {
    throw bad('DF_WIM_BAD_CHUNK_SIZE', `${what} has invalid chunk size ${chunkSize} (a power of two from 4096 to 1 GiB)`, { chunkSize });
  }
  if (size === 0) return new RawResource(sliceSource(source, offset, 0, what), 0);
  const numChunks = Math.ceil(size / chunkSize);
  const tableSize = numChunks * 4;
  if (SOLID_HEADER_SIZE + tableSize > sizeInWim) {
    throw bad('DF_WIM_BAD_CHUNK_TABLE', `${what}: ${numChunks} chunks need a ${tableSize}-byte chunk table but the resource has ${sizeInWim} bytes; it is corrupt`, {
      numChunks,
      sizeInWim,
    });
  }
  const table = await source.read(offset + SOLID_HEADER_SIZE, tableSize);
  const bounds = new Float64Array(numChunks + 1);
  for (let i = 0; i < numChunks; i++) bounds[i + 1] = bounds[i] + u32le(table, i * 4);
  const dataStart = offset + SOLID_HEADER_SIZE + tableSize;
  if (bounds[numChunks] > sizeInWim - SOLID_HEADER_SIZE - tableSize) {
    throw bad('DF_WIM_BAD_CHUNK_TABLE', `${what}: its chunks add up to ${bounds[numChunks]} bytes, more than the resource holds; it is corrupt`, {});
  }
  checkChunkBounds(bounds, chunkSize, size, what);
  return new ChunkedResource(source, dataStart, bounds, size, chunkSize, compression, what);
}

export interface BlobReadOptions {
  /** Check the SHA-1 of the blob against the blob table when it is read whole, in one read or
   *  front to back in order (default true). */
  verify?: boolean;
}

/** A blob's uncompressed bytes as a ByteSource. Reads that cover the blob from the start in
 *  order are hashed as they go; the read that completes it throws DF_WIM_HASH_MISMATCH when the
 *  SHA-1 differs from the blob table's. */
export class BlobSource implements ByteSource {
  private hash: Hash | null = null;
  private hashed = 0;
  private verified = false;

  constructor(
    private readonly data: ResourceData,
    private readonly start: number,
    readonly size: number,
    readonly sha1: string,
    readonly name: string,
    private readonly verify: boolean,
  ) {}

  async read(offset: number, length: number): Promise<Uint8Array> {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > this.size) {
      throw bad('DF_TRUNCATED', `${this.name}: needs bytes up to ${offset + length} but has only ${this.size}`, { offset, length, size: this.size });
    }
    const bytes = await this.data.read(this.start + offset, length);
    if (this.verify && !this.verified) this.track(offset, bytes);
    return bytes;
  }

  /** Yields the blob front to back in pieces of at most one chunk (1 MiB when stored raw). */
  async *stream(): AsyncGenerator<Uint8Array> {
    const step = Math.max(4096, Math.min(this.data.chunkSize, 1 << 26));
    for (let at = 0; at < this.size; ) {
      // Align pieces to chunk boundaries of the resource so each read decompresses one chunk.
      const next = Math.min(this.size, Math.floor((this.start + at) / step) * step + step - this.start);
      yield await this.read(at, next - at);
      at = next;
    }
    if (this.size === 0 && this.verify) this.track(0, new Uint8Array(0));
  }

  /** Reads the whole blob into memory (verified unless verify is off). */
  async readAll(): Promise<Uint8Array> {
    return this.read(0, this.size);
  }

  private track(offset: number, bytes: Uint8Array): void {
    if (offset !== this.hashed) {
      if (offset === 0) {
        this.hash = null;
        this.hashed = 0;
      } else return;
    }
    this.hash ??= createHash('sha1');
    this.hash.update(bytes);
    this.hashed += bytes.length;
    if (this.hashed === this.size) {
      const digest = this.hash.digest('hex');
      this.hash = null;
      this.hashed = 0;
      if (digest !== this.sha1) {
        throw bad('DF_WIM_HASH_MISMATCH', `${this.name}: the data's SHA-1 is ${digest} but the WIM records ${this.sha1}; the WIM is corrupt`, {
          expected: this.sha1,
          actual: digest,
        });
      }
      this.verified = true;
    }
  }

  async close(): Promise<void> {}
}

/** A zero-length blob (the all-zero hash WIM uses for empty streams). */
export function emptyBlobSource(name: string): BlobSource {
  return new BlobSource(new RawResource({ size: 0, name, read: async () => new Uint8Array(0), close: async () => {} }, 0), 0, 0, ZERO_SHA1, name, false);
}

/** Opened solid resources per file, so their blobs share one chunk table and chunk cache (a few
 *  solid resources per ESD, each holding at most CHUNK_CACHE_SIZE chunks). */
const openResources = new WeakMap<WimFile, Map<number, Promise<ResourceData>>>();

function cachedResource(wim: WimFile, offset: number, open: () => Promise<ResourceData>): Promise<ResourceData> {
  let map = openResources.get(wim);
  if (!map) {
    map = new Map();
    openResources.set(wim, map);
  }
  let pending = map.get(offset);
  if (!pending) {
    pending = open();
    pending.catch(() => map.delete(offset));
    map.set(offset, pending);
  }
  return pending;
}

/** Opens the blob described by `entry`, which must be an entry of `wim`'s own blob table (for a
 *  split set, the part that holds the blob). */
export async function openBlob(wim: WimFile, entry: BlobTableEntry, options: BlobReadOptions = {}): Promise<BlobSource> {
  const verify = options.verify ?? true;
  const name = `${wim.source.name}: blob ${entry.sha1}`;
  if (entry.sha1 === ZERO_SHA1 && entry.size === 0) return emptyBlobSource(name);
  if (wim.header.pipable) throw bad('DF_WIM_UNSUPPORTED', `${wim.source.name} is a pipable WIM; convert it with 'wimlib-imagex optimize' first`, {});
  if (entry.partNumber !== wim.header.partNumber) {
    throw bad('DF_WIM_BLOB_MISSING', `${name} lives in split part ${entry.partNumber}, not in part ${wim.header.partNumber}; open the whole set`, {
      part: entry.partNumber,
    });
  }
  if (entry.kind === 'solid-resource') throw bad('DF_WIM_BAD_RESOURCE', `${name} is a solid resource, not a blob`, {});
  if (entry.kind === 'solid-blob') {
    const solid = entry.solid;
    if (!solid) throw bad('DF_WIM_BAD_BLOB_TABLE', `${name} lies outside every solid resource listed before it; the blob table is corrupt`, {});
    const info = wim.blobTable.solidResources[solid.resource];
    const data = await cachedResource(wim, info.offset, () => openSolidResourceData(wim.source, info.offset, info.sizeInWim));
    if (solid.offset + entry.size > data.size) {
      throw bad('DF_WIM_BAD_BLOB_TABLE', `${name} (${entry.size} bytes at ${solid.offset}) runs past the end of its ${data.size}-byte solid resource`, {
        offset: solid.offset,
        size: entry.size,
      });
    }
    return new BlobSource(data, solid.offset, entry.size, entry.sha1, name, verify);
  }
  // Not cached: a non-solid resource holds one blob, and caching every file's would grow without bound.
  const data = await openResourceData(wim.source, entry.resource, wim.header.compression, wim.header.chunkSize);
  return new BlobSource(data, 0, data.size, entry.sha1, name, verify);
}
