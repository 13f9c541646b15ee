// Recognising and summarising hive transaction logs (.LOG, .LOG1, .LOG2): the old format with a
// DIRT bitmap and the Windows 8.1+ format with HvLE entries (Suhanov §Format of transaction log
// files). It checks each entry's structure and Marvin32 hashes but does not replay anything.
import { FormatError } from '../../errors.js';
import { startsWith, u32le, u64leBig } from '../../util/binary.js';
import { type BaseBlock, parseBaseBlock } from './base-block.js';
import { BASE_BLOCK_PARTIAL_SIZE, FILE_TYPE, LOG_ENTRY_HASH_SEED, SIGNATURE } from './constants.js';
import { marvin32 } from './marvin32.js';

const SECTOR = 512;
const LOG_ENTRY_HEADER_SIZE = 40;

export interface LogEntrySummary {
  /** File offset of the entry. */
  offset: number;
  size: number;
  flags: number;
  sequence: number;
  hiveBinsDataSize: number;
  dirtyPageCount: number;
  hashesValid: boolean;
}

export interface TransactionLogSummary {
  format: 'old' | 'new';
  fileType: number;
  header: BaseBlock;
  seq1: number;
  seq2: number;
  /** Suhanov: a log is usable only when its own sequence numbers match. */
  headerConsistent: boolean;
  // Old format:
  /** Number of dirty 512-byte pages the DIRT bitmap marks. */
  dirtyPageCount?: number;
  /** False when the file ends before all marked pages (a header-only copy, for example). */
  complete?: boolean;
  // New format:
  /** Leading run of well-formed entries with valid hashes and consecutive sequence numbers. */
  entries?: LogEntrySummary[];
  entryCount?: number;
  firstSequence?: number;
  lastSequence?: number;
  /** Why the entry scan stopped before the end of the file, if it did. */
  stoppedBecause?: string;
}

/** True when `bytes` starts with a regf base block whose file type marks a transaction log. */
export function isTransactionLog(bytes: Uint8Array): boolean {
  if (!startsWith(bytes, SIGNATURE.regf) || bytes.length < BASE_BLOCK_PARTIAL_SIZE) return false;
  const type = u32le(bytes, 28);
  return type === FILE_TYPE.transactionLog || type === FILE_TYPE.transactionLogVariant2 || type === FILE_TYPE.transactionLogNew;
}

function popcount(byte: number): number {
  let n = 0;
  for (let b = byte; b; b &= b - 1) n++;
  return n;
}

function summarizeOldLog(bytes: Uint8Array, header: BaseBlock, name: string): Pick<TransactionLogSummary, 'dirtyPageCount' | 'complete'> {
  // The dirty vector starts at the second sector: "DIRT" + one bit per 512-byte page.
  if (!startsWith(bytes, SIGNATURE.dirtyVector, SECTOR)) {
    throw new FormatError('DF_HIVE_BAD_LOG', `${name}: old-format log has no "DIRT" dirty vector at offset 512; the log is corrupt`, { name });
  }
  const bitmapBytes = Math.ceil(header.hiveBinsDataSize / SECTOR / 8);
  const bitmapStart = SECTOR + 4;
  if (bitmapStart + bitmapBytes > bytes.length) {
    throw new FormatError('DF_HIVE_BAD_LOG', `${name}: dirty vector needs ${bitmapBytes} bytes but the log ends first; the log is truncated`, { name, bitmapBytes });
  }
  let dirty = 0;
  for (let i = 0; i < bitmapBytes; i++) dirty += popcount(bytes[bitmapStart + i]);
  // Dirty pages start at the sector after the vector.
  const pagesStart = Math.ceil((bitmapStart + bitmapBytes) / SECTOR) * SECTOR;
  return { dirtyPageCount: dirty, complete: pagesStart + dirty * SECTOR <= bytes.length };
}

function summarizeNewLog(bytes: Uint8Array): Pick<TransactionLogSummary, 'entries' | 'entryCount' | 'firstSequence' | 'lastSequence' | 'stoppedBecause'> {
  const entries: LogEntrySummary[] = [];
  let stoppedBecause: string | undefined;
  let at = SECTOR;
  // Each entry is at least one sector, so this runs at most size / 512 times.
  while (at + LOG_ENTRY_HEADER_SIZE <= bytes.length) {
    if (!startsWith(bytes, SIGNATURE.logEntry, at)) {
      // Windows leaves zeros or stale bytes after the last entry; that is the normal end.
      if (bytes.subarray(at, at + 4).some((b) => b !== 0)) stoppedBecause = `no HvLE signature at ${at}`;
      break;
    }
    const size = u32le(bytes, at + 4);
    const dirtyPageCount = u32le(bytes, at + 20);
    if (size < LOG_ENTRY_HEADER_SIZE || size % SECTOR !== 0 || at + size > bytes.length || LOG_ENTRY_HEADER_SIZE + dirtyPageCount * 8 > size) {
      stoppedBecause = `entry at ${at} has an impossible size ${size} or page count ${dirtyPageCount}`;
      break;
    }
    const sequence = u32le(bytes, at + 12);
    const previous = entries.at(-1);
    if (previous && sequence !== (previous.sequence + 1) >>> 0) {
      stoppedBecause = `entry at ${at} has sequence ${sequence} after ${previous.sequence}`;
      break;
    }
    const entry = bytes.subarray(at, at + size);
    const hash1 = u64leBig(entry, 24);
    const hash2 = u64leBig(entry, 32);
    const hashesValid = marvin32(entry.subarray(LOG_ENTRY_HEADER_SIZE), LOG_ENTRY_HASH_SEED) === hash1 && marvin32(entry.subarray(0, 32), LOG_ENTRY_HASH_SEED) === hash2;
    const summary: LogEntrySummary = { offset: at, size, flags: u32le(bytes, at + 8), sequence, hiveBinsDataSize: u32le(bytes, at + 16), dirtyPageCount, hashesValid };
    if (!hashesValid) {
      // Windows stops recovery at the first entry with a bad hash (Suhanov §Log entries note 7).
      stoppedBecause = `entry at ${at} (sequence ${sequence}) fails its hash check`;
      break;
    }
    entries.push(summary);
    at += size;
  }
  return {
    entries,
    entryCount: entries.length,
    firstSequence: entries[0]?.sequence,
    lastSequence: entries.at(-1)?.sequence,
    stoppedBecause,
  };
}

/** Describes a transaction log. Throws DF_HIVE_NOT_LOG for a primary hive. */
export function summarizeTransactionLog(bytes: Uint8Array, name = 'log'): TransactionLogSummary {
  const header = parseBaseBlock(bytes, name);
  if (!isTransactionLog(bytes)) {
    throw new FormatError('DF_HIVE_NOT_LOG', `${name} is not a transaction log (file type ${header.fileType})`, { name, fileType: header.fileType });
  }
  const base = {
    fileType: header.fileType,
    header,
    seq1: header.primarySequence,
    seq2: header.secondarySequence,
    headerConsistent: header.primarySequence === header.secondarySequence && header.checksumValid,
  };
  if (header.fileType === FILE_TYPE.transactionLogNew) return { format: 'new', ...base, ...summarizeNewLog(bytes) };
  return { format: 'old', ...base, ...summarizeOldLog(bytes, header, name) };
}
