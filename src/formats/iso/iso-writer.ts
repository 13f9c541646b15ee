// Writes ISO images in one sequential pass: UDF 1.02 with a README-only ISO 9660 bridge (as
// Microsoft's oscdimg -u2 -udfver102 does), UDF + ISO 9660 level 3 + Joliet sharing one copy of
// each file, or ISO 9660 + Joliet alone; El Torito boot entries point at files of the image.
// planIso fixes every sector before a byte is written; writeIso then streams descriptors,
// directories and file data (≤ 1 MiB at a time) in sector order, so memory stays bounded.
import { createHash, randomBytes } from 'node:crypto';
import { chmod, type FileHandle, open, rename, stat } from 'node:fs/promises';
import { InputError } from '../../errors.js';
import { type ProgressSink, silentProgress } from '../../progress.js';
import { kernelCopy, readAhead } from '../../util/copy.js';
import { withAtomicOutput, writeAt } from '../../util/fs.js';
import { bootCatalog, bootRecordDescriptor, type CatalogEntry, MAX_BOOT_ENTRIES } from './eltorito-write.js';
import {
  assignIsoNames,
  assignJolietNames,
  buildWriteTree,
  findNode,
  type IsoBootEntry,
  type IsoInputFile,
  type IsoWriteMode,
  type WriteDirNode,
  type WriteFileNode,
} from './iso-write-tree.js';
import {
  directoryRecord,
  encodeIdentifier,
  fileRecordCount,
  fileRecords,
  ISO_BLOCK,
  isoVolumeId,
  type Naming,
  type PathTableEntry,
  packDirectory,
  pathTable,
  pathTableSize,
  type RecordInfo,
  recordLength,
  terminatorDescriptor,
  volumeDescriptor,
} from './iso9660-write.js';
import {
  anchorPointer,
  directoryData,
  type FidInfo,
  fidLength,
  fileEntry,
  fileSetDescriptor,
  fitDstring,
  implementationUseDescriptor,
  integrityDescriptor,
  logicalVolumeDescriptor,
  partitionDescriptor,
  primaryVolumeDescriptor,
  terminatingDescriptor,
  UDF_BLOCK,
  UDF_MAX_EXTENT,
  type UdfVolumeInfo,
  unallocatedSpaceDescriptor,
  volumeStructureDescriptor,
} from './udf-write.js';

export type { IsoBootEntry, IsoInputFile, IsoWriteMode } from './iso-write-tree.js';

export interface IsoWriteOptions {
  /** 'udf' (default): UDF 1.02 + an ISO 9660 bridge holding only README.TXT, like Microsoft media.
   *  'hybrid': UDF + ISO 9660 level 3 + Joliet, every tree listing every file, sharing extents.
   *  'iso9660': ISO 9660 level 3 + Joliet only. */
  mode?: IsoWriteMode;
  /** Volume label: at most 32 characters (the ISO 9660 volume identifier, ECMA-119 §8.4.6). */
  volumeLabel: string;
  /** Folders to create even when empty. */
  directories?: string[];
  boot?: IsoBootEntry[];
  /** Every time stamp in the image (files without `modified` too); default now. */
  timestamp?: Date;
  volumeSetId?: string;
  /** Serials and the UDF volume set id derived from the inputs; default true when `timestamp` is given. */
  deterministic?: boolean;
  /** Sees every byte of the image in order as it is written (e.g. to hash the output in the same pass). */
  onChunk?: (chunk: Uint8Array) => void | Promise<void>;
  /** Stops the write (it throws the signal's reason); the partial output is removed. */
  signal?: AbortSignal;
  progress?: ProgressSink;
  /** An image to start from (writeIsoFile): files whose `inBase` the planner keeps stay where they
   *  are in it. The output starts as a kernel-side copy of it (copy_file_range, or a reflink where
   *  the file system has them), then only the rest is written: new metadata, the other files, and
   *  zeros over every sector of the base the new image does not use, so nothing removed survives. */
  base?: {
    path: string;
    size: number;
    /** A copy of the base started earlier in the output's folder (e.g. while the new files were
     *  prepared): renamed into place instead of copying again; on failure the base is copied. */
    copied?: Promise<string>;
    /** Where that copy is being written (for progress). */
    copiedPath?: string;
  };
  /** With a base and onChunk: the runs of the output that are the base's own bytes at the same
   *  offset come here as ranges, unread, instead of through onChunk; the output is then onChunk's
   *  bytes and these ranges, in order. For a consumer that reads the base itself (a hash worker),
   *  so those bytes do not pass through this thread. */
  onBaseRange?: (offset: number, length: number) => void | Promise<void>;
}

/** What the ISO 9660 tree of a 'udf' image holds: a note that the files are in the UDF tree (our
 *  wording; Microsoft media carry a similar note). */
export const UDF_README_TEXT =
  'The files of this disc are in its UDF file system (ISO/IEC 13346, OSTA UDF 1.02).\r\nUse an operating system or tool that reads UDF to see them.\r\n';

