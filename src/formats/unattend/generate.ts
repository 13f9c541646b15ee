// Builds an answer file from options: languages, time zone, edition by product key, disk layout,
// Windows 11 requirement bypass, local accounts, auto-logon, OOBE screens, computer name and
// first-logon commands. Each setting goes where Microsoft's unattend reference puts it (see the
// placement table in generate.test.ts). Not yet: embedded scripts (Extensions), driver paths,
// offlineServicing packages, MBR/recovery layouts, random or patterned computer names.
import { InputError } from '../../errors.js';
import {
  element,
  listItem,
  MICROSOFT_PUBLIC_KEY_TOKEN,
  UNATTEND_PASSES,
  type UnattendComponent,
  type UnattendDocument,
  type UnattendElement,
  type UnattendPass,
  type UnattendSettings,
} from './model.js';

export type UnattendArchitecture = 'amd64' | 'arm64' | 'x86';

export interface UnattendLanguages {
  /** Display language, e.g. `en-US`; also Setup's own language in windowsPE. */
  uiLanguage: string;
  /** Keyboard layouts, e.g. `en-US` or `0409:00000409`; defaults to uiLanguage. */
  inputLocale?: string;
  /** Language for non-Unicode programs; defaults to uiLanguage. */
  systemLocale?: string;
  /** Formats for dates, numbers, currency; defaults to uiLanguage. */
  userLocale?: string;
}

export interface UnattendAccount {
  name: string;
  password?: string;
  displayName?: string;
  /** Local group, `Administrators` or `Users`; defaults to `Administrators`. */
  group?: string;
  description?: string;
}

export interface GenerateUnattendOptions {
  architecture: UnattendArchitecture;
  languages?: UnattendLanguages;
  /** Windows time-zone id, e.g. `W. Europe Standard Time` (tzutil /l). */
  timeZone?: string;
  /** Product key; a generic key picks the edition from a multi-edition install.wim. */
  productKey?: string;
  /** Accept the license in Setup (windowsPE UserData/AcceptEula). */
  acceptEula?: boolean;
  /** `interactive` (Setup asks) or wipe a disk into EFI 300 MB FAT32 + MSR 16 MB + Windows NTFS. */
  disk?: { mode: 'interactive' } | { mode: 'wipe-gpt'; diskId?: number };
  /** LabConfig keys Setup checks before refusing unsupported hardware; `true` sets all five. */
  bypassRequirements?: boolean | Partial<Record<'tpm' | 'secureBoot' | 'ram' | 'cpu' | 'storage', boolean>>;
  accounts?: UnattendAccount[];
  /** Log on automatically `count` times as `username` (one of `accounts`). */
  autoLogon?: { username: string; count: number };
  /** Hide the EULA, OEM registration, Microsoft-account and wireless pages; express privacy settings. */
  skipOobe?: boolean;
  computerName?: string;
  firstLogonCommands?: { commandLine: string; description?: string; requiresUserInput?: boolean }[];
}

/** `reg add` value names under HKLM\SYSTEM\Setup\LabConfig that Windows 11 Setup honours. */
export const LAB_CONFIG_VALUES = {
  tpm: 'BypassTPMCheck',
  secureBoot: 'BypassSecureBootCheck',
  ram: 'BypassRAMCheck',
  cpu: 'BypassCPUCheck',
  storage: 'BypassStorageCheck',
} as const;

/**
 * How Windows Setup expects a "hidden" (PlainText=false) password: Base64 of the UTF-16LE bytes
 * of the password followed by the name of the element that holds it (`Password` for
 * LocalAccount and AutoLogon, `AdministratorPassword` for the built-in Administrator). This is
 * what Windows SIM writes with "Hide Sensitive Data"; it is obfuscation, not encryption.
 */
export function encodeUnattendPassword(password: string, usage: 'Password' | 'AdministratorPassword' = 'Password'): string {
  return Buffer.from(password + usage, 'utf16le').toString('base64');
}

