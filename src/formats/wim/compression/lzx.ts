// LZX decompression as WIM uses it: every chunk is an independent LZX stream whose window is the
// WIM chunk size (32 KiB … 2 MiB), with no E8 header bit and no reset intervals. Written from
// [MS-PATCH] "LZX DELTA Compression and Decompression" §2 (block structure, trees, offsets) and
// the original LZX/CAB description, with WIM's differences as wimlib documents them
// (lzx_constants.h, lzx_common.c comments): the E8 filter always runs with a translation size of
// 12,000,000, and the block size is a 1-bit "default" flag, else 16 bits (24 for windows ≥ 64 KiB).
import { FormatError } from '../../../errors.js';
import type { ChunkDecompressor } from './types.js';

const BAD_CHUNK = 'DF_WIM_BAD_CHUNK';

// [MS-PATCH] §2.2 constants.
const NUM_CHARS = 256;
const MIN_MATCH = 2;
const NUM_PRIMARY_LENS = 7;
const LENGTH_SYMS = 249; // NUM_SECONDARY_LENGTHS
const PRETREE_SYMS = 20;
const ALIGNED_SYMS = 8;
const MAX_CODE_LEN = 16;
const BLOCKTYPE_VERBATIM = 1;
const BLOCKTYPE_ALIGNED = 2;
const BLOCKTYPE_UNCOMPRESSED = 3;
const DEFAULT_BLOCK_SIZE = 32768;
/** WIM's default chunk size, the window when none is given. */
const DEFAULT_WINDOW = 32768;
/** WIM's fixed E8 translation size (wimlib lzx_constants.h LZX_WIM_MAGIC_FILESIZE). */
const E8_TRANSLATION_SIZE = 12_000_000;
const MIN_WINDOW_ORDER = 15;
const MAX_WINDOW_ORDER = 21;
/** Position slots per window order 15…21 ([MS-PATCH] §2.2, table of window sizes). */
const POSITION_SLOTS = [30, 32, 34, 36, 38, 42, 50];
const MAX_MAIN_SYMS = NUM_CHARS + 8 * 50;
/** Room past the end of a length array for a run that overshoots (at most 20 + 31 − 1). */
const LENS_SLACK = 64;

// Footer (extra) bits and base of each position slot ([MS-PATCH] §2.2 / CAB LZX): slots 0–3
// have none, then 1, 1, 2, 2, … capped at 17 from slot 36 on.
const EXTRA_BITS = new Uint8Array(50);
const SLOT_BASE = new Uint32Array(51);
for (let s = 0; s < 50; s++) {
  EXTRA_BITS[s] = s < 4 ? 0 : Math.min(17, (s - 2) >> 1);
  SLOT_BASE[s + 1] = SLOT_BASE[s] + (1 << EXTRA_BITS[s]);
}

// Decode table entries (Int32): bits 0–4 = bits to consume, bit 5 = "subtable pointer" (then
// bits 0–4 = subtable index bits and bits 6+ = subtable start), bits 6+ = symbol otherwise.
// An unused slot of an incomplete code has length 31, which the decoders reject.
const SUBTABLE_FLAG = 32;
const INVALID_ENTRY = 31;
const MAIN_TABLE_BITS = 11;
const LENGTH_TABLE_BITS = 9;
const PRETREE_TABLE_BITS = 6;
const ALIGNED_TABLE_BITS = 7;

function badChunk(message: string, details: Record<string, unknown> = {}): FormatError {
  return new FormatError(BAD_CHUNK, `LZX chunk: ${message}; the WIM data is corrupt`, details);
}

/** Table size that fits any code: the primary table plus subtables covering at most the whole
 *  16-bit code space. */
function tableCapacity(tableBits: number): number {
  return (1 << tableBits) + (1 << MAX_CODE_LEN);
}

/** Per-window-size decoder state, reused across chunks: code lengths persist from block to block
 *  within a chunk ([MS-PATCH] §2.3.2 delta coding) and are zeroed at each chunk's start. */
