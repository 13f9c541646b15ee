// `deployforge inspect`: say what a file is and what it holds, with pure TypeScript readers and
// no external tools. It reads only what it needs: for an ISO, the volume descriptors, the
// directories on the way to sources/ and the install image's header and XML inside the ISO.
import { DeployForgeError, InputError } from '../errors.js';
import { readCab } from '../formats/cab/read-cab.js';
import { readMsu } from '../formats/cab/read-msu.js';
import { type DetectedFormat, detectFormat } from '../formats/detect.js';
import { readPartitionTable } from '../formats/disk/partition-table.js';
import type { PartitionTable } from '../formats/disk/types.js';
import { openIso } from '../formats/iso/index.js';
import { type PackageConfig, readPackageConfig } from '../formats/ppkg/package-config.js';
import { type PpkgInfo, readPpkgInfo } from '../formats/ppkg/package-info.js';
import { openHive } from '../formats/regf/hive.js';
import { type RegTextSummary, summarizeRegText } from '../formats/regf/reg-text-summary.js';
import { type HiveSummary, summarizeHive } from '../formats/regf/summary.js';
import { summarizeTransactionLog, type TransactionLogSummary } from '../formats/regf/transaction-log.js';
import { summarizeUnattend, type UnattendSummary } from '../formats/unattend/summary.js';
import type { VirtualDisk } from '../formats/vhd/types.js';
import { openVirtualDisk } from '../formats/vhd/virtual-disk.js';
import { openWimImage } from '../formats/wim/image.js';
import { openWim, type WimFile } from '../formats/wim/wim-file.js';
import type { WimImageInfo } from '../formats/wim/xml-info.js';
import { type ByteSource, FileSource } from '../util/byte-source.js';

/** Hives, logs, answer files and .reg files are read whole; anything larger is not one. */
const MAX_WHOLE_FILE = 512 * 1024 * 1024;

export interface WimReport {
  kind: WimFile['kind'];
  version: string;
  compression: string;
  chunkSize: number;
  solid: boolean;
  part: { number: number; total: number };
  bootIndex: number;
  imageCount: number;
  integrityTable: boolean;
  guid: string;
  images: WimImageInfo[];
  ppkg?: PpkgInfo | null;
}

export interface IsoReport {
  volumeLabel: string;
  trees: unknown;
  bootEntries: unknown[];
  size: number;
  fileCount: number;
  directoryCount: number;
  installImage?: { path: string; size: number; wim: WimReport } | { path: string; error: string; code: string };
  bootImage?: { path: string; size: number; wim: WimReport } | { path: string; error: string; code: string };
}

export type DiskReport = Pick<
  VirtualDisk,
  'format' | 'diskType' | 'virtualSize' | 'blockSize' | 'logicalSectorSize' | 'physicalSectorSize' | 'creator' | 'uuid' | 'parent' | 'needsLogReplay' | 'checksumValid'
> & {
  partitionTable?: PartitionTable;
  partitionTableError?: string;
};

export type InspectReport = { path: string; format: DetectedFormat; size: number; evidence: string } & (
  | { format: 'iso'; iso: IsoReport }
  | { format: 'wim' | 'esd' | 'swm' | 'ppkg'; wim: WimReport }
  | { format: 'hive'; hive: HiveSummary }
  | { format: 'hive-log'; log: Omit<TransactionLogSummary, 'header' | 'entries'> }
  | { format: 'vhd' | 'vhdx'; disk: DiskReport }
  | { format: 'cab'; cab: Awaited<ReturnType<typeof readCab>> }
  | { format: 'msu'; msu: Awaited<ReturnType<typeof readMsu>> }
  | { format: 'unattend'; unattend: UnattendSummary }
  | { format: 'reg'; reg: RegTextSummary }
);

function versionText(version: number): string {
  return `${version >>> 16}.${(version >>> 8) & 0xff}${version & 0xff ? `.${version & 0xff}` : ''} (0x${version.toString(16)})`;
}

async function reportWim(source: ByteSource): Promise<WimReport> {
  const wim = await openWim(source);
  const h = wim.header;
  const report: WimReport = {
    kind: wim.kind,
    version: versionText(h.version),
    compression: h.compression,
    chunkSize: h.chunkSize,
    solid: wim.solid,
    part: { number: h.partNumber, total: h.totalParts },
    bootIndex: h.bootIndex,
    imageCount: h.imageCount,
    integrityTable: wim.integrity !== null,
    guid: h.guid,
    images: wim.images,
  };
  if (wim.kind === 'ppkg') {
    // Owner and rank live in the package's own customizations.xml (compressed inside it); when
    // that cannot be read they are decoded from the WIM XML's ALTITUDE.
    report.ppkg = readPpkgInfo(wim.xml, await readPackageConfigOf(wim));
  }
  return report;
}

const CUSTOMIZATIONS_PATH = '/Multivariant/0/customizations.xml';

