// Disk layouts for the answer file: leave partitioning to the user, or wipe one disk into GPT
// (EFI + MSR + Windows [+ recovery]) or MBR (System Reserved + Windows [+ recovery]).
// Without a recovery partition the layout is Microsoft-Windows-Setup/DiskConfiguration. With one,
// the layout is a diskpart script run from windowsPE RunSynchronous, because DiskConfiguration can
// neither put a fixed-size partition after one that extends to the end of the disk nor set GPT
// attributes (ModifyPartition only has Active, Extend, Format, Label, Letter, Order, PartitionID,
// TypeID — unattend reference, "ModifyPartition"). It does not write the ImageInstall target; it
// returns it.
import { element, listItem, type UnattendElement } from './model.js';

/** What to do with the disks. */
export type UnattendDisk =
  | { mode: 'interactive' }
  | {
      mode: 'wipe-gpt';
      /** Disk number as Setup counts them; default 0. */
      diskId?: number;
      /** Add a Windows recovery (WinRE) partition after Windows; `true` = 1024 MB. */
      recovery?: boolean | { sizeMb: number };
      /** EFI system partition size; default 300 MB (FAT32 on 4Kn disks needs at least 260 MB). */
      efiSizeMb?: number;
      /** Windows partition size; default: the rest of the disk (less the recovery partition). */
      windowsSizeMb?: number;
    }
  | {
      mode: 'wipe-mbr';
      diskId?: number;
      recovery?: boolean | { sizeMb: number };
      windowsSizeMb?: number;
    };

/** GPT partition type of a Windows recovery partition (unattend reference, ModifyPartition/TypeID). */
export const RECOVERY_GPT_TYPE_ID = 'de94bba4-06d1-4d40-a16a-bfd50179d6ac';
/** GPT attributes of a recovery partition: bit 0 "required by the platform" + bit 63 "no drive letter". */
export const RECOVERY_GPT_ATTRIBUTES = '0x8000000000000001';
/** MBR partition type of a Windows recovery partition. */
export const RECOVERY_MBR_TYPE_ID = '0x27';

export const DEFAULT_EFI_SIZE_MB = 300;
export const MSR_SIZE_MB = 16;
export const SYSTEM_RESERVED_SIZE_MB = 100;
export const DEFAULT_RECOVERY_SIZE_MB = 1024;

/** Where windowsPE writes the diskpart script and its log (X: is the Windows PE RAM drive). */
export const DISKPART_SCRIPT = 'X:\\diskpart.txt';
export const DISKPART_LOG = 'X:\\diskpart.log';

/** Longest command line we put in one RunSynchronous Path (the Deployment one documents 259). */
export const MAX_RUN_SYNCHRONOUS_PATH = 259;

export interface DiskPlan {
  /** Microsoft-Windows-Setup/DiskConfiguration, when the layout is declarative. */
  diskConfiguration?: UnattendElement;
  /** windowsPE RunSynchronous commands that partition the disk, when it is scripted. */
  commands: { path: string; description: string }[];
  /** ImageInstall/OSImage/InstallTo. */
  installTo?: { diskId: number; partitionId: number };
}

export function planDisk(disk: UnattendDisk | undefined): DiskPlan {
  if (!disk || disk.mode === 'interactive') return { commands: [] };
  const diskId = disk.diskId ?? 0;
  const recoveryMb = recoverySize(disk.recovery);
  const gpt = disk.mode === 'wipe-gpt';
  const installTo = { diskId, partitionId: gpt ? 3 : 2 };
  if (recoveryMb === undefined) {
    return { diskConfiguration: element('DiskConfiguration', [gpt ? gptDisk(disk, diskId) : mbrDisk(disk, diskId)]), commands: [], installTo };
  }
  const lines = gpt ? gptScript(disk, diskId, recoveryMb) : mbrScript(disk, diskId, recoveryMb);
  return { commands: diskpartCommands(lines), installTo };
}

function recoverySize(recovery: boolean | { sizeMb: number } | undefined): number | undefined {
  if (!recovery) return undefined;
  return recovery === true ? DEFAULT_RECOVERY_SIZE_MB : recovery.sizeMb;
}

/** ESP first, then MSR, then Windows (Microsoft's UEFI/GPT order); the MSR needs no format. */
function gptDisk(disk: Extract<UnattendDisk, { mode: 'wipe-gpt' }>, diskId: number): UnattendElement {
  return listItem('Disk', [
    element('CreatePartitions', [
      listItem('CreatePartition', [element('Order', '1'), element('Size', String(disk.efiSizeMb ?? DEFAULT_EFI_SIZE_MB)), element('Type', 'EFI')]),
      listItem('CreatePartition', [element('Order', '2'), element('Size', String(MSR_SIZE_MB)), element('Type', 'MSR')]),
      listItem('CreatePartition', [...windowsExtent(disk.windowsSizeMb, 3), element('Type', 'Primary')]),
    ]),
    element('DiskID', String(diskId)),
    element('ModifyPartitions', [
      listItem('ModifyPartition', [element('Format', 'FAT32'), element('Label', 'System'), element('Order', '1'), element('PartitionID', '1')]),
      listItem('ModifyPartition', [element('Format', 'NTFS'), element('Label', 'Windows'), element('Letter', 'C'), element('Order', '2'), element('PartitionID', '3')]),
    ]),
    element('WillWipeDisk', 'true'),
  ]);
}

