// The nk (key node) record: every field at its spec offset, and the decoded name. It does not
// follow any of the offsets it holds (subkeys, values, security, class); hive.ts does that.
import { FormatError } from '../../errors.js';
import { startsWith, u16le, u32le, u64leBig } from '../../util/binary.js';
import { KEY_FLAG, SIGNATURE } from './constants.js';
import { decodeName } from './names.js';

/** Suhanov §Key node; offsets are within the cell payload (after the cell size). */
export interface KeyNodeRecord {
  /** Data offset of this cell. */
  offset: number;
  /** 2 */
  flags: number;
  /** 4: FILETIME */
  lastWrittenRaw: bigint;
  /** 12: "spare" in Suhanov, access bits in Windows 8+. */
  accessBits: number;
  /** 16 */
  parentOffset: number;
  /** 20, 24 */
  subkeyCount: number;
  volatileSubkeyCount: number;
  /** 28, 32 */
  subkeyListOffset: number;
  volatileSubkeyListOffset: number;
  /** 36, 40 */
  valueCount: number;
  valueListOffset: number;
  /** 44 */
  securityOffset: number;
  /** 48 */
  classOffset: number;
  /** 52–64: maxima a writer must keep at least as large as the real ones. */
  largestSubkeyNameLength: number;
  largestSubkeyClassLength: number;
  largestValueNameLength: number;
  largestValueDataSize: number;
  /** 68 */
  workVar: number;
  /** 72, 74: bytes */
  nameLength: number;
  classLength: number;
  /** 76: raw name bytes and their decoding (Latin-1 when KEY_COMP_NAME is set). */
  nameBytes: Uint8Array;
  name: string;
}

export const KEY_NODE_FIXED_SIZE = 76;

export function parseKeyNode(cell: Uint8Array, offset: number, hiveName = 'hive'): KeyNodeRecord {
  if (cell.length < KEY_NODE_FIXED_SIZE || !startsWith(cell, SIGNATURE.keyNode)) {
    throw new FormatError('DF_HIVE_BAD_KEY', `${hiveName}: cell at 0x${offset.toString(16)} is not a key node ("nk"); the hive is corrupt`, { offset });
  }
  const flags = u16le(cell, 2);
  const nameLength = u16le(cell, 72);
  if (KEY_NODE_FIXED_SIZE + nameLength > cell.length) {
    throw new FormatError('DF_HIVE_BAD_KEY', `${hiveName}: key node at 0x${offset.toString(16)} has a ${nameLength}-byte name that runs past its cell; the hive is corrupt`, {
      offset,
      nameLength,
    });
  }
  const nameBytes = cell.subarray(KEY_NODE_FIXED_SIZE, KEY_NODE_FIXED_SIZE + nameLength);
  return {
    offset,
    flags,
    lastWrittenRaw: u64leBig(cell, 4),
    accessBits: u32le(cell, 12),
    parentOffset: u32le(cell, 16),
    subkeyCount: u32le(cell, 20),
    volatileSubkeyCount: u32le(cell, 24),
    subkeyListOffset: u32le(cell, 28),
    volatileSubkeyListOffset: u32le(cell, 32),
    valueCount: u32le(cell, 36),
    valueListOffset: u32le(cell, 40),
    securityOffset: u32le(cell, 44),
    classOffset: u32le(cell, 48),
    largestSubkeyNameLength: u32le(cell, 52),
    largestSubkeyClassLength: u32le(cell, 56),
    largestValueNameLength: u32le(cell, 60),
    largestValueDataSize: u32le(cell, 64),
    workVar: u32le(cell, 68),
    nameLength,
    classLength: u16le(cell, 74),
    nameBytes,
    name: decodeName(nameBytes, (flags & KEY_FLAG.compressedName) !== 0),
  };
}
