// The mutable cell space of a hive being edited: a private copy of the file, the free cells of
// every bin (found once, then kept up to date), best-fit allocation with splitting, freeing with
// coalescing, appended bins, and an undo journal so a failed edit can be rolled back. It knows
// nothing about records (nk, vk, lists); edit-*.ts and hive-edit.ts give cells their meaning.
import { FormatError } from '../../errors.js';
import { i32le, startsWith, u32le } from '../../util/binary.js';
import { type HiveBin, HiveCells } from './cells.js';
import { BASE_BLOCK_SIZE, CELL_ALIGNMENT, HBIN_ALIGNMENT, HBIN_HEADER_SIZE, SIGNATURE } from './constants.js';

const hex = (n: number) => `0x${n.toString(16)}`;
/** Base-block field holding the hive-bins data size (Suhanov §Base block, offset 40). */
const HIVE_BINS_SIZE_FIELD = 40;

/** Cell size for a payload: 4-byte size field plus payload, rounded up to 8 (Suhanov §Cell). */
export function cellSizeFor(payload: number): number {
  return (4 + payload + CELL_ALIGNMENT - 1) & ~(CELL_ALIGNMENT - 1);
}

/** Size classes are 8 bytes wide (cell sizes are multiples of 8); cells of 16 KiB and more share
 *  the last class. */
const LARGE_CLASS = 2048;
function sizeClassOf(size: number): number {
  return Math.min(size >>> 3, LARGE_CLASS);
}

/** Room for a hive of `size` bytes and the bins typical edits append (1/16 more, at least 64 KiB). */
export function spareSizeFor(size: number): number {
  return size + Math.max(64 * 1024, size >>> 4);
}

export class CellSpace {
  /** Backing store; may be longer than the hive (spare capacity for appended bins). */
  private buf: Uint8Array;
  private dv: DataView;
  /** Bytes of hive-bins data (mirrors base block offset 40). */
  dataSize: number;
  /** Free cells: start → size, and end → start for finding the left neighbour when coalescing. */
  private readonly freeByStart = new Map<number, number>();
  private readonly freeByEnd = new Map<number, number>();
  /** Free cells by size class (size / 8, all ≥ 16 KiB in the last class) with a bitmap of the
   *  classes that have any, so a best-fit allocation finds its cell without scanning every free
   *  cell (hives from real systems hold many thousands). */
  private readonly freeBySize = new Map<number, Set<number>>();
  private readonly sizeClassesUsed = new Uint32Array((LARGE_CLASS >>> 5) + 1);
  private cellsView: HiveCells | undefined;
  /** The bins as last walked plus those appended since, so appending one bin does not walk all. */
  private knownBins: HiveBin[] | undefined;
  /** Undo journal of the current operation: original bytes of every region overwritten. */
  private journal: { at: number; old: Uint8Array }[] | undefined;
  private journalDataSize = 0;

  constructor(
    bytes: Uint8Array,
    readonly name: string,
    /** Memory the caller hands over: the hive in its first bytes.length bytes (bytes is a view
     *  of its start), spare room after. Used as the working copy, so nothing is copied. */
    owned?: Uint8Array,
  ) {
    if (owned) {
      if (owned.buffer !== bytes.buffer || owned.byteOffset !== bytes.byteOffset || owned.length < bytes.length) {
        throw new Error('internal: the owned working copy must start with the hive bytes');
      }
      this.buf = owned;
    } else {
      // Copy: the caller's array must never change; the copy keeps 1/16 spare so typical edits
      // append bins without reallocating (and copying) a large hive.
      // Not zero-filled first (a 100 MB hive would be written twice): appendBin zeroes each bin
      // it takes from the spare room.
      const spare = Buffer.allocUnsafe(spareSizeFor(bytes.length));
      this.buf = new Uint8Array(spare.buffer, spare.byteOffset, spare.length);
      this.buf.set(bytes);
    }
    this.dv = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
    this.dataSize = this.dv.getUint32(HIVE_BINS_SIZE_FIELD, true);
    this.scanFreeCells();
  }

  /** The hive file as it stands (base block + bins), a view of the working copy. */
  get file(): Uint8Array {
    return this.buf.subarray(0, BASE_BLOCK_SIZE + this.dataSize);
  }

