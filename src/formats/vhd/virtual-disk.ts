// The one entry point for virtual disk images: sniffs VHDX ("vhdxfile" at 0) or VHD ("conectix"
// footer at the end, or its copy at 0) and hands over to the format reader. It does not probe raw
// images or other formats (VMDK, QCOW2): those are a DF_VDISK_UNKNOWN_FORMAT error.
import { FormatError } from '../../errors.js';
import type { ByteSource } from '../../util/byte-source.js';
import type { OpenVirtualDiskOptions, VirtualDisk } from './types.js';
import { openVhd } from './vhd.js';
import { isVhdFooter } from './vhd-footer.js';
import { looksLikeVhdx, openVhdx } from './vhdx.js';

export async function openVirtualDisk(source: ByteSource, options: OpenVirtualDiskOptions = {}): Promise<VirtualDisk> {
  const head = await source.read(0, Math.min(512, source.size));
  if (looksLikeVhdx(head)) return openVhdx(source, options);
  const tail = source.size >= 512 ? await source.read(source.size - 512, 512) : new Uint8Array(0);
  if (isVhdFooter(tail) || isVhdFooter(head)) return openVhd(source, options);
  throw new FormatError('DF_VDISK_UNKNOWN_FORMAT', `${source.name}: neither a VHDX identifier nor a VHD footer was found; only VHD and VHDX images are supported`, {});
}
