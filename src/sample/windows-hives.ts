// The registry hives of a sample Windows image, as trees for the hive builder: enough real
// structure (CurrentVersion, control sets, AppX store, default-user settings, SAM names) that
// wimlib fills the WIM XML from them as it does for real media, and that customization steps
// have real keys to change. Not a complete Windows registry.
import { type HiveTreeKey, type HiveTreeValue, regBinary, regDword, regExpandSz, regMultiSz, regSz } from '../formats/regf/build-hive.js';
import { SAMPLE_VERSION, type SampleEdition } from './editions.js';
import { SAMPLE_PROVISIONED_APPS } from './windows-apps.js';

type Value = HiveTreeValue;

function sz(name: string, text: string): Value {
  return { name, type: 1, data: regSz(text) };
}
function expandSz(name: string, text: string): Value {
  return { name, type: 2, data: regExpandSz(text) };
}
function dword(name: string, n: number): Value {
  return { name, type: 4, data: regDword(n) };
}
function multiSz(name: string, items: string[]): Value {
  return { name, type: 7, data: regMultiSz(items) };
}
function binary(name: string, bytes: number[]): Value {
  return { name, type: 3, data: regBinary(Uint8Array.from(bytes)) };
}

/** Builds a key from a path like 'A\\B\\C' with the values on the last component, merging into
 *  `parent` so several paths can share prefixes. */
function put(parent: HiveTreeKey, path: string, values: Value[] = []): HiveTreeKey {
  let node = parent;
  for (const part of path.split('\\')) {
    node.subkeys ??= [];
    let child = node.subkeys.find((k) => k.name.toLowerCase() === part.toLowerCase());
    if (!child) {
      child = { name: part };
      node.subkeys.push(child);
    }
    node = child;
  }
  node.values = [...(node.values ?? []), ...values];
  return node;
}

const INSTALL_DATE = 1719792000; // 2024-07-01T00:00:00Z, as a Unix time (InstallDate is REG_DWORD seconds)

export function softwareHive(edition: SampleEdition, kind: 'install' | 'winpe' = 'install'): HiveTreeKey {
  const root: HiveTreeKey = { name: 'ROOT' };
  const v = SAMPLE_VERSION;
  put(root, 'Microsoft\\Windows NT\\CurrentVersion', [
    sz('ProductName', edition.name),
    sz('EditionID', edition.editionId),
    sz('CompositionEditionID', edition.editionId.startsWith('Core') ? 'Core' : 'Enterprise'),
    sz('InstallationType', kind === 'winpe' ? 'WindowsPE' : 'Client'),
    sz('CurrentVersion', '6.3'),
    dword('CurrentMajorVersionNumber', v.major),
    dword('CurrentMinorVersionNumber', v.minor),
    sz('CurrentBuild', String(v.build)),
    sz('CurrentBuildNumber', String(v.build)),
    dword('UBR', v.ubr),
    sz('DisplayVersion', v.displayVersion),
    sz('ReleaseId', '2009'),
    sz('BuildLab', `${v.build}.ge_release.240331-1435`),
    sz('BuildLabEx', `${v.build}.1.amd64fre.ge_release.240331-1435`),
    sz('CurrentType', 'Multiprocessor Free'),
    sz('SystemRoot', 'C:\\Windows'),
    sz('PathName', 'C:\\Windows'),
    sz('RegisteredOwner', ''),
    sz('RegisteredOrganization', ''),
    sz('SoftwareType', 'System'),
    dword('InstallDate', INSTALL_DATE),
    binary(
      'DigitalProductId',
      Array.from({ length: 164 }, (_, i) => (i * 7) & 0xff),
    ),
  ]);
  put(root, 'Microsoft\\Windows NT\\CurrentVersion\\Winlogon', [sz('Shell', 'explorer.exe'), sz('Userinit', 'C:\\Windows\\system32\\userinit.exe,'), sz('AutoAdminLogon', '0')]);
  put(root, 'Microsoft\\Windows\\CurrentVersion', [
    expandSz('ProgramFilesDir', 'C:\\Program Files'),
    expandSz('ProgramFilesDir (x86)', 'C:\\Program Files (x86)'),
    expandSz('CommonFilesDir', 'C:\\Program Files\\Common Files'),
    sz('ProgramFilesPath', '%ProgramFiles%'),
    sz('DevicePath', '%SystemRoot%\\inf'),
  ]);
  put(root, 'Microsoft\\Windows\\CurrentVersion\\Policies\\System', [dword('EnableLUA', 1), dword('ConsentPromptBehaviorAdmin', 5), dword('PromptOnSecureDesktop', 1)]);
  put(root, 'Microsoft\\Windows\\CurrentVersion\\OOBE', [dword('SetupDisplayedEula', 0)]);
  put(root, 'Microsoft\\Windows\\CurrentVersion\\Explorer\\Advanced');
  put(root, 'Microsoft\\PolicyManager\\default\\Start');
  put(root, 'Microsoft\\Windows Defender\\Features', [dword('TamperProtection', 5)]);
  put(root, 'Microsoft\\WindowsUpdate\\Orchestrator\\UScheduler_Oobe');
  put(root, 'Policies\\Microsoft\\Windows\\DataCollection');
  put(root, 'Policies\\Microsoft\\Windows\\CloudContent');
  put(root, 'Classes\\.txt', [sz('', 'txtfile'), sz('Content Type', 'text/plain')]);
  put(root, 'Classes\\txtfile\\shell\\open\\command', [expandSz('', '%SystemRoot%\\system32\\NOTEPAD.EXE %1')]);
  if (kind === 'install') {
    const store = 'Microsoft\\Windows\\CurrentVersion\\Appx\\AppxAllUserStore';
    put(root, `${store}\\Deprovisioned`);
    for (const app of SAMPLE_PROVISIONED_APPS) {
      put(root, `${store}\\Applications\\${app}`, [sz('Path', `C:\\Program Files\\WindowsApps\\${app}\\AppxManifest.xml`)]);
      put(root, `${store}\\InboxApplications\\${app}`, [sz('Path', `C:\\Program Files\\WindowsApps\\${app}\\AppxManifest.xml`)]);
    }
  }
  return root;
}

