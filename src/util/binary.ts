// Little helpers for reading fixed-layout structures out of byte arrays. Readers use these
// instead of DataView boilerplate; every read is bounds-checked by the array itself (a read past
// the end throws a FormatError through `need`).
import { FormatError } from '../errors.js';

export function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

// Parsers call the helpers below hundreds of thousands of times on one buffer (a WIM image's
// metadata); one DataView and one Buffer view of the last buffer seen are kept rather than a new
// view made per call, which would be most of the garbage such a parse makes.
let viewBytes: Uint8Array | undefined;
let lastView: DataView | undefined;
let bufferBytes: Uint8Array | undefined;
let lastBuffer: Buffer | undefined;
function dataViewOf(bytes: Uint8Array): DataView {
  if (bytes !== viewBytes) {
    viewBytes = bytes;
    lastView = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  return lastView as DataView;
}
function bufferOf(bytes: Uint8Array): Buffer {
  if (bytes !== bufferBytes) {
    bufferBytes = bytes;
    lastBuffer = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  return lastBuffer as Buffer;
}

/** Bytes [start, end) as lowercase hex. */
export function hexOf(b: Uint8Array, start: number, end: number): string {
  need(b, end, 'structure');
  return bufferOf(b).toString('hex', start, end);
}

/** Throws DF_TRUNCATED unless `bytes` holds at least `end` bytes. */
export function need(bytes: Uint8Array, end: number, what: string): void {
  if (end > bytes.length || end < 0) {
    throw new FormatError('DF_TRUNCATED', `${what} is truncated: needs ${end} bytes, has ${bytes.length}`, { end, have: bytes.length });
  }
}

export function u16le(b: Uint8Array, o: number): number {
  need(b, o + 2, 'structure');
  return b[o] | (b[o + 1] << 8);
}
export function u32le(b: Uint8Array, o: number): number {
  need(b, o + 4, 'structure');
  return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16)) + b[o + 3] * 0x1000000;
}
export function i32le(b: Uint8Array, o: number): number {
  need(b, o + 4, 'structure');
  return b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24);
}
/** 64-bit little-endian as a number; values past 2^53 are rejected as corrupt. */
export function u64le(b: Uint8Array, o: number): number {
  const lo = u32le(b, o);
  const hi = u32le(b, o + 4);
  const value = hi * 0x100000000 + lo;
  if (!Number.isSafeInteger(value)) {
    throw new FormatError('DF_BAD_NUMBER', `64-bit field at ${o} holds ${hi.toString(16)}${lo.toString(16).padStart(8, '0')}h, too large to be real`, { offset: o });
  }
  return value;
}
/** 64-bit little-endian as a bigint (for fields like FILETIME that may be huge). */
export function u64leBig(b: Uint8Array, o: number): bigint {
  need(b, o + 8, 'structure');
  return dataViewOf(b).getBigUint64(o, true);
}
export function u16be(b: Uint8Array, o: number): number {
  need(b, o + 2, 'structure');
  return (b[o] << 8) | b[o + 1];
}
export function u32be(b: Uint8Array, o: number): number {
  need(b, o + 4, 'structure');
  return b[o] * 0x1000000 + ((b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]);
}
export function u64be(b: Uint8Array, o: number): number {
  const hi = u32be(b, o);
  const lo = u32be(b, o + 4);
  const value = hi * 0x100000000 + lo;
  if (!Number.isSafeInteger(value)) {
    throw new FormatError('DF_BAD_NUMBER', `64-bit field at ${o} is too large to be real`, { offset: o });
  }
  return value;
}
export function ascii(b: Uint8Array, start: number, end: number): string {
  need(b, end, 'structure');
  let s = '';
  for (let i = start; i < end; i++) s += String.fromCharCode(b[i]);
  return s;
}
export function startsWith(b: Uint8Array, magic: string, at = 0): boolean {
  if (b.length < at + magic.length) return false;
  for (let i = 0; i < magic.length; i++) if (b[at + i] !== magic.charCodeAt(i)) return false;
  return true;
}
export function utf16le(b: Uint8Array, start: number, end: number): string {
  need(b, end, 'structure');
  return bufferOf(b).toString('utf16le', start, end);
}

/** Windows FILETIME (100 ns ticks since 1601-01-01 UTC) to an ISO date string, or null for 0/invalid. */
export function filetimeToIso(ticks: bigint): string | null {
  if (ticks === 0n) return null;
  const ms = Number(ticks / 10000n) - 11644473600000;
  const date = new Date(ms);
  if (Number.isNaN(date.getTime()) || ms < -62135596800000 || ms > 253402300799000) return null;
  return date.toISOString();
}

/** The same memory as a plain Uint8Array: a Buffer's subarray() makes Buffers, several times
 *  slower to create than typed-array views, and a hive parser makes millions of them. */
export function plainBytes(b: Uint8Array): Uint8Array {
  return Buffer.isBuffer(b) ? new Uint8Array(b.buffer, b.byteOffset, b.byteLength) : b;
}
