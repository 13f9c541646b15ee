// Reads an ISO 9660 directory hierarchy with one naming scheme: plain ISO 9660 identifiers,
// Joliet UCS-2 names (from the SVD's tree), or Rock Ridge NM names (on the PVD's tree).
// It also reports the interchange level the plain tree actually uses (ECMA-119 §10).

import { ascii } from '../../util/binary.js';
import type { ByteSource, Extent } from '../../util/byte-source.js';
import type { VolumeDescriptor } from './iso9660-descriptors.js';
import { type DirectoryRecord, FLAG_ASSOCIATED, FLAG_MULTI_EXTENT, groupMultiExtent, parseDirectoryExtent, parseDirectoryRecord } from './iso9660-directory.js';
import { decodeUcs2be } from './joliet.js';
import { readRockRidge, readSuspEntries } from './rock-ridge.js';
import { checkName, type DirectoryTree, readDirectoryBytes, type TreeKind, type TreeNode } from './tree.js';

type Naming = 'iso9660' | 'joliet' | 'rock-ridge';

function isDotEntry(r: DirectoryRecord): boolean {
  return r.identifier.length === 1 && (r.identifier[0] === 0 || r.identifier[0] === 1);
}

/** Plain identifier without its ";version" and a trailing "." of an extension-less name (ECMA-119 §7.5.1). */
export function plainName(r: DirectoryRecord): string {
  let name = ascii(r.identifier, 0, r.identifier.length);
  if (!r.isDirectory) {
    const semi = name.lastIndexOf(';');
    if (semi >= 0) name = name.slice(0, semi);
    if (name.endsWith('.')) name = name.slice(0, -1);
  }
  return name;
}

function jolietName(r: DirectoryRecord): string {
  let name = decodeUcs2be(r.identifier, 'Joliet name');
  if (!r.isDirectory) {
    const semi = name.lastIndexOf(';');
    if (semi >= 0) name = name.slice(0, semi);
    if (name.endsWith('.')) name = name.slice(0, -1);
  }
  return name;
}

export class Iso9660Tree implements DirectoryTree {
  readonly kind: TreeKind;
  readonly root: TreeNode;
  private readonly blockSize: number;

  constructor(
    private readonly source: ByteSource,
    descriptor: VolumeDescriptor,
    private readonly naming: Naming,
    /** SUSP bytes to skip at the start of each system use area (SUSP §5.3), for Rock Ridge. */
    private readonly suspSkip = 0,
  ) {
    this.kind = naming;
    this.blockSize = descriptor.logicalBlockSize;
    this.root = this.directoryNode('', descriptor.root.extentLba, descriptor.root.dataLength, descriptor.root.recorded);
  }

  private extentOf(r: DirectoryRecord): Extent {
    // The extended attribute record, if any, precedes the data in the same extent (ECMA-119 §6.5.2, §9.1.2).
    return { offset: (r.extentLba + r.extendedAttributeLength) * this.blockSize, length: r.dataLength };
  }

  private directoryNode(name: string, lba: number, length: number, modified: string | undefined): TreeNode {
    return { name, isDirectory: true, size: length, extents: [{ offset: lba * this.blockSize, length }], modified, key: `iso:${lba}` };
  }

  async readDirectory(node: TreeNode): Promise<TreeNode[]> {
    const what = `${this.source.name}: ${this.naming} directory ${node.name || '/'}`;
    const records = parseDirectoryExtent(await readDirectoryBytes(this.source, node, what), this.blockSize, what).filter((r) => !isDotEntry(r) && !(r.flags & FLAG_ASSOCIATED));
    const groups = groupMultiExtent(records, (a, b) => a.identifier.length === b.identifier.length && a.identifier.every((x, i) => x === b.identifier[i]), what);
    const out: TreeNode[] = [];
    for (const group of groups) {
      const first = group.records[0];
      let name = this.naming === 'joliet' ? jolietName(first) : plainName(first);
      if (this.naming === 'rock-ridge') {
        const rr = readRockRidge(await readSuspEntries(this.source, first.systemUse, this.suspSkip, this.blockSize));
        if (rr.relocated) continue;
        if (rr.name !== undefined) name = rr.name;
        if (rr.childLink !== undefined) {
          out.push(await this.relocatedDirectory(checkName(name, what), rr.childLink, what));
          continue;
        }
      }
      checkName(name, what);
      if (group.isDirectory) {
        out.push(this.directoryNode(name, first.extentLba, first.dataLength, first.recorded));
      } else {
        const extents = group.records.map((r) => this.extentOf(r)).filter((e) => e.length > 0);
        out.push({ name, isDirectory: false, size: group.size, extents, modified: first.recorded, key: `iso:${first.extentLba}:${first.at}` });
      }
    }
    return out;
  }

  /** A Rock Ridge CL entry: the real directory's own "." record gives its size (RRIP §4.1.5.1). */
  private async relocatedDirectory(name: string, lba: number, what: string): Promise<TreeNode> {
    const sector = await this.source.read(lba * this.blockSize, this.blockSize);
    const dot = parseDirectoryRecord(sector, 0, `${what}: relocated directory ${name}`);
    const length = dot?.isDirectory ? dot.dataLength : this.blockSize;
    return this.directoryNode(name, lba, length, dot?.recorded);
  }
}

/** Bounds the level scan: enough for any install disc, finite for a hostile one. */
const MAX_LEVEL_SCAN_DIRECTORIES = 10_000;

/**
 * The lowest interchange level the plain tree conforms to (ECMA-119 §10): 3 when a file has several
 * extents, 2 when a name exceeds 8.3 (or 8 for a directory), else 1. Reads directories, bounded.
 */
export async function detectInterchangeLevel(source: ByteSource, descriptor: VolumeDescriptor): Promise<1 | 2 | 3> {
  const blockSize = descriptor.logicalBlockSize;
  let level: 1 | 2 | 3 = 1;
  const queue: DirectoryRecord[] = [descriptor.root];
  const seen = new Set<number>([descriptor.root.extentLba]);
  // Real directories occupy distinct sectors: more directory bytes than the image means overlap, so stop.
  let budget = source.size;
  for (let n = 0; n < queue.length && n < MAX_LEVEL_SCAN_DIRECTORIES; n++) {
    const dir = queue[n];
    budget -= dir.dataLength;
    if (budget < 0) break;
    const node: TreeNode = { name: '', isDirectory: true, size: dir.dataLength, extents: [{ offset: dir.extentLba * blockSize, length: dir.dataLength }], key: '' };
    const what = `${source.name}: ISO 9660 directory at block ${dir.extentLba}`;
    for (const r of parseDirectoryExtent(await readDirectoryBytes(source, node, what), blockSize, what)) {
      if (isDotEntry(r)) continue;
      if (r.flags & FLAG_MULTI_EXTENT) return 3;
      const name = plainName(r);
      if (r.isDirectory) {
        if (name.length > 8) level = 2;
        if (!seen.has(r.extentLba)) {
          seen.add(r.extentLba);
          queue.push(r);
        }
      } else {
        const dot = name.lastIndexOf('.');
        const base = dot >= 0 ? name.slice(0, dot) : name;
        const ext = dot >= 0 ? name.slice(dot + 1) : '';
        if (base.length > 8 || ext.length > 3) level = 2;
      }
    }
  }
  return level;
}
