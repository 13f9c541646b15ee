// Builds the integrity table for the append writer (ebiggers/wimlib src/integrity.c): SHA-1 of
// each chunk of the file from the end of the header to the end of the blob table. Like
// wimlib's write_integrity_table it reuses the old table's hashes for chunks that lie wholly in
// bytes the append did not touch, so only the tail and the new data are read.
import { createHash } from 'node:crypto';
import { WIM_HEADER_SIZE } from './header.js';

const SHA1_SIZE = 20;

export interface OldIntegrity {
  chunkSize: number;
  /** The old table's hashes (20 bytes each). */
  hashes: Uint8Array;
  /** Bytes after the header that the old table covered and that are unchanged. */
  checkedBytes: number;
}

/** `read(offset, length)` reads the file; `end` is the offset of the end of the new blob table. */
export async function buildIntegrityTable(
  read: (offset: number, length: number) => Promise<Uint8Array>,
  end: number,
  chunkSize: number,
  old: OldIntegrity | null,
): Promise<Uint8Array> {
  const checked = end - WIM_HEADER_SIZE;
  const count = Math.ceil(checked / chunkSize);
  const out = new Uint8Array(12 + count * SHA1_SIZE);
  const view = new DataView(out.buffer);
  view.setUint32(0, out.length, true);
  view.setUint32(4, count, true);
  view.setUint32(8, chunkSize, true);
  const reusable = old && old.chunkSize === chunkSize ? Math.min(Math.floor(old.checkedBytes / chunkSize), old.hashes.length / SHA1_SIZE) : 0;
  for (let i = 0; i < count; i++) {
    if (i < reusable && old) {
      out.set(old.hashes.subarray(i * SHA1_SIZE, (i + 1) * SHA1_SIZE), 12 + i * SHA1_SIZE);
      continue;
    }
    const length = Math.min(chunkSize, checked - i * chunkSize);
    const digest = createHash('sha1')
      .update(await read(WIM_HEADER_SIZE + i * chunkSize, length))
      .digest();
    out.set(digest, 12 + i * SHA1_SIZE);
  }
  return out;
}
