// Reads what a parsed driver INF says: the Version section, manufacturers and their decorated
// Models sections with hardware IDs, the architectures it installs on, and per architecture the
// install sections, services, CopyFiles targets, SourceDisksFiles and catalog. It only reads the
// INF; whether the files exist is validate-folder.ts's job. Include=/Needs= into other INFs are
// recorded, never followed, and DefaultInstall (non-PnP) INFs are not interpreted.
// Templates (.inx, or .inf files still holding stampinf placeholders, as in virtio-win's source
// tree) parse like any INF: `template` lists the placeholders, `$ARCH$` decorations match no
// architecture unless `stampArchitecture` reads them as stampinf -a would, and other words such
// as INX_COMPANY stay as text.
import type { InfEntry, InfFile, InfIssue, InfSection } from './parse.js';
import { getInfEntries, getInfSection, getInfValue } from './parse.js';

/** Architectures a TargetOSVersion may name ("INF Manufacturer Section": x86, ia64, amd64, arm, arm64). */
export const INF_ARCHITECTURES = ['x86', 'amd64', 'arm64', 'arm', 'ia64'] as const;
export type InfArchitecture = (typeof INF_ARCHITECTURES)[number];

export interface OsVersion {
  major: number;
  minor: number;
  build?: number;
}

/** A Manufacturer-entry decoration: nt[Architecture][.[OSMajorVersion][.[OSMinorVersion][.[ProductType][.[SuiteMask][.[BuildNumber]]]]]]
 *  ("INF Manufacturer Section", Remarks; BuildNumber from Windows 10 1607). */
export interface TargetOsVersion {
  /** As written, e.g. "NTamd64.10.0...16299" or "NT$ARCH$". */
  raw: string;
  valid: boolean;
  architecture?: InfArchitecture;
  /** The architecture is stampinf's `$ARCH$` placeholder (an unbuilt .inx template). */
  archPlaceholder: boolean;
  osMajor?: number;
  osMinor?: number;
  productType?: number;
  suiteMask?: number;
  buildNumber?: number;
}

export interface InfModel {
  line: number;
  description: string;
  descriptionRaw: string;
  /** The undecorated DDInstall section name. */
  installSection: string;
  hardwareId?: string;
  compatibleIds: string[];
}

export interface InfModelsSection {
  /** The section name looked up, e.g. "Standard.NTamd64". */
  name: string;
  /** Absent for the undecorated section. */
  decoration?: TargetOsVersion;
  present: boolean;
  models: InfModel[];
}

export interface InfManufacturer {
  line: number;
  name: string;
  nameRaw: string;
  modelsSectionName: string;
  decorations: TargetOsVersion[];
  modelsSections: InfModelsSection[];
}

export interface DriverVersion {
  raw: string;
  /** ISO date (yyyy-mm-dd) when the date is valid. */
  date?: string;
  version?: string;
  valid: boolean;
}

export interface InfCatalogFile {
  /** The key as written: CatalogFile, CatalogFile.ntamd64… */
  key: string;
  /** Lower-cased platform extension ("nt", "ntamd64"…); absent for the undecorated key. */
  decoration?: string;
  file: string;
}

export interface InfDestinationDir {
  dirid: string;
  subdir?: string;
  /** Whether the file-list section has its own DestinationDirs entry or falls back to DefaultDestDir. */
  from: 'section' | 'default';
}

export interface InfCopyFile {
  line: number;
  /** Name on the target system. */
  destination: string;
  /** Name on the source media (the destination name when the entry gives none). */
  source: string;
  flags?: number;
  /** The file-list section; absent for `CopyFiles=@file`. */
  section?: string;
  destinationDir?: InfDestinationDir;
}

export interface InfService {
  name: string;
  flags?: number;
  installSection?: string;
  /** Whether the service-install section exists. */
  present: boolean;
  displayName?: string;
  serviceType?: number;
  /** 0 boot, 1 system, 2 auto, 3 demand, 4 disabled. */
  startType?: number;
  errorControl?: number;
  serviceBinary?: string;
  loadOrderGroup?: string;
}

