// Rewrites the 16-byte GUID of a standalone WIM's header (offset 0x18; FORMATS.md §1, wimlib's
// `struct wim_header_disk`). wimlib gives every exported WIM a random GUID, the only difference
// between two exports of the same image, so a deterministic build sets one derived from its inputs.
// The header carries no checksum and the integrity table does not cover it.
import { open } from 'node:fs/promises';
import { FormatError, InputError } from '../../errors.js';
import { HDR_FLAG_SPANNED, WIM_HEADER_SIZE, WIM_MAGIC } from './header.js';

const GUID_OFFSET = 0x18;
const FLAGS_OFFSET = 0x10;

export async function setWimGuid(path: string, guid: Uint8Array): Promise<void> {
  if (guid.length !== 16) throw new InputError('DF_WIM_GUID', `a WIM GUID is 16 bytes, not ${guid.length}`);
  const handle = await open(path, 'r+');
  try {
    const header = Buffer.alloc(WIM_HEADER_SIZE);
    const { bytesRead } = await handle.read(header, 0, WIM_HEADER_SIZE, 0);
    if (bytesRead < WIM_HEADER_SIZE || header.toString('latin1', 0, 8) !== WIM_MAGIC) throw new FormatError('DF_WIM_NOT_WIM', `${path} is not a WIM file`);
    // The parts of a split WIM share one GUID; changing one part would break the set.
    if (header.readUInt32LE(FLAGS_OFFSET) & HDR_FLAG_SPANNED) throw new InputError('DF_WIM_GUID', `${path} is part of a split WIM; set the GUID before splitting`);
    await handle.write(guid, 0, 16, GUID_OFFSET);
    await handle.sync();
  } finally {
    await handle.close();
  }
}
