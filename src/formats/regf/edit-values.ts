// Value data in an edited hive: storing bytes inline (≤ 4), in one data cell, or as a db
// big-data record with segments (minor > 3, over 16344 bytes), and freeing whichever of these a
// vk points to (Suhanov §Key value, §Big data). It does not manage vk cells or values lists.
import { FormatError } from '../../errors.js';
import type { CellSpace } from './cell-space.js';
import { BIG_DATA_SEGMENT_SIZE, NO_CELL, VALUE_DATA_INLINE } from './constants.js';

/** The vk's data-size field and the four bytes of its data-offset field. */
export interface StoredData {
  sizeField: number;
  offsetField: Uint8Array;
}

/** Largest data a db can describe: its segment count is a uint16. */
export const MAX_BIG_DATA = 0xffff * BIG_DATA_SEGMENT_SIZE;

export function storeValueData(space: CellSpace, minorVersion: number, data: Uint8Array): StoredData {
  const offsetField = new Uint8Array(4);
  if (data.length <= 4) {
    // Inline: size with the MSB set, bytes in the offset field (Suhanov §Key value, Data size).
    offsetField.set(data);
    return { sizeField: (VALUE_DATA_INLINE | data.length) >>> 0, offsetField };
  }
  const at = minorVersion > 3 && data.length > BIG_DATA_SEGMENT_SIZE ? storeBigData(space, data) : storeCell(space, data);
  new DataView(offsetField.buffer).setUint32(0, at, true);
  return { sizeField: data.length, offsetField };
}

function storeCell(space: CellSpace, data: Uint8Array): number {
  const cell = space.alloc(data.length);
  space.write(cell, 0, data);
  return cell;
}

/** db record + list of segment offsets + segments of 16344 bytes (Suhanov §Big data). */
function storeBigData(space: CellSpace, data: Uint8Array): number {
  const count = Math.ceil(data.length / BIG_DATA_SEGMENT_SIZE);
  const db = space.alloc(8);
  const list = space.alloc(4 * count);
  space.write(db, 0, new Uint8Array([0x64, 0x62])); // "db"
  space.setU16(db, 2, count);
  space.setU32(db, 4, list);
  for (let i = 0; i < count; i++) {
    const segment = data.subarray(i * BIG_DATA_SEGMENT_SIZE, Math.min(data.length, (i + 1) * BIG_DATA_SEGMENT_SIZE));
    // ≥ 4 spare bytes per segment, as full segments get by alignment (16344 + 4 → 16352):
    // hivex takes a segment's length as its cell size − 8 (lib/value.c) and would cut a tight one.
    const cell = space.alloc(segment.length + 4);
    space.write(cell, 0, segment);
    space.setU32(list, 4 * i, cell);
  }
  return db;
}

/** Frees the data cells of the vk at `vk` (nothing for inline data). The reader's rule decides
 *  what the offset points to: a cell too small for the declared size is a db record. */
export function freeValueData(space: CellSpace, vk: number): void {
  const sizeField = space.u32(vk, 4);
  const size = sizeField & 0x7fffffff;
  if (sizeField >= VALUE_DATA_INLINE || size === 0) return;
  const at = space.u32(vk, 8);
  if (at === NO_CELL) return;
  space.cells.cell(at, 'value data');
  const isDb = size > space.payloadSize(at) && space.payloadSize(at) >= 8 && space.u16(at, 0) === 0x6264; // "db" LE
  if (isDb) {
    const count = space.u16(at, 2);
    const list = space.u32(at, 4);
    if (space.cells.cell(list, 'big-data segment list').length < 4 * count) {
      throw new FormatError('DF_HIVE_BAD_BIG_DATA', `${space.name}: segment list at 0x${list.toString(16)} holds fewer than ${count} entries; the hive is corrupt`, {
        offset: list,
      });
    }
    for (let i = 0; i < count; i++) {
      const segment = space.u32(list, 4 * i);
      space.cells.cell(segment, 'big-data segment');
      space.free(segment);
    }
    space.free(list);
  }
  space.free(at);
}
