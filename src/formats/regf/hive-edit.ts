// Edits a regf hive in place: creates and deletes keys, sets and deletes values, keeping every
// unchanged cell where it is and reusing free space (cell-space.ts), with sorted subkey lists
// (edit-subkeys.ts), big data (edit-values.ts), sk reference counts and the nk maxima Windows
// relies on. Each edit is all-or-nothing. It does not replay transaction logs (dirty hives are
// refused), write logs, change security descriptors or class names of existing keys, or
// support volatile keys and symbolic links.
import { open } from 'node:fs/promises';
import { FormatError, InputError } from '../../errors.js';
import { plainBytes } from '../../util/binary.js';
import { withAtomicOutput, writeInPieces } from '../../util/fs.js';
import { computeBaseBlockChecksum, isDirty, parseBaseBlock } from './base-block.js';
import { buildHive } from './build-hive.js';
import { CellSpace, spareSizeFor } from './cell-space.js';
import { BASE_BLOCK_CHECKSUM_OFFSET, KEY_FLAG, NO_CELL, VALUE_FLAG_COMPRESSED_NAME } from './constants.js';
import { checkKeyName, checkValueName, compareNames, encodeName, splitKeyPath, toFiletime } from './edit-encode.js';
import { flatEntries, freeSubkeyList, insertSubkey, readListShape, removeSubkey, type SubkeyContext } from './edit-subkeys.js';
import type { HiveEditor } from './edit-types.js';
import { freeValueData, MAX_BIG_DATA, storeValueData } from './edit-values.js';
import { type Hive, openHive } from './hive.js';
import { decodeName, lhHash, namesEqual, upcaseName } from './names.js';
import { parseValueKey } from './value.js';

export interface EditHiveOptions {
  /** Shown in error messages. */
  name?: string;
  /** Clock for key and base-block timestamps; injectable so tests are reproducible. */
  now?: () => Date;
}

// nk payload fields (Suhanov §Key node; offsets after the cell size, as in key-node.ts).
const NK = {
  flags: 2,
  lastWritten: 4,
  parent: 16,
  subkeyCount: 20,
  subkeyList: 28,
  volatileSubkeyList: 32,
  valueCount: 36,
  valueList: 40,
  security: 44,
  classOffset: 48,
  maxSubkeyName: 52,
  maxSubkeyClass: 56,
  maxValueName: 60,
  maxValueData: 64,
  nameLength: 72,
  classLength: 74,
  name: 76,
} as const;
// vk payload fields (Suhanov §Key value).
const VK = { nameLength: 2, dataSize: 4, dataOffset: 8, type: 12, flags: 16, name: 20 } as const;
// sk payload fields (Suhanov §Key security).
const SK = { flink: 4, blink: 8, refCount: 12 } as const;
// Base block fields (Suhanov §Base block).
const BASE = { primarySeq: 4, secondarySeq: 8, lastWritten: 12, minor: 24, root: 36 } as const;

const hex = (n: number) => `0x${n.toString(16)}`;

export class HiveEdit implements HiveEditor {
  /** nk offset + upper-cased child name → child nk offset (see findChild). */
  private readonly childCache = new Map<string, number>();
  readonly name: string;
  readonly minorVersion: number;
  private readonly space: CellSpace;
  private readonly now: () => Date;
  private readonly subkeys: SubkeyContext;
  private view: Hive | undefined;

  /** `owned`: memory handed over as the working copy (see CellSpace); for openHiveForEdit. */
  constructor(bytes: Uint8Array, options: EditHiveOptions = {}, owned?: Uint8Array) {
    this.name = options.name ?? 'hive';
    this.now = options.now ?? (() => new Date());
    // openHive checks signature, file type, version and bin layout before we write anything.
    const hive = openHive(bytes, this.name);
    if (hive.dirty) throw dirtyError(this.name);
    this.space = new CellSpace(bytes, this.name, owned);
    this.minorVersion = this.space.headerU32(BASE.minor);
    this.subkeys = {
      space: this.space,
      leafKind: this.minorVersion >= 5 ? 'lh' : 'lf',
      nameOf: (offset) => this.keyName(offset),
      compare: compareNames,
    };
  }

  /** A reader over the edited hive; rebuilt lazily after each change. */
  get hive(): Hive {
    if (!this.view) {
      // Keep the working header's checksum current so the reader does not call it dirty.
      this.space.setHeaderU32(BASE_BLOCK_CHECKSUM_OFFSET, computeBaseBlockChecksum(this.space.file));
      this.view = openHive(this.space.file, this.name);
    }
    return this.view;
  }

