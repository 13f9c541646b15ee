// A structure checker for regf hives: walks the base block, every bin, every cell and every
// record reachable from the root key and reports each broken invariant it finds (Suhanov's spec
// section named beside each check), then keeps going. It never throws and never repairs: it does
// not replay transaction logs, decode security descriptors beyond their header, or judge data.
import { lhHash, upcaseName } from './names.js';

export type HiveCheckSeverity = 'error' | 'warning';

export interface HiveCheckProblem {
  /** Stable code, e.g. 'DF_CHECK_UNSORTED_LIST' (see CHECK_CODES). */
  code: string;
  severity: HiveCheckSeverity;
  /** Offset relative to the start of hive-bins data (file offset − 4096), or for base-block
   *  problems the file offset of the field. */
  offset?: number;
  /** Backslash path of the key the problem belongs to ('' is the root). */
  keyPath?: string;
  message: string;
}

export interface HiveCheckStats {
  keys: number;
  values: number;
  bins: number;
  allocatedCells: number;
  freeCells: number;
  allocatedBytes: number;
  freeBytes: number;
  securityDescriptors: number;
  bigDataValues: number;
  /** Allocated cells that nothing reachable points to. */
  leakedCells: number;
}

export interface HiveCheckReport {
  name: string;
  /** No problem of severity 'error' was found (warnings allowed). */
  ok: boolean;
  problems: HiveCheckProblem[];
  /** More problems were found than maxProblems; the rest were dropped. */
  truncated: boolean;
  stats: HiveCheckStats;
}

export interface HiveCheckOptions {
  name?: string;
  /** Default 1000. */
  maxProblems?: number;
}

/** Every code checkHive can report, with its severity. */
export const CHECK_CODES = {
  DF_CHECK_TRUNCATED: 'error',
  DF_CHECK_NOT_REGF: 'error',
  DF_CHECK_BAD_CHECKSUM: 'error',
  DF_CHECK_DIRTY: 'warning',
  DF_CHECK_BAD_VERSION: 'error',
  DF_CHECK_BAD_FILE_TYPE: 'error',
  DF_CHECK_BAD_BINS_SIZE: 'error',
  DF_CHECK_BAD_BIN_SIGNATURE: 'error',
  DF_CHECK_BAD_BIN_OFFSET: 'error',
  DF_CHECK_BAD_BIN_SIZE: 'error',
  DF_CHECK_BAD_CELL_SIZE: 'error',
  DF_CHECK_UNALIGNED_CELL: 'error',
  DF_CHECK_CELL_CROSSES_BIN: 'error',
  DF_CHECK_FREE_NOT_COALESCED: 'warning',
  DF_CHECK_BAD_OFFSET: 'error',
  DF_CHECK_NOT_A_CELL: 'error',
  DF_CHECK_CELL_OVERLAP: 'error',
  DF_CHECK_FREE_CELL_USED: 'error',
  DF_CHECK_CELL_SHARED: 'error',
  DF_CHECK_LEAKED_CELL: 'warning',
  DF_CHECK_BAD_KEY: 'error',
  DF_CHECK_ROOT_FLAG: 'warning',
  DF_CHECK_BAD_PARENT: 'error',
  DF_CHECK_BAD_NAME: 'error',
  DF_CHECK_TOO_DEEP: 'error',
  DF_CHECK_SUBKEY_COUNT: 'error',
  DF_CHECK_VALUE_COUNT: 'error',
  DF_CHECK_MAX_NAME_TOO_SMALL: 'warning',
  DF_CHECK_MAX_CLASS_TOO_SMALL: 'warning',
  DF_CHECK_MAX_VALUE_NAME_TOO_SMALL: 'warning',
  DF_CHECK_MAX_VALUE_DATA_TOO_SMALL: 'warning',
  DF_CHECK_BAD_CLASS: 'error',
  DF_CHECK_BAD_SUBKEY_LIST: 'error',
  DF_CHECK_NESTED_INDEX_ROOT: 'error',
  DF_CHECK_LIST_VERSION: 'warning',
  DF_CHECK_UNSORTED_LIST: 'error',
  DF_CHECK_DUPLICATE_KEY_NAME: 'error',
  DF_CHECK_BAD_LH_HASH: 'error',
  DF_CHECK_BAD_LF_HINT: 'error',
  DF_CHECK_BAD_VALUE: 'error',
  DF_CHECK_DUPLICATE_VALUE_NAME: 'error',
  DF_CHECK_BAD_VALUE_DATA: 'error',
  DF_CHECK_DATA_CELL_TOO_SMALL: 'error',
  DF_CHECK_BIG_DATA_EXPECTED: 'error',
  DF_CHECK_BIG_DATA_VERSION: 'error',
  DF_CHECK_BIG_DATA_UNNEEDED: 'error',
  DF_CHECK_BAD_BIG_DATA: 'error',
  DF_CHECK_BAD_SECURITY_OFFSET: 'error',
  DF_CHECK_BAD_SECURITY: 'error',
  DF_CHECK_BAD_SECURITY_DESCRIPTOR: 'error',
  DF_CHECK_SK_LIST_BROKEN: 'error',
  DF_CHECK_SK_NOT_IN_LIST: 'error',
  DF_CHECK_SK_REFCOUNT: 'error',
  DF_CHECK_INTERNAL: 'error',
} as const satisfies Record<string, HiveCheckSeverity>;

