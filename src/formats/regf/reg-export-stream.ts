// Exports a hive straight to the bytes of a version 5 .reg file: UTF-16LE as regedit writes it
// (what `reg export -o` gives by default), or UTF-8. It walks the cells by offset and copies names and string
// data from the hive into the output, so no key, value, entry or line object is made: on a
// 125 MiB hive the general path (exportHiveEntries → streamRegFile) spent most of its time making
// and encoding those, and ran at a fifth of issue 3's target.
// The bytes are exactly the general path's (a property test and the corpus hold it to that), and
// it makes the reader's structural checks, raising them through the reader's own functions so
// the errors are the reader's. REGEDIT4 output takes the general path.
import { FormatError, InputError } from '../../errors.js';
import { isBigDataCell, readBigData } from './big-data.js';
import type { HiveCells } from './cells.js';
import { BASE_BLOCK_SIZE, HBIN_HEADER_SIZE, KEY_FLAG, MAX_KEY_DEPTH, REG_TYPE, VALUE_DATA_INLINE, VALUE_FLAG_COMPRESSED_NAME } from './constants.js';
import type { Hive } from './hive.js';
import { KEY_NODE_FIXED_SIZE, parseKeyNode } from './key-node.js';
import type { ExportHiveOptions } from './reg-export.js';
import { CONTINUATION_INDENT, HEX_LINE_WRAP, REG_HEADER_V5 } from './reg-file.js';
import { readSubkeyList } from './subkey-list.js';
import { parseValueKey, readValueData, VALUE_KEY_FIXED_SIZE } from './value.js';
import { SeenCells } from './walk.js';

const CHUNK_UNITS = 1 << 17; // 256 KiB of output per write
const CR = 0x0d;
const LF = 0x0a;
const BACKSLASH = 0x5c;
const QUOTE = 0x22;
const HEX_DIGITS = Uint16Array.from('0123456789abcdef', (c) => c.charCodeAt(0));
// (By index: iterating a string goes by code point and would drop the low half of a pair.)
const units = (text: string) => Uint16Array.from({ length: text.length }, (_, i) => text.charCodeAt(i));
const DWORD_HEAD = units('dword:');
const HEX_HEAD = units('hex:');
const WRAP = units(`\\\r\n${CONTINUATION_INDENT}`);

export interface StreamHiveExportOptions extends ExportHiveOptions {
  /** 'utf16le' (default): regedit's form, with its byte-order mark. 'utf8': the same text in
   *  UTF-8 without one, as streamRegFile writes it (an unpaired surrogate becomes U+FFFD). */
  encoding?: 'utf16le' | 'utf8';
}

/** Streams the export of `hive` (or of options.keyPath and everything below it) to `write`,
 *  chunk by chunk and in order; each chunk holds whole lines. A chunk is made while the previous
 *  one's write is under way, and the next write starts when it has ended; a chunk's bytes are the
 *  callee's only until its write's promise settles (two buffers take turns: a new one per
 *  megabyte was GC work). */
export async function streamHiveExport(hive: Hive, write: (chunk: Uint8Array) => Promise<void>, options: StreamHiveExportOptions = {}): Promise<void> {
  const exporter = new Utf16Export(hive, options);
  const utf8 = options.encoding === 'utf8';
  let first = true;
  let writing: Promise<void> = Promise.resolve();
  try {
    for (;;) {
      const done = exporter.fill();
      let chunk = exporter.take();
      // UTF-8 through Node's native transcoders; a chunk never splits a surrogate pair, since
      // it holds whole lines.
      if (utf8) chunk = utf8Of(chunk, first ? 2 : 0);
      first = false;
      await writing;
      writing = write(chunk);
      if (done) break;
    }
    await writing;
  } catch (error) {
    await writing.catch(() => undefined); // the first failure is the one to report
    throw error;
  }
}

/** The UTF-16LE bytes of `chunk` from byte `from` as UTF-8, in pieces of at most 16 MiB (a
 *  chunk made for a huge value could pass V8's longest string), never splitting a pair. */