const SECTOR = ISO_BLOCK;
// 256 KiB pieces: measured on this project's machines, copying through user space in 256 KiB
// pieces is 3× faster than in 16 MiB ones (the pieces stay in the CPU caches between the read and
// the write); smaller ones pay more per call (BENCHMARKS.md).
const CHUNK = 256 * 1024;
const FILE_CHUNK = CHUNK;
/** Reads kept in flight ahead of the write, so input and output overlap. */
const READ_AHEAD = 4;
/** ECMA-167 3/8.4.2.1: an anchor at sector 256. The volume descriptor sequences sit below it. */
const ANCHOR_LBA = 256;
const MAIN_VDS_LBA = 32;
const RESERVE_VDS_LBA = 48;
const VDS_SECTORS = 16;
const INTEGRITY_LBA = 64;
/** First sector of the UDF partition (everything after the first anchor). */
const PARTITION_START = 257;
/** The lowest sector a file of a base image can be kept at (IsoInputFile.inBase): below it lie
 *  the descriptors the writer places at fixed sectors. */
export const FIRST_KEEPABLE_SECTOR = PARTITION_START;
/** Unique ids 1–15 are reserved (OSTA UDF 3.2.1.1 in later revisions); the root is 0, the rest start at 16. */
const FIRST_UNIQUE_ID = 16;

interface Region {
  lba: number;
  sectors: number;
  bytes?: () => Uint8Array;
  file?: WriteFileNode;
  /** The part of `file` in this region (default: all of it). */
  offset?: number;
  length?: number;
  /** The bytes already lie here in the base image (but `file.input.inBase.dirty`). */
  inBase?: boolean;
}

export interface IsoPlanFile {
  path: string;
  size: number;
  /** First sector of the data; 0 for an empty file. */
  lba: number;
  /** True when this file shares another file's data (dedupeKey). */
  deduplicated: boolean;
  /** Sectors of the data kept where they were in the base image (IsoWriteOptions.base). */
  keptSectors: number;
}

export interface IsoPlan {
  mode: IsoWriteMode;
  /** Image size in bytes. */
  size: number;
  sectors: number;
  files: IsoPlanFile[];
  /** The regions to write, in sector order (internal to writeIso). */
  readonly regions: readonly Region[];
  /** Sectors taken as they are from the base image (IsoWriteOptions.base). */
  keptSectors: number;
  readonly progress: ProgressSink;
}

// ---- ISO 9660 / Joliet views ----------------------------------------------------------------

interface IsoDirView {
  identifier: Uint8Array;
  parent: IsoDirView | null;
  entries: IsoEntryView[];
  lba: number;
  bytes: number;
  number: number;
}

interface IsoEntryView {
  identifier: Uint8Array;
  dir?: IsoDirView;
  file?: { lba: () => number; size: number; date: Date; node?: WriteFileNode };
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    // Shorter identifiers are padded (ECMA-119 §9.3); 0x20 for d-characters, 0 for UCS-2 is close enough for a total order.
    const x = i < a.length ? a[i] : 0x20;
    const y = i < b.length ? b[i] : 0x20;
    if (x !== y) return x - y;
  }
  return a.length - b.length;
}

function buildView(dir: WriteDirNode, parent: IsoDirView | null, naming: Naming, timestamp: Date): IsoDirView {
  const view: IsoDirView = {
    identifier: parent ? encodeIdentifier(naming === 'iso' ? dir.isoName : dir.jolietName, naming) : new Uint8Array([0]),
    parent,
    entries: [],
    lba: 0,
    bytes: 0,
    number: 0,
  };
  if (naming === 'iso') assignIsoNames(dir);
  else assignJolietNames(dir);
  for (const child of dir.children) {
    const name = naming === 'iso' ? child.isoName : child.jolietName;
    if (child.kind === 'dir') {
      const sub = buildView(child, view, naming, timestamp);
      view.entries.push({ identifier: sub.identifier, dir: sub });
    } else {
      const node = child;
      view.entries.push({
        identifier: encodeIdentifier(`${name};1`, naming),
        file: { lba: () => node.lba, size: node.input.size, date: node.input.modified ?? timestamp, node },
      });
    }
  }
  view.entries.sort((a, b) => compareBytes(a.identifier, b.identifier));
  return view;
}

function bfs(root: IsoDirView): IsoDirView[] {
  const out = [root];
  for (let i = 0; i < out.length; i++) for (const e of out[i].entries) if (e.dir) out.push(e.dir);
  out.forEach((d, i) => {
    d.number = i + 1;
  });
  return out;
}