export type HiveCheckCode = keyof typeof CHECK_CODES;

// Layout numbers (Suhanov §Base block, §Hive bin, §Cell, §Big data). Kept local so the checker
// shares no parsing code with the reader it is meant to cross-check.
const BASE = 4096;
const BIN_ALIGN = 4096;
const BIN_HEADER = 32;
const NONE = 0xffffffff;
const SEGMENT = 16344;
const NK_FIXED = 76;
const VK_FIXED = 20;
const SK_FIXED = 20;
const MAX_DEPTH = 512;
const KEY_HIVE_ENTRY = 0x0004;
const KEY_COMP_NAME = 0x0020;
const VALUE_COMP_NAME = 0x0001;

// What each 8-byte slot of hive-bins data is, filled while tiling the bins.
// 0: not covered by a well-formed cell (outside bins, or after a tiling error in the bin).
const SLOT_ALLOCATED = 1;
const SLOT_FREE = 2;
const SLOT_BROKEN = 3; // a cell start whose size is unusable (crosses the bin, unaligned)
const SLOT_INSIDE = 4; // inside a cell, not at its start

// What a reachable cell is used as; 0 = not (yet) reached.
const USE_NAMES = [
  '',
  'key node',
  'subkey list',
  'value list',
  'value',
  'value data',
  'class name',
  'security record',
  'big-data record',
  'big-data segment list',
  'big-data segment',
];
const USE = { key: 1, subkeyList: 2, valueList: 3, value: 4, data: 5, className: 6, security: 7, bigData: 8, bigDataList: 9, segment: 10 } as const;
type Use = (typeof USE)[keyof typeof USE];

const hex = (n: number) => `0x${n.toString(16)}`;
const u16 = (b: Uint8Array, o: number) => b[o] | (b[o + 1] << 8);
const u32 = (b: Uint8Array, o: number) => (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16)) + b[o + 3] * 0x1000000;
const i32 = (b: Uint8Array, o: number) => b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24);
const sig = (b: Uint8Array, text: string, at = 0) => b.length >= at + text.length && [...text].every((c, i) => b[at + i] === c.charCodeAt(0));
const pathOf = (path: string) => path || '(root)';

function decodeName(bytes: Uint8Array, compressed: boolean): string {
  let s = '';
  if (compressed) for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
  else for (let i = 0; i + 1 < bytes.length; i += 2) s += String.fromCharCode(u16(bytes, i));
  return s;
}

interface ListEntry {
  keyOffset: number;
  hint?: number;
  kind: 'li' | 'lf' | 'lh';
}

interface PendingKey {
  offset: number;
  parent: number | undefined;
  path: string;
  depth: number;
}

class HiveChecker {
  readonly problems: HiveCheckProblem[] = [];
  errors = 0;
  truncated = false;
  readonly stats: HiveCheckStats = {
    keys: 0,
    values: 0,
    bins: 0,
    allocatedCells: 0,
    freeCells: 0,
    allocatedBytes: 0,
    freeBytes: 0,
    securityDescriptors: 0,
    bigDataValues: 0,
    leakedCells: 0,
  };
  /** Bytes of hive-bins data actually examined (declared size, cut to what the file holds). */
  dataSize = 0;
  minor = 0;
  /** One byte per 8-byte slot of hive-bins data: SLOT_*, then USE_* of the reached cells. */
  slots = new Uint8Array(0);
  uses = new Uint8Array(0);
  /** sk offset → keys using it and the first one's path. */
  readonly skUsers = new Map<number, { count: number; path: string }>();
  rootSecurity: number | undefined;

  constructor(
    readonly bytes: Uint8Array,
    readonly name: string,
    readonly maxProblems: number,
  ) {}

  report(code: HiveCheckCode, message: string, where: { offset?: number; keyPath?: string } = {}): void {
    const severity = CHECK_CODES[code];
    if (severity === 'error') this.errors++;
    if (this.problems.length >= this.maxProblems) {
      this.truncated = true;
      return;
    }
    const problem: HiveCheckProblem = { code, severity, message };
    if (where.offset !== undefined) problem.offset = where.offset;
    if (where.keyPath !== undefined) problem.keyPath = where.keyPath;
    this.problems.push(problem);
  }

  run(): void {
    if (!this.checkBaseBlock()) return;
    this.checkBins();
    const root = u32(this.bytes, 36);
    this.checkKeys(root);
    this.checkSecurityList();
    this.checkLeaks();
  }