export function systemHive(kind: 'install' | 'winpe-setup' | 'winpe' = 'install'): HiveTreeKey {
  const root: HiveTreeKey = { name: 'ROOT' };
  const v = SAMPLE_VERSION;
  put(root, 'Select', [dword('Current', 1), dword('Default', 1), dword('Failed', 0), dword('LastKnownGood', 1)]);
  const cs = 'ControlSet001';
  put(root, `${cs}\\Control`, [sz('SystemBootDevice', 'multi(0)disk(0)rdisk(0)partition(1)'), dword('WaitToKillServiceTimeout', 5000)]);
  put(root, `${cs}\\Control\\ProductOptions`, [sz('ProductType', 'WinNT'), multiSz('ProductSuite', ['Terminal Server'])]);
  put(root, `${cs}\\Control\\Windows`, [dword('CSDBuildNumber', v.ubr), dword('CSDVersion', 0), expandSz('Directory', '%SystemRoot%')]);
  put(root, `${cs}\\Control\\Nls\\Language`, [sz('Default', '0409'), sz('InstallLanguage', '0409'), sz('InstallLanguageFallback', '0409')]);
  put(root, `${cs}\\Control\\MUI\\UILanguages\\${v.language}`, [dword('LCID', v.lcid), dword('Type', 0x92)]);
  put(root, `${cs}\\Control\\ComputerName\\ComputerName`, [sz('ComputerName', kind === 'install' ? 'WIN-SAMPLE' : 'MINWINPC')]);
  put(root, `${cs}\\Control\\TimeZoneInformation`, [sz('TimeZoneKeyName', 'Pacific Standard Time'), dword('Bias', 480)]);
  put(root, `${cs}\\Control\\Session Manager\\Environment`, [
    sz('PROCESSOR_ARCHITECTURE', 'AMD64'),
    expandSz('Path', '%SystemRoot%\\system32;%SystemRoot%'),
    sz('OS', 'Windows_NT'),
  ]);
  put(root, `${cs}\\Control\\Session Manager\\Memory Management`, [dword('ClearPageFileAtShutdown', 0), multiSz('PagingFiles', ['?:\\pagefile.sys'])]);
  put(root, `${cs}\\Control\\CI\\Policy`);
  put(root, `${cs}\\Control\\Class\\{4D36E966-E325-11CE-BFC1-08002BE10318}\\0000`, [sz('MatchingDeviceId', 'acpiapic')]);
  for (const [service, start] of [
    ['DiagTrack', 2],
    ['dmwappushservice', 3],
    ['WSearch', 2],
    ['SysMain', 2],
    ['wuauserv', 3],
    ['WinDefend', 2],
  ] as const) {
    put(root, `${cs}\\Services\\${service}`, [
      dword('Start', start),
      dword('Type', 16),
      dword('ErrorControl', 1),
      expandSz('ImagePath', `%SystemRoot%\\System32\\svchost.exe -k ${service}`),
    ]);
  }
  put(root, 'MountedDevices');
  put(root, 'Setup', [
    sz('CmdLine', kind === 'winpe-setup' ? 'X:\\sources\\setup.exe' : kind === 'winpe' ? 'winpeshl.exe' : ''),
    dword('SetupType', kind === 'install' ? 0 : 2),
    dword('SystemSetupInProgress', kind === 'install' ? 0 : 1),
    sz('SetupPhase', '0'),
  ]);
  if (kind !== 'install') put(root, 'Setup\\LabConfig');
  return root;
}