// Names Windows reserves for built-in accounts; a LocalAccount with one of them fails in OOBE.
const RESERVED_ACCOUNT_NAMES = new Set(['administrator', 'guest', 'defaultaccount', 'wdagutilityaccount', 'system', 'none']);
// NetBIOS computer names: at most 15 characters, letters, digits and hyphens, not all digits.
const COMPUTER_NAME = /^(?!\d+$)[A-Za-z0-9-]{1,15}$/;
const ACCOUNT_NAME_FORBIDDEN = /["/\\[\]:;|=,+*?<>@]/;

export function generateUnattend(options: GenerateUnattendOptions): UnattendDocument {
  checkOptions(options);
  const arch = options.architecture;
  const passes = new Map<UnattendPass, UnattendComponent[]>();
  const add = (pass: UnattendPass, name: string, settings: UnattendElement[]) => {
    if (settings.length === 0) return;
    const list = passes.get(pass) ?? [];
    let component = list.find((c) => c.name === name);
    if (!component) {
      component = {
        kind: 'component',
        name,
        processorArchitecture: arch,
        publicKeyToken: MICROSOFT_PUBLIC_KEY_TOKEN,
        language: 'neutral',
        versionScope: 'nonSxS',
        attributes: [],
        children: [],
      };
      list.push(component);
      passes.set(pass, list);
    }
    component.children.push(...settings);
  };

  // windowsPE — International-Core-WinPE: Setup's own language and the locales of the installed system.
  const lang = options.languages;
  if (lang) {
    add('windowsPE', 'Microsoft-Windows-International-Core-WinPE', [
      element('SetupUILanguage', [element('UILanguage', lang.uiLanguage)]),
      element('InputLocale', lang.inputLocale ?? lang.uiLanguage),
      element('SystemLocale', lang.systemLocale ?? lang.uiLanguage),
      element('UILanguage', lang.uiLanguage),
      element('UserLocale', lang.userLocale ?? lang.uiLanguage),
    ]);
  }

  // windowsPE — Microsoft-Windows-Setup: disk, image target, requirement bypass, key and EULA.
  const setup: UnattendElement[] = [];
  if (options.disk?.mode === 'wipe-gpt') {
    const diskId = String(options.disk.diskId ?? 0);
    setup.push(element('DiskConfiguration', [diskWipeGpt(diskId)]));
    setup.push(
      element('ImageInstall', [
        element('OSImage', [
          element('InstallTo', [element('DiskID', diskId), element('PartitionID', '3')]),
          element('InstallToAvailablePartition', 'false'),
          element('WillShowUI', 'OnError'),
        ]),
      ]),
    );
  }
  const bypass = bypassValues(options.bypassRequirements);
  if (bypass.length > 0) {
    setup.push(
      element(
        'RunSynchronous',
        bypass.map((value, i) =>
          listItem('RunSynchronousCommand', [element('Order', String(i + 1)), element('Path', `reg.exe add "HKLM\\SYSTEM\\Setup\\LabConfig" /v ${value} /t REG_DWORD /d 1 /f`)]),
        ),
      ),
    );
  }
  const userData: UnattendElement[] = [];
  if (options.productKey !== undefined) userData.push(element('ProductKey', [element('Key', options.productKey), element('WillShowUI', 'OnError')]));
  if (options.acceptEula) userData.push(element('AcceptEula', 'true'));
  if (userData.length > 0) setup.push(element('UserData', userData));
  add('windowsPE', 'Microsoft-Windows-Setup', setup);

  // specialize — Shell-Setup: computer name and time zone are machine settings applied before OOBE.
  const specialize: UnattendElement[] = [];
  if (options.computerName) specialize.push(element('ComputerName', options.computerName));
  if (options.timeZone) specialize.push(element('TimeZone', options.timeZone));
  add('specialize', 'Microsoft-Windows-Shell-Setup', specialize);

  // oobeSystem — International-Core: the locales again, because Setup re-applies them at OOBE.
  if (lang) {
    add('oobeSystem', 'Microsoft-Windows-International-Core', [
      element('InputLocale', lang.inputLocale ?? lang.uiLanguage),
      element('SystemLocale', lang.systemLocale ?? lang.uiLanguage),
      element('UILanguage', lang.uiLanguage),
      element('UserLocale', lang.userLocale ?? lang.uiLanguage),
    ]);
  }

  // oobeSystem — Shell-Setup: accounts, auto-logon, OOBE pages, time zone, first-logon commands.
  const oobe: UnattendElement[] = [];
  if (options.autoLogon) {
    const account = options.accounts?.find((a) => a.name === options.autoLogon?.username);
    oobe.push(
      element('AutoLogon', [
        ...(account?.password !== undefined ? [passwordElement('Password', account.password)] : []),
        element('Enabled', 'true'),
        element('LogonCount', String(options.autoLogon.count)),
        element('Username', options.autoLogon.username),
      ]),
    );
  }
  if (options.firstLogonCommands?.length) {
    oobe.push(
      element(
        'FirstLogonCommands',
        options.firstLogonCommands.map((c, i) =>
          listItem('SynchronousCommand', [
            element('CommandLine', c.commandLine),
            ...(c.description ? [element('Description', c.description)] : []),
            element('Order', String(i + 1)),
            element('RequiresUserInput', c.requiresUserInput ? 'true' : 'false'),
          ]),
        ),
      ),
    );
  }
  if (options.skipOobe) {
    oobe.push(
      element('OOBE', [
        element('HideEULAPage', 'true'),
        ...(options.accounts?.length ? [element('HideLocalAccountScreen', 'true')] : []),
        element('HideOEMRegistrationScreen', 'true'),
        element('HideOnlineAccountScreens', 'true'),
        element('HideWirelessSetupInOOBE', 'true'),
        element('ProtectYourPC', '3'),
      ]),
    );
  }
  if (options.timeZone) oobe.push(element('TimeZone', options.timeZone));
  if (options.accounts?.length) {
    oobe.push(
      element('UserAccounts', [
        element(
          'LocalAccounts',
          options.accounts.map((a) =>
            listItem('LocalAccount', [
              ...(a.description ? [element('Description', a.description)] : []),
              element('DisplayName', a.displayName ?? a.name),
              element('Group', a.group ?? 'Administrators'),
              element('Name', a.name),
              passwordElement('Password', a.password ?? ''),
            ]),
          ),
        ),
      ]),
    );
  }
  add('oobeSystem', 'Microsoft-Windows-Shell-Setup', oobe);

  // Deterministic layout: passes in the order Setup runs them, components by name.
  const children: UnattendSettings[] = [];
  for (const pass of UNATTEND_PASSES) {
    const components = passes.get(pass);
    if (!components) continue;
    components.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    children.push({ kind: 'settings', pass, attributes: [], children: components });
  }
  return { prolog: [], attributes: [], children };
}

function passwordElement(name: 'Password' | 'AdministratorPassword', password: string): UnattendElement {
  return element(name, [element('Value', encodeUnattendPassword(password, name)), element('PlainText', 'false')]);
}

/**
 * Wipe `diskId` and create the GPT layout Microsoft recommends for UEFI (ESP first, then MSR,
 * then Windows taking the rest); the MSR needs no format, so only partitions 1 and 3 are modified.
 */
function diskWipeGpt(diskId: string): UnattendElement {
  return listItem('Disk', [
    element('CreatePartitions', [
      listItem('CreatePartition', [element('Order', '1'), element('Size', '300'), element('Type', 'EFI')]),
      listItem('CreatePartition', [element('Order', '2'), element('Size', '16'), element('Type', 'MSR')]),
      listItem('CreatePartition', [element('Extend', 'true'), element('Order', '3'), element('Type', 'Primary')]),
    ]),
    element('DiskID', diskId),
    element('ModifyPartitions', [
      listItem('ModifyPartition', [element('Format', 'FAT32'), element('Label', 'System'), element('Order', '1'), element('PartitionID', '1')]),
      listItem('ModifyPartition', [element('Format', 'NTFS'), element('Label', 'Windows'), element('Letter', 'C'), element('Order', '2'), element('PartitionID', '3')]),
    ]),
    element('WillWipeDisk', 'true'),
  ]);
}

function bypassValues(option: GenerateUnattendOptions['bypassRequirements']): string[] {
  if (!option) return [];
  const keys = Object.keys(LAB_CONFIG_VALUES) as (keyof typeof LAB_CONFIG_VALUES)[];
  return keys.filter((k) => option === true || option[k]).map((k) => LAB_CONFIG_VALUES[k]);
}

function checkOptions(options: GenerateUnattendOptions): void {
  const problems: string[] = [];
  if (!['amd64', 'arm64', 'x86'].includes(options.architecture)) problems.push(`architecture '${options.architecture}' is not amd64, arm64 or x86`);
  if (options.computerName !== undefined && !COMPUTER_NAME.test(options.computerName))
    problems.push(`computer name '${options.computerName}' must be 1–15 letters, digits or hyphens and not only digits`);
  const names = new Set<string>();
  for (const a of options.accounts ?? []) {
    const lower = a.name.toLowerCase();
    if (RESERVED_ACCOUNT_NAMES.has(lower)) problems.push(`account name '${a.name}' is reserved by Windows`);
    else if (a.name.length === 0 || a.name.length > 20 || ACCOUNT_NAME_FORBIDDEN.test(a.name) || a.name.endsWith('.'))
      problems.push(`account name '${a.name}' must be 1–20 characters without " / \\ [ ] : ; | = , + * ? < > @ and not end with a dot`);
    if (names.has(lower)) problems.push(`account '${a.name}' is listed twice`);
    names.add(lower);
  }
  if (options.autoLogon) {
    if (!names.has(options.autoLogon.username.toLowerCase())) problems.push(`auto-logon user '${options.autoLogon.username}' is not one of the accounts`);
    if (!Number.isInteger(options.autoLogon.count) || options.autoLogon.count < 1) problems.push('auto-logon count must be a whole number of at least 1');
  }
  if (options.disk?.mode === 'wipe-gpt' && options.disk.diskId !== undefined && (!Number.isInteger(options.disk.diskId) || options.disk.diskId < 0))
    problems.push('disk id must be a whole number of at least 0');
  if (problems.length > 0) throw new InputError('DF_UNATTEND_BAD_OPTION', problems.join('; '), { problems });
}
