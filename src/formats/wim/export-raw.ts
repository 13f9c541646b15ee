// Exports editions of a WIM without recompressing anything and without a separate copy: the kept
// images' resources are copied as they are stored (compressed bytes, in source order) straight
// from the source — a WIM inside an ISO is read through the ISO's extents — followed by their
// metadata resources, a new blob table (only the blobs the kept images use, with their reference
// counts), the XML of the kept images renumbered 1..N, and a header. This is what wimlib's export
// does for a same-compression, non-solid WIM (FORMATS.md §1); it saves the copy of install.wim out
// of the ISO that wimlib needs. Solid (ESD), split and pipable WIMs are refused: use exportImages.
import { open, rename, rm } from 'node:fs/promises';
import { InputError } from '../../errors.js';
import type { ProgressSink } from '../../progress.js';
import type { ByteSource } from '../../util/byte-source.js';
import { readAhead } from '../../util/copy.js';
import { partialPathFor } from '../../util/fs.js';
import { type BlobTableRow, serializeBlobTable, writeResourceHeader } from './blob-table-write.js';
import { HDR_FLAG_READONLY, HDR_FLAG_SPANNED, HDR_FLAG_WRITE_IN_PROGRESS, WIM_HEADER_SIZE } from './header.js';
import { openWimImage } from './image.js';
import { openWim, type WimFile } from './wim-file.js';
import { encodeWimXml, selectWimXmlImages } from './xml-write.js';

export interface RawExportOptions {
  /** The new WIM's GUID (16 bytes); default: the source's. */
  guid?: Uint8Array;
  progress?: ProgressSink;
  /** Stops the copy; nothing is left at the target. */
  signal?: AbortSignal;
}

/** Why a WIM cannot be exported raw, or null when it can. */
export function rawExportRefusal(info: { solid: boolean; header: { pipable: boolean; totalParts: number } }): string | null {
  if (info.solid) return 'it is solid (ESD): its resources must be recompressed';
  if (info.header.pipable) return 'it is a pipable WIM';
  if (info.header.totalParts > 1) return 'it is part of a split WIM';
  return null;
}

/** The resources images `indexes` use: their file blobs in source order with reference counts
 *  the way the edit writer keeps them (one per stream of every entry), and their metadata. */
export async function keptResources(wim: WimFile, indexes: readonly number[]) {
  const metadataEntries = wim.blobTable.entries.filter((e) => e.kind === 'metadata');
  const refs = new Map<string, number>();
  for (const index of indexes) {
    const image = await openWimImage(wim, index);
    for (const entry of image.walk()) for (const s of entry.streams) if (s.sha1 && !/^0+$/.test(s.sha1)) refs.set(s.sha1, (refs.get(s.sha1) ?? 0) + 1);
  }
  const blobs = wim.blobTable.entries.filter((e) => e.kind === 'file' && refs.has(e.sha1) && e.resource.sizeInWim > 0).sort((a, b) => a.resource.offset - b.resource.offset);
  const metadata = indexes.map((i) => metadataEntries[i - 1]);
  return { refs, blobs, metadata };
}

