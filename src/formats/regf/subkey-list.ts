// Subkey lists (li, lf, lh and the two-level ri): resolves a key's list cell to the ordered
// offsets of its child key nodes. It does not parse the children or check that the list is
// sorted; lookups and walks happen in hive.ts.
import { FormatError } from '../../errors.js';
import { startsWith, u16le, u32le } from '../../util/binary.js';
import type { HiveCells } from './cells.js';
import { SIGNATURE } from './constants.js';

export type SubkeyListKind = 'li' | 'lf' | 'lh' | 'ri';

export interface SubkeyListEntry {
  keyOffset: number;
  /** lf: first four name characters; lh: name hash; li: undefined. */
  hint?: number;
}

const hex = (n: number) => `0x${n.toString(16)}`;

function listKind(cell: Uint8Array): SubkeyListKind | undefined {
  const kinds = [SIGNATURE.indexLeaf, SIGNATURE.fastLeaf, SIGNATURE.hashLeaf, SIGNATURE.indexRoot] as const;
  for (const kind of kinds) if (startsWith(cell, kind)) return kind;
  return undefined;
}

/** Reads a leaf (li/lf/lh) or, when `allowRoot`, an ri of leaves. */
function readList(cells: HiveCells, offset: number, what: string, allowRoot: boolean, out: SubkeyListEntry[], seenLeaves: Set<number>): void {
  const cell = cells.cell(offset, what);
  const kind = cell.length >= 4 ? listKind(cell) : undefined;
  if (!kind) {
    throw new FormatError('DF_HIVE_BAD_SUBKEY_LIST', `${cells.name}: ${what} at ${hex(offset)} is not a subkey list (li/lf/lh/ri); the hive is corrupt`, { offset });
  }
  const count = u16le(cell, 2);
  const stride = kind === 'lf' || kind === 'lh' ? 8 : 4;
  if (4 + count * stride > cell.length) {
    throw new FormatError(
      'DF_HIVE_BAD_SUBKEY_LIST',
      `${cells.name}: ${what} at ${hex(offset)} claims ${count} entries but its cell holds ${Math.floor((cell.length - 4) / stride)}; the hive is corrupt`,
      { offset, count },
    );
  }
  if (kind === 'ri') {
    // Suhanov §Index root: an ri points only to leaves, so nesting is at most one level deep.
    if (!allowRoot) {
      throw new FormatError('DF_HIVE_BAD_SUBKEY_LIST', `${cells.name}: ${what} at ${hex(offset)} is an index root inside an index root; the hive is corrupt`, { offset });
    }
    for (let i = 0; i < count; i++) {
      const leaf = u32le(cell, 4 + i * 4);
      // A leaf listed twice would repeat its keys; treat it like a cycle.
      if (seenLeaves.has(leaf)) {
        throw new FormatError('DF_HIVE_BAD_SUBKEY_LIST', `${cells.name}: ${what} at ${hex(offset)} lists the sublist ${hex(leaf)} twice; the hive is corrupt`, { offset, leaf });
      }
      seenLeaves.add(leaf);
      readList(cells, leaf, `${what} (part ${i})`, false, out, seenLeaves);
    }
    return;
  }
  for (let i = 0; i < count; i++) {
    const at = 4 + i * stride;
    out.push(stride === 8 ? { keyOffset: u32le(cell, at), hint: u32le(cell, at + 4) } : { keyOffset: u32le(cell, at) });
  }
}

/** The entries of the subkey list at `offset`, in stored order, ri flattened. The total is
 *  bounded by the list cells' sizes, so a corrupt count cannot make it large. */
export function readSubkeyList(cells: HiveCells, offset: number, what = 'subkey list'): SubkeyListEntry[] {
  const out: SubkeyListEntry[] = [];
  readList(cells, offset, what, true, out, new Set([offset]));
  return out;
}