function dirRecordsOf(view: IsoDirView, timestamp: Date): RecordInfo[] {
  const parent = view.parent ?? view;
  const out: RecordInfo[] = [
    { identifier: new Uint8Array([0]), lba: view.lba, length: view.bytes, isDirectory: true, date: timestamp },
    { identifier: new Uint8Array([1]), lba: parent.lba, length: parent.bytes, isDirectory: true, date: timestamp },
  ];
  for (const e of view.entries) {
    if (e.dir) out.push({ identifier: e.identifier, lba: e.dir.lba, length: e.dir.bytes, isDirectory: true, date: timestamp });
    else if (e.file) out.push(...fileRecords(e.identifier, e.file.lba(), e.file.size, e.file.date, e.file.node?.pieces));
  }
  return out;
}

function dirSizeOf(view: IsoDirView): number {
  const lengths = [34, 34];
  for (const e of view.entries) {
    const count = e.file
      ? fileRecordCount(
          e.file.size,
          e.file.node?.pieceBytes.map((bytes) => ({ bytes })),
        )
      : 1;
    for (let i = 0; i < count; i++) lengths.push(recordLength(e.identifier.length));
  }
  let blocks = 1;
  let used = 0;
  for (const l of lengths) {
    if (used + l > SECTOR) {
      blocks++;
      used = 0;
    }
    used += l;
  }
  return blocks * SECTOR;
}

interface IsoSide {
  naming: Naming;
  root: IsoDirView;
  dirs: IsoDirView[];
  pathTable: PathTableEntry[];
  pathTableBytes: number;
  lPathLba: number;
  mPathLba: number;
}

function makeIsoSide(root: IsoDirView, naming: Naming): IsoSide {
  const dirs = bfs(root);
  for (const d of dirs) d.bytes = dirSizeOf(d);
  const entries = dirs.map((d) => ({ identifier: d.identifier, lba: 0, parentNumber: d.parent ? d.parent.number : 1 }));
  return { naming, root, dirs, pathTable: entries, pathTableBytes: pathTableSize(entries), lPathLba: 0, mPathLba: 0 };
}

// ---- validation -----------------------------------------------------------------------------

function validateOptions(options: IsoWriteOptions, problems: string[]): IsoWriteMode {
  const mode = options.mode ?? 'udf';
  if (!['udf', 'hybrid', 'iso9660'].includes(mode)) problems.push(`mode "${mode}" is not one of udf, hybrid, iso9660`);
  const label = options.volumeLabel;
  if (typeof label !== 'string' || label.length === 0) problems.push('the volume label is empty');
  else {
    if (label.length > 32) problems.push(`the volume label "${label}" has ${label.length} characters; ISO 9660 allows at most 32`);
    if (/[\0-\x1f\x7f]/.test(label)) problems.push('the volume label contains control characters');
  }
  if (options.timestamp !== undefined && Number.isNaN(options.timestamp.getTime())) problems.push('the timestamp is not a valid date');
  if (options.volumeSetId !== undefined && options.volumeSetId.length > 63) problems.push('the volume set id is longer than 63 characters');
  return mode;
}

function volumeSetIdOf(options: IsoWriteOptions, files: readonly IsoInputFile[], timestamp: Date, deterministic: boolean): string {
  if (options.volumeSetId !== undefined) return options.volumeSetId;
  // OSTA UDF 2.2.2.5: the first 16 characters should be unique; hex of a hash (deterministic) or of time and randomness.
  let hex: string;
  if (deterministic) {
    const h = createHash('sha256').update(`${options.volumeLabel}\0${timestamp.toISOString()}\0${options.mode ?? 'udf'}`);
    for (const f of files) h.update(`${f.path}\0${f.size}\0`);
    hex = h.digest('hex').slice(0, 16);
  } else {
    hex = (Date.now().toString(16).padStart(8, '0').slice(-8) + randomBytes(4).toString('hex')).toUpperCase();
  }
  return `${hex.toUpperCase()}${options.volumeLabel}`.slice(0, 63);
}

// ---- planning -------------------------------------------------------------------------------

function sectorsOf(...descriptors: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(descriptors.length * SECTOR);
  descriptors.forEach((d, i) => {
    out.set(d, i * SECTOR);
  });
  return out;
}