export interface InfInstallSection {
  /** The name the Models entry gives. */
  name: string;
  /** The section Windows processes on this architecture; absent when none exists. */
  resolved?: string;
  copyFiles: InfCopyFile[];
  /** CopyFiles targets that name a file-list section the INF does not have. */
  missingFileLists: string[];
  /** Include= INFs and Needs= sections (from other INFs, typically Windows' own). */
  includes: string[];
  needs: string[];
  services: InfService[];
}

export interface InfSourceFile {
  name: string;
  diskId: string;
  subdir?: string;
  size?: number;
  /** The SourceDisksFiles section it is listed in. */
  section: string;
  /** Platform suffix of that section (x86, amd64…); absent for [SourceDisksFiles]. */
  architecture?: InfArchitecture;
  /** Where the file sits relative to the INF: SourceDisksNames path, subdir and name, '/'-separated. */
  path: string;
}

export interface InfArchitectureInstall {
  architecture: InfArchitecture;
  /** At least one applicable Models section exists and is not empty. */
  supported: boolean;
  modelsSections: string[];
  models: Array<InfModel & { manufacturer: string; modelsSection: string }>;
  /** Hardware and compatible IDs of those models, first occurrence order, no duplicates. */
  hardwareIds: string[];
  installSections: InfInstallSection[];
  /** Every CopyFiles target of those install sections (and of ClassInstall32). */
  copyFiles: InfCopyFile[];
  /** SourceDisksFiles.<arch> entries plus the [SourceDisksFiles] ones it does not override. */
  sourceFiles: InfSourceFile[];
  catalogFile?: string;
  services: InfService[];
}

export interface DriverDescription {
  name: string;
  signature?: string;
  /** $Windows NT$ or $Chicago$, case-insensitive ("INF Version Section"). */
  signatureValid: boolean;
  class?: string;
  classGuid?: string;
  classGuidValid: boolean;
  provider?: string;
  catalogFiles: InfCatalogFile[];
  driverVer?: DriverVersion;
  pnpLockdown?: number;
  driverPackageType?: string;
  manufacturers: InfManufacturer[];
  /** Architectures with at least one non-empty applicable Models section. */
  architectures: InfArchitecture[];
  /** One entry per supported architecture (and the stamped one, if asked). */
  installs: InfArchitectureInstall[];
  sourceDisksFiles: InfSourceFile[];
  destinationDirs: Array<{ section: string; dirid: string; subdir?: string }>;
  /** stampinf placeholders ($ARCH$, $KMDFVERSION$, INX_…) found: the INF is a build template. */
  template: { isTemplate: boolean; markers: string[] };
  issues: InfIssue[];
}

export interface DescribeDriverOptions {
  /** Read `$ARCH$` in decorations as this architecture, as stampinf -a would when building the
   *  INF from a template; without it such decorations match no architecture. */
  stampArchitecture?: InfArchitecture;
  /** Choose Models sections for this Windows version (TargetOSVersion rules); without it every
   *  version-decorated section for an architecture counts. */
  osVersion?: OsVersion;
}

