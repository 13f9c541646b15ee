// The contract between the WIM resource reader and the chunk codecs. WIM compresses every chunk
// independently (wimlib resource.h: no state carries from one chunk to the next), so a
// decompressor is a pure function from one compressed chunk to its known uncompressed size.
// Decompressors throw FormatError (DF_WIM_BAD_CHUNK…) on any malformed input, never loop.

/** Decompresses one chunk; `outputSize` is the chunk's uncompressed size (≤ the chunk size). */
export type ChunkDecompressor = (input: Uint8Array, outputSize: number) => Uint8Array;

/** Compresses one chunk; returns undefined when the result would not be smaller (WIM then
 *  stores the chunk uncompressed, as wimlib and WIMGAPI do). */
export type ChunkCompressor = (input: Uint8Array) => Uint8Array | undefined;
