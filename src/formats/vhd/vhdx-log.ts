// Decides whether a VHDX log holds entries that must be replayed (MS-VHDX 2.3): the header's
// LogGuid is non-zero and some 4 KiB-aligned log entry carries that GUID and a valid CRC-32C.
// It deliberately does not replay the log; callers refuse to read data from such a disk instead.
import { startsWith, u32le } from '../../util/binary.js';
import type { ByteSource } from '../../util/byte-source.js';
import { formatGuid } from '../disk/guid.js';
import { crc32c } from './crc32c.js';
import type { VhdxHeader } from './vhdx-headers.js';

const ZERO_GUID = '00000000-0000-0000-0000-000000000000';
const ENTRY_ALIGN = 4096;
/** Real logs are 1 MiB; a larger one is scanned no further and treated as needing replay. */
const MAX_SCANNED_LOG = 64 * 1024 * 1024;

export async function vhdxNeedsLogReplay(file: ByteSource, header: VhdxHeader): Promise<boolean> {
  if (header.logGuid === ZERO_GUID) return false;
  const { logOffset, logLength } = header;
  if (logLength === 0) return false;
  // Unreadable or oversized log with a live LogGuid: refuse rather than read possibly stale data.
  if (logLength > MAX_SCANNED_LOG || logOffset + logLength > file.size || logOffset % ENTRY_ALIGN !== 0) return true;
  const log = await file.read(logOffset, logLength);
  for (let at = 0; at + 64 <= log.length; at += ENTRY_ALIGN) {
    if (!startsWith(log, 'loge', at)) continue;
    if (formatGuid(log, at + 32) !== header.logGuid) continue;
    const entryLength = u32le(log, at + 8);
    if (entryLength < ENTRY_ALIGN || entryLength % ENTRY_ALIGN !== 0 || at + entryLength > log.length) continue;
    const entry = Uint8Array.from(log.subarray(at, at + entryLength));
    const stored = u32le(entry, 4);
    entry.fill(0, 4, 8);
    if (crc32c(entry) === stored) return true;
  }
  return false;
}
