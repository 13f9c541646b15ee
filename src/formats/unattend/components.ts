// The answer-file components validateUnattend knows: for each, the configuration passes it is
// valid in, the Windows versions that ship it, and its settings with their value types, nesting,
// list keys and the passes each setting is valid in. Facts come from Microsoft's "Unattended
// Windows Setup Reference" (REFERENCE below; each component's page is REFERENCE + its name in
// lower case, each setting's page adds its path, e.g. …/microsoft-windows-setup-userdata-accepteula).
// It is data only and deliberately partial: a component or setting missing here is reported as
// unknown (a warning), never as wrong.
import type { UnattendPass } from './model.js';

export const UNATTEND_REFERENCE = 'https://learn.microsoft.com/en-us/windows-hardware/customize/desktop/unattend/';

/** The releases the table describes; `target` in validateUnattend picks one. */
export const WINDOWS_VERSIONS = ['win10', 'win11', 'server2016', 'server2019', 'server2022', 'server2025'] as const;
export type WindowsVersion = (typeof WINDOWS_VERSIONS)[number];

const ALL: readonly WindowsVersion[] = WINDOWS_VERSIONS;
const CLIENT: readonly WindowsVersion[] = ['win10', 'win11'];
const SERVER: readonly WindowsVersion[] = ['server2016', 'server2019', 'server2022', 'server2025'];

/** What every setting may say besides its type. */
interface SettingBase {
  /** Passes the setting is valid in, when narrower than its component's. */
  passes?: readonly UnattendPass[];
  /** Releases that still honour it, when fewer than its component's. */
  versions?: readonly WindowsVersion[];
  /** Why the reference calls it deprecated; present means "warn". */
  deprecated?: string;
}

export interface StringSetting extends SettingBase {
  type: 'string';
  maxLength?: number;
  /** A regular expression the whole (trimmed) value must match, and what it means. */
  pattern?: { source: string; hint: string };
  /** A local user-account name: Microsoft's user-name rules apply (see validate.ts). */
  accountName?: boolean;
}
export interface BooleanSetting extends SettingBase {
  type: 'boolean';
}
export interface IntegerSetting extends SettingBase {
  type: 'integer';
  min?: number;
  max?: number;
}
export interface EnumSetting extends SettingBase {
  type: 'enum';
  /** Allowed values, as the reference spells them. */
  values: readonly string[];
  /** Other values are only a warning: the reference lists these, but Setup is known to take more. */
  open?: boolean;
}
export interface ComplexSetting extends SettingBase {
  type: 'complex';
  children: SettingTable;
  /** `Value` + `PlainText` pair; a hidden value is Base64 of UTF-16LE(password + element name). */
  password?: boolean;
}
export interface ListSetting extends SettingBase {
  type: 'list';
  /**
   * Name of the list-item element (each carries `wcm:action`). When it equals the setting's own
   * name (Disk, MetaData, DomainAccount) the items repeat in the parent without a wrapper.
   */
  item: string;
  /** What identifies an item: a child element's name, or '@keyValue' for `wcm:keyValue`. */
  key: string;
  children: SettingTable;
}

export type SettingSpec = StringSetting | BooleanSetting | IntegerSetting | EnumSetting | ComplexSetting | ListSetting;
export type SettingTable = Readonly<Record<string, SettingSpec>>;

export interface ComponentSpec {
  passes: readonly UnattendPass[];
  versions: readonly WindowsVersion[];
  /** The component's reference page. */
  source: string;
  settings: SettingTable;
  /** The table lists only some of its settings: others are reported as info, not warnings. */
  partial?: boolean;
  deprecated?: string;
}

// Small constructors keep the table readable; they only build plain objects.
const str = (extra: Omit<StringSetting, 'type'> = {}): StringSetting => ({ type: 'string', ...extra });
const bool = (extra: SettingBase = {}): BooleanSetting => ({ type: 'boolean', ...extra });
const int = (min?: number, max?: number, extra: SettingBase = {}): IntegerSetting => ({ type: 'integer', min, max, ...extra });
const oneOf = (values: readonly string[], extra: SettingBase & { open?: boolean } = {}): EnumSetting => ({ type: 'enum', values, ...extra });
const group = (children: SettingTable, extra: SettingBase = {}): ComplexSetting => ({ type: 'complex', children, ...extra });
const list = (item: string, key: string, children: SettingTable, extra: SettingBase = {}): ListSetting => ({ type: 'list', item, key, children, ...extra });
const page = (name: string) => UNATTEND_REFERENCE + name.toLowerCase();

