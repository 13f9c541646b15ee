// XPRESS Huffman ("LZ77+Huffman", [MS-XCA] §2.1 compression, §2.2 decompression) as WIM uses it:
// every chunk (≤ 64 KiB) is one MS-XCA block, a 256-byte table of 512 four-bit code lengths then
// a bit stream of 16-bit little-endian words with match-length bytes interleaved. Written from
// the specification. It does not handle the multi-block streams MS-XCA allows past 65536 bytes
// of output: WIM never produces them (XPRESS chunk sizes are 4 KiB…64 KiB).
import { FormatError } from '../../../errors.js';
import type { ChunkCompressor, ChunkDecompressor } from './types.js';

/** Largest chunk one XPRESS Huffman block covers ([MS-XCA] §2.1: a new table every 65536 bytes). */
export const XPRESS_MAX_CHUNK_SIZE = 65536;
const NUM_SYMBOLS = 512; // 256 literals + 256 match symbols (§2.1)
const TABLE_SIZE = 256; // 512 four-bit lengths
const MAX_CODE_LENGTH = 15; // §2.1: lengths are four bits, 0 = unused
const MIN_MATCH = 3;
const EOF_SYMBOL = 256; // §2.1: written after the last item; a decoder that knows the size never reaches it

// Decode table layout: a primary table indexed by the next PRIMARY_BITS bits; codes longer than
// that go through a subtable of 2^(15 − PRIMARY_BITS) entries indexed by the following bits.
// Entry = (symbol << 4) | codeLength; 0 = no code (incomplete table); SUBTABLE flag | start.
const PRIMARY_BITS = 12;
const SUB_BITS = MAX_CODE_LENGTH - PRIMARY_BITS;
const SUBTABLE = 0x4000_0000;
// One decode table reused by every call (decoding is synchronous and not re-entrant); at most
// one subtable per long code, so 512 subtables is enough.
const decodeTable = new Int32Array((1 << PRIMARY_BITS) + NUM_SYMBOLS * (1 << SUB_BITS));
const codeLengths = new Uint8Array(NUM_SYMBOLS);
const lengthCount = new Int32Array(MAX_CODE_LENGTH + 1);
const nextCode = new Int32Array(MAX_CODE_LENGTH + 2);

function badChunk(message: string, details: Record<string, unknown> = {}): FormatError {
  return new FormatError('DF_WIM_BAD_CHUNK', `XPRESS chunk: ${message}; the WIM is corrupt`, details);
}

/** Assigns canonical codes ([MS-XCA] §2.1 / §2.2: ordered by length, then symbol). Returns
 *  false when the lengths over-subscribe the code space (Kraft sum > 1). */
function assignCanonicalCodes(lengths: Uint8Array, codes: Int32Array | null): boolean {
  lengthCount.fill(0);
  for (let s = 0; s < NUM_SYMBOLS; s++) lengthCount[lengths[s]]++;
  lengthCount[0] = 0;
  let code = 0;
  let left = 1; // unused code space at the current length
  for (let len = 1; len <= MAX_CODE_LENGTH; len++) {
    code = (code + lengthCount[len - 1]) << 1;
    nextCode[len] = code;
    left = (left << 1) - lengthCount[len];
    if (left < 0) return false;
  }
  if (codes !== null) {
    for (let s = 0; s < NUM_SYMBOLS; s++) {
      const len = lengths[s];
      if (len !== 0) codes[s] = nextCode[len]++;
    }
  }
  return true;
}

/** Builds `decodeTable` from the 256-byte length table at the start of `input`. Incomplete codes
 *  are legal (their unused bit patterns fail when met); over-subscribed ones are refused. */