/** Lays the image out: validates the inputs (one InputError listing every problem), then fixes every sector. */
export function planIso(files: readonly IsoInputFile[], options: IsoWriteOptions): IsoPlan {
  const problems: string[] = [];
  const mode = validateOptions(options, problems);
  const tree = buildWriteTree(files, options.directories ?? [], problems);
  const bootEntries = options.boot ?? [];
  if (bootEntries.length > MAX_BOOT_ENTRIES) problems.push(`${bootEntries.length} boot entries given; one catalog sector holds at most ${MAX_BOOT_ENTRIES}`);
  const bootFiles: WriteFileNode[] = [];
  for (const entry of bootEntries) {
    const node = findNode(tree.root, entry.imagePath);
    if (!Number.isInteger(entry.platform) || entry.platform < 0 || entry.platform > 0xff) problems.push(`boot entry ${entry.imagePath}: platform ${entry.platform} is not a byte`);
    if (entry.loadSegment !== undefined && (!Number.isInteger(entry.loadSegment) || entry.loadSegment < 0 || entry.loadSegment > 0xffff)) {
      problems.push(`boot entry ${entry.imagePath}: load segment ${entry.loadSegment} is not a 16-bit value`);
    }
    if (entry.sectorCount !== undefined && (!Number.isInteger(entry.sectorCount) || entry.sectorCount < 1 || entry.sectorCount > 0xffff)) {
      problems.push(`boot entry ${entry.imagePath}: sector count ${entry.sectorCount} is not between 1 and 65535`);
    }
    if (!node) problems.push(`boot image ${entry.imagePath} is not one of the image's files`);
    else if (node.kind === 'dir') problems.push(`boot image ${entry.imagePath} is a folder, not a file`);
    else if (node.input.size === 0) problems.push(`boot image ${entry.imagePath} is empty`);
    else bootFiles.push(node);
  }
  for (const f of tree.files) {
    if (Math.ceil(f.input.size / UDF_MAX_EXTENT) > (UDF_BLOCK - 176) / 8) problems.push(`${f.path}: ${f.input.size} bytes is more than one UDF file entry can describe`);
  }
  if (problems.length > 0) {
    throw new InputError('DF_ISO_BAD_INPUT', `cannot write the ISO image: ${problems.join('; ')}`, { problems });
  }

  const timestamp = options.timestamp ?? new Date();
  const deterministic = options.deterministic ?? options.timestamp !== undefined;
  const label = options.volumeLabel;
  const hasUdf = mode !== 'iso9660';
  const fullIso = mode !== 'udf';
  const regions: Region[] = [];
  const add = (lba: number, sectors: number, bytes?: () => Uint8Array, file?: WriteFileNode) => regions.push({ lba, sectors, bytes, file });

  // Files kept where they lie in the base image, decided before anything else is placed.
  const kept = keepInBase(tree.files, options.base);
  let keptIndex = 0;
  /** The next `sectors` free sectors at or after the cursor, stepping over kept files (first fit). */
  const alloc = (sectors: number): number => {
    for (;;) {
      while (keptIndex < kept.length && kept[keptIndex].end <= cursor) keptIndex++;
      const next = kept[keptIndex];
      if (next && next.lba < cursor + sectors) cursor = next.end;
      else break;
    }
    const at = cursor;
    cursor += sectors;
    return at;
  };

  // Volume descriptors (ECMA-119 §8, §6.7.1): primary, boot record, Joliet, terminator; then the UDF VRS (ECMA-167 2/8.3).
  let cursor = 16;
  const pvdLba = cursor++;
  const bootRecordLba = bootEntries.length > 0 ? cursor++ : -1;
  const jolietLba = fullIso ? cursor++ : -1;
  const terminatorLba = cursor++;
  const vrsLba = hasUdf ? cursor : -1;
  if (hasUdf) cursor += 3;
  if (hasUdf) cursor = PARTITION_START;
  // File set descriptor + terminating descriptor (ECMA-167 4/8.3.1).
  const fsdLba = hasUdf ? alloc(2) : -1;
  const catalogLba = bootEntries.length > 0 ? alloc(1) : -1;

  // ISO 9660 trees.
  let readme: { lba: number; bytes: Uint8Array } | null = null;
  let primaryRoot: IsoDirView;
  if (fullIso) primaryRoot = buildView(tree.root, null, 'iso', timestamp);
  else {
    const bytes = new TextEncoder().encode(UDF_README_TEXT);
    readme = { lba: 0, bytes };
    const r = readme;
    primaryRoot = { identifier: new Uint8Array([0]), parent: null, entries: [], lba: 0, bytes: 0, number: 0 };
    primaryRoot.entries.push({ identifier: encodeIdentifier('README.TXT;1', 'iso'), file: { lba: () => r.lba, size: bytes.length, date: timestamp } });
  }
  const sides = [makeIsoSide(primaryRoot, 'iso')];
  if (fullIso) sides.push(makeIsoSide(buildView(tree.root, null, 'joliet', timestamp), 'joliet'));
  for (const side of sides) {
    const sectors = Math.ceil(side.pathTableBytes / SECTOR);
    side.lPathLba = alloc(sectors);
    side.mPathLba = alloc(sectors);
  }
  for (const side of sides) {
    for (const d of side.dirs) d.lba = alloc(d.bytes / SECTOR);
  }
  if (readme) readme.lba = alloc(1);

  // UDF file entries and directory data (partition-relative blocks = sector − PARTITION_START).
  let nextUniqueId = FIRST_UNIQUE_ID;
  if (hasUdf) {
    for (const dir of tree.dirs) {
      dir.uniqueId = dir.parent ? nextUniqueId++ : 0;
      dir.udfEntryLba = alloc(1);
      dir.udfDataBytes = fidLength('', true) + dir.children.reduce((n, c) => n + fidLength(c.name, false), 0);
      dir.udfDataLba = alloc(Math.ceil(dir.udfDataBytes / SECTOR));
    }
    for (const f of tree.files) {
      f.uniqueId = nextUniqueId++;
      f.udfEntryLba = alloc(1);
    }
  }

  // File data: boot images first (firmware reads them early), then in tree order; dedupeKey shares data.
  const planFiles: IsoPlanFile[] = [];
  const stored = new Map<string, WriteFileNode>();
  // Files kept in the base come first, so a twin of one shares its kept sectors instead of
  // taking new ones.
  const ordered = [...new Set([...kept.map((k) => k.node), ...bootFiles, ...walkFiles(tree.root)])];
  const keptNodes = new Map(kept.map((k) => [k.node, k]));
  for (const f of ordered) {
    const size = f.input.size;
    const key = f.input.dedupeKey !== undefined ? `${f.input.dedupeKey}\0${size}` : undefined;
    let twin = key !== undefined ? stored.get(key) : undefined;
    // A twin laid out in other pieces would change this file's record count, fixed above.
    if (twin && twin.pieceBytes.join() !== f.pieceBytes.join()) twin = undefined;
    const keep = keptNodes.get(f);
    if (size === 0) f.lba = 0;
    else if (twin && !keep) f.pieces = twin.pieces;
    else {
      let offset = 0;
      for (const bytes of f.pieceBytes) {
        const sectors = Math.ceil(bytes / SECTOR);
        const inBase = keep !== undefined && offset === 0;
        const lba = inBase ? keep.lba : alloc(sectors);
        f.pieces.push({ lba, bytes });
        regions.push({ lba, sectors, file: f, offset, length: bytes, inBase });
        offset += bytes;
      }
      if (key !== undefined && !stored.has(key)) stored.set(key, f);
    }
    if (size > 0) f.lba = f.pieces[0].lba;
    planFiles.push({ path: f.path, size, lba: f.lba, deduplicated: twin !== undefined && !keep, keptSectors: keep ? keep.end - keep.lba : 0 });
  }
  cursor = Math.max(cursor, kept.length > 0 ? kept[kept.length - 1].end : 0);
  const endAnchorLba = hasUdf ? cursor++ : -1;
  const totalSectors = cursor;
  if (totalSectors >= 2 ** 32) throw new InputError('DF_ISO_TOO_LARGE', `the image would need ${totalSectors} sectors; ISO 9660 and UDF address at most 2^32`, {});

  // ---- regions of metadata, produced when written ----
  const volumeSetId = volumeSetIdOf(options, files, timestamp, deterministic);
  for (const side of sides) {
    for (const d of side.dirs) side.pathTable[d.number - 1].lba = d.lba;
    const sectors = Math.ceil(side.pathTableBytes / SECTOR);
    add(side.lPathLba, sectors, () => pathTable(side.pathTable, true));
    add(side.mPathLba, sectors, () => pathTable(side.pathTable, false));
    for (const d of side.dirs) add(d.lba, d.bytes / SECTOR, () => packDirectory(dirRecordsOf(d, timestamp).map(directoryRecord)));
  }
  const descriptorFor = (side: IsoSide, volumeId: string) =>
    volumeDescriptor({
      naming: side.naming,
      volumeId,
      volumeSetId: side.naming === 'iso' ? isoVolumeId(volumeSetId) : volumeSetId,
      volumeSpaceSize: totalSectors,
      pathTableSize: side.pathTableBytes,
      lPathTable: side.lPathLba,
      mPathTable: side.mPathLba,
      root: { identifier: new Uint8Array([0]), lba: side.root.lba, length: side.root.bytes, isDirectory: true, date: timestamp },
      created: timestamp,
    });
  add(pvdLba, 1, () => descriptorFor(sides[0], isoVolumeId(label)));
  if (fullIso) add(jolietLba, 1, () => descriptorFor(sides[1], label.slice(0, 16)));
  add(terminatorLba, 1, terminatorDescriptor);
  if (readme) {
    const r = readme;
    add(r.lba, 1, () => r.bytes);
  }

  if (bootEntries.length > 0) {
    add(bootRecordLba, 1, () => bootRecordDescriptor(catalogLba));
    const catalog: CatalogEntry[] = bootEntries.map((e, i) => {
      const size = bootFiles[i].input.size;
      return {
        platform: e.platform,
        loadSegment: e.loadSegment ?? (e.platform === 0 ? 0x7c0 : 0),
        sectorCount: e.sectorCount ?? (e.platform === 0 ? 8 : Math.min(0xffff, Math.ceil(size / 512))),
        loadRba: bootFiles[i].lba,
      };
    });
    add(catalogLba, 1, () => bootCatalog(catalog));
  }

  if (hasUdf) {
    const partitionLength = endAnchorLba - PARTITION_START;
    const info: UdfVolumeInfo = {
      logicalVolumeId: label,
      volumeId: fitDstring(label, 32),
      volumeSetId,
      recorded: timestamp,
      partitionStart: PARTITION_START,
      partitionLength,
      integrity: { location: INTEGRITY_LBA, length: 2 * SECTOR },
      fsdBlock: fsdLba - PARTITION_START,
      fileCount: tree.files.length,
      directoryCount: tree.dirs.length,
      nextUniqueId,
    };
    add(vrsLba, 3, () => sectorsOf(volumeStructureDescriptor('BEA01'), volumeStructureDescriptor('NSR02'), volumeStructureDescriptor('TEA01')));
    // Main and reserve volume descriptor sequences (ECMA-167 3/8.4.2; OSTA UDF 2.2).
    const sequence = (start: number) => () =>
      sectorsOf(
        primaryVolumeDescriptor(info, start, 0),
        implementationUseDescriptor(info, start + 1, 1),
        partitionDescriptor(info, start + 2, 2),
        logicalVolumeDescriptor(info, start + 3, 3),
        unallocatedSpaceDescriptor(start + 4, 4),
        terminatingDescriptor(start + 5),
      );
    add(MAIN_VDS_LBA, 6, sequence(MAIN_VDS_LBA));
    add(RESERVE_VDS_LBA, 6, sequence(RESERVE_VDS_LBA));
    add(INTEGRITY_LBA, 2, () => sectorsOf(integrityDescriptor(info, INTEGRITY_LBA), terminatingDescriptor(INTEGRITY_LBA + 1)));
    const vds = { length: VDS_SECTORS * SECTOR, location: MAIN_VDS_LBA };
    const reserve = { length: VDS_SECTORS * SECTOR, location: RESERVE_VDS_LBA };
    add(ANCHOR_LBA, 1, () => anchorPointer(ANCHOR_LBA, vds, reserve));
    add(endAnchorLba, 1, () => anchorPointer(endAnchorLba, vds, reserve));
    const rel = (lba: number) => lba - PARTITION_START;
    add(fsdLba, 2, () => sectorsOf(fileSetDescriptor(info, rel(fsdLba), rel(tree.root.udfEntryLba)), terminatingDescriptor(rel(fsdLba) + 1)));
    for (const dir of tree.dirs) {
      const subdirs = dir.children.filter((c) => c.kind === 'dir').length;
      add(dir.udfEntryLba, 1, () =>
        fileEntry({
          isDirectory: true,
          block: rel(dir.udfEntryLba),
          size: dir.udfDataBytes,
          dataBlock: rel(dir.udfDataLba),
          linkCount: 1 + subdirs,
          uniqueId: dir.uniqueId,
          modified: timestamp,
        }),
      );
      const parent = dir.parent ?? dir;
      add(dir.udfDataLba, Math.ceil(dir.udfDataBytes / SECTOR), () => {
        const fids: FidInfo[] = [{ name: '', isDirectory: true, isParent: true, entryBlock: rel(parent.udfEntryLba), uniqueId: parent.uniqueId }];
        for (const c of dir.children) fids.push({ name: c.name, isDirectory: c.kind === 'dir', isParent: false, entryBlock: rel(c.udfEntryLba), uniqueId: c.uniqueId });
        return directoryData(fids, rel(dir.udfDataLba));
      });
    }
    for (const f of tree.files) {
      add(f.udfEntryLba, 1, () =>
        fileEntry({
          isDirectory: false,
          block: rel(f.udfEntryLba),
          size: f.input.size,
          dataBlock: rel(f.lba),
          pieces: f.pieces.map((p) => ({ block: rel(p.lba), bytes: p.bytes })),
          linkCount: 1,
          uniqueId: f.uniqueId,
          modified: f.input.modified ?? timestamp,
        }),
      );
    }
  }

  regions.sort((a, b) => a.lba - b.lba);
  return {
    mode,
    size: totalSectors * SECTOR,
    sectors: totalSectors,
    files: planFiles,
    regions,
    keptSectors: kept.reduce((n, k) => n + k.end - k.lba, 0),
    progress: options.progress ?? silentProgress,
  };
}