class LzxState {
  readonly windowOrder: number;
  readonly numMainSyms: number;
  readonly mainLens = new Uint8Array(MAX_MAIN_SYMS + LENS_SLACK);
  readonly lengthLens = new Uint8Array(LENGTH_SYMS + LENS_SLACK);
  readonly pretreeLens = new Uint8Array(PRETREE_SYMS);
  readonly alignedLens = new Uint8Array(ALIGNED_SYMS);
  readonly mainTable = new Int32Array(tableCapacity(MAIN_TABLE_BITS));
  readonly lengthTable = new Int32Array(tableCapacity(LENGTH_TABLE_BITS));
  readonly pretreeTable = new Int32Array(tableCapacity(PRETREE_TABLE_BITS));
  readonly alignedTable = new Int32Array(tableCapacity(ALIGNED_TABLE_BITS));
  // Scratch for table building.
  readonly counts = new Int32Array(MAX_CODE_LEN + 1);
  readonly remaining = new Int32Array(MAX_CODE_LEN + 1);
  readonly offsets = new Int32Array(MAX_CODE_LEN + 2);
  readonly sorted = new Uint16Array(MAX_MAIN_SYMS);

  // The bit reader ([MS-PATCH] §2.1: 16-bit little-endian words, bits taken from the most
  // significant end). `buf` holds `left` valid bits at its top; past the input's end it reads
  // zeros, as the reference decoders do (peeking may pass the end; output size bounds the work).
  input: Uint8Array = new Uint8Array(0);
  pos = 0;
  buf = 0;
  left = 0;

  constructor(windowOrder: number) {
    this.windowOrder = windowOrder;
    this.numMainSyms = NUM_CHARS + 8 * POSITION_SLOTS[windowOrder - MIN_WINDOW_ORDER];
  }

  private refill(): void {
    const input = this.input;
    const p = this.pos;
    const word = p + 1 < input.length ? input[p] | (input[p + 1] << 8) : 0;
    this.pos = p + 2;
    this.buf |= word << (16 - this.left);
    this.left += 16;
  }

  /** Reads `n` bits (0…17) as an unsigned number. */
  readBits(n: number): number {
    if (n === 0) return 0;
    while (this.left < n) this.refill();
    const v = this.buf >>> (32 - n);
    this.buf <<= n;
    this.left -= n;
    return v;
  }

  /** Decodes one symbol of a code built by buildTable (pretree and aligned tree; the main and
   *  length trees are decoded inline in decodeBlock for speed). */
  decodeSymbol(table: Int32Array, tableBits: number): number {
    while (this.left < MAX_CODE_LEN) this.refill();
    let e = table[this.buf >>> (32 - tableBits)];
    if (e & SUBTABLE_FLAG) {
      this.buf <<= tableBits;
      this.left -= tableBits;
      e = table[(e >>> 6) + (this.buf >>> (32 - (e & 31)))];
    }
    const n = e & 31;
    if (n > MAX_CODE_LEN) throw badChunk('a Huffman code word is not in the code');
    this.buf <<= n;
    this.left -= n;
    return e >>> 6;
  }

