// Serializes resource headers and the blob table for the append writer (the inverse of
// resource-header.ts and blob-table.ts: 24-byte reshdr, 50-byte blob_descriptor_disk). It only
// encodes; deciding which entries a new table holds is the edit writer's job.
import { RESHDR_SIZE } from './resource-header.js';

export const BLOB_ENTRY_DISK_SIZE = 50;

/** What one on-disk reshdr holds; `rawFlags` is written as is so unknown bits survive. */
export interface ResourceHeaderFields {
  sizeInWim: number;
  rawFlags: number;
  offset: number;
  originalSize: number;
}

export interface BlobTableRow {
  resource: ResourceHeaderFields;
  partNumber: number;
  refCount: number;
  /** 40 hex digits. */
  sha1: string;
}

/** Writes a reshdr at `at`: u56 size_in_wim, u8 flags, u64 offset, u64 uncompressed size. */
export function writeResourceHeader(out: Uint8Array, at: number, r: ResourceHeaderFields): void {
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  view.setBigUint64(at, BigInt(r.sizeInWim) | (BigInt(r.rawFlags & 0xff) << 56n), true);
  view.setBigUint64(at + 8, BigInt(r.offset), true);
  view.setBigUint64(at + 16, BigInt(r.originalSize), true);
}

export function encodeResourceHeader(r: ResourceHeaderFields): Uint8Array {
  const out = new Uint8Array(RESHDR_SIZE);
  writeResourceHeader(out, 0, r);
  return out;
}

/** Encodes the rows in order: reshdr(24) + part number u16 + refcount u32 + SHA-1[20]. */
export function serializeBlobTable(rows: readonly BlobTableRow[]): Uint8Array {
  const out = new Uint8Array(rows.length * BLOB_ENTRY_DISK_SIZE);
  const view = new DataView(out.buffer);
  rows.forEach((row, i) => {
    const at = i * BLOB_ENTRY_DISK_SIZE;
    writeResourceHeader(out, at, row.resource);
    view.setUint16(at + 24, row.partNumber, true);
    view.setUint32(at + 26, row.refCount >>> 0, true);
    out.set(Buffer.from(row.sha1, 'hex'), at + 30);
  });
  return out;
}
