import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { makeTempDir } from '../../../test/helpers/corpus.js';
import { InputError } from '../../errors.js';
import { runTool } from '../../util/exec.js';
import { encodeUnattendPassword, type GenerateUnattendOptions, generateUnattend } from './generate.js';
import { findComponent, textOf, type UnattendComponent, type UnattendDocument, type UnattendElement } from './model.js';
import { parseUnattend } from './parse.js';
import { summarizeUnattend } from './summary.js';
import { writeUnattend } from './write.js';

// Where Microsoft's "Unattended Windows Setup Reference" allows each top-level setting we write
// ("Applicable configuration passes" on each setting's page), keyed component → setting.
const PLACEMENT: Record<string, Record<string, string[]>> = {
  'Microsoft-Windows-International-Core-WinPE': {
    SetupUILanguage: ['windowsPE'],
    InputLocale: ['windowsPE'],
    SystemLocale: ['windowsPE'],
    UILanguage: ['windowsPE'],
    UserLocale: ['windowsPE'],
  },
  'Microsoft-Windows-International-Core': {
    InputLocale: ['specialize', 'oobeSystem'],
    SystemLocale: ['specialize', 'oobeSystem'],
    UILanguage: ['specialize', 'oobeSystem'],
    UserLocale: ['specialize', 'oobeSystem'],
  },
  'Microsoft-Windows-Setup': {
    DiskConfiguration: ['windowsPE'],
    ImageInstall: ['windowsPE'],
    RunSynchronous: ['windowsPE'],
    UserData: ['windowsPE'],
  },
  'Microsoft-Windows-Shell-Setup': {
    ComputerName: ['offlineServicing', 'specialize'],
    TimeZone: ['specialize', 'oobeSystem'],
    AutoLogon: ['auditSystem', 'oobeSystem', 'specialize'],
    FirstLogonCommands: ['oobeSystem'],
    OOBE: ['oobeSystem'],
    UserAccounts: ['auditSystem', 'oobeSystem'],
  },
};

const FULL: GenerateUnattendOptions = {
  architecture: 'amd64',
  languages: { uiLanguage: 'de-DE', inputLocale: '0407:00000407', userLocale: 'de-CH' },
  timeZone: 'W. Europe Standard Time',
  productKey: 'VK7JG-NPHTM-C97JM-9MPGT-3V66T',
  acceptEula: true,
  disk: { mode: 'wipe-gpt', diskId: 0 },
  bypassRequirements: true,
  accounts: [
    { name: 'anna', password: 'Pa$$w0rd', group: 'Administrators' },
    { name: 'kid', password: '', group: 'Users', displayName: 'Kid' },
  ],
  autoLogon: { username: 'anna', count: 2 },
  skipOobe: true,
  computerName: 'DESK-01',
  firstLogonCommands: [{ commandLine: 'cmd /c echo hi > C:\\Windows\\Setup\\Scripts\\first.log', description: 'log' }],
};

const MATRIX: GenerateUnattendOptions[] = [
  FULL,
  { architecture: 'arm64' },
  { architecture: 'x86', disk: { mode: 'interactive' }, languages: { uiLanguage: 'en-US' } },
  { architecture: 'arm64', bypassRequirements: { tpm: true, cpu: true }, accounts: [{ name: 'ops' }], skipOobe: true },
];

function child(parent: UnattendComponent | UnattendElement | undefined, path: string): UnattendElement | undefined {
  let node: UnattendComponent | UnattendElement | undefined = parent;
  for (const name of path.split('/')) node = node?.children.find((c): c is UnattendElement => c.kind === 'element' && c.localName === name);
  return node as UnattendElement | undefined;
}

function settingsOf(doc: UnattendDocument): { pass: string; component: UnattendComponent }[] {
  return doc.children.flatMap((s) =>
    s.kind === 'settings' ? s.children.filter((c): c is UnattendComponent => c.kind === 'component').map((component) => ({ pass: s.pass, component })) : [],
  );
}