// Shared value shapes from the reference.
/** WillShowUI everywhere it appears: Always, OnError (the default), Never. */
const WILL_SHOW_UI = oneOf(['Always', 'OnError', 'Never']);
/** Language tags such as en-US (RFC 3066, as the International-Core pages say). */
const LANGUAGE_TAG = str({ pattern: { source: '^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$', hint: 'a language tag such as en-US' } });
/** InputLocale: `;`-separated language tags or `LCID:KLID` pairs (e.g. 0409:00000409) or TIP GUID pairs. */
const INPUT_LOCALE = str({
  pattern: {
    source: '^((([A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*)|([0-9A-Fa-f]{4}:([0-9A-Fa-f]{8}|\\{[0-9A-Fa-f-]{36}\\}\\{[0-9A-Fa-f-]{36}\\})))(;|$))+$',
    hint: 'language tags or LCID:KLID pairs separated by ";", such as en-US or 0409:00000409',
  },
});
/** A password element: Value plus PlainText (default true); a hidden Value is Base64. */
const password = (extra: SettingBase = {}): ComplexSetting => ({ type: 'complex', password: true, children: { Value: str(), PlainText: bool() }, ...extra });
const CREDENTIALS = group({ Domain: str(), Password: str(), Username: str() });
/** RunSynchronousCommand in Setup and Deployment: Order is 1-based and identifies the item. */
const RUN_SYNCHRONOUS = list('RunSynchronousCommand', 'Order', {
  Credentials: CREDENTIALS,
  Description: str({ maxLength: 256 }),
  Order: int(1),
  Path: str({ maxLength: 259 }),
  WillReboot: oneOf(['Always', 'OnRequest', 'Never']),
});
const RUN_ASYNCHRONOUS = list('RunAsynchronousCommand', 'Order', { Credentials: CREDENTIALS, Description: str({ maxLength: 256 }), Order: int(1), Path: str({ maxLength: 259 }) });
const DRIVER_PATHS = list('PathAndCredentials', '@keyValue', { Credentials: CREDENTIALS, Path: str() });
const INTERNATIONAL = {
  InputLocale: INPUT_LOCALE,
  SystemLocale: LANGUAGE_TAG,
  UILanguage: LANGUAGE_TAG,
  UILanguageFallback: LANGUAGE_TAG,
  UserLocale: LANGUAGE_TAG,
} as const;

// Microsoft-Windows-Setup/DiskConfiguration: Type values and what each means are on
// …/microsoft-windows-setup-diskconfiguration-disk-createpartitions-createpartition-type
// (EFI and MSR only on GPT disks, Extended and Logical only on MBR disks).
export const PARTITION_TYPES = ['Primary', 'EFI', 'MSR', 'Extended', 'Logical'] as const;

const DISK = list('Disk', 'DiskID', {
  CreatePartitions: list('CreatePartition', 'Order', {
    Extend: bool(),
    Order: int(1),
    /** Megabytes. */
    Size: int(1),
    Type: oneOf(PARTITION_TYPES),
  }),
  DiskID: int(0),
  ModifyPartitions: list('ModifyPartition', 'Order', {
    Active: bool(),
    Extend: bool(),
    Format: oneOf(['NTFS', 'FAT32']),
    Label: str({ maxLength: 32 }),
    Letter: str({ pattern: { source: '^[A-Za-z]$', hint: 'a single drive letter' } }),
    Order: int(1),
    PartitionID: int(1),
    TypeID: str(),
  }),
  WillWipeDisk: bool(),
});

const IMAGE_INSTALL_FROM = group({
  Credentials: CREDENTIALS,
  // …/microsoft-windows-setup-imageinstall-osimage-installfrom-metadata-key documents three keys;
  // answer files for Insider builds also select by other image properties such as /IMAGE/EditionID.
  MetaData: list('MetaData', 'Key', { Key: oneOf(['/IMAGE/INDEX', '/IMAGE/NAME', '/IMAGE/DESCRIPTION'], { open: true }), Value: str() }),
  Path: str(),
});
const INSTALL_TO = group({ DiskID: int(0), PartitionID: int(1) });

