// Tells a Windows update package (.msu) from a plain cabinet by what it holds: an MSU is a
// cabinet of update payloads (.cab, .psf or .wim) together with its metadata (.xml,
// *-pkgProperties.txt, WSUSSCAN.cab). Reads only the cabinet's file table.
import type { ByteSource } from '../../util/byte-source.js';
import { readCab } from './read-cab.js';

export async function classifyCab(source: ByteSource): Promise<'cab' | 'msu'> {
  const info = await readCab(source);
  const names = info.files.map((f) => f.name.toLowerCase());
  const hasPayload = names.some((n) => n.endsWith('.cab') || n.endsWith('.psf') || n.endsWith('.wim'));
  const hasMetadata = names.some((n) => n.endsWith('.xml') || n.endsWith('pkgproperties.txt') || n === 'wsusscan.cab');
  return hasPayload && hasMetadata ? 'msu' : 'cab';
}