  /** A reader over the working copy, rebuilt only when bins were added (HiveCells reads cell
   *  contents on demand, so in-place writes show through). */
  get cells(): HiveCells {
    if (!this.cellsView) {
      this.cellsView = new HiveCells(this.file, this.dataSize, this.name, this.knownBins);
      if (!this.cellsView.binError && !this.knownBins) this.knownBins = [...this.cellsView.bins];
    }
    return this.cellsView;
  }

  /** Walks every bin and cell once: records free cells and refuses cells that do not tile
   *  their bin exactly, since allocating inside a damaged bin would corrupt it further. */
  private scanFreeCells(): void {
    this.freeByStart.clear();
    this.freeByEnd.clear();
    this.freeBySize.clear();
    this.sizeClassesUsed.fill(0);
    const b = this.buf;
    let bin = 0;
    while (bin < this.dataSize) {
      const file = BASE_BLOCK_SIZE + bin;
      if (!startsWith(b, SIGNATURE.hbin, file)) {
        throw new FormatError('DF_HIVE_BAD_BIN', `${this.name}: no hive bin signature at data offset ${hex(bin)}; the hive is corrupt`, { offset: bin });
      }
      const size = u32le(b, file + 8);
      if (u32le(b, file + 4) !== bin || size < HBIN_ALIGNMENT || size % HBIN_ALIGNMENT !== 0 || bin + size > this.dataSize) {
        throw new FormatError('DF_HIVE_BAD_BIN', `${this.name}: hive bin at data offset ${hex(bin)} has a bad offset or size; the hive is corrupt`, { offset: bin });
      }
      let at = bin + HBIN_HEADER_SIZE;
      const end = bin + size;
      let runStart = -1;
      while (at < end) {
        const raw = i32le(b, BASE_BLOCK_SIZE + at);
        const cellSize = Math.abs(raw);
        if (cellSize < CELL_ALIGNMENT || cellSize % CELL_ALIGNMENT !== 0 || at + cellSize > end) {
          throw new FormatError('DF_HIVE_BAD_CELL', `${this.name}: cell at ${hex(at)} has size ${raw}, which does not fit its bin; the hive is corrupt`, { offset: at });
        }
        // Adjacent free cells Windows left unmerged are merged here (Suhanov §Cell: free
        // neighbours are coalesced), so later best-fit searches see the real holes.
        if (raw > 0) {
          if (runStart < 0) runStart = at;
        } else if (runStart >= 0) {
          this.addFree(runStart, at - runStart, true);
          runStart = -1;
        }
        at += cellSize;
      }
      if (runStart >= 0) this.addFree(runStart, end - runStart, true);
      bin = end;
    }
  }

  private addFree(offset: number, size: number, writeHeader: boolean): void {
    this.freeByStart.set(offset, size);
    this.freeByEnd.set(offset + size, offset);
    const sizeClass = sizeClassOf(size);
    let cells = this.freeBySize.get(sizeClass);
    if (!cells) {
      cells = new Set();
      this.freeBySize.set(sizeClass, cells);
      this.sizeClassesUsed[sizeClass >>> 5] |= 1 << (sizeClass & 31);
    }
    cells.add(offset);
    if (writeHeader) this.setI32Raw(offset, size);
  }

  private removeFree(offset: number): void {
    const size = this.freeByStart.get(offset);
    if (size === undefined) return;
    this.freeByStart.delete(offset);
    this.freeByEnd.delete(offset + size);
    const sizeClass = sizeClassOf(size);
    const cells = this.freeBySize.get(sizeClass);
    cells?.delete(offset);
    if (cells && cells.size === 0) {
      this.freeBySize.delete(sizeClass);
      this.sizeClassesUsed[sizeClass >>> 5] &= ~(1 << (sizeClass & 31));
    }
  }

  /** The smallest free cell of at least `need` bytes (lowest offset among the large ones), or -1. */
  private findFit(need: number): number {
    for (let sizeClass = sizeClassOf(need); sizeClass < LARGE_CLASS; sizeClass++) {
      const word = this.sizeClassesUsed[sizeClass >>> 5] >>> (sizeClass & 31);
      if (word === 0) {
        sizeClass = (sizeClass | 31) as number; // nothing more in this 32-class word
        continue;
      }
      sizeClass += 31 - Math.clz32(word & -word);
      if (sizeClass >= LARGE_CLASS) break;
      const cells = this.freeBySize.get(sizeClass);
      if (cells) for (const offset of cells) return offset;
    }
    let best = -1;
    let bestSize = Number.POSITIVE_INFINITY;
    for (const offset of this.freeBySize.get(LARGE_CLASS) ?? []) {
      const size = this.freeByStart.get(offset) as number;
      if (size >= need && (size < bestSize || (size === bestSize && offset < best))) {
        best = offset;
        bestSize = size;
      }
    }
    return best;
  }

