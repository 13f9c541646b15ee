// Writes a brand-new, clean regf hive (base block + hbins) from an in-memory key tree, laid out
// the way Windows' own hive writer would accept it: sorted lh/lf/ri subkey lists with hashes,
// big-data (db) values, one shared sk record, exact max-length fields and a valid checksum.
// It deliberately does not edit existing hives, write transaction logs, keep free space for
// later growth, or support volatile keys, symbolic links or per-key security descriptors.

import { InputError } from '../../errors.js';
import { computeBaseBlockChecksum as checksumBaseBlock } from './base-block.js';
import { lhHash as hashLeafName, upcaseName } from './names.js';

export interface HiveTreeValue {
  /** '' is the key's default value. */
  name: string;
  /** REG_* type number (any uint32; see RegType for the usual ones). */
  type: number;
  data: Uint8Array;
}

export interface HiveTreeKey {
  name: string;
  values?: HiveTreeValue[];
  subkeys?: HiveTreeKey[];
  className?: string;
  lastWritten?: Date;
}

export interface BuildHiveOptions {
  /** Minor format version: 3 (NT4, lf lists, no db), 4 (lf + db), 5 (XP+, lh + db, the default), 6. */
  minorVersion?: 3 | 4 | 5 | 6;
  /** Timestamp for the base block, the first hbin and every key without its own; default 1970-01-01 so output is reproducible. */
  lastWritten?: Date;
  /** Debugging name stored in the base block (its last 31 UTF-16 units). */
  fileName?: string;
  /** Self-relative security descriptor shared by every key; default grants SYSTEM and Administrators full control, Users read. */
  securityDescriptor?: Uint8Array;
}

/** The registry value types (Suhanov §Data types). */
export const RegType = {
  NONE: 0,
  SZ: 1,
  EXPAND_SZ: 2,
  BINARY: 3,
  DWORD: 4,
  DWORD_BIG_ENDIAN: 5,
  LINK: 6,
  MULTI_SZ: 7,
  RESOURCE_LIST: 8,
  FULL_RESOURCE_DESCRIPTOR: 9,
  RESOURCE_REQUIREMENTS_LIST: 10,
  QWORD: 11,
} as const;

// Sizes and limits. A db segment holds 16344 bytes because 4 (cell size) + 16344, rounded to 8,
// plus a 32-byte hbin header is exactly 16 KiB (Suhanov §Big data; libyal §Data block).
const BASE_BLOCK_SIZE = 4096;
const HBIN_HEADER_SIZE = 32;
const BIN_ALIGN = 4096;
const DB_SEGMENT_SIZE = 16344;
const NONE = 0xffffffff;
const MAX_KEY_NAME_CHARS = 255; // Windows' documented key-name limit
const MAX_VALUE_NAME_CHARS = 16383; // Windows' documented value-name limit
const MAX_DB_DATA = 0xffff * DB_SEGMENT_SIZE; // segment count is a uint16
/** Largest lh/lf leaf we write. Windows sizes fast leaves so one fills at most a 4 KiB bin:
 *  (4096 − 32 hbin header − 4 cell size − 4 list header) / 8 bytes per entry = 507
 *  (CmpMaxFastIndexPerHblock in the NT kernel); bigger lists become an ri of such leaves. */
export const MAX_LEAF_ENTRIES = 507;

// nk flags (Suhanov §Key node flags) and vk flags (§Key value flags).
const KEY_HIVE_ENTRY = 0x0004;
const KEY_NO_DELETE = 0x0008;
const KEY_COMP_NAME = 0x0020;
const VALUE_COMP_NAME = 0x0001;

// ---------------------------------------------------------------------------------------------
// Value-data helpers

function utf16z(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(`${text}\0`, 'utf16le'));
}

/** REG_SZ data: UTF-16LE with its terminating NUL, as Windows stores it. */
export function regSz(text: string): Uint8Array {
  return utf16z(text);
}

/** REG_EXPAND_SZ data (same encoding as REG_SZ; %VARS% stay unexpanded). */
export function regExpandSz(text: string): Uint8Array {
  return utf16z(text);
}

