// Builds ISO 9660 structures (ECMA-119): primary and Joliet supplementary volume descriptors,
// directory records (with multi-extent records for files ≥ 4 GiB, §6.5.1 / §9.1.6), directory
// extents and L/M path tables (§9.4). Joliet uses UCS-2BE identifiers (Joliet spec §3, §5).

export const ISO_BLOCK = 2048;
/** Largest extent of a multi-extent file: 4 GiB minus one block, so every part starts on a block. */
export const ISO_MAX_EXTENT = 0x100000000 - ISO_BLOCK;

export type Naming = 'iso' | 'joliet';

export function encodeIdentifier(name: string, naming: Naming): Uint8Array {
  if (naming === 'iso') return Uint8Array.from(name, (c) => c.charCodeAt(0));
  const out = new Uint8Array(2 * name.length);
  for (let i = 0; i < name.length; i++) {
    out[2 * i] = name.charCodeAt(i) >> 8;
    out[2 * i + 1] = name.charCodeAt(i) & 0xff;
  }
  return out;
}

function both16(v: DataView, at: number, value: number): void {
  v.setUint16(at, value, true);
  v.setUint16(at + 2, value, false);
}

function both32(v: DataView, at: number, value: number): void {
  v.setUint32(at, value, true);
  v.setUint32(at + 4, value, false);
}

function pad(b: Uint8Array, at: number, length: number, s: string, naming: Naming): void {
  if (naming === 'iso') {
    for (let i = 0; i < length; i++) b[at + i] = i < s.length ? s.charCodeAt(i) : 0x20;
  } else {
    // Joliet fields hold UCS-2BE characters padded with spaces (0x0020); an odd last byte stays 0.
    for (let i = 0; i + 1 < length; i += 2) {
      const c = i / 2 < s.length ? s.charCodeAt(i / 2) : 0x20;
      b[at + i] = c >> 8;
      b[at + i + 1] = c & 0xff;
    }
  }
}

/** 17-byte date and time (ECMA-119 §8.4.26.1), UTC; undefined = "not specified". */
function writeLongDate(b: Uint8Array, at: number, date: Date | undefined): void {
  if (!date) {
    for (let i = 0; i < 16; i++) b[at + i] = 0x30;
    b[at + 16] = 0;
    return;
  }
  const p = (n: number, w: number) => String(n).padStart(w, '0');
  const s = `${p(date.getUTCFullYear(), 4)}${p(date.getUTCMonth() + 1, 2)}${p(date.getUTCDate(), 2)}${p(date.getUTCHours(), 2)}${p(date.getUTCMinutes(), 2)}${p(date.getUTCSeconds(), 2)}${p(Math.floor(date.getUTCMilliseconds() / 10), 2)}`;
  for (let i = 0; i < 16; i++) b[at + i] = s.charCodeAt(i);
  b[at + 16] = 0;
}

/** 7-byte recording date (ECMA-119 §9.1.5), UTC. */
function writeShortDate(b: Uint8Array, at: number, date: Date): void {
  b[at] = Math.max(0, Math.min(255, date.getUTCFullYear() - 1900));
  b[at + 1] = date.getUTCMonth() + 1;
  b[at + 2] = date.getUTCDate();
  b[at + 3] = date.getUTCHours();
  b[at + 4] = date.getUTCMinutes();
  b[at + 5] = date.getUTCSeconds();
  b[at + 6] = 0;
}

export interface RecordInfo {
  /** Identifier bytes; [0] for ".", [1] for "..". */
  identifier: Uint8Array;
  lba: number;
  length: number;
  isDirectory: boolean;
  multiExtent?: boolean;
  date: Date;
}

export function recordLength(identifierLength: number): number {
  return 33 + identifierLength + (identifierLength % 2 === 0 ? 1 : 0);
}

/** A directory record (ECMA-119 §9.1). */
export function directoryRecord(r: RecordInfo): Uint8Array {
  const b = new Uint8Array(recordLength(r.identifier.length));
  const v = new DataView(b.buffer);
  b[0] = b.length;
  both32(v, 2, r.lba);
  both32(v, 10, r.length);
  writeShortDate(b, 18, r.date);
  b[25] = (r.isDirectory ? 0x02 : 0) | (r.multiExtent ? 0x80 : 0);
  both16(v, 28, 1);
  b[32] = r.identifier.length;
  b.set(r.identifier, 33);
  return b;
}

/** The records of a file: one, or several multi-extent records (§6.5.1) for data ≥ 4 GiB or data
 *  in several places (`pieces`, in file order, each but the last a whole number of blocks). */
export function fileRecords(identifier: Uint8Array, lba: number, size: number, date: Date, pieces?: Array<{ lba: number; bytes: number }>): RecordInfo[] {
  if (size === 0) return [{ identifier, lba: 0, length: 0, isDirectory: false, multiExtent: false, date }];
  const out: RecordInfo[] = [];
  for (const piece of pieces ?? [{ lba, bytes: size }]) {
    for (let done = 0; done < piece.bytes; done += ISO_MAX_EXTENT) {
      const length = Math.min(ISO_MAX_EXTENT, piece.bytes - done);
      out.push({ identifier, lba: piece.lba + done / ISO_BLOCK, length, isDirectory: false, multiExtent: true, date });
    }
  }
  out[out.length - 1].multiExtent = false;
  return out;
}

