// Exports editions of a WIM as a patch over the WIM itself: nothing is copied. The new WIM keeps
// every resource at the offset it has in the source, so the local file holds only a new header
// (the first 208 bytes), a hole where the source's bytes stay, and, after the source's end, a new
// blob table (the kept images' metadata and the blobs they use, with their reference counts) and
// the XML of the kept images renumbered 1..N. The resources of the dropped images are left
// unreferenced, as DISM's /Delete-Image and wimlib's `delete --soft` leave them. Read it through
// a PatchedSource over the source; materializePatch fills the hole to make a standalone WIM.
// Non-solid, single-part, non-pipable WIMs only (rawExportRefusal).
import { open, rename, rm } from 'node:fs/promises';
import { InputError } from '../../errors.js';
import type { ByteSource } from '../../util/byte-source.js';
import { readAhead } from '../../util/copy.js';
import { partialPathFor, writeAt } from '../../util/fs.js';
import { type BlobTableRow, serializeBlobTable, writeResourceHeader } from './blob-table-write.js';
import { exportedHeader, keptResources, rawExportRefusal } from './export-raw.js';
import { WIM_HEADER_SIZE } from './header.js';
import { openWim } from './wim-file.js';
import { encodeWimXml, renameWimXmlImage, selectWimXmlImages } from './xml-write.js';

export interface PatchExportOptions {
  /** The new WIM's GUID (16 bytes); default: the source's. */
  guid?: Uint8Array;
  /** New names (NAME and DISPLAYNAME) by position in the new WIM (1-based). */
  names?: Record<number, string>;
}

export interface PatchExportResult {
  /** Size of the new WIM (the local file's size). */
  size: number;
  /** Bytes [WIM_HEADER_SIZE, baseSize) are the source's. */
  baseSize: number;
}

/** Writes the images `indexes` (1-based, in that order) of the WIM in `source` to `target` as a patch over `source`. */
export async function exportImagesAsPatch(source: ByteSource, indexes: readonly number[], target: string, options: PatchExportOptions = {}): Promise<PatchExportResult> {
  const wim = await openWim(source);
  const refusal = rawExportRefusal(wim);
  if (refusal) throw new InputError('DF_WIM_RAW_EXPORT', `${source.name} cannot be exported over itself: ${refusal}`);
  if (indexes.length === 0 || new Set(indexes).size !== indexes.length) throw new InputError('DF_WIM_RAW_EXPORT', 'give each image to keep once, at least one');
  const { refs, blobs, metadata } = await keptResources(wim, indexes);
  const metadataRows: BlobTableRow[] = metadata.map((m) => ({ resource: { ...m.resource }, partNumber: 1, refCount: 1, sha1: m.sha1 }));
  const rows: BlobTableRow[] = blobs.map((b) => ({ resource: { ...b.resource }, partNumber: 1, refCount: refs.get(b.sha1) as number, sha1: b.sha1 }));
  const table = serializeBlobTable([...metadataRows, ...rows]);
  const tableAt = source.size;
  const xmlAt = tableAt + table.length;
  let text = selectWimXmlImages(wim.xml.text, indexes, xmlAt);
  for (const [position, name] of Object.entries(options.names ?? {})) text = renameWimXmlImage(text, Number(position), name);
  const xml = encodeWimXml(text);
  const header = exportedHeader(await source.read(0, WIM_HEADER_SIZE), wim, {
    table: { offset: tableAt, size: table.length },
    xml: { offset: xmlAt, size: xml.length },
    indexes,
    metadataRows,
    guid: options.guid,
  });

  const partial = partialPathFor(target);
  const handle = await open(partial, 'w');
  try {
    await handle.truncate(source.size); // the hole: the source's bytes
    await writeAt(handle, table, tableAt);
    await writeAt(handle, xml, xmlAt);
    await writeAt(handle, header, 0);
    await handle.sync();
    await handle.close();
    await rename(partial, target);
    return { size: xmlAt + xml.length, baseSize: source.size };
  } catch (error) {
    await handle.close().catch(() => {});
    await rm(partial, { force: true });
    throw error;
  }
}

/** Fills the hole of a patch WIM at `path` with the base's bytes, making it a standalone WIM
 *  (same bytes as read through the PatchedSource). */
export async function materializePatch(path: string, base: ByteSource): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    let at = WIM_HEADER_SIZE;
    for await (const piece of readAhead(base, WIM_HEADER_SIZE, base.size - WIM_HEADER_SIZE)) {
      await writeAt(handle, piece, at);
      at += piece.length;
    }
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** A patch over `source` that changes nothing yet: its header (with no integrity table, which an
 *  edit over a base cannot update) and a hole where every other byte is the source's. Edits
 *  opened with `base` then append to it (the one-step edit of a WIM inside an ISO). */
export async function createIdentityPatch(source: ByteSource, target: string): Promise<void> {
  const wim = await openWim(source);
  const refusal = rawExportRefusal(wim);
  if (refusal) throw new InputError('DF_WIM_RAW_EXPORT', `${source.name} cannot be edited over itself: ${refusal}`);
  const header = Buffer.from(await source.read(0, WIM_HEADER_SIZE));
  writeResourceHeader(header, 0x7c, { sizeInWim: 0, rawFlags: 0, offset: 0, originalSize: 0 });
  const partial = partialPathFor(target);
  const handle = await open(partial, 'w');
  try {
    await handle.truncate(source.size);
    await writeAt(handle, header, 0);
    await handle.sync();
    await handle.close();
    await rename(partial, target);
  } catch (error) {
    await handle.close().catch(() => {});
    await rm(partial, { force: true });
    throw error;
  }
}
