// Reads a cabinet's directory: CFHEADER, the CFFOLDER table and the CFFILE table (MS-CAB 2.1–2.3).
// It reads only those tables, never CFDATA, so listing a multi-gigabyte .msu costs a few reads.
// Every count and offset is checked against the cabinet's size before it is used; it does not
// follow a multi-cabinet set into its neighbours (it only reports their names).
import { FormatError } from '../../errors.js';
import { startsWith, u16le, u32le } from '../../util/binary.js';
import type { ByteSource } from '../../util/byte-source.js';
import { dosDateTimeToIso } from './dos-time.js';
import {
  CAB_ATTR_NAME_IS_UTF,
  CAB_FLAG_NEXT_CABINET,
  CAB_FLAG_PREV_CABINET,
  CAB_FLAG_RESERVE_PRESENT,
  type CabCompression,
  type CabFile,
  type CabFolder,
  type CabInfo,
  type CabReserveSizes,
  IFOLD_CONTINUED_FROM_PREV,
} from './types.js';

const HEADER_FIXED = 36; // MS-CAB 2.1 CFHEADER up to and including iCabinet
const FOLDER_FIXED = 8; // MS-CAB 2.2 CFFOLDER without abReserve
const FILE_FIXED = 16; // MS-CAB 2.3 CFFILE without szName
const DATA_FIXED = 8; // MS-CAB 2.4 CFDATA without abReserve and ab
const MAX_NAME = 256; // MS-CAB: szName and the cabinet/disk names hold at most 255 bytes + NUL
const MAX_HEADER_RESERVE = 60000; // MS-CAB 2.1: cbCFHeader ranges 0..60000
/** The most uncompressed bytes one CFDATA block may hold (MS-CAB 2.4 cbUncomp). */
export const CAB_BLOCK_MAX = 32768;