/** How many records fileRecords gives for a file. */
export function fileRecordCount(size: number, pieces?: Array<{ bytes: number }>): number {
  if (size === 0) return 1;
  return (pieces ?? [{ bytes: size }]).reduce((n, p) => n + Math.ceil(p.bytes / ISO_MAX_EXTENT), 0);
}

/** Lays records out in blocks; a record never crosses a block boundary (§6.8.1.1). Returns the byte size (whole blocks). */
export function directorySize(lengths: number[]): number {
  let blocks = 1;
  let used = 0;
  for (const l of lengths) {
    if (used + l > ISO_BLOCK) {
      blocks++;
      used = 0;
    }
    used += l;
  }
  return blocks * ISO_BLOCK;
}

export function packDirectory(records: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(directorySize(records.map((r) => r.length)));
  let block = 0;
  let used = 0;
  for (const r of records) {
    if (used + r.length > ISO_BLOCK) {
      block++;
      used = 0;
    }
    out.set(r, block * ISO_BLOCK + used);
    used += r.length;
  }
  return out;
}

export interface PathTableEntry {
  identifier: Uint8Array;
  lba: number;
  parentNumber: number;
}

export function pathTableSize(entries: PathTableEntry[]): number {
  let size = 0;
  for (const e of entries) size += 8 + e.identifier.length + (e.identifier.length % 2);
  return size;
}

/** A path table (§9.4), little-endian (type L) or big-endian (type M). */
export function pathTable(entries: PathTableEntry[], littleEndian: boolean): Uint8Array {
  const out = new Uint8Array(pathTableSize(entries));
  const v = new DataView(out.buffer);
  let at = 0;
  for (const e of entries) {
    out[at] = e.identifier.length;
    v.setUint32(at + 2, e.lba, littleEndian);
    v.setUint16(at + 6, e.parentNumber, littleEndian);
    out.set(e.identifier, at + 8);
    at += 8 + e.identifier.length + (e.identifier.length % 2);
  }
  return out;
}

export interface VolumeDescriptorInfo {
  naming: Naming;
  volumeId: string;
  volumeSetId: string;
  volumeSpaceSize: number;
  pathTableSize: number;
  lPathTable: number;
  mPathTable: number;
  root: RecordInfo;
  created: Date;
}

/** Primary (type 1, §8.4) or Joliet supplementary (type 2, §8.5) volume descriptor. */
export function volumeDescriptor(info: VolumeDescriptorInfo): Uint8Array {
  const b = new Uint8Array(ISO_BLOCK);
  const v = new DataView(b.buffer);
  const joliet = info.naming === 'joliet';
  b[0] = joliet ? 2 : 1;
  b.set([0x43, 0x44, 0x30, 0x30, 0x31], 1); // "CD001"
  b[6] = 1;
  pad(b, 8, 32, '', info.naming);
  pad(b, 40, 32, info.volumeId, info.naming);
  both32(v, 80, info.volumeSpaceSize);
  if (joliet) b.set([0x25, 0x2f, 0x45], 88); // escape sequence %/E: UCS-2 level 3 (Joliet §4.2)
  both16(v, 120, 1); // volume set size
  both16(v, 124, 1); // volume sequence number
  both16(v, 128, ISO_BLOCK);
  both32(v, 132, info.pathTableSize);
  v.setUint32(140, info.lPathTable, true);
  v.setUint32(148, info.mPathTable, false);
  b.set(directoryRecord(info.root), 156);
  pad(b, 190, 128, info.volumeSetId, info.naming);
  pad(b, 318, 128, '', info.naming);
  pad(b, 446, 128, '', info.naming);
  pad(b, 574, 128, joliet ? 'DeployForge' : 'DEPLOYFORGE', info.naming);
  pad(b, 702, 37, '', info.naming);
  pad(b, 739, 37, '', info.naming);
  pad(b, 776, 37, '', info.naming);
  writeLongDate(b, 813, info.created);
  writeLongDate(b, 830, info.created);
  writeLongDate(b, 847, undefined);
  writeLongDate(b, 864, info.created);
  b[881] = 1; // file structure version
  return b;
}

/** Volume descriptor set terminator (§8.3). */
export function terminatorDescriptor(): Uint8Array {
  const b = new Uint8Array(ISO_BLOCK);
  b[0] = 255;
  b.set([0x43, 0x44, 0x30, 0x30, 0x31], 1);
  b[6] = 1;
  return b;
}

/** ISO 9660 volume identifier: d-characters (§7.4.1), at most 32. */
export function isoVolumeId(label: string): string {
  return label
    .toUpperCase()
    .replace(/[^A-Z0-9_]/g, '_')
    .slice(0, 32);
}
