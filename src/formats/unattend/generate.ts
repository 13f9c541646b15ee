// Builds an answer file from options: languages and time zone, edition (generic or custom key,
// image index or name, or ask), disk layout, Windows 11 requirement bypass, driver folders,
// packages, local accounts and the built-in Administrator, auto-logon, OOBE pages, computer name,
// device encryption, S mode, Compact OS, commands and embedded scripts. Each setting goes in the
// pass where Microsoft's unattend reference allows it (placement table in generate.test.ts); the
// same options always give the same document. It does not decide where the file goes on the media
// (src/steps/unattend/compose.ts does) and does not read any image.
import { InputError } from '../../errors.js';
import { GENERIC_EDITION_KEYS, type GenericKeyEdition, INTERACTIVE_PRODUCT_KEY } from './edition-keys.js';
import { type DiskPlan, MAX_RUN_SYNCHRONOUS_PATH, planDisk, type UnattendDisk } from './generate-disk.js';
import { planScripts, RESERVED_SCRIPT_PREFIX, SCRIPT_NAME, SCRIPT_STAGES, SCRIPTS_FOLDER, type SetupCommand, type UnattendScripts } from './generate-scripts.js';
import {
  element,
  listItem,
  MICROSOFT_PUBLIC_KEY_TOKEN,
  UNATTEND_PASSES,
  type UnattendComponent,
  type UnattendDocument,
  type UnattendElement,
  type UnattendNode,
  type UnattendPass,
  type UnattendSettings,
} from './model.js';

export type { GenericKeyEdition } from './edition-keys.js';
export type { UnattendDisk } from './generate-disk.js';
export type { ScriptLanguage, SetupCommand, UnattendScript, UnattendScripts } from './generate-scripts.js';

export type UnattendArchitecture = 'amd64' | 'arm64' | 'x86';

export interface UnattendLanguages {
  /** Display language, e.g. `en-US`; also Setup's own language in windowsPE. */
  uiLanguage: string;
  /** Keyboard layouts, e.g. `en-US` or `0409:00000409`; several are joined with `;`. Defaults to uiLanguage. */
  inputLocale?: string | string[];
  /** Language for non-Unicode programs; defaults to uiLanguage. */
  systemLocale?: string;
  /** Formats for dates, numbers, currency; defaults to uiLanguage. */
  userLocale?: string;
  /** UILanguageFallback: language for resources not localized into uiLanguage (partially localized languages). */
  fallback?: string;
}

export interface UnattendAccount {
  name: string;
  password?: string;
  displayName?: string;
  /** Local group(s), e.g. `Administrators` or `['Users', 'Remote Desktop Users']`; default `Administrators`. */
  group?: string | string[];
  description?: string;
  /** Make the user choose a new password at the next logon (a first-logon `net user NAME /logonpasswordchg:yes`). */
  forcePasswordChange?: boolean;
}

/** Which edition Setup installs. */
export type UnattendEdition = { productKey: string } | { genericKeyFor: GenericKeyEdition } | { imageIndex: number } | { imageName: string } | { interactive: true };

export interface UnattendOobe {
  hideEula?: boolean;
  hideOemRegistration?: boolean;
  hideOnlineAccountScreens?: boolean;
  hideWirelessSetup?: boolean;
  hideLocalAccountScreen?: boolean;
  /** Express privacy settings: 1 recommended, 2 updates only, 3 none. */
  protectYourPC?: 1 | 2 | 3;
  /** Allow OOBE to finish without a network (OOBE\BypassNRO = 1); only works while the PC is offline. */
  bypassNRO?: boolean;
}

/** A package for the offlineServicing `<servicing>` section; its identity is in the package's update.mum. */
export interface UnattendPackage {
  /** Where Setup finds the .cab, as Windows PE sees it. */
  path: string;
  identity: { name: string; version: string; processorArchitecture?: string; publicKeyToken?: string; language?: string };
}

export interface FirstLogonCommand extends SetupCommand {
  requiresUserInput?: boolean;
}

