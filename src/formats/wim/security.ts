// The security data block at the start of every metadata resource: the image's table of
// self-relative Windows security descriptors, which dentries refer to by index (security id).
// Layout and checks follow ebiggers/wimlib src/security.c read_wim_security_data. The
// descriptors are kept as raw bytes; interpreting ACLs is not this module's job.
import { FormatError } from '../../errors.js';
import { u32le, u64le } from '../../util/binary.js';

export interface WimSecurityData {
  /** The declared length of the block, rounded up to 8: the root dentry starts here. */
  totalLength: number;
  /** Self-relative SECURITY_DESCRIPTORs; an entry of size 0 is an empty array. */
  descriptors: Uint8Array[];
  /** Non-fatal oddities (a length field that disagrees with the descriptors). */
  warnings: string[];
}

const align8 = (n: number) => Math.ceil(n / 8) * 8;

/** Parses `u32 total_length, u32 num_entries, u64 sizes[num_entries]`, then the descriptors. */
export function parseSecurityData(bytes: Uint8Array, name = 'metadata resource'): WimSecurityData {
  const invalid = (why: string, details: Record<string, unknown> = {}) =>
    new FormatError('DF_WIM_BAD_SECURITY_DATA', `${name}: the security data is invalid (${why}); the image metadata is corrupt`, details);
  if (bytes.length < 8) throw invalid(`the metadata resource has only ${bytes.length} bytes`);
  // A total length of 0 really means 8 (an empty table), as wimlib treats it.
  const declared = u32le(bytes, 0) || 8;
  const count = u32le(bytes, 4);
  if (declared > bytes.length) throw invalid(`length ${declared} is past the end of the ${bytes.length}-byte resource`, { declared });
  const fixed = 8 + count * 8;
  if (fixed > declared) throw invalid(`${count} entries do not fit in ${declared} bytes`, { count, declared });
  const descriptors: Uint8Array[] = [];
  let at = fixed;
  for (let i = 0; i < count; i++) {
    const size = u64le(bytes, 8 + i * 8);
    if (size > declared - at) throw invalid(`descriptor ${i} of ${size} bytes runs past the declared length`, { index: i, size });
    descriptors.push(bytes.subarray(at, at + size));
    at += size;
  }
  const totalLength = align8(declared);
  const warnings = align8(at) === totalLength ? [] : [`security data declares ${declared} bytes but its descriptors end at ${at}`];
  return { totalLength, descriptors, warnings };
}