  // -------------------------------------------------------------------------------------------
  // Journaled writes. Every change to the file goes through here so rollback() can undo it.

  private remember(at: number, length: number): void {
    // Bytes past the old end vanish on rollback anyway; no need to keep them.
    if (!this.journal || at >= BASE_BLOCK_SIZE + this.journalDataSize) return;
    this.journal.push({ at, old: this.buf.slice(at, at + length) });
  }

  private setI32Raw(offset: number, value: number): void {
    const at = BASE_BLOCK_SIZE + offset;
    this.remember(at, 4);
    this.dv.setInt32(at, value, true);
  }

  /** Starts recording an operation; commit() forgets the record, rollback() undoes it. */
  begin(): void {
    this.journal = [];
    this.journalDataSize = this.dataSize;
  }

  commit(): void {
    this.journal = undefined;
  }

  rollback(): void {
    const journal = this.journal;
    if (!journal) return;
    this.journal = undefined;
    for (let i = journal.length - 1; i >= 0; i--) this.buf.set(journal[i].old, journal[i].at);
    if (this.dataSize !== this.journalDataSize) {
      this.dataSize = this.journalDataSize;
      this.cellsView = undefined;
      this.knownBins = undefined;
    }
    this.scanFreeCells();
  }

  /** Writes into the base block (file offsets 0..4095). */
  writeHeader(at: number, bytes: Uint8Array): void {
    this.remember(at, bytes.length);
    this.buf.set(bytes, at);
  }

  headerU32(at: number): number {
    return this.dv.getUint32(at, true);
  }

  setHeaderU32(at: number, value: number): void {
    this.remember(at, 4);
    this.dv.setUint32(at, value >>> 0, true);
  }

  // Field access inside a cell's payload: `cell` is the cell's data offset, `field` the offset
  // within the payload (after the 4-byte size), as the spec tables count them.

  payloadSize(cell: number): number {
    return -i32le(this.buf, BASE_BLOCK_SIZE + cell) - 4;
  }

  u16(cell: number, field: number): number {
    return this.dv.getUint16(BASE_BLOCK_SIZE + cell + 4 + field, true);
  }

  u32(cell: number, field: number): number {
    return this.dv.getUint32(BASE_BLOCK_SIZE + cell + 4 + field, true);
  }

  setU16(cell: number, field: number, value: number): void {
    const at = BASE_BLOCK_SIZE + cell + 4 + field;
    this.remember(at, 2);
    this.dv.setUint16(at, value, true);
  }

  setU32(cell: number, field: number, value: number): void {
    const at = BASE_BLOCK_SIZE + cell + 4 + field;
    this.remember(at, 4);
    this.dv.setUint32(at, value >>> 0, true);
  }

  setU64(cell: number, field: number, value: bigint): void {
    const at = BASE_BLOCK_SIZE + cell + 4 + field;
    this.remember(at, 8);
    this.dv.setBigUint64(at, value, true);
  }

  write(cell: number, field: number, bytes: Uint8Array): void {
    const at = BASE_BLOCK_SIZE + cell + 4 + field;
    this.remember(at, bytes.length);
    this.buf.set(bytes, at);
  }

  /** A copy of `length` payload bytes (a copy, because the backing store moves when it grows). */
  read(cell: number, field: number, length: number): Uint8Array {
    const at = BASE_BLOCK_SIZE + cell + 4 + field;
    return this.buf.slice(at, at + length);
  }

  // -------------------------------------------------------------------------------------------
  // Allocation

  /** Allocates a zero-filled cell with room for `payload` bytes; returns its data offset. Best
   *  fit among free cells (ties: lowest offset, which keeps data near the start of the file),
   *  else a new bin at the end. */
  alloc(payload: number): number {
    const need = cellSizeFor(payload);
    let best = this.findFit(need);
    if (best < 0) best = this.appendBin(need);
    const bestSize = this.freeByStart.get(best) as number;
    this.removeFree(best);
    // Split when the rest can stand as a cell of its own (≥ 8 bytes); otherwise the allocation
    // keeps the slack, as no cell smaller than 8 bytes can exist.
    let size = bestSize;
    if (bestSize - need >= CELL_ALIGNMENT) {
      size = need;
      this.addFree(best + need, bestSize - need, true);
    }
    this.setI32Raw(best, -size);
    this.write(best, 0, new Uint8Array(size - 4));
    return best;
  }

