import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { makeTempDir } from '../../../test/helpers/corpus.js';
import { InputError } from '../../errors.js';
import { runTool } from '../../util/exec.js';
import { encodeUnattendPassword, type GenerateUnattendOptions, generateUnattend } from './generate.js';
import { findComponent, findPass, textOf, UNATTEND_PASSES, type UnattendComponent, type UnattendDocument, type UnattendElement, type UnattendNode } from './model.js';
import { parseUnattend } from './parse.js';
import { summarizeUnattend } from './summary.js';
import { validateUnattend } from './validate.js';
import { writeUnattend } from './write.js';

// Where Microsoft's "Unattended Windows Setup Reference" allows each top-level setting we write
// ("Applicable configuration passes" on each setting's page), keyed component → setting.
const PLACEMENT: Record<string, Record<string, string[]>> = {
  'Microsoft-Windows-International-Core-WinPE': {
    SetupUILanguage: ['windowsPE'],
    InputLocale: ['windowsPE'],
    SystemLocale: ['windowsPE'],
    UILanguage: ['windowsPE'],
    UILanguageFallback: ['windowsPE'],
    UserLocale: ['windowsPE'],
  },
  'Microsoft-Windows-International-Core': {
    InputLocale: ['specialize', 'oobeSystem'],
    SystemLocale: ['specialize', 'oobeSystem'],
    UILanguage: ['specialize', 'oobeSystem'],
    UILanguageFallback: ['specialize', 'oobeSystem'],
    UserLocale: ['specialize', 'oobeSystem'],
  },
  'Microsoft-Windows-Setup': {
    DiskConfiguration: ['windowsPE'],
    ImageInstall: ['windowsPE'],
    RunSynchronous: ['windowsPE'],
    UseConfigurationSet: ['windowsPE'],
    UserData: ['windowsPE'],
  },
  'Microsoft-Windows-PnpCustomizationsWinPE': { DriverPaths: ['windowsPE'] },
  'Microsoft-Windows-PnpCustomizationsNonWinPE': { DriverPaths: ['offlineServicing', 'auditSystem'] },
  'Microsoft-Windows-CodeIntegrity': { SkuPolicyRequired: ['offlineServicing'] },
  'Microsoft-Windows-Deployment': { RunSynchronous: ['specialize', 'auditUser'] },
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

// ---- The option matrix: architectures × disk layouts × edition choices × accounts × scripts ----

const ARCHITECTURES = ['amd64', 'arm64', 'x86'] as const;
const DISKS: (GenerateUnattendOptions['disk'] | undefined)[] = [
  undefined,
  { mode: 'interactive' },
  { mode: 'wipe-gpt' },
  { mode: 'wipe-gpt', diskId: 1, recovery: true, efiSizeMb: 260 },
  { mode: 'wipe-gpt', recovery: { sizeMb: 2048 }, windowsSizeMb: 120000 },
  { mode: 'wipe-mbr', windowsSizeMb: 80000 },
  { mode: 'wipe-mbr', recovery: true },
];
const EDITIONS: Pick<GenerateUnattendOptions, 'edition' | 'productKey' | 'compactOs'>[] = [
  {},
  { edition: { genericKeyFor: 'pro' } },
  { edition: { genericKeyFor: 'enterprise-n-ltsc' }, compactOs: true },
  { edition: { productKey: 'VK7JG-NPHTM-C97JM-9MPGT-3V66T' } },
  { edition: { imageIndex: 6 }, productKey: 'VK7JG-NPHTM-C97JM-9MPGT-3V66T' },
  { edition: { imageName: 'Windows 11 Pro' }, compactOs: false },
  { edition: { interactive: true } },
];
const ACCOUNT_SETS: Pick<GenerateUnattendOptions, 'accounts' | 'autoLogon' | 'administrator' | 'skipOobe' | 'oobe' | 'computerName'>[] = [
  {},
  { accounts: [{ name: 'anna', password: 'Pa$$w0rd' }], autoLogon: { username: 'anna', count: 3 }, skipOobe: true, computerName: { random: true } },
  {
    accounts: [
      { name: 'anna', password: 'ünïcödé €', group: ['Administrators', 'Remote Desktop Users'], forcePasswordChange: true },
      { name: 'kid', group: 'Users', displayName: 'Kid', description: 'child account' },
    ],
    administrator: { enabled: true, password: 'r00t!' },
    autoLogon: { username: 'Administrator', count: 1 },
    oobe: { hideEula: true, hideLocalAccountScreen: true, protectYourPC: 1, bypassNRO: true },
    computerName: { pattern: 'PC-####' },
  },
];
const SCRIPT_SETS: Pick<
  GenerateUnattendOptions,
  'scripts' | 'specializeCommands' | 'firstLogonCommands' | 'packages' | 'servicingPackages' | 'driverPaths' | 'sMode' | 'deviceEncryption'
>[] = [
  {},
  {
    scripts: {
      system: [{ name: 'tweaks.ps1', language: 'ps1', content: 'Set-ItemProperty -Path HKLM:\\SOFTWARE\\X -Name A -Value 1\r\n' }],
      defaultUser: [{ name: 'user.reg', language: 'reg', content: 'Windows Registry Editor Version 5.00\n\n[HKEY_USERS\\DefaultUser\\Software\\X]\n"A"=dword:00000001\n' }],
      firstLogon: [{ name: 'hello.cmd', language: 'cmd', content: '@echo off\necho hello & echo <done>' }],
      everyNewUser: [{ name: 'each.ps1', language: 'ps1', content: 'Write-Output $env:USERNAME' }],
    },
    specializeCommands: [{ commandLine: 'cmd.exe /c echo specialize', description: 'from a step' }],
    packages: ['C:\\Windows\\Setup\\Packages\\kb1.msu'],
    servicingPackages: [{ path: 'D:\\lp\\de-de.cab', identity: { name: 'Microsoft-Windows-Client-LanguagePack-Package', version: '10.0.26100.1', language: 'de-DE' } }],
    driverPaths: { windowsPE: ['D:\\Drivers\\Storage'], offlineServicing: ['D:\\Drivers\\Net', 'D:\\Drivers\\Gpu'] },
    sMode: false,
    deviceEncryption: false,
  },
];

function buildMatrix(): GenerateUnattendOptions[] {
  const out: GenerateUnattendOptions[] = [];
  for (const architecture of ARCHITECTURES)
    for (const disk of DISKS) {
      if (disk?.mode === 'wipe-mbr' && architecture === 'arm64') continue;
      for (const edition of EDITIONS)
        for (const accounts of ACCOUNT_SETS)
          for (const scripts of SCRIPT_SETS)
            out.push({ architecture, ...(disk ? { disk } : {}), ...edition, ...accounts, ...scripts, languages: { uiLanguage: 'de-DE', fallback: 'en-US' } });
    }
  return out;
}

function allElements(nodes: readonly (UnattendNode | UnattendComponent | UnattendDocument['children'][number])[]): UnattendElement[] {
  const out: UnattendElement[] = [];
  for (const n of nodes) {
    if (n.kind === 'element') out.push(n);
    if (n.kind === 'element' || n.kind === 'component' || n.kind === 'settings') out.push(...allElements(n.children));
  }
  return out;
}

/** Every list whose items carry <Order> is numbered 1..N in document order; every keyed list "1".."N". */
function checkSequences(doc: UnattendDocument, label: string): void {
  for (const parent of allElements(doc.children)) {
    const items = parent.children.filter((c): c is UnattendElement => c.kind === 'element');
    const ordered = items.filter((c) => child(c, 'Order'));
    if (ordered.length > 0)
      assert.deepEqual(
        ordered.map((c) => textOf(child(c, 'Order') as UnattendElement)),
        ordered.map((_, i) => String(i + 1)),
        `${label}: ${parent.localName} Order`,
      );
    const keyed = items.filter((c) => c.keyValue !== undefined);
    if (keyed.length > 0)
      assert.deepEqual(
        keyed.map((c) => c.keyValue),
        keyed.map((_, i) => String(i + 1)),
        `${label}: ${parent.localName} wcm:keyValue`,
      );
    for (const item of items) if (item.keyValue !== undefined || ordered.includes(item)) assert.equal(item.action, 'add', `${label}: ${item.localName} is a list item`);
  }
}

function decodePassword(value: string, suffix: string): string {
  const text = Buffer.from(value, 'base64').toString('utf16le');
  assert.ok(text.endsWith(suffix), `encoded password ends with ${suffix}`);
  return text.slice(0, -suffix.length);
}

describe('generateUnattend over the option matrix', () => {
  const matrix = buildMatrix();

  test('covers every architecture, disk mode, edition choice, account set and script set', () => {
    assert.equal(matrix.length, (ARCHITECTURES.length * DISKS.length - 2) * EDITIONS.length * ACCOUNT_SETS.length * SCRIPT_SETS.length);
  });

  test('every file starts without a BOM, and xmllint (libxml2) accepts all of them', async () => {
    const temp = await makeTempDir();
    try {
      const files: string[] = [];
      for (const [i, options] of matrix.entries()) {
        const bytes = writeUnattend(generateUnattend(options));
        assert.deepEqual([...bytes.subarray(0, 5)], [...Buffer.from('<?xml')], `case ${i}: no byte-order mark (Windows 11 24H2 rejects one)`);
        assert.equal(Buffer.from(bytes).toString('utf8').includes('\r'), false, `case ${i}: LF line ends only`);
        const file = join(temp.path, `case-${i}.xml`);
        await writeFile(file, bytes);
        files.push(file);
      }
      for (let i = 0; i < files.length; i += 100) await runTool('xmllint', ['--noout', ...files.slice(i, i + 100)]);
      // The independent parser sees the same passes we wrote, windowsPE among them whenever we have one.
      for (const i of [0, 57, files.length - 1]) {
        const doc = generateUnattend(matrix[i]);
        const passes = (await runTool('xmllint', ['--xpath', "/*[local-name()='unattend']/*[local-name()='settings']/@pass", files[i]])).stdout;
        assert.deepEqual(
          [...passes.matchAll(/pass="([^"]+)"/g)].map((m) => m[1]),
          doc.children.flatMap((c) => (c.kind === 'settings' ? [c.pass] : [])),
          `case ${i}: passes seen by xmllint`,
        );
      }
    } finally {
      await temp.cleanup();
    }
  });

  test('places every setting where the reference allows it and reads back unchanged', () => {
    for (const [i, options] of matrix.entries()) {
      const doc = generateUnattend(options);
      for (const { pass, component } of settingsOf(doc)) {
        assert.equal(component.processorArchitecture, options.architecture, `case ${i}`);
        const table = PLACEMENT[component.name];
        assert.ok(table, `case ${i}: ${component.name} is in the placement table`);
        for (const setting of component.children) {
          assert.ok(setting.kind === 'element');
          assert.ok(table[setting.localName]?.includes(pass), `case ${i}: ${pass}/${component.name}/${setting.localName}`);
        }
      }
      const bytes = writeUnattend(doc);
      assert.deepEqual(parseUnattend(bytes), doc, `case ${i}: parse(write(doc))`);
      // The component table of validate.ts, written independently from the same reference.
      const findings = validateUnattend(bytes, { target: options.architecture === 'x86' ? 'win10' : 'win11' }).filter((f) => f.severity !== 'info');
      assert.deepEqual(findings, [], `case ${i}: validateUnattend`);
    }
  });

  test('is deterministic: the same options give the same bytes', () => {
    for (const options of matrix.filter((_, i) => i % 7 === 0)) {
      const copy = structuredClone(options);
      assert.deepEqual(writeUnattend(generateUnattend(options)), writeUnattend(generateUnattend(copy)));
    }
  });

  test('numbers Order 1..N and wcm:keyValue 1..N in every list', () => {
    for (const [i, options] of matrix.entries()) checkSequences(generateUnattend(options), `case ${i}`);
  });

  test('orders the root as servicing, the passes in Setup order, then our Extensions', () => {
    for (const options of matrix) {
      const doc = generateUnattend(options);
      const kinds = doc.children.map((c) => (c.kind === 'settings' ? c.pass : c.kind === 'element' ? c.localName : c.kind));
      const passes = kinds.filter((k) => k !== 'servicing' && k !== 'Extensions');
      assert.deepEqual(
        passes,
        [...passes].sort((a, b) => UNATTEND_PASSES.indexOf(a as never) - UNATTEND_PASSES.indexOf(b as never)),
      );
      if (kinds.includes('servicing')) assert.equal(kinds[0], 'servicing');
      if (kinds.includes('Extensions')) assert.equal(kinds.at(-1), 'Extensions');
    }
  });

  test('has a windowsPE pass whenever something must be read from the media root', () => {
    for (const [i, options] of matrix.entries()) {
      const doc = generateUnattend(options);
      const needsRoot = doc.children.some((c) => (c.kind === 'settings' && c.pass === 'offlineServicing') || (c.kind === 'element' && c.localName === 'servicing'));
      if (needsRoot || options.disk?.mode?.startsWith('wipe') || options.edition || options.compactOs !== undefined)
        assert.ok(findPass(doc, 'windowsPE'), `case ${i}: windowsPE pass present`);
    }
    // Only offlineServicing settings: Setup needs the marker pass (KB939289, Rufus issue #1981).
    const marker = generateUnattend({ architecture: 'amd64', sMode: false });
    assert.equal(textOf(child(findComponent(marker, 'windowsPE', 'Microsoft-Windows-Setup'), 'UseConfigurationSet') as UnattendElement), 'false');
    // Only specialize/oobeSystem settings: no windowsPE pass, so the file can go to $OEM$\$$\Panther.
    assert.equal(findPass(generateUnattend({ architecture: 'amd64', timeZone: 'UTC', skipOobe: true }), 'windowsPE'), undefined);
  });

  test('hidden passwords decode back to what was given', () => {
    for (const options of matrix.filter((o) => o.accounts?.length)) {
      const shell = findComponent(generateUnattend(options), 'oobeSystem', 'Microsoft-Windows-Shell-Setup');
      const accounts = child(shell, 'UserAccounts/LocalAccounts')?.children as UnattendElement[];
      for (const [j, account] of accounts.entries()) {
        assert.equal(textOf(child(account, 'Password/PlainText') as UnattendElement), 'false');
        assert.equal(decodePassword(textOf(child(account, 'Password/Value') as UnattendElement), 'Password'), options.accounts?.[j].password ?? '');
      }
      if (options.administrator?.password !== undefined) {
        const admin = textOf(child(shell, 'UserAccounts/AdministratorPassword/Value') as UnattendElement);
        assert.equal(decodePassword(admin, 'AdministratorPassword'), options.administrator.password);
        assert.equal(decodePassword(textOf(child(shell, 'AutoLogon/Password/Value') as UnattendElement), 'Password'), options.administrator.password);
      }
    }
  });
});

describe('generateUnattend settings', () => {
  test("generic keys come from Microsoft's KMS client key table; interactive asks with the all-zero key", () => {
    const key = (options: GenerateUnattendOptions) => {
      const setup = findComponent(generateUnattend(options), 'windowsPE', 'Microsoft-Windows-Setup');
      return [textOf(child(setup, 'UserData/ProductKey/Key') as UnattendElement), textOf(child(setup, 'UserData/ProductKey/WillShowUI') as UnattendElement)];
    };
    assert.deepEqual(key({ architecture: 'amd64', edition: { genericKeyFor: 'pro' } }), ['W269N-WFGWX-YVC9B-4J6C9-T83GX', 'OnError']);
    assert.deepEqual(key({ architecture: 'amd64', edition: { genericKeyFor: 'education' } }), ['NW6C2-QMPVW-D7KKK-3GKT6-VCFB2', 'OnError']);
    assert.deepEqual(key({ architecture: 'amd64', edition: { interactive: true } }), ['00000-00000-00000-00000-00000', 'Always']);
    assert.deepEqual(key({ architecture: 'amd64', productKey: 'VK7JG-NPHTM-C97JM-9MPGT-3V66T' }), ['VK7JG-NPHTM-C97JM-9MPGT-3V66T', 'OnError']);
  });

  test('selects an image by index or name with InstallFrom/MetaData and compacts the OS when asked', () => {
    const osImage = (options: GenerateUnattendOptions) => child(findComponent(generateUnattend(options), 'windowsPE', 'Microsoft-Windows-Setup'), 'ImageInstall/OSImage');
    const byIndex = osImage({ architecture: 'x86', edition: { imageIndex: 4 }, compactOs: true });
    const meta = child(byIndex, 'InstallFrom/MetaData');
    assert.equal(meta?.action, 'add');
    assert.deepEqual([textOf(child(meta, 'Key') as UnattendElement), textOf(child(meta, 'Value') as UnattendElement)], ['/IMAGE/INDEX', '4']);
    assert.equal(textOf(child(byIndex, 'Compact') as UnattendElement), 'true');
    const byName = child(osImage({ architecture: 'amd64', edition: { imageName: 'Windows 11 Education' } }), 'InstallFrom/MetaData');
    assert.deepEqual([textOf(child(byName, 'Key') as UnattendElement), textOf(child(byName, 'Value') as UnattendElement)], ['/IMAGE/NAME', 'Windows 11 Education']);
  });

  test('puts driver folders in PnpCustomizationsWinPE (windowsPE) and PnpCustomizationsNonWinPE (offlineServicing)', () => {
    const doc = generateUnattend({ architecture: 'arm64', driverPaths: { windowsPE: ['D:\\pe'], offlineServicing: ['D:\\a', 'D:\\b'] } });
    const paths = (pass: string, name: string) =>
      (child(findComponent(doc, pass, name), 'DriverPaths')?.children as UnattendElement[]).map((p) => [p.keyValue, textOf(child(p, 'Path') as UnattendElement)]);
    assert.deepEqual(paths('windowsPE', 'Microsoft-Windows-PnpCustomizationsWinPE'), [['1', 'D:\\pe']]);
    assert.deepEqual(paths('offlineServicing', 'Microsoft-Windows-PnpCustomizationsNonWinPE'), [
      ['1', 'D:\\a'],
      ['2', 'D:\\b'],
    ]);
  });

  test('writes packages with an identity into <servicing> and installs bare paths with DISM in specialize', () => {
    const doc = generateUnattend({
      architecture: 'arm64',
      packages: ['C:\\Windows\\Setup\\Packages\\kb.msu'],
      servicingPackages: [{ path: 'D:\\lp.cab', identity: { name: 'Microsoft-Windows-Client-LanguagePack-Package', version: '10.0.26100.1', language: 'fr-FR' } }],
    });
    const servicing = doc.children[0] as UnattendElement;
    assert.equal(servicing.localName, 'servicing');
    const pkg = servicing.children[0] as UnattendElement;
    assert.deepEqual(pkg.attributes, [{ localName: 'action', value: 'install' }]);
    assert.deepEqual(Object.fromEntries((child(pkg, 'assemblyIdentity') as UnattendElement).attributes.map((a) => [a.localName, a.value])), {
      name: 'Microsoft-Windows-Client-LanguagePack-Package',
      version: '10.0.26100.1',
      processorArchitecture: 'arm64',
      publicKeyToken: '31bf3856ad364e35',
      language: 'fr-FR',
    });
    assert.deepEqual((child(pkg, 'source') as UnattendElement).attributes, [{ localName: 'location', value: 'D:\\lp.cab' }]);
    const commands = (child(findComponent(doc, 'specialize', 'Microsoft-Windows-Deployment'), 'RunSynchronous')?.children as UnattendElement[]).map((c) =>
      textOf(child(c, 'Path') as UnattendElement),
    );
    assert.deepEqual(commands, ['dism.exe /Online /Add-Package /PackagePath:"C:\\Windows\\Setup\\Packages\\kb.msu" /NoRestart /Quiet']);
    assert.ok(findPass(doc, 'windowsPE'), 'servicing needs a windowsPE or offlineServicing pass (KB939289)');
  });

  test('BypassNRO, device encryption and the built-in Administrator are specialize commands; S mode is offlineServicing', () => {
    const doc = generateUnattend({ architecture: 'amd64', oobe: { bypassNRO: true }, deviceEncryption: false, administrator: { enabled: true }, sMode: false });
    const commands = (child(findComponent(doc, 'specialize', 'Microsoft-Windows-Deployment'), 'RunSynchronous')?.children as UnattendElement[]).map((c) => ({
      path: textOf(child(c, 'Path') as UnattendElement),
      description: textOf(child(c, 'Description') as UnattendElement),
    }));
    const nro = commands.find((c) => c.path.includes('BypassNRO'));
    assert.equal(nro?.path, 'reg.exe add "HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\OOBE" /v BypassNRO /t REG_DWORD /d 1 /f');
    assert.match(nro?.description ?? '', /only while the PC is offline/, 'the trap is spelled out in the answer file');
    assert.ok(commands.some((c) => c.path === 'reg.exe add "HKLM\\SYSTEM\\CurrentControlSet\\Control\\BitLocker" /v PreventDeviceEncryption /t REG_DWORD /d 1 /f'));
    assert.ok(commands.some((c) => c.path.includes("'S-1-5-21-*-500'") && c.path.includes('Enable-LocalUser')));
    assert.equal(textOf(child(findComponent(doc, 'offlineServicing', 'Microsoft-Windows-CodeIntegrity'), 'SkuPolicyRequired') as UnattendElement), '0');
    // No BypassNRO unless asked: skipOobe alone hides pages but does not touch the network check.
    assert.equal(findComponent(generateUnattend({ architecture: 'amd64', skipOobe: true }), 'specialize', 'Microsoft-Windows-Deployment'), undefined);
  });

  test('computer names: fixed, random (*) and a pattern renamed at first logon', () => {
    const name = (computerName: GenerateUnattendOptions['computerName']) =>
      child(findComponent(generateUnattend({ architecture: 'amd64', computerName }), 'specialize', 'Microsoft-Windows-Shell-Setup'), 'ComputerName');
    assert.equal(textOf(name('LAB-7') as UnattendElement), 'LAB-7');
    assert.equal(textOf(name({ random: true }) as UnattendElement), '*');
    assert.equal(name({ pattern: 'PC-####' }), undefined);
    const first = child(
      findComponent(generateUnattend({ architecture: 'amd64', computerName: { pattern: 'PC-##??' } }), 'oobeSystem', 'Microsoft-Windows-Shell-Setup'),
      'FirstLogonCommands',
    );
    const line = textOf(child(first?.children[0] as UnattendElement, 'CommandLine') as UnattendElement);
    assert.match(line, /'PC-##\?\?'\.ToCharArray\(\)/);
    assert.match(line, /Rename-Computer -NewName \$n -Force/);
    assert.match(line, /\*>> 'C:\\Windows\\Setup\\Scripts\\DeployForge-ComputerName\.log'/);
  });

  test('groups, forced password changes and an explicit OOBE block', () => {
    const doc = generateUnattend({
      architecture: 'amd64',
      accounts: [{ name: 'ops', group: ['Users', 'Remote Desktop Users'], forcePasswordChange: true }],
      skipOobe: true,
      oobe: { protectYourPC: 2, hideWirelessSetup: false },
    });
    const shell = findComponent(doc, 'oobeSystem', 'Microsoft-Windows-Shell-Setup');
    assert.equal(textOf(child(shell, 'UserAccounts/LocalAccounts/LocalAccount/Group') as UnattendElement), 'Users;Remote Desktop Users');
    assert.equal(textOf(child(shell, 'FirstLogonCommands/SynchronousCommand/CommandLine') as UnattendElement), 'net.exe user "ops" /logonpasswordchg:yes');
    const oobe = Object.fromEntries((child(shell, 'OOBE')?.children as UnattendElement[]).map((e) => [e.localName, textOf(e)]));
    assert.equal(oobe.ProtectYourPC, '2');
    assert.equal(oobe.HideWirelessSetupInOOBE, 'false');
    assert.equal(oobe.HideEULAPage, 'true');
  });

  test('rejects conflicting or impossible combinations, naming each', () => {
    const problems = (options: GenerateUnattendOptions) => {
      try {
        generateUnattend(options);
        return [];
      } catch (e) {
        assert.ok(e instanceof InputError && e.code === 'DF_UNATTEND_BAD_OPTION');
        return e.details.problems as string[];
      }
    };
    assert.match(problems({ architecture: 'arm64', disk: { mode: 'wipe-mbr' } }).join(), /wipe-mbr cannot boot arm64/);
    assert.match(problems({ architecture: 'amd64', productKey: 'VK7JG-NPHTM-C97JM-9MPGT-3V66T', edition: { genericKeyFor: 'pro' } }).join(), /product key once/);
    assert.match(problems({ architecture: 'amd64', oobe: { hideLocalAccountScreen: true } }).join(), /hideLocalAccountScreen needs an account/);
    assert.match(problems({ architecture: 'amd64', autoLogon: { username: 'Administrator', count: 1 } }).join(), /not one of the accounts/);
    assert.deepEqual(problems({ architecture: 'amd64', administrator: { enabled: true }, autoLogon: { username: 'Administrator', count: 1 } }), []);
    assert.match(problems({ architecture: 'amd64', computerName: { pattern: '####' } }).join(), /pattern/);
    assert.match(problems({ architecture: 'amd64', specializeCommands: [{ commandLine: 'x'.repeat(260) }] }).join(), /259/);
    assert.match(problems({ architecture: 'amd64', packages: ['C:\\a "b".cab'] }).join(), /packages\[0\]/);
  });
});
