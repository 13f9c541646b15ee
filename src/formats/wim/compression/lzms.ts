// LZMS decompression: the codec of ESD (solid) resources and of `--compress=lzms` WIMs.
// LZMS is undocumented; this follows the reverse-engineered description in wimlib
// (ebiggers/wimlib: src/lzms_decompress.c header comment, src/lzms_common.c,
// include/wimlib/lzms_constants.h, and the canonical Huffman construction described in
// src/compress_common.c). Written from those descriptions, not translated from the code.
//
// A chunk is read as 16-bit little-endian units from both ends:
//  - forwards: a binary range decoder that decides the item type (literal, LZ or delta match,
//    explicit or repeat offset), each decision class with adaptive 6-bit probabilities;
//  - backwards: MSB-first bits holding adaptive-Huffman symbols (literals, offset slots,
//    length slots, delta powers) and verbatim extra bits.
// After all items are decoded, an x86 filter turns absolute call/lea/mov targets back into
// relative ones. Reading past either end of the input yields zero bits (as wimlib does), so
// every loop is bounded by the output size: each item writes at least one byte.
import { FormatError } from '../../../errors.js';
import type { ChunkDecompressor } from './types.js';

const BAD_CHUNK = 'DF_WIM_BAD_CHUNK';

// --- Slot tables (lzms_common.c). Stored as runs of "extra bits"; bases follow by adding 2^bits.
/** (extra bits, number of slots) runs for the 799 offset slots. */
const OFFSET_EXTRA_RUNS: readonly (readonly [number, number])[] = [
  [0, 8],
  [2, 9],
  [3, 7],
  [4, 10],
  [5, 15],
  [6, 15],
  [7, 20],
  [8, 20],
  [9, 30],
  [10, 33],
  [11, 40],
  [12, 42],
  [13, 45],
  [14, 60],
  [15, 73],
  [16, 80],
  [17, 85],
  [18, 95],
  [19, 105],
  [20, 6],
  [30, 1],
];
/** (extra bits, number of slots) runs for the 54 length slots. */
const LENGTH_EXTRA_RUNS: readonly (readonly [number, number])[] = [
  [0, 26],
  [1, 4],
  [2, 6],
  [3, 4],
  [4, 5],
  [5, 2],
  [6, 1],
  [7, 1],
  [8, 1],
  [9, 1],
  [10, 1],
  [16, 1],
  [30, 1],
];

function expandSlots(runs: readonly (readonly [number, number])[]): { base: Float64Array; extra: Uint8Array } {
  const count = runs.reduce((n, [, c]) => n + c, 0);
  const base = new Float64Array(count + 1);
  const extra = new Uint8Array(count);
  let i = 0;
  base[0] = 1; // both offsets and lengths start at 1
  for (const [bits, c] of runs) {
    for (let k = 0; k < c; k++, i++) {
      extra[i] = bits;
      base[i + 1] = base[i] + 2 ** bits;
    }
  }
  return { base, extra };
}

const OFFSET_SLOTS = expandSlots(OFFSET_EXTRA_RUNS); // 799 slots, base[799] = max offset + 1
const LENGTH_SLOTS = expandSlots(LENGTH_EXTRA_RUNS); // 54 slots

/** Offset slots used for a chunk of `size` bytes: enough to express offset size-1. */
export function lzmsOffsetSlotCount(size: number): number {
  if (size < 2) return 0;
  const v = size - 1;
  let lo = 0;
  let hi = OFFSET_SLOTS.extra.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (OFFSET_SLOTS.base[mid] <= v) lo = mid;
    else hi = mid - 1;
  }
  return lo + 1;
}

// --- Adaptive Huffman codes (lzms_decompress.c comment: rebuilt every N symbols, frequencies
// start at 1 and are halved-plus-one after each rebuild; the code is the one the two-queue
// Huffman construction gives when ties prefer leaves, symbols sorted by (frequency, symbol),
// made canonical; codewords never exceed 15 bits).
const MAX_CODEWORD_LEN = 15;
const TABLE_BITS = 10;