  /** Builds the decode table of a canonical Huffman code ([MS-PATCH] §2.3.2: shorter codes first,
   *  ties by symbol). Over-subscribed codes are rejected; an incomplete code decodes until an
   *  unused code word appears; an empty code decodes symbol 0 from zero bits, as wimlib does. */
  buildTable(lens: Uint8Array, numSyms: number, tableBits: number, table: Int32Array): void {
    const { counts, remaining, offsets, sorted } = this;
    counts.fill(0);
    for (let s = 0; s < numSyms; s++) counts[lens[s]]++;
    const primarySize = 1 << tableBits;
    if (counts[0] === numSyms) {
      table.fill(0, 0, primarySize);
      return;
    }
    let room = 1;
    for (let len = 1; len <= MAX_CODE_LEN; len++) {
      room = room * 2 - counts[len];
      if (room < 0) throw badChunk('a Huffman code is over-subscribed');
    }
    offsets[1] = 0;
    for (let len = 1; len <= MAX_CODE_LEN; len++) offsets[len + 1] = offsets[len] + counts[len];
    for (let s = 0; s < numSyms; s++) {
      const len = lens[s];
      if (len !== 0) sorted[offsets[len]++] = s;
    }
    remaining.set(counts);
    table.fill(INVALID_ENTRY, 0, primarySize);
    let code = 0;
    let index = 0;
    let nextSub = primarySize;
    let prefix = -1;
    let subBase = 0;
    let subBits = 0;
    for (let len = 1; len <= MAX_CODE_LEN; len++) {
      for (let k = counts[len]; k > 0; k--, code++) {
        const sym = sorted[index++];
        if (len <= tableBits) {
          const start = code << (tableBits - len);
          const entry = (sym << 6) | len;
          for (let j = start + (1 << (tableBits - len)) - 1; j >= start; j--) table[j] = entry;
          remaining[len]--;
          continue;
        }
        const drop = len - tableBits;
        const p = code >>> drop;
        if (p !== prefix) {
          // Size the subtable so it holds every remaining code word sharing this prefix.
          prefix = p;
          subBits = drop;
          let free = 1 << subBits;
          while (subBits + tableBits < MAX_CODE_LEN) {
            free -= remaining[subBits + tableBits];
            if (free <= 0) break;
            subBits++;
            free <<= 1;
          }
          subBase = nextSub;
          nextSub += 1 << subBits;
          if (nextSub > table.length) throw badChunk('a Huffman code is malformed');
          table.fill(INVALID_ENTRY, subBase, nextSub);
          table[p] = (subBase << 6) | SUBTABLE_FLAG | subBits;
        }
        if (drop > subBits) throw badChunk('a Huffman code is malformed');
        const start = subBase + ((code & ((1 << drop) - 1)) << (subBits - drop));
        const entry = (sym << 6) | drop;
        for (let j = start + (1 << (subBits - drop)) - 1; j >= start; j--) table[j] = entry;
        remaining[len]--;
      }
      code <<= 1;
    }
  }

  /** Reads the 20 4-bit pretree lengths, then `count` code lengths from `start` as deltas from
   *  the previous block's ([MS-PATCH] §2.3.2.2 / §2.3.2.3: symbols 0–16 delta mod 17, 17 and 18
   *  runs of zeros, 19 a short run of one delta). A run may overshoot `count` into the slack. */
  readLengths(lens: Uint8Array, start: number, count: number): void {
    const pre = this.pretreeLens;
    for (let i = 0; i < PRETREE_SYMS; i++) pre[i] = this.readBits(4);
    this.buildTable(pre, PRETREE_SYMS, PRETREE_TABLE_BITS, this.pretreeTable);
    const end = start + count;
    let i = start;
    while (i < end) {
      let presym = this.decodeSymbol(this.pretreeTable, PRETREE_TABLE_BITS);
      if (presym < 17) {
        const v = lens[i] - presym;
        lens[i++] = v < 0 ? v + 17 : v;
        continue;
      }
      let run: number;
      let value = 0;
      if (presym === 17) run = 4 + this.readBits(4);
      else if (presym === 18) run = 20 + this.readBits(5);
      else {
        run = 4 + this.readBits(1);
        presym = this.decodeSymbol(this.pretreeTable, PRETREE_TABLE_BITS);
        if (presym > 17) throw badChunk('a pretree run repeats another run code');
        const v = lens[i] - presym;
        value = v < 0 ? v + 17 : v;
      }
      lens.fill(value, i, i + run);
      i += run;
    }
  }