function buildDecodeTable(input: Uint8Array): void {
  // §2.1: byte i holds symbol 2i in its low nibble and symbol 2i+1 in its high nibble.
  for (let i = 0; i < TABLE_SIZE; i++) {
    codeLengths[2 * i] = input[i] & 0x0f;
    codeLengths[2 * i + 1] = input[i] >> 4;
  }
  if (!assignCanonicalCodes(codeLengths, null)) throw badChunk('the Huffman code lengths over-subscribe the code space');
  decodeTable.fill(0, 0, 1 << PRIMARY_BITS);
  let subtableEnd = 1 << PRIMARY_BITS;
  for (let s = 0; s < NUM_SYMBOLS; s++) {
    const len = codeLengths[s];
    if (len === 0) continue;
    const code = nextCode[len]++;
    const entry = (s << 4) | len;
    if (len <= PRIMARY_BITS) {
      const start = code << (PRIMARY_BITS - len);
      decodeTable.fill(entry, start, start + (1 << (PRIMARY_BITS - len)));
    } else {
      const slot = code >>> (len - PRIMARY_BITS);
      let sub = decodeTable[slot];
      if (sub === 0) {
        sub = SUBTABLE | subtableEnd;
        decodeTable[slot] = sub;
        decodeTable.fill(0, subtableEnd, subtableEnd + (1 << SUB_BITS));
        subtableEnd += 1 << SUB_BITS;
      }
      // Canonical order puts every longer code after all shorter ones, so a slot that holds a
      // short code never receives long codes; the table is consistent by construction.
      const low = code & ((1 << (len - PRIMARY_BITS)) - 1);
      const start = (sub & ~SUBTABLE) + (low << (MAX_CODE_LENGTH - len));
      decodeTable.fill(entry, start, start + (1 << (MAX_CODE_LENGTH - len)));
    }
  }
}

/** Decompresses one XPRESS Huffman chunk to exactly `outputSize` bytes ([MS-XCA] §2.2.4). */
export const decompressXpress: ChunkDecompressor = (input, outputSize) => {
  if (!Number.isSafeInteger(outputSize) || outputSize < 0 || outputSize > XPRESS_MAX_CHUNK_SIZE) {
    throw badChunk(`an uncompressed size of ${outputSize} is outside 0…${XPRESS_MAX_CHUNK_SIZE}`, { outputSize });
  }
  const out = new Uint8Array(outputSize);
  if (outputSize === 0) return out;
  const inLength = input.length;
  if (inLength < TABLE_SIZE) throw badChunk(`${inLength} bytes cannot hold the 256-byte code length table`, { inputSize: inLength });
  buildDecodeTable(input);
  const table = decodeTable;

  // §2.2.4: NextBits holds 32 bits (two words) at the start, ExtraBitCount = 16; each time the
  // extra count goes negative one more word is shifted in. Words past the end of the input read
  // as zero but are counted, so consuming any of their bits is caught as truncation below.
  let pos = TABLE_SIZE;
  let missingWords = 0;
  let bits = 0;
  for (let w = 0; w < 2; w++) {
    let word = 0;
    if (pos + 1 < inLength) word = input[pos] | (input[pos + 1] << 8);
    else missingWords++;
    pos += 2;
    bits = (bits << 16) | word;
  }
  // `bits` stays a signed 32-bit integer (a small integer to the JIT); >>> reads it unsigned.
  let extra = 16;
  let outPos = 0;

  while (outPos < outputSize) {
    // Decode one symbol: primary lookup on the top PRIMARY_BITS bits, subtable on the rest.
    let entry = table[bits >>> (32 - PRIMARY_BITS)];
    if (entry >= SUBTABLE) entry = table[entry - SUBTABLE + ((bits << PRIMARY_BITS) >>> (32 - SUB_BITS))];
    if (entry === 0) throw badChunk(`bit pattern with no Huffman code at output byte ${outPos}`, { outPos });
    let n = entry & 0x0f;
    bits <<= n;
    extra -= n;
    if (extra < 0) {
      let word = 0;
      if (pos + 1 < inLength) word = input[pos] | (input[pos + 1] << 8);
      else if (++missingWords > 2) throw badChunk('the bit stream ends early', { outPos });
      pos += 2;
      bits |= word << -extra;
      extra += 16;
    }
    const symbol = entry >>> 4;
    if (symbol < 256) {
      out[outPos++] = symbol;
      continue;
    }
    // A match (§2.2.4): low nibble = length header, high nibble = number of offset bits. Symbol
    // 256 is end-of-stream only once the output is complete, otherwise an ordinary match.
    let length = symbol & 0x0f;
    const offsetBits = (symbol >>> 4) & 0x0f;
    if (length === 15) {
      // Extra length bytes sit in the byte stream at the reader's current position.
      if (pos >= inLength) throw badChunk('a match length byte lies past the end', { outPos });
      length = input[pos++];
      if (length === 255) {
        if (pos + 1 >= inLength) throw badChunk('a match length word lies past the end', { outPos });
        length = input[pos] | (input[pos + 1] << 8);
        pos += 2;
        if (length === 0) {
          // Later MS-XCA revisions: a zero word escapes to a 32-bit length.
          if (pos + 3 >= inLength) throw badChunk('a match length dword lies past the end', { outPos });
          length = (input[pos] | (input[pos + 1] << 8) | (input[pos + 2] << 16)) + input[pos + 3] * 0x1000000;
          pos += 4;
        }
        if (length < 15) throw badChunk(`match length field ${length} is below 15`, { outPos });
        length -= 15;
      }
      length += 15;
    }
    length += MIN_MATCH;
    // Offset = 2^offsetBits + the next offsetBits bits (0 bits → offset 1). The bit-buffer refill
    // below is written out again on purpose: a shared helper would cost a call per symbol here.
    n = offsetBits;
    const offset = (1 << n) + (n === 0 ? 0 : bits >>> (32 - n));
    bits <<= n;
    extra -= n;
    if (extra < 0) {
      let word = 0;
      if (pos + 1 < inLength) word = input[pos] | (input[pos + 1] << 8);
      else if (++missingWords > 2) throw badChunk('the bit stream ends early', { outPos });
      pos += 2;
      bits |= word << -extra;
      extra += 16;
    }
    if (offset > outPos) throw badChunk(`match at output byte ${outPos} refers ${offset} bytes back, before the chunk start`, { outPos, offset });
    if (length > outputSize - outPos) throw badChunk(`match of ${length} bytes at output byte ${outPos} runs past the chunk end`, { outPos, length });
    let from = outPos - offset;
    if (offset >= length && length >= 32) {
      out.copyWithin(outPos, from, from + length);
      outPos += length;
    } else {
      const end = outPos + length;
      while (outPos < end) out[outPos++] = out[from++];
    }
  }
  // The reader holds extra+16 unconsumed bits, the newest of them from the zero words read past
  // the end; if fewer remain than those words supplied, bits past the input were consumed.
  if (missingWords * 16 > extra + 16) throw badChunk('the bit stream ends early', { outPos });
  return out;
};