/** Reads the directory of the cabinet in `source`. Throws FormatError for anything malformed. */
export async function readCab(source: ByteSource): Promise<CabInfo> {
  const where = source.name;
  if (source.size < HEADER_FIXED) {
    throw new FormatError('DF_CAB_TRUNCATED', `${where}: ${source.size} bytes is too small for a cabinet header (needs ${HEADER_FIXED})`, { size: source.size });
  }
  const head = await source.read(0, HEADER_FIXED);
  if (!startsWith(head, 'MSCF')) {
    throw new FormatError('DF_CAB_BAD_SIGNATURE', `${where} is not a cabinet: it does not start with "MSCF"`);
  }
  // MS-CAB 2.1 CFHEADER
  const cbCabinet = u32le(head, 8);
  const coffFiles = u32le(head, 16);
  const versionMinor = head[24];
  const versionMajor = head[25];
  const cFolders = u16le(head, 26);
  const cFiles = u16le(head, 28);
  const flags = u16le(head, 30);
  const setId = u16le(head, 32);
  const cabinetIndex = u16le(head, 34);

  if (versionMajor !== 1) {
    throw new FormatError('DF_CAB_BAD_VERSION', `${where}: cabinet format version ${versionMajor}.${versionMinor} is not supported (only 1.x exists)`, {
      versionMajor,
      versionMinor,
    });
  }
  if (cbCabinet > source.size) {
    throw new FormatError('DF_CAB_TRUNCATED', `${where}: header says the cabinet is ${cbCabinet} bytes but only ${source.size} are present; the file is truncated`, {
      cbCabinet,
      size: source.size,
    });
  }
  if (cbCabinet < HEADER_FIXED) {
    throw new FormatError('DF_CAB_BAD_HEADER', `${where}: header gives a cabinet size of ${cbCabinet} bytes, smaller than the header itself`, { cbCabinet });
  }
  // Offsets must stay inside the cabinet itself; bytes after cbCabinet (if any) are not ours.
  const limit = cbCabinet;
  const ctx = { where, limit };

  let offset = HEADER_FIXED;
  const reserve: CabReserveSizes = { header: 0, folder: 0, data: 0 };
  if (flags & CAB_FLAG_RESERVE_PRESENT) {
    const r = await readChecked(source, ctx, offset, 4, 'reserve sizes');
    reserve.header = u16le(r, 0);
    reserve.folder = r[2];
    reserve.data = r[3];
    if (reserve.header > MAX_HEADER_RESERVE) {
      throw new FormatError('DF_CAB_BAD_HEADER', `${where}: header reserve of ${reserve.header} bytes exceeds the format's ${MAX_HEADER_RESERVE}`, { cbCFHeader: reserve.header });
    }
    offset += 4 + reserve.header; // abReserve: opaque (e.g. a signature); skipped
  }

  let previous: CabInfo['previous'];
  let next: CabInfo['next'];
  if (flags & CAB_FLAG_PREV_CABINET) {
    const cabinet = await readCString(source, ctx, offset, 'previous cabinet name');
    const disk = await readCString(source, ctx, cabinet.end, 'previous disk name');
    previous = { cabinet: cabinet.text, disk: disk.text };
    offset = disk.end;
  }
  if (flags & CAB_FLAG_NEXT_CABINET) {
    const cabinet = await readCString(source, ctx, offset, 'next cabinet name');
    const disk = await readCString(source, ctx, cabinet.end, 'next disk name');
    next = { cabinet: cabinet.text, disk: disk.text };
    offset = disk.end;
  }

  // MS-CAB 2.2 CFFOLDER table, right after the header.
  const folderSize = FOLDER_FIXED + reserve.folder;
  const folderTable = await readChecked(source, ctx, offset, cFolders * folderSize, `table of ${cFolders} folders`);
  const folders: CabFolder[] = [];
  for (let i = 0; i < cFolders; i++) {
    folders.push(parseFolder(folderTable, i * folderSize, i, reserve, ctx));
  }
  const folderTableEnd = offset + cFolders * folderSize;

  // MS-CAB 2.3 CFFILE table at coffFiles.
  if (coffFiles < folderTableEnd || coffFiles > limit) {
    throw new FormatError('DF_CAB_BAD_HEADER', `${where}: file table offset ${coffFiles} is outside the cabinet's ${folderTableEnd}..${limit} range`, { coffFiles });
  }
  if (coffFiles + cFiles * (FILE_FIXED + 1) > limit) {
    throw new FormatError('DF_CAB_BAD_HEADER', `${where}: ${cFiles} file entries cannot fit between offset ${coffFiles} and the cabinet's end at ${limit}`, { cFiles, coffFiles });
  }
  // Names vary in length, so read the most the table could need, bounded by the cabinet's end.
  const fileTable = await source.read(coffFiles, Math.min(limit - coffFiles, cFiles * (FILE_FIXED + MAX_NAME)));
  const files: CabFile[] = [];
  let pos = 0;
  for (let i = 0; i < cFiles; i++) {
    const parsed = parseFile(fileTable, pos, i, cFolders, coffFiles, where);
    files.push(parsed.file);
    pos = parsed.end;
  }

  // A file's bytes must lie within what its folder's blocks can hold. Only checkable when the
  // whole folder is in this cabinet, that is, outside multi-cabinet sets.
  if (!(flags & (CAB_FLAG_PREV_CABINET | CAB_FLAG_NEXT_CABINET))) {
    for (const file of files) {
      const folder = folders[file.folderIndex];
      if (!folder) continue;
      if (file.offsetInFolder + file.size > folder.dataBlocks * CAB_BLOCK_MAX) {
        throw new FormatError(
          'DF_CAB_BAD_FILE',
          `${where}: file "${file.name}" ends at ${file.offsetInFolder + file.size}, beyond the ${folder.dataBlocks} blocks of folder ${folder.index}`,
          { name: file.name },
        );
      }
    }
  }

  return {
    version: `${versionMajor}.${versionMinor}`,
    totalSize: cbCabinet,
    setId,
    cabinetIndex,
    flags,
    ...(previous ? { previous } : {}),
    ...(next ? { next } : {}),
    reserve,
    folders,
    files,
  };
}

interface Bounds {
  where: string;
  limit: number;
}

async function readChecked(source: ByteSource, ctx: Bounds, offset: number, length: number, what: string): Promise<Uint8Array> {
  if (offset + length > ctx.limit) {
    throw new FormatError('DF_CAB_BAD_HEADER', `${ctx.where}: ${what} at offset ${offset} (${length} bytes) runs past the cabinet's end at ${ctx.limit}`, { offset, length });
  }
  return source.read(offset, length);
}

/** A NUL-terminated string of at most 255 bytes, as the header's cabinet/disk names are. */
async function readCString(source: ByteSource, ctx: Bounds, offset: number, what: string): Promise<{ text: string; end: number }> {
  if (offset >= ctx.limit) {
    throw new FormatError('DF_CAB_BAD_HEADER', `${ctx.where}: ${what} starts past the cabinet's end`, { offset });
  }
  const bytes = await source.read(offset, Math.min(MAX_NAME, ctx.limit - offset));
  const nul = bytes.indexOf(0);
  if (nul < 0) {
    throw new FormatError('DF_CAB_BAD_HEADER', `${ctx.where}: ${what} at offset ${offset} has no terminating NUL within ${MAX_NAME} bytes`, { offset });
  }
  return {
    text: decodeName(bytes.subarray(0, nul), false),
    end: offset + nul + 1,
  };
}

