// System Use Sharing Protocol (SUSP, IEEE P1281) entries and the Rock Ridge (RRIP, IEEE P1282)
// parts a reader needs for names: NM, and CL/RE for relocated deep directories. It ignores
// permissions, owners, symlinks (SL) and times: Windows media do not depend on them.
import { FormatError } from '../../errors.js';
import { ascii, u32le } from '../../util/binary.js';
import type { ByteSource } from '../../util/byte-source.js';

export interface SuspEntry {
  signature: string;
  version: number;
  /** The whole entry, including its 4-byte header. */
  bytes: Uint8Array;
}

/** Bounds for hostile continuation chains: real discs use one or two CE areas per record. */
const MAX_CONTINUATIONS = 16;
const MAX_ENTRIES = 4096;
const MAX_CONTINUATION_LENGTH = 64 * 1024;

/** Parses one SUSP area; returns the entries and the continuation area it points to, if any (SUSP §5.1). */
function parseArea(area: Uint8Array, start: number, out: SuspEntry[]): { block: number; offset: number; length: number } | null {
  let continuation: { block: number; offset: number; length: number } | null = null;
  let at = start;
  while (at + 4 <= area.length && out.length < MAX_ENTRIES) {
    const length = area[at + 2];
    // A zero signature or a length that does not fit is padding or damage: stop reading this area.
    if (area[at] === 0 || length < 4 || at + length > area.length) break;
    const signature = ascii(area, at, at + 2);
    const bytes = area.subarray(at, at + length);
    if (signature === 'ST') break; // SUSP §5.4 terminator
    if (signature === 'CE' && length >= 28) {
      // SUSP §5.1: block, offset and length, each both-endian 32-bit.
      continuation = { block: u32le(bytes, 4), offset: u32le(bytes, 12), length: u32le(bytes, 20) };
    } else {
      out.push({ signature, version: area[at + 3], bytes });
    }
    at += length;
  }
  return continuation;
}

/** All SUSP entries of a record, following CE continuation areas (bounded, cycle-safe). */
export async function readSuspEntries(source: ByteSource, systemUse: Uint8Array, skip: number, blockSize: number): Promise<SuspEntry[]> {
  const entries: SuspEntry[] = [];
  let next = parseArea(systemUse, skip, entries);
  const seen = new Set<string>();
  for (let hops = 0; next && hops < MAX_CONTINUATIONS && entries.length < MAX_ENTRIES; hops++) {
    const key = `${next.block}:${next.offset}`;
    if (seen.has(key)) break;
    seen.add(key);
    if (next.length === 0 || next.length > MAX_CONTINUATION_LENGTH) {
      throw new FormatError('DF_ISO_BAD_SUSP', `a Rock Ridge continuation area claims ${next.length} bytes, which is not plausible`, { length: next.length });
    }
    const area = await source.read(next.block * blockSize + next.offset, next.length);
    next = parseArea(area, 0, entries);
  }
  return entries;
}

/** The SUSP "SP" indicator in the root's "." record (SUSP §5.3): returns the byte skip count, or null when SUSP is absent. */
export function suspSkipOf(rootDotSystemUse: Uint8Array): number | null {
  const b = rootDotSystemUse;
  if (b.length >= 7 && b[0] === 0x53 && b[1] === 0x50 && b[2] >= 7 && b[4] === 0xbe && b[5] === 0xef) return b[6];
  return null;
}

/** True when the root's entries show Rock Ridge: an ER naming RRIP, or RRIP entries themselves (RRIP §4, §5). */
export function isRockRidge(rootEntries: SuspEntry[]): boolean {
  for (const e of rootEntries) {
    if (e.signature === 'ER' && e.bytes.length >= 8) {
      // ER: identifier length at 4, identifier at 8 (SUSP §5.5).
      const id = ascii(e.bytes, 8, Math.min(e.bytes.length, 8 + e.bytes[4]));
      if (id.startsWith('RRIP_1991A') || id.startsWith('IEEE_P1282') || id.startsWith('IEEE_1282')) return true;
    }
    if (e.signature === 'RR' || e.signature === 'PX' || e.signature === 'NM') return true;
  }
  return false;
}

export interface RockRidgeInfo {
  /** Alternate name from NM entries (RRIP §4.1.4), undefined when there is none. */
  name?: string;
  /** CL: this file record stands for a directory relocated to this block (RRIP §4.1.5.1). */
  childLink?: number;
  /** RE: this directory is the relocated copy and must be hidden from its fake parent (RRIP §4.1.5.3). */
  relocated: boolean;
}

export function readRockRidge(entries: SuspEntry[]): RockRidgeInfo {
  let name: string | undefined;
  let childLink: number | undefined;
  let relocated = false;
  let nameBytes: number[] | null = null;
  for (const e of entries) {
    if (e.signature === 'NM' && e.bytes.length >= 5) {
      const flags = e.bytes[4];
      // CURRENT (bit 1) and PARENT (bit 2) name "." and ".."; they carry no text.
      if (flags & 0x06) continue;
      nameBytes ??= [];
      for (const c of e.bytes.subarray(5)) nameBytes.push(c);
    } else if (e.signature === 'CL' && e.bytes.length >= 12) {
      childLink = u32le(e.bytes, 4);
    } else if (e.signature === 'RE') {
      relocated = true;
    }
  }
  if (nameBytes) name = Buffer.from(nameBytes).toString('utf8');
  return { name, childLink, relocated };
}