// ---------------------------------------------------------------------------------------------
// Compression ([MS-XCA] §2.1): hash-chain match finder with one-step lazy matching, then an
// optimal length-limited (package-merge) Huffman code over the 512 symbols.

const HASH_BITS = 15;
const MAX_CHAIN = 24; // candidates examined per position
const NICE_LENGTH = 96; // stop searching once a match this long is found
const MAX_OFFSET = 65535; // 15 offset bits: 2^15 + (2^15 − 1)
const MAX_MATCH = 65535 + MIN_MATCH; // a 16-bit length field (§2.1)
const hashHead = new Int32Array(1 << HASH_BITS);
const chain = new Int32Array(XPRESS_MAX_CHUNK_SIZE);
const freqs = new Int32Array(NUM_SYMBOLS);
const encLengths = new Uint8Array(NUM_SYMBOLS);
const encCodes = new Int32Array(NUM_SYMBOLS);
// The parse: a literal is its byte value; a match is −length followed by its offset.
const items = new Int32Array(XPRESS_MAX_CHUNK_SIZE * 2);

function hash3(data: Uint8Array, i: number): number {
  return Math.imul(data[i] | (data[i + 1] << 8) | (data[i + 2] << 16), 0x9e3779b1) >>> (32 - HASH_BITS);
}

/** Adds positions [from, to) to the hash chains; returns `to`. */
function insertPositions(input: Uint8Array, from: number, to: number): number {
  for (let p = from; p < to; p++) {
    const h = hash3(input, p);
    chain[p] = hashHead[h];
    hashHead[h] = p;
  }
  return to;
}

let foundOffset = 0;

/** Longest match for position i among the chained earlier positions (≥ 3 bytes, else 0); its
 *  offset is left in `foundOffset`. Every position before i must already be inserted. */
function findLongestMatch(input: Uint8Array, i: number, n: number): number {
  const maxLength = Math.min(MAX_MATCH, n - i);
  if (maxLength < MIN_MATCH) return 0;
  let bestLength = MIN_MATCH - 1;
  let bestOffset = 0;
  let candidate = hashHead[hash3(input, i)];
  for (let depth = 0; candidate >= 0 && depth < MAX_CHAIN; depth++) {
    const offset = i - candidate;
    if (offset > MAX_OFFSET) break;
    // Check the byte that would make this candidate longer first, then the whole match.
    if (input[candidate + bestLength] === input[i + bestLength] && input[candidate] === input[i]) {
      let len = 1;
      while (len < maxLength && input[candidate + len] === input[i + len]) len++;
      if (len > bestLength) {
        bestLength = len;
        bestOffset = offset;
        if (len >= NICE_LENGTH || len === maxLength) break;
      }
    }
    candidate = chain[candidate];
  }
  foundOffset = bestOffset;
  return bestOffset === 0 ? 0 : bestLength;
}

