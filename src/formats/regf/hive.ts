// Opening a regf hive for reading: the base block is checked at open, everything else is
// parsed lazily when a key or value is asked for, so opening a large hive is cheap. Keys and
// values are read-only views; editing, log replay and writing live elsewhere.
import { readFile } from 'node:fs/promises';
import { FormatError } from '../../errors.js';
import { filetimeToIso, plainBytes, u32le } from '../../util/binary.js';
import { type BaseBlock, isDirty, parseBaseBlock } from './base-block.js';
import { HiveCells } from './cells.js';
import { BASE_BLOCK_SIZE, FILE_TYPE, HBIN_ALIGNMENT, KEY_FLAG, MAX_KEY_DEPTH, NO_CELL, regTypeName } from './constants.js';
import { type KeyNodeRecord, parseKeyNode } from './key-node.js';
import { namesEqual } from './names.js';
import { parseSecurity } from './security.js';
import { readSubkeyList } from './subkey-list.js';
import { decodeRegString, decodeValueData, parseValueKey, type RegistryData, readValueData, type ValueKeyRecord } from './value.js';

const hex = (n: number) => `0x${n.toString(16)}`;

export class Hive {
  readonly dirty: boolean;
  private rootKey: RegistryKey | undefined;

  constructor(
    readonly name: string,
    readonly header: BaseBlock,
    readonly cells: HiveCells,
  ) {
    this.dirty = isDirty(header);
  }

  /** The root key; parsed on first use. */
  get root(): RegistryKey {
    this.rootKey ??= RegistryKey.load(this, this.header.rootCellOffset, undefined);
    return this.rootKey;
  }

  /** The key at a backslash-separated path below the root, or undefined. */
  key(path: string): RegistryKey | undefined {
    return this.root.open(path);
  }
}

export class RegistryKey {
  /** 0 for the root. */
  readonly depth: number;

  private constructor(
    readonly hive: Hive,
    readonly record: KeyNodeRecord,
    readonly parent: RegistryKey | undefined,
  ) {
    this.depth = parent ? parent.depth + 1 : 0;
  }

  /** Parses the nk at `offset`, refusing cycles (a key that is its own ancestor) and trees
   *  deeper than Windows allows, so recursive callers always terminate. */
  static load(hive: Hive, offset: number, parent: RegistryKey | undefined): RegistryKey {
    for (let up = parent; up; up = up.parent) {
      if (up.record.offset === offset) {
        throw new FormatError('DF_HIVE_KEY_CYCLE', `${hive.name}: key ${parent?.path || '(root)'} lists its ancestor at ${hex(offset)} as a subkey; the hive is corrupt`, {
          offset,
        });
      }
    }
    if (parent && parent.depth + 1 > MAX_KEY_DEPTH) {
      throw new FormatError('DF_HIVE_TOO_DEEP', `${hive.name}: keys are nested more than ${MAX_KEY_DEPTH} levels deep below ${parent.path}; the hive is corrupt`, { offset });
    }
    const what = parent ? `a subkey of ${parent.path || '(root)'}` : 'the root key';
    const record = parseKeyNode(hive.cells.cell(offset, what), offset, hive.name);
    return new RegistryKey(hive, record, parent);
  }

  get name(): string {
    return this.record.name;
  }

  private pathCache: string | undefined;

  /** Backslash-separated path from the root (exclusive); '' for the root itself. Built once per
   *  key (error messages and exports ask for it many times). */
  get path(): string {
    if (this.pathCache === undefined) {
      if (!this.parent) this.pathCache = '';
      else {
        const above = this.parent.path;
        this.pathCache = above ? `${above}\\${this.name}` : this.name;
      }
    }
    return this.pathCache;
  }

  get lastWrittenRaw(): bigint {
    return this.record.lastWrittenRaw;
  }

  /** ISO 8601 UTC, or null when the FILETIME is 0 or out of range. */
  get lastWritten(): string | null {
    return filetimeToIso(this.record.lastWrittenRaw);
  }

