// Opens VHD images (fixed, dynamic, differencing) per the Virtual Hard Disk Image Format
// Specification: picks a valid footer (end of file, or the copy at offset 0 of dynamic disks),
// reads the dynamic header and BAT, and maps virtual reads onto blocks. It never writes, and does
// not open parents by itself: a differencing disk reads through `options.parent` when given.
import { FormatError } from '../../errors.js';
import type { ByteSource } from '../../util/byte-source.js';
import type { OpenVirtualDiskOptions, VirtualDisk } from './types.js';
import { readVhdDynamicHeader } from './vhd-dynamic-header.js';
import { isVhdFooter, parseVhdFooter, VHD_FOOTER_SIZE, type VhdFooter } from './vhd-footer.js';
import { makeVirtualReader, type ResolveRun, VirtualDiskSource } from './virtual-read.js';

const SECTOR = 512;
const UNALLOCATED = 0xffffffff;
/** The spec's default is 2 MiB; anything past 256 MiB is not a real VHD. */
const MAX_BLOCK_SIZE = 256 * 1024 * 1024;
/** Bitmaps are at most 64 KiB (256 MiB blocks); keep a handful of recent ones. */
const BITMAP_CACHE_ENTRIES = 64;

async function pickFooter(file: ByteSource, ignoreChecksums: boolean): Promise<{ footer: VhdFooter; used: 'end' | 'start'; checksums: Record<string, boolean> }> {
  if (file.size < VHD_FOOTER_SIZE) {
    throw new FormatError('DF_VHD_BAD_FOOTER', `${file.name}: ${file.size} bytes is too small to hold a VHD footer; this is not a VHD`, { size: file.size });
  }
  const tail = await file.read(file.size - VHD_FOOTER_SIZE, VHD_FOOTER_SIZE);
  const head = file.size >= 2 * VHD_FOOTER_SIZE ? await file.read(0, VHD_FOOTER_SIZE) : new Uint8Array(0);
  const end = isVhdFooter(tail) ? parseVhdFooter(tail) : undefined;
  const start = isVhdFooter(head) ? parseVhdFooter(head) : undefined;
  const checksums: Record<string, boolean> = {};
  if (end) checksums.footer = end.checksum === end.computedChecksum;
  if (start) checksums.footerCopy = start.checksum === start.computedChecksum;
  // The end footer is authoritative; the copy at 0 exists (dynamic disks only) to recover from a
  // damaged end footer.
  if (end && checksums.footer) return { footer: end, used: 'end', checksums };
  if (start && checksums.footerCopy && start.diskType !== 2) return { footer: start, used: 'start', checksums };
  if (!end && !start) {
    throw new FormatError('DF_VHD_BAD_FOOTER', `${file.name}: no "conectix" footer at the end or start of the file; this is not a VHD or its footer is destroyed`, {});
  }
  if (!ignoreChecksums) {
    throw new FormatError('DF_VHD_BAD_CHECKSUM', `${file.name}: the VHD footer checksum is wrong and no valid footer copy exists; the file is corrupt`, { checksums });
  }
  return end ? { footer: end, used: 'end', checksums } : { footer: start as VhdFooter, used: 'start', checksums };
}

function diskTypeOf(code: number, name: string): 'fixed' | 'dynamic' | 'differencing' {
  if (code === 2) return 'fixed';
  if (code === 3) return 'dynamic';
  if (code === 4) return 'differencing';
  throw new FormatError('DF_VHD_BAD_DISK_TYPE', `${name}: VHD disk type ${code} is not fixed (2), dynamic (3) or differencing (4); the footer is corrupt`, { diskType: code });
}