  /** Marks the cell free, zeroes its payload (no stale records for recovery tools to find) and
   *  merges it with free neighbours in the same bin. Free cells never span bins: the next bin
   *  starts with its header, which is never a cell start, so the maps cannot link across. */
  free(cell: number): void {
    const raw = i32le(this.buf, BASE_BLOCK_SIZE + cell);
    if (raw >= 0) {
      throw new FormatError('DF_HIVE_BAD_CELL', `${this.name}: the cell at ${hex(cell)} is freed twice; the hive is corrupt`, { offset: cell });
    }
    let start = cell;
    let size = -raw;
    this.write(cell, 0, new Uint8Array(size - 4));
    const right = this.freeByStart.get(start + size);
    if (right !== undefined) {
      this.removeFree(start + size);
      size += right;
    }
    const left = this.freeByEnd.get(start);
    if (left !== undefined) {
      size += start - left;
      this.removeFree(left);
      start = left;
    }
    this.addFree(start, size, true);
  }

  /** Gives the cell room for `payload` bytes, keeping its first `keep` payload bytes. Shrinks
   *  in place (the cut-off tail becomes free); grows in place into a free right neighbour when
   *  possible, else moves. Returns the (possibly new) offset. */
  realloc(cell: number, payload: number, keep: number): number {
    const have = -i32le(this.buf, BASE_BLOCK_SIZE + cell);
    const need = cellSizeFor(payload);
    if (need <= have) {
      if (have - need >= CELL_ALIGNMENT) {
        this.setI32Raw(cell, -need);
        this.setI32Raw(cell + need, -(have - need));
        this.free(cell + need);
      }
      return cell;
    }
    const right = this.freeByStart.get(cell + have);
    if (right !== undefined && have + right >= need) {
      this.removeFree(cell + have);
      let size = have + right;
      if (size - need >= CELL_ALIGNMENT) {
        this.addFree(cell + need, size - need, true);
        size = need;
      }
      this.setI32Raw(cell, -size);
      this.write(cell, have - 4, new Uint8Array(size - have));
      return cell;
    }
    const moved = this.alloc(payload);
    this.write(moved, 0, this.read(cell, 0, Math.min(keep, have - 4)));
    this.free(cell);
    return moved;
  }

  /** Appends an hbin big enough for a cell of `cellSize` bytes (4 KiB multiples, Suhanov §Hive
   *  bin); its space becomes one free cell, whose offset is returned. */
  private appendBin(cellSize: number): number {
    const binSize = Math.ceil((HBIN_HEADER_SIZE + cellSize) / HBIN_ALIGNMENT) * HBIN_ALIGNMENT;
    const binOffset = this.dataSize;
    const end = BASE_BLOCK_SIZE + binOffset + binSize;
    if (end > this.buf.length) {
      // Grow by a quarter: amortised like doubling, without doubling a 100 MB hive's footprint.
      const grown = new Uint8Array(Math.max(end, this.buf.length + (this.buf.length >>> 2)));
      grown.set(this.buf.subarray(0, BASE_BLOCK_SIZE + this.dataSize));
      this.buf = grown;
      this.dv = new DataView(grown.buffer);
    }
    const at = BASE_BLOCK_SIZE + binOffset;
    this.buf.fill(0, at, end);
    this.buf.set([0x68, 0x62, 0x69, 0x6e], at); // "hbin"
    this.dv.setUint32(at + 4, binOffset, true);
    this.dv.setUint32(at + 8, binSize, true);
    // The timestamp at 20 is meaningful only in the first bin; new bins leave it 0.
    this.dataSize += binSize;
    this.setHeaderU32(HIVE_BINS_SIZE_FIELD, this.dataSize);
    this.cellsView = undefined;
    this.knownBins?.push({ offset: binOffset, size: binSize });
    this.addFree(binOffset + HBIN_HEADER_SIZE, binSize - HBIN_HEADER_SIZE, true);
    return binOffset + HBIN_HEADER_SIZE;
  }

  /** Free cells as [offset, size], sorted; for tests and statistics. */
  freeCells(): [number, number][] {
    return [...this.freeByStart].sort((a, b) => a[0] - b[0]);
  }
}
