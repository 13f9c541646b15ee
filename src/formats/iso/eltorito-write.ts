// Builds El Torito 1.0 structures: the boot record volume descriptor (§2.0) and the boot catalog
// (§2.1–2.4): validation entry, initial/default entry, then one section header per further run
// of entries with the same platform, each followed by its section entries. No-emulation only.

export interface CatalogEntry {
  platform: number;
  loadSegment: number;
  sectorCount: number;
  loadRba: number;
}

const ENTRY = 32;
const ISO_BLOCK = 2048;
/** 2 fixed entries plus (header + entry) pairs must fit one sector: 63 entries at worst. */
export const MAX_BOOT_ENTRIES = 63;

/** Boot record volume descriptor (El Torito §2.0): "EL TORITO SPECIFICATION", catalog sector at byte 0x47. */
export function bootRecordDescriptor(catalogLba: number): Uint8Array {
  const b = new Uint8Array(ISO_BLOCK);
  b[0] = 0;
  b.set([0x43, 0x44, 0x30, 0x30, 0x31], 1);
  b[6] = 1;
  const id = 'EL TORITO SPECIFICATION';
  for (let i = 0; i < id.length; i++) b[7 + i] = id.charCodeAt(i);
  new DataView(b.buffer).setUint32(0x47, catalogLba, true);
  return b;
}

function writeBootEntry(b: Uint8Array, at: number, e: CatalogEntry): void {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  b[at] = 0x88; // bootable
  b[at + 1] = 0; // no emulation
  v.setUint16(at + 2, e.loadSegment, true);
  b[at + 4] = 0; // system type
  v.setUint16(at + 6, e.sectorCount, true);
  v.setUint32(at + 8, e.loadRba, true);
}

/** The boot catalog (one sector). The first entry is the default; the rest go in sections. */
export function bootCatalog(entries: CatalogEntry[]): Uint8Array {
  const b = new Uint8Array(ISO_BLOCK);
  const v = new DataView(b.buffer);
  // Validation entry (§2.1): header 1, platform, words summing to 0, key 55 AA.
  b[0] = 1;
  b[1] = entries[0].platform;
  b[30] = 0x55;
  b[31] = 0xaa;
  let sum = 0;
  for (let i = 0; i < ENTRY; i += 2) sum = (sum + v.getUint16(i, true)) & 0xffff;
  v.setUint16(28, (0x10000 - sum) & 0xffff, true);
  writeBootEntry(b, ENTRY, entries[0]);
  // Sections (§2.3, §2.4): consecutive entries of one platform share a header; 0x91 marks the last.
  const groups: CatalogEntry[][] = [];
  for (const e of entries.slice(1)) {
    const last = groups[groups.length - 1];
    if (last && last[0].platform === e.platform) last.push(e);
    else groups.push([e]);
  }
  let at = 2 * ENTRY;
  groups.forEach((group, i) => {
    b[at] = i === groups.length - 1 ? 0x91 : 0x90;
    b[at + 1] = group[0].platform;
    v.setUint16(at + 2, group.length, true);
    at += ENTRY;
    for (const e of group) {
      writeBootEntry(b, at, e);
      at += ENTRY;
    }
  });
  return b;
}