class AdaptiveCode {
  readonly freqs: Uint32Array;
  /** Primary lookup on the next TABLE_BITS bits: (symbol << 4) | length, or 0 for longer codes. */
  readonly table = new Uint16Array(1 << TABLE_BITS);
  /** Canonical decoding of long codewords: first code and index into `sorted` per length. */
  readonly firstCode = new Int32Array(MAX_CODEWORD_LEN + 2);
  readonly firstIndex = new Int32Array(MAX_CODEWORD_LEN + 2);
  readonly lenCount = new Int32Array(MAX_CODEWORD_LEN + 2);
  /** Symbols ordered by (codeword length, symbol). */
  readonly sorted: Uint16Array;
  readonly lens: Uint8Array;
  private readonly keys: Uint32Array;
  // Tree scratch: internal node frequency and parent (one fewer node than symbols).
  private readonly nodeFreq: Float64Array;
  private readonly nodeParent: Int32Array;
  private readonly nodeDepth: Int32Array;
  untilRebuild: number;

  constructor(
    readonly numSyms: number,
    readonly rebuildFreq: number,
  ) {
    this.freqs = new Uint32Array(numSyms).fill(1);
    this.sorted = new Uint16Array(Math.max(numSyms, 2));
    this.lens = new Uint8Array(Math.max(numSyms, 2));
    this.keys = new Uint32Array(numSyms);
    this.nodeFreq = new Float64Array(Math.max(numSyms, 1));
    this.nodeParent = new Int32Array(Math.max(numSyms, 1));
    this.nodeDepth = new Int32Array(Math.max(numSyms, 1));
    this.untilRebuild = rebuildFreq;
    this.build();
  }

  /** Rebuilds from the current frequencies, then dilutes them (f → f/2 + 1). */
  rebuild(): void {
    this.build();
    const f = this.freqs;
    for (let s = 0; s < this.numSyms; s++) f[s] = (f[s] >>> 1) + 1;
  }

  private build(): void {
    this.untilRebuild = this.rebuildFreq;
    const n = this.numSyms;
    const lens = this.lens;
    lens.fill(0);
    if (n === 0) {
      this.makeTables(0);
      return;
    }
    if (n === 1) {
      // One symbol: codeword "0" of length 1 (a "1" bit is then an invalid code).
      lens[0] = 1;
      this.makeTables(1);
      return;
    }
    // Sort by (frequency, symbol), packed as freq << 10 | symbol (frequencies stay below 2^21).
    const keys = this.keys;
    for (let s = 0; s < n; s++) keys[s] = ((this.freqs[s] << 10) | s) >>> 0;
    keys.sort();
    // Two-queue Huffman: leaves in sorted order, internal nodes in creation order (which is
    // also increasing frequency). On a tie the leaf is taken first.
    const nodeFreq = this.nodeFreq;
    const parent = this.nodeParent;
    let leaf = 0;
    let node = 0; // next unparented internal node
    let made = 0;
    while (made < n - 1) {
      let sum = 0;
      for (let pick = 0; pick < 2; pick++) {
        if (leaf < n && (node === made || keys[leaf] >>> 10 <= nodeFreq[node])) {
          sum += keys[leaf] >>> 10;
          leaf++;
        } else {
          sum += nodeFreq[node];
          parent[node] = made;
          node++;
        }
      }
      nodeFreq[made] = sum;
      made++;
    }
    // Codeword length counts from internal-node depths, visiting parents before children
    // (reverse creation order). Start with two length-1 leaves under the root; each internal
    // node at depth d turns one length-d leaf into two length-(d+1) leaves. Depths beyond the
    // limit take the longest available shorter length (never happens for valid LZMS data,
    // mirrored from the documented construction so that the code stays complete).
    const counts = this.lenCount;
    counts.fill(0);
    counts[1] = 2;
    const depth = this.nodeDepth;
    const root = n - 2;
    depth[root] = 0;
    for (let i = root - 1; i >= 0; i--) {
      const d = depth[parent[i]] + 1;
      depth[i] = d;
      let len = d;
      if (len >= MAX_CODEWORD_LEN) {
        len = MAX_CODEWORD_LEN;
        do len--;
        while (counts[len] === 0);
      }
      counts[len]--;
      counts[len + 1] += 2;
    }
    // Longest codewords go to the least frequent symbols (sorted order).
    let i = 0;
    for (let len = MAX_CODEWORD_LEN; len >= 1; len--) {
      for (let c = counts[len]; c > 0; c--) lens[keys[i++] & 1023] = len;
    }
    this.makeTables(n);
  }