/** REG_MULTI_SZ data: each string NUL-terminated, then one more NUL. */
export function regMultiSz(list: readonly string[]): Uint8Array {
  for (const item of list) {
    // An empty item or an embedded NUL would end the list early for every reader.
    if (item === '' || item.includes('\0')) {
      throw new InputError('DF_HIVE_BAD_DATA', 'REG_MULTI_SZ items cannot be empty or contain NUL: remove them from the list');
    }
  }
  return new Uint8Array(Buffer.from(`${list.map((s) => `${s}\0`).join('')}\0`, 'utf16le'));
}

/** REG_DWORD data (little-endian uint32). */
export function regDword(n: number): Uint8Array {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) {
    throw new InputError('DF_HIVE_BAD_DATA', `REG_DWORD must be an integer 0..4294967295, got ${n}: give a value in range`);
  }
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n, true);
  return out;
}

/** REG_QWORD data (little-endian uint64). */
export function regQword(n: bigint): Uint8Array {
  if (n < 0n || n > 0xffffffffffffffffn) {
    throw new InputError('DF_HIVE_BAD_DATA', `REG_QWORD must be 0..2^64-1, got ${n}: give a value in range`);
  }
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, n, true);
  return out;
}

/** REG_BINARY data (a copy, so later changes to `bytes` do not leak into the tree). */
export function regBinary(bytes: Uint8Array): Uint8Array {
  return Uint8Array.from(bytes);
}

// ---------------------------------------------------------------------------------------------
// Names, hashes and ordering

/** Shared with the reader so writer and reader agree on case folding and hashes. */
export { lhHash as hashLeafName, upcaseName } from './names.js';

/** Orders names as the kernel's binary search expects: upper-cased code units, then length. */
export function compareHiveNames(a: string, b: string): number {
  const ua = upcaseName(a);
  const ub = upcaseName(b);
  return ua < ub ? -1 : ua > ub ? 1 : 0; // JS string comparison is by UTF-16 code unit
}

function isLatin1(name: string): boolean {
  for (let i = 0; i < name.length; i++) if (name.charCodeAt(i) > 0xff) return false;
  return true;
}

/** Bytes of a name as stored in nk/vk: one byte per char when Latin-1 ("compressed"). */
function encodeName(name: string): { bytes: Uint8Array; compressed: boolean } {
  if (name.length > 0 && isLatin1(name)) return { bytes: new Uint8Array(Buffer.from(name, 'latin1')), compressed: true };
  return { bytes: new Uint8Array(Buffer.from(name, 'utf16le')), compressed: false };
}

/** lf name hint: the first four characters; a character above U+00FF ends the hint, because the
 *  kernel skips the hint check for such names and a truncated code would mislead it. */
function leafNameHint(name: string): Uint8Array {
  const hint = new Uint8Array(4);
  for (let i = 0; i < 4 && i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c > 0xff) break;
    hint[i] = c;
  }
  return hint;
}

// ---------------------------------------------------------------------------------------------
// Base block checksum and FILETIME

/** The base-block checksum (with its 0 and 0xFFFFFFFF special cases) is the reader's. */
export { computeBaseBlockChecksum as checksumBaseBlock } from './base-block.js';

function toFiletime(date: Date, what: string): bigint {
  const ms = date.getTime();
  if (Number.isNaN(ms) || ms < -11644473600000) {
    throw new InputError('DF_HIVE_BAD_OPTION', `${what} is not a valid date on or after 1601-01-01: give a real date`);
  }
  return BigInt(ms + 11644473600000) * 10000n;
}

// ---------------------------------------------------------------------------------------------
// Default security descriptor

function sidBytes(subAuthorities: number[]): Uint8Array {
  // S-1-5-…: revision 1, NT authority (5) as a 6-byte big-endian number, LE sub-authorities.
  const out = new Uint8Array(8 + 4 * subAuthorities.length);
  const dv = new DataView(out.buffer);
  out[0] = 1;
  out[1] = subAuthorities.length;
  out[7] = 5;
  for (const [i, s] of subAuthorities.entries()) dv.setUint32(8 + 4 * i, s, true);
  return out;
}

/** Self-relative SD: owner Administrators, group SYSTEM, DACL allowing SYSTEM and Administrators
 *  KEY_ALL_ACCESS and Users KEY_READ, each ACE container-inherit so new subkeys get the same. */
