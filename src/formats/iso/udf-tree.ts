// Reads a UDF directory hierarchy: the file set descriptor (ECMA-167 4/14.1) gives the root ICB,
// and each directory's FIDs give children whose file entries hold sizes and extents. Stream
// directories, named streams and extended attributes are not read.
import { FormatError } from '../../errors.js';
import type { ByteSource } from '../../util/byte-source.js';
import { checkName, type DirectoryTree, readDirectoryBytes, type TreeNode } from './tree.js';
import type { UdfVolume } from './udf-descriptors.js';
import { parseFileIdentifiers } from './udf-directory.js';
import { readFileEntry, type UdfFileEntry } from './udf-file-entry.js';
import { UdfPartitions } from './udf-partitions.js';
import { readTag, TAG } from './udf-tag.js';
import { decodeDstring, decodeLongAd, type LbAddr } from './udf-types.js';

export interface FileSet {
  logicalVolumeIdentifier: string;
  fileSetIdentifier: string;
  root: LbAddr;
}

export class UdfTree implements DirectoryTree {
  readonly kind = 'udf' as const;

  private constructor(
    private readonly source: ByteSource,
    private readonly partitions: UdfPartitions,
    readonly fileSet: FileSet,
    readonly root: TreeNode,
  ) {}

  static async open(source: ByteSource, volume: UdfVolume): Promise<UdfTree> {
    const partitions = await UdfPartitions.open(source, volume);
    const where = volume.logicalVolume.fileSetLocation.location;
    const block = await partitions.readBlock(where.partition, where.block);
    readTag(block.bytes, 'UDF file set descriptor', TAG.FileSet, where.block);
    // FSD (4/14.1): logical volume identifier at 112, file set identifier at 304, root ICB long_ad at 400.
    const fileSet: FileSet = {
      logicalVolumeIdentifier: decodeDstring(block.bytes.subarray(112, 240), 'file set logical volume identifier'),
      fileSetIdentifier: decodeDstring(block.bytes.subarray(304, 336), 'file set identifier'),
      root: decodeLongAd(block.bytes, 400).location,
    };
    const rootEntry = await readFileEntry(partitions, fileSet.root, 'UDF root directory');
    if (!rootEntry.isDirectory) throw new FormatError('DF_UDF_BAD_ROOT', `UDF root ICB is file type ${rootEntry.fileType}, not a directory`, {});
    return new UdfTree(source, partitions, fileSet, nodeOf('', rootEntry, fileSet.root));
  }

  async readDirectory(node: TreeNode): Promise<TreeNode[]> {
    const what = `${this.source.name}: UDF directory ${node.name || '/'}`;
    const fids = parseFileIdentifiers(await readDirectoryBytes(this.source, node, what), what);
    const out: TreeNode[] = [];
    for (const fid of fids) {
      const name = checkName(fid.name, what);
      const entry = await readFileEntry(this.partitions, fid.icb, `${what}/${name}`);
      out.push(nodeOf(name, entry, fid.icb));
    }
    return out;
  }
}

function nodeOf(name: string, entry: UdfFileEntry, icb: LbAddr): TreeNode {
  return { name, isDirectory: entry.isDirectory, size: entry.size, extents: entry.extents, modified: entry.modified, key: `udf:${icb.partition}:${icb.block}` };
}