interface KeptFile {
  node: WriteFileNode;
  lba: number;
  end: number;
}

/** The files that stay where they lie in the base image, sorted by sector; sets their pieceBytes.
 *  A file is kept only above the fixed descriptors (sector 257 on), inside the base, without
 *  overlapping another kept file, and in whole sectors unless it is kept whole; any other file is
 *  written like a new one. */
function keepInBase(files: readonly WriteFileNode[], base: IsoWriteOptions['base']): KeptFile[] {
  if (!base) return [];
  const baseSectors = Math.floor(base.size / SECTOR);
  const candidates = files
    .filter((f) => {
      const b = f.input.inBase;
      if (!b || f.input.size === 0) return false;
      if (!Number.isSafeInteger(b.lba) || !Number.isSafeInteger(b.bytes) || b.bytes <= 0 || b.bytes > f.input.size) return false;
      if (b.bytes !== f.input.size && b.bytes % SECTOR !== 0) return false;
      return b.lba >= PARTITION_START && b.lba + Math.ceil(b.bytes / SECTOR) <= baseSectors;
    })
    .sort((a, b) => (a.input.inBase?.lba ?? 0) - (b.input.inBase?.lba ?? 0));
  const kept: KeptFile[] = [];
  for (const node of candidates) {
    const { lba, bytes } = node.input.inBase as { lba: number; bytes: number };
    if (kept.length > 0 && lba < kept[kept.length - 1].end) continue;
    kept.push({ node, lba, end: lba + Math.ceil(bytes / SECTOR) });
    node.pieceBytes = bytes === node.input.size ? [bytes] : [bytes, node.input.size - bytes];
  }
  return kept;
}