export async function openVhd(file: ByteSource, options: OpenVirtualDiskOptions = {}): Promise<VirtualDisk> {
  const { footer, used, checksums } = await pickFooter(file, options.ignoreChecksums ?? false);
  const diskType = diskTypeOf(footer.diskType, file.name);
  const virtualSize = footer.currentSize;
  const name = `${file.name} (virtual disk)`;
  const details = {
    creatorApp: footer.creatorApp,
    creatorVersion: `${footer.creatorVersion >>> 16}.${footer.creatorVersion & 0xffff}`,
    creatorHostOs: footer.creatorHostOs,
    originalSize: footer.originalSize,
    currentSize: footer.currentSize,
    geometry: footer.geometry,
    timestamp: footer.timestamp,
    footerUsed: used,
    savedState: footer.savedState,
  };
  const base = {
    format: 'vhd' as const,
    diskType,
    virtualSize,
    logicalSectorSize: SECTOR,
    creator: `${footer.creatorApp.trimEnd()} ${details.creatorVersion}`,
    uuid: footer.uuid,
    checksums,
  };

  let resolve: ResolveRun;
  let extra: Partial<VirtualDisk> = {};
  let batEntries: number | undefined;
  if (diskType === 'fixed') {
    if (virtualSize > file.size - VHD_FOOTER_SIZE) {
      throw new FormatError(
        'DF_VHD_TRUNCATED',
        `${file.name}: the footer says the disk holds ${virtualSize} bytes but the file has only ${file.size - VHD_FOOTER_SIZE} before the footer; the VHD is truncated`,
        { virtualSize, size: file.size },
      );
    }
    resolve = async (offset, maxLength) => ({ kind: 'data', fileOffset: offset, length: maxLength });
  } else {
    if (footer.dataOffset === null) {
      throw new FormatError('DF_VHD_BAD_FOOTER', `${file.name}: a ${diskType} VHD footer must point to a dynamic header but its data offset is unset; the file is corrupt`, {});
    }
    const header = await readVhdDynamicHeader(file, footer.dataOffset);
    checksums.dynamicHeader = header.checksum === header.computedChecksum;
    if (!checksums.dynamicHeader && !options.ignoreChecksums) {
      throw new FormatError('DF_VHD_BAD_CHECKSUM', `${file.name}: the dynamic disk header checksum is wrong; the file is corrupt`, {});
    }
    const blockSize = header.blockSize;
    if (blockSize < SECTOR || blockSize % SECTOR !== 0 || blockSize > MAX_BLOCK_SIZE) {
      throw new FormatError('DF_VHD_BAD_BLOCK_SIZE', `${file.name}: block size ${blockSize} is not a multiple of 512 up to 256 MiB; the header is corrupt`, { blockSize });
    }
    const blocks = Math.ceil(virtualSize / blockSize);
    if (header.maxTableEntries < blocks) {
      throw new FormatError(
        'DF_VHD_BAD_BAT',
        `${file.name}: the BAT has ${header.maxTableEntries} entries but the ${virtualSize}-byte disk needs ${blocks}; the header is corrupt`,
        { maxTableEntries: header.maxTableEntries, blocks },
      );
    }
    if (header.tableOffset + blocks * 4 > file.size) {
      throw new FormatError('DF_VHD_BAD_BAT', `${file.name}: the BAT at ${header.tableOffset} runs past the end of the file; the VHD is truncated or corrupt`, {
        tableOffset: header.tableOffset,
      });
    }
    const batBytes = await file.read(header.tableOffset, blocks * 4);
    const bat = new Uint32Array(blocks);
    for (let i = 0; i < blocks; i++) bat[i] = ((batBytes[i * 4] << 24) | (batBytes[i * 4 + 1] << 16) | (batBytes[i * 4 + 2] << 8) | batBytes[i * 4 + 3]) >>> 0;
    batEntries = blocks;
    // Each block starts with a bitmap of one bit per sector, padded to whole sectors.
    const bitmapSize = Math.ceil(blockSize / SECTOR / 8 / SECTOR) * SECTOR;
    const differencing = diskType === 'differencing';
    const bitmaps = new Map<number, Uint8Array>();
    const bitmapOf = async (block: number, blockOffset: number): Promise<Uint8Array> => {
      let bitmap = bitmaps.get(block);
      if (!bitmap) {
        bitmap = await file.read(blockOffset, bitmapSize);
        if (bitmaps.size >= BITMAP_CACHE_ENTRIES) bitmaps.delete(bitmaps.keys().next().value as number);
        bitmaps.set(block, bitmap);
      }
      return bitmap;
    };
    resolve = async (offset, maxLength) => {
      const block = Math.floor(offset / blockSize);
      const within = offset - block * blockSize;
      const inBlock = Math.min(maxLength, blockSize - within);
      const entry = bat[block];
      if (entry === UNALLOCATED) return { kind: differencing ? 'parent' : 'zero', length: inBlock };
      const blockOffset = entry * SECTOR;
      const data = blockOffset + bitmapSize + within;
      // Dynamic disks read whole blocks as written (unwritten sectors are zero-filled, as qemu
      // and Windows do); only differencing disks must consult the bitmap to find parent sectors.
      if (!differencing) return { kind: 'data', fileOffset: data, length: inBlock };
      const bitmap = await bitmapOf(block, blockOffset);
      const firstSector = Math.floor(within / SECTOR);
      const present = (s: number) => (bitmap[s >> 3] & (0x80 >> (s & 7))) !== 0;
      const state = present(firstSector);
      let sector = firstSector + 1;
      const lastSector = Math.floor((within + inBlock - 1) / SECTOR);
      while (sector <= lastSector && present(sector) === state) sector++;
      const length = Math.min(inBlock, sector * SECTOR - within);
      return state ? { kind: 'data', fileOffset: data, length } : { kind: 'parent', length };
    };
    extra = {
      blockSize,
      parent: differencing ? { uuid: header.parentUuid, timestamp: header.parentTimestamp, name: header.parentName, locators: header.locators } : undefined,
    };
    if (differencing && options.parent && header.parentUuid && options.parent.uuid && options.parent.uuid !== header.parentUuid) {
      throw new FormatError(
        'DF_VDISK_PARENT_MISMATCH',
        `${file.name}: the given parent has UUID ${options.parent.uuid} but this disk's parent is ${header.parentUuid}; open the right parent`,
        { expected: header.parentUuid, got: options.parent.uuid },
      );
    }
  }
  const read = makeVirtualReader({ name, virtualSize, file, resolve, parent: diskType === 'differencing' ? options.parent : undefined });
  const disk: VirtualDisk = {
    ...base,
    ...extra,
    checksumValid: Object.values(checksums).every((ok) => ok),
    vhd: { ...details, batEntries },
    read,
    asSource: () => new VirtualDiskSource(read, virtualSize, name),
  };
  if (disk.parent === undefined) delete disk.parent;
  if (disk.blockSize === undefined) delete disk.blockSize;
  return disk;
}
