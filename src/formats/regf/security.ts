// The sk (key security) record: list links, reference count and the self-relative security
// descriptor bytes. It does not decode the descriptor (owner, DACL) and does not walk or check
// the sk list; both are left to callers that need them.
import { FormatError } from '../../errors.js';
import { startsWith, u32le } from '../../util/binary.js';
import { SIGNATURE } from './constants.js';

/** Suhanov §Key security; offsets within the cell payload. */
export interface SecurityRecord {
  offset: number;
  /** 4, 8: next and previous sk in the hive's circular list. */
  flink: number;
  blink: number;
  /** 12: number of nk cells that point here. */
  referenceCount: number;
  /** 16: size, then 20: the SECURITY_DESCRIPTOR_RELATIVE bytes. */
  descriptor: Uint8Array;
}

const SK_FIXED_SIZE = 20;

export function parseSecurity(cell: Uint8Array, offset: number, hiveName = 'hive'): SecurityRecord {
  if (cell.length < SK_FIXED_SIZE || !startsWith(cell, SIGNATURE.keySecurity)) {
    throw new FormatError('DF_HIVE_BAD_SECURITY', `${hiveName}: cell at 0x${offset.toString(16)} is not a security record ("sk"); the hive is corrupt`, { offset });
  }
  const size = u32le(cell, 16);
  if (size > cell.length - SK_FIXED_SIZE) {
    throw new FormatError(
      'DF_HIVE_BAD_SECURITY',
      `${hiveName}: security record at 0x${offset.toString(16)} declares a ${size}-byte descriptor in a ${cell.length}-byte cell; the hive is corrupt`,
      { offset, size },
    );
  }
  return {
    offset,
    flink: u32le(cell, 4),
    blink: u32le(cell, 8),
    referenceCount: u32le(cell, 12),
    descriptor: cell.subarray(SK_FIXED_SIZE, SK_FIXED_SIZE + size),
  };
}