export function defaultUserHive(): HiveTreeKey {
  const root: HiveTreeKey = { name: 'ROOT' };
  put(root, 'Control Panel\\Desktop', [sz('Wallpaper', ''), sz('MenuShowDelay', '400'), sz('AutoEndTasks', '0')]);
  put(root, 'Control Panel\\International', [sz('LocaleName', 'en-US'), sz('sShortDate', 'M/d/yyyy')]);
  put(root, 'Keyboard Layout\\Preload', [sz('1', '00000409')]);
  put(root, 'Software\\Microsoft\\Windows\\CurrentVersion\\ContentDeliveryManager', [
    dword('ContentDeliveryAllowed', 1),
    dword('OemPreInstalledAppsEnabled', 1),
    dword('PreInstalledAppsEnabled', 1),
    dword('SilentInstalledAppsEnabled', 1),
    dword('SystemPaneSuggestionsEnabled', 1),
    dword('SubscribedContent-338388Enabled', 1),
    dword('SubscribedContent-338389Enabled', 1),
  ]);
  put(root, 'Software\\Microsoft\\Windows\\CurrentVersion\\Explorer\\Advanced', [
    dword('TaskbarAl', 1),
    dword('HideFileExt', 1),
    dword('LaunchTo', 2),
    dword('ShowTaskViewButton', 1),
  ]);
  put(root, 'Software\\Microsoft\\Windows\\CurrentVersion\\Search', [dword('SearchboxTaskbarMode', 2)]);
  put(root, 'Software\\Microsoft\\Windows\\CurrentVersion\\RunOnce');
  put(root, 'Software\\Microsoft\\GameBar', [dword('AutoGameModeEnabled', 1)]);
  put(root, 'Software\\Policies\\Microsoft\\Windows');
  put(root, 'Environment', [expandSz('TEMP', '%USERPROFILE%\\AppData\\Local\\Temp'), expandSz('TMP', '%USERPROFILE%\\AppData\\Local\\Temp')]);
  return root;
}

export function samHive(): HiveTreeKey {
  const root: HiveTreeKey = { name: 'ROOT' };
  // SAM stores each account's RID as the *type* of the Names\<user> default value, with no data.
  const users: [string, number][] = [
    ['Administrator', 0x1f4],
    ['Guest', 0x1f5],
    ['DefaultAccount', 0x1f7],
    ['WDAGUtilityAccount', 0x1f8],
  ];
  put(root, 'SAM\\Domains\\Account', [
    binary(
      'F',
      Array.from({ length: 80 }, () => 0),
    ),
  ]);
  for (const [name, rid] of users) {
    put(root, `SAM\\Domains\\Account\\Users\\Names\\${name}`, [{ name: '', type: rid, data: new Uint8Array(0) }]);
    put(root, `SAM\\Domains\\Account\\Users\\${rid.toString(16).toUpperCase().padStart(8, '0')}`, [
      binary(
        'F',
        Array.from({ length: 80 }, () => 0),
      ),
    ]);
  }
  put(root, 'SAM\\Domains\\Builtin\\Aliases\\Names\\Administrators', [{ name: '', type: 0x220, data: new Uint8Array(0) }]);
  put(root, 'SAM\\Domains\\Builtin\\Aliases\\Names\\Users', [{ name: '', type: 0x221, data: new Uint8Array(0) }]);
  put(root, 'SAM\\RXACT', [{ name: '', type: 0, data: new Uint8Array(12) }]);
  return root;
}

export function securityHive(): HiveTreeKey {
  const root: HiveTreeKey = { name: 'ROOT' };
  put(root, 'Policy\\PolAdtEv', [{ name: '', type: 0, data: new Uint8Array(32) }]);
  put(root, 'Policy\\Accounts');
  put(root, 'Policy\\Secrets');
  put(root, 'Cache', [dword('NL$Control', 0)]);
  put(root, 'RXACT', [{ name: '', type: 0, data: new Uint8Array(12) }]);
  return root;
}