  /** Free cells as [offset, size]; for tests and space statistics. */
  freeCells(): [number, number][] {
    return this.space.freeCells();
  }

  /** Runs one edit atomically: on any error every byte written is restored. */
  private mutate<T>(edit: () => T): T {
    this.space.begin();
    try {
      const result = edit();
      this.space.commit();
      return result;
    } catch (error) {
      this.space.rollback();
      this.childCache.clear();
      throw error;
    } finally {
      this.view = undefined;
    }
  }

  private get rootOffset(): number {
    return this.space.headerU32(BASE.root);
  }

  private keyName(nk: number): string {
    const { space } = this;
    space.cells.cell(nk, 'a key node');
    if (space.u16(nk, 0) !== 0x6b6e /* "nk" LE */ || space.payloadSize(nk) < NK.name) {
      throw new FormatError('DF_HIVE_BAD_KEY', `${this.name}: cell at ${hex(nk)} is not a key node ("nk"); the hive is corrupt`, { offset: nk });
    }
    const length = space.u16(nk, NK.nameLength);
    return decodeName(space.read(nk, NK.name, length), (space.u16(nk, NK.flags) & KEY_FLAG.compressedName) !== 0);
  }

  /** The child of `nk` called `name`, or undefined. An lh hash rules out entries cheaply for
   *  ASCII names, where every upcase table agrees; other names are compared in full. */
  private findChild(nk: number, name: string): number | undefined {
    // Imports set thousands of values under the same few keys; remembering lookups saves
    // re-reading their subkey lists every time. Any change to a subkey list clears it.
    const cacheKey = `${nk}\\${upcaseName(name)}`;
    const cached = this.childCache.get(cacheKey);
    if (cached !== undefined) return cached;
    const found = this.findChildUncached(nk, name);
    if (found !== undefined) this.childCache.set(cacheKey, found);
    return found;
  }

  private findChildUncached(nk: number, name: string): number | undefined {
    if (this.space.u32(nk, NK.subkeyCount) === 0) return undefined;
    const list = this.space.u32(nk, NK.subkeyList);
    const shape = readListShape(this.space, list);
    const ascii = /^[\x20-\x7e]*$/.test(name);
    const hash = lhHash(name);
    for (const leaf of shape.leaves) {
      for (const entry of leaf.entries) {
        if (ascii && leaf.kind === 'lh' && entry.hint !== hash) continue;
        if (namesEqual(this.keyName(entry.key), name)) return entry.key;
      }
    }
    return undefined;
  }

  private findKey(parts: string[]): number | undefined {
    let nk = this.rootOffset;
    for (const part of parts) {
      const child = this.findChild(nk, part);
      if (child === undefined) return undefined;
      nk = child;
    }
    return nk;
  }

  private stamp(nk: number): void {
    this.space.setU64(nk, NK.lastWritten, toFiletime(this.now()));
  }

