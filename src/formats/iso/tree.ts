// The one shape every directory tree (ISO 9660, Joliet, Rock Ridge, UDF) is read through, so the
// image code walks, looks up and opens files the same way whatever the tree. Trees only list one
// directory at a time; walking, caching and path lookup live in iso-image.ts.
import { FormatError } from '../../errors.js';
import { type ByteSource, type Extent, ExtentSource } from '../../util/byte-source.js';

export type TreeKind = 'udf' | 'joliet' | 'rock-ridge' | 'iso9660';

export interface TreeNode {
  name: string;
  isDirectory: boolean;
  size: number;
  /** Absolute byte extents of the image holding the data, in order. */
  extents: Extent[];
  modified?: string;
  /** Identifies a directory's content so a walk can detect cycles and shared directories. */
  key: string;
}

export interface DirectoryTree {
  readonly kind: TreeKind;
  readonly root: TreeNode;
  readDirectory(node: TreeNode): Promise<TreeNode[]>;
}

/** Directories larger than this are not plausible on install media (a 100,000-entry folder is ~6 MiB). */
export const MAX_DIRECTORY_BYTES = 64 * 1024 * 1024;

/** Reads a node's data from its extents; the sum of extents must equal the size, and every extent must lie inside the image. */
export function openNode(source: ByteSource, node: TreeNode, name: string): ByteSource {
  let total = 0;
  for (const e of node.extents) {
    if (e.offset + e.length > source.size) {
      throw new FormatError('DF_TRUNCATED', `${name}: data at byte ${e.offset} (${e.length} bytes) runs past the end of the image`, { offset: e.offset, length: e.length });
    }
    total += e.length;
  }
  if (total !== node.size) {
    throw new FormatError('DF_ISO_SPARSE_FILE', `${name}: ${node.size} bytes but only ${total} are recorded on the disc (sparse or damaged allocation)`, {
      size: node.size,
      recorded: total,
    });
  }
  return new ExtentSource(source, node.extents, name);
}

/** Reads a whole directory's data, refusing implausible sizes before allocating. */
export async function readDirectoryBytes(source: ByteSource, node: TreeNode, what: string): Promise<Uint8Array> {
  // A directory larger than the whole image can only come from extents that repeat (UDF) or run
  // outside it: refuse before allocating, so a tiny image cannot make us allocate 64 MiB.
  if (node.size > MAX_DIRECTORY_BYTES || node.size > source.size) {
    throw new FormatError('DF_ISO_DIRECTORY_TOO_LARGE', `${what}: directory claims ${node.size} bytes; the image is corrupt`, { size: node.size });
  }
  for (const e of node.extents) {
    if (e.offset + e.length > source.size) {
      throw new FormatError('DF_TRUNCATED', `${what}: directory data at byte ${e.offset} runs past the end of the image`, { offset: e.offset, length: e.length });
    }
  }
  const data = openNode(source, node, what);
  return data.read(0, data.size);
}

/** Rejects names that would break '/'-separated paths; such a name is damage or an attack. */
export function checkName(name: string, what: string): string {
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) {
    throw new FormatError('DF_ISO_BAD_NAME', `${what}: invalid file name ${JSON.stringify(name)}`, { name });
  }
  return name;
}
