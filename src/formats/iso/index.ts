// The ISO engine's public entry: open an image, read its trees and boot catalog. The pieces
// (descriptors, directories, UDF structures) stay importable from their own files for the writer.

export type { ElToritoEntry, IsoEntry, IsoImage, IsoTrees, OpenIsoOptions, TreeKind } from './iso-image.js';
export { openFileInIsoPath, openIso } from './iso-image.js';
export type { IsoBootEntry, IsoInputFile, IsoPlan, IsoPlanFile, IsoWriteMode, IsoWriteOptions } from './iso-writer.js';
export { FIRST_KEEPABLE_SECTOR, planIso, UDF_README_TEXT, writeIso, writeIsoFile } from './iso-writer.js';
