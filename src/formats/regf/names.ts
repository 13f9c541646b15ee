// Key and value names: decoding the two on-disk encodings, Windows-style upper-casing for
// case-insensitive comparison, and the lh name hash. It does not validate that a name is legal
// for Windows (no check for backslashes or length limits); that is the writer's concern.

/** Decodes a name stored as Latin-1 bytes (compressed flag set) or as UTF-16LE. */
export function decodeName(bytes: Uint8Array, compressed: boolean): string {
  if (compressed) {
    let s = '';
    for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
    return s;
  }
  // An odd trailing byte cannot be part of a UTF-16 unit; Windows never writes one, so drop it.
  let s = '';
  for (let i = 0; i + 1 < bytes.length; i += 2) s += String.fromCharCode(bytes[i] | (bytes[i + 1] << 8));
  return s;
}

/** Upper-cases one UTF-16 code unit the way the registry does: one unit in, one unit out
 *  (so "ß" stays "ß" instead of becoming "SS", which would break lh hashes and sorting). */
function upcaseUnit(unit: number): number {
  if (unit < 0x61) return unit;
  if (unit <= 0x7a) return unit - 0x20;
  if (unit < 0x80) return unit;
  const up = String.fromCharCode(unit).toUpperCase();
  return up.length === 1 ? up.charCodeAt(0) : unit;
}

export function upcaseName(name: string): string {
  let s = '';
  for (let i = 0; i < name.length; i++) s += String.fromCharCode(upcaseUnit(name.charCodeAt(i)));
  return s;
}

export function namesEqual(a: string, b: string): boolean {
  return a.length === b.length && (a === b || upcaseName(a) === upcaseName(b));
}

/** lh hash: h = 37·h + c over the UTF-16 units of the upper-cased name, mod 2^32
 *  (Suhanov §Hash leaf; libyal §LH sub key hash). */
export function lhHash(name: string): number {
  let h = 0;
  for (let i = 0; i < name.length; i++) h = (Math.imul(h, 37) + upcaseUnit(name.charCodeAt(i))) >>> 0;
  return h;
}
