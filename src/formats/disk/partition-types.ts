// Human names for MBR partition type bytes and GPT partition type GUIDs, for reports and for
// recognising Windows layouts (EFI + MSR + basic data + recovery). It lists the common ids only
// and does not claim to be complete: unknown ids are named by their number or GUID.

const MBR_TYPES: Readonly<Record<number, string>> = {
  1: 'FAT12',
  4: 'FAT16 <32M',
  5: 'Extended',
  6: 'FAT16',
  7: 'NTFS/exFAT/HPFS',
  11: 'FAT32 (CHS)',
  12: 'FAT32 (LBA)',
  14: 'FAT16 (LBA)',
  15: 'Extended (LBA)',
  17: 'Hidden FAT12',
  18: 'OEM diagnostics',
  20: 'Hidden FAT16 <32M',
  22: 'Hidden FAT16',
  23: 'Hidden NTFS/exFAT',
  27: 'Hidden FAT32 (CHS)',
  28: 'Hidden FAT32 (LBA)',
  30: 'Hidden FAT16 (LBA)',
  39: 'Windows recovery environment',
  66: 'Windows dynamic disk (LDM)',
  130: 'Linux swap',
  131: 'Linux',
  133: 'Linux extended',
  142: 'Linux LVM',
  165: 'FreeBSD',
  166: 'OpenBSD',
  168: 'Darwin UFS',
  169: 'NetBSD',
  175: 'Apple HFS/HFS+',
  238: 'GPT protective',
  239: 'EFI system',
  253: 'Linux RAID autodetect',
};

/** MBR types that hold a chain of extended boot records rather than a file system. */
export const MBR_EXTENDED_TYPES: ReadonlySet<number> = new Set([0x05, 0x0f, 0x85]);

// Keys are lowercase canonical GUID text (UEFI spec 5.3.3 table 5-7 and vendor registries).
const GPT_TYPES: Readonly<Record<string, string>> = {
  'c12a7328-f81f-11d2-ba4b-00a0c93ec93b': 'EFI system',
  '024dee41-33e7-11d3-9d69-0008c781f39f': 'MBR partition scheme',
  '21686148-6449-6e6f-744e-656564454649': 'BIOS boot',
  'e3c9e316-0b5c-4db8-817d-f92df00215ae': 'Microsoft reserved',
  'ebd0a0a2-b9e5-4433-87c0-68b6b72699c7': 'Microsoft basic data',
  'de94bba4-06d1-4d40-a16a-bfd50179d6ac': 'Windows recovery environment',
  '5808c8aa-7e8f-42e0-85d2-e1e90434cfb3': 'Microsoft LDM metadata',
  'af9b60a0-1431-4f62-bc68-3311714a69ad': 'Microsoft LDM data',
  'e75caf8f-f680-4cee-afa3-b001e56efc2d': 'Microsoft Storage Spaces',
  '0fc63daf-8483-4772-8e79-3d69d8477de4': 'Linux filesystem',
  '0657fd6d-a4ab-43c4-84e5-0933c84b4f4f': 'Linux swap',
  'e6d6d379-f507-44c2-a23c-238f2a3df928': 'Linux LVM',
  'a19d880f-05fc-4d3b-a006-743f0f84911e': 'Linux RAID',
  '4f68bce3-e8cd-4db1-96e7-fbcaf984b709': 'Linux root (x86-64)',
  '933ac7e1-2eb4-4f13-b844-0e14e2aef915': 'Linux home',
  'bc13c2ff-59e6-4262-a352-b275fd6f7172': 'Linux extended boot',
  '48465300-0000-11aa-aa11-00306543ecac': 'Apple HFS/HFS+',
  '7c3457ef-0000-11aa-aa11-00306543ecac': 'Apple APFS',
};

export function mbrTypeName(type: number): string {
  return MBR_TYPES[type] ?? `Unknown (0x${type.toString(16).padStart(2, '0')})`;
}

export function gptTypeName(typeGuid: string): string {
  return GPT_TYPES[typeGuid.toLowerCase()] ?? `Unknown (${typeGuid.toLowerCase()})`;
}