export function utf8Of(chunk: Uint8Array, from: number): Uint8Array {
  const bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
  const pieces: Buffer[] = [];
  for (let at = from; at < bytes.length; ) {
    let end = Math.min(bytes.length, at + (1 << 24));
    if (end < bytes.length && bytes[end - 1] >= 0xd8 && bytes[end - 1] <= 0xdb) end -= 2; // a high surrogate waits for its pair
    pieces.push(Buffer.from(bytes.toString('utf16le', at, end), 'utf8'));
    at = end;
  }
  return new Uint8Array(pieces.length === 1 ? pieces[0] : Buffer.concat(pieces));
}

const chunkOf = (size: number) => new Uint16Array(Buffer.allocUnsafeSlow(size * 2).buffer, 0, size);

/** Runs the reader's own function on what the export found damaged, so the error is the
 *  reader's; it must throw (the two disagreeing would be a bug, reported as such). */
function readerRefuses(readerCall: () => unknown): never {
  readerCall();
  throw new Error('internal error: the fast .reg export refused a record the hive reader accepts');
}

function unwritablePath(path: string): never {
  throw new InputError('DF_REG_UNWRITABLE', `key path ${JSON.stringify(path)} cannot be written to a .reg file: it is empty or contains a line break`, { path });
}

/** The export's state between chunks: the walk's stack, the key being written and the output
 *  chunk. fill() keeps the hot state in locals and stores it back when the chunk is full. */
class Utf16Export {
  private readonly cells: HiveCells;
  private readonly bytes: Uint8Array;
  /** The hive as 16- and 32-bit units: every field the export reads is aligned to its size
   *  (cells start 8-aligned, payloads 4 bytes in), and names and strings start on even bytes. */
  private readonly hive16: Uint16Array;
  private readonly hive32: Uint32Array;
  /** Bin bounds of each 4 KiB page (bins are 4 KiB-aligned), so a cell is found without a
   *  search; 0 for pages the reader's bin walk did not reach, where cell() refuses every cell. */
  private readonly binStart: Int32Array;
  private readonly binEnd: Int32Array;
  /** Payload end of the cell the last find() found. */
  private cellEnd = 0;

  private readonly startDepth: number;
  /** What the written paths start with: "\\" without a prefix, "PREFIX\\" with one. */
  private readonly head: number;
  /** Whether there is a prefix (the path '' is then written as the prefix alone). */
  private readonly prefixed: boolean;
  /** The path of the key being written: head, then its path below the hive root, built as
   *  RegistryKey.path builds it (a key below a key whose path is '' adds no separator). */
  private path: Uint16Array;
  private readonly pathEnd = new Int32Array(MAX_KEY_DEPTH + 2);
  /** Whether the key at each depth has the path '' below the hive root (the root, or a chain of
   *  keys with empty names under it). */
  private readonly pathEmpty = new Uint8Array(MAX_KEY_DEPTH + 2);

  private readonly seen: SeenCells;
  private readonly stackOffset: number[];
  private readonly stackDepth: number[];
  private readonly children: number[] = [];

  // The key whose values are being written (nk < 0: none).
  private nk = -1;
  private depth = 0;
  private valueList = 0;
  private valueCount = 0;
  private valueIndex = 0;

  private readonly chunks = [chunkOf(CHUNK_UNITS), chunkOf(CHUNK_UNITS)] as const;
  private out: Uint16Array = this.chunks[0];
  private pos = 0;
  /** Units the next record needs when it did not fit the chunk. */
  private need = 0;