  private makeTables(n: number): void {
    const lens = this.lens;
    const counts = this.lenCount;
    counts.fill(0);
    for (let s = 0; s < n; s++) counts[lens[s]]++;
    counts[0] = 0;
    let code = 0;
    let index = 0;
    for (let len = 1; len <= MAX_CODEWORD_LEN; len++) {
      this.firstCode[len] = code;
      this.firstIndex[len] = index;
      index += counts[len];
      code = (code + counts[len]) << 1;
    }
    const next = new Int32Array(MAX_CODEWORD_LEN + 1);
    for (let len = 1; len <= MAX_CODEWORD_LEN; len++) next[len] = this.firstIndex[len];
    for (let s = 0; s < n; s++) if (lens[s] > 0) this.sorted[next[lens[s]]++] = s;
    const table = this.table;
    table.fill(0);
    for (let len = 1; len <= TABLE_BITS; len++) {
      const first = this.firstCode[len];
      const fi = this.firstIndex[len];
      const span = 1 << (TABLE_BITS - len);
      for (let k = 0; k < counts[len]; k++) {
        const sym = this.sorted[fi + k];
        const start = (first + k) << (TABLE_BITS - len);
        table.fill((sym << 4) | len, start, start + span);
      }
    }
  }
}

// --- Probability contexts (lzms_constants.h): number of states per decision class.
const CTX_MAIN = 0;
const CTX_MATCH = 1;
const CTX_LZ = 2;
const CTX_LZ_REP0 = 3;
const CTX_LZ_REP1 = 4;
const CTX_DELTA = 5;
const CTX_DELTA_REP0 = 6;
const CTX_DELTA_REP1 = 7;
const CTX_STATES = [16, 32, 64, 64, 64, 64, 64, 64];
const CTX_BASE = CTX_STATES.map((_, i) => CTX_STATES.slice(0, i).reduce((a, b) => a + b, 0));
const CTX_TOTAL = CTX_STATES.reduce((a, b) => a + b, 0);

// x86 filter constants (lzms_constants.h).
const X86_ID_WINDOW = 65535;
const X86_MAX_TRANSLATION_OFFSET = 1023;

function bad(message: string, details: Record<string, unknown> = {}): FormatError {
  return new FormatError(BAD_CHUNK, `LZMS chunk is corrupt: ${message}; the WIM/ESD file is damaged`, details);
}

class LzmsDecoder {
  private readonly input: Uint8Array;
  private readonly units: number;
  // Range decoder (forward).
  private range = 0xffffffff;
  private code: number;
  private fwd = 2;
  // Bit reader (backward): right-aligned buffer of `bitsLeft` (≤ 31) bits.
  private bitBuf = 0;
  private bitsLeft = 0;
  private back: number;
  // Probability entries: zero count and the last 64 bits (hi, lo words) per state.
  private readonly states = new Int32Array(8);
  private readonly zeros = new Uint8Array(CTX_TOTAL).fill(48);
  private readonly histHi = new Int32Array(CTX_TOTAL);
  private readonly histLo = new Int32Array(CTX_TOTAL).fill(0x55555555);
  // Codes.
  private readonly literal: AdaptiveCode;
  private readonly lzOffset: AdaptiveCode;
  private readonly length: AdaptiveCode;
  private readonly deltaOffset: AdaptiveCode;
  private readonly deltaPower: AdaptiveCode;

  constructor(input: Uint8Array, outputSize: number) {
    this.input = input;
    this.units = input.length >>> 1;
    this.code = ((input[1] << 24) | (input[0] << 16) | (input[3] << 8) | input[2]) >>> 0;
    this.back = this.units;
    const slots = lzmsOffsetSlotCount(outputSize);
    this.literal = new AdaptiveCode(256, 1024);
    this.lzOffset = new AdaptiveCode(slots, 1024);
    this.length = new AdaptiveCode(54, 512);
    this.deltaOffset = new AdaptiveCode(slots, 1024);
    this.deltaPower = new AdaptiveCode(8, 512);
  }

