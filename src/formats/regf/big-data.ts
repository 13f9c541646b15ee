// The db (big data) record: value data over 16344 bytes split into segments, in hives with
// minor version > 3. It only reassembles the bytes; choosing between db and a plain data cell is
// value.ts's job.
import { FormatError } from '../../errors.js';
import { startsWith, u16le, u32le } from '../../util/binary.js';
import type { HiveCells } from './cells.js';
import { BIG_DATA_SEGMENT_SIZE, SIGNATURE } from './constants.js';

const hex = (n: number) => `0x${n.toString(16)}`;

export function isBigDataCell(cell: Uint8Array): boolean {
  return cell.length >= 8 && startsWith(cell, SIGNATURE.bigData);
}

/** Concatenates `length` bytes from the segments of the db cell `dbCell` (Suhanov §Big data). */
export function readBigData(cells: HiveCells, dbCell: Uint8Array, dbOffset: number, length: number, what: string): Uint8Array {
  const segmentCount = u16le(dbCell, 2);
  const listOffset = u32le(dbCell, 4);
  // Check the declared size against what the segments can hold before allocating anything.
  if (length > segmentCount * BIG_DATA_SEGMENT_SIZE) {
    throw new FormatError(
      'DF_HIVE_BAD_BIG_DATA',
      `${cells.name}: ${what} declares ${length} bytes but its big-data record at ${hex(dbOffset)} has only ${segmentCount} segments; the hive is corrupt`,
      { offset: dbOffset, length, segmentCount },
    );
  }
  const list = cells.cell(listOffset, `segment list of ${what}`);
  if (segmentCount * 4 > list.length) {
    throw new FormatError('DF_HIVE_BAD_BIG_DATA', `${cells.name}: segment list of ${what} holds fewer than ${segmentCount} entries; the hive is corrupt`, {
      offset: listOffset,
      segmentCount,
    });
  }
  const out = new Uint8Array(length);
  let done = 0;
  for (let i = 0; i < segmentCount && done < length; i++) {
    const segment = cells.cell(u32le(list, i * 4), `segment ${i} of ${what}`);
    const take = Math.min(BIG_DATA_SEGMENT_SIZE, length - done);
    if (segment.length < take) {
      throw new FormatError('DF_HIVE_BAD_BIG_DATA', `${cells.name}: segment ${i} of ${what} has ${segment.length} bytes, needs ${take}; the hive is corrupt`, {
        segment: i,
        have: segment.length,
        need: take,
      });
    }
    out.set(segment.subarray(0, take), done);
    done += take;
  }
  return out;
}
