// Translates UDF partition-relative block addresses into byte offsets of the image: type 1
// (physical) and sparable maps directly, the metadata partition (OSTA UDF 2.2.10, UDF 2.50+)
// through the extents of its metadata file. Virtual (VAT) partitions of unfinalised write-once
// discs are rejected, and sparing tables are not applied (read-only pressed/burned media have none).
import { FormatError } from '../../errors.js';
import type { ByteSource, Extent } from '../../util/byte-source.js';
import type { UdfVolume } from './udf-descriptors.js';
import { type BlockResolver, FILE_TYPE_METADATA, FILE_TYPE_METADATA_MIRROR, readFileEntry } from './udf-file-entry.js';

type Mapping = { kind: 'direct'; start: number; length: number } | { kind: 'file'; extents: Extent[]; length: number };

export class UdfPartitions implements BlockResolver {
  private constructor(
    private readonly source: ByteSource,
    readonly blockSize: number,
    private readonly mappings: (Mapping | null)[],
  ) {}

  /** Builds the mapping for every partition reference of the logical volume. */
  static async open(source: ByteSource, volume: UdfVolume): Promise<UdfPartitions> {
    const { blockSize } = volume;
    const mappings: (Mapping | null)[] = [];
    for (const map of volume.logicalVolume.partitionMaps) {
      if (map.kind === 'physical' || map.kind === 'sparable' || map.kind === 'metadata') {
        const pd = volume.partitions.get(map.partitionNumber);
        if (!pd)
          throw new FormatError('DF_UDF_BAD_PARTITION', `partition map refers to partition ${map.partitionNumber}, which has no partition descriptor`, {
            partition: map.partitionNumber,
          });
        mappings.push(map.kind === 'metadata' ? null : { kind: 'direct', start: pd.start, length: pd.length });
      } else if (map.kind === 'virtual') {
        throw new FormatError(
          'DF_UDF_UNSUPPORTED',
          'UDF virtual partition (VAT): this is an unfinalised write-once disc, which is not supported; finalise it or rebuild the image',
          {},
        );
      } else {
        // Unknown map types stay unmapped: any use of them is reported, unused ones are harmless.
        mappings.push(null);
      }
    }
    const partitions = new UdfPartitions(source, blockSize, mappings);
    // Metadata partitions second: their file entries sit in the physical partition they name.
    const maps = volume.logicalVolume.partitionMaps;
    for (let ref = 0; ref < maps.length; ref++) {
      const map = maps[ref];
      if (map.kind !== 'metadata') continue;
      const physicalRef = maps.findIndex((m) => m.kind !== 'metadata' && 'partitionNumber' in m && m.partitionNumber === map.partitionNumber);
      if (physicalRef < 0) throw new FormatError('DF_UDF_BAD_PARTITION', `metadata partition refers to partition ${map.partitionNumber}, which has no physical map`, {});
      mappings[ref] = await partitions.loadMetadataFile(physicalRef, map.metadataFile, map.mirrorFile);
    }
    return partitions;
  }

  /** The metadata file's extents are the metadata partition (OSTA UDF 2.2.13.1); the mirror is the fallback. */
  private async loadMetadataFile(physicalRef: number, file: number, mirror: number): Promise<Mapping> {
    let firstError: unknown;
    for (const [block, type] of [
      [file, FILE_TYPE_METADATA],
      [mirror, FILE_TYPE_METADATA_MIRROR],
    ] as const) {
      try {
        const fe = await readFileEntry(this, { partition: physicalRef, block }, 'UDF metadata file');
        if (fe.fileType !== type) throw new FormatError('DF_UDF_BAD_METADATA', `UDF metadata file at block ${block} has file type ${fe.fileType}, expected ${type}`, { block });
        if (!fe.fullyRecorded) throw new FormatError('DF_UDF_BAD_METADATA', 'UDF metadata file has unrecorded extents', { block });
        return { kind: 'file', extents: fe.extents, length: fe.size };
      } catch (e) {
        firstError ??= e;
      }
    }
    throw firstError;
  }

  private mapping(partition: number): Mapping {
    const m = this.mappings[partition];
    if (!m)
      throw new FormatError(
        'DF_UDF_BAD_PARTITION',
        `allocation refers to partition reference ${partition}, which the logical volume does not have or this reader does not support`,
        { partition },
      );
    return m;
  }

  map(partition: number, block: number, length: number): Extent[] {
    const m = this.mapping(partition);
    const start = block * this.blockSize;
    if (m.kind === 'direct') return [{ offset: (m.start + block) * this.blockSize, length }];
    if (start + length > m.length) {
      throw new FormatError('DF_UDF_BAD_ALLOCATION', `extent at metadata block ${block} (${length} bytes) runs past the metadata partition`, { block, length });
    }
    // Walk the metadata file's extents to split the range where it crosses their boundaries.
    const out: Extent[] = [];
    let base = 0;
    let want = start;
    let left = length;
    for (const e of m.extents) {
      if (left === 0) break;
      if (want < base + e.length) {
        const within = want - base;
        const take = Math.min(e.length - within, left);
        out.push({ offset: e.offset + within, length: take });
        want += take;
        left -= take;
      }
      base += e.length;
    }
    return out;
  }

  async readBlock(partition: number, block: number): Promise<{ bytes: Uint8Array; offset: number }> {
    const extents = this.map(partition, block, this.blockSize);
    if (extents.length !== 1) {
      throw new FormatError('DF_UDF_BAD_ALLOCATION', `block ${block} of partition reference ${partition} is split across metadata extents`, { block });
    }
    const { offset } = extents[0];
    if (offset + this.blockSize > this.source.size) {
      throw new FormatError('DF_UDF_BAD_ALLOCATION', `block ${block} of partition reference ${partition} lies beyond the end of the image`, { block, partition });
    }
    return { bytes: await this.source.read(offset, this.blockSize), offset };
  }
}