  constructor(
    private readonly hive: Hive,
    options: ExportHiveOptions,
  ) {
    const keyPath = options.keyPath ?? '';
    const start = keyPath === '' ? hive.root : hive.key(keyPath);
    if (!start) throw new InputError('DF_REG_KEY_NOT_FOUND', `${hive.name} has no key ${keyPath}: check the path (it is relative to the hive root)`, { keyPath });
    // exportHiveEntries's names: "\\" + path without a prefix; with one, the prefix for the
    // path '' and "PREFIX\\" + path otherwise.
    const prefix = (options.prefix ?? '').replace(/\\+$/, '');
    const head = prefix === '' ? '\\' : `${prefix}\\`;
    if (/[\r\n]/.test(head + start.path)) unwritablePath(start.path === '' && prefix !== '' ? prefix : head + start.path);
    this.head = head.length;
    this.prefixed = prefix !== '';
    this.startDepth = start.depth;
    this.path = new Uint16Array(Math.max(4096, 2 * (head.length + start.path.length)));
    this.path.set(units(head + start.path));
    this.pathEnd[0] = head.length + start.path.length;
    this.pathEmpty[0] = start.path === '' ? 1 : 0;

    this.cells = hive.cells;
    let bytes = hive.cells.bytes;
    if (bytes.byteOffset % 4 !== 0) bytes = bytes.slice();
    this.bytes = bytes;
    this.hive16 = new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.length >>> 1);
    this.hive32 = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length >>> 2);
    const pages = Math.ceil(this.cells.dataSize / 4096);
    this.binStart = new Int32Array(pages);
    this.binEnd = new Int32Array(pages);
    for (const bin of this.cells.bins) {
      if (bin.offset + bin.size > this.cells.dataSize) continue;
      for (let p = bin.offset >>> 12; p < (bin.offset + bin.size) >>> 12; p++) {
        this.binStart[p] = bin.offset;
        this.binEnd[p] = bin.offset + bin.size;
      }
    }

    // Key nodes seen, as walkKeys keeps them.
    this.seen = new SeenCells(this.cells.dataSize);
    this.seen.seenBefore(start.record.offset);
    this.stackOffset = [start.record.offset];
    this.stackDepth = [0];

    this.out[this.pos++] = 0xfeff; // the byte-order mark regedit writes
    this.out.set(units(REG_HEADER_V5), this.pos);
    this.pos += REG_HEADER_V5.length;
  }

  /** The filled part of the chunk as bytes; fill() goes on in the other chunk, or in a buffer
   *  of its own for a record bigger than a chunk. */
  take(): Uint8Array {
    const full = new Uint8Array(this.out.buffer, this.out.byteOffset, this.pos * 2);
    // Not the buffer just handed out: the other chunk, whose write has ended by the time fill()
    // runs again (the caller awaits it first). A record bigger than a chunk gets a buffer of its
    // own, and the two chunks keep taking turns after it.
    this.out = this.need > CHUNK_UNITS ? chunkOf(this.need) : this.out === this.chunks[0] ? this.chunks[1] : this.chunks[0];
    this.pos = 0;
    this.need = 0;
    return full;
  }

  /** Writes records until the chunk is full (false) or the export has ended (true). */
  fill(): boolean {
    const out = this.out;
    let pos = this.pos;
    const hive32 = this.hive32;
    const hive16 = this.hive16;
    for (;;) {
      if (this.nk < 0) {
        if (this.stackOffset.length === 0) {
          // regedit ends the file with a blank line after the last key's values.
          if (pos + 4 > out.length) return this.full(pos, 4);
          out[pos++] = CR;
          out[pos++] = LF;
          out[pos++] = CR;
          out[pos++] = LF;
          this.pos = pos;
          return true;
        }
        // The next key: its line, "\r\n\r\n[path]" (regedit puts a blank line before every key).
        const offset = this.stackOffset[this.stackOffset.length - 1];
        const depth = this.stackDepth[this.stackDepth.length - 1];
        const nk = this.keyNode(offset, depth);
        const end = depth === 0 ? this.pathEnd[0] : this.appendName(nk, offset, depth);
        // The path '' under a prefix is the prefix alone, without the separator.
        const length = this.prefixed && this.pathEmpty[depth] === 1 ? this.head - 1 : end;
        if (pos + length + 6 > out.length) return this.full(pos, length + 6);
        this.stackOffset.pop();
        this.stackDepth.pop();
        out[pos++] = CR;
        out[pos++] = LF;
        out[pos++] = CR;
        out[pos++] = LF;
        out[pos++] = 0x5b; // [
        out.set(this.path.subarray(0, length), pos);
        pos += length;
        out[pos++] = 0x5d; // ]
        this.pathEnd[depth] = end;
        this.nk = nk;
        this.depth = depth;
        this.valueIndex = 0;
        this.valueCount = hive32[(nk + 36) >>> 2];
        if (this.valueCount > 0) {
          const list = this.find(hive32[(nk + 40) >>> 2], 'value list of');
          if (this.valueCount * 4 > this.cellEnd - list) {
            throw new FormatError(
              'DF_HIVE_BAD_VALUE_LIST',
              `${this.hive.name}: key ${this.keyText()} says it has ${this.valueCount} values but its value list holds ${(this.cellEnd - list) >> 2}; the hive is corrupt`,
              { offset, valueCount: this.valueCount },
            );
          }
          this.valueList = list;
        }
      }

      // The key's values, in stored order.
      while (this.valueIndex < this.valueCount) {
        const vkOffset = hive32[(this.valueList + this.valueIndex * 4) >>> 2];
        const vk = this.find(vkOffset, 'a value of');
        const vkEnd = this.cellEnd;
        const nameLength = hive16[(vk + 2) >>> 1];
        if (vkEnd - vk < VALUE_KEY_FIXED_SIZE || hive16[vk >>> 1] !== 0x6b76 || VALUE_KEY_FIXED_SIZE + nameLength > vkEnd - vk) {
          readerRefuses(() => parseValueKey(this.bytes.subarray(vk, vkEnd), vkOffset, this.hive.name));
        }
        // The data (value.ts readValueData's rules): inline, one cell, or db segments.
        const sizeField = hive32[(vk + 4) >>> 2];
        const length = sizeField & 0x7fffffff;
        let data = this.bytes;
        let data16 = hive16;
        let at = vk + 8;
        if (sizeField >= VALUE_DATA_INLINE) {
          if (length > 4) this.dataRefused(vk, vkEnd, vkOffset);
        } else if (length > 0) {
          if (length > this.cells.dataSize) this.dataRefused(vk, vkEnd, vkOffset);
          const dataOffset = hive32[(vk + 8) >>> 2];
          at = this.find(dataOffset, 'data of a value of');
          if (length > this.cellEnd - at) {
            const cell = this.bytes.subarray(at, this.cellEnd);
            if (!isBigDataCell(cell)) this.dataRefused(vk, vkEnd, vkOffset);
            data = readBigData(this.cells, cell, dataOffset, length, `data of a value of ${this.keyText()}`);
            data16 = new Uint16Array(data.buffer, data.byteOffset, data.length >>> 1);
            at = 0;
          }
        }

        // "\r\n" + name + "=" + data; the bound covers every form (hex is the widest: 3 units a
        // byte plus 5 a wrapped line, which holds at least 25 bytes after the first).
        const need = 2 * nameLength + 4 * length + 72;
        if (pos + need > out.length) return this.full(pos, need);
        out[pos++] = CR;
        out[pos++] = LF;
        const lineStart = pos;
        const latin1 = (hive16[(vk + 16) >>> 1] & VALUE_FLAG_COMPRESSED_NAME) !== 0;
        if (nameLength === 0 || (nameLength === 1 && !latin1)) {
          out[pos++] = 0x40; // @, the default value
        } else {
          out[pos++] = QUOTE;
          pos = copyName(out, pos, this.bytes, hive16, vk + VALUE_KEY_FIXED_SIZE, nameLength, latin1, true);
          if (pos < 0) {
            const name = parseValueKey(this.bytes.subarray(vk, vkEnd), vkOffset, this.hive.name).name;
            const keyPath = this.pathText(this.pathEnd[this.depth]);
            throw new InputError('DF_REG_UNWRITABLE', `value name ${JSON.stringify(name)} under ${keyPath} contains a line break, which a .reg file cannot hold`, {
              keyPath,
              name,
            });
          }
          out[pos++] = QUOTE;
        }
        out[pos++] = 0x3d; // =
        const type = hive32[(vk + 12) >>> 2];
        const escapes = type === REG_TYPE.REG_SZ ? cleanStringEscapes(data16, at, length) : -1;
        if (escapes >= 0) {
          // "text", with \ and " escaped; copied whole when it has neither.
          const first = at >>> 1;
          const last = first + (length >>> 1) - 1;
          out[pos++] = QUOTE;
          if (escapes === 0) {
            out.set(data16.subarray(first, last), pos);
            pos += last - first;
          } else {
            for (let i = first; i < last; i++) {
              const c = data16[i];
              if (c === QUOTE || c === BACKSLASH) out[pos++] = BACKSLASH;
              out[pos++] = c;
            }
          }
          out[pos++] = QUOTE;
        } else if (type === REG_TYPE.REG_DWORD && length === 4) {
          out.set(DWORD_HEAD, pos);
          pos += DWORD_HEAD.length;
          const n = (data[at] | (data[at + 1] << 8) | (data[at + 2] << 16) | (data[at + 3] << 24)) >>> 0;
          for (let shift = 28; shift >= 0; shift -= 4) out[pos++] = HEX_DIGITS[(n >>> shift) & 15];
        } else {
          const head = type === REG_TYPE.REG_BINARY ? HEX_HEAD : units(`hex(${type.toString(16)}):`);
          out.set(head, pos);
          pos += head.length;
          pos = writeHexBytes(out, pos, data, at, length, pos - lineStart);
        }
        this.valueIndex++;
      }

      // Its subkeys, pushed so they come off the stack in stored order.
      this.pushChildren();
      this.nk = -1;
    }
  }

  private full(pos: number, need: number): false {
    this.pos = pos;
    this.need = need;
    return false;
  }

  /** Payload start (file offset) of the allocated cell at `offset`, with its end in cellEnd;
   *  the reader's cell() checks, and its error when one fails. */
  private find(offset: number, what: string, depth = this.depth): number {
    if ((offset & 7) === 0 && offset < this.cells.dataSize) {
      const page = offset >>> 12;
      const end = this.binEnd[page];
      if (end > 0 && offset >= this.binStart[page] + HBIN_HEADER_SIZE) {
        const file = BASE_BLOCK_SIZE + offset;
        const size = -(this.hive32[file >>> 2] | 0);
        if (size >= 8 && offset + size <= end) {
          this.cellEnd = file + size;
          return file + 4;
        }
      }
    }
    return readerRefuses(() => this.cells.cell(offset, `${what} ${this.keyText(depth)}`));
  }

  /** The nk at `offset` (depth below the start key), checked as parseKeyNode and
   *  RegistryKey.load check it; returns its payload's file offset. */
  private keyNode(offset: number, depth: number): number {
    if (this.startDepth + depth > MAX_KEY_DEPTH) {
      throw new FormatError('DF_HIVE_TOO_DEEP', `${this.hive.name}: keys are nested more than ${MAX_KEY_DEPTH} levels deep below ${this.keyText(depth - 1)}; the hive is corrupt`, {
        offset,
      });
    }
    const nk = this.find(offset, 'a subkey of', depth - 1);
    const nkEnd = this.cellEnd;
    const nameLength = this.hive16[(nk + 72) >>> 1];
    if (nkEnd - nk < KEY_NODE_FIXED_SIZE || this.hive16[nk >>> 1] !== 0x6b6e || KEY_NODE_FIXED_SIZE + nameLength > nkEnd - nk) {
      readerRefuses(() => parseKeyNode(this.bytes.subarray(nk, nkEnd), offset, this.hive.name));
    }
    return nk;
  }

  /** Puts the key's name after its parent's path; returns the path's new length. */
  private appendName(nk: number, offset: number, depth: number): number {
    const nameLength = this.hive16[(nk + 72) >>> 1];
    let from = this.pathEnd[depth - 1];
    if (this.path.length < from + 1 + nameLength) {
      const grown = new Uint16Array(Math.max(this.path.length * 2, from + 1 + nameLength));
      grown.set(this.path);
      this.path = grown;
    }
    const parentEmpty = this.pathEmpty[depth - 1] === 1;
    if (!parentEmpty) this.path[from++] = BACKSLASH;
    const latin1 = (this.hive16[(nk + 2) >>> 1] & KEY_FLAG.compressedName) !== 0;
    const end = copyName(this.path, from, this.bytes, this.hive16, nk + KEY_NODE_FIXED_SIZE, nameLength, latin1, false);
    if (end < 0) unwritablePath(`${this.pathText(from)}${parseKeyNode(this.bytes.subarray(nk, this.cellEnd), offset, this.hive.name).name}`);
    this.pathEmpty[depth] = parentEmpty && end === from ? 1 : 0;
    return end;
  }

  private pushChildren(): void {
    const nk = this.nk;
    const subkeyCount = this.hive32[(nk + 20) >>> 2];
    if (subkeyCount === 0) return;
    const children = this.children;
    children.length = 0;
    const listOffset = this.hive32[(nk + 28) >>> 2];
    this.readSubkeys(listOffset, this.find(listOffset, 'subkey list of'), this.cellEnd, true, undefined);
    if (children.length !== subkeyCount) {
      throw new FormatError(
        'DF_HIVE_BAD_SUBKEY_LIST',
        `${this.hive.name}: key ${this.keyText()} says it has ${subkeyCount} subkeys but its list has ${children.length}; the hive is corrupt`,
        { offset: nk - 4 - BASE_BLOCK_SIZE, subkeyCount, listed: children.length },
      );
    }
    for (let i = children.length - 1; i >= 0; i--) {
      const child = children[i];
      if (this.seen.seenBefore(child)) {
        if (children.indexOf(child) !== i) {
          throw new FormatError('DF_HIVE_BAD_SUBKEY_LIST', `${this.hive.name}: subkey list of ${this.keyText()} names the same key twice; the hive is corrupt`, {
            offset: nk - 4 - BASE_BLOCK_SIZE,
          });
        }
        throw new FormatError(
          'DF_HIVE_KEY_CYCLE',
          `${this.hive.name}: key node at 0x${child.toString(16)} is reachable from more than one parent (${this.keyText()}); the hive is corrupt`,
          { offset: child },
        );
      }
      this.stackOffset.push(child);
      this.stackDepth.push(this.depth + 1);
    }
  }

  /** Appends the child offsets of a subkey list cell (li/lf/lh, or an ri of them) to children,
   *  with subkey-list.ts's checks; a damaged list goes to readSubkeyList for the reader's error. */
  private readSubkeys(listOffset: number, start: number, end: number, allowRoot: boolean, seenLeaves: Set<number> | undefined): void {
    const bytes = this.bytes;
    const refuse = (): never => readerRefuses(() => readSubkeyList(this.cells, listOffset, `subkey list of ${this.keyText()}`));
    if (end - start < 4) refuse();
    const a = bytes[start];
    const b = bytes[start + 1];
    const count = this.hive16[(start + 2) >>> 1];
    // lf and lh entries are 8 bytes (offset, hint), li's 4; an ri (negative) lists leaves.
    let stride = 0;
    if (a === 0x6c && (b === 0x66 || b === 0x68)) stride = 8;
    else if (a === 0x6c && b === 0x69) stride = 4;
    else if (a === 0x72 && b === 0x69) stride = -4;
    else refuse();
    if (4 + count * Math.abs(stride) > end - start) refuse();
    const words = this.hive32;
    if (stride > 0) {
      const step = stride >>> 2;
      for (let i = 0, at = (start + 4) >>> 2; i < count; i++, at += step) this.children.push(words[at]);
      return;
    }
    // An ri points only to leaves (Suhanov §Index root), each listed once.
    if (!allowRoot) refuse();
    const leaves = seenLeaves ?? new Set([listOffset]);
    for (let i = 0; i < count; i++) {
      const part = words[((start + 4) >>> 2) + i];
      if (leaves.has(part)) refuse();
      leaves.add(part);
      const partStart = this.find(part, 'subkey list of');
      this.readSubkeys(listOffset, partStart, this.cellEnd, false, leaves);
    }
  }

  private dataRefused(vk: number, vkEnd: number, vkOffset: number): never {
    return readerRefuses(() => readValueData(this.cells, parseValueKey(this.bytes.subarray(vk, vkEnd), vkOffset, this.hive.name), `a value of ${this.keyText()}`));
  }

  // Text for error messages only.
  private pathText(end: number): string {
    let text = '';
    for (let i = 0; i < end; i++) text += String.fromCharCode(this.path[i]);
    return text;
  }

  /** The path of the key at `depth` (default: the one being written) relative to the hive root,
   *  as the reader's messages give it. */
  private keyText(depth = this.depth): string {
    return this.pathText(this.pathEnd[Math.max(depth, 0)]).slice(this.head) || '(root)';
  }
}

