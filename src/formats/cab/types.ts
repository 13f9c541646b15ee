// The values the cabinet reader returns: CFHEADER, CFFOLDER and CFFILE (MS-CAB 2.1–2.3) as
// plain typed data. No parsing here, and no data blocks: CFDATA is read on demand by
// folder-reader.ts, never listed.

/** MS-CAB 2.1 CFHEADER flags. */
export const CAB_FLAG_PREV_CABINET = 0x0001;
export const CAB_FLAG_NEXT_CABINET = 0x0002;
export const CAB_FLAG_RESERVE_PRESENT = 0x0004;

/** MS-CAB 2.3 CFFILE iFolder values that point into a neighbouring cabinet of a set. */
export const IFOLD_CONTINUED_FROM_PREV = 0xfffd;
export const IFOLD_CONTINUED_TO_NEXT = 0xfffe;
export const IFOLD_CONTINUED_PREV_AND_NEXT = 0xffff;

/** MS-CAB 2.3 CFFILE attribs. */
export const CAB_ATTR_READONLY = 0x01;
export const CAB_ATTR_HIDDEN = 0x02;
export const CAB_ATTR_SYSTEM = 0x04;
export const CAB_ATTR_ARCHIVE = 0x20;
export const CAB_ATTR_EXECUTE = 0x40;
/** The name is UTF-8; without it the name is in an unknown code page (read as Latin-1). */
export const CAB_ATTR_NAME_IS_UTF = 0x80;

/** MS-CAB 2.2 typeCompress, low four bits. */
export type CabCompressionName = 'none' | 'mszip' | 'quantum' | 'lzx' | 'unknown';

export interface CabCompression {
  /** The raw typeCompress field. */
  raw: number;
  name: CabCompressionName;
  /** Quantum only: compression level (bits 4–7). */
  level?: number;
  /** Quantum and LZX: log2 of the window size (bits 8–12). */
  windowBits?: number;
}

export interface CabFolder {
  index: number;
  compression: CabCompression;
  /** 'none', 'MSZIP', 'Quantum', 'LZX' or 'unknown (N)', for display. */
  compressionName: string;
  /** cCFData: CFDATA blocks of this folder in this cabinet. */
  dataBlocks: number;
  /** coffCabStart: offset of the folder's first CFDATA block in the cabinet. */
  firstDataOffset: number;
}

export interface CabFile {
  /** szName as stored: Windows paths use backslashes (`sub\file.txt`). */
  name: string;
  /** cbFile: uncompressed size in bytes. */
  size: number;
  /** iFolder: a folder index, or one of the IFOLD_CONTINUED_* values. */
  folderIndex: number;
  /** uoffFolderStart: offset of the file in its folder's uncompressed data. */
  offsetInFolder: number;
  /** DOS date and time as `YYYY-MM-DDTHH:MM:SS` with no zone (DOS times have none); null if invalid. */
  modified: string | null;
  attributes: number;
}

export interface CabReserveSizes {
  /** cbCFHeader: bytes of per-cabinet reserved data (signatures live here). */
  header: number;
  /** cbCFFolder: reserved bytes after each CFFOLDER. */
  folder: number;
  /** cbCFData: reserved bytes after each CFDATA header. */
  data: number;
}

export interface CabInfo {
  /** "major.minor"; every known cabinet is "1.3". */
  version: string;
  /** cbCabinet: the cabinet's size according to its header. */
  totalSize: number;
  setId: number;
  /** iCabinet: position in a multi-cabinet set, from 0. */
  cabinetIndex: number;
  flags: number;
  previous?: { cabinet: string; disk: string };
  next?: { cabinet: string; disk: string };
  reserve: CabReserveSizes;
  folders: CabFolder[];
  files: CabFile[];
}
