import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type GenerateUnattendOptions, generateUnattend } from './generate.js';
import { DISKPART_SCRIPT, MAX_RUN_SYNCHRONOUS_PATH, RECOVERY_GPT_ATTRIBUTES, RECOVERY_GPT_TYPE_ID } from './generate-disk.js';
import { findComponent, textOf, type UnattendComponent, type UnattendElement } from './model.js';

function child(parent: UnattendComponent | UnattendElement | undefined, path: string): UnattendElement | undefined {
  let node: UnattendComponent | UnattendElement | undefined = parent;
  for (const name of path.split('/')) node = node?.children.find((c): c is UnattendElement => c.kind === 'element' && c.localName === name);
  return node as UnattendElement | undefined;
}
const text = (e: UnattendComponent | UnattendElement | undefined, path: string) => textOf(child(e, path) as UnattendElement);

function setupOf(options: GenerateUnattendOptions): UnattendComponent | undefined {
  return findComponent(generateUnattend(options), 'windowsPE', 'Microsoft-Windows-Setup');
}

function peCommands(options: GenerateUnattendOptions): string[] {
  return ((child(setupOf(options), 'RunSynchronous')?.children ?? []) as UnattendElement[]).map((c) => text(c, 'Path'));
}

/**
 * What cmd.exe writes to X:\diskpart.txt for our `cmd.exe /c (echo a&echo b)>X:\diskpart.txt`
 * commands: `>` starts the file, `>>` appends. Refuses anything else, so a changed form fails here.
 */
function diskpartScript(commands: string[]): string[] {
  let lines: string[] | undefined;
  for (const command of commands) {
    const m = /^cmd\.exe \/c \((.*)\)(>>?)X:\\diskpart\.txt$/.exec(command);
    if (!m) continue;
    const echoed = m[1].split('&').map((part) => {
      assert.match(part, /^echo \S/, `'${part}' is an echo`);
      return part.slice('echo '.length);
    });
    lines = m[2] === '>' ? echoed : [...(lines ?? assert.fail('>> before >')), ...echoed];
  }
  return lines ?? [];
}

