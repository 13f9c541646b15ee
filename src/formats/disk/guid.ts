// Formats the 16-byte GUIDs that GPT, VHD and VHDX store on disk as canonical text. GPT and VHDX
// store GUIDs in Microsoft's mixed-endian layout (first three fields little-endian); the VHD
// footer stores its UUID as plain big-endian bytes. It does not parse text back into bytes.
import { need } from '../../util/binary.js';

function hex(b: Uint8Array, start: number, end: number, reverse: boolean): string {
  let s = '';
  if (reverse) for (let i = end - 1; i >= start; i--) s += b[i].toString(16).padStart(2, '0');
  else for (let i = start; i < end; i++) s += b[i].toString(16).padStart(2, '0');
  return s;
}

/** A mixed-endian (Windows/UEFI) GUID at `offset`, as lowercase `xxxxxxxx-xxxx-…`. */
export function formatGuid(b: Uint8Array, offset = 0): string {
  need(b, offset + 16, 'GUID');
  const o = offset;
  return `${hex(b, o, o + 4, true)}-${hex(b, o + 4, o + 6, true)}-${hex(b, o + 6, o + 8, true)}-${hex(b, o + 8, o + 10, false)}-${hex(b, o + 10, o + 16, false)}`;
}

/** A big-endian (RFC 4122 byte order) UUID at `offset`, as lowercase text. */
export function formatUuidBigEndian(b: Uint8Array, offset = 0): string {
  need(b, offset + 16, 'UUID');
  const h = hex(b, offset, offset + 16, false);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export function isZeroGuid(b: Uint8Array, offset = 0): boolean {
  need(b, offset + 16, 'GUID');
  for (let i = offset; i < offset + 16; i++) if (b[i] !== 0) return false;
  return true;
}