  // Suhanov §Base block. Returns false when there is too little to go on.
  checkBaseBlock(): boolean {
    const b = this.bytes;
    if (!sig(b, 'regf')) this.report('DF_CHECK_NOT_REGF', 'the file does not start with "regf"', { offset: 0 });
    if (b.length < 512) {
      this.report('DF_CHECK_TRUNCATED', `only ${b.length} bytes, less than the 512 a base block needs`, { offset: 0 });
      return false;
    }
    // Checksum: XOR of the first 127 dwords, 0 → 1 and 0xFFFFFFFF → 0xFFFFFFFE (§Base block, notes).
    let sum = 0;
    for (let o = 0; o < 508; o += 4) sum ^= i32(b, o);
    sum >>>= 0;
    if (sum === 0xffffffff) sum = 0xfffffffe;
    else if (sum === 0) sum = 1;
    const stored = u32(b, 508);
    if (stored !== sum) this.report('DF_CHECK_BAD_CHECKSUM', `base block checksum is ${hex(stored)}, computed ${hex(sum)}`, { offset: 508 });
    const seq1 = u32(b, 4);
    const seq2 = u32(b, 8);
    // A write was interrupted (§Dirty state of a hive): the logs hold newer data; whatever else
    // this report says may be an artefact of the unfinished write.
    if (seq1 !== seq2)
      this.report('DF_CHECK_DIRTY', `sequence numbers differ (${seq1} ≠ ${seq2}): the hive is dirty and its transaction logs must be replayed first`, { offset: 4 });
    const major = u32(b, 20);
    this.minor = u32(b, 24);
    if (major !== 1 || this.minor < 2 || this.minor > 6)
      this.report('DF_CHECK_BAD_VERSION', `format version ${major}.${this.minor} is not a known regf version (1.2 to 1.6)`, { offset: 20 });
    const fileType = u32(b, 28);
    if (fileType !== 0) this.report('DF_CHECK_BAD_FILE_TYPE', `file type is ${fileType}, not 0 (a primary hive); this looks like a transaction log`, { offset: 28 });
    const format = u32(b, 32);
    if (format !== 1) this.report('DF_CHECK_BAD_FILE_TYPE', `file format is ${format}, not 1 (direct memory load)`, { offset: 32 });
    if (b.length < BASE) {
      this.report('DF_CHECK_TRUNCATED', `only ${b.length} bytes, less than the 4096-byte base block`, { offset: 0 });
      return false;
    }
    const declared = u32(b, 40);
    const available = Math.floor((b.length - BASE) / BIN_ALIGN) * BIN_ALIGN;
    if (declared === 0 || declared % BIN_ALIGN !== 0) {
      this.report('DF_CHECK_BAD_BINS_SIZE', `hive-bins data size ${hex(declared)} is not a positive multiple of 4096`, { offset: 40 });
    }
    if (BASE + declared > b.length) {
      this.report('DF_CHECK_TRUNCATED', `the base block declares ${BASE + declared} bytes but the file has ${b.length}`, { offset: 40 });
    }
    // Keep checking whatever the file holds, so a truncated hive still gets its cells checked.
    const usable = declared === 0 ? available : Math.floor(declared / BIN_ALIGN) * BIN_ALIGN;
    this.dataSize = Math.min(usable, available);
    this.slots = new Uint8Array(this.dataSize / 8);
    this.uses = new Uint8Array(this.dataSize / 8);
    return true;
  }

  // Suhanov §Hive bin and §Cell: bins follow each other, each cell tiles its bin exactly.
  checkBins(): void {
    const b = this.bytes;
    let at = 0;
    while (at < this.dataSize) {
      const file = BASE + at;
      if (!sig(b, 'hbin', file)) {
        this.report('DF_CHECK_BAD_BIN_SIGNATURE', `no "hbin" signature at ${hex(at)}; skipping to the next bin`, { offset: at });
        at = this.nextBinSignature(at + BIN_ALIGN);
        continue;
      }
      this.stats.bins++;
      const selfOffset = u32(b, file + 4);
      let size = u32(b, file + 8);
      if (selfOffset !== at) this.report('DF_CHECK_BAD_BIN_OFFSET', `hive bin at ${hex(at)} says it is at ${hex(selfOffset)}`, { offset: at });
      if (size < BIN_ALIGN || size % BIN_ALIGN !== 0 || at + size > this.dataSize) {
        this.report('DF_CHECK_BAD_BIN_SIZE', `hive bin at ${hex(at)} has size ${hex(size)}, not a multiple of 4096 inside the hive-bins data (${hex(this.dataSize)} bytes)`, {
          offset: at,
        });
        // Assume the bin runs to the next bin header, the likeliest layout.
        size = this.nextBinSignature(at + BIN_ALIGN) - at;
      }
      this.tileBin(at, at + size);
      at += size;
    }
  }

  nextBinSignature(from: number): number {
    let at = from;
    while (at < this.dataSize && !sig(this.bytes, 'hbin', BASE + at)) at += BIN_ALIGN;
    return Math.min(at, this.dataSize);
  }

  tileBin(start: number, end: number): void {
    const b = this.bytes;
    let at = start + BIN_HEADER;
    let previousFree = false;
    while (at < end) {
      const raw = i32(b, BASE + at);
      const size = Math.abs(raw);
      const slot = at / 8;
      // Suhanov §Cell: the size is a multiple of 8 and covers at least its own 4 bytes.
      if (size < 8) {
        this.report('DF_CHECK_BAD_CELL_SIZE', `cell at ${hex(at)} has size ${raw}; the rest of the bin cannot be read`, { offset: at });
        return;
      }
      if (at + size > end) {
        this.slots[slot] = SLOT_BROKEN;
        this.report('DF_CHECK_CELL_CROSSES_BIN', `cell at ${hex(at)} has size ${size} and runs past the end of its bin at ${hex(end)}`, { offset: at });
        return;
      }
      if (size % 8 !== 0) {
        this.slots[slot] = SLOT_BROKEN;
        this.report('DF_CHECK_UNALIGNED_CELL', `cell at ${hex(at)} has size ${size}, not a multiple of 8; the rest of the bin cannot be read`, { offset: at });
        return;
      }
      const free = raw > 0;
      this.slots[slot] = free ? SLOT_FREE : SLOT_ALLOCATED;
      this.slots.fill(SLOT_INSIDE, slot + 1, slot + size / 8);
      if (free) {
        this.stats.freeCells++;
        this.stats.freeBytes += size;
        // Windows merges neighbouring free cells when it frees one (Suhanov §Cell).
        if (previousFree) this.report('DF_CHECK_FREE_NOT_COALESCED', `free cell at ${hex(at)} follows another free cell; they should have been merged`, { offset: at });
      } else {
        this.stats.allocatedCells++;
        this.stats.allocatedBytes += size;
      }
      previousFree = free;
      at += size;
    }
  }

