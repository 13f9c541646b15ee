// Fixed numbers of the regf hive format (signatures, sizes, flags, value types), shared by the
// reader and the writer so both agree on one definition. Values come from Suhanov's regf spec
// and libyal's REGF document; nothing here reads or writes bytes.

/** The base block ("regf" header) is one 4 KiB page; hive-bins data starts right after it. */
export const BASE_BLOCK_SIZE = 4096;
/** Logs store only the first sector of the base block. */
export const BASE_BLOCK_PARTIAL_SIZE = 512;
/** XOR checksum covers the first 127 dwords (Suhanov §Base block). */
export const BASE_BLOCK_CHECKSUM_OFFSET = 508;
export const HBIN_HEADER_SIZE = 32;
/** Hive bins are multiples of 4 KiB. */
export const HBIN_ALIGNMENT = 4096;
/** Cells start on 8-byte boundaries and are multiples of 8 bytes long. */
export const CELL_ALIGNMENT = 8;
/** An offset field that points nowhere. */
export const NO_CELL = 0xffffffff;
/** Value data larger than this is split into db segments in hives with minor version > 3. */
export const BIG_DATA_SEGMENT_SIZE = 16344;
/** MSB of a vk data size: data (≤ 4 bytes) sits in the data-offset field itself. */
export const VALUE_DATA_INLINE = 0x80000000;
/** Windows refuses key trees deeper than 512 levels; we use the same bound against cycles. */
export const MAX_KEY_DEPTH = 512;

export const SIGNATURE = {
  regf: 'regf',
  hbin: 'hbin',
  keyNode: 'nk',
  keyValue: 'vk',
  keySecurity: 'sk',
  indexLeaf: 'li',
  fastLeaf: 'lf',
  hashLeaf: 'lh',
  indexRoot: 'ri',
  bigData: 'db',
  dirtyVector: 'DIRT',
  logEntry: 'HvLE',
} as const;

/** Base block "file type" (Suhanov §Base block). */
export const FILE_TYPE = {
  primary: 0,
  transactionLog: 1,
  transactionLogVariant2: 2,
  transactionLogNew: 6,
} as const;

/** nk flags (Suhanov §Key node). */
export const KEY_FLAG = {
  volatile: 0x0001,
  hiveExit: 0x0002,
  hiveEntry: 0x0004,
  noDelete: 0x0008,
  symLink: 0x0010,
  compressedName: 0x0020,
  predefinedHandle: 0x0040,
} as const;

/** vk flag: the value name is stored as Latin-1 bytes, not UTF-16LE. */
export const VALUE_FLAG_COMPRESSED_NAME = 0x0001;

export const REG_TYPE = {
  REG_NONE: 0,
  REG_SZ: 1,
  REG_EXPAND_SZ: 2,
  REG_BINARY: 3,
  REG_DWORD: 4,
  REG_DWORD_BIG_ENDIAN: 5,
  REG_LINK: 6,
  REG_MULTI_SZ: 7,
  REG_RESOURCE_LIST: 8,
  REG_FULL_RESOURCE_DESCRIPTOR: 9,
  REG_RESOURCE_REQUIREMENTS_LIST: 10,
  REG_QWORD: 11,
} as const;

export type RegTypeName = keyof typeof REG_TYPE;

const TYPE_NAMES: readonly RegTypeName[] = Object.keys(REG_TYPE) as RegTypeName[];

/** "REG_SZ" for 1; unknown numbers (some drivers store their own) as "REG_UNKNOWN_0x…". */
export function regTypeName(type: number): string {
  return TYPE_NAMES[type] ?? `REG_UNKNOWN_0x${type.toString(16)}`;
}

/** Marvin32 seed for HvLE hashes. FORMATS.md lists its bytes as 82 EF 4D 88 7A 4E 55 C5; read as
 *  this 64-bit number (low dword 0x7A4E55C5 first) it reproduces the hashes Windows wrote in the
 *  corpus logs, while the little-endian reading of those bytes does not. */
export const LOG_ENTRY_HASH_SEED = 0x82ef4d887a4e55c5n;