export function defaultSecurityDescriptor(): Uint8Array {
  const system = sidBytes([18]); // S-1-5-18
  const admins = sidBytes([32, 544]); // S-1-5-32-544
  const users = sidBytes([32, 545]); // S-1-5-32-545
  const KEY_ALL_ACCESS = 0x000f003f;
  const KEY_READ = 0x00020019;
  const CONTAINER_INHERIT_ACE = 0x02;
  const aces: Array<[number, Uint8Array]> = [
    [KEY_ALL_ACCESS, system],
    [KEY_ALL_ACCESS, admins],
    [KEY_READ, users],
  ];
  const aclSize = 8 + aces.reduce((n, [, sid]) => n + 8 + sid.length, 0);
  const total = 20 + aclSize + admins.length + system.length;
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  out[0] = 1; // revision
  dv.setUint16(2, 0x8004, true); // SE_SELF_RELATIVE | SE_DACL_PRESENT
  const daclAt = 20;
  const ownerAt = daclAt + aclSize;
  const groupAt = ownerAt + admins.length;
  dv.setUint32(4, ownerAt, true);
  dv.setUint32(8, groupAt, true);
  dv.setUint32(12, 0, true); // no SACL
  dv.setUint32(16, daclAt, true);
  out[daclAt] = 2; // ACL_REVISION
  dv.setUint16(daclAt + 2, aclSize, true);
  dv.setUint16(daclAt + 4, aces.length, true);
  let at = daclAt + 8;
  for (const [mask, sid] of aces) {
    out[at] = 0; // ACCESS_ALLOWED_ACE_TYPE
    out[at + 1] = CONTAINER_INHERIT_ACE;
    dv.setUint16(at + 2, 8 + sid.length, true);
    dv.setUint32(at + 4, mask, true);
    out.set(sid, at + 8);
    at += 8 + sid.length;
  }
  out.set(admins, ownerAt);
  out.set(system, groupAt);
  return out;
}

/** Rejects descriptors Windows would not load: wrong revision, not self-relative, or parts outside. */
function checkSecurityDescriptor(sd: Uint8Array): void {
  const bad = (why: string): never => {
    throw new InputError('DF_HIVE_BAD_SECURITY_DESCRIPTOR', `security descriptor ${why}: give a self-relative descriptor (revision 1)`);
  };
  if (sd.length < 20) bad(`is ${sd.length} bytes, shorter than its 20-byte header`);
  const dv = new DataView(sd.buffer, sd.byteOffset, sd.byteLength);
  if (sd[0] !== 1) bad(`has revision ${sd[0]}`);
  if ((dv.getUint16(2, true) & 0x8000) === 0) bad('is not self-relative (SE_SELF_RELATIVE unset)');
  for (const [field, at] of [
    ['owner', 4],
    ['group', 8],
    ['SACL', 12],
    ['DACL', 16],
  ] as const) {
    const offset = dv.getUint32(at, true);
    if (offset !== 0 && (offset < 20 || offset + 8 > sd.length)) bad(`has its ${field} at ${offset}, outside its ${sd.length} bytes`);
  }
}

// ---------------------------------------------------------------------------------------------
// Cell allocation

interface Cell {
  /** Offset relative to the start of hive-bins data (what every on-disk pointer holds). */
  offset: number;
  /** The cell's payload, after its 4-byte size field. */
  data: Uint8Array;
  view: DataView;
}

interface Bin {
  offset: number;
  bytes: Uint8Array;
  used: number;
}

/** Packs cells into 4 KiB hbins in allocation order; a cell too large for one gets a bin of its
 *  own, rounded up to 4 KiB. Bins never grow once created, so offsets handed out stay valid. */
class CellAllocator {
  readonly bins: Bin[] = [];
  private current: Bin | undefined;
  private end = 0;

  private newBin(size: number): Bin {
    const bin: Bin = { offset: this.end, bytes: new Uint8Array(size), used: HBIN_HEADER_SIZE };
    this.end += size;
    this.bins.push(bin);
    return bin;
  }