function parseFolder(table: Uint8Array, at: number, index: number, reserve: CabReserveSizes, ctx: Bounds): CabFolder {
  const coffCabStart = u32le(table, at);
  const cCFData = u16le(table, at + 4);
  const typeCompress = u16le(table, at + 6);
  // Every block has at least its fixed header and reserve, so the count is bounded by the size.
  if (coffCabStart > ctx.limit || coffCabStart + cCFData * (DATA_FIXED + reserve.data) > ctx.limit) {
    throw new FormatError('DF_CAB_BAD_FOLDER', `${ctx.where}: folder ${index} claims ${cCFData} data blocks from offset ${coffCabStart}, past the cabinet's end at ${ctx.limit}`, {
      index,
      coffCabStart,
      cCFData,
    });
  }
  const compression = describeCompression(typeCompress);
  return {
    index,
    compression,
    compressionName: compressionLabel(compression),
    dataBlocks: cCFData,
    firstDataOffset: coffCabStart,
  };
}

/** MS-CAB 2.2 typeCompress: type in bits 0–3, Quantum level in 4–7, window bits in 8–12. */
export function describeCompression(raw: number): CabCompression {
  switch (raw & 0x000f) {
    case 0:
      return { raw, name: 'none' };
    case 1:
      return { raw, name: 'mszip' };
    case 2:
      return {
        raw,
        name: 'quantum',
        level: (raw >> 4) & 0x0f,
        windowBits: (raw >> 8) & 0x1f,
      };
    case 3:
      return { raw, name: 'lzx', windowBits: (raw >> 8) & 0x1f };
    default:
      return { raw, name: 'unknown' };
  }
}

function compressionLabel(c: CabCompression): string {
  switch (c.name) {
    case 'none':
      return 'none';
    case 'mszip':
      return 'MSZIP';
    case 'quantum':
      return `Quantum (level ${c.level}, window 2^${c.windowBits})`;
    case 'lzx':
      return `LZX (window 2^${c.windowBits})`;
    default:
      return `unknown (${c.raw & 0x0f})`;
  }
}

function parseFile(table: Uint8Array, at: number, index: number, cFolders: number, coffFiles: number, where: string): { file: CabFile; end: number } {
  if (at + FILE_FIXED + 1 > table.length) {
    throw new FormatError('DF_CAB_BAD_FILE', `${where}: file entry ${index} at offset ${coffFiles + at} runs past the cabinet's end`, { index });
  }
  const size = u32le(table, at);
  const offsetInFolder = u32le(table, at + 4);
  const folderIndex = u16le(table, at + 8);
  const date = u16le(table, at + 10);
  const time = u16le(table, at + 12);
  const attributes = u16le(table, at + 14);
  if (folderIndex >= cFolders && folderIndex < IFOLD_CONTINUED_FROM_PREV) {
    throw new FormatError('DF_CAB_BAD_FILE', `${where}: file entry ${index} names folder ${folderIndex} but the cabinet has ${cFolders}`, { index, folderIndex });
  }
  const nameStart = at + FILE_FIXED;
  const window = table.subarray(nameStart, Math.min(table.length, nameStart + MAX_NAME));
  const nul = window.indexOf(0);
  if (nul < 0) {
    throw new FormatError('DF_CAB_BAD_FILE', `${where}: name of file entry ${index} has no terminating NUL within ${MAX_NAME} bytes`, { index });
  }
  if (nul === 0) {
    throw new FormatError('DF_CAB_BAD_FILE', `${where}: file entry ${index} has an empty name`, { index });
  }
  const name = decodeName(window.subarray(0, nul), (attributes & CAB_ATTR_NAME_IS_UTF) !== 0);
  return {
    file: {
      name,
      size,
      folderIndex,
      offsetInFolder,
      modified: dosDateTimeToIso(date, time),
      attributes,
    },
    end: nameStart + nul + 1,
  };
}

const utf8 = new TextDecoder('utf-8');
const windows1252 = new TextDecoder('windows-1252');

function decodeName(bytes: Uint8Array, isUtf8: boolean): string {
  // Without the UTF flag the code page is the writer's (MS-CAB); Windows-1252 is the usual one,
  // maps every byte and never fails. Invalid UTF-8 under the flag becomes U+FFFD, not an error.
  return (isUtf8 ? utf8 : windows1252).decode(bytes);
}
