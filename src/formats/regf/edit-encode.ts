// Small encoders the hive editor shares: names as stored in nk/vk (Latin-1 "compressed" or
// UTF-16LE), lf name hints, FILETIMEs, and the checks that refuse names Windows cannot load.
// It does not touch hive bytes; callers write what these return.
import { InputError } from '../../errors.js';
import { upcaseName } from './names.js';

const MAX_KEY_NAME_CHARS = 255; // Windows' documented key-name limit
const MAX_VALUE_NAME_CHARS = 16383; // Windows' documented value-name limit

export function isLatin1(name: string): boolean {
  for (let i = 0; i < name.length; i++) if (name.charCodeAt(i) > 0xff) return false;
  return true;
}

/** Name bytes for nk/vk: one byte per character when every character is ≤ U+00FF (flag
 *  KEY_COMP_NAME / VALUE_COMP_NAME), else UTF-16LE (FORMATS.md §3 pitfall 7). The empty default
 *  value name is not "compressed". */
export function encodeName(name: string): { bytes: Uint8Array; compressed: boolean } {
  if (name.length > 0 && isLatin1(name)) return { bytes: new Uint8Array(Buffer.from(name, 'latin1')), compressed: true };
  return { bytes: new Uint8Array(Buffer.from(name, 'utf16le')), compressed: false };
}

/** lf hint: the first four characters as bytes; a character above U+00FF ends it (zeros
 *  after), as the kernel does not compare hints for such names (Suhanov §Fast leaf). */
export function lfHint(name: string): number {
  let hint = 0;
  for (let i = 0; i < 4 && i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c > 0xff) break;
    hint |= c << (8 * i);
  }
  return hint >>> 0;
}

/** Orders names as the kernel's binary search expects: upper-cased UTF-16 code units. */
export function compareNames(a: string, b: string): number {
  const ua = upcaseName(a);
  const ub = upcaseName(b);
  return ua < ub ? -1 : ua > ub ? 1 : 0;
}

export function toFiletime(date: Date): bigint {
  const ms = date.getTime();
  if (Number.isNaN(ms) || ms < -11644473600000) {
    throw new InputError('DF_HIVE_BAD_OPTION', 'the editor clock returned an invalid date (before 1601 or NaN): give a real date');
  }
  return BigInt(ms + 11644473600000) * 10000n;
}

export function checkKeyName(name: string, path: string): void {
  if (name.length === 0 || name.length > MAX_KEY_NAME_CHARS || name.includes('\0')) {
    throw new InputError(
      'DF_HIVE_BAD_NAME',
      `key "${path}": every path part must be 1..${MAX_KEY_NAME_CHARS} characters without NUL (got ${JSON.stringify(name.slice(0, 40))}): fix the path`,
      { path },
    );
  }
}

export function checkValueName(name: string, path: string): void {
  if (typeof name !== 'string' || name.length > MAX_VALUE_NAME_CHARS) {
    throw new InputError('DF_HIVE_BAD_NAME', `a value name under "${path}" is over Windows' ${MAX_VALUE_NAME_CHARS} characters: shorten it`, { path });
  }
}

/** Splits a backslash path into its parts, ignoring empty parts (leading, trailing, doubled). */
export function splitKeyPath(path: string): string[] {
  return path.split('\\').filter((p) => p !== '');
}
