// Changing a key's subkey list in place: inserting one child at its sorted position, removing
// one, splitting a full leaf under an ri and collapsing emptied ones (Suhanov §Subkeys list,
// §Index root). Leaves we rewrite become the hive's own kind (lh for minor ≥ 5, lf below); li
// leaves are read and, when only shrunk, kept. It does not create or free the child key nodes.
import { FormatError } from '../../errors.js';
import { u32le } from '../../util/binary.js';
import { MAX_LEAF_ENTRIES } from './build-hive.js';
import type { CellSpace } from './cell-space.js';
import { NO_CELL } from './constants.js';
import { lfHint } from './edit-encode.js';
import { lhHash } from './names.js';

export type LeafKind = 'li' | 'lf' | 'lh';

export interface LeafEntry {
  key: number;
  /** lf: first four name bytes; lh: name hash; li: unused. */
  hint: number;
}

interface Leaf {
  offset: number;
  kind: LeafKind;
  entries: LeafEntry[];
}

/** A list as stored: one leaf, or an ri (`root`) over several leaves. */
export interface ListShape {
  root: number | undefined;
  leaves: Leaf[];
}

const hex = (n: number) => `0x${n.toString(16)}`;

function signature(space: CellSpace, cell: number): string {
  const b = space.read(cell, 0, 2);
  return String.fromCharCode(b[0], b[1]);
}

function readLeaf(space: CellSpace, offset: number, kind: LeafKind): Leaf {
  const count = space.u16(offset, 2);
  const stride = kind === 'li' ? 4 : 8;
  if (4 + count * stride > space.payloadSize(offset)) {
    throw new FormatError('DF_HIVE_BAD_SUBKEY_LIST', `${space.name}: subkey list at ${hex(offset)} claims ${count} entries, more than its cell holds; the hive is corrupt`, {
      offset,
    });
  }
  const raw = space.read(offset, 4, count * stride);
  const entries: LeafEntry[] = [];
  for (let i = 0; i < count; i++) entries.push({ key: u32le(raw, i * stride), hint: stride === 8 ? u32le(raw, i * stride + 4) : 0 });
  return { offset, kind, entries };
}

/** Reads the list at `offset` (already checked by the reader when the key was looked up). */
export function readListShape(space: CellSpace, offset: number): ListShape {
  // The cell accessor validates offset, bin and allocation before we trust the header.
  space.cells.cell(offset, 'subkey list');
  const sig = signature(space, offset);
  if (sig === 'li' || sig === 'lf' || sig === 'lh') return { root: undefined, leaves: [readLeaf(space, offset, sig)] };
  if (sig !== 'ri') {
    throw new FormatError('DF_HIVE_BAD_SUBKEY_LIST', `${space.name}: subkey list at ${hex(offset)} is not li/lf/lh/ri; the hive is corrupt`, { offset });
  }
  const count = space.u16(offset, 2);
  if (4 + 4 * count > space.payloadSize(offset)) {
    throw new FormatError('DF_HIVE_BAD_SUBKEY_LIST', `${space.name}: index root at ${hex(offset)} claims ${count} entries, more than its cell holds; the hive is corrupt`, {
      offset,
    });
  }
  const leaves: Leaf[] = [];
  for (let i = 0; i < count; i++) {
    const leaf = space.u32(offset, 4 + 4 * i);
    space.cells.cell(leaf, 'subkey list leaf');
    const kind = signature(space, leaf);
    // An ri may point only to leaves (Suhanov §Index root).
    if (kind !== 'li' && kind !== 'lf' && kind !== 'lh') {
      throw new FormatError('DF_HIVE_BAD_SUBKEY_LIST', `${space.name}: index root at ${hex(offset)} points to ${hex(leaf)}, which is not a leaf; the hive is corrupt`, { offset });
    }
    leaves.push(readLeaf(space, leaf, kind));
  }
  return { root: offset, leaves };
}

export function flatEntries(shape: ListShape): LeafEntry[] {
  return shape.leaves.flatMap((l) => l.entries);
}

/** What the editor tells us about the hive and its keys. */
export interface SubkeyContext {
  space: CellSpace;
  /** lh for minor ≥ 5, lf for 1.3/1.4 (FORMATS.md §3). */
  leafKind: 'lf' | 'lh';
  /** The stored name of the key node at `offset`. */
  nameOf(offset: number): string;
  /** Sort order of names (upper-cased code units). */
  compare(a: string, b: string): number;
}

function hintFor(kind: LeafKind, name: string): number {
  return kind === 'lh' ? lhHash(name) : kind === 'lf' ? lfHint(name) : 0;
}

/** Writes `entries` as a leaf of `kind` into `offset` (reallocated to fit) or a new cell. */
function writeLeaf(space: CellSpace, offset: number | undefined, kind: LeafKind, entries: LeafEntry[]): number {
  const stride = kind === 'li' ? 4 : 8;
  const payload = 4 + stride * entries.length;
  const cell = offset === undefined ? space.alloc(payload) : space.realloc(offset, payload, 0);
  const bytes = new Uint8Array(payload);
  const dv = new DataView(bytes.buffer);
  bytes[0] = kind.charCodeAt(0);
  bytes[1] = kind.charCodeAt(1);
  dv.setUint16(2, entries.length, true);
  entries.forEach((e, i) => {
    dv.setUint32(4 + stride * i, e.key, true);
    if (stride === 8) dv.setUint32(8 + stride * i, e.hint, true);
  });
  space.write(cell, 0, bytes);
  return cell;
}