/** Copies the name at byte `at` (`length` bytes, Latin-1 or UTF-16LE) into `dest` from `to`,
 *  with \ and " escaped when `quoted`; returns the new end, or −1 if the name holds a line break. */
function copyName(dest: Uint16Array, to: number, bytes: Uint8Array, bytes16: Uint16Array, at: number, length: number, latin1: boolean, quoted: boolean): number {
  if (latin1) {
    for (let i = at; i < at + length; i++) {
      const c = bytes[i];
      if (c < 0x23 && (c === CR || c === LF)) return -1;
      if (quoted && (c === QUOTE || c === BACKSLASH)) dest[to++] = BACKSLASH;
      dest[to++] = c;
    }
    return to;
  }
  // An odd trailing byte cannot be part of a UTF-16 unit; the reader drops it too.
  const first = at >>> 1;
  const last = first + (length >>> 1);
  for (let i = first; i < last; i++) {
    const c = bytes16[i];
    if (c < 0x23 && (c === CR || c === LF)) return -1;
    if (quoted && (c === QUOTE || c === BACKSLASH)) dest[to++] = BACKSLASH;
    dest[to++] = c;
  }
  return to;
}

/** For REG_SZ data of `length` bytes at byte `at`: −1 unless the bytes are exactly a text plus
 *  one NUL that survives a .reg file — no NUL inside, no line break, no unpaired surrogate (then
 *  the value is written as hex(1), as reg-file.ts's cleanString decides); otherwise how many
 *  units need a backslash before them. */