  /** One range-coded bit in decision class `ctx` (its state is the class's last bits). */
  private bit(ctx: number): number {
    const state = this.states[ctx];
    const e = CTX_BASE[ctx] + state;
    let prob = this.zeros[e];
    if (prob === 0) prob = 1;
    else if (prob === 64) prob = 63;
    if (this.range <= 0xffff) {
      this.range = (this.range << 16) >>> 0;
      let c = (this.code << 16) >>> 0;
      if (this.fwd < this.units) {
        const at = this.fwd * 2;
        c = (c | this.input[at] | (this.input[at + 1] << 8)) >>> 0;
        this.fwd++;
      }
      this.code = c;
    }
    const bound = (this.range >>> 6) * prob;
    let bit: number;
    if (this.code < bound) {
      this.range = bound;
      bit = 0;
    } else {
      this.range -= bound;
      this.code -= bound;
      bit = 1;
    }
    this.states[ctx] = ((state << 1) | bit) & (CTX_STATES[ctx] - 1);
    // The entry's probability is the number of zeros among its last 64 bits.
    const hi = this.histHi[e];
    const lo = this.histLo[e];
    this.zeros[e] += (hi >>> 31) - bit;
    this.histHi[e] = (hi << 1) | (lo >>> 31);
    this.histLo[e] = (lo << 1) | bit;
    return bit;
  }

  /** Makes at least `n` (≤ 16) bits available, reading backwards; zeros past the start. */
  private ensure(n: number): void {
    while (this.bitsLeft < n) {
      let unit = 0;
      if (this.back > 0) {
        this.back--;
        const at = this.back * 2;
        unit = this.input[at] | (this.input[at + 1] << 8);
      }
      this.bitBuf = (this.bitBuf << 16) | unit;
      this.bitsLeft += 16;
    }
  }

  private bits(n: number): number {
    if (n === 0) return 0;
    if (n > 16) {
      const high = this.bits(n - 16);
      return high * 65536 + this.bits(16);
    }
    this.ensure(n);
    this.bitsLeft -= n;
    const v = this.bitBuf >>> this.bitsLeft;
    this.bitBuf &= (1 << this.bitsLeft) - 1;
    return v;
  }

  private symbol(c: AdaptiveCode): number {
    this.ensure(MAX_CODEWORD_LEN);
    // bitsLeft ≥ 15 here, so the next TABLE_BITS bits are in the buffer.
    const entry = c.table[(this.bitBuf >>> (this.bitsLeft - TABLE_BITS)) & ((1 << TABLE_BITS) - 1)];
    let sym: number;
    if (entry !== 0) {
      this.bitsLeft -= entry & 15;
      this.bitBuf &= (1 << this.bitsLeft) - 1;
      sym = entry >>> 4;
    } else {
      sym = -1;
      for (let len = TABLE_BITS + 1; len <= MAX_CODEWORD_LEN; len++) {
        const code = this.bitBuf >>> (this.bitsLeft - len);
        const k = code - c.firstCode[len];
        if (k >= 0 && k < c.lenCount[len]) {
          sym = c.sorted[c.firstIndex[len] + k];
          this.bitsLeft -= len;
          this.bitBuf &= (1 << this.bitsLeft) - 1;
          break;
        }
      }
      if (sym < 0) throw bad('invalid Huffman codeword');
    }
    c.freqs[sym]++;
    if (--c.untilRebuild === 0) c.rebuild();
    return sym;
  }

  private offsetValue(c: AdaptiveCode): number {
    if (c.numSyms === 0) throw bad('match in a chunk too small to hold one');
    const slot = this.symbol(c);
    return OFFSET_SLOTS.base[slot] + this.bits(OFFSET_SLOTS.extra[slot]);
  }

  private lengthValue(): number {
    const slot = this.symbol(this.length);
    return LENGTH_SLOTS.base[slot] + this.bits(LENGTH_SLOTS.extra[slot]);
  }