function writeIndexRoot(space: CellSpace, offset: number | undefined, leaves: number[]): number {
  const payload = 4 + 4 * leaves.length;
  const cell = offset === undefined ? space.alloc(payload) : space.realloc(offset, payload, 0);
  const bytes = new Uint8Array(payload);
  const dv = new DataView(bytes.buffer);
  bytes[0] = 0x72; // "ri"
  bytes[1] = 0x69;
  dv.setUint16(2, leaves.length, true);
  for (const [i, l] of leaves.entries()) dv.setUint32(4 + 4 * i, l, true);
  space.write(cell, 0, bytes);
  return cell;
}

/** Adds `key` (named `name`) to the list at `listOffset` (NO_CELL = none yet) at its sorted
 *  place; returns the list's offset, which changes when a cell moves or an ri is created. */
export function insertSubkey(ctx: SubkeyContext, listOffset: number, key: number, name: string): number {
  const { space, leafKind } = ctx;
  const entry = { key, hint: hintFor(leafKind, name) };
  if (listOffset === NO_CELL) return writeLeaf(space, undefined, leafKind, [entry]);
  const shape = readListShape(space, listOffset);
  const flat = flatEntries(shape);
  // Binary search over the whole list: an ri's leaves are sorted as one sequence.
  let lo = 0;
  let hi = flat.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ctx.compare(ctx.nameOf(flat[mid].key), name) < 0) lo = mid + 1;
    else hi = mid;
  }
  let leafIndex = 0;
  let at = lo;
  while (leafIndex < shape.leaves.length - 1 && at > shape.leaves[leafIndex].entries.length) {
    at -= shape.leaves[leafIndex].entries.length;
    leafIndex++;
  }
  // At a boundary between two leaves, prefer the next one if this one is full.
  if (at === shape.leaves[leafIndex].entries.length && leafIndex < shape.leaves.length - 1 && at >= MAX_LEAF_ENTRIES) {
    leafIndex++;
    at = 0;
  }
  const leaf = shape.leaves[leafIndex];
  // A leaf we rewrite takes the hive's kind; entries keep hints Windows wrote when the kind is
  // unchanged (its upcase table may differ from ours for rare characters).
  const entries = leaf.kind === leafKind ? [...leaf.entries] : leaf.entries.map((e) => ({ key: e.key, hint: hintFor(leafKind, ctx.nameOf(e.key)) }));
  entries.splice(at, 0, entry);
  if (entries.length <= MAX_LEAF_ENTRIES) {
    const moved = writeLeaf(space, leaf.offset, leafKind, entries);
    if (shape.root === undefined) return moved;
    if (moved !== leaf.offset) space.setU32(shape.root, 4 + 4 * leafIndex, moved);
    return shape.root;
  }
  // Split the full leaf in two halves (Suhanov §Index root): both stay sorted and the ri lists
  // them in order, so the whole list stays one sorted sequence.
  const half = entries.length >> 1;
  const first = writeLeaf(space, leaf.offset, leafKind, entries.slice(0, half));
  const second = writeLeaf(space, undefined, leafKind, entries.slice(half));
  if (shape.root === undefined) return writeIndexRoot(space, undefined, [first, second]);
  const leaves = shape.leaves.map((l) => l.offset);
  leaves.splice(leafIndex, 1, first, second);
  return writeIndexRoot(space, shape.root, leaves);
}

/** Removes `key` from the list; returns the list's new offset, or NO_CELL when it is empty
 *  (its cells are then freed). An ri left with one leaf is replaced by that leaf. */
export function removeSubkey(ctx: SubkeyContext, listOffset: number, key: number): number {
  const { space } = ctx;
  const shape = readListShape(space, listOffset);
  const leafIndex = shape.leaves.findIndex((l) => l.entries.some((e) => e.key === key));
  if (leafIndex < 0) {
    throw new FormatError('DF_HIVE_BAD_SUBKEY_LIST', `${space.name}: key node ${hex(key)} is missing from its parent's subkey list; the hive is corrupt`, { key });
  }
  const leaf = shape.leaves[leafIndex];
  const entries = leaf.entries.filter((e) => e.key !== key);
  if (entries.length > 0) {
    const moved = writeLeaf(space, leaf.offset, leaf.kind, entries);
    if (shape.root === undefined) return moved;
    if (moved !== leaf.offset) space.setU32(shape.root, 4 + 4 * leafIndex, moved);
    return shape.root;
  }
  space.free(leaf.offset);
  if (shape.root === undefined) return NO_CELL;
  const leaves = shape.leaves.map((l) => l.offset);
  leaves.splice(leafIndex, 1);
  if (leaves.length > 1) return writeIndexRoot(space, shape.root, leaves);
  space.free(shape.root);
  return leaves.length === 1 ? leaves[0] : NO_CELL;
}

/** Frees every cell of the list (the ri and its leaves), not the keys it names. */
export function freeSubkeyList(space: CellSpace, listOffset: number): void {
  const shape = readListShape(space, listOffset);
  for (const leaf of shape.leaves) space.free(leaf.offset);
  if (shape.root !== undefined) space.free(shape.root);
}