  /** Byte offset where an uncompressed block's body starts: the bit stream is realigned to the
   *  next 16-bit word, and a stream already on a boundary skips a whole word ([MS-PATCH]
   *  §2.3.3.1 "padding of 1 to 16 bits"). */
  alignToWord(): number {
    if (this.left === 0) this.refill();
    const pos = this.pos - 2 * ((this.left - 1) >> 4);
    this.buf = 0;
    this.left = 0;
    return pos;
  }
}

const states = new Map<number, LzxState>();

function stateFor(windowSize: number): LzxState {
  let state = states.get(windowSize);
  if (!state) {
    const order = Math.log2(windowSize);
    if (!Number.isInteger(order) || order < MIN_WINDOW_ORDER || order > MAX_WINDOW_ORDER) {
      throw new FormatError(BAD_CHUNK, `LZX window size ${windowSize} is not a power of two from 32 KiB to 2 MiB; the WIM's chunk size is invalid`, {
        windowSize,
      });
    }
    state = new LzxState(order);
    states.set(windowSize, state);
  }
  return state;
}

/** Decompresses one WIM LZX chunk of `outputSize` bytes whose window is `windowSize` (the WIM
 *  chunk size). Throws FormatError DF_WIM_BAD_CHUNK on any malformed input. */
export function decompressLzx(input: Uint8Array, outputSize: number, windowSize = DEFAULT_WINDOW): Uint8Array {
  const state = stateFor(windowSize);
  if (!Number.isInteger(outputSize) || outputSize < 0 || outputSize > windowSize) {
    throw new FormatError(BAD_CHUNK, `LZX chunk of ${outputSize} bytes does not fit its ${windowSize}-byte window; the WIM's chunk table is corrupt`, {
      outputSize,
      windowSize,
    });
  }
  const out = new Uint8Array(outputSize);
  state.input = input;
  state.pos = 0;
  state.buf = 0;
  state.left = 0;
  state.mainLens.fill(0);
  state.lengthLens.fill(0);
  try {
    decodeChunk(state, out);
  } finally {
    state.input = new Uint8Array(0);
  }
  undoE8Translation(out);
  return out;
}

/** A ChunkDecompressor for WIM resources whose chunk size (= LZX window) is `chunkSize`. */
export function lzxDecompressor(chunkSize: number): ChunkDecompressor {
  stateFor(chunkSize);
  return (input, outputSize) => decompressLzx(input, outputSize, chunkSize);
}

function decodeChunk(state: LzxState, out: Uint8Array): void {
  const outputSize = out.length;
  const input = state.input;
  // Repeated offsets start at 1 in every chunk ([MS-PATCH] §2.3.3.2; WIM resets per chunk).
  const recent = [1, 1, 1];
  let op = 0;
  while (op < outputSize) {
    // Block header ([MS-PATCH] §2.3.1): 3-bit type, then the size. WIM writes a 1 bit for the
    // default 32768, else 0 and the size in 16 bits, or 24 when the window is ≥ 64 KiB.
    const type = state.readBits(3);
    let blockSize: number;
    if (state.readBits(1)) blockSize = DEFAULT_BLOCK_SIZE;
    else {
      blockSize = state.readBits(16);
      if (state.windowOrder >= 16) blockSize = (blockSize << 8) | state.readBits(8);
    }
    if (blockSize === 0 || blockSize > outputSize - op) {
      throw badChunk(`block of ${blockSize} bytes at output offset ${op} does not fit the ${outputSize}-byte chunk`, { blockSize, offset: op });
    }
    if (type === BLOCKTYPE_UNCOMPRESSED) {
      // §2.3.3.1 / CAB: realign, then R0 R1 R2 as u32 LE, the raw bytes, a pad byte if odd.
      let pos = state.alignToWord();
      if (pos + 12 + blockSize > input.length) throw badChunk('an uncompressed block runs past the chunk end', { offset: op });
      for (let i = 0; i < 3; i++, pos += 4) {
        recent[i] = (input[pos] | (input[pos + 1] << 8) | (input[pos + 2] << 16) | (input[pos + 3] << 24)) >>> 0;
      }
      out.set(input.subarray(pos, pos + blockSize), op);
      op += blockSize;
      state.pos = pos + blockSize + (blockSize & 1);
      continue;
    }
    if (type !== BLOCKTYPE_VERBATIM && type !== BLOCKTYPE_ALIGNED) throw badChunk(`block type ${type} is not verbatim, aligned or uncompressed`, { type });
    const aligned = type === BLOCKTYPE_ALIGNED;
    if (aligned) {
      // §2.3.2.1: eight 3-bit aligned offset lengths come first.
      for (let i = 0; i < ALIGNED_SYMS; i++) state.alignedLens[i] = state.readBits(3);
      state.buildTable(state.alignedLens, ALIGNED_SYMS, ALIGNED_TABLE_BITS, state.alignedTable);
    }
    // Main tree in two pretree-coded parts (literals, then match symbols), then the length tree.
    state.readLengths(state.mainLens, 0, NUM_CHARS);
    state.readLengths(state.mainLens, NUM_CHARS, state.numMainSyms - NUM_CHARS);
    state.readLengths(state.lengthLens, 0, LENGTH_SYMS);
    state.buildTable(state.mainLens, state.numMainSyms, MAIN_TABLE_BITS, state.mainTable);
    state.buildTable(state.lengthLens, LENGTH_SYMS, LENGTH_TABLE_BITS, state.lengthTable);
    op = decodeBlock(state, out, op, op + blockSize, aligned, recent);
  }
}