function cleanStringEscapes(data16: Uint16Array, at: number, length: number): number {
  if (length < 2 || length % 2 !== 0) return -1;
  const first = at >>> 1;
  const last = first + (length >>> 1) - 1;
  if (data16[last] !== 0) return -1;
  let escapes = 0;
  for (let i = first; i < last; i++) {
    const c = data16[i];
    if (c < 0x23) {
      if (c === 0 || c === CR || c === LF) return -1;
      if (c === QUOTE) escapes++;
    } else if (c === BACKSLASH) escapes++;
    else if (c >= 0xd800 && c <= 0xdfff) {
      // A high surrogate needs a low one right after it, inside the text; a low one alone is unpaired.
      if (c > 0xdbff || i + 1 >= last || data16[i + 1] < 0xdc00 || data16[i + 1] > 0xdfff) return -1;
      i++;
    }
  }
  return escapes;
}

/** regproc.c's wrapping: after each "xx," the column grows by 3; once it reaches 77 the line ends
 *  with "\" and the next starts with two spaces. The last byte has no comma. */
function writeHexBytes(out: Uint16Array, pos: number, data: Uint8Array, at: number, length: number, startColumn: number): number {
  let column = startColumn;
  for (let i = 0; i < length; i++) {
    const b = data[at + i];
    out[pos++] = HEX_DIGITS[b >>> 4];
    out[pos++] = HEX_DIGITS[b & 15];
    if (i === length - 1) break;
    out[pos++] = 0x2c; // ,
    column += 3;
    if (column >= HEX_LINE_WRAP) {
      out.set(WRAP, pos);
      pos += WRAP.length;
      column = CONTINUATION_INDENT.length;
    }
  }
  return pos;
}