/** BIOS layout: an active 100 MB System Reserved partition holds the boot files, then Windows. */
function mbrDisk(disk: Extract<UnattendDisk, { mode: 'wipe-mbr' }>, diskId: number): UnattendElement {
  return listItem('Disk', [
    element('CreatePartitions', [
      listItem('CreatePartition', [element('Order', '1'), element('Size', String(SYSTEM_RESERVED_SIZE_MB)), element('Type', 'Primary')]),
      listItem('CreatePartition', [...windowsExtent(disk.windowsSizeMb, 2), element('Type', 'Primary')]),
    ]),
    element('DiskID', String(diskId)),
    element('ModifyPartitions', [
      listItem('ModifyPartition', [element('Active', 'true'), element('Format', 'NTFS'), element('Label', 'System Reserved'), element('Order', '1'), element('PartitionID', '1')]),
      listItem('ModifyPartition', [element('Format', 'NTFS'), element('Label', 'Windows'), element('Letter', 'C'), element('Order', '2'), element('PartitionID', '2')]),
    ]),
    element('WillWipeDisk', 'true'),
  ]);
}

function windowsExtent(sizeMb: number | undefined, order: number): UnattendElement[] {
  return sizeMb === undefined ? [element('Extend', 'true'), element('Order', String(order))] : [element('Order', String(order)), element('Size', String(sizeMb))];
}

/**
 * The Windows partition takes a fixed size, or the whole rest of the disk shrunk by the recovery
 * size so the recovery partition can follow it. The commands follow Microsoft's sample diskpart
 * scripts (CreatePartitions-UEFI.txt / -BIOS.txt in "Sample scripts", learn.microsoft.com/
 * windows-hardware/manufacture/desktop), which put WinRE after Windows.
 */
function windowsAndRecovery(windowsSizeMb: number | undefined, recoveryMb: number): string[] {
  return [
    windowsSizeMb === undefined ? 'create partition primary' : `create partition primary size=${windowsSizeMb}`,
    ...(windowsSizeMb === undefined ? [`shrink minimum=${recoveryMb}`] : []),
    'format quick fs=ntfs label="Windows"',
    windowsSizeMb === undefined ? 'create partition primary' : `create partition primary size=${recoveryMb}`,
    'format quick fs=ntfs label="Recovery"',
  ];
}

function gptScript(disk: Extract<UnattendDisk, { mode: 'wipe-gpt' }>, diskId: number, recoveryMb: number): string[] {
  return [
    `select disk ${diskId}`,
    'clean',
    'convert gpt',
    `create partition efi size=${disk.efiSizeMb ?? DEFAULT_EFI_SIZE_MB}`,
    'format quick fs=fat32 label="System"',
    `create partition msr size=${MSR_SIZE_MB}`,
    ...windowsAndRecovery(disk.windowsSizeMb, recoveryMb),
    `set id="${RECOVERY_GPT_TYPE_ID}"`,
    `gpt attributes=${RECOVERY_GPT_ATTRIBUTES}`,
  ];
}

function mbrScript(disk: Extract<UnattendDisk, { mode: 'wipe-mbr' }>, diskId: number, recoveryMb: number): string[] {
  return [
    `select disk ${diskId}`,
    'clean',
    'convert mbr',
    `create partition primary size=${SYSTEM_RESERVED_SIZE_MB}`,
    'format quick fs=ntfs label="System Reserved"',
    'active',
    ...windowsAndRecovery(disk.windowsSizeMb, recoveryMb),
    `set id=${RECOVERY_MBR_TYPE_ID.slice(2)}`,
  ];
}

/**
 * Windows PE has cmd but no PowerShell, so the script is written with `echo` in as few commands as
 * fit the Path length: `cmd.exe /c (echo a&echo b)>X:\diskpart.txt`, then `>>` for the rest. No line
 * holds a character cmd would interpret (& | < > ^ parentheses), which the tests check.
 */
function diskpartCommands(lines: string[]): { path: string; description: string }[] {
  const commands: { path: string; description: string }[] = [];
  let chunk: string[] = [];
  const render = (part: string[], first: boolean) => `cmd.exe /c (${part.map((l) => `echo ${l}`).join('&')})${first ? '>' : '>>'}${DISKPART_SCRIPT}`;
  const flush = () => {
    if (chunk.length === 0) return;
    commands.push({ path: render(chunk, commands.length === 0), description: 'DeployForge: write the diskpart script' });
    chunk = [];
  };
  for (const line of lines) {
    if (chunk.length > 0 && render([...chunk, line], commands.length === 0).length > MAX_RUN_SYNCHRONOUS_PATH) flush();
    chunk.push(line);
  }
  flush();
  commands.push({ path: `cmd.exe /c diskpart.exe /s ${DISKPART_SCRIPT} >>${DISKPART_LOG} 2>&1`, description: 'DeployForge: partition the disk with diskpart' });
  return commands;
}