  alloc(payloadSize: number): Cell {
    const size = (4 + payloadSize + 7) & ~7; // cells are 8-byte aligned (Suhanov §Cell)
    let bin: Bin;
    if (size > BIN_ALIGN - HBIN_HEADER_SIZE) {
      bin = this.newBin(Math.ceil((HBIN_HEADER_SIZE + size) / BIN_ALIGN) * BIN_ALIGN);
    } else {
      if (!this.current || this.current.used + size > this.current.bytes.length) this.current = this.newBin(BIN_ALIGN);
      bin = this.current;
    }
    const at = bin.used;
    bin.used += size;
    const dv = new DataView(bin.bytes.buffer, bin.bytes.byteOffset + at, size);
    dv.setInt32(0, -size, true); // negative = allocated
    const data = bin.bytes.subarray(at + 4, at + size);
    return { offset: bin.offset + at, data, view: new DataView(data.buffer, data.byteOffset, data.byteLength) };
  }

  /** Writes every hbin header and turns each bin's unused tail into one free cell. */
  finish(firstBinTime: bigint): { bytes: Uint8Array[]; size: number } {
    for (const [i, bin] of this.bins.entries()) {
      const dv = new DataView(bin.bytes.buffer, bin.bytes.byteOffset, bin.bytes.byteLength);
      bin.bytes.set([0x68, 0x62, 0x69, 0x6e], 0); // "hbin"
      dv.setUint32(4, bin.offset, true);
      dv.setUint32(8, bin.bytes.length, true);
      if (i === 0) dv.setBigUint64(20, firstBinTime, true); // backup of the base block time
      const free = bin.bytes.length - bin.used;
      if (free > 0) dv.setInt32(bin.used, free, true); // positive = free; always ≥ 8 and aligned
    }
    return { bytes: this.bins.map((b) => b.bytes), size: this.end };
  }
}

// ---------------------------------------------------------------------------------------------
// Tree validation

function describePath(path: string[]): string {
  return path.length === 0 ? 'the root key' : `key "${path.join('\\')}"`;
}

function checkKeyName(name: string, path: string[], isRoot: boolean): void {
  const where = isRoot ? 'the root key' : `a subkey of ${describePath(path)}`;
  if (typeof name !== 'string' || name.length === 0) {
    throw new InputError('DF_HIVE_BAD_NAME', `${where} has an empty name: give every key a name`, { path });
  }
  if (name.length > MAX_KEY_NAME_CHARS) {
    throw new InputError(
      'DF_HIVE_BAD_NAME',
      `key name "${name.slice(0, 40)}…" under ${describePath(path)} is ${name.length} characters, over Windows' ${MAX_KEY_NAME_CHARS}: shorten it`,
      { path },
    );
  }
  if (name.includes('\\') || name.includes('\0')) {
    throw new InputError(
      'DF_HIVE_BAD_NAME',
      `key name ${JSON.stringify(name)} under ${describePath(path)} contains a backslash or NUL: key names cannot, split it into nested keys`,
      { path },
    );
  }
}

// ---------------------------------------------------------------------------------------------
// The writer

interface BuildContext {
  cells: CellAllocator;
  skOffset: number;
  minor: number;
  defaultTime: bigint;
}

/** Serializes `root` and everything below it into a new hive file image (base block + hbins). */
export function buildHive(root: HiveTreeKey, options: BuildHiveOptions = {}): Uint8Array {
  const minor = options.minorVersion ?? 5;
  if (![3, 4, 5, 6].includes(minor)) {
    throw new InputError('DF_HIVE_BAD_OPTION', `minorVersion must be 3, 4, 5 or 6, got ${String(minor)}: pick a supported hive version`);
  }
  const time = toFiletime(options.lastWritten ?? new Date(0), 'lastWritten');
  const sd = options.securityDescriptor ?? defaultSecurityDescriptor();
  checkSecurityDescriptor(sd);
  checkKeyName(root.name, [], true);

  const cells = new CellAllocator();
  const rootCell = allocKeyNode(cells, root.name);
  // One sk shared by every key: a one-element circular list, so flink = blink = itself
  // (Suhanov §Key security notes), and the refcount is the number of nk cells (Pitfall 5).
  const sk = cells.alloc(20 + sd.length);
  const ctx: BuildContext = { cells, skOffset: sk.offset, minor, defaultTime: time };
  const keyCount = writeKey(ctx, root, rootCell, NONE, [], true);
  sk.data.set([0x73, 0x6b], 0); // "sk"
  sk.view.setUint32(4, sk.offset, true);
  sk.view.setUint32(8, sk.offset, true);
  sk.view.setUint32(12, keyCount, true);
  sk.view.setUint32(16, sd.length, true);
  sk.data.set(sd, 20);

  const { bytes: bins, size: binsSize } = cells.finish(time);
  const out = new Uint8Array(BASE_BLOCK_SIZE + binsSize);
  writeBaseBlock(out.subarray(0, BASE_BLOCK_SIZE), { minor, time, rootOffset: rootCell.offset, binsSize, fileName: options.fileName ?? '' });
  let at = BASE_BLOCK_SIZE;
  for (const bin of bins) {
    out.set(bin, at);
    at += bin.length;
  }
  return out;
}

