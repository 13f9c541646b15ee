// Provisioned AppX packages that a Windows 11 24H2 install image carries, as package full names
// (Name_Version_Architecture_ResourceId_PublisherId). Family names and publisher IDs are those of
// the real packages; version numbers are representative. Used to make sample media realistic
// enough for app-removal steps: registry entries under AppxAllUserStore and WindowsApps folders.

export const SAMPLE_PROVISIONED_APPS: readonly string[] = [
  'Clipchamp.Clipchamp_2.2.8.0_neutral_~_yxz26nhyzhsrt',
  'Microsoft.BingNews_4.2.27001.0_neutral_~_8wekyb3d8bbwe',
  'Microsoft.BingWeather_4.53.33420.0_neutral_~_8wekyb3d8bbwe',
  'Microsoft.DesktopAppInstaller_2022.310.2333.0_neutral_~_8wekyb3d8bbwe',
  'Microsoft.GamingApp_2021.427.138.0_neutral_~_8wekyb3d8bbwe',
  'Microsoft.GetHelp_10.2201.421.0_neutral_~_8wekyb3d8bbwe',
  'Microsoft.MicrosoftOfficeHub_18.2204.1141.0_neutral_~_8wekyb3d8bbwe',
  'Microsoft.MicrosoftSolitaireCollection_4.12.3171.0_neutral_~_8wekyb3d8bbwe',
  'Microsoft.MicrosoftStickyNotes_4.2.2.0_neutral_~_8wekyb3d8bbwe',
  'Microsoft.OutlookForWindows_1.2024.214.400_x64__8wekyb3d8bbwe',
  'Microsoft.Paint_11.2201.22.0_neutral_~_8wekyb3d8bbwe',
  'Microsoft.PowerAutomateDesktop_10.0.3735.0_neutral_~_8wekyb3d8bbwe',
  'Microsoft.ScreenSketch_2022.2201.12.0_neutral_~_8wekyb3d8bbwe',
  'Microsoft.SecHealthUI_1000.26100.1.0_x64__8wekyb3d8bbwe',
  'Microsoft.StorePurchaseApp_12008.1001.113.0_neutral_~_8wekyb3d8bbwe',
  'Microsoft.Todos_2.54.42772.0_neutral_~_8wekyb3d8bbwe',
  'Microsoft.UI.Xaml.2.8_8.2310.30001.0_x64__8wekyb3d8bbwe',
  'Microsoft.VCLibs.140.00_14.0.30704.0_x64__8wekyb3d8bbwe',
  'Microsoft.WindowsAlarms_2022.2202.24.0_neutral_~_8wekyb3d8bbwe',
  'Microsoft.WindowsCalculator_2021.2311.0.0_neutral_~_8wekyb3d8bbwe',
  'Microsoft.WindowsCamera_2022.2201.4.0_neutral_~_8wekyb3d8bbwe',
  'Microsoft.WindowsFeedbackHub_2022.106.2230.0_neutral_~_8wekyb3d8bbwe',
  'Microsoft.WindowsNotepad_11.2112.32.0_neutral_~_8wekyb3d8bbwe',
  'Microsoft.WindowsStore_22204.1400.4.0_neutral_~_8wekyb3d8bbwe',
  'Microsoft.WindowsTerminal_3001.12.10983.0_neutral_~_8wekyb3d8bbwe',
  'Microsoft.Xbox.TCUI_1.23.28004.0_neutral_~_8wekyb3d8bbwe',
  'Microsoft.XboxGamingOverlay_2.622.3232.0_neutral_~_8wekyb3d8bbwe',
  'Microsoft.YourPhone_1.22022.147.0_neutral_~_8wekyb3d8bbwe',
  'Microsoft.ZuneMusic_11.2202.46.0_neutral_~_8wekyb3d8bbwe',
  'MicrosoftCorporationII.QuickAssist_2022.414.1758.0_neutral_~_8wekyb3d8bbwe',
  'MicrosoftWindows.Client.WebExperience_421.20070.195.0_neutral_~_cw5n1h2txyewy',
];

/** 'Microsoft.BingNews_4.2…_8wekyb3d8bbwe' → 'Microsoft.BingNews_8wekyb3d8bbwe' (the package family name). */
export function packageFamilyName(packageFullName: string): string {
  const parts = packageFullName.split('_');
  return `${parts[0]}_${parts[parts.length - 1]}`;
}
