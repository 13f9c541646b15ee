// UDF directories: the file identifier descriptors (ECMA-167 4/14.4) in a directory's data.
// Turns directory bytes into named children with their ICB addresses; reading the children's
// file entries and walking the tree is udf-tree.ts's job.
import { FormatError } from '../../errors.js';
import { u16le } from '../../util/binary.js';
import { readTag, TAG } from './udf-tag.js';
import { decodeCs0, decodeLongAd, type LbAddr } from './udf-types.js';

/** File characteristics (4/14.4.3). */
const CHAR_HIDDEN = 0x01;
const CHAR_DIRECTORY = 0x02;
const CHAR_DELETED = 0x04;
const CHAR_PARENT = 0x08;

export interface FileIdentifier {
  name: string;
  isDirectory: boolean;
  hidden: boolean;
  icb: LbAddr;
}

/** Parses every live, non-parent FID of a directory (FIDs may straddle block boundaries in the data). */
export function parseFileIdentifiers(b: Uint8Array, what: string): FileIdentifier[] {
  const out: FileIdentifier[] = [];
  let at = 0;
  while (at + 38 <= b.length) {
    readTag(b.subarray(at, Math.min(b.length, at + 38)), `${what}: file identifier at ${at}`, TAG.FileIdentifier);
    const characteristics = b[at + 18];
    const nameLength = b[at + 19];
    const icb = decodeLongAd(b, at + 20);
    const implLength = u16le(b, at + 36);
    // Each FID is padded to a multiple of 4 bytes (4/14.4.9).
    const total = 4 * Math.ceil((38 + implLength + nameLength) / 4);
    if (at + 38 + implLength + nameLength > b.length) {
      throw new FormatError('DF_UDF_BAD_FID', `${what}: file identifier at ${at} runs past the directory's end`, { at });
    }
    const tagged = b.subarray(at, Math.min(b.length, at + total));
    readTag(tagged, `${what}: file identifier at ${at}`, TAG.FileIdentifier);
    if (!(characteristics & (CHAR_DELETED | CHAR_PARENT)) && nameLength > 0) {
      const nameStart = at + 38 + implLength;
      out.push({
        name: decodeCs0(b.subarray(nameStart, nameStart + nameLength), `${what}: file identifier at ${at}`),
        isDirectory: (characteristics & CHAR_DIRECTORY) !== 0,
        hidden: (characteristics & CHAR_HIDDEN) !== 0,
        icb: icb.location,
      });
    }
    at += total;
  }
  return out;
}