function writeBaseBlock(block: Uint8Array, f: { minor: number; time: bigint; rootOffset: number; binsSize: number; fileName: string }): void {
  const dv = new DataView(block.buffer, block.byteOffset, block.byteLength);
  block.set([0x72, 0x65, 0x67, 0x66], 0); // "regf"
  dv.setUint32(4, 1, true); // primary sequence
  dv.setUint32(8, 1, true); // secondary sequence: equal, so the hive is clean
  dv.setBigUint64(12, f.time, true);
  dv.setUint32(20, 1, true); // major
  dv.setUint32(24, f.minor, true);
  dv.setUint32(28, 0, true); // file type: primary
  dv.setUint32(32, 1, true); // format: direct memory load
  dv.setUint32(36, f.rootOffset, true);
  dv.setUint32(40, f.binsSize, true);
  dv.setUint32(44, 1, true); // clustering factor
  // The name is only for debugging; keep its tail (the file name) and a terminating NUL.
  const name = Buffer.from(f.fileName.slice(-31), 'utf16le');
  block.set(name.subarray(0, 62), 48);
  dv.setUint32(508, checksumBaseBlock(block), true);
}

function maxOf<T>(items: readonly T[], measure: (item: T) => number): number {
  let max = 0;
  for (const item of items) max = Math.max(max, measure(item));
  return max;
}

function allocKeyNode(cells: CellAllocator, name: string): Cell {
  return cells.alloc(76 + encodeName(name).bytes.length);
}

/** Fills the already-allocated nk `cell` for `key`, allocating its class, values and subkeys.
 *  Returns how many keys it wrote (for the sk refcount). */
