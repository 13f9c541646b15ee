// Opens VHDX images (MS-VHDX): headers, region tables, metadata and the BAT, and maps virtual
// reads onto payload blocks, consulting sector bitmaps for partially present blocks of
// differencing disks. It never writes and never replays the log: a disk whose log holds entries
// opens with needsLogReplay set, and its reads fail with a FormatError.
import { FormatError } from '../../errors.js';
import { startsWith, u32le } from '../../util/binary.js';
import type { ByteSource } from '../../util/byte-source.js';
import type { OpenVirtualDiskOptions, ParentInfo, VirtualDisk } from './types.js';
import { BAT_REGION_GUID, METADATA_REGION_GUID, parseFileIdentifier, readVhdxHeaders, readVhdxRegions } from './vhdx-headers.js';
import { vhdxNeedsLogReplay } from './vhdx-log.js';
import { readVhdxMetadata } from './vhdx-metadata.js';
import { makeVirtualReader, type ResolveRun, VirtualDiskSource } from './virtual-read.js';

const MiB = 1024 * 1024;
const HEADER_SECTION = MiB;
/** BAT entry states (MS-VHDX 2.5.1.1/2.5.1.2). */
const PAYLOAD_BLOCK_NOT_PRESENT = 0;
const PAYLOAD_BLOCK_FULLY_PRESENT = 6;
const PAYLOAD_BLOCK_PARTIALLY_PRESENT = 7;
const SB_BLOCK_PRESENT = 6;
const BITMAP_CACHE_ENTRIES = 64;

export function looksLikeVhdx(head: Uint8Array): boolean {
  return startsWith(head, 'vhdxfile');
}