/** Decodes the symbols of one verbatim or aligned block (§2.3.3.2–3) into out[op, blockEnd).
 *  The bit reader lives in locals here; the hot loop allocates nothing. */
function decodeBlock(state: LzxState, out: Uint8Array, start: number, blockEnd: number, aligned: boolean, recent: number[]): number {
  const input = state.input;
  const inLen = input.length;
  const mainTable = state.mainTable;
  const lengthTable = state.lengthTable;
  const alignedTable = state.alignedTable;
  let pos = state.pos;
  let buf = state.buf;
  let left = state.left;
  let r0 = recent[0];
  let r1 = recent[1];
  let r2 = recent[2];
  let op = start;
  while (op < blockEnd) {
    while (left < 17) {
      buf |= (pos + 1 < inLen ? input[pos] | (input[pos + 1] << 8) : 0) << (16 - left);
      pos += 2;
      left += 16;
    }
    let e = mainTable[buf >>> (32 - MAIN_TABLE_BITS)];
    if (e & SUBTABLE_FLAG) {
      buf <<= MAIN_TABLE_BITS;
      left -= MAIN_TABLE_BITS;
      e = mainTable[(e >>> 6) + (buf >>> (32 - (e & 31)))];
    }
    let n = e & 31;
    if (n > MAX_CODE_LEN) throw badChunk('a main tree code word is not in the code', { offset: op });
    buf <<= n;
    left -= n;
    let sym = e >>> 6;
    if (sym < NUM_CHARS) {
      out[op++] = sym;
      continue;
    }
    // A match: main symbol − 256 = position slot × 8 + length header (§2.3.3.2).
    sym -= NUM_CHARS;
    const slot = sym >>> 3;
    let length = (sym & 7) + MIN_MATCH;
    if ((sym & 7) === NUM_PRIMARY_LENS) {
      while (left < 17) {
        buf |= (pos + 1 < inLen ? input[pos] | (input[pos + 1] << 8) : 0) << (16 - left);
        pos += 2;
        left += 16;
      }
      e = lengthTable[buf >>> (32 - LENGTH_TABLE_BITS)];
      if (e & SUBTABLE_FLAG) {
        buf <<= LENGTH_TABLE_BITS;
        left -= LENGTH_TABLE_BITS;
        e = lengthTable[(e >>> 6) + (buf >>> (32 - (e & 31)))];
      }
      n = e & 31;
      if (n > MAX_CODE_LEN) throw badChunk('a length tree code word is not in the code', { offset: op });
      buf <<= n;
      left -= n;
      length += e >>> 6;
    }
    let offset: number;
    if (slot === 0) offset = r0;
    else if (slot === 1) {
      offset = r1;
      r1 = r0;
      r0 = offset;
    } else if (slot === 2) {
      offset = r2;
      r2 = r0;
      r0 = offset;
    } else {
      // Formatted offset = slot base + footer bits; the real offset is 2 less. In aligned blocks
      // the low 3 footer bits of a ≥ 3-bit footer come from the aligned offset tree.
      const extra = EXTRA_BITS[slot];
      offset = SLOT_BASE[slot] - 2;
      while (left < 17) {
        buf |= (pos + 1 < inLen ? input[pos] | (input[pos + 1] << 8) : 0) << (16 - left);
        pos += 2;
        left += 16;
      }
      if (aligned && extra >= 3) {
        if (extra > 3) {
          offset += (buf >>> (35 - extra)) << 3;
          buf <<= extra - 3;
          left -= extra - 3;
          while (left < 17) {
            buf |= (pos + 1 < inLen ? input[pos] | (input[pos + 1] << 8) : 0) << (16 - left);
            pos += 2;
            left += 16;
          }
        }
        e = alignedTable[buf >>> (32 - ALIGNED_TABLE_BITS)];
        n = e & 31;
        if (n > MAX_CODE_LEN) throw badChunk('an aligned offset code word is not in the code', { offset: op });
        buf <<= n;
        left -= n;
        offset += e >>> 6;
      } else if (extra > 0) {
        offset += buf >>> (32 - extra);
        buf <<= extra;
        left -= extra;
      }
      r2 = r1;
      r1 = r0;
      r0 = offset;
    }
    if (length > blockEnd - op) throw badChunk(`a ${length}-byte match overruns its block`, { offset: op });
    if (offset === 0 || offset > op) throw badChunk(`a match refers ${offset} bytes back from output offset ${op}`, { offset: op });
    let from = op - offset;
    const end = op + length;
    if (offset >= length && length > 32) {
      out.copyWithin(op, from, from + length);
      op = end;
    } else {
      while (op < end) out[op++] = out[from++];
    }
  }
  state.pos = pos;
  state.buf = buf;
  state.left = left;
  recent[0] = r0;
  recent[1] = r1;
  recent[2] = r2;
  return op;
}