/** The table, by component name. */
export const UNATTEND_COMPONENTS: Readonly<Record<string, ComponentSpec>> = {
  'Microsoft-Windows-Setup': {
    passes: ['windowsPE'],
    versions: ALL,
    source: page('Microsoft-Windows-Setup'),
    settings: {
      ComplianceCheck: group({ DisplayReport: oneOf(['OnError', 'Never', 'Always']) }),
      Diagnostics: group({ OptIn: bool() }),
      DiskConfiguration: group({ Disk: DISK, WillShowUI: WILL_SHOW_UI }),
      Display: group({ ColorDepth: int(1), HorizontalResolution: int(1), RefreshRate: int(1), VerticalResolution: int(1) }),
      DynamicUpdate: group({ Enable: bool(), WillShowUI: WILL_SHOW_UI }),
      EnableFirewall: bool(),
      EnableNetwork: bool(),
      ImageInstall: group({
        DataImage: list('DataImage', 'Order', { InstallFrom: IMAGE_INSTALL_FROM, InstallTo: INSTALL_TO, Order: int(1) }),
        OSImage: group({
          Compact: bool(),
          InstallFrom: IMAGE_INSTALL_FROM,
          InstallTo: INSTALL_TO,
          InstallToAvailablePartition: bool(),
          WillShowUI: WILL_SHOW_UI,
        }),
      }),
      LogPath: str(),
      PageFile: group({ Path: str(), Size: int(1) }),
      Restart: oneOf(['Restart', 'Shutdown']),
      RunAsynchronous: RUN_ASYNCHRONOUS,
      RunSynchronous: RUN_SYNCHRONOUS,
      UpgradeData: group({ Upgrade: bool(), WillShowUI: WILL_SHOW_UI }),
      UseConfigurationSet: bool(),
      UserData: group({
        AcceptEula: bool(),
        FullName: str(),
        Organization: str(),
        ProductKey: group({
          // Empty is allowed: Setup then asks, or picks the edition from the image.
          Key: str({ pattern: { source: '^([A-Za-z0-9]{5}-){4}[A-Za-z0-9]{5}$|^$', hint: 'a product key like XXXXX-XXXXX-XXXXX-XXXXX-XXXXX' } }),
          WillShowUI: WILL_SHOW_UI,
        }),
      }),
      WindowsDeploymentServices: group({
        ImageSelection: group({
          InstallImage: group({ Filename: str(), ImageGroup: str(), ImageName: str() }),
          InstallTo: INSTALL_TO,
          WillShowUI: WILL_SHOW_UI,
        }),
        Login: group({ Credentials: CREDENTIALS, WillShowUI: WILL_SHOW_UI }),
      }),
    },
  },

  'Microsoft-Windows-International-Core-WinPE': {
    passes: ['windowsPE'],
    versions: ALL,
    source: page('Microsoft-Windows-International-Core-WinPE'),
    settings: {
      ...INTERNATIONAL,
      LayeredDriver: int(1, 6),
      SetupUILanguage: group({ UILanguage: LANGUAGE_TAG, WillShowUI: WILL_SHOW_UI }),
    },
  },

  // …/microsoft-windows-international-core-uilanguagefallback: valid in oobeSystem and specialize.
  'Microsoft-Windows-International-Core': {
    passes: ['specialize', 'oobeSystem'],
    versions: ALL,
    source: page('Microsoft-Windows-International-Core'),
    settings: { ...INTERNATIONAL },
  },

  'Microsoft-Windows-Shell-Setup': {
    passes: ['offlineServicing', 'generalize', 'specialize', 'auditSystem', 'auditUser', 'oobeSystem'],
    versions: ALL,
    source: page('Microsoft-Windows-Shell-Setup'),
    settings: {
      AutoLogon: group(
        {
          Domain: str(),
          Enabled: bool(),
          LogonCount: int(1),
          Password: password(),
          Username: str(),
        },
        { passes: ['auditSystem', 'oobeSystem', 'specialize'] },
      ),
      BluetoothTaskbarIconEnabled: bool({ passes: ['oobeSystem', 'specialize'] }),
      // …/microsoft-windows-shell-setup-computername: at most 15 characters; `*` asks for a random name.
      ComputerName: str({
        passes: ['offlineServicing', 'specialize'],
        maxLength: 15,
        pattern: {
          source: '^(\\*|(?!\\d+$)[^ {|}~\\[\\]^\':;<=>?@!"#$%`\\\\()+/.,*&]+)$',
          hint: 'a NetBIOS name, not only digits, without spaces or {|}~[]^\':;<=>?@!"#$%`\\()+/.,*&, or *',
        },
      }),
      ConvertibleSlateModePromptPreference: int(0, 1, { passes: ['oobeSystem', 'specialize'] }),
      CopyProfile: bool({ passes: ['specialize'] }),
      DesktopOptimization: group({ GoToDesktopOnSignIn: bool(), ShowWindowsStoreAppsOnTaskbar: bool() }, { passes: ['offlineServicing', 'oobeSystem', 'specialize'] }),
      DisableAutoDaylightTimeSet: bool({ passes: ['oobeSystem', 'specialize'] }),
      Display: group(
        { ColorDepth: int(1), DPI: int(1), HorizontalResolution: int(1), RefreshRate: int(1), VerticalResolution: int(1) },
        { passes: ['auditSystem', 'oobeSystem', 'specialize'] },
      ),
      DoNotCleanTaskBar: bool({ passes: ['specialize'] }),
      FirstLogonCommands: list(
        'SynchronousCommand',
        'Order',
        { CommandLine: str({ maxLength: 1024 }), Description: str({ maxLength: 256 }), Order: int(1), RequiresUserInput: bool() },
        { passes: ['oobeSystem'] },
      ),
      FolderLocations: group({ ProfilesDirectory: str(), ProgramData: str() }, { passes: ['oobeSystem'] }),
      LogonCommands: list(
        'AsynchronousCommand',
        'Order',
        { Action: str(), CommandLine: str({ maxLength: 1024 }), Description: str({ maxLength: 256 }), Order: int(1), RequiresUserInput: bool() },
        { passes: ['oobeSystem'] },
      ),
      // …/microsoft-windows-shell-setup-oeminformation: HelpCustomized is listed as deprecated.
      OEMInformation: group(
        {
          HelpCustomized: bool({ deprecated: 'the Get Help app replaced it; set SupportURL or SupportAppURL instead' }),
          Logo: str(),
          Manufacturer: str(),
          Model: str(),
          RecycleURL: str(),
          SupportAppURL: str(),
          SupportHours: str(),
          SupportPhone: str(),
          SupportProvider: str(),
          SupportURL: str(),
          TradeinURL: str(),
        },
        { passes: ['auditUser', 'generalize', 'offlineServicing', 'oobeSystem', 'specialize'] },
      ),
      OEMName: str({ passes: ['offlineServicing', 'oobeSystem', 'specialize'] }),
      // …/microsoft-windows-shell-setup-oobe: valid in oobeSystem only.
      OOBE: group(
        {
          HideEULAPage: bool(),
          HideLocalAccountScreen: bool(),
          HideOEMRegistrationScreen: bool(),
          HideOnlineAccountScreens: bool(),
          HideWirelessSetupInOOBE: bool(),
          NetworkLocation: oneOf(['Home', 'Work', 'Other'], { deprecated: 'marked deprecated for Windows 10 and later; Windows picks the network profile itself' }),
          OEMAppId: str(),
          ProtectYourPC: int(1, 3),
          // …/microsoft-windows-shell-setup-oobe-skipmachineoobe: "deprecated in Windows 8".
          SkipMachineOOBE: bool({ deprecated: 'deprecated since Windows 8; set the Hide… settings and ProtectYourPC instead' }),
          SkipUserOOBE: bool({ deprecated: 'deprecated since Windows 8; set the Hide… settings and ProtectYourPC instead' }),
          UnattendEnableRetailDemo: bool(),
          VMModeOptimizations: group({ SkipAdministratorProfileRemoval: bool(), SkipNotifyUILanguageChange: bool(), SkipWinREInitialization: bool() }),
        },
        { passes: ['oobeSystem'] },
      ),
      OfflineUserAccounts: group(
        {
          OfflineAdministratorPassword: password(),
          OfflineDomainAccounts: list('OfflineDomainAccount', '@keyValue', { Group: str(), SID: str() }),
          OfflineLocalAccounts: list('LocalAccount', 'Name', {
            Description: str({ maxLength: 256 }),
            DisplayName: str({ maxLength: 256 }),
            Group: str({ maxLength: 256 }),
            Name: str({ accountName: true }),
            Password: password(),
          }),
        },
        { passes: ['offlineServicing'] },
      ),
      ProductKey: str({ passes: ['specialize'] }),
      RegisteredOrganization: str({ passes: ['auditSystem', 'generalize', 'offlineServicing', 'oobeSystem', 'specialize'] }),
      RegisteredOwner: str({ passes: ['auditSystem', 'generalize', 'offlineServicing', 'oobeSystem', 'specialize'] }),
      ShowWindowsLive: bool({ passes: ['oobeSystem', 'specialize'], deprecated: 'deprecated since Windows 8 (Windows Live no longer exists)' }),
      StartPanelOff: bool({ passes: ['oobeSystem', 'specialize'] }),
      StartTiles: group({}, { passes: ['oobeSystem', 'specialize'], deprecated: 'the Windows 8 Start screen tiles; Windows 10 and later ignore it' }),
      TaskbarLinks: group({ Link0: str(), Link1: str(), Link2: str(), Link3: str(), Link4: str(), Link5: str() }, { passes: ['oobeSystem', 'specialize'] }),
      Themes: group(
        {
          BrandIcon: str(),
          CustomDefaultThemeFile: str(),
          DefaultThemesOff: bool(),
          DesktopBackground: str(),
          ScreenSaver: str(),
          ThemeName: str(),
          UWPAppsUseLightTheme: bool(),
          WindowColor: str(),
        },
        { passes: ['oobeSystem', 'specialize'] },
      ),
      TimeZone: str({ passes: ['auditSystem', 'oobeSystem', 'specialize'] }),
      // …/microsoft-windows-shell-setup-useraccounts-localaccounts-localaccount-name: auditSystem, oobeSystem.
      UserAccounts: group(
        {
          AdministratorPassword: password(),
          DomainAccounts: list('DomainAccountList', '@keyValue', {
            Domain: str(),
            DomainAccount: list('DomainAccount', '@keyValue', { Group: str(), Name: str() }),
          }),
          LocalAccounts: list('LocalAccount', 'Name', {
            Description: str({ maxLength: 256 }),
            DisplayName: str({ maxLength: 256 }),
            Group: str({ maxLength: 256 }),
            Name: str({ accountName: true }),
            Password: password(),
          }),
        },
        { passes: ['auditSystem', 'oobeSystem'] },
      ),
      VisualEffects: group({ FontSmoothing: str(), SystemDefaultBackgroundColor: int(0) }, { passes: ['oobeSystem', 'specialize'] }),
      WindowsFeatures: group(
        { ShowInternetExplorer: bool(), ShowMediaCenter: bool(), ShowWindowsMail: bool(), ShowWindowsMediaPlayer: bool() },
        { passes: ['oobeSystem', 'specialize'] },
      ),
    },
  },

  'Microsoft-Windows-Deployment': {
    passes: ['offlineServicing', 'generalize', 'specialize', 'auditSystem', 'auditUser', 'oobeSystem'],
    versions: ALL,
    source: page('Microsoft-Windows-Deployment'),
    settings: {
      DeviceForm: int(0, undefined, { passes: ['offlineServicing', 'specialize'] }),
      ExtendOSPartition: group({ Extend: bool() }, { passes: ['generalize', 'specialize', 'auditSystem', 'oobeSystem'] }),
      Generalize: group({ ForceShutdownNow: bool(), Mode: oneOf(['OOBE', 'Audit']) }, { passes: ['auditSystem', 'auditUser'] }),
      Reseal: group({ ForceShutdownNow: bool(), Mode: oneOf(['Audit', 'OOBE']) }, { passes: ['auditSystem', 'auditUser', 'oobeSystem'] }),
      RunAsynchronous: { ...RUN_ASYNCHRONOUS, passes: ['auditUser', 'specialize'] },
      RunSynchronous: { ...RUN_SYNCHRONOUS, passes: ['auditUser', 'generalize', 'specialize'] },
    },
  },

  'Microsoft-Windows-PnpCustomizationsWinPE': {
    passes: ['windowsPE'],
    versions: ALL,
    source: page('Microsoft-Windows-PnpCustomizationsWinPE'),
    settings: { DriverPaths: DRIVER_PATHS },
  },
  'Microsoft-Windows-PnpCustomizationsNonWinPE': {
    passes: ['offlineServicing', 'auditSystem'],
    versions: ALL,
    source: page('Microsoft-Windows-PnpCustomizationsNonWinPE'),
    settings: { DriverPaths: DRIVER_PATHS },
  },
  'Microsoft-Windows-PnpSysprep': {
    passes: ['generalize'],
    versions: ALL,
    source: page('Microsoft-Windows-PnpSysprep'),
    settings: { DoNotCleanUpNonPresentDevices: bool(), PersistAllDeviceInstalls: bool() },
  },

  'Microsoft-Windows-UnattendedJoin': {
    passes: ['specialize'],
    versions: ALL,
    source: page('Microsoft-Windows-UnattendedJoin'),
    settings: {
      Identification: group({
        Credentials: CREDENTIALS,
        DebugJoin: bool(),
        DebugJoinOnlyOnThisError: str(),
        JoinDomain: str(),
        JoinWorkgroup: str(),
        MachineObjectOU: str(),
        MachinePassword: str(),
        Provisioning: group({ AccountData: str() }),
        TimeoutPeriodInMinutes: int(1),
        UnsecureJoin: bool(),
      }),
    },
  },

  'Microsoft-Windows-TCPIP': {
    passes: ['windowsPE', 'specialize'],
    versions: ALL,
    source: page('Microsoft-Windows-TCPIP'),
    settings: {
      IcmpRedirectsEnabled: bool(),
      Interfaces: list('Interface', 'Identifier', {
        Identifier: str(),
        Ipv4Settings: group({ DhcpEnabled: bool(), Metric: int(0), RouterDiscoveryEnabled: bool() }),
        Ipv6Settings: group({ DhcpEnabled: bool(), Metric: int(0), RouterDiscoveryEnabled: bool() }),
        Routes: list('Route', 'Identifier', { Identifier: str(), Metric: int(0), NextHopAddress: str(), Prefix: str() }),
        UnicastIpAddresses: list('IpAddress', '@keyValue', {}),
      }),
    },
  },
  'Microsoft-Windows-DNS-Client': {
    passes: ['windowsPE', 'specialize'],
    versions: ALL,
    source: page('Microsoft-Windows-DNS-Client'),
    settings: {
      DNSDomain: str(),
      DNSSuffixSearchOrder: list('DomainName', '@keyValue', {}),
      DisableDynamicUpdate: bool(),
      EnableAdapterDomainNameRegistration: bool(),
      Interfaces: list('Interface', 'Identifier', {
        DNSDomain: str(),
        DNSServerSearchOrder: list('IpAddress', '@keyValue', {}),
        DisableDynamicUpdate: bool(),
        EnableAdapterDomainNameRegistration: bool(),
        Identifier: str(),
      }),
      UseDomainNameDevolution: bool(),
    },
  },
  'Microsoft-Windows-NetBT': {
    passes: ['specialize'],
    versions: ALL,
    source: page('Microsoft-Windows-NetBT'),
    settings: { Interfaces: list('Interface', 'Identifier', { Identifier: str(), NetbiosOptions: int(0, 2) }) },
  },

  'Microsoft-Windows-TerminalServices-LocalSessionManager': {
    passes: ['offlineServicing', 'generalize', 'specialize'],
    versions: ALL,
    source: page('Microsoft-Windows-TerminalServices-LocalSessionManager'),
    settings: { fDenyTSConnections: bool() },
  },
  'Microsoft-Windows-TerminalServices-RDP-WinStationExtensions': {
    passes: ['generalize', 'specialize'],
    versions: ALL,
    source: page('Microsoft-Windows-TerminalServices-RDP-WinStationExtensions'),
    settings: { SecurityLayer: int(0, 2), UserAuthentication: int(0, 1) },
  },
  'Microsoft-Windows-SecureStartup-FilterDriver': {
    passes: ['offlineServicing', 'generalize', 'specialize'],
    versions: ALL,
    source: page('Microsoft-Windows-SecureStartup-FilterDriver'),
    settings: { PreventDeviceEncryption: bool() },
  },
  'Microsoft-Windows-EnhancedStorage-Adm': {
    passes: ['offlineServicing', 'specialize'],
    versions: ALL,
    source: page('Microsoft-Windows-EnhancedStorage-Adm'),
    settings: { TCGSecurityActivationDisabled: int(0, 1) },
  },
  'Microsoft-Windows-PartitionManager': {
    passes: ['offlineServicing', 'specialize'],
    versions: ALL,
    source: page('Microsoft-Windows-PartitionManager'),
    settings: { SanPolicy: int(1, 4) },
  },

  'Microsoft-Windows-Security-SPP': {
    passes: ['generalize', 'specialize'],
    versions: ALL,
    source: page('Microsoft-Windows-Security-SPP'),
    settings: {
      DisableDnsPublishing: bool({ passes: ['specialize'] }),
      DisableKeyManagementServiceHostCaching: bool({ passes: ['specialize'] }),
      KeyManagementServiceName: str({ passes: ['specialize'] }),
      KeyManagementServicePort: int(1, 65535, { passes: ['specialize'] }),
      // …/microsoft-windows-security-spp-skiprearm: 0 resets the activation clock, 1 keeps it.
      SkipRearm: int(0, 1, { passes: ['generalize'] }),
    },
  },
  // …/microsoft-windows-security-spp-ux-skipautoactivation: valid in specialize.
  'Microsoft-Windows-Security-SPP-UX': {
    passes: ['specialize'],
    versions: ALL,
    source: page('Microsoft-Windows-Security-SPP-UX'),
    settings: { SkipAutoActivation: bool() },
  },
  // …/microsoft-windows-lua-settings-enablelua: valid in offlineServicing.
  'Microsoft-Windows-LUA-Settings': {
    passes: ['offlineServicing'],
    versions: ALL,
    source: page('Microsoft-Windows-LUA-Settings'),
    settings: { EnableLUA: bool() },
  },
  'Microsoft-Windows-Lsa': {
    passes: ['offlineServicing', 'specialize'],
    versions: ALL,
    source: page('Microsoft-Windows-Lsa'),
    partial: true,
    settings: { LimitBlankPasswordUse: int(0, 1) },
  },
  'Microsoft-Windows-CodeIntegrity': {
    passes: ['offlineServicing', 'specialize'],
    versions: ALL,
    source: page('Microsoft-Windows-CodeIntegrity'),
    partial: true,
    // 1 keeps the installed Windows in S mode, 0 does not.
    settings: { SkuPolicyRequired: int(0, 1) },
  },

  'Microsoft-Windows-IE-InternetExplorer': {
    passes: ['windowsPE', 'specialize'],
    // Internet Explorer 11 is retired and no longer part of Windows 11 or Server 2025.
    versions: ['win10', 'server2016', 'server2019', 'server2022'],
    source: page('Microsoft-Windows-IE-InternetExplorer'),
    partial: true,
    settings: {
      BlockPopups: str(),
      CompanyName: str(),
      DisableFirstRunWizard: bool(),
      DisableWelcomePage: bool(),
      Help_Page: str(),
      Home_Page: str(),
    },
  },
  // IE Enhanced Security Configuration exists on Windows Server only.
  'Microsoft-Windows-IE-ESC': {
    passes: ['specialize'],
    versions: SERVER,
    source: page('Microsoft-Windows-IE-ESC'),
    settings: { IEHardenAdmin: bool(), IEHardenUser: bool() },
  },
  'Microsoft-Windows-ServerManager-SvrMgrNc': {
    passes: ['specialize'],
    versions: SERVER,
    source: page('Microsoft-Windows-ServerManager-SvrMgrNc'),
    settings: { DoNotOpenServerManagerAtLogon: bool() },
  },
  // Initial Configuration Tasks was a Windows Server 2008 / 2008 R2 screen; Server Manager
  // replaced it in Windows Server 2012, so no release in this table has the component.
  'Microsoft-Windows-OutOfBoxExperience': {
    passes: ['specialize'],
    versions: [],
    source: 'https://learn.microsoft.com/en-us/previous-versions/windows/it-pro/windows-server-2008-R2-and-2008/',
    settings: { DoNotOpenInitialConfigurationTasksAtLogon: bool() },
    deprecated: 'Initial Configuration Tasks was removed in Windows Server 2012; Setup ignores this component',
  },

  'Microsoft-Windows-ErrorReportingCore': {
    passes: ['specialize', 'oobeSystem'],
    versions: ALL,
    source: page('Microsoft-Windows-ErrorReportingCore'),
    settings: { DisableWER: int(0, 1) },
  },
  'Microsoft-Windows-SQMApi': {
    passes: ['specialize', 'oobeSystem'],
    versions: ALL,
    source: page('Microsoft-Windows-SQMApi'),
    settings: { CEIPEnabled: int(0, 1) },
  },
  'Microsoft-Windows-Web-Services-for-Management-Core': {
    passes: ['specialize'],
    versions: ALL,
    source: page('Microsoft-Windows-Web-Services-for-Management-Core'),
    settings: { ConfigureWindowsRemoteManagement: bool() },
  },
  'Microsoft-Windows-RemoteAssistance-Exe': {
    passes: ['specialize'],
    versions: ALL,
    source: page('Microsoft-Windows-RemoteAssistance-Exe'),
    settings: {
      CreateEncryptedOnlyTickets: bool(),
      fAllowFullControl: bool(),
      fAllowToGetHelp: bool(),
      MaxTicketExpiry: int(1),
      MaxTicketExpiryUnits: int(0, 2),
    },
  },
  'Networking-MPSSVC-Svc': {
    passes: ['specialize'],
    versions: ALL,
    source: page('Networking-MPSSVC-Svc'),
    partial: true,
    settings: {
      DisableStatefulFTP: bool(),
      DisableStatefulPPTP: bool(),
      DomainProfile_EnableFirewall: bool(),
      FirewallGroups: list('FirewallGroup', '@keyValue', { Active: bool(), Group: str(), Key: str(), Profile: oneOf(['all', 'domain', 'private', 'public']) }),
      PrivateProfile_EnableFirewall: bool(),
      PublicProfile_EnableFirewall: bool(),
    },
  },
  'Microsoft-Windows-powercpl': {
    passes: ['specialize', 'oobeSystem'],
    versions: ALL,
    source: page('Microsoft-Windows-powercpl'),
    settings: { PreferredPlan: str({ pattern: { source: '^[0-9A-Fa-f]{8}-([0-9A-Fa-f]{4}-){3}[0-9A-Fa-f]{12}$', hint: 'a power-plan GUID' } }) },
  },
  'Microsoft-Windows-SystemRestore-Main': {
    passes: ['specialize'],
    versions: CLIENT,
    source: page('Microsoft-Windows-SystemRestore-Main'),
    settings: { DisableSR: int(0, 1) },
  },
  // Windows 10/11 Enterprise and IoT Enterprise (embedded logon features).
  'Microsoft-Windows-Embedded-EmbeddedLogon': {
    passes: ['offlineServicing', 'specialize'],
    versions: CLIENT,
    source: page('Microsoft-Windows-Embedded-EmbeddedLogon'),
    settings: { AnimationDisabled: int(0, 1), BrandingNeutral: int(0), HideAutoLogonUI: int(0, 1), NoLockScreen: int(0, 1), UIVerbosityLevel: int(0) },
  },
  'Microsoft-Windows-Embedded-BootExp': {
    passes: ['offlineServicing', 'specialize'],
    versions: CLIENT,
    source: page('Microsoft-Windows-Embedded-BootExp'),
    partial: true,
    settings: { DisableBootMenu: int(0, 1), DisplayDisabled: int(0, 1) },
  },
};

/** Processor architectures Windows Setup matches components by (unattend reference, "component"). */
export const PROCESSOR_ARCHITECTURES = ['x86', 'amd64', 'arm64', 'wow64'] as const;