  get flags(): number {
    return this.record.flags;
  }

  get subkeyCount(): number {
    return this.record.subkeyCount;
  }

  get valueCount(): number {
    return this.record.valueCount;
  }

  /** Child key-node offsets in stored (sorted) order; checks the count against the nk. */
  subkeyOffsets(): number[] {
    const { subkeyCount, subkeyListOffset } = this.record;
    if (subkeyCount === 0) return [];
    const what = `subkey list of ${this.path || '(root)'}`;
    const entries = readSubkeyList(this.hive.cells, subkeyListOffset, what);
    if (entries.length !== subkeyCount) {
      throw new FormatError(
        'DF_HIVE_BAD_SUBKEY_LIST',
        `${this.hive.name}: key ${this.path || '(root)'} says it has ${subkeyCount} subkeys but its list has ${entries.length}; the hive is corrupt`,
        { offset: this.record.offset, subkeyCount, listed: entries.length },
      );
    }
    const offsets = entries.map((e) => e.keyOffset);
    if (new Set(offsets).size !== offsets.length) {
      throw new FormatError('DF_HIVE_BAD_SUBKEY_LIST', `${this.hive.name}: subkey list of ${this.path || '(root)'} names the same key twice; the hive is corrupt`, {
        offset: this.record.offset,
      });
    }
    return offsets;
  }

  subkeys(): RegistryKey[] {
    return this.subkeyOffsets().map((offset) => RegistryKey.load(this.hive, offset, this));
  }

  /** The direct child called `name` (case-insensitive, as Windows compares), or undefined. */
  subkey(name: string): RegistryKey | undefined {
    for (const offset of this.subkeyOffsets()) {
      const child = RegistryKey.load(this.hive, offset, this);
      if (namesEqual(child.name, name)) return child;
    }
    return undefined;
  }

  /** Follows a relative path like 'Control\\Session Manager'; empty segments are ignored. */
  open(path: string): RegistryKey | undefined {
    let key: RegistryKey | undefined = this;
    for (const part of path.split('\\')) {
      if (part === '') continue;
      key = key.subkey(part);
      if (!key) return undefined;
    }
    return key;
  }

  /** Value-cell offsets from the values list. */
  valueOffsets(): number[] {
    const { valueCount, valueListOffset } = this.record;
    if (valueCount === 0) return [];
    const what = `value list of ${this.path || '(root)'}`;
    const list = this.hive.cells.cell(valueListOffset, what);
    if (valueCount * 4 > list.length) {
      throw new FormatError(
        'DF_HIVE_BAD_VALUE_LIST',
        `${this.hive.name}: key ${this.path || '(root)'} says it has ${valueCount} values but its value list holds ${list.length >> 2}; the hive is corrupt`,
        { offset: this.record.offset, valueCount },
      );
    }
    const offsets: number[] = [];
    for (let i = 0; i < valueCount; i++) offsets.push(u32le(list, i * 4));
    return offsets;
  }

  values(): RegistryValue[] {
    return this.valueOffsets().map((offset) => this.loadValue(offset));
  }

  /** The value called `name` ('' = the default value), case-insensitive, or undefined. */
  value(name: string): RegistryValue | undefined {
    for (const offset of this.valueOffsets()) {
      const value = this.loadValue(offset);
      if (namesEqual(value.name, name)) return value;
    }
    return undefined;
  }

  private loadValue(offset: number): RegistryValue {
    const record = parseValueKey(this.hive.cells.cell(offset, `a value of ${this.path || '(root)'}`), offset, this.hive.name);
    return new RegistryValue(this, record);
  }