  /** The payload of the allocated cell at `offset`, marking it as used for `use`. Reports and
   *  returns undefined when the offset is not an allocated cell. A cell reached a second time is
   *  reported; its payload is returned again only for leaf data (values, data, class names), so
   *  structures that lead elsewhere (keys, lists) are never walked twice. */
  claim(offset: number, use: Use, what: string, keyPath: string | undefined): Uint8Array | undefined {
    const where = { offset, keyPath };
    if (offset % 8 !== 0 || offset >= this.dataSize) {
      this.report('DF_CHECK_BAD_OFFSET', `${what} points to ${hex(offset)}, which is not a cell offset inside the hive-bins data`, where);
      return undefined;
    }
    const slot = offset / 8;
    const state = this.slots[slot];
    if (state === SLOT_INSIDE) {
      this.report('DF_CHECK_CELL_OVERLAP', `${what} points to ${hex(offset)}, inside another cell: two records overlap`, where);
      return undefined;
    }
    if (state === SLOT_FREE) {
      this.report('DF_CHECK_FREE_CELL_USED', `${what} points to the free cell at ${hex(offset)}`, where);
      return undefined;
    }
    if (state === SLOT_BROKEN) return undefined; // its size was reported while tiling
    if (state !== SLOT_ALLOCATED) {
      this.report('DF_CHECK_NOT_A_CELL', `${what} points to ${hex(offset)}, which is not the start of a cell`, where);
      return undefined;
    }
    const previous = this.uses[slot];
    const size = -i32(this.bytes, BASE + offset);
    const payload = this.bytes.subarray(BASE + offset + 4, BASE + offset + size);
    if (previous !== 0) {
      this.report('DF_CHECK_CELL_SHARED', `${what} points to the cell at ${hex(offset)}, already used as a ${USE_NAMES[previous]}`, where);
      return use === USE.value || use === USE.data || use === USE.className ? payload : undefined;
    }
    this.uses[slot] = use;
    return payload;
  }

  /** Reads a key node's name without claiming it (for checking its parent's list). */
  peekKeyName(offset: number): string | undefined {
    if (offset % 8 !== 0 || offset >= this.dataSize || this.slots[offset / 8] !== SLOT_ALLOCATED) return undefined;
    const size = -i32(this.bytes, BASE + offset);
    const cell = this.bytes.subarray(BASE + offset + 4, BASE + offset + size);
    if (cell.length < NK_FIXED || !sig(cell, 'nk')) return undefined;
    const length = u16(cell, 72);
    if (NK_FIXED + length > cell.length) return undefined;
    return decodeName(cell.subarray(NK_FIXED, NK_FIXED + length), (u16(cell, 2) & KEY_COMP_NAME) !== 0);
  }

  checkKeys(root: number): void {
    // Depth-first without recursion; every nk is claimed once, so the walk ends even when
    // lists point back up the tree.
    const stack: PendingKey[] = [{ offset: root, parent: undefined, path: '', depth: 0 }];
    while (stack.length > 0) {
      const key = stack.pop() as PendingKey;
      this.checkKey(key, stack);
    }
  }