function walkFiles(root: WriteDirNode): WriteFileNode[] {
  const out: WriteFileNode[] = [];
  const visit = (dir: WriteDirNode) => {
    for (const c of dir.children) {
      if (c.kind === 'file') out.push(c);
      else visit(c);
    }
  };
  visit(root);
  return out;
}

// ---- writing --------------------------------------------------------------------------------

const ZEROS = new Uint8Array(CHUNK);

/** How a chunk reaches the sink: bytes to write, zeros between regions, or bytes the base image already holds there. */
type ChunkKind = 'data' | 'zeros' | 'base';

/** Emits the planned image in sector order. Bytes already in the base image are read (from the
 *  files' sources) only when `readBase` is set, e.g. to hash the whole output; otherwise skipped. */
async function emitIso(
  plan: IsoPlan,
  put: (chunk: Uint8Array, position: number, kind: ChunkKind) => Promise<void>,
  /** true: kept runs of the base are read and put as 'base' chunks; false: skipped; a function:
   *  told about them instead of reading them. */
  readBase: boolean | ((position: number, length: number) => void | Promise<void>),
  reportProgress = true,
): Promise<void> {
  let position = 0; // bytes
  const total = plan.size;
  const progress = () => {
    if (reportProgress) plan.progress.emit({ phase: 'write iso', done: position, total, unit: 'bytes' });
  };
  const send = async (chunk: Uint8Array, kind: ChunkKind) => {
    await put(chunk, position, kind);
    position += chunk.length;
    progress();
  };
  const zeros = async (bytes: number) => {
    for (let left = bytes; left > 0; left -= CHUNK) await send(ZEROS.subarray(0, Math.min(CHUNK, left)), 'zeros');
  };
  const stream = async (source: IsoInputFile['source'], offset: number, length: number, kind: ChunkKind) => {
    // The next chunks are read while the current one is written (the pass is I/O-bound).
    for await (const chunk of readAhead(source, offset, length, FILE_CHUNK, READ_AHEAD)) await send(chunk, kind);
  };
  progress();
  for (const region of plan.regions) {
    if (region.lba * SECTOR < position) throw new Error(`internal: ISO regions overlap at sector ${region.lba}`);
    await zeros(region.lba * SECTOR - position);
    const length = region.sectors * SECTOR;
    const end = position + length;
    if (region.bytes) {
      const bytes = region.bytes();
      if (bytes.length > length) throw new Error(`internal: region at sector ${region.lba} holds ${bytes.length} bytes in ${region.sectors} sectors`);
      for (let at = 0; at < bytes.length; at += CHUNK) await send(bytes.subarray(at, Math.min(bytes.length, at + CHUNK)), 'data');
    } else if (region.file) {
      const { source, size } = region.file.input;
      if (source.size !== size) throw new InputError('DF_ISO_SOURCE_CHANGED', `${source.name} changed size while the ISO was written (${size} → ${source.size} bytes)`, {});
      const offset = region.offset ?? 0;
      const part = region.length ?? size;
      if (!region.inBase) await stream(source, offset, part, 'data');
      else {
        // Only the dirty ranges are written; the rest is already in place.
        for (const [from, to, dirty] of baseSegments(part, region.file.input.inBase?.dirty ?? [])) {
          if (dirty) await stream(source, offset + from, to - from, 'data');
          else if (readBase === true) await stream(source, offset + from, to - from, 'base');
          else {
            if (readBase) await readBase(position, to - from);
            position += to - from;
            progress();
          }
        }
      }
    }
    await zeros(end - position);
  }
  await zeros(plan.size - position);
}