/** Reverses the encoder's x86 CALL translation (CAB LZX "E8 preprocessing"; WIM always applies
 *  it, with a translation size of 12,000,000): for each 0xE8 byte at position i < size − 10, the
 *  following little-endian i32 `abs` becomes abs − i when 0 ≤ abs < 12,000,000, or
 *  abs + 12,000,000 when −i ≤ abs < 0; the four bytes after an E8 are never scanned. */
function undoE8Translation(out: Uint8Array): void {
  const end = out.length - 10;
  // Buffer's indexOf is memchr; a Uint8Array's is a plain loop, several times slower.
  const scan = Buffer.isBuffer(out) ? out : Buffer.from(out.buffer, out.byteOffset, out.byteLength);
  let i = 0;
  while (i < end) {
    i = scan.indexOf(0xe8, i);
    if (i < 0 || i >= end) return;
    const abs = out[i + 1] | (out[i + 2] << 8) | (out[i + 3] << 16) | (out[i + 4] << 24);
    let rel: number | undefined;
    if (abs >= 0) {
      if (abs < E8_TRANSLATION_SIZE) rel = abs - i;
    } else if (abs >= -i) {
      rel = abs + E8_TRANSLATION_SIZE;
    }
    if (rel !== undefined) {
      out[i + 1] = rel & 0xff;
      out[i + 2] = (rel >>> 8) & 0xff;
      out[i + 3] = (rel >>> 16) & 0xff;
      out[i + 4] = (rel >>> 24) & 0xff;
    }
    i += 5;
  }
}
