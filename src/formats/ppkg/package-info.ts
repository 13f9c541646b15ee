// Provisioning package (PPKG) facts from the WIM XML of the package: a PPKG is a one-image WIM
// whose <IMAGE> carries NOTES (a key=value; string), VERSION, ALTITUDE and PACKAGEID
// (FORMATS.md §1, verified on the 4 corpus packages). Reads only that XML: the package's own
// customizations.xml is compressed inside the image and is parsed by package-config.ts.
import type { WimImageInfo, WimXmlInfo } from '../wim/xml-info.js';
import type { PackageConfig } from './package-config.js';

export type PpkgOwnerType = 'OEM' | 'SystemIntegrator';

export interface PpkgInfo {
  name: string | null;
  /** PACKAGEID (or NOTES PackageID) without braces, lower case. */
  packageId: string | null;
  /** The package version (the <VERSION> element, e.g. "1.0"). */
  version: string | null;
  /** The Windows Configuration Designer build that made it (NOTES VERSION=…). */
  designerVersion: string | null;
  /** Where OwnerType and Rank came from: the package's customizations.xml, or decoded from
   *  ALTITUDE; null when neither is available. */
  owner: string | null;
  rank: number | null;
  ownerSource: 'package-config' | 'altitude' | null;
  altitude: number | null;
  signed: boolean | null;
  encrypted: boolean | null;
  targetSkus: string[];
  /** NOTES as key → value, in order (Source=Classic, TargetSkus=…, and anything unknown). */
  notes: Record<string, string>;
  author: string | null;
  description: string | null;
}

/** ALTITUDE = owner base + rank. Verified on the corpus against each package's own
 *  customizations.xml: OEM/0 → 2000, SystemIntegrator/0 → 3000, SystemIntegrator/50 → 3050.
 *  Other owner types (Microsoft, SiliconVendor, MobileOperator, ITAdmin) have no sample, so their
 *  bases are not guessed and such altitudes give owner null. */
const OWNER_BY_BASE: Readonly<Record<number, PpkgOwnerType>> = { 2000: 'OEM', 3000: 'SystemIntegrator' };
/** Rank runs 0-99 (Windows Configuration Designer's PackageConfig/Rank). */
const MAX_RANK = 99;

/** Splits NOTES ("VERSION=10.0.17134.1;Source=Classic;;TargetSkus=Desktop;…"). */
export function parsePpkgNotes(notes: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of notes.split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const key = part.slice(0, eq).trim();
    if (!(key in out)) out[key] = part.slice(eq + 1).trim();
  }
  return out;
}

function parseBool(value: string | undefined): boolean | null {
  if (value === undefined) return null;
  if (/^true$/i.test(value)) return true;
  if (/^false$/i.test(value)) return false;
  return null;
}

function normaliseGuid(value: string | null | undefined): string | null {
  if (!value) return null;
  const m = /^\{?([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\}?$/.exec(value.trim());
  return m ? m[1].toLowerCase() : null;
}

function packageImage(info: WimXmlInfo): WimImageInfo | null {
  return info.images.length === 1 ? info.images[0] : null;
}

/** True when the WIM XML looks like a provisioning package's: exactly one image that carries a
 *  PACKAGEID element, or NOTES naming both PackageID and TargetSkus. */
export function isPpkgXml(info: WimXmlInfo): boolean {
  const image = packageImage(info);
  if (!image) return false;
  if (normaliseGuid(image.extra.PACKAGEID) !== null) return true;
  const notes = parsePpkgNotes(image.extra.NOTES ?? '');
  return 'PackageID' in notes && 'TargetSkus' in notes;
}

/** Package facts from the WIM XML of a PPKG. Owner and rank are not stored in the XML: give the
 *  package's customizations.xml (readPackageConfig) to take them from there; otherwise they are
 *  decoded from ALTITUDE when its owner base is a verified one. Returns null for a non-PPKG. */
export function readPpkgInfo(wimXml: WimXmlInfo, packageConfig?: PackageConfig | null): PpkgInfo | null {
  if (!isPpkgXml(wimXml)) return null;
  const image = packageImage(wimXml) as WimImageInfo;
  const notes = parsePpkgNotes(image.extra.NOTES ?? '');
  const altitudeText = image.extra.ALTITUDE?.trim();
  const altitude = altitudeText && /^\d{1,9}$/.test(altitudeText) ? Number(altitudeText) : null;

  let owner: string | null = null;
  let rank: number | null = null;
  let ownerSource: PpkgInfo['ownerSource'] = null;
  if (packageConfig && (packageConfig.ownerType !== null || packageConfig.rank !== null)) {
    owner = packageConfig.ownerType;
    rank = packageConfig.rank;
    ownerSource = 'package-config';
  } else if (altitude !== null) {
    const base = Math.floor(altitude / 1000) * 1000;
    if (OWNER_BY_BASE[base] && altitude - base <= MAX_RANK) {
      owner = OWNER_BY_BASE[base];
      rank = altitude - base;
      ownerSource = 'altitude';
    }
  }
  const skus = notes.TargetSkus ?? '';
  return {
    name: image.name,
    packageId: normaliseGuid(image.extra.PACKAGEID) ?? normaliseGuid(notes.PackageID),
    version: image.extra.VERSION ?? null,
    designerVersion: notes.VERSION ?? null,
    owner,
    rank,
    ownerSource,
    altitude,
    signed: parseBool(notes.SignPackage),
    encrypted: parseBool(notes.EncryptPackage),
    targetSkus: skus
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== ''),
    notes,
    author: image.extra.AUTHOR ?? null,
    description: image.description,
  };
}