  // Suhanov §Key node.
  checkKey(key: PendingKey, stack: PendingKey[]): void {
    const { offset, path } = key;
    const isRoot = key.parent === undefined;
    const cell = this.claim(offset, USE.key, isRoot ? 'the root offset in the base block' : `a subkey list entry (${pathOf(path)})`, path);
    if (!cell) return;
    if (cell.length < NK_FIXED || !sig(cell, 'nk')) {
      this.report('DF_CHECK_BAD_KEY', `cell at ${hex(offset)} should be a key node ("nk") but is not`, { offset, keyPath: path });
      return;
    }
    this.stats.keys++;
    const where = { offset, keyPath: path };
    const flags = u16(cell, 2);
    if (isRoot && (flags & KEY_HIVE_ENTRY) === 0) this.report('DF_CHECK_ROOT_FLAG', 'the root key lacks the KEY_HIVE_ENTRY flag (0x4)', where);
    if (!isRoot && (flags & KEY_HIVE_ENTRY) !== 0) this.report('DF_CHECK_ROOT_FLAG', 'a key below the root carries the KEY_HIVE_ENTRY flag (0x4)', where);
    // The root's parent points into the master hive Windows loaded it under; not checkable here.
    const parentField = u32(cell, 16);
    if (!isRoot && parentField !== key.parent) {
      this.report('DF_CHECK_BAD_PARENT', `parent offset is ${hex(parentField)} but the key is listed under the key at ${hex(key.parent as number)}`, where);
    }
    const nameLength = u16(cell, 72);
    if (NK_FIXED + nameLength > cell.length) {
      this.report('DF_CHECK_BAD_NAME', `the ${nameLength}-byte name runs past the end of the ${cell.length}-byte cell`, where);
    } else if ((flags & KEY_COMP_NAME) === 0 && nameLength % 2 !== 0) {
      this.report('DF_CHECK_BAD_NAME', `the UTF-16 name has an odd length (${nameLength} bytes)`, where);
    } else if (!isRoot && nameLength === 0) {
      this.report('DF_CHECK_BAD_NAME', 'the key name is empty', where);
    }
    if (u32(cell, 44) === NONE) this.report('DF_CHECK_BAD_SECURITY_OFFSET', 'the key has no security record', where);
    else {
      const sk = u32(cell, 44);
      const users = this.skUsers.get(sk);
      if (users) users.count++;
      else this.skUsers.set(sk, { count: 1, path });
      if (isRoot) this.rootSecurity = sk;
    }
    this.checkClass(cell, where);
    this.checkValues(cell, where);

    const subkeyCount = u32(cell, 20);
    if (subkeyCount === 0) return;
    if (key.depth + 1 > MAX_DEPTH) {
      this.report('DF_CHECK_TOO_DEEP', `keys are nested more than ${MAX_DEPTH} levels deep; not descending further`, where);
      return;
    }
    const entries = this.readSubkeyList(u32(cell, 28), path);
    if (!entries) return;
    if (entries.length !== subkeyCount) this.report('DF_CHECK_SUBKEY_COUNT', `the key says it has ${subkeyCount} subkeys but its list holds ${entries.length}`, where);
    const names = entries.map((e) => this.peekKeyName(e.keyOffset));
    this.checkListOrder(entries, names, where);
    // Max-length fields count bytes of UTF-16 whatever the stored encoding; the low 16 bits of
    // the subkey-name field hold the length, the high bits are flags since Vista (§Key node).
    let maxName = 0;
    let maxClass = 0;
    for (let i = 0; i < entries.length; i++) {
      const name = names[i];
      if (name !== undefined) maxName = Math.max(maxName, name.length * 2);
      maxClass = Math.max(maxClass, this.peekClassLength(entries[i].keyOffset));
    }
    const storedName = u32(cell, 52) & 0xffff;
    if (storedName < maxName) this.report('DF_CHECK_MAX_NAME_TOO_SMALL', `largest-subkey-name field is ${storedName} bytes but a subkey name takes ${maxName}`, where);
    const storedClass = u32(cell, 56);
    if (storedClass < maxClass) this.report('DF_CHECK_MAX_CLASS_TOO_SMALL', `largest-subkey-class field is ${storedClass} bytes but a subkey class takes ${maxClass}`, where);
    for (let i = entries.length - 1; i >= 0; i--) {
      const name = names[i] ?? `<key at ${hex(entries[i].keyOffset)}>`;
      stack.push({ offset: entries[i].keyOffset, parent: offset, path: path ? `${path}\\${name}` : name, depth: key.depth + 1 });
    }
  }

  peekClassLength(offset: number): number {
    if (offset % 8 !== 0 || offset >= this.dataSize || this.slots[offset / 8] !== SLOT_ALLOCATED) return 0;
    const size = -i32(this.bytes, BASE + offset);
    if (size < 4 + NK_FIXED || !sig(this.bytes, 'nk', BASE + offset + 4)) return 0;
    return u32(this.bytes, BASE + offset + 4 + 48) === NONE ? 0 : u16(this.bytes, BASE + offset + 4 + 74);
  }

  checkClass(cell: Uint8Array, where: { offset: number; keyPath: string }): void {
    const classOffset = u32(cell, 48);
    const classLength = u16(cell, 74);
    if (classOffset === NONE || classLength === 0) return;
    const data = this.claim(classOffset, USE.className, 'the class name', where.keyPath);
    if (data && data.length < classLength) this.report('DF_CHECK_BAD_CLASS', `the ${classLength}-byte class name does not fit its ${data.length}-byte cell`, where);
  }

  // Suhanov §Subkeys list, §Index leaf, §Fast leaf, §Hash leaf, §Index root.
  readSubkeyList(offset: number, path: string): ListEntry[] | undefined {
    const cell = this.claim(offset, USE.subkeyList, 'the subkey list offset', path);
    if (!cell) return undefined;
    const out: ListEntry[] = [];
    if (sig(cell, 'ri')) {
      const count = this.listCount(cell, 4, offset, path);
      for (let i = 0; i < count; i++) {
        const leafOffset = u32(cell, 4 + i * 4);
        const leaf = this.claim(leafOffset, USE.subkeyList, `part ${i} of the index root at ${hex(offset)}`, path);
        if (!leaf) continue;
        // An ri holds leaves only, so the tree of lists is at most two levels deep.
        if (sig(leaf, 'ri'))
          this.report('DF_CHECK_NESTED_INDEX_ROOT', `the index root at ${hex(offset)} points to another index root at ${hex(leafOffset)}`, { offset: leafOffset, keyPath: path });
        else this.readLeaf(leaf, leafOffset, path, out);
      }
      return out;
    }
    this.readLeaf(cell, offset, path, out);
    return out;
  }

  listCount(cell: Uint8Array, stride: number, offset: number, path: string): number {
    if (cell.length < 4) return 0;
    const count = u16(cell, 2);
    const fits = Math.floor((cell.length - 4) / stride);
    if (count > fits) {
      this.report('DF_CHECK_BAD_SUBKEY_LIST', `the subkey list at ${hex(offset)} claims ${count} entries but its cell holds ${fits}`, { offset, keyPath: path });
      return fits;
    }
    return count;
  }

