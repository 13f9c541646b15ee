// Joliet: recognises the UCS-2 escape sequences of a supplementary volume descriptor and decodes
// the big-endian UCS-2 names it uses. It does not pick which tree to read; iso-image.ts does.
import { FormatError } from '../../errors.js';

/**
 * Joliet level from the SVD escape sequences field (ECMA-119 §8.5.6; Joliet spec §2.2):
 * "%/@" level 1, "%/C" level 2, "%/E" level 3. Null when none is present.
 */
export function jolietLevelOf(escapes: Uint8Array): 1 | 2 | 3 | null {
  for (let i = 0; i + 2 < escapes.length; i++) {
    if (escapes[i] !== 0x25 || escapes[i + 1] !== 0x2f) continue;
    const c = escapes[i + 2];
    if (c === 0x40) return 1;
    if (c === 0x43) return 2;
    if (c === 0x45) return 3;
  }
  return null;
}

/** Decodes a UCS-2 big-endian identifier; an odd length is corrupt. Callers strip padding where a field has it. */
export function decodeUcs2be(bytes: Uint8Array, what: string): string {
  if (bytes.length % 2 !== 0) {
    throw new FormatError('DF_ISO_BAD_NAME', `${what} has an odd length ${bytes.length}; Joliet names are UCS-2`, { length: bytes.length });
  }
  let s = '';
  for (let i = 0; i < bytes.length; i += 2) s += String.fromCharCode((bytes[i] << 8) | bytes[i + 1]);
  return s;
}