async function readPackageConfigOf(wim: WimFile): Promise<PackageConfig | null> {
  try {
    const image = await openWimImage(wim, 1);
    if (!image.lookup(CUSTOMIZATIONS_PATH)) return null;
    const file = await image.openFile(CUSTOMIZATIONS_PATH);
    return readPackageConfig(await file.readAll(), CUSTOMIZATIONS_PATH);
  } catch (error) {
    if (error instanceof DeployForgeError) return null;
    throw error;
  }
}

async function readWhole(source: ByteSource, what: string): Promise<Uint8Array> {
  if (source.size > MAX_WHOLE_FILE) throw new InputError('DF_TOO_LARGE', `${source.name} is ${source.size} bytes, too large for a ${what}`);
  return source.read(0, source.size);
}

async function reportIsoWim(iso: Awaited<ReturnType<typeof openIso>>, candidates: string[]): Promise<IsoReport['installImage']> {
  for (const path of candidates) {
    const entry = await iso.stat(path);
    if (!entry || entry.isDirectory) continue;
    try {
      const file = await iso.openFile(path);
      return { path: entry.path, size: entry.size, wim: await reportWim(file) };
    } catch (error) {
      const e = error as { message?: string; code?: string };
      if (typeof e.code === 'string' && e.code.startsWith('DF_')) return { path: entry.path, error: e.message ?? String(error), code: e.code };
      throw error;
    }
  }
  return undefined;
}

async function reportIso(source: ByteSource): Promise<IsoReport> {
  const iso = await openIso(source);
  let fileCount = 0;
  let directoryCount = 0;
  for await (const entry of iso.walk()) {
    if (entry.isDirectory) directoryCount++;
    else fileCount++;
  }
  return {
    volumeLabel: iso.volumeLabel,
    trees: iso.trees,
    bootEntries: iso.bootCatalog,
    size: source.size,
    fileCount,
    directoryCount,
    installImage: await reportIsoWim(iso, ['sources/install.wim', 'sources/install.esd', 'sources/install.swm']),
    bootImage: await reportIsoWim(iso, ['sources/boot.wim']),
  };
}

async function reportDisk(source: ByteSource): Promise<DiskReport> {
  const disk = await openVirtualDisk(source, { ignoreChecksums: false });
  const report: DiskReport = {
    format: disk.format,
    diskType: disk.diskType,
    virtualSize: disk.virtualSize,
    blockSize: disk.blockSize,
    logicalSectorSize: disk.logicalSectorSize,
    physicalSectorSize: disk.physicalSectorSize,
    creator: disk.creator,
    uuid: disk.uuid,
    parent: disk.parent,
    needsLogReplay: disk.needsLogReplay,
    checksumValid: disk.checksumValid,
  };
  // The partition table is read through the virtual disk when its first sectors are readable
  // (a differencing child without its parent, or an unreplayed log, makes them unreadable).
  if (!disk.needsLogReplay) {
    try {
      report.partitionTable = await readPartitionTable(disk.asSource(), { sectorSize: disk.logicalSectorSize === 4096 ? 4096 : 512 });
    } catch (error) {
      const e = error as { message?: string; code?: string };
      if (typeof e.code !== 'string' || !e.code.startsWith('DF_')) throw error;
      report.partitionTableError = e.message;
    }
  }
  return report;
}

/** Inspects a ByteSource (a file, or a file inside an ISO). */
export async function inspectSource(source: ByteSource, path = source.name): Promise<InspectReport> {
  const { format, evidence } = await detectFormat(source);
  const base = { path, size: source.size, evidence };
  switch (format) {
    case 'iso':
      return { ...base, format, iso: await reportIso(source) };
    case 'wim':
    case 'esd':
    case 'swm':
    case 'ppkg':
      return { ...base, format, wim: await reportWim(source) };
    case 'hive':
      return { ...base, format, hive: summarizeHive(openHive(await readWhole(source, 'registry hive'), source.name)) };
    case 'hive-log': {
      const { header: _h, entries: _e, ...log } = summarizeTransactionLog(await readWhole(source, 'transaction log'), source.name);
      return { ...base, format, log };
    }
    case 'vhd':
    case 'vhdx':
      return { ...base, format, disk: await reportDisk(source) };
    case 'cab':
      return { ...base, format, cab: await readCab(source) };
    case 'msu':
      return { ...base, format, msu: await readMsu(source) };
    case 'unattend':
      return { ...base, format, unattend: summarizeUnattend(await readWhole(source, 'answer file'), source.name) };
    case 'reg':
      return { ...base, format, reg: summarizeRegText(await readWhole(source, '.reg file'), source.name) };
    default:
      throw new InputError(
        'DF_UNKNOWN_FORMAT',
        `${path} is not a format DeployForge reads (ISO, WIM/ESD/SWM/PPKG, registry hive or log, VHD/VHDX, CAB/MSU, unattend XML, .reg); check the path`,
      );
  }
}

/** Inspects a file on disk, opened read-only. */
export async function inspectPath(path: string): Promise<InspectReport> {
  const source = await FileSource.open(path);
  try {
    return await inspectSource(source, path);
  } finally {
    await source.close();
  }
}