  /** Raises a max field to at least `length` (never lowers: Windows only needs upper bounds).
   *  Only the low 16 bits of the subkey-name field are a length; the high bits hold
   *  virtualization, user and debug flags since Vista (Suhanov §Key node note). */
  private raise(nk: number, field: number, length: number): void {
    const current = this.space.u32(nk, field);
    if (field === NK.maxSubkeyName) {
      const low = current & 0xffff;
      if (length > low) this.space.setU32(nk, field, ((current & 0xffff0000) | Math.min(length, 0xffff)) >>> 0);
    } else if (length > current) {
      this.space.setU32(nk, field, length);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Keys

  createKey(path: string, options: { className?: string } = {}): boolean {
    const parts = splitKeyPath(path);
    for (const part of parts) checkKeyName(part, path);
    if (options.className !== undefined && options.className.length * 2 > 0xffff) {
      throw new InputError('DF_HIVE_BAD_NAME', `class name of "${path}" is over 32767 characters: shorten it`, { path });
    }
    let created = false;
    this.mutate(() => {
      let nk = this.rootOffset;
      parts.forEach((part, i) => {
        const child = this.findChild(nk, part);
        if (child !== undefined) {
          nk = child;
          return;
        }
        nk = this.addKey(nk, part, i === parts.length - 1 ? options.className : undefined);
        created = true;
      });
    });
    return created;
  }

  /** Creates the nk for `name` under `parent` and links it in; returns its offset. */
  private addKey(parent: number, name: string, className: string | undefined): number {
    this.childCache.clear();
    const { space } = this;
    const encoded = encodeName(name);
    const nk = space.alloc(NK.name + encoded.bytes.length);
    // New keys share the parent's sk (the kernel does the same when no explicit descriptor is
    // given and the inherited one is identical), so its reference count grows by one.
    const sk = space.u32(parent, NK.security);
    if (sk !== NO_CELL) {
      space.cells.cell(sk, 'security record');
      space.setU32(sk, SK.refCount, space.u32(sk, SK.refCount) + 1);
    }
    let classOffset = NO_CELL;
    let classLength = 0;
    if (className) {
      const bytes = new Uint8Array(Buffer.from(className, 'utf16le'));
      classOffset = space.alloc(bytes.length);
      space.write(classOffset, 0, bytes);
      classLength = bytes.length;
    }
    space.write(nk, 0, new Uint8Array([0x6e, 0x6b])); // "nk"
    space.setU16(nk, NK.flags, encoded.compressed ? KEY_FLAG.compressedName : 0);
    this.stamp(nk);
    space.setU32(nk, NK.parent, parent);
    space.setU32(nk, NK.subkeyList, NO_CELL);
    space.setU32(nk, NK.volatileSubkeyList, NO_CELL);
    space.setU32(nk, NK.valueList, NO_CELL);
    space.setU32(nk, NK.security, sk);
    space.setU32(nk, NK.classOffset, classOffset);
    space.setU16(nk, NK.nameLength, encoded.bytes.length);
    space.setU16(nk, NK.classLength, classLength);
    space.write(nk, NK.name, encoded.bytes);

    const list = insertSubkey(this.subkeys, space.u32(parent, NK.subkeyCount) === 0 ? NO_CELL : space.u32(parent, NK.subkeyList), nk, name);
    space.setU32(parent, NK.subkeyList, list);
    space.setU32(parent, NK.subkeyCount, space.u32(parent, NK.subkeyCount) + 1);
    // Max lengths count UTF-16 bytes whatever the stored encoding (Suhanov §Key node).
    this.raise(parent, NK.maxSubkeyName, name.length * 2);
    this.raise(parent, NK.maxSubkeyClass, classLength);
    this.stamp(parent);
    return nk;
  }

  deleteKey(path: string): boolean {
    const parts = splitKeyPath(path);
    if (parts.length === 0) {
      throw new InputError('DF_HIVE_DELETE_ROOT', 'the root key of a hive cannot be deleted: name a key below it', { path });
    }
    const parent = this.findKey(parts.slice(0, -1));
    if (parent === undefined) return false;
    const key = this.findChild(parent, parts[parts.length - 1]);
    if (key === undefined) return false;
    // The lookups above cached the doomed keys; their cells are about to be freed and reused.
    this.childCache.clear();
    this.mutate(() => {
      const list = removeSubkey(this.subkeys, this.space.u32(parent, NK.subkeyList), key);
      this.space.setU32(parent, NK.subkeyList, list);
      this.space.setU32(parent, NK.subkeyCount, this.space.u32(parent, NK.subkeyCount) - 1);
      this.stamp(parent);
      this.freeTree(key);
    });
    return true;
  }

  /** Frees `top` and everything below it. Iterative: a tree can be 512 levels deep. */
  private freeTree(top: number): void {
    const { space } = this;
    const stack = [top];
    while (stack.length > 0) {
      const nk = stack.pop() as number;
      this.keyName(nk); // checks it is an nk before we free what it points to
      if (space.u32(nk, NK.subkeyCount) > 0) {
        const list = space.u32(nk, NK.subkeyList);
        for (const entry of flatEntries(readListShape(space, list))) stack.push(entry.key);
        freeSubkeyList(space, list);
      }
      const valueCount = space.u32(nk, NK.valueCount);
      if (valueCount > 0) {
        const list = space.u32(nk, NK.valueList);
        for (const vk of this.valueOffsets(nk)) {
          freeValueData(space, vk);
          space.free(vk);
        }
        space.free(list);
      }
      const classOffset = space.u32(nk, NK.classOffset);
      if (classOffset !== NO_CELL && space.u16(nk, NK.classLength) > 0) space.free(classOffset);
      this.releaseSecurity(space.u32(nk, NK.security));
      space.free(nk);
    }
  }

  /** Drops one reference to an sk; at zero it leaves the circular sk list and is freed
   *  (Suhanov §Key security: refcount = number of nk cells pointing to it). */
  private releaseSecurity(sk: number): void {
    if (sk === NO_CELL) return;
    const { space } = this;
    space.cells.cell(sk, 'security record');
    const refs = space.u32(sk, SK.refCount);
    if (refs > 1) {
      space.setU32(sk, SK.refCount, refs - 1);
      return;
    }
    const flink = space.u32(sk, SK.flink);
    const blink = space.u32(sk, SK.blink);
    if (flink !== sk) {
      space.setU32(blink, SK.flink, flink);
      space.setU32(flink, SK.blink, blink);
    }
    space.free(sk);
  }

  // -------------------------------------------------------------------------------------------
  // Values

  private valueOffsets(nk: number): number[] {
    const count = this.space.u32(nk, NK.valueCount);
    if (count === 0) return [];
    const list = this.space.u32(nk, NK.valueList);
    const cell = this.space.cells.cell(list, 'value list');
    if (count * 4 > cell.length) {
      throw new FormatError('DF_HIVE_BAD_VALUE_LIST', `${this.name}: value list at ${hex(list)} holds fewer than ${count} entries; the hive is corrupt`, { offset: list });
    }
    const out: number[] = [];
    for (let i = 0; i < count; i++) out.push(this.space.u32(list, 4 * i));
    return out;
  }

  /** Index in the values list of the value called `name`, or -1. */
  private findValue(nk: number, name: string): { index: number; vk: number } {
    const offsets = this.valueOffsets(nk);
    for (let index = 0; index < offsets.length; index++) {
      const vk = offsets[index];
      const record = parseValueKey(this.space.cells.cell(vk, 'a value'), vk, this.name);
      if (namesEqual(record.name, name)) return { index, vk };
    }
    return { index: -1, vk: NO_CELL };
  }

  setValue(keyPath: string, name: string, type: number, data: Uint8Array): void {
    const parts = splitKeyPath(keyPath);
    for (const part of parts) checkKeyName(part, keyPath);
    checkValueName(name, keyPath);
    if (!Number.isInteger(type) || type < 0 || type > 0xffffffff) {
      throw new InputError('DF_HIVE_BAD_DATA', `value "${name}" under "${keyPath}" has type ${type}, not a uint32: use a REG_* number`, { path: keyPath });
    }
    if (!(data instanceof Uint8Array)) {
      throw new InputError('DF_HIVE_BAD_DATA', `value "${name}" under "${keyPath}" has no byte data: give a Uint8Array`, { path: keyPath });
    }
    const limit = this.minorVersion > 3 ? MAX_BIG_DATA : 0x7fffffff - 8;
    if (data.length > limit) {
      throw new InputError('DF_HIVE_VALUE_TOO_BIG', `value "${name}" under "${keyPath}" holds ${data.length} bytes, over the ${limit}-byte limit: store it in a file instead`, {
        path: keyPath,
      });
    }
    this.mutate(() => {
      let nk = this.rootOffset;
      for (const part of parts) nk = this.findChild(nk, part) ?? this.addKey(nk, part, undefined);
      const { space } = this;
      const existing = this.findValue(nk, name);
      let vk = existing.vk;
      if (existing.index >= 0) {
        // Replace the data; the vk (and the name's original spelling) stays where it is.
        freeValueData(space, vk);
      } else {
        const encoded = encodeName(name);
        vk = space.alloc(VK.name + encoded.bytes.length);
        space.write(vk, 0, new Uint8Array([0x76, 0x6b])); // "vk"
        space.setU16(vk, VK.nameLength, encoded.bytes.length);
        space.setU16(vk, VK.flags, encoded.compressed ? VALUE_FLAG_COMPRESSED_NAME : 0);
        space.write(vk, VK.name, encoded.bytes);
        this.appendValue(nk, vk);
      }
      const stored = storeValueData(space, this.minorVersion, data);
      space.setU32(vk, VK.dataSize, stored.sizeField);
      space.write(vk, VK.dataOffset, stored.offsetField);
      space.setU32(vk, VK.type, type);
      this.raise(nk, NK.maxValueName, name.length * 2);
      this.raise(nk, NK.maxValueData, data.length);
      this.stamp(nk);
    });
  }

  private appendValue(nk: number, vk: number): void {
    const { space } = this;
    const count = space.u32(nk, NK.valueCount);
    // A values list is a plain cell of offsets (Suhanov §Key values list); it grows by realloc.
    const list = count === 0 ? space.alloc(4) : space.realloc(space.u32(nk, NK.valueList), 4 * (count + 1), 4 * count);
    space.setU32(list, 4 * count, vk);
    space.setU32(nk, NK.valueList, list);
    space.setU32(nk, NK.valueCount, count + 1);
  }

  deleteValue(keyPath: string, name: string): boolean {
    const nk = this.findKey(splitKeyPath(keyPath));
    if (nk === undefined) return false;
    const { index, vk } = this.findValue(nk, name);
    if (index < 0) return false;
    this.mutate(() => {
      const { space } = this;
      const offsets = this.valueOffsets(nk);
      offsets.splice(index, 1);
      const list = space.u32(nk, NK.valueList);
      if (offsets.length === 0) {
        space.free(list);
        space.setU32(nk, NK.valueList, NO_CELL);
      } else {
        const bytes = new Uint8Array(4 * offsets.length);
        const dv = new DataView(bytes.buffer);
        for (const [i, o] of offsets.entries()) dv.setUint32(4 * i, o, true);
        const moved = space.realloc(list, bytes.length, 0);
        space.write(moved, 0, bytes);
        space.setU32(nk, NK.valueList, moved);
      }
      space.setU32(nk, NK.valueCount, offsets.length);
      freeValueData(space, vk);
      space.free(vk);
      this.stamp(nk);
    });
    return true;
  }

  // -------------------------------------------------------------------------------------------
  // Output

  /** The hive's bytes as a new, clean generation: both sequence numbers advanced together
   *  (equal = not dirty, Suhanov §Dirty state), last-written time now, checksum recomputed. */
  toBytes(): Uint8Array {
    return this.finish().slice();
  }

  /** Stamps sequence numbers, time and checksum; returns a view of the working copy (valid
   *  until the next edit), so save() writes without copying a large hive once more. */
  private finish(): Uint8Array {
    const { space } = this;
    const seq = (Math.max(space.headerU32(BASE.primarySeq), space.headerU32(BASE.secondarySeq)) + 1) >>> 0;
    space.setHeaderU32(BASE.primarySeq, seq);
    space.setHeaderU32(BASE.secondarySeq, seq);
    const time = new Uint8Array(8);
    new DataView(time.buffer).setBigUint64(0, toFiletime(this.now()), true);
    space.writeHeader(BASE.lastWritten, time);
    space.setHeaderU32(BASE_BLOCK_CHECKSUM_OFFSET, computeBaseBlockChecksum(space.file));
    this.view = undefined;
    return space.file;
  }

  async save(path: string): Promise<void> {
    const bytes = this.finish();
    await withAtomicOutput(path, async (partial) => {
      const handle = await open(partial, 'w');
      try {
        await writeInPieces(handle, bytes);
      } finally {
        await handle.close();
      }
    });
  }
}

function dirtyError(name: string): InputError {
  return new InputError(
    'DF_HIVE_DIRTY',
    `${name} is dirty (its sequence numbers differ or its checksum is wrong): replay its .LOG1/.LOG2 first (deployforge reg recover), or editing would lose the data only the logs hold`,
    { name },
  );
}

/** Opens a hive held in memory for editing. The bytes are copied; the array is never changed.
 *  Dirty hives are refused (FORMATS.md §3 pitfall 1). */
export function editHive(bytes: Uint8Array, options: EditHiveOptions = {}): HiveEdit {
  return new HiveEdit(plainBytes(bytes), options);
}

/** Reads a hive file and opens it for editing; refuses a dirty hive with DF_HIVE_DIRTY. */
export async function openHiveForEdit(path: string, options: EditHiveOptions = {}): Promise<HiveEdit> {
  // Read straight into the editor's working copy (with room for new bins): a large hive is
  // neither held twice nor copied.
  const handle = await open(path, 'r');
  let owned: Uint8Array;
  let size = 0;
  try {
    const expected = (await handle.stat()).size;
    owned = new Uint8Array(new ArrayBuffer(spareSizeFor(expected)));
    for (;;) {
      const { bytesRead } = await handle.read(owned, size, owned.length - size, size);
      if (bytesRead === 0) break;
      size += bytesRead;
      if (size === owned.length) throw new InputError('DF_HIVE_CHANGED', `${path} grew while it was read; leave it alone and try again`, { path });
    }
  } finally {
    await handle.close();
  }
  const bytes = owned.subarray(0, size);
  const name = options.name ?? path;
  if (isDirty(parseBaseBlock(bytes, name))) throw dirtyError(name);
  return new HiveEdit(bytes, { ...options, name }, owned);
}

/** A new, empty, clean v1.5 hive: a root key with the default security descriptor. */
export function createEmptyHive(options: { rootName?: string; lastWritten?: Date } = {}): Uint8Array {
  return buildHive({ name: options.rootName ?? 'ROOT' }, { lastWritten: options.lastWritten ?? new Date() });
}
