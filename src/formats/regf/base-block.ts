// The regf base block (the 4 KiB header of a hive, or the first sector of a transaction log):
// field-by-field parsing, the header checksum, and the dirty test. It does not look at hive bins
// or decide whether a file is usable as a hive; hive.ts and transaction-log.ts do that.
import { FormatError } from '../../errors.js';
import { filetimeToIso, startsWith, u32le, u64leBig, utf16le } from '../../util/binary.js';
import { BASE_BLOCK_CHECKSUM_OFFSET, BASE_BLOCK_PARTIAL_SIZE, SIGNATURE } from './constants.js';

/** Suhanov §Base block; offsets in comments. */
export interface BaseBlock {
  /** 4: incremented before a write starts. */
  primarySequence: number;
  /** 8: set equal to the primary number once the write finished. */
  secondarySequence: number;
  /** 12: FILETIME ticks. */
  lastWrittenRaw: bigint;
  lastWritten: string | null;
  /** 20, 24 */
  majorVersion: number;
  minorVersion: number;
  /** 28: 0 primary, 1/2 old-format log, 6 new-format log. */
  fileType: number;
  /** 32: 1 = direct memory load. */
  fileFormat: number;
  /** 36: offset of the root nk, relative to the start of hive-bins data. */
  rootCellOffset: number;
  /** 40: bytes of hive-bins data after the base block. */
  hiveBinsDataSize: number;
  /** 44 */
  clusteringFactor: number;
  /** 48: UTF-16LE, often only the tail of the path Windows loaded the hive from. */
  fileName: string;
  /** 508 */
  checksum: number;
  computedChecksum: number;
  checksumValid: boolean;
}

/** XOR of the first 127 little-endian dwords, with 0 mapped to 1 and 0xFFFFFFFF to 0xFFFFFFFE
 *  (Suhanov §Base block notes; hivex omits the two special cases). */
export function computeBaseBlockChecksum(bytes: Uint8Array): number {
  if (bytes.length < BASE_BLOCK_CHECKSUM_OFFSET) {
    throw new FormatError('DF_HIVE_TRUNCATED', `base block has ${bytes.length} bytes, needs ${BASE_BLOCK_CHECKSUM_OFFSET} for its checksum`, { size: bytes.length });
  }
  let sum = 0;
  for (let o = 0; o < BASE_BLOCK_CHECKSUM_OFFSET; o += 4) sum ^= u32le(bytes, o);
  sum >>>= 0;
  if (sum === 0xffffffff) return 0xfffffffe;
  if (sum === 0) return 1;
  return sum;
}

function readFileName(bytes: Uint8Array): string {
  const raw = utf16le(bytes, 48, 112);
  const nul = raw.indexOf('\u0000');
  return nul === -1 ? raw : raw.slice(0, nul);
}

/** Parses the first 512 bytes (all a log keeps). Throws DF_HIVE_NOT_REGF without the signature. */
export function parseBaseBlock(bytes: Uint8Array, name = 'hive'): BaseBlock {
  if (!startsWith(bytes, SIGNATURE.regf)) {
    throw new FormatError('DF_HIVE_NOT_REGF', `${name} is not a registry hive: it does not start with "regf"`, { name });
  }
  if (bytes.length < BASE_BLOCK_PARTIAL_SIZE) {
    throw new FormatError('DF_HIVE_TRUNCATED', `${name}: base block is truncated (${bytes.length} of ${BASE_BLOCK_PARTIAL_SIZE} bytes)`, { name, size: bytes.length });
  }
  const lastWrittenRaw = u64leBig(bytes, 12);
  const checksum = u32le(bytes, BASE_BLOCK_CHECKSUM_OFFSET);
  const computedChecksum = computeBaseBlockChecksum(bytes);
  return {
    primarySequence: u32le(bytes, 4),
    secondarySequence: u32le(bytes, 8),
    lastWrittenRaw,
    lastWritten: filetimeToIso(lastWrittenRaw),
    majorVersion: u32le(bytes, 20),
    minorVersion: u32le(bytes, 24),
    fileType: u32le(bytes, 28),
    fileFormat: u32le(bytes, 32),
    rootCellOffset: u32le(bytes, 36),
    hiveBinsDataSize: u32le(bytes, 40),
    clusteringFactor: u32le(bytes, 44),
    fileName: readFileName(bytes),
    checksum,
    computedChecksum,
    checksumValid: checksum === computedChecksum,
  };
}

/** Windows replays logs into a hive whose sequence numbers differ or whose checksum is bad
 *  (Suhanov §Dirty state of a hive). */
export function isDirty(header: BaseBlock): boolean {
  return header.primarySequence !== header.secondarySequence || !header.checksumValid;
}
