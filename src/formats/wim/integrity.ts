// The optional integrity table: SHA-1 of each fixed-size chunk of the file from the end of the
// header to the end of the blob table (ebiggers/wimlib:src/integrity.c). Reads its shape and
// can verify it; writing a new table belongs to the WIM writer, not here.
import { createHash } from 'node:crypto';
import { FormatError } from '../../errors.js';
import { u32le } from '../../util/binary.js';
import type { ByteSource } from '../../util/byte-source.js';
import { WIM_HEADER_SIZE, type WimHeader } from './header.js';
import { isEmptyResource } from './resource-header.js';

const TABLE_HEAD = 12; // u32 size, u32 num_entries, u32 chunk_size
const SHA1_SIZE = 20;
/** wimlib's INTEGRITY_CHUNK_SIZE, the value every known writer uses. */
export const DEFAULT_INTEGRITY_CHUNK_SIZE = 10 * 1024 * 1024;

export interface IntegrityTableInfo {
  /** Table size in bytes (12 + 20 × entryCount). */
  size: number;
  entryCount: number;
  chunkSize: number;
  /** Bytes the table covers: from offset 208 to the end of the blob table. */
  checkedBytes: number;
}

export interface IntegrityCheck {
  ok: boolean;
  /** 0-based indices of chunks whose SHA-1 does not match. */
  badChunks: number[];
}

function checkedBytesOf(header: WimHeader, name: string): number {
  const end = header.blobTable.offset + header.blobTable.sizeInWim;
  if (end < WIM_HEADER_SIZE) {
    throw new FormatError('DF_WIM_BAD_INTEGRITY_TABLE', `${name}: the blob table ends before the header does, so the integrity table cannot apply; the file is corrupt`, {});
  }
  return end - WIM_HEADER_SIZE;
}

/** Reads the table's 12-byte head and checks it as wimlib's read_integrity_table does; returns
 *  null when the WIM has no integrity table. */
export async function readIntegrityTableInfo(source: ByteSource, header: WimHeader): Promise<IntegrityTableInfo | null> {
  const r = header.integrityTable;
  if (isEmptyResource(r)) return null;
  const bad = (why: string, details: Record<string, unknown> = {}) =>
    new FormatError(
      'DF_WIM_BAD_INTEGRITY_TABLE',
      `${source.name}: the integrity table is invalid (${why}); rebuild it with 'wimlib-imagex optimize --check' or drop it with --nocheck`,
      details,
    );
  if (r.flags.compressed) throw bad('it is marked compressed');
  if (r.originalSize < TABLE_HEAD || r.sizeInWim !== r.originalSize) throw bad(`size ${r.sizeInWim}/${r.originalSize}`);
  const head = await source.read(r.offset, TABLE_HEAD);
  const size = u32le(head, 0);
  const entryCount = u32le(head, 4);
  const chunkSize = u32le(head, 8);
  const checkedBytes = checkedBytesOf(header, source.name);
  if (size !== r.originalSize || size !== entryCount * SHA1_SIZE + TABLE_HEAD) throw bad(`size field ${size} for ${entryCount} entries`, { size, entryCount });
  if (chunkSize === 0) throw bad('chunk size 0');
  if (entryCount !== Math.ceil(checkedBytes / chunkSize)) {
    throw bad(`${entryCount} entries for ${checkedBytes} bytes in ${chunkSize}-byte chunks`, { entryCount, checkedBytes, chunkSize });
  }
  return { size, entryCount, chunkSize, checkedBytes };
}

/** Recomputes every chunk's SHA-1 and compares it with the table (what `wimlib-imagex verify`
 *  and `--check` do first). Reads the covered bytes one chunk at a time. */
export async function verifyWimIntegrity(source: ByteSource, header: WimHeader): Promise<IntegrityCheck | null> {
  const info = await readIntegrityTableInfo(source, header);
  if (!info) return null;
  const hashes = await source.read(header.integrityTable.offset + TABLE_HEAD, info.entryCount * SHA1_SIZE);
  const badChunks: number[] = [];
  for (let i = 0; i < info.entryCount; i++) {
    const start = WIM_HEADER_SIZE + i * info.chunkSize;
    const length = Math.min(info.chunkSize, info.checkedBytes - i * info.chunkSize);
    const digest = createHash('sha1')
      .update(await source.read(start, length))
      .digest();
    if (!digest.equals(hashes.subarray(i * SHA1_SIZE, (i + 1) * SHA1_SIZE))) badChunks.push(i);
  }
  return { ok: badChunks.length === 0, badChunks };
}
