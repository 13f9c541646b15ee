// Opens a WIM-family file (WIM, ESD, one SWM part, PPKG) for inspection: header, XML, blob
// table and integrity table shape, checked against each other as wimlib's begin_read() does.
// It reads no metadata or file data, so it needs no decompressor; it never writes.
import { FormatError } from '../../errors.js';
import type { ByteSource } from '../../util/byte-source.js';
import { isPpkgXml } from '../ppkg/package-info.js';
import { type BlobTable, readBlobTable } from './blob-table.js';
import { readWimHeader, type WimHeader } from './header.js';
import { type IntegrityTableInfo, readIntegrityTableInfo } from './integrity.js';
import { readWimXml, type WimImageInfo, type WimXmlInfo } from './xml-info.js';

/** 'esd' = solid: blobs packed into solid resources (wimlib also writes plain LZMS WIMs with
 *  the solid version 0xE00, so the version alone does not make an ESD); 'swm' = one part of a
 *  split set. */
export type WimKind = 'wim' | 'esd' | 'swm' | 'ppkg';

export interface WimFile {
  source: ByteSource;
  kind: WimKind;
  /** True for a solid WIM, whatever else it is (a split ESD is kind 'swm' and solid). */
  solid: boolean;
  header: WimHeader;
  xml: WimXmlInfo;
  images: WimImageInfo[];
  blobTable: BlobTable;
  integrity: IntegrityTableInfo | null;
}

function kindOf(header: WimHeader, xml: WimXmlInfo, solid: boolean): WimKind {
  if (header.totalParts > 1 || header.flags.spanned) return 'swm';
  if (solid) return 'esd';
  if (isPpkgXml(xml)) return 'ppkg';
  return 'wim';
}

/** Reads and cross-checks the parts of a WIM-family file needed to describe it. The source
 *  stays open and owned by the caller. */
export async function openWim(source: ByteSource): Promise<WimFile> {
  const header = await readWimHeader(source);
  if (header.blobTable.originalSize === 0 && header.xmlData.originalSize === 0) {
    throw new FormatError('DF_WIM_INCOMPLETE', `${source.name}: the WIM has neither a blob table nor XML data; it was not completely written`, {});
  }
  const xml = await readWimXml(source, header);
  if (xml.images.length !== header.imageCount) {
    throw new FormatError(
      'DF_WIM_IMAGE_COUNT_MISMATCH',
      `${source.name}: the header says ${header.imageCount} images but the XML describes ${xml.images.length}; the file is corrupt`,
      { header: header.imageCount, xml: xml.images.length },
    );
  }
  const blobTable = await readBlobTable(source, header);
  const integrity = await readIntegrityTableInfo(source, header);
  const solid = blobTable.solidResources.length > 0;
  return { source, kind: kindOf(header, xml, solid), solid, header, xml, images: xml.images, blobTable, integrity };
}