  readLeaf(cell: Uint8Array, offset: number, path: string, out: ListEntry[]): void {
    const kind = sig(cell, 'li') ? 'li' : sig(cell, 'lf') ? 'lf' : sig(cell, 'lh') ? 'lh' : undefined;
    if (!kind) {
      this.report('DF_CHECK_BAD_SUBKEY_LIST', `the cell at ${hex(offset)} is not a subkey list (li, lf, lh or ri)`, { offset, keyPath: path });
      return;
    }
    // Hash leaves exist from format 1.5 on; older hives use fast leaves (§Hash leaf).
    if (kind === 'lh' && this.minor < 5)
      this.report('DF_CHECK_LIST_VERSION', `hash leaf at ${hex(offset)} in a version 1.${this.minor} hive, which should use lf`, { offset, keyPath: path });
    const stride = kind === 'li' ? 4 : 8;
    const count = this.listCount(cell, stride, offset, path);
    for (let i = 0; i < count; i++) {
      const at = 4 + i * stride;
      out.push(kind === 'li' ? { keyOffset: u32(cell, at), kind } : { keyOffset: u32(cell, at), hint: u32(cell, at + 4), kind });
    }
  }

  /** Sorted by upper-cased name across the whole (ri) list, no duplicates, hints right. */
  checkListOrder(entries: ListEntry[], names: (string | undefined)[], where: { offset: number; keyPath: string }): void {
    let previous: string | undefined;
    for (let i = 0; i < entries.length; i++) {
      const name = names[i];
      if (name === undefined) continue;
      const upper = upcaseName(name);
      if (previous !== undefined) {
        if (upper === previous) this.report('DF_CHECK_DUPLICATE_KEY_NAME', `two subkeys are called "${name}" (names compare case-insensitively)`, where);
        else if (upper < previous) this.report('DF_CHECK_UNSORTED_LIST', `subkey "${name}" is listed after "${previous}"; lists must be sorted by upper-cased name`, where);
      }
      previous = upper;
      const { hint, kind } = entries[i];
      if (kind === 'lh' && hint !== lhHash(name)) {
        this.report('DF_CHECK_BAD_LH_HASH', `hash of "${name}" is stored as ${hex(hint as number)}, expected ${hex(lhHash(name))}`, where);
      }
      // lf hint: the first four characters as bytes, zero-padded (§Fast leaf). How Windows maps
      // characters past ASCII is not specified exactly, so only ASCII prefixes are checked.
      const prefix = name.slice(0, 4);
      if (kind === 'lf' && /^[\x00-\x7f]*$/.test(prefix)) {
        let expected = 0;
        for (let c = prefix.length - 1; c >= 0; c--) expected = expected * 256 + prefix.charCodeAt(c);
        if (hint !== expected) this.report('DF_CHECK_BAD_LF_HINT', `name hint of "${name}" is ${hex(hint as number)}, expected ${hex(expected)}`, where);
      }
    }
  }

  // Suhanov §Key values list and §Key value.
  checkValues(cell: Uint8Array, where: { offset: number; keyPath: string }): void {
    let count = u32(cell, 36);
    if (count === 0) return;
    const list = this.claim(u32(cell, 40), USE.valueList, 'the value list offset', where.keyPath);
    if (!list) return;
    if (count * 4 > list.length) {
      this.report('DF_CHECK_VALUE_COUNT', `the key says it has ${count} values but its value list holds ${list.length >> 2}`, where);
      count = list.length >> 2;
    }
    const seen = new Set<string>();
    let maxName = 0;
    let maxData = 0;
    for (let i = 0; i < count; i++) {
      const value = this.checkValue(u32(list, i * 4), where.keyPath, seen);
      if (!value) continue;
      maxName = Math.max(maxName, value.nameBytes16);
      maxData = Math.max(maxData, value.dataSize);
    }
    const storedName = u32(cell, 60);
    if (storedName < maxName) this.report('DF_CHECK_MAX_VALUE_NAME_TOO_SMALL', `largest-value-name field is ${storedName} bytes but a value name takes ${maxName}`, where);
    const storedData = u32(cell, 64);
    if (storedData < maxData) this.report('DF_CHECK_MAX_VALUE_DATA_TOO_SMALL', `largest-value-data field is ${storedData} bytes but a value holds ${maxData}`, where);
  }