/** The §2.1 bit writer. It mirrors the reader: two word slots are reserved ahead of the byte
 *  position, and a full word is stored only when a later write overflows it, so that raw bytes
 *  (long match lengths) land exactly where the reader will look for them. */
class BitWriter {
  slot1 = TABLE_SIZE;
  slot2 = TABLE_SIZE + 2;
  pos = TABLE_SIZE + 4;
  acc = 0;
  free = 16;
  constructor(readonly out: Uint8Array) {}

  writeBits(count: number, value: number): void {
    if (count <= this.free) {
      this.acc = (this.acc << count) | value;
      this.free -= count;
      return;
    }
    const rest = count - this.free;
    const word = (this.acc << this.free) | (value >>> rest);
    this.out[this.slot1] = word;
    this.out[this.slot1 + 1] = word >>> 8;
    this.slot1 = this.slot2;
    this.slot2 = this.pos;
    this.pos += 2;
    this.acc = value & ((1 << rest) - 1);
    this.free = 16 - rest;
  }

  writeByte(value: number): void {
    this.out[this.pos++] = value;
  }

  /** Stores the partial word (zero-padded) in the first slot and zeros in the second. */
  finish(): number {
    const word = this.acc << this.free;
    this.out[this.slot1] = word;
    this.out[this.slot1 + 1] = word >>> 8;
    this.out[this.slot2] = 0;
    this.out[this.slot2 + 1] = 0;
    return this.pos;
  }
}

/** Compresses one chunk (≤ 65536 bytes); undefined when the result would not be smaller. */
export const compressXpress: ChunkCompressor = (input) => {
  const n = input.length;
  if (n > XPRESS_MAX_CHUNK_SIZE) throw new RangeError(`XPRESS chunks hold at most ${XPRESS_MAX_CHUNK_SIZE} bytes, got ${n}`);
  if (n === 0) return undefined;

  // 1. LZ77 parse with one-step lazy evaluation: a match is taken unless the next position
  // has a longer one, in which case a literal goes first.
  freqs.fill(0);
  hashHead.fill(-1);
  const lastHashable = n - MIN_MATCH + 1; // hash3 reads 3 bytes
  let itemCount = 0;
  let inserted = 0;
  let i = 0;
  let length = 0;
  let offset = 0;
  let pending = false; // length/offset already describe position i
  while (i < n) {
    if (!pending) {
      inserted = insertPositions(input, inserted, Math.min(i, lastHashable));
      length = findLongestMatch(input, i, n);
      offset = foundOffset;
    }
    pending = false;
    if (length !== 0 && length < NICE_LENGTH && i + 1 < n) {
      inserted = insertPositions(input, inserted, Math.min(i + 1, lastHashable));
      const next = findLongestMatch(input, i + 1, n);
      if (next > length) {
        items[itemCount++] = input[i];
        freqs[input[i]]++;
        i++;
        length = next;
        offset = foundOffset;
        pending = true;
        continue;
      }
    }
    if (length === 0) {
      items[itemCount++] = input[i];
      freqs[input[i]]++;
      i++;
    } else {
      items[itemCount++] = -length;
      items[itemCount++] = offset;
      freqs[matchSymbol(length, offset)]++;
      i += length;
    }
  }
  freqs[EOF_SYMBOL]++;

  // 2. Code lengths ≤ 15 bits and canonical codes.
  limitedHuffmanLengths(freqs, encLengths, MAX_CODE_LENGTH);
  assignCanonicalCodes(encLengths, encCodes);

  // 3. Output (§2.1): the length table, then the items. Worst case is under 3 output
  // bytes per input byte; stop as soon as the output is no smaller than the input.
  const out = new Uint8Array(TABLE_SIZE + 3 * n + 16);
  for (let k = 0; k < TABLE_SIZE; k++) out[k] = encLengths[2 * k] | (encLengths[2 * k + 1] << 4);
  const writer = new BitWriter(out);
  for (let k = 0; k < itemCount; k++) {
    const item = items[k];
    if (item >= 0) {
      writer.writeBits(encLengths[item], encCodes[item]);
      continue;
    }
    const matchLength = -item;
    const matchOffset = items[++k];
    const symbol = matchSymbol(matchLength, matchOffset);
    writer.writeBits(encLengths[symbol], encCodes[symbol]);
    const extraLength = matchLength - MIN_MATCH;
    if (extraLength >= 15) {
      if (extraLength - 15 < 255) {
        writer.writeByte(extraLength - 15);
      } else {
        writer.writeByte(255);
        writer.writeByte(extraLength & 0xff);
        writer.writeByte(extraLength >>> 8);
      }
    }
    const offsetBits = (symbol >>> 4) & 0x0f;
    writer.writeBits(offsetBits, matchOffset - (1 << offsetBits));
    if (writer.pos >= n) return undefined;
  }
  writer.writeBits(encLengths[EOF_SYMBOL], encCodes[EOF_SYMBOL]);
  const size = writer.finish();
  return size < n ? out.slice(0, size) : undefined;
};

