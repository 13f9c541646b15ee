// Checks a folder of driver packages before they are injected into an image: every .inf is
// parsed and judged against the target architecture (supported? catalog present? every file it
// copies present, matched case-insensitively as on NTFS?). It reports; it never changes the
// folder, verifies catalog signatures or follows symbolic links to folders.
import type { Dirent } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { DeployForgeError, InputError, toDeployForgeError } from '../../errors.js';
import { type DriverDescription, describeDriver, type InfArchitectureInstall, type OsVersion } from './driver.js';
import { INF_MAX_BYTES, parseInf } from './parse.js';

export type DriverArchitecture = 'amd64' | 'arm64' | 'x86';
export type FindingSeverity = 'error' | 'warning' | 'info';

export interface DriverFinding {
  severity: FindingSeverity;
  /** Stable code, e.g. DF_DRIVER_FILE_MISSING; tests and tools match this, not the message. */
  code: string;
  /** The INF's path relative to the folder ('/'-separated); '.' for findings about the folder. */
  inf: string;
  message: string;
}

export interface DriverFileCheck {
  /** The name as the INF gives it. */
  name: string;
  /** Where it must be, relative to the folder. */
  path: string;
  present: boolean;
  listedIn: Array<'SourceDisksFiles' | 'CopyFiles'>;
}

export interface DriverInfReport {
  inf: string;
  class?: string;
  classGuid?: string;
  provider?: string;
  driverVer?: string;
  /** Architectures the INF installs on. */
  architectures: string[];
  supported: boolean;
  template: boolean;
  bootCritical: boolean;
  bootCriticalReason?: string;
  catalogFile?: string;
  catalogPresent: boolean;
  hardwareIds: string[];
  files: DriverFileCheck[];
}

export interface DriverFolderReport {
  folder: string;
  architecture: DriverArchitecture;
  infs: DriverInfReport[];
  findings: DriverFinding[];
  errorCount: number;
  warningCount: number;
  /** No errors: every INF installs on the architecture and has its files. */
  ok: boolean;
}

export interface ValidateDriverFolderOptions {
  architecture: DriverArchitecture;
  /** Windows version of the edition, to choose version-decorated Models sections. */
  osVersion?: OsVersion;
  /** LANGID for Strings.LLLL selection; default 0x0409. */
  languageId?: number;
  /** Limits on the walk; defaults 100,000 entries and 16 levels. */
  maxEntries?: number;
  maxDepth?: number;
}

const ARCHITECTURES: readonly DriverArchitecture[] = ['amd64', 'arm64', 'x86'];

/** Device setup classes whose drivers must be in the image before its first boot, not added
 *  later by Windows Update or Plug and Play. Storage controllers: without the controller's
 *  driver Windows cannot read its own boot disk (INACCESSIBLE_BOOT_DEVICE), so SCSIAdapter
 *  (SCSI, SAS, RAID, NVMe and virtio storage) and HDC (IDE, ATA, AHCI) belong here. Net: setup
 *  and WinPE (boot.wim) need the network adapter for network installs, WDS and iSCSI boot.
 *  GUIDs from Microsoft's "System-Defined Device Setup Classes Available to Vendors". Any other
 *  class counts when one of its services starts at boot (StartType 0, SERVICE_BOOT_START). */
export const BOOT_CRITICAL_CLASSES: ReadonlyArray<{ name: string; guid: string; reason: string }> = [
  { name: 'SCSIAdapter', guid: '{4d36e97b-e325-11ce-bfc1-08002be10318}', reason: 'storage controller: Windows cannot reach its boot disk without it' },
  { name: 'HDC', guid: '{4d36e96a-e325-11ce-bfc1-08002be10318}', reason: 'IDE/ATA/AHCI controller: Windows cannot reach its boot disk without it' },
  { name: 'Net', guid: '{4d36e972-e325-11ce-bfc1-08002be10318}', reason: 'network adapter: WinPE and setup need it for network installs, WDS and iSCSI boot' },
];