  decode(out: Uint8Array): void {
    const end = out.length;
    let pos = 0;
    // LRU queues with one overflow slot; the offset just used is held pending and enters the
    // front only after the next item (lzms_decompress.c comment).
    const lzRecent = [1, 2, 3, 4];
    let lzPending = 0;
    let lzPendingEnd = -1;
    const dPowRecent = [0, 0, 0, 0];
    const dRawRecent = [1, 2, 3, 4];
    let dPending = false;
    let dPendingPow = 0;
    let dPendingRaw = 0;
    let dPendingEnd = -1;

    while (pos < end) {
      if (this.bit(CTX_MAIN) === 0) {
        out[pos++] = this.symbol(this.literal);
        continue;
      }
      if (this.bit(CTX_MATCH) === 0) {
        // LZ match.
        if (lzPending !== 0 && pos !== lzPendingEnd) {
          lzRecent[3] = lzRecent[2];
          lzRecent[2] = lzRecent[1];
          lzRecent[1] = lzRecent[0];
          lzRecent[0] = lzPending;
          lzPending = 0;
        }
        let offset: number;
        if (this.bit(CTX_LZ) === 0) {
          offset = this.offsetValue(this.lzOffset);
        } else {
          let idx = 2;
          if (this.bit(CTX_LZ_REP0) === 0) idx = 0;
          else if (this.bit(CTX_LZ_REP1) === 0) idx = 1;
          offset = lzRecent[idx];
          for (let k = idx; k < 3; k++) lzRecent[k] = lzRecent[k + 1];
        }
        if (lzPending !== 0) {
          lzRecent[3] = lzRecent[2];
          lzRecent[2] = lzRecent[1];
          lzRecent[1] = lzRecent[0];
          lzRecent[0] = lzPending;
        }
        lzPending = offset;
        const length = this.lengthValue();
        if (length > end - pos) throw bad('match runs past the end of the chunk', { pos, length });
        if (offset > pos) throw bad('match offset points before the chunk', { pos, offset });
        let src = pos - offset;
        const stop = pos + length;
        if (offset >= length && length > 24) {
          out.copyWithin(pos, src, src + length); // non-overlapping and long enough to pay off
          pos = stop;
        } else {
          while (pos < stop) out[pos++] = out[src++];
        }
        lzPendingEnd = pos;
      } else {
        // Delta match: out[i] = out[i-off] + out[i-span] - out[i-off-span].
        if (dPending && pos !== dPendingEnd) {
          for (let k = 3; k > 0; k--) {
            dPowRecent[k] = dPowRecent[k - 1];
            dRawRecent[k] = dRawRecent[k - 1];
          }
          dPowRecent[0] = dPendingPow;
          dRawRecent[0] = dPendingRaw;
          dPending = false;
        }
        let power: number;
        let raw: number;
        if (this.bit(CTX_DELTA) === 0) {
          power = this.symbol(this.deltaPower);
          raw = this.offsetValue(this.deltaOffset);
        } else {
          let idx = 2;
          if (this.bit(CTX_DELTA_REP0) === 0) idx = 0;
          else if (this.bit(CTX_DELTA_REP1) === 0) idx = 1;
          power = dPowRecent[idx];
          raw = dRawRecent[idx];
          for (let k = idx; k < 3; k++) {
            dPowRecent[k] = dPowRecent[k + 1];
            dRawRecent[k] = dRawRecent[k + 1];
          }
        }
        if (dPending) {
          for (let k = 3; k > 0; k--) {
            dPowRecent[k] = dPowRecent[k - 1];
            dRawRecent[k] = dRawRecent[k - 1];
          }
          dPowRecent[0] = dPendingPow;
          dRawRecent[0] = dPendingRaw;
        }
        dPending = true;
        dPendingPow = power;
        dPendingRaw = raw;
        const length = this.lengthValue();
        const span = 1 << power;
        const offset = raw * span;
        if (offset + span > pos) throw bad('delta match points before the chunk', { pos, offset, span });
        if (length > end - pos) throw bad('delta match runs past the end of the chunk', { pos, length });
        const stop = pos + length;
        let m = pos - offset;
        while (pos < stop) {
          out[pos] = out[m] + out[pos - span] - out[m - span];
          pos++;
          m++;
        }
        dPendingEnd = pos;
      }
    }
  }
}