/** Match symbol (§2.1): 256 + 16·⌊log2 offset⌋ + min(length − 3, 15). */
function matchSymbol(length: number, offset: number): number {
  const offsetBits = 31 - Math.clz32(offset);
  return 256 + (offsetBits << 4) + Math.min(length - MIN_MATCH, 15);
}

/** Optimal prefix code lengths no longer than `maxLength`: a plain Huffman code when it fits,
 *  else package-merge (Larmore–Hirschberg). Zero-frequency symbols get length 0; a lone symbol 1. */
export function limitedHuffmanLengths(frequencies: ArrayLike<number>, lengths: Uint8Array, maxLength: number): void {
  lengths.fill(0);
  const leaves: number[] = [];
  for (let s = 0; s < frequencies.length; s++) if (frequencies[s] > 0) leaves.push(s);
  if (leaves.length === 0) return;
  if (leaves.length === 1) {
    lengths[leaves[0]] = 1;
    return;
  }
  leaves.sort((a, b) => frequencies[a] - frequencies[b] || a - b);
  const m = leaves.length;
  if (plainHuffmanLengths(frequencies, leaves, lengths) <= maxLength) return;
  lengths.fill(0);
  // Nodes 0…m−1 are the leaves; packages are appended with two children each.
  const weight: number[] = leaves.map((s) => frequencies[s]);
  const left: number[] = new Array(m).fill(-1);
  const right: number[] = new Array(m).fill(-1);
  let list: number[] = leaves.map((_, k) => k);
  for (let level = 1; level < maxLength; level++) {
    const merged: number[] = [];
    let a = 0; // next leaf
    let p = 0; // next pair of the previous list
    while (a < m || p + 1 < list.length) {
      const pairWeight = p + 1 < list.length ? weight[list[p]] + weight[list[p + 1]] : Number.POSITIVE_INFINITY;
      if (a < m && weight[a] <= pairWeight) {
        merged.push(a++);
      } else {
        const node = weight.length;
        weight.push(pairWeight);
        left.push(list[p]);
        right.push(list[p + 1]);
        merged.push(node);
        p += 2;
      }
    }
    list = merged;
  }
  // Every appearance of a leaf in the first 2m − 2 items adds one to its code length.
  const stack: number[] = list.slice(0, 2 * m - 2);
  while (stack.length > 0) {
    const node = stack.pop() as number;
    if (node < m) lengths[leaves[node]]++;
    else stack.push(left[node], right[node]);
  }
}

/** Plain Huffman code lengths by the two-queue method over leaves sorted by weight; returns the
 *  longest length. Internal nodes are created in increasing weight order, so each one's parent
 *  has a higher index and depths follow in one backward pass. */
function plainHuffmanLengths(frequencies: ArrayLike<number>, leaves: number[], lengths: Uint8Array): number {
  const m = leaves.length;
  const weight = new Float64Array(2 * m - 1);
  const parent = new Int32Array(2 * m - 1);
  for (let k = 0; k < m; k++) weight[k] = frequencies[leaves[k]];
  let leaf = 0;
  let internal = m;
  for (let node = m; node < 2 * m - 1; node++) {
    let sum = 0;
    for (let pick = 0; pick < 2; pick++) {
      const child = leaf < m && (internal >= node || weight[leaf] <= weight[internal]) ? leaf++ : internal++;
      parent[child] = node;
      sum += weight[child];
    }
    weight[node] = sum;
  }
  const depth = new Uint8Array(2 * m - 1);
  let longest = 0;
  for (let node = 2 * m - 3; node >= 0; node--) {
    depth[node] = depth[parent[node]] + 1;
    if (node < m) {
      lengths[leaves[node]] = depth[node];
      if (depth[node] > longest) longest = depth[node];
    }
  }
  return longest;
}
