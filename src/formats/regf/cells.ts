// Hive bins and cells: finds the bins once (a cheap walk over bin headers) and hands out the
// payload of an allocated cell by its offset, checking that it lies wholly inside one bin.
// It does not interpret cell contents or track free space; records are parsed elsewhere.
import { FormatError } from '../../errors.js';
import { i32le, startsWith, u32le } from '../../util/binary.js';
import { BASE_BLOCK_SIZE, CELL_ALIGNMENT, HBIN_ALIGNMENT, HBIN_HEADER_SIZE, SIGNATURE } from './constants.js';

export interface HiveBin {
  /** Relative to the start of hive-bins data (file offset − 4096). */
  offset: number;
  size: number;
}

const hex = (n: number) => `0x${n.toString(16)}`;

export class HiveCells {
  /** Bins in file order (binary-searched by binAt). */
  readonly bins: readonly HiveBin[];
  /** Set when the bin walk stopped early at a damaged bin header; cells past it are unreachable. */
  readonly binError: FormatError | undefined;

  constructor(
    /** The whole file, base block included. */
    readonly bytes: Uint8Array,
    /** Bytes of hive-bins data the base block declares. */
    readonly dataSize: number,
    readonly name = 'hive',
    /** Bins already known to tile [0, dataSize) — an editor that appends bins passes its list
     *  so the view is not rebuilt by walking every bin header again. */
    knownBins?: readonly HiveBin[],
  ) {
    if (knownBins) {
      this.bins = knownBins;
      this.binError = undefined;
      return;
    }
    const bins: HiveBin[] = [];
    let binError: FormatError | undefined;
    let at = 0;
    // Bin sizes are ≥ 4 KiB, so this loop runs at most dataSize / 4096 times.
    while (at < dataSize) {
      const file = BASE_BLOCK_SIZE + at;
      if (!startsWith(bytes, SIGNATURE.hbin, file) || file + HBIN_HEADER_SIZE > bytes.length) {
        binError = new FormatError('DF_HIVE_BAD_BIN', `${name}: no hive bin signature at data offset ${hex(at)}; the hive is corrupt`, { offset: at });
        break;
      }
      const selfOffset = u32le(bytes, file + 4);
      const size = u32le(bytes, file + 8);
      if (selfOffset !== at || size < HBIN_ALIGNMENT || size % HBIN_ALIGNMENT !== 0 || at + size > dataSize || file + size > bytes.length) {
        binError = new FormatError(
          'DF_HIVE_BAD_BIN',
          `${name}: hive bin at data offset ${hex(at)} has offset field ${hex(selfOffset)} and size ${hex(size)}; the hive is corrupt`,
          { offset: at, selfOffset, size },
        );
        break;
      }
      bins.push({ offset: at, size });
      at += size;
    }
    this.bins = bins;
    this.binError = binError;
  }

  /** The bin that contains data offset `offset`, or undefined. */
  binAt(offset: number): HiveBin | undefined {
    let lo = 0;
    let hi = this.bins.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const bin = this.bins[mid];
      if (offset < bin.offset) hi = mid - 1;
      else if (offset >= bin.offset + bin.size) lo = mid + 1;
      else return bin;
    }
    return undefined;
  }

  /** Payload (after the 4-byte size) of the allocated cell at data offset `offset`.
   *  `what` names the record for the error message ("subkey list of key X"). */
  cell(offset: number, what: string): Uint8Array {
    if (!Number.isInteger(offset) || offset < 0 || offset % CELL_ALIGNMENT !== 0) {
      throw new FormatError('DF_HIVE_BAD_CELL', `${this.name}: ${what} points to ${hex(offset)}, which is not a cell offset; the hive is corrupt`, { offset, what });
    }
    const bin = this.binAt(offset);
    // (The bin list may be shared with an editor that appended bins since this view was made;
    // a bin past this view's data is outside it.)
    if (!bin || offset < bin.offset + HBIN_HEADER_SIZE || bin.offset + bin.size > this.dataSize) {
      throw new FormatError('DF_HIVE_BAD_CELL', `${this.name}: ${what} points to ${hex(offset)}, outside every hive bin; the hive is corrupt`, { offset, what });
    }
    const file = BASE_BLOCK_SIZE + offset;
    const rawSize = i32le(this.bytes, file);
    // Negative size = allocated (Suhanov §Cell); a record in a free cell is stale.
    if (rawSize >= 0) {
      throw new FormatError('DF_HIVE_BAD_CELL', `${this.name}: ${what} points to a free cell at ${hex(offset)}; the hive is corrupt`, { offset, what });
    }
    const size = -rawSize;
    if (size < CELL_ALIGNMENT || offset + size > bin.offset + bin.size) {
      throw new FormatError('DF_HIVE_BAD_CELL', `${this.name}: cell at ${hex(offset)} (${what}) has size ${size}, which runs past the end of its bin; the hive is corrupt`, {
        offset,
        size,
        what,
      });
    }
    return this.bytes.subarray(file + 4, file + size);
  }
}