describe('disk layouts', () => {
  test('GPT without recovery: DiskConfiguration with the EFI and Windows sizes asked for', () => {
    const setup = setupOf({ architecture: 'arm64', disk: { mode: 'wipe-gpt', diskId: 2, efiSizeMb: 260, windowsSizeMb: 200000 } });
    const disk = child(setup, 'DiskConfiguration/Disk');
    assert.equal(disk?.action, 'add');
    assert.equal(text(disk, 'DiskID'), '2');
    const created = child(disk, 'CreatePartitions')?.children as UnattendElement[];
    assert.deepEqual(
      created.map((p) => [text(p, 'Type'), child(p, 'Size') ? text(p, 'Size') : `extend=${text(p, 'Extend')}`]),
      [
        ['EFI', '260'],
        ['MSR', '16'],
        ['Primary', '200000'],
      ],
    );
    assert.deepEqual([text(setup, 'ImageInstall/OSImage/InstallTo/DiskID'), text(setup, 'ImageInstall/OSImage/InstallTo/PartitionID')], ['2', '3']);
    assert.deepEqual(peCommands({ architecture: 'arm64', disk: { mode: 'wipe-gpt' } }), []);
  });

  test('MBR without recovery: an active 100 MB System Reserved partition, then Windows as partition 2', () => {
    const setup = setupOf({ architecture: 'x86', disk: { mode: 'wipe-mbr' } });
    const disk = child(setup, 'DiskConfiguration/Disk');
    const created = child(disk, 'CreatePartitions')?.children as UnattendElement[];
    assert.deepEqual(
      created.map((p) => [text(p, 'Type'), child(p, 'Size') ? text(p, 'Size') : `extend=${text(p, 'Extend')}`]),
      [
        ['Primary', '100'],
        ['Primary', 'extend=true'],
      ],
    );
    const modified = child(disk, 'ModifyPartitions')?.children as UnattendElement[];
    assert.deepEqual(
      modified.map((p) => [text(p, 'PartitionID'), text(p, 'Format'), text(p, 'Label'), child(p, 'Active') ? text(p, 'Active') : '']),
      [
        ['1', 'NTFS', 'System Reserved', 'true'],
        ['2', 'NTFS', 'Windows', ''],
      ],
    );
    assert.equal(text(setup, 'ImageInstall/OSImage/InstallTo/PartitionID'), '2');
  });

  test('GPT with recovery: a diskpart script puts WinRE after Windows with its type ID and GPT attributes', () => {
    const options: GenerateUnattendOptions = { architecture: 'amd64', disk: { mode: 'wipe-gpt', recovery: true }, bypassRequirements: { tpm: true } };
    const commands = peCommands(options);
    assert.match(commands[0], /LabConfig/, 'the requirement bypass still comes first');
    assert.equal(child(setupOf(options), 'DiskConfiguration'), undefined, 'DiskConfiguration would repartition after diskpart');
    assert.deepEqual(diskpartScript(commands), [
      'select disk 0',
      'clean',
      'convert gpt',
      'create partition efi size=300',
      'format quick fs=fat32 label="System"',
      'create partition msr size=16',
      'create partition primary',
      'shrink minimum=1024',
      'format quick fs=ntfs label="Windows"',
      'create partition primary',
      'format quick fs=ntfs label="Recovery"',
      `set id="${RECOVERY_GPT_TYPE_ID}"`,
      `gpt attributes=${RECOVERY_GPT_ATTRIBUTES}`,
    ]);
    assert.equal(commands.at(-1), `cmd.exe /c diskpart.exe /s ${DISKPART_SCRIPT} >>X:\\diskpart.log 2>&1`);
    assert.equal(text(setupOf(options), 'ImageInstall/OSImage/InstallTo/PartitionID'), '3');
  });

  test('fixed sizes replace the shrink; MBR recovery uses type 27 after an active system partition', () => {
    assert.deepEqual(diskpartScript(peCommands({ architecture: 'amd64', disk: { mode: 'wipe-gpt', diskId: 1, recovery: { sizeMb: 700 }, windowsSizeMb: 90000 } })).slice(6), [
      'create partition primary size=90000',
      'format quick fs=ntfs label="Windows"',
      'create partition primary size=700',
      'format quick fs=ntfs label="Recovery"',
      `set id="${RECOVERY_GPT_TYPE_ID}"`,
      `gpt attributes=${RECOVERY_GPT_ATTRIBUTES}`,
    ]);
    const mbr = diskpartScript(peCommands({ architecture: 'x86', disk: { mode: 'wipe-mbr', diskId: 3, recovery: true } }));
    assert.deepEqual(mbr.slice(0, 6), ['select disk 3', 'clean', 'convert mbr', 'create partition primary size=100', 'format quick fs=ntfs label="System Reserved"', 'active']);
    assert.equal(mbr.at(-1), 'set id=27');
    assert.equal(mbr.filter((l) => l.startsWith('create partition')).length, 3);
  });

  test('the Windows partition number Setup installs to is the one diskpart creates it as', () => {
    for (const disk of [
      { mode: 'wipe-gpt', recovery: true },
      { mode: 'wipe-mbr', recovery: true },
    ] as const) {
      const options: GenerateUnattendOptions = { architecture: 'amd64', disk };
      // diskpart numbers partitions in creation order and `format` applies to the one just made.
      let created = 0;
      let windows = 0;
      for (const line of diskpartScript(peCommands(options))) {
        if (line.startsWith('create partition')) created++;
        if (line === 'format quick fs=ntfs label="Windows"') windows = created;
      }
      assert.equal(String(windows), text(setupOf(options), 'ImageInstall/OSImage/InstallTo/PartitionID'), disk.mode);
    }
  });

  test('every scripted command fits the RunSynchronous path limit and holds no character cmd would interpret', () => {
    for (const disk of [
      { mode: 'wipe-gpt', diskId: 12, recovery: { sizeMb: 99999 }, efiSizeMb: 99999, windowsSizeMb: 9999999 },
      { mode: 'wipe-mbr', diskId: 12, recovery: { sizeMb: 99999 }, windowsSizeMb: 9999999 },
    ] as const) {
      const commands = peCommands({ architecture: 'amd64', disk });
      for (const c of commands) assert.ok(c.length <= MAX_RUN_SYNCHRONOUS_PATH, `${c.length}: ${c}`);
      for (const line of diskpartScript(commands)) assert.doesNotMatch(line, /[&|<>^()%]/, line);
    }
  });
});
