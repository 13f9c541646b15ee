// Writes one non-solid resource for the append writer: stored raw, or XPRESS-compressed in
// independent chunks behind a chunk table (the layout resource-reader.ts reads; wimlib
// src/write.c). A resource that does not shrink is rewritten raw, as wimlib does. It writes only
// the resource bytes; the blob table entry describing it is the caller's.
import { compressXpress } from './compression/xpress.js';

/** Where resource bytes go: a positioned write into the WIM being appended to. */
export interface ResourceSink {
  write(offset: number, bytes: Uint8Array): Promise<void>;
}

/** Produces the resource's uncompressed bytes front to back; called again for a raw rewrite. */
export type DataPieces = () => AsyncIterable<Uint8Array>;

export interface WrittenResource {
  sizeInWim: number;
  compressed: boolean;
}

/** Regroups pieces into chunks of exactly `size` bytes (the last may be shorter). */
async function* rechunk(pieces: AsyncIterable<Uint8Array>, size: number): AsyncGenerator<Uint8Array> {
  let pending: Uint8Array[] = [];
  let have = 0;
  for await (const piece of pieces) {
    let p = piece;
    while (p.length > 0) {
      const take = Math.min(size - have, p.length);
      pending.push(p.subarray(0, take));
      have += take;
      p = p.subarray(take);
      if (have === size) {
        yield pending.length === 1 ? pending[0] : Buffer.concat(pending);
        pending = [];
        have = 0;
      }
    }
  }
  if (have > 0) yield pending.length === 1 ? pending[0] : Buffer.concat(pending);
}

async function writeRaw(sink: ResourceSink, offset: number, pieces: DataPieces, size: number): Promise<WrittenResource> {
  let at = offset;
  for await (const piece of rechunk(pieces(), 1 << 20)) {
    await sink.write(at, piece);
    at += piece.length;
  }
  if (at - offset !== size) throw new Error(`resource data changed while it was written (${at - offset} bytes instead of ${size})`);
  return { sizeInWim: size, compressed: false };
}

/** Writes `size` bytes of data at `offset`, XPRESS-compressed in `chunkSize` chunks when
 *  `compression` is 'xpress' and that makes it smaller, raw otherwise. */
export async function writeResource(
  sink: ResourceSink,
  offset: number,
  pieces: DataPieces,
  size: number,
  compression: 'none' | 'xpress',
  chunkSize: number,
): Promise<WrittenResource> {
  if (compression === 'none' || size === 0) return writeRaw(sink, offset, pieces, size);
  const numChunks = Math.ceil(size / chunkSize);
  // resource.h: chunk offsets are u64 when the uncompressed size needs more than 32 bits.
  const entrySize = size > 0xffffffff ? 8 : 4;
  const tableSize = (numChunks - 1) * entrySize;
  const table = new Uint8Array(tableSize);
  const view = new DataView(table.buffer);
  let at = offset + tableSize;
  let stored = 0;
  let index = 0;
  let seen = 0;
  for await (const chunk of rechunk(pieces(), chunkSize)) {
    if (index > 0) {
      if (entrySize === 4) view.setUint32((index - 1) * 4, stored, true);
      else view.setBigUint64((index - 1) * 8, BigInt(stored), true);
    }
    const packed = compressXpress(chunk);
    // A chunk that does not shrink is stored as is (csize === usize marks it raw).
    const out = packed && packed.length < chunk.length ? packed : chunk;
    await sink.write(at, out);
    at += out.length;
    stored += out.length;
    seen += chunk.length;
    index++;
  }
  if (seen !== size) throw new Error(`resource data changed while it was written (${seen} bytes instead of ${size})`);
  if (tableSize + stored >= size) return writeRaw(sink, offset, pieces, size);
  await sink.write(offset, table);
  return { sizeInWim: tableSize + stored, compressed: true };
}
