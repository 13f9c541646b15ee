// Scans the volume descriptor area from sector 16 (ECMA-119 §6.2.1, ECMA-167 2/8.3): the ISO 9660
// descriptors (CD001) and the UDF volume recognition sequence (BEA01, NSR02/NSR03, TEA01).
// It only classifies what is there; parsing a descriptor's fields is done by its own module.

import { ascii } from '../../util/binary.js';
import type { ByteSource } from '../../util/byte-source.js';

/** ISO 9660 logical sector size; descriptor sectors are always 2048 bytes (ECMA-119 §6.1.2). */
export const ISO_SECTOR = 2048;
/** The system area is sectors 0–15; descriptors start at sector 16 (ECMA-119 §6.2.1). */
export const FIRST_DESCRIPTOR_SECTOR = 16;
/** Enough for any real disc (a PVD, a few SVDs, a boot record, BEA/NSR/TEA) and small enough to bound a hostile scan. */
const MAX_DESCRIPTORS = 64;

export interface RecognizedDescriptor {
  /** Byte offset of the descriptor. */
  offset: number;
  /** Volume descriptor type byte (ECMA-119 §8.1.1), 0 for the UDF structures. */
  type: number;
  /** Standard identifier: 'CD001', 'BEA01', 'NSR02', 'NSR03', 'TEA01', 'BOOT2', 'CDW02'. */
  id: string;
  bytes: Uint8Array;
}

export interface VolumeRecognition {
  descriptors: RecognizedDescriptor[];
  /** 'NSR02' or 'NSR03' when an NSR descriptor sits between BEA01 and TEA01 (ECMA-167 2/9.1). */
  nsr: 'NSR02' | 'NSR03' | null;
}

const KNOWN_IDS = new Set(['CD001', 'BEA01', 'NSR02', 'NSR03', 'TEA01', 'BOOT2', 'CDW02']);

/** Reads descriptors until the sequence ends: an unknown identifier, a blank sector, or the end of the source. */
export async function scanVolumeRecognition(source: ByteSource): Promise<VolumeRecognition> {
  const first = await scanWithStep(source, ISO_SECTOR);
  if (first.nsr !== null) return first;
  // On media with sectors larger than 2048 bytes each descriptor starts a sector of its own
  // (ECMA-167 2/8.4), so a UDF sequence written for 4 KiB blocks is spaced 4 KiB apart.
  for (const step of [4096, 8192, 16384, 32768]) {
    const wider = await scanWithStep(source, step);
    if (wider.nsr !== null) return { descriptors: first.descriptors, nsr: wider.nsr };
  }
  return first;
}

async function scanWithStep(source: ByteSource, step: number): Promise<VolumeRecognition> {
  const descriptors: RecognizedDescriptor[] = [];
  let inExtendedArea = false;
  let nsr: VolumeRecognition['nsr'] = null;
  const start = FIRST_DESCRIPTOR_SECTOR * ISO_SECTOR;
  for (let i = 0; i < MAX_DESCRIPTORS; i++) {
    const offset = start + i * step;
    if (offset + ISO_SECTOR > source.size) break;
    const bytes = await source.read(offset, ISO_SECTOR);
    const id = ascii(bytes, 1, 6);
    if (!KNOWN_IDS.has(id)) break;
    descriptors.push({ offset, type: bytes[0], id, bytes });
    if (id === 'BEA01') inExtendedArea = true;
    else if (id === 'TEA01') inExtendedArea = false;
    else if ((id === 'NSR02' || id === 'NSR03') && inExtendedArea) nsr = id;
    // A terminator ends the ISO 9660 set but the UDF sequence may follow it (ECMA-167 2/8.3.1).
  }
  return { descriptors, nsr };
}