describe('generateUnattend', () => {
  test('writes files xmllint accepts, without a BOM, that summarizeUnattend reads without warnings', async () => {
    const temp = await makeTempDir();
    try {
      for (const [i, options] of MATRIX.entries()) {
        const bytes = writeUnattend(generateUnattend(options));
        assert.deepEqual([...bytes.subarray(0, 5)], [...Buffer.from('<?xml')], `case ${i}: no BOM`);
        const file = join(temp.path, `case-${i}.xml`);
        await writeFile(file, bytes);
        await runTool('xmllint', ['--noout', file]);
        const summary = summarizeUnattend(bytes);
        assert.deepEqual(summary.warnings, [], `case ${i}`);
        assert.equal(summary.byteOrderMark, false);
        assert.deepEqual(parseUnattend(bytes), generateUnattend(options), `case ${i}: reads back`);
      }
    } finally {
      await temp.cleanup();
    }
  });

  test('places every component and setting in a pass where Microsoft documents it', () => {
    for (const options of MATRIX) {
      for (const { pass, component } of settingsOf(generateUnattend(options))) {
        assert.equal(component.processorArchitecture, options.architecture);
        assert.equal(component.publicKeyToken, '31bf3856ad364e35');
        assert.equal(component.language, 'neutral');
        assert.equal(component.versionScope, 'nonSxS');
        const table = PLACEMENT[component.name];
        assert.ok(table, `${component.name} is in the placement table`);
        for (const setting of component.children) {
          assert.ok(setting.kind === 'element');
          assert.ok(table[setting.localName]?.includes(pass), `${pass}/${component.name}/${setting.localName}`);
        }
      }
    }
  });

  test('passes come in Setup order and components sorted by name', () => {
    const doc = generateUnattend(FULL);
    assert.deepEqual(
      doc.children.map((s) => (s.kind === 'settings' ? s.pass : '')),
      ['windowsPE', 'specialize', 'oobeSystem'],
    );
    const pe = settingsOf(doc).filter((s) => s.pass === 'windowsPE');
    assert.deepEqual(
      pe.map((s) => s.component.name),
      ['Microsoft-Windows-International-Core-WinPE', 'Microsoft-Windows-Setup'],
    );
    assert.deepEqual(writeUnattend(generateUnattend(FULL)), writeUnattend(doc));
  });

  test('encodes passwords as Base64 of UTF-16LE password + element name', () => {
    // Vectors computed from the rule with Python: base64(("Pa$$w0rd" + suffix).encode("utf-16-le")).
    assert.equal(encodeUnattendPassword('Pa$$w0rd'), 'UABhACQAJAB3ADAAcgBkAFAAYQBzAHMAdwBvAHIAZAA=');
    // Same vector as DSInternals' ConvertTo-UnicodePassword -IsUnattendPassword test.
    assert.equal(encodeUnattendPassword('Pa$$w0rd', 'AdministratorPassword'), 'UABhACQAJAB3ADAAcgBkAEEAZABtAGkAbgBpAHMAdAByAGEAdABvAHIAUABhAHMAcwB3AG8AcgBkAA==');
    assert.equal(encodeUnattendPassword(''), 'UABhAHMAcwB3AG8AcgBkAA==');
    const shell = findComponent(generateUnattend(FULL), 'oobeSystem', 'Microsoft-Windows-Shell-Setup');
    const account = child(shell, 'UserAccounts/LocalAccounts/LocalAccount');
    assert.equal(account?.action, 'add');
    assert.equal(textOf(child(account, 'Password/Value') as UnattendElement), 'UABhACQAJAB3ADAAcgBkAFAAYQBzAHMAdwBvAHIAZAA=');
    assert.equal(textOf(child(account, 'Password/PlainText') as UnattendElement), 'false');
    assert.equal(textOf(child(shell, 'AutoLogon/Password/Value') as UnattendElement), 'UABhACQAJAB3ADAAcgBkAFAAYQBzAHMAdwBvAHIAZAA=');
    assert.equal(textOf(child(shell, 'AutoLogon/LogonCount') as UnattendElement), '2');
  });

  test('wipes disk 0 into EFI 300 MB FAT32 + MSR 16 MB + Windows NTFS and installs to partition 3', () => {
    const setup = findComponent(generateUnattend(FULL), 'windowsPE', 'Microsoft-Windows-Setup');
    const disk = child(setup, 'DiskConfiguration/Disk');
    assert.equal(textOf(child(disk, 'WillWipeDisk') as UnattendElement), 'true');
    const created = child(disk, 'CreatePartitions')?.children as UnattendElement[];
    assert.deepEqual(
      created.map((p) => [textOf(child(p, 'Type') as UnattendElement), child(p, 'Size') && textOf(child(p, 'Size') as UnattendElement)]),
      [
        ['EFI', '300'],
        ['MSR', '16'],
        ['Primary', undefined],
      ],
    );
    const modified = child(disk, 'ModifyPartitions')?.children as UnattendElement[];
    assert.deepEqual(
      modified.map((p) => [textOf(child(p, 'PartitionID') as UnattendElement), textOf(child(p, 'Format') as UnattendElement)]),
      [
        ['1', 'FAT32'],
        ['3', 'NTFS'],
      ],
    );
    assert.equal(textOf(child(setup, 'ImageInstall/OSImage/InstallTo/PartitionID') as UnattendElement), '3');
    const interactive = findComponent(generateUnattend({ architecture: 'x86', disk: { mode: 'interactive' } }), 'windowsPE', 'Microsoft-Windows-Setup');
    assert.equal(interactive, undefined);
  });

  test('bypasses the Windows 11 checks with LabConfig values in windowsPE RunSynchronous', () => {
    const setup = findComponent(generateUnattend(FULL), 'windowsPE', 'Microsoft-Windows-Setup');
    const paths = (child(setup, 'RunSynchronous')?.children as UnattendElement[]).map((c) => textOf(child(c, 'Path') as UnattendElement));
    assert.deepEqual(
      paths.map((p) => p.match(/\/v (\w+) \/t REG_DWORD \/d 1 \/f$/)?.[1]),
      ['BypassTPMCheck', 'BypassSecureBootCheck', 'BypassRAMCheck', 'BypassCPUCheck', 'BypassStorageCheck'],
    );
    assert.ok(paths.every((p) => p.startsWith('reg.exe add "HKLM\\SYSTEM\\Setup\\LabConfig" ')));
  });

  test('hides the OOBE pages and sets ProtectYourPC 3', () => {
    const oobe = child(findComponent(generateUnattend(FULL), 'oobeSystem', 'Microsoft-Windows-Shell-Setup'), 'OOBE');
    const values = Object.fromEntries((oobe?.children as UnattendElement[]).map((e) => [e.localName, textOf(e)]));
    assert.deepEqual(values, {
      HideEULAPage: 'true',
      HideLocalAccountScreen: 'true',
      HideOEMRegistrationScreen: 'true',
      HideOnlineAccountScreens: 'true',
      HideWirelessSetupInOOBE: 'true',
      ProtectYourPC: '3',
    });
  });

  test('rejects reserved account names, bad computer names and an unknown auto-logon user, all at once', () => {
    assert.throws(
      () => generateUnattend({ architecture: 'amd64', computerName: 'THIS-NAME-IS-TOO-LONG', accounts: [{ name: 'Administrator' }], autoLogon: { username: 'bob', count: 1 } }),
      (e: unknown) => e instanceof InputError && e.code === 'DF_UNATTEND_BAD_OPTION' && (e.details.problems as string[]).length === 3,
    );
  });
});