/** [from, to, dirty] segments covering [0, length), dirty ranges merged and clipped. */
function baseSegments(length: number, dirty: ReadonlyArray<{ offset: number; length: number }>): Array<[number, number, boolean]> {
  const ranges = dirty
    .map((d) => [Math.max(0, d.offset), Math.min(length, d.offset + d.length)] as [number, number])
    .filter(([a, b]) => b > a)
    .sort((x, y) => x[0] - y[0]);
  const out: Array<[number, number, boolean]> = [];
  let at = 0;
  for (const [a, b] of ranges) {
    if (b <= at) continue;
    if (a > at) out.push([at, a, false]);
    out.push([Math.max(a, at), b, true]);
    at = b;
  }
  if (at < length) out.push([at, length, false]);
  return out;
}

/** Writes the planned image as one sequential stream of chunks (each ≤ 256 KiB). */
export async function writeIso(plan: IsoPlan, write: (chunk: Uint8Array) => Promise<void>): Promise<void> {
  await emitIso(plan, (chunk) => write(chunk), true);
}

function isAllZero(chunk: Uint8Array): boolean {
  return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).equals(ZEROS.subarray(0, chunk.length));
}

/** Plans and writes an image to `outPath` atomically. Runs of zero chunks become holes in the file.
 *  With a base image the output starts as a copy of it and only what differs is written. */