let targetUsages: Int32Array | undefined;
/** First bytes of the instructions the filter looks at. */
const X86_OPCODE_START = new Uint8Array(256);
for (const b of [0x48, 0x4c, 0xe8, 0xe9, 0xf0, 0xff]) X86_OPCODE_START[b] = 1;

/** Undoes the LZMS x86 translation in place (lzms_common.c lzms_x86_filter with undo set):
 *  after likely x86 code, 32-bit operands of call rel32 (E8), call [rip+x] (FF 15), lock add
 *  [rip+x] (F0 83 05) and REX.W lea/mov [rip+x] (48/4C 8D/8B modrm&7==5) were made absolute;
 *  "likely code" means two references to the same low 16 target bits within 64 KiB. */
export function undoLzmsX86Translation(data: Uint8Array): void {
  const size = data.length;
  if (size <= 17) return;
  if (!targetUsages) targetUsages = new Int32Array(65536);
  const usage = targetUsages;
  usage.fill(-X86_ID_WINDOW - 1);
  let lastX86 = -X86_MAX_TRANSLATION_OFFSET - 1;
  const limit = size - 16; // no opcode in the last 16 bytes is considered
  let i = 1; // the first byte is never an opcode
  while (i < limit) {
    const b = data[i];
    if (X86_OPCODE_START[b] === 0) {
      i++;
      continue;
    }
    let opLen = 0;
    let maxOffset = X86_MAX_TRANSLATION_OFFSET;
    if (b === 0xe8) {
      opLen = 1;
      maxOffset >>= 1;
    } else if (b === 0x48 || b === 0x4c) {
      const op = data[i + 1];
      const modrm = data[i + 2];
      if ((modrm & 0x07) === 0x05 && (op === 0x8d || (op === 0x8b && (b & 0x04) === 0 && (modrm & 0xf0) === 0))) opLen = 3;
    } else if (b === 0xff) {
      if (data[i + 1] === 0x15) opLen = 2;
    } else if (b === 0xf0) {
      if (data[i + 1] === 0x83 && data[i + 2] === 0x05) opLen = 3;
    } else if (b === 0xe9) {
      i += 5; // jmp rel32 is deliberately never translated; its operand is skipped
      continue;
    }
    if (opLen === 0) {
      i++;
      continue;
    }
    const p = i + opLen;
    if (i - lastX86 <= maxOffset) {
      const n = (data[p] | (data[p + 1] << 8) | (data[p + 2] << 16) | (data[p + 3] << 24)) - i;
      data[p] = n;
      data[p + 1] = n >>> 8;
      data[p + 2] = n >>> 16;
      data[p + 3] = n >>> 24;
    }
    const target = (i + (data[p] | (data[p + 1] << 8))) & 0xffff;
    const last = p + 3;
    if (last - usage[target] <= X86_ID_WINDOW) lastX86 = last;
    usage[target] = last;
    i = p + 4;
  }
}

/** Decompresses one LZMS chunk to exactly `outputSize` bytes. Throws FormatError
 *  DF_WIM_BAD_CHUNK on any malformed input; never writes past `outputSize`. */
export function decompressLzms(input: Uint8Array, outputSize: number): Uint8Array {
  if (!Number.isSafeInteger(outputSize) || outputSize < 0 || outputSize > 0x465be4a5) {
    throw bad(`uncompressed size ${outputSize} is impossible`, { outputSize });
  }
  if (input.length < 4 || (input.length & 1) !== 0) {
    throw bad(`${input.length} compressed bytes is not a whole number of 16-bit units (at least 2)`, { inputSize: input.length });
  }
  const out = new Uint8Array(outputSize);
  if (outputSize === 0) return out;
  new LzmsDecoder(input, outputSize).decode(out);
  undoLzmsX86Translation(out);
  return out;
}

/** The ChunkDecompressor for LZMS resources. */
export const lzmsChunkDecompressor: ChunkDecompressor = decompressLzms;