/** Writes the images `indexes` (1-based, in that order) of the WIM in `source` to `target`. */
export async function exportImagesRaw(source: ByteSource, indexes: readonly number[], target: string, options: RawExportOptions = {}): Promise<{ size: number }> {
  const wim = await openWim(source);
  const refusal = rawExportRefusal(wim);
  if (refusal) throw new InputError('DF_WIM_RAW_EXPORT', `${source.name} cannot be exported raw: ${refusal}`);
  if (indexes.length === 0 || new Set(indexes).size !== indexes.length) throw new InputError('DF_WIM_RAW_EXPORT', 'give each image to keep once, at least one');
  const { refs, blobs, metadata } = await keptResources(wim, indexes);

  const partial = partialPathFor(target);
  const handle = await open(partial, 'w');
  try {
    let pos = WIM_HEADER_SIZE;
    let copied = 0;
    const total = blobs.reduce((n, b) => n + b.resource.sizeInWim, 0) + metadata.reduce((n, m) => n + m.resource.sizeInWim, 0);
    // Copies [offset, offset + length) of the source to `pos`.
    const copyRange = async (offset: number, length: number) => {
      for await (const piece of readAhead(source, offset, length)) {
        options.signal?.throwIfAborted();
        for (let at = 0; at < piece.length; ) at += (await handle.write(piece, at, piece.length - at, pos + at)).bytesWritten;
        pos += piece.length;
        copied += piece.length;
        options.progress?.emit({ phase: 'export (raw copy)', done: copied, total, unit: 'bytes' });
      }
    };

    // File blobs in source order; runs that were contiguous in the source are copied as one range.
    const rows: BlobTableRow[] = [];
    for (let i = 0; i < blobs.length; ) {
      let j = i;
      let end = blobs[i].resource.offset + blobs[i].resource.sizeInWim;
      while (j + 1 < blobs.length && blobs[j + 1].resource.offset === end) {
        j++;
        end += blobs[j].resource.sizeInWim;
      }
      const shift = pos - blobs[i].resource.offset;
      for (const b of blobs.slice(i, j + 1)) {
        rows.push({
          resource: { sizeInWim: b.resource.sizeInWim, rawFlags: b.resource.rawFlags, offset: b.resource.offset + shift, originalSize: b.resource.originalSize },
          partNumber: 1,
          refCount: refs.get(b.sha1) as number,
          sha1: b.sha1,
        });
      }
      await copyRange(blobs[i].resource.offset, end - blobs[i].resource.offset);
      i = j + 1;
    }
    // Metadata resources, in the order of the kept images (the blob table lists them in image order).
    const metadataRows: BlobTableRow[] = [];
    for (const m of metadata) {
      metadataRows.push({
        resource: { sizeInWim: m.resource.sizeInWim, rawFlags: m.resource.rawFlags, offset: pos, originalSize: m.resource.originalSize },
        partNumber: 1,
        refCount: 1,
        sha1: m.sha1,
      });
      await copyRange(m.resource.offset, m.resource.sizeInWim);
    }
    const table = serializeBlobTable([...metadataRows, ...rows]);
    const tableAt = pos;
    await handle.write(table, 0, table.length, pos);
    pos += table.length;
    const xml = encodeWimXml(selectWimXmlImages(wim.xml.text, indexes, pos));
    const xmlAt = pos;
    await handle.write(xml, 0, xml.length, pos);
    pos += xml.length;

    const header = exportedHeader(await source.read(0, WIM_HEADER_SIZE), wim, {
      table: { offset: tableAt, size: table.length },
      xml: { offset: xmlAt, size: xml.length },
      indexes,
      metadataRows,
      guid: options.guid,
    });
    await handle.write(header, 0, WIM_HEADER_SIZE, 0);
    await handle.close();
    await rename(partial, target);
    return { size: pos };
  } catch (error) {
    await handle.close().catch(() => {});
    await rm(partial, { force: true });
    throw error;
  }
}

/** The header of an exported WIM: the source's, with the new tables, image count, boot image and
 *  GUID, no integrity table, and the write-in-progress, read-only and spanned flags cleared. */
export function exportedHeader(
  sourceHeader: Uint8Array,
  wim: WimFile,
  to: {
    table: { offset: number; size: number };
    xml: { offset: number; size: number };
    indexes: readonly number[];
    metadataRows: readonly BlobTableRow[];
    guid?: Uint8Array;
  },
): Buffer {
  const header = Buffer.from(sourceHeader);
  header.writeUInt32LE((wim.header.rawFlags & ~(HDR_FLAG_WRITE_IN_PROGRESS | HDR_FLAG_READONLY | HDR_FLAG_SPANNED)) >>> 0, 0x10);
  if (to.guid) Buffer.from(to.guid).copy(header, 0x18);
  header.writeUInt16LE(1, 0x28);
  header.writeUInt16LE(1, 0x2a);
  header.writeUInt32LE(to.indexes.length, 0x2c);
  writeResourceHeader(header, 0x30, { sizeInWim: to.table.size, rawFlags: wim.header.blobTable.rawFlags, offset: to.table.offset, originalSize: to.table.size });
  writeResourceHeader(header, 0x48, { sizeInWim: to.xml.size, rawFlags: wim.header.xmlData.rawFlags, offset: to.xml.offset, originalSize: to.xml.size });
  const boot = to.indexes.indexOf(wim.header.bootIndex);
  const bootRow = boot >= 0 ? to.metadataRows[boot].resource : { sizeInWim: 0, rawFlags: 0, offset: 0, originalSize: 0 };
  writeResourceHeader(header, 0x60, bootRow);
  header.writeUInt32LE(boot >= 0 ? boot + 1 : 0, 0x78);
  writeResourceHeader(header, 0x7c, { sizeInWim: 0, rawFlags: 0, offset: 0, originalSize: 0 });
  return header;
}