export async function writeIsoFile(files: readonly IsoInputFile[], options: IsoWriteOptions, outPath: string): Promise<{ size: number; plan: IsoPlan }> {
  const plan = planIso(files, options);
  const base = plan.keptSectors > 0 ? options.base : undefined;
  const pwriteTo = (handle: FileHandle) => (chunk: Uint8Array, position: number) => writeAt(handle, chunk, position);
  await withAtomicOutput(outPath, async (partial) => {
    if (base) return writeOverBase(plan, base, partial, options, pwriteTo);
    const handle = await open(partial, 'w');
    try {
      const pwrite = pwriteTo(handle);
      await emitIso(
        plan,
        async (chunk, position) => {
          options.signal?.throwIfAborted();
          await options.onChunk?.(chunk);
          if (!isAllZero(chunk)) await pwrite(chunk, position);
        },
        true,
      );
      await handle.truncate(plan.size);
    } finally {
      await handle.close();
    }
  });
  return { size: plan.size, plan };
}

/** The output starts as a kernel-side copy of the base (copy_file_range, or a reflink); then only
 *  what differs is written: every byte the plan puts over the base, zeros too (what was removed
 *  must not survive), while past the base's end zeros stay holes. With onChunk, a second pass
 *  goes through the whole image in order, alongside the copy and the writes, so hashing the
 *  output needs no second read of it. */
async function writeOverBase(
  plan: IsoPlan,
  base: NonNullable<IsoWriteOptions['base']>,
  partial: string,
  options: IsoWriteOptions,
  pwriteTo: (handle: FileHandle) => (chunk: Uint8Array, position: number) => Promise<void>,
): Promise<void> {
  const internal = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, internal.signal]) : internal.signal;
  const onChunk = options.onChunk;
  const writePass = async () => {
    plan.progress.emit({ phase: 'copy base image', done: 0, total: base.size, unit: 'bytes' });
    // The copy reports nothing while it runs, so its file's growing size is the progress.
    let copying = base.copiedPath ?? partial;
    let copied = false;
    const poll = setInterval(() => {
      stat(copying).then(
        (info) => {
          if (!copied) plan.progress.emit({ phase: 'copy base image', done: Math.min(info.size, base.size), total: base.size, unit: 'bytes' });
        },
        () => {},
      );
    }, 250);
    try {
      const early = await base.copied?.catch(() => undefined);
      // (If another process removed the early copy meanwhile, the base is copied after all.)
      const adopted =
        early !== undefined &&
        (await rename(early, partial).then(
          () => true,
          () => false,
        ));
      copying = partial;
      if (!adopted) await kernelCopy(base.path, partial, signal);
    } finally {
      copied = true;
      clearInterval(poll);
    }
    // The copy has the base's permissions (a read-only ISO gives a read-only copy, which this
    // process could not open for writing); an output gets the mode a new file gets.
    await chmod(partial, 0o666 & ~process.umask());
    signal.throwIfAborted();
    plan.progress.emit({ phase: 'copy base image', done: base.size, total: base.size, unit: 'bytes' });
    const handle = await open(partial, 'r+');
    try {
      const pwrite = pwriteTo(handle);
      await emitIso(
        plan,
        async (chunk, position, kind) => {
          signal.throwIfAborted();
          if (kind === 'data') await pwrite(chunk, position);
          else if (kind === 'zeros' && position < base.size) await pwrite(chunk.subarray(0, Math.min(chunk.length, base.size - position)), position);
        },
        false,
        !onChunk,
      );
      await handle.truncate(plan.size);
      await handle.sync();
    } finally {
      await handle.close();
    }
  };
  const readPass = async () => {
    if (!onChunk) return;
    await emitIso(
      plan,
      async (chunk) => {
        signal.throwIfAborted();
        await onChunk(chunk);
      },
      options.onBaseRange ?? true,
    );
  };
  const stopOther = (error: unknown) => {
    internal.abort(error);
    throw error;
  };
  const results = await Promise.allSettled([writePass().catch(stopOther), readPass().catch(stopOther)]);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw options.signal?.aborted ? options.signal.reason : failed.reason;
}