  /** The class name (a UTF-16LE string some keys carry, e.g. LSA secrets), or null. */
  get className(): string | null {
    const { classOffset, classLength } = this.record;
    if (classOffset === NO_CELL || classLength === 0) return null;
    const cell = this.hive.cells.cell(classOffset, `class name of ${this.path || '(root)'}`);
    if (classLength > cell.length) {
      throw new FormatError(
        'DF_HIVE_BAD_KEY',
        `${this.hive.name}: class name of ${this.path || '(root)'} is ${classLength} bytes but its cell holds ${cell.length}; the hive is corrupt`,
        { offset: classOffset },
      );
    }
    return decodeRegString(cell.subarray(0, classLength));
  }

  /** Self-relative security descriptor bytes from the key's sk record, or null if it has none. */
  get securityDescriptor(): Uint8Array | null {
    const { securityOffset } = this.record;
    if (securityOffset === NO_CELL) return null;
    const cell = this.hive.cells.cell(securityOffset, `security record of ${this.path || '(root)'}`);
    return parseSecurity(cell, securityOffset, this.hive.name).descriptor;
  }

  get isRoot(): boolean {
    return (this.record.flags & KEY_FLAG.hiveEntry) !== 0;
  }
}

export class RegistryValue {
  constructor(
    readonly key: RegistryKey,
    readonly record: ValueKeyRecord,
  ) {}

  /** '' for the default value. */
  get name(): string {
    return this.record.name;
  }

  get type(): number {
    return this.record.type;
  }

  get typeName(): string {
    return regTypeName(this.record.type);
  }

  /** Declared data size in bytes. */
  get size(): number {
    return this.record.dataSize;
  }

  /** The data bytes as stored; throws FormatError if the data cells are damaged. */
  get raw(): Uint8Array {
    const where = this.key.path || '(root)';
    return readValueData(this.key.hive.cells, this.record, `value "${this.name}" of ${where}`);
  }

  /** Data decoded by type (see RegistryData). */
  get data(): RegistryData {
    return decodeValueData(this.record.type, this.raw);
  }
}

/** Opens a hive held in memory. Checks the base block and hive-bin layout; keys and values
 *  are parsed only when asked for. */
export function openHive(input: Uint8Array, name = 'hive'): Hive {
  const bytes = plainBytes(input);
  const header = parseBaseBlock(bytes, name);
  if (header.fileType !== FILE_TYPE.primary) {
    throw new FormatError('DF_HIVE_IS_LOG', `${name} is a transaction log (file type ${header.fileType}), not a hive: open the primary hive file instead`, {
      name,
      fileType: header.fileType,
    });
  }
  if (header.majorVersion !== 1) {
    throw new FormatError('DF_HIVE_UNSUPPORTED_VERSION', `${name}: regf version ${header.majorVersion}.${header.minorVersion} is not supported (only 1.x)`, {
      name,
      major: header.majorVersion,
      minor: header.minorVersion,
    });
  }
  if (bytes.length < BASE_BLOCK_SIZE) {
    throw new FormatError('DF_HIVE_TRUNCATED', `${name}: only ${bytes.length} bytes, less than one base block; the file is truncated`, { name, size: bytes.length });
  }
  const dataSize = header.hiveBinsDataSize;
  if (dataSize === 0 || dataSize % HBIN_ALIGNMENT !== 0) {
    throw new FormatError('DF_HIVE_BAD_HEADER', `${name}: hive-bins data size ${hex(dataSize)} is not a positive multiple of 4096; the header is corrupt`, { name, dataSize });
  }
  if (BASE_BLOCK_SIZE + dataSize > bytes.length) {
    throw new FormatError('DF_HIVE_TRUNCATED', `${name}: header declares ${BASE_BLOCK_SIZE + dataSize} bytes but the file has ${bytes.length}; the file is truncated`, {
      name,
      declared: BASE_BLOCK_SIZE + dataSize,
      size: bytes.length,
    });
  }
  return new Hive(name, header, new HiveCells(bytes, dataSize, name));
}

/** Reads a hive file fully into memory and opens it. */
export async function readHiveFile(path: string): Promise<Hive> {
  const bytes = await readFile(path);
  return openHive(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), path);
}