/** Walks `folder`, parses every .inf and reports what would stop it installing on `architecture`. */
export async function validateDriverFolder(folder: string, options: ValidateDriverFolderOptions): Promise<DriverFolderReport> {
  if (!ARCHITECTURES.includes(options?.architecture)) {
    throw new InputError('DF_DRIVER_BAD_ARCHITECTURE', `architecture "${String(options?.architecture)}" is not one of ${ARCHITECTURES.join(', ')}`, {
      architecture: options?.architecture,
    });
  }
  const findings: DriverFinding[] = [];
  const files = await walkFolder(folder, options.maxEntries ?? 100_000, options.maxDepth ?? 16, findings);
  const present = new Map<string, string>();
  for (const file of files) present.set(file.toLowerCase(), file);

  const infs: DriverInfReport[] = [];
  for (const file of files) {
    if (/\.inx$/i.test(file)) {
      findings.push({
        severity: 'info',
        code: 'DF_DRIVER_INX_SKIPPED',
        inf: file,
        message: 'an .inx is a template stampinf turns into an .inf; Windows never reads it, so it is not checked',
      });
      continue;
    }
    if (!/\.inf$/i.test(file)) continue;
    const report = await checkInf(folder, file, present, options, findings);
    if (report) infs.push(report);
  }
  if (infs.length === 0 && !findings.some((finding) => finding.code === 'DF_DRIVER_INF_UNREADABLE')) {
    findings.push({ severity: 'warning', code: 'DF_DRIVER_NO_INF', inf: '.', message: `no .inf file under ${folder}: there is no driver to add` });
  }
  const errorCount = findings.filter((finding) => finding.severity === 'error').length;
  const warningCount = findings.filter((finding) => finding.severity === 'warning').length;
  return { folder, architecture: options.architecture, infs, findings, errorCount, warningCount, ok: errorCount === 0 };
}

/** Relative '/'-separated paths of every file under `folder`, sorted. */
async function walkFolder(folder: string, maxEntries: number, maxDepth: number, findings: DriverFinding[]): Promise<string[]> {
  let top: Awaited<ReturnType<typeof stat>>;
  try {
    top = await stat(folder);
  } catch (error) {
    const typed = toDeployForgeError(error);
    if (typed.code === 'DF_NOT_FOUND') throw new InputError('DF_DRIVER_FOLDER_NOT_FOUND', `driver folder ${folder} does not exist: check the path`, { folder });
    throw typed;
  }
  if (!top.isDirectory()) throw new InputError('DF_DRIVER_FOLDER_NOT_DIRECTORY', `${folder} is not a folder: give the folder that holds the driver packages`, { folder });

  const files: string[] = [];
  let seen = 0;
  const pending: Array<{ rel: string; depth: number }> = [{ rel: '', depth: 0 }];
  while (pending.length > 0) {
    const { rel, depth } = pending.pop() as { rel: string; depth: number };
    let entries: Dirent[];
    try {
      entries = await readdir(join(folder, rel), { withFileTypes: true });
    } catch (error) {
      throw toDeployForgeError(error);
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      if (++seen > maxEntries) {
        throw new InputError('DF_DRIVER_FOLDER_TOO_LARGE', `${folder} holds more than ${maxEntries} files and folders: point at the driver folder itself`, { folder, maxEntries });
      }
      const path = rel === '' ? entry.name : `${rel}/${entry.name}`;
      let isFile = entry.isFile();
      let isDirectory = entry.isDirectory();
      if (entry.isSymbolicLink()) {
        // A linked file counts (it will be copied by content); a linked folder may loop.
        const target = await stat(join(folder, path)).catch(() => undefined);
        isFile = target?.isFile() ?? false;
        isDirectory = false;
        if (target?.isDirectory()) findings.push({ severity: 'info', code: 'DF_DRIVER_SYMLINK_SKIPPED', inf: '.', message: `${path} links to a folder and is not followed` });
      }
      if (isFile) files.push(path);
      else if (isDirectory) {
        if (depth + 1 > maxDepth)
          findings.push({ severity: 'warning', code: 'DF_DRIVER_FOLDER_TOO_DEEP', inf: '.', message: `${path} is more than ${maxDepth} levels deep and was not checked` });
        else pending.push({ rel: path, depth: depth + 1 });
      }
    }
  }
  return files.sort();
}