export async function openVhdx(file: ByteSource, options: OpenVirtualDiskOptions = {}): Promise<VirtualDisk> {
  if (file.size < HEADER_SECTION) {
    throw new FormatError('DF_VHDX_TRUNCATED', `${file.name}: ${file.size} bytes cannot hold the 1 MiB VHDX header section; the file is truncated`, { size: file.size });
  }
  const identifier = await file.read(0, 8 + 512);
  if (!looksLikeVhdx(identifier)) {
    throw new FormatError('DF_VHDX_BAD_SIGNATURE', `${file.name}: no "vhdxfile" identifier at offset 0; this is not a VHDX`, {});
  }
  const creator = parseFileIdentifier(identifier);
  const headers = await readVhdxHeaders(file);
  const { header } = headers;
  const tables = await readVhdxRegions(file);
  const checksums = { header1: headers.valid[0], header2: headers.valid[1], regionTable1: tables.valid[0], regionTable2: tables.valid[1] };
  // MS-VHDX 2.2.3.2: a reader must refuse a required region it does not understand.
  for (const region of tables.regions) {
    if (region.required && region.guid !== BAT_REGION_GUID && region.guid !== METADATA_REGION_GUID) {
      throw new FormatError('DF_VHDX_UNSUPPORTED_REGION', `${file.name}: the VHDX requires region ${region.guid}, which this reader does not know; it cannot be read safely`, {
        guid: region.guid,
      });
    }
  }
  const batRegion = tables.regions.find((r) => r.guid === BAT_REGION_GUID);
  const metaRegion = tables.regions.find((r) => r.guid === METADATA_REGION_GUID);
  if (!batRegion || !metaRegion) {
    throw new FormatError('DF_VHDX_BAD_REGION_TABLE', `${file.name}: the region table lacks the ${batRegion ? 'metadata' : 'BAT'} region; the VHDX is corrupt`, {});
  }
  const meta = await readVhdxMetadata(file, metaRegion.fileOffset, metaRegion.length);
  const needsLogReplay = await vhdxNeedsLogReplay(file, header);

  const { blockSize, logicalSectorSize, virtualDiskSize: virtualSize } = meta;
  // MS-VHDX 2.5: chunk ratio = 2^23 × logical sector size / block size; an integer because both
  // are powers of two and the block size is at most 256 MiB.
  const chunkRatio = (2 ** 23 * logicalSectorSize) / blockSize;
  const payloadBlocks = Math.ceil(virtualSize / blockSize);
  const bitmapBlocks = Math.ceil(payloadBlocks / chunkRatio);
  const batEntries = meta.hasParent ? bitmapBlocks * (chunkRatio + 1) : payloadBlocks + Math.floor((payloadBlocks - 1) / chunkRatio);
  if (batEntries * 8 > batRegion.length || batRegion.fileOffset + batEntries * 8 > file.size) {
    throw new FormatError(
      'DF_VHDX_BAD_BAT',
      `${file.name}: the BAT needs ${batEntries} entries but its region (${batRegion.length} bytes at ${batRegion.fileOffset}) is smaller or outside the file; the VHDX is corrupt`,
      { batEntries, batRegion },
    );
  }
  const bat = await file.read(batRegion.fileOffset, batEntries * 8);
  const entry = (index: number): { state: number; offset: number } => {
    const lo = u32le(bat, index * 8);
    const hi = u32le(bat, index * 8 + 4);
    // FileOffsetMB occupies bits 20-63.
    const offsetMb = hi * 4096 + (lo >>> 20);
    const offset = offsetMb * MiB;
    if (!Number.isSafeInteger(offset)) {
      throw new FormatError('DF_VHDX_BAD_BAT', `${file.name}: BAT entry ${index} points past any real file; the VHDX is corrupt`, { index });
    }
    return { state: lo & 7, offset };
  };

  const name = `${file.name} (virtual disk)`;
  const differencing = meta.hasParent;
  const bitmaps = new Map<number, Uint8Array>();
  const sectorsPerBlock = blockSize / logicalSectorSize;
  const blockBitmap = async (block: number): Promise<Uint8Array> => {
    const cached = bitmaps.get(block);
    if (cached) return cached;
    const chunk = Math.floor(block / chunkRatio);
    const sb = entry(chunk * (chunkRatio + 1) + chunkRatio);
    if (sb.state !== SB_BLOCK_PRESENT || sb.offset < HEADER_SECTION) {
      throw new FormatError('DF_VHDX_BAD_BAT', `${file.name}: block ${block} is partially present but its sector bitmap block is missing; the VHDX is corrupt`, { block });
    }
    // One bit per logical sector; each payload block owns sectorsPerBlock / 8 bytes of the 1 MiB bitmap.
    const bitmap = await file.read(sb.offset + (block % chunkRatio) * (sectorsPerBlock / 8), sectorsPerBlock / 8);
    if (bitmaps.size >= BITMAP_CACHE_ENTRIES) bitmaps.delete(bitmaps.keys().next().value as number);
    bitmaps.set(block, bitmap);
    return bitmap;
  };
  const resolve: ResolveRun = async (offset, maxLength) => {
    const block = Math.floor(offset / blockSize);
    const within = offset - block * blockSize;
    const inBlock = Math.min(maxLength, blockSize - within);
    const { state, offset: blockOffset } = entry(block + Math.floor(block / chunkRatio));
    if (state === PAYLOAD_BLOCK_FULLY_PRESENT || state === PAYLOAD_BLOCK_PARTIALLY_PRESENT) {
      if (blockOffset < HEADER_SECTION) {
        throw new FormatError('DF_VHDX_BAD_BAT', `${file.name}: block ${block} points into the header section; the VHDX is corrupt`, { block });
      }
    }
    if (state === PAYLOAD_BLOCK_FULLY_PRESENT) return { kind: 'data', fileOffset: blockOffset + within, length: inBlock };
    if (state === PAYLOAD_BLOCK_NOT_PRESENT && differencing) return { kind: 'parent', length: inBlock };
    // NOT_PRESENT (non-differencing), UNDEFINED (1), ZERO (2), UNMAPPED (3) all read as zeros.
    if (state <= 3) return { kind: 'zero', length: inBlock };
    if (state !== PAYLOAD_BLOCK_PARTIALLY_PRESENT || !differencing) {
      throw new FormatError(
        'DF_VHDX_BAD_BAT',
        `${file.name}: block ${block} has BAT state ${state}, invalid for a ${differencing ? 'differencing' : 'non-differencing'} disk; the VHDX is corrupt`,
        { block, state },
      );
    }
    const bitmap = await blockBitmap(block);
    const first = Math.floor(within / logicalSectorSize);
    const last = Math.floor((within + inBlock - 1) / logicalSectorSize);
    const present = (s: number) => (bitmap[s >> 3] & (1 << (s & 7))) !== 0;
    const inChild = present(first);
    let s = first + 1;
    while (s <= last && present(s) === inChild) s++;
    const length = Math.min(inBlock, s * logicalSectorSize - within);
    return inChild ? { kind: 'data', fileOffset: blockOffset + within, length } : { kind: 'parent', length };
  };

  let parent: ParentInfo | undefined;
  if (differencing && meta.parentLocator) {
    const entries = meta.parentLocator.entries;
    const linkage = entries.find((e) => e.key === 'parent_linkage')?.value;
    parent = {
      uuid: linkage?.replace(/[{}]/g, '').toLowerCase(),
      locators: entries.filter((e) => e.key !== 'parent_linkage' && e.key !== 'parent_linkage2').map((e) => ({ key: e.key, path: e.value })),
    };
    const given = options.parent?.vhdx?.dataWriteGuid;
    const alternatives = entries.filter((e) => e.key.startsWith('parent_linkage')).map((e) => e.value.replace(/[{}]/g, '').toLowerCase());
    if (given && alternatives.length > 0 && !alternatives.includes(given)) {
      throw new FormatError(
        'DF_VDISK_PARENT_MISMATCH',
        `${file.name}: the given parent's DataWriteGuid ${given} does not match this disk's parent_linkage ${parent.uuid}; open the right parent`,
        { expected: parent.uuid, got: given },
      );
    }
  }

  const read = makeVirtualReader({
    name,
    virtualSize,
    file,
    resolve,
    parent: differencing ? options.parent : undefined,
    refuse: () =>
      needsLogReplay
        ? new FormatError(
            'DF_VHDX_NEEDS_LOG_REPLAY',
            `${file.name}: the VHDX log holds unreplayed entries; attach the disk once in Hyper-V or qemu (read-write) to replay it, then try again`,
            {},
          )
        : undefined,
  });
  const disk: VirtualDisk = {
    format: 'vhdx',
    diskType: differencing ? 'differencing' : meta.leaveBlocksAllocated ? 'fixed' : 'dynamic',
    virtualSize,
    blockSize,
    logicalSectorSize,
    physicalSectorSize: meta.physicalSectorSize,
    creator,
    needsLogReplay,
    checksumValid: Object.values(checksums).every((ok) => ok),
    checksums,
    vhdx: {
      headerSequence: header.sequenceNumber,
      headerUsed: headers.used,
      fileWriteGuid: header.fileWriteGuid,
      dataWriteGuid: header.dataWriteGuid,
      logGuid: header.logGuid,
      leaveBlocksAllocated: meta.leaveBlocksAllocated,
      hasParent: meta.hasParent,
      chunkRatio,
      batEntries,
      parentLocatorType: meta.parentLocator?.type,
      parentLocatorEntries: meta.parentLocator?.entries,
    },
    read,
    asSource: () => new VirtualDiskSource(read, virtualSize, name),
  };
  if (meta.page83) disk.uuid = meta.page83;
  if (parent) disk.parent = parent;
  return disk;
}