function writeKey(ctx: BuildContext, key: HiveTreeKey, cell: Cell, parentOffset: number, path: string[], isRoot: boolean): number {
  const { cells } = ctx;
  const here = [...path, key.name];
  const values = key.values ?? [];
  const subkeys = key.subkeys ?? [];
  const time = key.lastWritten ? toFiletime(key.lastWritten, `lastWritten of ${describePath(here)}`) : ctx.defaultTime;

  // Validate children before allocating anything for them.
  for (const child of subkeys) checkKeyName(child?.name, here, false);
  const sorted = [...subkeys].sort((a, b) => compareHiveNames(a.name, b.name));
  for (let i = 1; i < sorted.length; i++) {
    if (compareHiveNames(sorted[i - 1].name, sorted[i].name) === 0) {
      throw new InputError(
        'DF_HIVE_DUPLICATE_KEY',
        `${describePath(here)} has two subkeys named "${sorted[i - 1].name}" and "${sorted[i].name}" (names ignore case): rename or merge one`,
        { path: here },
      );
    }
  }
  const seenValues = new Map<string, string>();
  for (const value of values) {
    if (typeof value.name !== 'string' || value.name.length > MAX_VALUE_NAME_CHARS) {
      throw new InputError('DF_HIVE_BAD_NAME', `a value name under ${describePath(here)} is over Windows' ${MAX_VALUE_NAME_CHARS} characters: shorten it`, { path: here });
    }
    const folded = upcaseName(value.name);
    const earlier = seenValues.get(folded);
    if (earlier !== undefined) {
      throw new InputError('DF_HIVE_DUPLICATE_VALUE', `${describePath(here)} has two values named "${earlier}" and "${value.name}" (names ignore case): keep one`, { path: here });
    }
    seenValues.set(folded, value.name);
    if (!Number.isInteger(value.type) || value.type < 0 || value.type > 0xffffffff) {
      throw new InputError('DF_HIVE_BAD_DATA', `value "${value.name}" under ${describePath(here)} has type ${value.type}, not a uint32: use a REG_* number`, { path: here });
    }
    if (!(value.data instanceof Uint8Array)) {
      throw new InputError('DF_HIVE_BAD_DATA', `value "${value.name}" under ${describePath(here)} has no byte data: give a Uint8Array`, { path: here });
    }
    const limit = ctx.minor > 3 ? MAX_DB_DATA : 0x7fffffff - 8;
    if (value.data.length > limit) {
      throw new InputError(
        'DF_HIVE_VALUE_TOO_BIG',
        `value "${value.name}" under ${describePath(here)} holds ${value.data.length} bytes, over the ${limit}-byte limit: store it in a file instead`,
        { path: here },
      );
    }
  }
  const className = key.className;
  const classBytes = className === undefined ? undefined : new Uint8Array(Buffer.from(className, 'utf16le'));
  if (classBytes && classBytes.length > 0xffff) {
    throw new InputError('DF_HIVE_BAD_NAME', `class name of ${describePath(here)} is ${className?.length} characters, over 32767: shorten it`, { path: here });
  }

  // Class name: a plain cell of UTF-16LE (no terminator; its length lives in the nk).
  let classOffset = NONE;
  if (classBytes) {
    const c = cells.alloc(classBytes.length);
    c.data.set(classBytes);
    classOffset = c.offset;
  }

  // Values list (a cell of uint32 offsets, in the caller's order: Windows keeps insertion order).
  let valuesListOffset = NONE;
  if (values.length > 0) {
    const list = cells.alloc(4 * values.length);
    valuesListOffset = list.offset;
    for (const [i, value] of values.entries()) list.view.setUint32(4 * i, writeValue(ctx, value), true);
  }

  // Subkeys: allocate all the children's nk cells together, then the list that points to them.
  const childCells = sorted.map((child) => allocKeyNode(cells, child.name));
  const subkeyListOffset = sorted.length > 0 ? writeSubkeyList(ctx, sorted, childCells) : NONE;

  // The nk itself (Suhanov §Key node).
  const name = encodeName(key.name);
  let flags = name.compressed ? KEY_COMP_NAME : 0;
  if (isRoot) flags |= KEY_HIVE_ENTRY | KEY_NO_DELETE;
  const nk = cell.view;
  cell.data.set([0x6e, 0x6b], 0); // "nk"
  nk.setUint16(2, flags, true);
  nk.setBigUint64(4, time, true);
  nk.setUint32(12, 0, true); // access bits: set by Windows at run time
  nk.setUint32(16, parentOffset, true);
  nk.setUint32(20, sorted.length, true);
  nk.setUint32(24, 0, true); // volatile subkeys exist only in memory
  nk.setUint32(28, subkeyListOffset, true);
  nk.setUint32(32, NONE, true);
  nk.setUint32(36, values.length, true);
  nk.setUint32(40, valuesListOffset, true);
  nk.setUint32(44, ctx.skOffset, true);
  nk.setUint32(48, classOffset, true);
  // Max-length fields count bytes of UTF-16 whatever the stored encoding (Suhanov §Key node;
  // checked against Windows-written hives). Too-small values break RegQueryInfoKey callers.
  nk.setUint32(
    52,
    maxOf(sorted, (k) => k.name.length * 2),
    true,
  );
  nk.setUint32(
    56,
    maxOf(sorted, (k) => (k.className ?? '').length * 2),
    true,
  );
  nk.setUint32(
    60,
    maxOf(values, (v) => v.name.length * 2),
    true,
  );
  nk.setUint32(
    64,
    maxOf(values, (v) => v.data.length),
    true,
  );
  nk.setUint32(68, 0, true); // WorkVar
  nk.setUint16(72, name.bytes.length, true);
  nk.setUint16(74, classBytes?.length ?? 0, true);
  cell.data.set(name.bytes, 76);

  let count = 1;
  sorted.forEach((child, i) => {
    count += writeKey(ctx, child, childCells[i], cell.offset, here, false);
  });
  return count;
}

/** Writes the lh (v1.5+) or lf (v1.3/1.4) leaves for `sorted` children, under an ri when there
 *  are more than MAX_LEAF_ENTRIES; returns the offset the parent nk should point to. */