function classReason(description: DriverDescription, install: InfArchitectureInstall | undefined): string | undefined {
  const guid = description.classGuid?.toLowerCase();
  const name = description.class?.toLowerCase();
  const known = BOOT_CRITICAL_CLASSES.find((entry) => entry.guid === guid || (guid === undefined && entry.name.toLowerCase() === name));
  if (known) return `class ${known.name}: ${known.reason}`;
  const bootService = install?.services.find((service) => service.startType === 0);
  if (bootService) return `service ${bootService.name} starts at boot (StartType 0)`;
  return undefined;
}

async function checkInf(
  folder: string,
  file: string,
  present: ReadonlyMap<string, string>,
  options: ValidateDriverFolderOptions,
  findings: DriverFinding[],
): Promise<DriverInfReport | undefined> {
  const add = (severity: FindingSeverity, code: string, message: string): void => {
    findings.push({ severity, code, inf: file, message });
  };
  const full = join(folder, file);
  let description: DriverDescription;
  let claimed: string[];
  try {
    const info = await stat(full);
    if (info.size > INF_MAX_BYTES) {
      add('error', 'DF_DRIVER_INF_UNREADABLE', `${info.size} bytes is too large for an INF file (limit ${INF_MAX_BYTES})`);
      return undefined;
    }
    const inf = parseInf(await readFile(full), file, { languageId: options.languageId });
    description = describeDriver(inf, { stampArchitecture: options.architecture, osVersion: options.osVersion });
    // What the INF itself claims, without reading a template's $ARCH$ as the wanted architecture.
    claimed = description.template.isTemplate ? describeDriver(inf, { osVersion: options.osVersion }).architectures : description.architectures;
  } catch (error) {
    const typed = error instanceof DeployForgeError ? error : toDeployForgeError(error);
    if (typed.kind === 'internal') throw error;
    add('error', 'DF_DRIVER_INF_UNREADABLE', `cannot be read as an INF (${typed.code}): ${typed.message}`);
    return undefined;
  }

  const arch = options.architecture;
  const install = description.installs.find((candidate) => candidate.architecture === arch);
  const template = description.template.isTemplate;
  if (!description.signatureValid) add('error', 'DF_DRIVER_INF_BAD_SIGNATURE', 'has no valid [Version] Signature ($Windows NT$ or $Chicago$): Windows rejects it');
  if (template) {
    add(
      'error',
      'DF_DRIVER_INF_TEMPLATE',
      `is an unbuilt template (placeholders ${description.template.markers.join(', ') || 'in an .inx'}): Windows matches no platform or fails on the placeholders; use the INF the driver build produces`,
    );
  }
  if (description.manufacturers.length === 0) add('warning', 'DF_DRIVER_NO_MODELS', 'has no [Manufacturer] section: it installs no device');
  const supportedHere = install?.supported === true;
  if (!supportedHere && description.manufacturers.length > 0) {
    add('error', 'DF_DRIVER_ARCH_UNSUPPORTED', `does not install on ${arch}: it supports ${claimed.length > 0 ? claimed.join(', ') : 'no architecture'}`);
  }
  if (!description.class) add('warning', 'DF_DRIVER_NO_CLASS', 'has no Class in [Version]: Plug and Play needs it');
  if (!description.classGuidValid) add('warning', 'DF_DRIVER_NO_CLASS_GUID', `ClassGuid "${description.classGuid ?? ''}" is missing or not a {GUID}`);
  if (!description.driverVer?.valid) add('warning', 'DF_DRIVER_BAD_DRIVERVER', `DriverVer "${description.driverVer?.raw ?? ''}" is missing or not mm/dd/yyyy,w.x.y.z`);
  for (const issue of description.issues) add('warning', 'DF_DRIVER_INF_ISSUE', `line ${issue.line}: ${issue.message}`);

  // "Windows assumes that the catalog file is in the same location as the INF file" (INF Version Section).
  const infDir = posix.dirname(file) === '.' ? '' : posix.dirname(file);
  const catalogFile = install?.catalogFile;
  const catalogPath = catalogFile ? locate(infDir, catalogFile) : undefined;
  const catalogPresent = catalogPath !== undefined && present.has(catalogPath.toLowerCase());
  if (!catalogFile) {
    add('warning', 'DF_DRIVER_UNSIGNED', `names no CatalogFile for ${arch}: Windows treats the driver as unsigned, and 64-bit Windows loads it only with test signing on`);
  } else if (!catalogPresent) {
    add(
      'warning',
      'DF_DRIVER_CATALOG_MISSING',
      `catalog ${catalogFile} is not beside the INF: the driver is unsigned without it, and 64-bit Windows loads it only with test signing on`,
    );
  }

  const files: DriverFileCheck[] = [];
  if (install && supportedHere) {
    for (const section of install.installSections) {
      if (!section.resolved) add('error', 'DF_DRIVER_INSTALL_SECTION_MISSING', `install section [${section.name}] does not exist for ${arch}`);
      for (const list of section.missingFileLists) add('error', 'DF_DRIVER_FILE_LIST_MISSING', `CopyFiles names section [${list}], which does not exist`);
    }
    const byName = new Map<string, DriverFileCheck>();
    const need = (name: string, relative: string, from: 'SourceDisksFiles' | 'CopyFiles'): void => {
      const key = name.toLowerCase();
      const known = byName.get(key);
      if (known) {
        if (!known.listedIn.includes(from)) known.listedIn.push(from);
        return;
      }
      const path = locate(infDir, relative);
      const check: DriverFileCheck = { name, path: path ?? relative, present: path !== undefined && present.has(path.toLowerCase()), listedIn: [from] };
      byName.set(key, check);
      files.push(check);
      if (path === undefined) add('error', 'DF_DRIVER_FILE_OUTSIDE_FOLDER', `${name} would come from ${relative}, outside the driver folder`);
      else if (!check.present) add('error', 'DF_DRIVER_FILE_MISSING', `${name} is missing: expected at ${path}`);
    };
    for (const source of install.sourceFiles) need(source.name, source.path, 'SourceDisksFiles');
    for (const copy of install.copyFiles) {
      const listed = install.sourceFiles.find((source) => source.name.toLowerCase() === copy.source.toLowerCase());
      if (!listed) {
        add('warning', 'DF_DRIVER_FILE_NOT_IN_SOURCEDISKSFILES', `${copy.source} is copied but not listed in SourceDisksFiles: it is left out of the signed package`);
      }
      need(copy.source, listed?.path ?? copy.source, 'CopyFiles');
    }
  }

  const bootCriticalReason = classReason(description, install);
  if (bootCriticalReason) add('info', 'DF_DRIVER_BOOT_CRITICAL', `boot-critical (${bootCriticalReason}): add it to boot.wim and install.wim before first boot`);

  return {
    inf: file,
    class: description.class,
    classGuid: description.classGuid,
    provider: description.provider,
    driverVer: description.driverVer?.raw,
    architectures: claimed,
    supported: supportedHere,
    template,
    bootCritical: bootCriticalReason !== undefined,
    bootCriticalReason,
    catalogFile,
    catalogPresent,
    hardwareIds: install?.hardwareIds ?? [],
    files,
  };
}

/** `relative` (already '/'-separated) under the INF's folder, normalised; undefined when it
 *  climbs out of the scanned folder. */
function locate(infDir: string, relative: string): string | undefined {
  const joined = posix.normalize(infDir === '' ? relative : `${infDir}/${relative}`);
  if (joined === '..' || joined.startsWith('../') || posix.isAbsolute(joined)) return undefined;
  return joined.replace(/^\.\//, '');
}