/** Describes the driver in `inf`. Never throws for odd content: problems land in `issues`. */
export function describeDriver(inf: InfFile, options: DescribeDriverOptions = {}): DriverDescription {
  const issues: InfIssue[] = [];
  const version = getInfSection(inf, 'Version');
  if (!version) issues.push({ line: 0, message: 'no [Version] section: Windows does not accept the file as an INF' });
  const signature = getInfValue(version, 'Signature');
  const signatureValid = signature !== undefined && /^\$(windows nt|chicago)\$$/i.test(signature.trim());
  if (version && !signatureValid) issues.push({ line: version.headerLines[0], message: `Signature "${signature ?? ''}" is neither $Windows NT$ nor $Chicago$` });
  const classGuid = getInfValue(version, 'ClassGuid');
  const classGuidValid = classGuid !== undefined && /^\{[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\}$/i.test(classGuid);
  const driverVerEntry = getInfEntries(version, 'DriverVer')[0];
  const driverVer = driverVerEntry ? readDriverVer(driverVerEntry) : undefined;
  if (driverVerEntry && !driverVer?.valid) issues.push({ line: driverVerEntry.line, message: `DriverVer "${driverVer?.raw}" is not mm/dd/yyyy,w.x.y.z` });
  const pnpLockdownText = getInfValue(version, 'PnpLockdown');

  for (const section of inf.sections) {
    const suffix = /^SourceDisks(?:Files|Names)\.(.+)$/i.exec(section.name)?.[1];
    if (suffix !== undefined && !platformOf(suffix)) {
      // "the platform extensions for a SourceDisksFiles section are not .ntx86, .ntia64, or .ntamd64"
      issues.push({ line: section.headerLines[0], message: `[${section.name}]: "${suffix}" is not a platform Windows reads here (x86, amd64, arm64…), so the section is ignored` });
    }
  }
  const manufacturers = readManufacturers(inf, options, issues);
  const architectures = INF_ARCHITECTURES.filter((arch) => isArchitectureSupported(manufacturers, arch, options.osVersion));
  const wanted = new Set<InfArchitecture>(architectures);
  if (options.stampArchitecture) wanted.add(options.stampArchitecture);
  const installs = INF_ARCHITECTURES.filter((arch) => wanted.has(arch)).map((arch) => describeInstallWith(inf, manufacturers, arch, options, issues));

  return {
    name: inf.name,
    signature,
    signatureValid,
    class: getInfValue(version, 'Class'),
    classGuid,
    classGuidValid,
    provider: getInfValue(version, 'Provider'),
    catalogFiles: readCatalogFiles(version),
    driverVer,
    pnpLockdown: pnpLockdownText === undefined ? undefined : parseInfNumber(pnpLockdownText),
    driverPackageType: getInfValue(version, 'DriverPackageType'),
    manufacturers,
    architectures,
    installs,
    sourceDisksFiles: readSourceDisksFiles(inf),
    destinationDirs: (getInfSection(inf, 'DestinationDirs')?.entries ?? [])
      .filter((entry) => entry.key)
      .map((entry) => ({ section: entry.key?.value ?? '', dirid: entry.values[0]?.value ?? '', subdir: nonEmpty(entry.values[1]?.value) })),
    template: findTemplateMarkers(inf),
    issues,
  };
}

/** What installs on `architecture`: whether it is supported at all, and if so which models,
 *  install sections, files and catalog. */
export function describeInstall(inf: InfFile, architecture: InfArchitecture, options: DescribeDriverOptions = {}): InfArchitectureInstall {
  const issues: InfIssue[] = [];
  return describeInstallWith(inf, readManufacturers(inf, options, issues), architecture, options, issues);
}

/** The catalog Windows checks on `architecture`: CatalogFile.nt<arch>, else CatalogFile.nt, else
 *  CatalogFile ("INF Version Section"; the .nt fallback follows the platform-extension order
 *  of "INF File Platform Extensions and x64-Based Systems"). */
export function catalogFileFor(catalogs: readonly InfCatalogFile[], architecture: InfArchitecture): string | undefined {
  for (const decoration of [`nt${architecture}`, 'nt', undefined]) {
    const hit = catalogs.find((catalog) => catalog.decoration === decoration && catalog.file !== '');
    if (hit) return hit.file;
  }
  return undefined;
}

/** Parses one TargetOSVersion decoration. */
export function parseTargetOsVersion(raw: string, stampArchitecture?: InfArchitecture): TargetOsVersion {
  const archPlaceholder = /\$ARCH\$/i.test(raw);
  const text = archPlaceholder && stampArchitecture ? raw.replace(/\$ARCH\$/gi, stampArchitecture) : raw;
  const result: TargetOsVersion = { raw, valid: false, archPlaceholder };
  const match = /^nt([^.]*)(?:\.(.*))?$/i.exec(text.trim());
  if (!match) return result;
  const archText = match[1].toLowerCase();
  if (archText !== '') {
    const arch = INF_ARCHITECTURES.find((candidate) => candidate === archText);
    if (!arch) return result; // unknown architecture or an unstamped placeholder
    result.architecture = arch;
  }
  const parts = match[2] === undefined ? [] : match[2].split('.');
  if (parts.length > 5) return result;
  const fields = ['osMajor', 'osMinor', 'productType', 'suiteMask', 'buildNumber'] as const;
  for (let i = 0; i < parts.length; i++) {
    if (parts[i] === '') continue;
    const value = parseInfNumber(parts[i]);
    if (value === undefined) return result;
    result[fields[i]] = value;
  }
  result.valid = true;
  return result;
}

/** Decimal or 0x-hexadecimal INF number; undefined when it is neither. */
export function parseInfNumber(text: string): number | undefined {
  const trimmed = text.trim();
  if (/^0x[0-9a-f]{1,8}$/i.test(trimmed)) return Number.parseInt(trimmed.slice(2), 16);
  if (/^\d{1,10}$/.test(trimmed)) return Number.parseInt(trimmed, 10);
  return undefined;
}

// ---------------------------------------------------------------------------------------------

function nonEmpty(text: string | undefined): string | undefined {
  return text === undefined || text === '' ? undefined : text;
}

/** Every non-empty value of an entry including its key, as a plain list: file-list lines are
 *  usually keyless, but a stray `=` must not lose the file name. */
function entryFields(entry: InfEntry): string[] {
  return entry.key ? [entry.key.value, ...entry.values.map((value) => value.value)] : entry.values.map((value) => value.value);
}

/** DriverVer=mm/dd/yyyy[,w.x.y.z] ("INF DriverVer Directive": two-digit month and day, four-digit
 *  year, `-` allowed as separator, each version part below 65535). One-digit month or day and
 *  fewer than four version parts are accepted, as Windows does with virtio-win's "1.1". */
function readDriverVer(entry: InfEntry): DriverVersion {
  const dateText = entry.values[0]?.value ?? '';
  const versionText = nonEmpty(entry.values[1]?.value);
  const raw = entry.values.map((value) => value.raw).join(',');
  const result: DriverVersion = { raw, version: versionText, valid: false };
  const date = /^(\d{1,2})[/-](\d{1,2})[/-](\d{4})$/.exec(dateText);
  if (!date) return result;
  const [month, day, year] = [Number(date[1]), Number(date[2]), Number(date[3])];
  const check = new Date(Date.UTC(year, month - 1, day));
  if (month < 1 || month > 12 || check.getUTCDate() !== day || check.getUTCMonth() !== month - 1) return result;
  result.date = `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
  if (versionText !== undefined) {
    const parts = versionText.split('.');
    if (parts.length > 4 || parts.some((part) => !/^\d{1,5}$/.test(part) || Number(part) >= 65535)) return result;
  }
  result.valid = true;
  return result;
}

function readCatalogFiles(version: InfSection | undefined): InfCatalogFile[] {
  const catalogs: InfCatalogFile[] = [];
  for (const entry of version?.entries ?? []) {
    const match = entry.key ? /^catalogfile(?:\.(.+))?$/i.exec(entry.key.value.trim()) : null;
    if (!match || !entry.key) continue;
    catalogs.push({ key: entry.key.value, decoration: match[1]?.toLowerCase(), file: entry.values[0]?.value ?? '' });
  }
  return catalogs;
}

function readManufacturers(inf: InfFile, options: DescribeDriverOptions, issues: InfIssue[]): InfManufacturer[] {
  const section = getInfSection(inf, 'Manufacturer');
  const manufacturers: InfManufacturer[] = [];
  for (const entry of section?.entries ?? []) {
    // "manufacturer-name" alone names its Models section; "%strkey%=models-section-name[,TargetOSVersion]…".
    const name = entry.key ? entry.key.value : (entry.values[0]?.value ?? '');
    const nameRaw = entry.key ? entry.key.raw : (entry.values[0]?.raw ?? '');
    const modelsSectionName = entry.key ? (entry.values[0]?.value ?? '') : name;
    if (modelsSectionName === '') {
      issues.push({ line: entry.line, message: 'Manufacturer entry names no Models section' });
      continue;
    }
    const decorations = (entry.key ? entry.values.slice(1) : []).filter((value) => value.value !== '').map((value) => parseTargetOsVersion(value.value, options.stampArchitecture));
    for (const decoration of decorations) {
      if (!decoration.valid && !decoration.archPlaceholder) issues.push({ line: entry.line, message: `TargetOSVersion "${decoration.raw}" is not nt[arch][.major[.minor…]]` });
    }
    const modelsSections: InfModelsSection[] = [];
    const plain = getInfSection(inf, modelsSectionName);
    if (plain || decorations.length === 0) modelsSections.push(readModelsSection(inf, modelsSectionName, undefined, entry.line, issues));
    for (const decoration of decorations) {
      modelsSections.push(readModelsSection(inf, `${modelsSectionName}.${decoration.raw}`, decoration, entry.line, issues));
    }
    manufacturers.push({ line: entry.line, name, nameRaw, modelsSectionName, decorations, modelsSections });
  }
  return manufacturers;
}

function readModelsSection(inf: InfFile, name: string, decoration: TargetOsVersion | undefined, line: number, issues: InfIssue[]): InfModelsSection {
  const section = getInfSection(inf, name);
  if (!section) {
    issues.push({ line, message: `[Manufacturer] refers to Models section [${name}], which does not exist` });
    return { name, decoration, present: false, models: [] };
  }
  const models: InfModel[] = [];
  for (const entry of section.entries) {
    // device-description=install-section-name,[hw-id][,compatible-id...] ("INF Models Section")
    if (!entry.key) {
      issues.push({ line: entry.line, message: `[${section.name}] entry is not "description = install-section, hardware-id…"` });
      continue;
    }
    const ids = entry.values.slice(1).map((value) => value.value);
    models.push({
      line: entry.line,
      description: entry.key.value,
      descriptionRaw: entry.key.raw,
      installSection: entry.values[0]?.value ?? '',
      hardwareId: nonEmpty(ids[0]),
      compatibleIds: ids.slice(1).filter((id) => id !== ''),
    });
    if (ids.every((id) => id === '')) issues.push({ line: entry.line, message: `model "${entry.key.value}" lists no hardware or compatible ID` });
  }
  return { name: section.name, decoration, present: true, models };
}

function compareVersion(a: OsVersion, major: number, minor: number): number {
  return a.major !== major ? a.major - major : a.minor - minor;
}

/** Whether a decorated Models section applies on `architecture` (and `os`, when given). Since
 *  Windows Server 2003 SP1 a non-x86 platform needs its own nt<arch> decoration, while x86 also
 *  takes a bare "NT[.version]" ("INF Manufacturer Section", Architecture). */
function decorationApplies(decoration: TargetOsVersion, architecture: InfArchitecture, os: OsVersion | undefined): boolean {
  if (!decoration.valid) return false;
  if (decoration.architecture === undefined ? architecture !== 'x86' : decoration.architecture !== architecture) return false;
  if (os && decoration.osMajor !== undefined) {
    const order = compareVersion(os, decoration.osMajor, decoration.osMinor ?? 0);
    if (order < 0) return false;
    // BuildNumber only counts when major.minor match exactly (Remarks, BuildNumber).
    if (order === 0 && decoration.buildNumber !== undefined && os.build !== undefined && os.build < decoration.buildNumber) return false;
  }
  return true;
}

/** The Models sections Windows may use on `architecture`: with `os`, the single best match (the
 *  highest version not above the OS, an architecture-specific one before a bare NT); without
 *  it, every applicable one. The undecorated section serves only x86, and only when no decorated
 *  one applies. */
export function selectModelsSections(manufacturer: InfManufacturer, architecture: InfArchitecture, os?: OsVersion): InfModelsSection[] {
  const decorated = manufacturer.modelsSections.filter((models) => models.decoration && decorationApplies(models.decoration, architecture, os));
  if (decorated.length > 0) {
    if (!os) return decorated;
    const score = (models: InfModelsSection): number[] => {
      const d = models.decoration as TargetOsVersion;
      return [d.osMajor ?? -1, d.osMinor ?? -1, d.buildNumber ?? -1, d.architecture ? 1 : 0];
    };
    let best = decorated[0];
    for (const candidate of decorated.slice(1)) {
      const [a, b] = [score(candidate), score(best)];
      const i = a.findIndex((value, at) => value !== b[at]);
      if (i >= 0 && a[i] > b[i]) best = candidate;
    }
    return [best];
  }
  if (architecture !== 'x86') return [];
  return manufacturer.modelsSections.filter((models) => !models.decoration);
}

function isArchitectureSupported(manufacturers: readonly InfManufacturer[], architecture: InfArchitecture, os?: OsVersion): boolean {
  // An empty Models section is how an INF excludes a platform or version (Manufacturer, Remarks).
  return manufacturers.some((manufacturer) => selectModelsSections(manufacturer, architecture, os).some((models) => models.present && models.models.length > 0));
}

/** name.nt<arch>, else name.nt, else name ("INF File Platform Extensions and x64-Based Systems"). */
function resolveDecorated(inf: InfFile, name: string, architecture: InfArchitecture): string | undefined {
  for (const candidate of [`${name}.nt${architecture}`, `${name}.nt`, name]) {
    const section = getInfSection(inf, candidate);
    if (section) return section.name;
  }
  return undefined;
}

function describeInstallWith(
  inf: InfFile,
  manufacturers: readonly InfManufacturer[],
  architecture: InfArchitecture,
  options: DescribeDriverOptions,
  issues: InfIssue[],
): InfArchitectureInstall {
  const destinations = readDestinationDirs(inf);
  const modelsSections: string[] = [];
  const models: InfArchitectureInstall['models'] = [];
  let supported = false;
  for (const manufacturer of manufacturers) {
    for (const section of selectModelsSections(manufacturer, architecture, options.osVersion)) {
      if (!section.present) continue;
      modelsSections.push(section.name);
      if (section.models.length > 0) supported = true;
      for (const model of section.models) models.push({ ...model, manufacturer: manufacturer.name, modelsSection: section.name });
    }
  }
  const hardwareIds = [...new Set(models.flatMap((model) => (model.hardwareId ? [model.hardwareId, ...model.compatibleIds] : model.compatibleIds)))];

  const installSections: InfInstallSection[] = [];
  const seen = new Set<string>();
  for (const model of models) {
    const key = model.installSection.toLowerCase();
    if (seen.has(key)) continue;
    seen.add(key);
    const resolved = resolveDecorated(inf, model.installSection, architecture);
    if (!resolved) issues.push({ line: model.line, message: `install section [${model.installSection}] for ${architecture} does not exist` });
    installSections.push(readInstallSection(inf, model.installSection, resolved, destinations));
  }
  const copyFiles = installSections.flatMap((install) => install.copyFiles);
  // A class installer's own files ("INF CopyFiles Directive": ClassInstall32[.nt<arch>]).
  const classInstall = resolveDecorated(inf, 'ClassInstall32', architecture);
  if (classInstall) copyFiles.push(...readCopyFiles(inf, getInfSection(inf, classInstall), destinations).copyFiles);

  return {
    architecture,
    supported,
    modelsSections,
    models,
    hardwareIds,
    installSections,
    copyFiles,
    sourceFiles: sourceFilesFor(inf, architecture),
    catalogFile: catalogFileFor(readCatalogFiles(getInfSection(inf, 'Version')), architecture),
    services: installSections.flatMap((install) => install.services),
  };
}

interface DestinationTable {
  sections: Map<string, { dirid: string; subdir?: string }>;
  fallback?: { dirid: string; subdir?: string };
}

function readDestinationDirs(inf: InfFile): DestinationTable {
  const table: DestinationTable = { sections: new Map() };
  for (const entry of getInfSection(inf, 'DestinationDirs')?.entries ?? []) {
    if (!entry.key) continue;
    const target = { dirid: entry.values[0]?.value ?? '', subdir: nonEmpty(entry.values[1]?.value) };
    const key = entry.key.value.toLowerCase();
    if (key === 'defaultdestdir') table.fallback ??= target;
    else if (!table.sections.has(key)) table.sections.set(key, target);
  }
  return table;
}

/** "If the named section is not listed in the DestinationDirs section, Windows uses the
 *  DefaultDestDir entry"; @file copies always use DefaultDestDir (INF CopyFiles Directive). */
function destinationFor(table: DestinationTable, section: string | undefined): InfDestinationDir | undefined {
  const own = section === undefined ? undefined : table.sections.get(section.toLowerCase());
  if (own) return { ...own, from: 'section' };
  return table.fallback ? { ...table.fallback, from: 'default' } : undefined;
}

function readInstallSection(inf: InfFile, name: string, resolved: string | undefined, destinations: DestinationTable): InfInstallSection {
  const install: InfInstallSection = { name, resolved, copyFiles: [], missingFileLists: [], includes: [], needs: [], services: [] };
  if (!resolved) return install;
  const section = getInfSection(inf, resolved);
  const own = readCopyFiles(inf, section, destinations);
  // DDInstall.CoInstallers carries CopyFiles too; it takes the same platform extension as DDInstall
  // ("Combining Platform Extensions with Other Section Name Extensions").
  const co = readCopyFiles(inf, getInfSection(inf, `${resolved}.CoInstallers`), destinations);
  install.copyFiles = [...own.copyFiles, ...co.copyFiles];
  install.missingFileLists = [...own.missing, ...co.missing];
  install.includes = listValues(getInfEntries(section, 'Include'));
  install.needs = listValues(getInfEntries(section, 'Needs'));
  install.services = readServices(inf, getInfSection(inf, `${resolved}.Services`));
  return install;
}

function listValues(entries: InfEntry[]): string[] {
  return entries.flatMap((entry) => entry.values.map((value) => value.value)).filter((value) => value !== '');
}

/** CopyFiles=@filename | file-list-section[,file-list-section]…; each file-list line is
 *  destination-file-name[,[source-file-name][,[unused][,flag]]] (INF CopyFiles Directive). */
function readCopyFiles(inf: InfFile, section: InfSection | undefined, destinations: DestinationTable): { copyFiles: InfCopyFile[]; missing: string[] } {
  const copyFiles: InfCopyFile[] = [];
  const missing: string[] = [];
  for (const directive of getInfEntries(section, 'CopyFiles')) {
    for (const target of directive.values) {
      const name = target.value.trim();
      if (name === '') continue;
      if (name.startsWith('@')) {
        const file = name.slice(1).trim();
        copyFiles.push({ line: directive.line, destination: file, source: file, destinationDir: destinationFor(destinations, undefined) });
        continue;
      }
      const list = getInfSection(inf, name);
      if (!list) {
        missing.push(name);
        continue;
      }
      for (const entry of list.entries) {
        const fields = entryFields(entry);
        const destination = fields[0]?.trim() ?? '';
        if (destination === '') continue;
        copyFiles.push({
          line: entry.line,
          destination,
          source: nonEmpty(fields[1]?.trim()) ?? destination,
          flags: fields[3] === undefined ? undefined : parseInfNumber(fields[3]),
          section: list.name,
          destinationDir: destinationFor(destinations, list.name),
        });
      }
    }
  }
  return { copyFiles, missing };
}

/** AddService=ServiceName,[flags],service-install-section[,event-log-install-section…]. */
function readServices(inf: InfFile, section: InfSection | undefined): InfService[] {
  const services: InfService[] = [];
  for (const entry of getInfEntries(section, 'AddService')) {
    const name = entry.values[0]?.value ?? '';
    const flagsText = nonEmpty(entry.values[1]?.value);
    const installSection = nonEmpty(entry.values[2]?.value);
    const install = installSection ? getInfSection(inf, installSection) : undefined;
    const number = (key: string): number | undefined => {
      const text = getInfValue(install, key);
      return text === undefined ? undefined : parseInfNumber(text);
    };
    services.push({
      name,
      flags: flagsText === undefined ? undefined : parseInfNumber(flagsText),
      installSection,
      present: install !== undefined,
      displayName: getInfValue(install, 'DisplayName'),
      serviceType: number('ServiceType'),
      startType: number('StartType'),
      errorControl: number('ErrorControl'),
      serviceBinary: getInfValue(install, 'ServiceBinary'),
      loadOrderGroup: getInfValue(install, 'LoadOrderGroup'),
    });
  }
  return services;
}

function platformOf(suffix: string | undefined): InfArchitecture | undefined {
  const lower = suffix?.toLowerCase();
  return INF_ARCHITECTURES.find((arch) => arch === lower);
}

/** diskid → path of [SourceDisksNames(.arch)]: diskid = description[,[tagfile][,unused][,path]…]. */
function diskPaths(inf: InfFile, suffix: string | undefined): Map<string, string> {
  const paths = new Map<string, string>();
  const section = getInfSection(inf, suffix ? `SourceDisksNames.${suffix}` : 'SourceDisksNames');
  for (const entry of section?.entries ?? []) {
    if (entry.key && !paths.has(entry.key.value.trim())) paths.set(entry.key.value.trim(), entry.values[3]?.value ?? '');
  }
  return paths;
}

/** Joins INF path pieces (backslash-separated, maybe rooted) into a '/'-separated relative path. */
export function joinInfPath(...pieces: Array<string | undefined>): string {
  const parts: string[] = [];
  for (const piece of pieces) {
    for (const part of (piece ?? '').split(/[\\/]+/)) {
      if (part === '' || part === '.') continue;
      parts.push(part);
    }
  }
  return parts.join('/');
}

/** Every [SourceDisksFiles] and [SourceDisksFiles.<platform>] entry: filename=diskid[,[subdir][,size]].
 *  The suffix is x86/amd64/arm64…, not ntamd64 ("INF SourceDisksFiles Section"). A file's disk
 *  path comes from [SourceDisksNames.<platform>] before [SourceDisksNames]: the install
 *  platform's when `installArchitecture` is given, else the listing section's own suffix. */
function readSourceDisksFiles(inf: InfFile, installArchitecture?: InfArchitecture): InfSourceFile[] {
  const files: InfSourceFile[] = [];
  const generic = diskPaths(inf, undefined);
  for (const section of inf.sections) {
    const match = /^SourceDisksFiles(?:\.(.+))?$/i.exec(section.name);
    if (!match) continue;
    const architecture = platformOf(match[1]);
    const suffix = installArchitecture ?? match[1];
    const disks = suffix === undefined ? generic : diskPaths(inf, suffix);
    for (const entry of section.entries) {
      const fields = entryFields(entry);
      const name = fields[0]?.trim() ?? '';
      if (name === '') continue;
      const diskId = fields[1]?.trim() ?? '';
      const subdir = nonEmpty(fields[2]?.trim());
      const sizeText = nonEmpty(fields[3]?.trim());
      files.push({
        name,
        diskId,
        subdir,
        size: sizeText === undefined ? undefined : parseInfNumber(sizeText),
        section: section.name,
        architecture,
        path: joinInfPath(disks.get(diskId) ?? generic.get(diskId), subdir, name),
      });
    }
  }
  return files;
}

/** SetupAPI "look[s] for architecture-specific SourceDisksFiles sections before using the
 *  generic section" (INF SourceDisksFiles Section): per file name the .<arch> entry wins. */
function sourceFilesFor(inf: InfFile, architecture: InfArchitecture): InfSourceFile[] {
  const all = readSourceDisksFiles(inf, architecture);
  const specific = all.filter((file) => file.architecture === architecture);
  const names = new Set(specific.map((file) => file.name.toLowerCase()));
  const generic = all.filter((file) => /^SourceDisksFiles$/i.test(file.section) && !names.has(file.name.toLowerCase()));
  return [...specific, ...generic];
}

/** stampinf/INX placeholders: $NAME$ tokens (outside the Signature value) and INX_ words. */
function findTemplateMarkers(inf: InfFile): { isTemplate: boolean; markers: string[] } {
  const markers = new Set<string>();
  const scan = (text: string): void => {
    for (const match of text.matchAll(/\$[A-Za-z_][A-Za-z0-9_]*\$|\bINX_[A-Z0-9_]+/g)) markers.add(match[0]);
  };
  for (const section of inf.sections) {
    scan(section.name);
    const isVersion = section.name.toLowerCase() === 'version';
    for (const entry of section.entries) {
      if (isVersion && entry.key?.value.toLowerCase() === 'signature') continue;
      if (entry.key) scan(entry.key.raw);
      for (const value of entry.values) scan(value.raw);
    }
  }
  const list = [...markers].sort();
  return { isTemplate: list.length > 0 || /\.inx$/i.test(inf.name), markers: list };
}