export interface GenerateUnattendOptions {
  architecture: UnattendArchitecture;
  languages?: UnattendLanguages;
  /** Windows time-zone id, e.g. `W. Europe Standard Time` (tzutil /l). */
  timeZone?: string;
  /** Product key (older form of `edition: { productKey }`); may go with an image index or name. */
  productKey?: string;
  edition?: UnattendEdition;
  /** Accept the license in Setup (windowsPE UserData/AcceptEula). */
  acceptEula?: boolean;
  disk?: UnattendDisk;
  /** Install Windows compressed (ImageInstall/OSImage/Compact). */
  compactOs?: boolean;
  /** LabConfig keys Setup checks before refusing unsupported hardware, set from windowsPE; `true` sets all five. */
  bypassRequirements?: boolean | Partial<Record<'tpm' | 'secureBoot' | 'ram' | 'cpu' | 'storage', boolean>>;
  /** Driver folders: `windowsPE` for Setup itself (PnpCustomizationsWinPE), `offlineServicing` for the installed system (PnpCustomizationsNonWinPE). */
  driverPaths?: { windowsPE?: string[]; offlineServicing?: string[] };
  /**
   * .cab/.msu paths (as Windows sees them during setup), installed in order with
   * `dism /Online /Add-Package` in specialize: the offline `<servicing>` section needs each package's
   * assembly identity, which a path does not give (use `servicingPackages` when you have it).
   */
  packages?: string[];
  /** Packages with their identity, for the `<servicing>` section (installed offline, before first start). */
  servicingPackages?: UnattendPackage[];
  accounts?: UnattendAccount[];
  /** The built-in Administrator: enable it (specialize) and set its password (oobeSystem). */
  administrator?: { enabled: boolean; password?: string };
  /** Log on automatically `count` times as `username` (one of `accounts`, or `Administrator` when enabled). */
  autoLogon?: { username: string; count: number };
  /** Shorthand: hide the EULA, OEM registration, Microsoft-account and wireless pages; ProtectYourPC 3. */
  skipOobe?: boolean;
  /** OOBE pages one by one; wins over `skipOobe` where both say something. */
  oobe?: UnattendOobe;
  /** A fixed name, `{ random: true }` (Setup's `*`), or a pattern whose `#` become digits and `?` letters. */
  computerName?: string | { random: true } | { pattern: string };
  /** `false`: stop Windows from turning on device encryption (BitLocker) by itself. */
  deviceEncryption?: boolean;
  /** `false`: the installed Windows does not run in S mode (CodeIntegrity SkuPolicyRequired 0); `true`: it does. */
  sMode?: boolean;
  /** Run as SYSTEM in specialize (Microsoft-Windows-Deployment RunSynchronous), after our own commands. */
  specializeCommands?: SetupCommand[];
  /** Started at the first user's first logon; Windows starts them all at once, not one after another. */
  firstLogonCommands?: FirstLogonCommand[];
  scripts?: UnattendScripts;
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
// A pattern: the same characters plus `#` (digit) and `?` (letter); it may not yield all digits.
const COMPUTER_NAME_PATTERN = /^(?![\d#]+$)[A-Za-z0-9#?-]{1,15}$/;
const ACCOUNT_NAME_FORBIDDEN = /["/\\[\]:;|=,+*?<>@]/;
const PRODUCT_KEY = /^([A-Z0-9]{5}-){4}[A-Z0-9]{5}$/;
/** Unattend reference: FirstLogonCommands CommandLine ≤ 1024, Description ≤ 256, Order 1–500. */
const MAX_FIRST_LOGON_COMMAND = 1024;
const MAX_DESCRIPTION = 256;
const MAX_ORDER = 500;
const BUILT_IN_ADMINISTRATOR = 'Administrator';

export function generateUnattend(options: GenerateUnattendOptions): UnattendDocument {
  checkOptions(options);
  const doc = new DocumentBuilder(options.architecture);
  const disk = planDisk(options.disk);
  const scripts = planScripts(options.scripts);
  const oobe = effectiveOobe(options);
  const lang = options.languages;

  // windowsPE: Setup's own language and the installed system's locales, drivers Setup needs to see
  // the disk or network, then disk, image, requirement bypass, key and EULA.
  if (lang) doc.add('windowsPE', 'Microsoft-Windows-International-Core-WinPE', [element('SetupUILanguage', [element('UILanguage', lang.uiLanguage)]), ...locales(lang)]);
  doc.add('windowsPE', 'Microsoft-Windows-PnpCustomizationsWinPE', driverPaths(options.driverPaths?.windowsPE));
  doc.add('windowsPE', 'Microsoft-Windows-Setup', setupSettings(options, disk));

  // offlineServicing: applied to the installed image before its first start.
  if (options.sMode !== undefined) doc.add('offlineServicing', 'Microsoft-Windows-CodeIntegrity', [element('SkuPolicyRequired', options.sMode ? '1' : '0')]);
  doc.add('offlineServicing', 'Microsoft-Windows-PnpCustomizationsNonWinPE', driverPaths(options.driverPaths?.offlineServicing));

  // specialize: our commands first (the script extraction before anything that runs a script), then
  // the caller's, then the scripts; computer name and time zone are machine settings.
  const specialize: SetupCommand[] = [
    ...(scripts.extract ? [scripts.extract] : []),
    ...builtInSpecializeCommands(options, oobe),
    ...(options.specializeCommands ?? []),
    ...scripts.specialize,
  ];
  const firstLogon: FirstLogonCommand[] = [...builtInFirstLogonCommands(options), ...(options.firstLogonCommands ?? []), ...scripts.firstLogon];
  checkGenerated(specialize, firstLogon);
  if (specialize.length > 0) {
    const commands = specialize.map((c, i) => listItem('RunSynchronousCommand', runSynchronousFields({ path: c.commandLine, description: c.description }, i)));
    doc.add('specialize', 'Microsoft-Windows-Deployment', [element('RunSynchronous', commands)]);
  }
  doc.add('specialize', 'Microsoft-Windows-Shell-Setup', machineSettings(options));

  // oobeSystem: the locales again (Setup re-applies them at OOBE), then logon, pages and accounts.
  if (lang) doc.add('oobeSystem', 'Microsoft-Windows-International-Core', locales(lang));
  doc.add('oobeSystem', 'Microsoft-Windows-Shell-Setup', oobeShellSettings(options, oobe, firstLogon));

  // `<servicing>` (packages with an identity). KB939289: Setup skips it in an autounattend.xml that
  // has no windowsPE or offlineServicing pass. More generally, anything applied before the first
  // start (offlineServicing, servicing) is only read from a file at the media root, and Setup only
  // takes that file when it has a windowsPE pass (ANCHORS §2.3 step 6, Rufus issue #1981).
  // UseConfigurationSet=false is Setup's default, so it changes nothing but that.
  const servicing = options.servicingPackages?.length
    ? element(
        'servicing',
        options.servicingPackages.map((p) => packageElement(p, options.architecture)),
      )
    : undefined;
  if (!doc.has('windowsPE') && (doc.has('offlineServicing') || servicing)) doc.add('windowsPE', 'Microsoft-Windows-Setup', [element('UseConfigurationSet', 'false')]);

  // The unattend schema orders the root as servicing, settings…, then elements of other namespaces.
  return {
    prolog: [],
    attributes: [],
    children: [...(servicing ? [servicing] : []), ...doc.settings(), ...(scripts.extensions ? [scripts.extensions] : [])],
  };
}

/** Microsoft-Windows-Setup in windowsPE. */
function setupSettings(options: GenerateUnattendOptions, disk: DiskPlan): UnattendElement[] {
  const setup: UnattendElement[] = [];
  if (disk.diskConfiguration) setup.push(disk.diskConfiguration);
  const osImage = [
    ...(options.compactOs !== undefined ? [element('Compact', String(options.compactOs))] : []),
    ...installFrom(options.edition),
    ...(disk.installTo
      ? [
          element('InstallTo', [element('DiskID', String(disk.installTo.diskId)), element('PartitionID', String(disk.installTo.partitionId))]),
          element('InstallToAvailablePartition', 'false'),
        ]
      : []),
  ];
  if (osImage.length > 0) setup.push(element('ImageInstall', [element('OSImage', [...osImage, element('WillShowUI', 'OnError')])]));
  // Windows PE's own registry: the LabConfig values must exist before Setup's compatibility check.
  // This is the fallback to editing boot.wim's SYSTEM hive offline (ANCHORS §2.3 steps 2–4).
  // MoSetup\AllowUpgradesWithUnsupportedTPMOrCPU is not set: it concerns in-place upgrades started
  // from a running Windows, which never read this pass.
  const commands = [
    ...bypassValues(options.bypassRequirements).map((value) => ({ path: `reg.exe add "HKLM\\SYSTEM\\Setup\\LabConfig" /v ${value} /t REG_DWORD /d 1 /f` })),
    ...disk.commands,
  ];
  if (commands.length > 0)
    setup.push(
      element(
        'RunSynchronous',
        commands.map((c, i) => listItem('RunSynchronousCommand', runSynchronousFields(c, i))),
      ),
    );
  const userData: UnattendElement[] = [];
  const key = productKeyOf(options);
  if (key) userData.push(element('ProductKey', [element('Key', key.key), element('WillShowUI', key.willShowUI)]));
  if (options.acceptEula) userData.push(element('AcceptEula', 'true'));
  if (userData.length > 0) setup.push(element('UserData', userData));
  return setup;
}

/** Specialize commands for settings that have no unattend element of their own. */
function builtInSpecializeCommands(options: GenerateUnattendOptions, oobe: UnattendOobe): SetupCommand[] {
  const out: SetupCommand[] = [];
  if (options.administrator?.enabled)
    out.push({
      commandLine: `powershell.exe -NoProfile -Command "Get-LocalUser | Where-Object SID -Like 'S-1-5-21-*-500' | Enable-LocalUser"`,
      description: 'DeployForge: enable the built-in Administrator (found by its SID, whatever its localized name)',
    });
  if (oobe.bypassNRO)
    out.push({
      commandLine: 'reg.exe add "HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\OOBE" /v BypassNRO /t REG_DWORD /d 1 /f',
      // Rufus issue #2844 (maintainer): OOBE honours BypassNRO only while no network is connected.
      description: 'DeployForge: BypassNRO (OOBE can finish without a network; works only while the PC is offline)',
    });
  if (options.deviceEncryption === false)
    out.push({
      // The value schneegans' PreventDeviceEncryption option sets (ANCHORS §5.4).
      commandLine: 'reg.exe add "HKLM\\SYSTEM\\CurrentControlSet\\Control\\BitLocker" /v PreventDeviceEncryption /t REG_DWORD /d 1 /f',
      description: 'DeployForge: do not turn on device encryption automatically',
    });
  for (const path of options.packages ?? [])
    out.push({ commandLine: `dism.exe /Online /Add-Package /PackagePath:"${path}" /NoRestart /Quiet`, description: 'DeployForge: install a package' });
  return out;
}

/** Shell-Setup in specialize: computer name and time zone. */
function machineSettings(options: GenerateUnattendOptions): UnattendElement[] {
  const out: UnattendElement[] = [];
  const name = options.computerName;
  if (typeof name === 'string') out.push(element('ComputerName', name));
  // "If ComputerName is set to an asterisk (*) … a random computer name will be generated" (unattend reference, ComputerName).
  else if (name && 'random' in name) out.push(element('ComputerName', '*'));
  if (options.timeZone) out.push(element('TimeZone', options.timeZone));
  return out;
}

/** Shell-Setup in oobeSystem: auto-logon, first-logon commands, OOBE pages, time zone, accounts. */
function oobeShellSettings(options: GenerateUnattendOptions, oobe: UnattendOobe, firstLogon: FirstLogonCommand[]): UnattendElement[] {
  const shell: UnattendElement[] = [];
  if (options.autoLogon) {
    const user = options.autoLogon.username.toLowerCase();
    const password =
      user === BUILT_IN_ADMINISTRATOR.toLowerCase() && options.administrator?.enabled
        ? options.administrator.password
        : options.accounts?.find((a) => a.name.toLowerCase() === user)?.password;
    shell.push(
      element('AutoLogon', [
        ...(password !== undefined ? [passwordElement('Password', password)] : []),
        element('Enabled', 'true'),
        element('LogonCount', String(options.autoLogon.count)),
        element('Username', options.autoLogon.username),
      ]),
    );
  }
  if (firstLogon.length > 0) {
    const commands = firstLogon.map((c, i) =>
      listItem('SynchronousCommand', [
        element('CommandLine', c.commandLine),
        ...(c.description ? [element('Description', c.description)] : []),
        element('Order', String(i + 1)),
        element('RequiresUserInput', c.requiresUserInput ? 'true' : 'false'),
      ]),
    );
    shell.push(element('FirstLogonCommands', commands));
  }
  const pages = oobeElements(oobe);
  if (pages.length > 0) shell.push(element('OOBE', pages));
  if (options.timeZone) shell.push(element('TimeZone', options.timeZone));
  const userAccounts: UnattendElement[] = [];
  if (options.administrator?.password !== undefined) userAccounts.push(passwordElement('AdministratorPassword', options.administrator.password));
  if (options.accounts?.length) {
    const accounts = options.accounts.map((a) =>
      listItem('LocalAccount', [
        ...(a.description ? [element('Description', a.description)] : []),
        element('DisplayName', a.displayName ?? a.name),
        element('Group', groupsOf(a).join(';')),
        element('Name', a.name),
        passwordElement('Password', a.password ?? ''),
      ]),
    );
    userAccounts.push(element('LocalAccounts', accounts));
  }
  if (userAccounts.length > 0) shell.push(element('UserAccounts', userAccounts));
  return shell;
}

/** Components per pass; passes come out in the order Setup runs them, components sorted by name. */
class DocumentBuilder {
  private readonly passes = new Map<UnattendPass, UnattendComponent[]>();
  constructor(private readonly architecture: UnattendArchitecture) {}

  add(pass: UnattendPass, name: string, settings: UnattendElement[]): void {
    if (settings.length === 0) return;
    const list = this.passes.get(pass) ?? [];
    let component = list.find((c) => c.name === name);
    if (!component) {
      component = {
        kind: 'component',
        name,
        processorArchitecture: this.architecture,
        publicKeyToken: MICROSOFT_PUBLIC_KEY_TOKEN,
        language: 'neutral',
        versionScope: 'nonSxS',
        attributes: [],
        children: [],
      };
      list.push(component);
      this.passes.set(pass, list);
    }
    component.children.push(...settings);
  }

  has(pass: UnattendPass): boolean {
    return this.passes.has(pass);
  }

  settings(): UnattendSettings[] {
    const out: UnattendSettings[] = [];
    for (const pass of UNATTEND_PASSES) {
      const components = this.passes.get(pass);
      if (!components) continue;
      const sorted = [...components].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      out.push({ kind: 'settings', pass, attributes: [], children: sorted });
    }
    return out;
  }
}

function locales(lang: UnattendLanguages): UnattendElement[] {
  const input = lang.inputLocale === undefined ? lang.uiLanguage : Array.isArray(lang.inputLocale) ? lang.inputLocale.join(';') : lang.inputLocale;
  return [
    element('InputLocale', input),
    element('SystemLocale', lang.systemLocale ?? lang.uiLanguage),
    element('UILanguage', lang.uiLanguage),
    ...(lang.fallback ? [element('UILanguageFallback', lang.fallback)] : []),
    element('UserLocale', lang.userLocale ?? lang.uiLanguage),
  ];
}

/** DriverPaths/PathAndCredentials list items, keyed "1", "2"… as Windows SIM numbers them. */
function driverPaths(paths: string[] | undefined): UnattendElement[] {
  if (!paths?.length) return [];
  return [
    element(
      'DriverPaths',
      paths.map((path, i) => listItem('PathAndCredentials', [element('Path', path)], String(i + 1))),
    ),
  ];
}

function runSynchronousFields(command: { path: string; description?: string }, index: number): UnattendNode[] {
  return [...(command.description ? [element('Description', command.description)] : []), element('Order', String(index + 1)), element('Path', command.path)];
}

/** ImageInstall/OSImage/InstallFrom/MetaData selects an image of install.wim by index or name (unattend reference, MetaData). */
function installFrom(edition: UnattendEdition | undefined): UnattendElement[] {
  if (!edition) return [];
  let metaData: [string, string] | undefined;
  if ('imageIndex' in edition) metaData = ['/IMAGE/INDEX', String(edition.imageIndex)];
  else if ('imageName' in edition) metaData = ['/IMAGE/NAME', edition.imageName];
  if (!metaData) return [];
  return [element('InstallFrom', [listItem('MetaData', [element('Key', metaData[0]), element('Value', metaData[1])])])];
}

function productKeyOf(options: GenerateUnattendOptions): { key: string; willShowUI: 'OnError' | 'Always' } | undefined {
  const edition = options.edition;
  if (edition && 'interactive' in edition) return { key: INTERACTIVE_PRODUCT_KEY, willShowUI: 'Always' };
  if (edition && 'productKey' in edition) return { key: edition.productKey, willShowUI: 'OnError' };
  if (edition && 'genericKeyFor' in edition) return { key: GENERIC_EDITION_KEYS[edition.genericKeyFor], willShowUI: 'OnError' };
  if (options.productKey !== undefined) return { key: options.productKey, willShowUI: 'OnError' };
  return undefined;
}

function effectiveOobe(options: GenerateUnattendOptions): UnattendOobe {
  const base: UnattendOobe = options.skipOobe
    ? {
        hideEula: true,
        hideOemRegistration: true,
        hideOnlineAccountScreens: true,
        hideWirelessSetup: true,
        // Hiding the local-account page without an account to log on with would strand the user.
        ...(options.accounts?.length ? { hideLocalAccountScreen: true } : {}),
        protectYourPC: 3,
      }
    : {};
  return { ...base, ...options.oobe };
}

/** Shell-Setup/OOBE children, in the reference's (alphabetical) order. */
function oobeElements(oobe: UnattendOobe): UnattendElement[] {
  const flags: [keyof UnattendOobe, string][] = [
    ['hideEula', 'HideEULAPage'],
    ['hideLocalAccountScreen', 'HideLocalAccountScreen'],
    ['hideOemRegistration', 'HideOEMRegistrationScreen'],
    ['hideOnlineAccountScreens', 'HideOnlineAccountScreens'],
    ['hideWirelessSetup', 'HideWirelessSetupInOOBE'],
  ];
  const out = flags.filter(([k]) => oobe[k] !== undefined).map(([k, name]) => element(name, String(oobe[k])));
  if (oobe.protectYourPC !== undefined) out.push(element('ProtectYourPC', String(oobe.protectYourPC)));
  return out;
}

function groupsOf(account: UnattendAccount): string[] {
  if (account.group === undefined) return ['Administrators'];
  return Array.isArray(account.group) ? account.group : [account.group];
}

/**
 * Commands for the first logon: a patterned computer name and forced password changes. A rename
 * inside specialize does not stick: Setup sets its own (random or given) name after our commands
 * run (cschneegans/unattend-generator issue #45), so the pattern is applied at first logon and
 * takes effect at the next restart.
 */
function builtInFirstLogonCommands(options: GenerateUnattendOptions): FirstLogonCommand[] {
  const out: FirstLogonCommand[] = [];
  const name = options.computerName;
  if (name && typeof name === 'object' && 'pattern' in name) {
    const log = `${SCRIPTS_FOLDER}\\DeployForge-ComputerName.log`;
    out.push({
      commandLine:
        `powershell.exe -NoProfile -ExecutionPolicy Bypass -Command "New-Item -ItemType Directory -Force -Path '${SCRIPTS_FOLDER}' | Out-Null; & { ` +
        `$n = -join ('${name.pattern}'.ToCharArray() | ForEach-Object { if ($_ -eq '#') { Get-Random -Maximum 10 } elseif ($_ -eq '?') { [char](65 + (Get-Random -Maximum 26)) } else { $_ } }); ` +
        `'new computer name: ' + $n; Rename-Computer -NewName $n -Force } *>> '${log}'"`,
      description: 'DeployForge: rename the computer from a pattern (takes effect after a restart)',
    });
  }
  for (const a of options.accounts ?? []) {
    // The switch Rufus uses for its forced-change local account (ANCHORS §2.3).
    if (a.forcePasswordChange) out.push({ commandLine: `net.exe user "${a.name}" /logonpasswordchg:yes`, description: `DeployForge: ${a.name} must choose a new password` });
  }
  return out;
}

function passwordElement(name: 'Password' | 'AdministratorPassword', password: string): UnattendElement {
  return element(name, [element('Value', encodeUnattendPassword(password, name)), element('PlainText', 'false')]);
}

/** `<package action="install">` with its assembly identity and source (unattend `servicing` section). */
function packageElement(p: UnattendPackage, architecture: UnattendArchitecture): UnattendElement {
  const identity = {
    name: p.identity.name,
    version: p.identity.version,
    processorArchitecture: p.identity.processorArchitecture ?? architecture,
    publicKeyToken: p.identity.publicKeyToken ?? MICROSOFT_PUBLIC_KEY_TOKEN,
    language: p.identity.language ?? 'neutral',
  };
  const assembly: UnattendElement = { ...element('assemblyIdentity'), attributes: Object.entries(identity).map(([localName, value]) => ({ localName, value })) };
  const source: UnattendElement = { ...element('source'), attributes: [{ localName: 'location', value: p.path }] };
  return { ...element('package', [assembly, source]), attributes: [{ localName: 'action', value: 'install' }] };
}

function bypassValues(option: GenerateUnattendOptions['bypassRequirements']): string[] {
  if (!option) return [];
  const keys = Object.keys(LAB_CONFIG_VALUES) as (keyof typeof LAB_CONFIG_VALUES)[];
  return keys.filter((k) => option === true || option[k]).map((k) => LAB_CONFIG_VALUES[k]);
}

function checkOptions(options: GenerateUnattendOptions): void {
  const problems: string[] = [];
  const arch = options.architecture;
  if (!['amd64', 'arm64', 'x86'].includes(arch)) problems.push(`architecture '${arch}' is not amd64, arm64 or x86`);
  checkComputerName(options.computerName, problems);
  const names = checkAccounts(options, problems);
  if (options.autoLogon) {
    if (!names.has(options.autoLogon.username.toLowerCase()))
      problems.push(
        `auto-logon user '${options.autoLogon.username}' is not one of the accounts${options.administrator?.enabled ? '' : ' (Administrator only when administrator.enabled)'}`,
      );
    if (!Number.isInteger(options.autoLogon.count) || options.autoLogon.count < 1) problems.push('auto-logon count must be a whole number of at least 1');
  }
  checkDisk(options, problems);
  checkEdition(options, problems);
  const oobe = effectiveOobe(options);
  if (oobe.hideLocalAccountScreen && !options.accounts?.length && !options.administrator?.enabled)
    problems.push('oobe.hideLocalAccountScreen needs an account to log on with: add accounts or enable the administrator');
  if (oobe.protectYourPC !== undefined && ![1, 2, 3].includes(oobe.protectYourPC)) problems.push('oobe.protectYourPC must be 1, 2 or 3');
  for (const [pass, paths] of Object.entries(options.driverPaths ?? {}))
    if ((paths as string[]).some((p) => p.trim() === '')) problems.push(`driverPaths.${pass} has an empty path`);
  for (const [i, p] of (options.packages ?? []).entries()) if (p.trim() === '' || p.includes('"')) problems.push(`packages[${i}] must be a path without quotes`);
  for (const [i, p] of (options.servicingPackages ?? []).entries())
    if (p.path.trim() === '' || p.identity.name.trim() === '' || !/^\d+(\.\d+){3}$/.test(p.identity.version))
      problems.push(`servicingPackages[${i}] needs a path, identity.name and a four-part identity.version`);
  checkScripts(options.scripts, problems);
  checkCommands(options, problems);
  if (problems.length > 0) throw new InputError('DF_UNATTEND_BAD_OPTION', problems.join('; '), { problems });
}

function checkComputerName(name: GenerateUnattendOptions['computerName'], problems: string[]): void {
  if (name === undefined) return;
  if (typeof name === 'string') {
    if (!COMPUTER_NAME.test(name)) problems.push(`computer name '${name}' must be 1–15 letters, digits or hyphens and not only digits`);
  } else if ('pattern' in name) {
    if (!COMPUTER_NAME_PATTERN.test(name.pattern))
      problems.push(`computer name pattern '${name.pattern}' must be 1–15 letters, digits, hyphens, # (digit) or ? (letter), and not only digits`);
  } else if (!('random' in name) || name.random !== true) problems.push('computer name must be a name, { random: true } or { pattern }');
}

/** Checks accounts and returns the lower-cased names auto-logon may use. */
function checkAccounts(options: GenerateUnattendOptions, problems: string[]): Set<string> {
  const names = new Set<string>();
  for (const a of options.accounts ?? []) {
    const lower = a.name.toLowerCase();
    if (RESERVED_ACCOUNT_NAMES.has(lower)) problems.push(`account name '${a.name}' is reserved by Windows`);
    else if (a.name.length === 0 || a.name.length > 20 || ACCOUNT_NAME_FORBIDDEN.test(a.name) || a.name.endsWith('.'))
      problems.push(`account name '${a.name}' must be 1–20 characters without " / \\ [ ] : ; | = , + * ? < > @ and not end with a dot`);
    if (names.has(lower)) problems.push(`account '${a.name}' is listed twice`);
    names.add(lower);
    const groups = groupsOf(a);
    if (groups.length === 0 || groups.some((g) => g.trim() === '' || g.includes(';'))) problems.push(`account '${a.name}': each group must be a non-empty name without ';'`);
  }
  if (options.administrator?.enabled) names.add(BUILT_IN_ADMINISTRATOR.toLowerCase());
  return names;
}

function checkDisk(options: GenerateUnattendOptions, problems: string[]): void {
  const disk = options.disk;
  if (!disk || disk.mode === 'interactive') return;
  const whole = (v: number | undefined, min: number) => v === undefined || (Number.isInteger(v) && v >= min);
  if (!whole(disk.diskId, 0)) problems.push('disk.diskId must be a whole number of at least 0');
  if (!whole(disk.windowsSizeMb, 1)) problems.push('disk.windowsSizeMb must be a whole number of megabytes');
  if (typeof disk.recovery === 'object' && !whole(disk.recovery.sizeMb, 300)) problems.push('disk.recovery.sizeMb must be a whole number of at least 300');
  if (disk.mode === 'wipe-gpt' && !whole(disk.efiSizeMb, 100)) problems.push('disk.efiSizeMb must be a whole number of at least 100');
  // Windows on arm64 starts from UEFI only, which needs a GPT disk.
  if (disk.mode === 'wipe-mbr' && options.architecture === 'arm64') problems.push('disk.mode wipe-mbr cannot boot arm64 Windows: use wipe-gpt');
}

function checkEdition(options: GenerateUnattendOptions, problems: string[]): void {
  const edition = options.edition;
  if (options.productKey !== undefined && !PRODUCT_KEY.test(options.productKey)) problems.push('productKey must look like XXXXX-XXXXX-XXXXX-XXXXX-XXXXX');
  if (!edition) return;
  if ('productKey' in edition && !PRODUCT_KEY.test(edition.productKey)) problems.push('edition.productKey must look like XXXXX-XXXXX-XXXXX-XXXXX-XXXXX');
  if ('genericKeyFor' in edition && !(edition.genericKeyFor in GENERIC_EDITION_KEYS))
    problems.push(`edition.genericKeyFor '${edition.genericKeyFor}' has no published generic key`);
  if ('imageIndex' in edition && (!Number.isInteger(edition.imageIndex) || edition.imageIndex < 1)) problems.push('edition.imageIndex must be a whole number of at least 1');
  if ('imageName' in edition && edition.imageName.trim() === '') problems.push('edition.imageName must not be empty');
  if (options.productKey !== undefined && ('productKey' in edition || 'genericKeyFor' in edition || 'interactive' in edition))
    problems.push('give the product key once: productKey and edition both choose one');
}

function checkScripts(scripts: UnattendScripts | undefined, problems: string[]): void {
  const seen = new Set<string>();
  for (const stage of SCRIPT_STAGES) {
    for (const s of scripts?.[stage] ?? []) {
      const where = `scripts.${stage} '${s.name}'`;
      if (!SCRIPT_NAME.test(s.name) || !s.name.toLowerCase().endsWith(`.${s.language}`))
        problems.push(`${where}: the name must be a file name of letters, digits, . _ - (at most 60) ending in .${s.language}`);
      if (s.name.toLowerCase().startsWith(RESERVED_SCRIPT_PREFIX.toLowerCase())) problems.push(`${where}: names starting with ${RESERVED_SCRIPT_PREFIX} are DeployForge's own`);
      if (seen.has(s.name.toLowerCase())) problems.push(`${where}: every script needs its own name (they share one folder)`);
      seen.add(s.name.toLowerCase());
      if (s.content.trim() === '') problems.push(`${where}: the script is empty`);
      if (s.language === 'reg' && !/^\s*(Windows Registry Editor Version 5\.00|REGEDIT4)/.test(s.content))
        problems.push(`${where}: a .reg file starts with "Windows Registry Editor Version 5.00"`);
    }
  }
}

function checkCommands(options: GenerateUnattendOptions, problems: string[]): void {
  const specialize = options.specializeCommands ?? [];
  specialize.forEach((c, i) => {
    if (c.commandLine.trim() === '') problems.push(`specializeCommands[${i}] is empty`);
    if (c.commandLine.length > MAX_RUN_SYNCHRONOUS_PATH) problems.push(`specializeCommands[${i}] is longer than the ${MAX_RUN_SYNCHRONOUS_PATH} characters Windows allows`);
    if ((c.description?.length ?? 0) > MAX_DESCRIPTION) problems.push(`specializeCommands[${i}].description is longer than ${MAX_DESCRIPTION} characters`);
  });
  const firstLogon = options.firstLogonCommands ?? [];
  firstLogon.forEach((c, i) => {
    if (c.commandLine.trim() === '') problems.push(`firstLogonCommands[${i}] is empty`);
    if (c.commandLine.length > MAX_FIRST_LOGON_COMMAND) problems.push(`firstLogonCommands[${i}] is longer than the ${MAX_FIRST_LOGON_COMMAND} characters Windows allows`);
    if ((c.description?.length ?? 0) > MAX_DESCRIPTION) problems.push(`firstLogonCommands[${i}].description is longer than ${MAX_DESCRIPTION} characters`);
  });
}

/** Limits that only the generated lists can show: our own commands count too. */
function checkGenerated(specialize: SetupCommand[], firstLogon: FirstLogonCommand[]): void {
  const problems: string[] = [];
  for (const c of specialize)
    if (c.commandLine.length > MAX_RUN_SYNCHRONOUS_PATH)
      problems.push(`'${c.description ?? c.commandLine.slice(0, 40)}' makes a specialize command longer than ${MAX_RUN_SYNCHRONOUS_PATH} characters`);
  for (const c of firstLogon)
    if (c.commandLine.length > MAX_FIRST_LOGON_COMMAND)
      problems.push(`'${c.description ?? c.commandLine.slice(0, 40)}' makes a first-logon command longer than ${MAX_FIRST_LOGON_COMMAND} characters`);
  if (specialize.length > MAX_ORDER || firstLogon.length > MAX_ORDER) problems.push(`Windows numbers commands 1–${MAX_ORDER}: too many specialize or first-logon commands`);
  if (problems.length > 0) throw new InputError('DF_UNATTEND_BAD_OPTION', problems.join('; '), { problems });
}
