// The El Torito boot catalog (El Torito 1.0 §2): validation entry, initial/default entry, section
// headers and section entries. Paths of the boot images are resolved by iso-image.ts against the
// chosen tree; this module only parses the catalog bytes, bounded to a few sectors.
import { FormatError } from '../../errors.js';
import { u16le, u32le } from '../../util/binary.js';
import type { ByteSource } from '../../util/byte-source.js';
import { ISO_SECTOR } from './volume-recognition.js';

export type Emulation = 'none' | 'floppy-1.2M' | 'floppy-1.44M' | 'floppy-2.88M' | 'hard-disk';

export interface ElToritoEntry {
  /** Platform id of the validation entry or section header (§2.1, §2.3): 0 x86, 1 PowerPC, 2 Mac, 0xEF EFI. */
  platform: number;
  platformName: string;
  /** Boot indicator 0x88 (§2.2). */
  bootable: boolean;
  emulation: Emulation;
  /** Load segment as recorded (§2.2 offset 2); 0 means the BIOS default 0x7C0. */
  loadSegment: number;
  /** Number of emulated 512-byte sectors loaded at boot (§2.2 offset 6). */
  sectorCount: number;
  /** Start of the boot image in 2048-byte sectors (§2.2 offset 8). */
  loadRba: number;
  /** The file of the chosen tree whose data starts at loadRba, when there is one. */
  bootImagePath?: string;
}

const ENTRY = 32;
/** A catalog is one sector on every real disc; four allow 255 entries and bound a hostile one. */
const MAX_CATALOG_SECTORS = 4;

const EMULATIONS: Emulation[] = ['none', 'floppy-1.2M', 'floppy-1.44M', 'floppy-2.88M', 'hard-disk'];

export function platformNameOf(platform: number): string {
  switch (platform) {
    case 0x00:
      return 'x86';
    case 0x01:
      return 'ppc';
    case 0x02:
      return 'mac';
    case 0xef:
      return 'efi';
    default:
      return `0x${platform.toString(16).padStart(2, '0')}`;
  }
}

function parseBootEntry(b: Uint8Array, at: number, platform: number): ElToritoEntry {
  // Boot indicator (§2.2 offset 0, §2.4 offset 0): 0x88 bootable or 0x00 not; anything else is
  // not a boot entry (for instance bytes after the catalog that a hostile count reaches into).
  if (b[at] !== 0x88 && b[at] !== 0x00) {
    throw new FormatError('DF_ELTORITO_BAD_ENTRY', `boot catalog entry at ${at} has boot indicator 0x${b[at].toString(16)}, not 0x88 or 0x00`, { at, indicator: b[at] });
  }
  // Media type: low nibble (§2.2 offset 1; §2.4 adds flags in the high bits of section entries).
  const media = b[at + 1] & 0x0f;
  const emulation = EMULATIONS[media];
  if (!emulation) {
    throw new FormatError('DF_ELTORITO_BAD_ENTRY', `boot catalog entry at ${at} has unknown media type ${media}`, { at, media });
  }
  return {
    platform,
    platformName: platformNameOf(platform),
    bootable: b[at] === 0x88,
    emulation,
    loadSegment: u16le(b, at + 2),
    sectorCount: u16le(b, at + 6),
    loadRba: u32le(b, at + 8),
  };
}

/** Checks the validation entry (§2.1): header 01, key bytes 55 AA, and 16-bit words summing to 0. */
function checkValidationEntry(b: Uint8Array): void {
  if (b[0] !== 0x01 || b[30] !== 0x55 || b[31] !== 0xaa) {
    throw new FormatError('DF_ELTORITO_BAD_CATALOG', 'the El Torito boot catalog has no valid validation entry (header 01, key 55 AA)', {});
  }
  let sum = 0;
  for (let i = 0; i < ENTRY; i += 2) sum = (sum + u16le(b, i)) & 0xffff;
  if (sum !== 0) {
    throw new FormatError('DF_ELTORITO_BAD_CATALOG', `the El Torito validation entry checksum is wrong (words sum to 0x${sum.toString(16)})`, { sum });
  }
}

/** Parses already-read catalog bytes (a multiple of 32). */
export function parseBootCatalog(b: Uint8Array): ElToritoEntry[] {
  if (b.length < 2 * ENTRY) {
    throw new FormatError('DF_ELTORITO_BAD_CATALOG', 'the El Torito boot catalog is too short', { length: b.length });
  }
  checkValidationEntry(b);
  const entries = [parseBootEntry(b, ENTRY, b[1])];
  let at = 2 * ENTRY;
  // Section headers (§2.3): 0x90 = more headers follow, 0x91 = final header.
  while (at + ENTRY <= b.length) {
    const indicator = b[at];
    if (indicator !== 0x90 && indicator !== 0x91) break;
    const platform = b[at + 1];
    const count = u16le(b, at + 2);
    at += ENTRY;
    for (let i = 0; i < count; i++) {
      if (at + ENTRY > b.length) {
        throw new FormatError('DF_ELTORITO_BAD_CATALOG', `an El Torito section header announces ${count} entries but the catalog ends first`, { count });
      }
      entries.push(parseBootEntry(b, at, platform));
      at += ENTRY;
      // Extension entries (§2.5, indicator 0x44) follow when media byte bit 5 is set; skip them.
      let more = (b[at - ENTRY + 1] & 0x20) !== 0;
      while (more && at + ENTRY <= b.length && b[at] === 0x44) {
        more = (b[at + 1] & 0x20) !== 0;
        at += ENTRY;
      }
    }
    if (indicator === 0x91) break;
  }
  return entries;
}

/** Reads and parses the catalog at `sector`. */
export async function readBootCatalog(source: ByteSource, sector: number): Promise<ElToritoEntry[]> {
  const offset = sector * ISO_SECTOR;
  if (offset + ISO_SECTOR > source.size) {
    throw new FormatError('DF_ELTORITO_BAD_CATALOG', `the El Torito boot catalog pointer (sector ${sector}) is outside the image`, { sector });
  }
  const sectors = Math.min(MAX_CATALOG_SECTORS, Math.floor((source.size - offset) / ISO_SECTOR));
  return parseBootCatalog(await source.read(offset, sectors * ISO_SECTOR));
}
