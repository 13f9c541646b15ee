// Tells what a file is from its bytes, never its name: ISO 9660/UDF, WIM family, regf hive or
// log, VHD/VHDX, CAB, unattend XML, .reg text. Reads a few small windows only. Distinguishing a
// WIM from an ESD, SWM or PPKG needs the WIM header and XML, so that part asks the WIM reader.
import { DeployForgeError } from '../errors.js';
import { ascii, startsWith, u32le } from '../util/binary.js';
import type { ByteSource } from '../util/byte-source.js';

export type DetectedFormat = 'iso' | 'wim' | 'esd' | 'swm' | 'ppkg' | 'hive' | 'hive-log' | 'vhd' | 'vhdx' | 'cab' | 'msu' | 'unattend' | 'reg' | 'unknown';

export interface Detection {
  format: DetectedFormat;
  /** What gave it away, for --verbose and error messages. */
  evidence: string;
}

const SECTOR = 2048;

async function readUpTo(source: ByteSource, offset: number, length: number): Promise<Uint8Array> {
  if (offset >= source.size) return new Uint8Array(0);
  return source.read(offset, Math.min(length, source.size - offset));
}

/** ECMA-119 §8.1 / ECMA-167 2/9.1: volume descriptors start at sector 16 (byte 32768); each
 *  carries a 5-byte standard identifier at offset 1. */
const VOLUME_IDS = ['CD001', 'BEA01', 'NSR02', 'NSR03', 'TEA01', 'BOOT2'];

async function looksLikeIso(source: ByteSource): Promise<string | null> {
  for (let sector = 16; sector < 32; sector++) {
    const head = await readUpTo(source, sector * SECTOR, 8);
    if (head.length < 6) return null;
    const id = ascii(head, 1, 6);
    if (VOLUME_IDS.includes(id)) return `volume descriptor '${id}' at sector ${sector}`;
  }
  return null;
}

/** Text files: decode a prefix as UTF-16LE (with BOM) or UTF-8/ASCII. */
function decodeTextPrefix(bytes: Uint8Array): string | null {
  if (bytes.length >= 2 && bytes[0] === 0xff && bytes[1] === 0xfe) return Buffer.from(bytes.subarray(2, bytes.length & ~1)).toString('utf16le');
  if (bytes.length >= 2 && bytes[0] === 0xfe && bytes[1] === 0xff) {
    const swapped = Buffer.from(bytes.subarray(2, bytes.length & ~1));
    swapped.swap16();
    return swapped.toString('utf16le');
  }
  const start = bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  // A NUL in the first bytes means binary, not UTF-8 text.
  const body = bytes.subarray(start);
  if (body.includes(0)) return null;
  return Buffer.from(body).toString('utf8');
}

export async function detectFormat(source: ByteSource): Promise<Detection> {
  const head = await readUpTo(source, 0, 4096);

  if (startsWith(head, 'MSWIM\0\0\0') || startsWith(head, 'WLPWM\0\0\0')) {
    const evidence = `WIM magic '${ascii(head, 0, 5)}' at 0`;
    const { openWim } = await import('./wim/wim-file.js');
    try {
      return { format: (await openWim(source)).kind, evidence };
    } catch (error) {
      // The magic says WIM; a damaged header or XML is for the WIM reader to report.
      if (error instanceof DeployForgeError) return { format: 'wim', evidence };
      throw error;
    }
  }
  if (startsWith(head, 'regf')) {
    // Suhanov, base block offset 28: file type 0 = primary hive, 1/2/6 = transaction log.
    const type = head.length >= 32 ? u32le(head, 28) : 0;
    return type === 0 ? { format: 'hive', evidence: "'regf' base block, file type 0" } : { format: 'hive-log', evidence: `'regf' base block, file type ${type} (transaction log)` };
  }
  if (startsWith(head, 'vhdxfile')) return { format: 'vhdx', evidence: "'vhdxfile' file identifier at 0" };
  if (startsWith(head, 'conectix')) return { format: 'vhd', evidence: "'conectix' footer copy at 0 (dynamic VHD)" };
  if (startsWith(head, 'MSCF')) {
    const evidence = "'MSCF' cabinet signature at 0";
    const { classifyCab } = await import('./cab/classify.js');
    try {
      return { format: await classifyCab(source), evidence };
    } catch (error) {
      if (error instanceof DeployForgeError) return { format: 'cab', evidence };
      throw error;
    }
  }

  const iso = await looksLikeIso(source);
  if (iso) return { format: 'iso', evidence: iso };

  // VHD spec: fixed disks have only the footer, at the last 512 bytes (511 in very old files).
  if (source.size >= 512) {
    const tail = await source.read(source.size - 512, 512);
    if (startsWith(tail, 'conectix')) return { format: 'vhd', evidence: "'conectix' footer in the last 512 bytes (fixed VHD)" };
    if (startsWith(tail, 'conectix', 1)) return { format: 'vhd', evidence: "'conectix' 511-byte footer at the end (fixed VHD)" };
  }

  const text = decodeTextPrefix(head);
  if (text !== null) {
    const trimmed = text.replace(/^\s+/, '');
    if (/^Windows Registry Editor Version 5\.00/.test(trimmed) || /^REGEDIT4/.test(trimmed)) {
      return { format: 'reg', evidence: `registry export header '${trimmed.split(/\r?\n/)[0].trim()}'` };
    }
    if (/<unattend\b[^>]*urn:schemas-microsoft-com:unattend/.test(text) || /<unattend\b/.test(text)) {
      return { format: 'unattend', evidence: "XML root element 'unattend'" };
    }
  }
  return { format: 'unknown', evidence: 'no known signature' };
}
