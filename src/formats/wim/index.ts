// Public entry of the WIM engine: reading WIM, ESD, SWM and PPKG containers. Decompression,
// image metadata, and in-place editing of one image by appending (openWimEdit, checkpoints).
export { type BlobEntryKind, type BlobTable, type BlobTableEntry, readBlobTable, type SolidResourceInfo } from './blob-table.js';
export { rollbackWim, takeWimCheckpoint, type WimCheckpoint } from './checkpoint.js';
export { type DecompressorLoader, getDecompressor, hasDecompressor, registerDecompressor } from './codecs.js';
export { parseDentry, type WimDentryRecord, type WimStream, type WimStreamType } from './dentry.js';
export { type AddFileOptions, openWimBytes, openWimEdit, type WimCommitResult, type WimEdit, type WimEditOptions } from './edit.js';
export { createIdentityPatch, exportImagesAsPatch, materializePatch, type PatchExportOptions, type PatchExportResult } from './export-patch.js';
export { exportImagesRaw, type RawExportOptions, rawExportRefusal } from './export-raw.js';
export {
  parseWimHeader,
  readWimHeader,
  WIM_HEADER_SIZE,
  WIM_VERSION_DEFAULT,
  WIM_VERSION_SOLID,
  type WimCompression,
  type WimHeader,
  type WimHeaderFlags,
} from './header.js';
export { foldName, type OpenImageOptions, openWimImage, openWimSet, type WimEntryStat, type WimImage, type WimSet, type WimStreamInfo } from './image.js';
export { type IntegrityCheck, type IntegrityTableInfo, readIntegrityTableInfo, verifyWimIntegrity } from './integrity.js';
export { parseMetadataResource, type WimDentry, type WimMetadata } from './metadata.js';
export { parseResourceHeader, type ResourceFlags, type WimResourceHeader } from './resource-header.js';
export { type BlobReadOptions, BlobSource, openBlob, openResourceData, openSolidResourceData, type ResourceData } from './resource-reader.js';
export { parseSecurityData, type WimSecurityData } from './security.js';
export { setWimGuid } from './set-guid.js';
export { openWim, type WimFile, type WimKind } from './wim-file.js';
export {
  applyImage,
  applyToNtfsImage,
  captureImage,
  exportImages,
  MICROSOFT_CHUNK_SIZES,
  MICROSOFT_SOLID_CHUNK_SIZE,
  optimizeWim,
  setImageProperties,
  splitWim,
  verifyWim,
  wimlibVersion,
} from './wimlib.js';
export {
  ARCH_NAMES,
  parseWimXml,
  readWimXml,
  type WimImageInfo,
  type WimWindowsInfo,
  type WimWindowsVersion,
  type WimXmlInfo,
} from './xml-info.js';