  checkValue(offset: number, keyPath: string, seen: Set<string>): { nameBytes16: number; dataSize: number } | undefined {
    const cell = this.claim(offset, USE.value, 'an entry of the value list', keyPath);
    if (!cell) return undefined;
    const where = { offset, keyPath };
    if (cell.length < VK_FIXED || !sig(cell, 'vk')) {
      this.report('DF_CHECK_BAD_VALUE', `cell at ${hex(offset)} should be a value ("vk") but is not`, where);
      return undefined;
    }
    this.stats.values++;
    const nameLength = u16(cell, 2);
    const compressed = (u16(cell, 16) & VALUE_COMP_NAME) !== 0;
    let name: string | undefined;
    if (VK_FIXED + nameLength > cell.length) this.report('DF_CHECK_BAD_NAME', `value name of ${nameLength} bytes runs past the end of its ${cell.length}-byte cell`, where);
    else if (!compressed && nameLength % 2 !== 0) this.report('DF_CHECK_BAD_NAME', `the UTF-16 value name has an odd length (${nameLength} bytes)`, where);
    else name = decodeName(cell.subarray(VK_FIXED, VK_FIXED + nameLength), compressed);
    if (name !== undefined) {
      const upper = upcaseName(name);
      if (seen.has(upper)) this.report('DF_CHECK_DUPLICATE_VALUE_NAME', `two values are called "${name}" (names compare case-insensitively)`, where);
      seen.add(upper);
    }
    const sizeField = u32(cell, 4);
    const dataSize = sizeField & 0x7fffffff;
    const label = `data of value "${name ?? '?'}"`;
    if (sizeField >= 0x80000000) {
      // Inline data lives in the 4-byte offset field (§Key value, notes).
      if (dataSize > 4) this.report('DF_CHECK_BAD_VALUE_DATA', `value is marked inline but declares ${dataSize} bytes; at most 4 fit`, where);
    } else if (dataSize > 0) {
      if (dataSize > this.dataSize) this.report('DF_CHECK_BAD_VALUE_DATA', `value declares ${dataSize} bytes of data, more than the whole hive`, where);
      else this.checkValueData(u32(cell, 8), dataSize, label, keyPath);
    }
    return { nameBytes16: compressed ? nameLength * 2 : nameLength, dataSize: sizeField >= 0x80000000 ? Math.min(dataSize, 4) : dataSize };
  }

  checkValueData(offset: number, size: number, label: string, keyPath: string): void {
    const data = this.claim(offset, USE.data, label, keyPath);
    if (!data) return;
    const where = { offset, keyPath };
    if (data.length >= size) {
      // §Big data: from format 1.4 on, data over 16344 bytes must be split into segments.
      if (size > SEGMENT && this.minor > 3)
        this.report('DF_CHECK_BIG_DATA_EXPECTED', `${label} is ${size} bytes in one cell; version 1.${this.minor} hives need a big-data record`, where);
      return;
    }
    if (data.length >= 8 && sig(data, 'db')) {
      this.uses[offset / 8] = USE.bigData;
      this.checkBigData(offset, data, size, label, keyPath);
      return;
    }
    this.report('DF_CHECK_DATA_CELL_TOO_SMALL', `${label} declares ${size} bytes but its cell holds ${data.length}`, where);
  }

  // Suhanov §Big data.
  checkBigData(offset: number, db: Uint8Array, size: number, label: string, keyPath: string): void {
    this.stats.bigDataValues++;
    const where = { offset, keyPath };
    if (this.minor <= 3) this.report('DF_CHECK_BIG_DATA_VERSION', `${label} uses a big-data record, which version 1.${this.minor} hives do not have`, where);
    if (size <= SEGMENT) this.report('DF_CHECK_BIG_DATA_UNNEEDED', `${label} uses a big-data record for only ${size} bytes (at most ${SEGMENT} fit one cell)`, where);
    let segments = u16(db, 2);
    const needed = Math.ceil(size / SEGMENT);
    if (segments !== needed) this.report('DF_CHECK_BAD_BIG_DATA', `${label} has ${segments} segments; ${size} bytes need ${needed}`, where);
    const list = this.claim(u32(db, 4), USE.bigDataList, `segment list of ${label}`, keyPath);
    if (!list) return;
    if (segments * 4 > list.length) {
      this.report('DF_CHECK_BAD_BIG_DATA', `segment list of ${label} holds ${list.length >> 2} entries, not ${segments}`, where);
      segments = list.length >> 2;
    }
    for (let i = 0; i < segments; i++) {
      const segment = this.claim(u32(list, i * 4), USE.segment, `segment ${i} of ${label}`, keyPath);
      const need = Math.max(0, Math.min(SEGMENT, size - i * SEGMENT));
      if (segment && segment.length < need) this.report('DF_CHECK_BAD_BIG_DATA', `segment ${i} of ${label} holds ${segment.length} bytes, needs ${need}`, where);
    }
  }

  // Suhanov §Key security: all sk cells form one circular doubly linked list, and each
  // reference count equals the number of keys pointing at the record.
  checkSecurityList(): void {
    const visited = new Set<number>();
    const start = this.rootSecurity ?? this.skUsers.keys().next().value;
    if (start !== undefined) {
      let current = start;
      let previous: number | undefined;
      // Every step claims a new cell, so the loop ends after at most allocatedCells steps.
      for (;;) {
        const cell = this.checkSecurity(current, this.skUsers.get(current)?.path, visited);
        if (!cell) {
          if (previous !== undefined)
            this.report('DF_CHECK_SK_LIST_BROKEN', `the security record at ${hex(previous)} links forward to ${hex(current)}, which is not a usable security record`, {
              offset: previous,
            });
          break;
        }
        const flink = u32(cell, 4);
        const blink = u32(cell, 8);
        if (previous !== undefined && blink !== previous) {
          this.report('DF_CHECK_SK_LIST_BROKEN', `the security record at ${hex(current)} links back to ${hex(blink)}, but ${hex(previous)} links forward to it`, {
            offset: current,
          });
        }
        if (flink === start) {
          const startBlink = u32(this.payloadOf(start), 8);
          if (startBlink !== current)
            this.report('DF_CHECK_SK_LIST_BROKEN', `the security record at ${hex(start)} links back to ${hex(startBlink)}, but the list ends at ${hex(current)}`, {
              offset: start,
            });
          break;
        }
        if (visited.has(flink)) {
          this.report('DF_CHECK_SK_LIST_BROKEN', `the security record at ${hex(current)} links forward to ${hex(flink)}, closing a loop that skips the start`, { offset: current });
          break;
        }
        previous = current;
        current = flink;
      }
    }
    for (const [offset, users] of this.skUsers) {
      // The start was claimed (and any problem with it reported) by the walk above.
      if (visited.has(offset) || offset === start) continue;
      if (this.checkSecurity(offset, users.path, visited)) {
        this.report('DF_CHECK_SK_NOT_IN_LIST', `the security record at ${hex(offset)} used by ${pathOf(users.path)} is not on the list of security records`, {
          offset,
          keyPath: users.path,
        });
      }
    }
  }

