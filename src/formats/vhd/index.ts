// Public entry of the virtual disk readers; other folders import from here only.
export { crc32c } from './crc32c.js';
export type { DiskType, OpenVirtualDiskOptions, ParentInfo, ParentLocator, VhdDetails, VhdxDetails, VirtualDisk } from './types.js';
export { openVirtualDisk } from './virtual-disk.js';
