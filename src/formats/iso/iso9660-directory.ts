// ISO 9660 directory records (ECMA-119 §9.1) and the walk over one directory's extent (§6.8.1).
// Decoding names (plain, Joliet, Rock Ridge) and following directories is iso9660-tree.ts's job;
// this module only turns bytes into records and merges multi-extent files (§6.5.1).
import { FormatError } from '../../errors.js';
import { u32le } from '../../util/binary.js';

/** File flags (ECMA-119 §9.1.6). */
export const FLAG_HIDDEN = 0x01;
export const FLAG_DIRECTORY = 0x02;
export const FLAG_ASSOCIATED = 0x04;
export const FLAG_MULTI_EXTENT = 0x80;

export interface DirectoryRecord {
  /** Offset of the record inside the buffer it was parsed from. */
  at: number;
  recordLength: number;
  extendedAttributeLength: number;
  /** Location of the extent in logical blocks (§9.1.3). */
  extentLba: number;
  /** Data length in bytes (§9.1.4). */
  dataLength: number;
  /** Recording date as an ISO 8601 string, undefined when unset or invalid (§9.1.5). */
  recorded?: string;
  flags: number;
  isDirectory: boolean;
  /** Raw file identifier bytes (§9.1.11); 0x00 is '.', 0x01 is '..' (§6.8.2.2). */
  identifier: Uint8Array;
  /** System use area (§9.1.13), where SUSP/Rock Ridge entries live. */
  systemUse: Uint8Array;
}

const MIN_RECORD = 34;

/** Parses the record at `at`; null when the length byte is 0 (padding to the sector end, §6.8.1.1). */
export function parseDirectoryRecord(b: Uint8Array, at: number, what: string): DirectoryRecord | null {
  if (at >= b.length) return null;
  const recordLength = b[at];
  if (recordLength === 0) return null;
  if (recordLength < MIN_RECORD || at + recordLength > b.length) {
    throw new FormatError('DF_ISO_BAD_RECORD', `${what}: directory record at ${at} has length ${recordLength}, which does not fit`, { at, recordLength });
  }
  const idLength = b[at + 32];
  if (33 + idLength > recordLength) {
    throw new FormatError('DF_ISO_BAD_RECORD', `${what}: directory record at ${at} has a ${idLength}-byte name that overruns the record`, { at, idLength });
  }
  const flags = b[at + 25];
  // The system use area starts after the identifier and its padding byte when the length is even (§9.1.12).
  const suStart = at + 33 + idLength + (idLength % 2 === 0 ? 1 : 0);
  return {
    at,
    recordLength,
    extendedAttributeLength: b[at + 1],
    extentLba: u32le(b, at + 2),
    dataLength: u32le(b, at + 10),
    recorded: decodeRecordDate(b.subarray(at + 18, at + 25)),
    flags,
    isDirectory: (flags & FLAG_DIRECTORY) !== 0,
    identifier: b.subarray(at + 33, at + 33 + idLength),
    systemUse: b.subarray(Math.min(suStart, at + recordLength), at + recordLength),
  };
}

/** 7-byte recording date (§9.1.5): years since 1900, month, day, h, m, s, GMT offset in 15-minute units. */
export function decodeRecordDate(d: Uint8Array): string | undefined {
  if (d.length < 7 || d[1] === 0 || d[2] === 0) return undefined;
  const offsetMinutes = ((d[6] << 24) >> 24) * 15;
  const ms = Date.UTC(1900 + d[0], d[1] - 1, d[2], d[3], d[4], d[5]) - offsetMinutes * 60_000;
  if (d[1] > 12 || d[2] > 31 || d[3] > 23 || d[4] > 59 || d[5] > 60 || Number.isNaN(ms)) return undefined;
  return new Date(ms).toISOString();
}

/**
 * Every record of a directory extent, in order. Records never cross a logical sector boundary
 * (§6.8.1.1): a zero length byte means "skip to the next sector".
 */
export function parseDirectoryExtent(b: Uint8Array, sectorSize: number, what: string): DirectoryRecord[] {
  const records: DirectoryRecord[] = [];
  let at = 0;
  while (at < b.length) {
    const record = parseDirectoryRecord(b, at, what);
    if (!record) {
      at = (Math.floor(at / sectorSize) + 1) * sectorSize;
      continue;
    }
    if (Math.floor(at / sectorSize) !== Math.floor((at + record.recordLength - 1) / sectorSize)) {
      throw new FormatError('DF_ISO_BAD_RECORD', `${what}: directory record at ${at} crosses a sector boundary`, { at });
    }
    records.push(record);
    at += record.recordLength;
  }
  return records;
}

/** A file as one or more records: all but the last carry the multi-extent flag (§6.5.1, §9.1.6 bit 7). */
export interface RecordGroup {
  records: DirectoryRecord[];
  isDirectory: boolean;
  size: number;
}

/**
 * Groups multi-extent records into files. `sameName` decides whether two records name the same
 * file; a multi-extent chain whose next record has another name is corrupt.
 */
export function groupMultiExtent(records: DirectoryRecord[], sameName: (a: DirectoryRecord, b: DirectoryRecord) => boolean, what: string): RecordGroup[] {
  const groups: RecordGroup[] = [];
  let pending: DirectoryRecord[] = [];
  for (const record of records) {
    if (pending.length > 0 && !sameName(pending[0], record)) {
      throw new FormatError('DF_ISO_BAD_MULTI_EXTENT', `${what}: a multi-extent file is followed by a record with another name`, { at: record.at });
    }
    pending.push(record);
    if (record.flags & FLAG_MULTI_EXTENT) continue;
    let size = 0;
    for (const r of pending) size += r.dataLength;
    groups.push({ records: pending, isDirectory: record.isDirectory, size });
    pending = [];
  }
  if (pending.length > 0) {
    throw new FormatError('DF_ISO_BAD_MULTI_EXTENT', `${what}: the directory ends inside a multi-extent file`, { at: pending[0].at });
  }
  return groups;
}