  payloadOf(offset: number): Uint8Array {
    const size = -i32(this.bytes, BASE + offset);
    return this.bytes.subarray(BASE + offset + 4, BASE + offset + size);
  }

  /** Claims and checks one sk record; returns its cell when it is a well-formed sk. */
  checkSecurity(offset: number, userPath: string | undefined, visited: Set<number>): Uint8Array | undefined {
    const cell = this.claim(offset, USE.security, 'a security offset', userPath);
    if (!cell) return undefined;
    const where = { offset, keyPath: userPath };
    if (cell.length < SK_FIXED || !sig(cell, 'sk')) {
      this.report('DF_CHECK_BAD_SECURITY', `cell at ${hex(offset)} should be a security record ("sk") but is not`, where);
      return undefined;
    }
    visited.add(offset);
    this.stats.securityDescriptors++;
    const users = this.skUsers.get(offset)?.count ?? 0;
    const refs = u32(cell, 12);
    if (refs !== users) this.report('DF_CHECK_SK_REFCOUNT', `security record at ${hex(offset)} has reference count ${refs} but ${users} keys use it`, where);
    const size = u32(cell, 16);
    if (size > cell.length - SK_FIXED) {
      this.report('DF_CHECK_BAD_SECURITY', `security record at ${hex(offset)} declares a ${size}-byte descriptor in a ${cell.length}-byte cell`, where);
      return cell;
    }
    // SECURITY_DESCRIPTOR_RELATIVE: revision 1, SE_SELF_RELATIVE (0x8000) set, and the owner,
    // group, SACL and DACL offsets (0 = absent) inside the descriptor.
    const sd = cell.subarray(SK_FIXED, SK_FIXED + size);
    if (sd.length < 20 || sd[0] !== 1 || (u16(sd, 2) & 0x8000) === 0) {
      this.report('DF_CHECK_BAD_SECURITY_DESCRIPTOR', `security record at ${hex(offset)} does not hold a self-relative security descriptor (revision 1, SE_SELF_RELATIVE)`, where);
      return cell;
    }
    for (const field of [4, 8, 12, 16]) {
      const at = u32(sd, field);
      if (at !== 0 && at >= sd.length) {
        this.report('DF_CHECK_BAD_SECURITY_DESCRIPTOR', `security descriptor at ${hex(offset)} points past its own end (${hex(at)} ≥ ${sd.length})`, where);
        break;
      }
    }
    return cell;
  }

  // Allocated cells nothing points to: space Windows will never reuse until the hive is
  // reorganised. Harmless for reading, so a warning.
  checkLeaks(): void {
    for (let slot = 0; slot < this.slots.length; slot++) {
      if (this.slots[slot] !== SLOT_ALLOCATED || this.uses[slot] !== 0) continue;
      this.stats.leakedCells++;
      const offset = slot * 8;
      const size = -i32(this.bytes, BASE + offset);
      this.report('DF_CHECK_LEAKED_CELL', `allocated ${size}-byte cell at ${hex(offset)} is not reachable from the root key or the security list`, { offset });
    }
  }
}

/** Checks every structure of a hive and reports all problems found; never throws. */
export function checkHive(bytes: Uint8Array, options: HiveCheckOptions = {}): HiveCheckReport {
  const name = options.name ?? 'hive';
  const checker = new HiveChecker(bytes, name, Math.max(0, options.maxProblems ?? 1000));
  try {
    checker.run();
  } catch (e) {
    // A bug in the checker must not hide the problems found so far.
    checker.report('DF_CHECK_INTERNAL', `the checker failed: ${e instanceof Error ? e.message : String(e)}`);
  }
  return { name, ok: checker.errors === 0, problems: checker.problems, truncated: checker.truncated, stats: checker.stats };
}

/** One line per problem, e.g. `SYSTEM: error DF_CHECK_UNSORTED_LIST at 0x1a20 [Select]: …`. */
export function formatCheckReport(report: HiveCheckReport): string {
  const lines = report.problems.map((p) => {
    const at = p.offset === undefined ? '' : ` at ${hex(p.offset)}`;
    const key = p.keyPath === undefined ? '' : ` [${pathOf(p.keyPath)}]`;
    return `${report.name}: ${p.severity} ${p.code}${at}${key}: ${p.message}`;
  });
  if (report.truncated) lines.push(`${report.name}: warning DF_CHECK_TOO_MANY_PROBLEMS: stopped listing after ${report.problems.length} problems`);
  if (lines.length === 0) lines.push(`${report.name}: ok (${report.stats.keys} keys, ${report.stats.values} values)`);
  return lines.join('\n');
}