function writeSubkeyList(ctx: BuildContext, sorted: HiveTreeKey[], childCells: Cell[]): number {
  const useHash = ctx.minor >= 5;
  const writeLeaf = (from: number, to: number): number => {
    const leaf = ctx.cells.alloc(4 + 8 * (to - from));
    leaf.data.set(useHash ? [0x6c, 0x68] : [0x6c, 0x66], 0); // "lh" / "lf"
    leaf.view.setUint16(2, to - from, true);
    for (let i = from; i < to; i++) {
      const at = 4 + 8 * (i - from);
      leaf.view.setUint32(at, childCells[i].offset, true);
      if (useHash) leaf.view.setUint32(at + 4, hashLeafName(sorted[i].name), true);
      else leaf.data.set(leafNameHint(sorted[i].name), at + 4);
    }
    return leaf.offset;
  };
  if (sorted.length <= MAX_LEAF_ENTRIES) return writeLeaf(0, sorted.length);
  // Spread entries evenly so every leaf has room to grow, as a kernel split would leave them.
  const leafCount = Math.ceil(sorted.length / MAX_LEAF_ENTRIES);
  const leafOffsets: number[] = [];
  for (let i = 0; i < leafCount; i++) {
    leafOffsets.push(writeLeaf(Math.floor((i * sorted.length) / leafCount), Math.floor(((i + 1) * sorted.length) / leafCount)));
  }
  const ri = ctx.cells.alloc(4 + 4 * leafCount);
  ri.data.set([0x72, 0x69], 0); // "ri"
  ri.view.setUint16(2, leafCount, true);
  for (const [i, o] of leafOffsets.entries()) ri.view.setUint32(4 + 4 * i, o, true);
  return ri.offset;
}

/** Writes one vk and its data; returns the vk's offset. */
function writeValue(ctx: BuildContext, value: HiveTreeValue): number {
  const name = encodeName(value.name);
  const vk = ctx.cells.alloc(20 + name.bytes.length);
  const data = value.data;
  vk.data.set([0x76, 0x6b], 0); // "vk"
  vk.view.setUint16(2, name.bytes.length, true);
  vk.view.setUint32(12, value.type >>> 0, true);
  // The default value's empty name is not "compressed": Windows sets the flag only when it
  // actually stored one byte per character.
  vk.view.setUint16(16, name.compressed ? VALUE_COMP_NAME : 0, true);
  vk.data.set(name.bytes, 20);
  if (data.length <= 4) {
    // Inline: size with the top bit set, bytes in the offset field (Suhanov §Data size).
    vk.view.setUint32(4, (0x80000000 | data.length) >>> 0, true);
    vk.data.set(data, 8);
  } else {
    vk.view.setUint32(4, data.length, true);
    vk.view.setUint32(8, ctx.minor > 3 && data.length > DB_SEGMENT_SIZE ? writeBigData(ctx, data) : writeDataCell(ctx, data), true);
  }
  return vk.offset;
}

function writeDataCell(ctx: BuildContext, data: Uint8Array): number {
  const c = ctx.cells.alloc(data.length);
  c.data.set(data);
  return c.offset;
}

/** db record + list of segment offsets + 16344-byte segments (Suhanov §Big data). */
function writeBigData(ctx: BuildContext, data: Uint8Array): number {
  const segmentCount = Math.ceil(data.length / DB_SEGMENT_SIZE);
  const db = ctx.cells.alloc(8);
  const list = ctx.cells.alloc(4 * segmentCount);
  db.data.set([0x64, 0x62], 0); // "db"
  db.view.setUint16(2, segmentCount, true);
  db.view.setUint32(4, list.offset, true);
  for (let i = 0; i < segmentCount; i++) {
    const segment = data.subarray(i * DB_SEGMENT_SIZE, Math.min(data.length, (i + 1) * DB_SEGMENT_SIZE));
    // Every segment cell gets ≥ 4 spare bytes, as full ones have by alignment (16344 + 4 → 16352):
    // hivex reads a segment as its cell size minus 8 (lib/value.c) and would cut a tight last one.
    const cell = ctx.cells.alloc(segment.length + 4);
    cell.data.set(segment);
    list.view.setUint32(4 * i, cell.offset, true);
  }
  return db.offset;
}
