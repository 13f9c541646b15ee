// The `remove-apps` step: removes provisioned apps chosen from the app catalog (exact package names,
// never substrings), blocks the Windows Update orchestrator from reinstalling Outlook, Dev Home,
// Teams and Copilot, removes Edge and OneDrive the way tiny11/schneegans/Rufus do, and removes or
// enables capabilities and optional features. plan() says for every item how and when it happens:
// offline (keys and folders in the image) or at Windows Setup (a script run in the specialize pass).
// It does not service the component store: AppX deployment, capabilities and features need a
// running Windows, so those parts are left to the setup-time script.
import { z } from 'zod';
import {
  type AppEntry,
  appliesTo,
  type CapabilityEntry,
  defaultAppCatalog,
  resolveAppSelection,
  resolveCapabilities,
  type WindowsRelease,
  windowsReleaseOf,
} from '../../catalog/apps.js';
import { foldName } from '../../formats/wim/index.js';
import type { WindowsImage } from '../../image/windows-image.js';
import { silentProgress } from '../../progress.js';
import type { RegistryStep } from '../../recipe/schema.js';
import { type ChangeTime, defineStep, type StepPlan } from '../define-step.js';
import { type RegistryChange, registryStep } from '../registry/step.js';
import { removeFilesStep } from '../remove-files/step.js';

const REINSTALL_TARGETS = ['outlook', 'devhome', 'teams', 'copilot'] as const;
type ReinstallTarget = (typeof REINSTALL_TARGETS)[number];

const RefList = z.array(z.string().min(1)).min(1);

export const RemoveAppsStepSchema = z
  .object({
    type: z.literal('remove-apps'),
    description: z.string().optional(),
    apps: RefList.optional().describe('catalog ids, exact package names (Microsoft.BingNews) or exact family names; never substrings'),
    categories: RefList.optional().describe('app catalog categories, e.g. games, news-weather; apps kept by default are skipped'),
    presets: RefList.optional().describe('app catalog presets, e.g. consumer, xbox'),
    exclude: RefList.optional().describe('apps to keep although a category or preset names them'),
    mechanism: z
      .enum(['setup', 'offline', 'both'])
      .optional()
      .describe('setup: Remove-AppxProvisionedPackage in the specialize pass (reliable); offline: AppxAllUserStore keys in the image; both. Default: per app, from the catalog'),
    deleteFolders: z.boolean().optional().describe('with offline removal, also delete the apps\u2019 folders under Program Files\\WindowsApps'),
    force: z.boolean().optional().describe('allow removing apps the catalog keeps by default (Store, App Installer, frameworks...)'),
    blockReinstall: z
      .union([z.boolean(), z.array(z.enum(REINSTALL_TARGETS)).min(1)])
      .optional()
      .describe('keys that stop Windows Update from reinstalling Outlook, Dev Home, Teams and Copilot; true for all four'),
    edge: z.boolean().optional().describe('delete Microsoft Edge the tiny11 way (program folders and uninstall keys)'),
    edgeWebView: z.boolean().optional().describe('with edge, also delete the Edge WebView2 runtime in System32 (apps that embed web views break)'),
    onedrive: z.boolean().optional().describe('remove OneDrive setup from the image and the default user, and set the policy that disables its sync client'),
    capabilities: RefList.optional().describe('capability and optional feature catalog ids to remove at setup'),
    enableFeatures: RefList.optional().describe('optional feature catalog ids to enable at setup, e.g. netfx3, wsl'),
  })
  .strict()
  .superRefine((step, ctx) => {
    const selects = [step.apps, step.categories, step.presets, step.capabilities, step.enableFeatures].some((l) => l !== undefined);
    const extras = step.blockReinstall !== undefined && step.blockReinstall !== false;
    if (!selects && !extras && !step.edge && !step.onedrive) {
      ctx.addIssue({ code: 'custom', message: 'expected something to do: apps, categories, presets, capabilities, enableFeatures, blockReinstall, edge or onedrive' });
    }
    if (step.deleteFolders && step.mechanism === 'setup') {
      ctx.addIssue({ code: 'custom', path: ['deleteFolders'], message: 'deleting folders needs offline deprovisioning: use mechanism offline or both' });
    }
    if (step.edgeWebView && !step.edge) ctx.addIssue({ code: 'custom', path: ['edgeWebView'], message: 'expected edge: true with edgeWebView' });
  })
  .describe('remove provisioned apps (catalog), Edge and OneDrive; block reinstalls; remove or enable capabilities and features at setup');

export type RemoveAppsStep = z.infer<typeof RemoveAppsStepSchema>;
export type AppsMechanism = 'setup' | 'offline' | 'both';

export type RemoveAppsChange =
  | {
      kind: 'app';
      id: string;
      displayName: string;
      packageName: string;
      /** From the catalog, else read from the image; null when neither knows it. */
      family: string | null;
      mechanism: AppsMechanism;
      deleteFolders: boolean;
      when: ChangeTime[];
      /** What the image holds: WindowsApps folder names and AppxAllUserStore\Applications subkeys. */
      inImage: { folders: string[]; registered: string[] };
      /** Whether the catalog lists the app for the image's Windows release. */
      listedForRelease: 'yes' | 'unverified' | 'no';
    }
  | { kind: 'component'; id: string; name: string; componentKind: 'capability' | 'feature'; action: 'remove' | 'enable'; when: 'windows-setup' }
  | { kind: 'registry'; when: 'offline'; reason: string; change: RegistryChange }
  | { kind: 'remove-path'; when: 'offline'; reason: string; path: string; isDirectory: boolean; size: number; files: number }
  | { kind: 'write-script'; when: 'offline'; reason: string; path: string; text: string }
  | { kind: 'specialize-command'; when: 'windows-setup'; commandLine: string; description: string };

// ── facts ────────────────────────────────────────────────────────────────────────────────────

/** SOFTWARE: where Windows keeps provisioned packages per machine. Deprovisioned\<family> tells
 *  Windows not to reinstall the package on update (Microsoft Learn, "How to keep apps removed from
 *  Windows 10 from returning during an update"); Applications\<full name> lists provisioned ones. */
export const APPX_STORE = 'Microsoft\\Windows\\CurrentVersion\\Appx\\AppxAllUserStore';
export const WINDOWS_APPS = '/Program Files/WindowsApps';
export const SCRIPT_IMAGE_PATH = '/Windows/Setup/Scripts/remove-apps.ps1';
export const SCRIPT_WINDOWS_PATH = 'C:\\Windows\\Setup\\Scripts\\remove-apps.ps1';
export const SPECIALIZE_COMMAND = `powershell.exe -NoProfile -ExecutionPolicy Bypass -File ${SCRIPT_WINDOWS_PATH}`;

/** A key to create (no name) or a REG_DWORD to set. */
interface RegSet {
  hive: 'SOFTWARE' | 'NTUSER';
  key: string;
  name?: string;
  dword?: number;
}
interface RegDelete {
  hive: 'SOFTWARE' | 'NTUSER';
  key: string;
  name?: string;
}

const ORCHESTRATOR = 'Microsoft\\Windows\\CurrentVersion\\WindowsUpdate\\Orchestrator';
const ORCHESTRATOR_OOBE_KEYS = 'Microsoft\\WindowsUpdate\\Orchestrator\\UScheduler_Oobe';

/** Reinstall blockers. Outlook/Dev Home: tiny11 sets workCompleted=1 under the orchestrator's
 *  UScheduler(_Oobe) entries and deletes the UScheduler_Oobe keys schneegans also deletes (two
 *  different paths, kept as the anchors have them; ANCHORS.md §5.3, §2.2, tiny11 #199). Teams:
 *  ConfigureChatAutoInstall=0 (schneegans, Rufus) and the Teams DisableInstallation policy (tiny11).
 *  Copilot: TurnOffWindowsCopilot=1 machine-wide (tiny11, Rufus) and for the default user (schneegans). */
const REINSTALL_KEYS: Record<ReinstallTarget, { set: RegSet[]; delete: RegDelete[] }> = {
  outlook: {
    set: [
      { hive: 'SOFTWARE', key: `${ORCHESTRATOR}\\UScheduler_Oobe\\OutlookUpdate`, name: 'workCompleted', dword: 1 },
      { hive: 'SOFTWARE', key: `${ORCHESTRATOR}\\UScheduler\\OutlookUpdate`, name: 'workCompleted', dword: 1 },
    ],
    delete: [{ hive: 'SOFTWARE', key: `${ORCHESTRATOR_OOBE_KEYS}\\OutlookUpdate` }],
  },
  devhome: {
    set: [
      { hive: 'SOFTWARE', key: `${ORCHESTRATOR}\\UScheduler_Oobe\\DevHomeUpdate`, name: 'workCompleted', dword: 1 },
      { hive: 'SOFTWARE', key: `${ORCHESTRATOR}\\UScheduler\\DevHomeUpdate`, name: 'workCompleted', dword: 1 },
    ],
    delete: [{ hive: 'SOFTWARE', key: `${ORCHESTRATOR_OOBE_KEYS}\\DevHomeUpdate` }],
  },
  teams: {
    set: [
      { hive: 'SOFTWARE', key: 'Microsoft\\Windows\\CurrentVersion\\Communications', name: 'ConfigureChatAutoInstall', dword: 0 },
      { hive: 'SOFTWARE', key: 'Policies\\Microsoft\\Teams', name: 'DisableInstallation', dword: 1 },
    ],
    delete: [],
  },
  copilot: {
    set: [
      { hive: 'SOFTWARE', key: 'Policies\\Microsoft\\Windows\\WindowsCopilot', name: 'TurnOffWindowsCopilot', dword: 1 },
      { hive: 'NTUSER', key: 'Software\\Policies\\Microsoft\\Windows\\WindowsCopilot', name: 'TurnOffWindowsCopilot', dword: 1 },
    ],
    delete: [],
  },
};

/** Catalog apps whose reinstall a blocker covers, to suggest it when the app is removed without it. */
const BLOCKER_FOR_APP: Record<string, ReinstallTarget> = { outlook: 'outlook', 'dev-home': 'devhome', teams: 'teams', 'teams-consumer': 'teams', copilot: 'copilot' };

/** Edge as tiny11 removes it: program folders, the WebView2 runtime (optional here) and the
 *  uninstall entries (ANCHORS.md §2.1 step 5, §5.3). */
const EDGE_PATHS = ['/Program Files (x86)/Microsoft/Edge', '/Program Files (x86)/Microsoft/EdgeUpdate', '/Program Files (x86)/Microsoft/EdgeCore'];
const EDGE_WEBVIEW_PATH = '/Windows/System32/Microsoft-Edge-Webview';
const EDGE_KEYS = [
  'WOW6432Node\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\Microsoft Edge',
  'WOW6432Node\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\Microsoft Edge Update',
];

/** OneDrive as the anchors remove it: setup executables (tiny11, schneegans, Rufus), the default
 *  user's shortcut and Run value (schneegans), and the DisableFileSyncNGSC policy (tiny11, Rufus;
 *  ANCHORS.md §2.2, §5.3, §5.5). */
const ONEDRIVE_PATHS = [
  '/Windows/System32/OneDriveSetup.exe',
  '/Windows/SysWOW64/OneDriveSetup.exe',
  '/Users/Default/AppData/Roaming/Microsoft/Windows/Start Menu/Programs/OneDrive.lnk',
];
const ONEDRIVE_RUN: RegDelete = { hive: 'NTUSER', key: 'Software\\Microsoft\\Windows\\CurrentVersion\\Run', name: 'OneDriveSetup' };
const ONEDRIVE_POLICY: RegSet = { hive: 'SOFTWARE', key: 'Policies\\Microsoft\\Windows\\OneDrive', name: 'DisableFileSyncNGSC', dword: 1 };

// ── the image's packages ─────────────────────────────────────────────────────────────────────

/** A package full name: Name_Version_Architecture_ResourceId_PublisherId (ResourceId may be empty). */
interface PackageId {
  fullName: string;
  name: string;
  publisherId: string;
}

function parsePackageFullName(fullName: string): PackageId | undefined {
  const parts = fullName.split('_');
  if (parts.length !== 5 || parts[0] === '' || !/^[0-9a-z]{13}$/.test(parts[4])) return undefined;
  return { fullName, name: parts[0], publisherId: parts[4] };
}

interface Inventory {
  folders: PackageId[];
  registered: PackageId[];
}

async function readInventory(image: WindowsImage): Promise<Inventory> {
  const folders = image.exists(WINDOWS_APPS) ? (await image.list(WINDOWS_APPS)).filter((e) => e.isDirectory).map((e) => parsePackageFullName(e.name)) : [];
  const software = (await image.hives.get('SOFTWARE')).hive;
  const applications = software.key(`${APPX_STORE}\\Applications`);
  const registered = applications ? applications.subkeys().map((k) => parsePackageFullName(k.name)) : [];
  return { folders: folders.filter((p) => p !== undefined), registered: registered.filter((p) => p !== undefined) };
}

/** Exact, case-insensitive Name match (Windows compares package names that way), and the same
 *  publisher when the catalog knows it. `Microsoft.Windows.Photos` never matches
 *  `Microsoft.Windows.Photos.Legacy`. */
function matchesApp(pkg: PackageId, app: AppEntry): boolean {
  return pkg.name.toLowerCase() === app.packageName.toLowerCase() && (app.publisherId === null || pkg.publisherId === app.publisherId);
}

async function readRelease(image: WindowsImage): Promise<WindowsRelease | null> {
  const value = (await image.hives.get('SOFTWARE')).hive.key('Microsoft\\Windows NT\\CurrentVersion')?.value('CurrentBuildNumber')?.data;
  const build = typeof value === 'string' ? Number.parseInt(value, 10) : Number.NaN;
  return Number.isFinite(build) ? windowsReleaseOf(build) : null;
}

// ── the setup-time script ────────────────────────────────────────────────────────────────────

export interface SetupScriptInput {
  packages: string[];
  removeCapabilities: string[];
  removeFeatures: string[];
  enableFeatures: string[];
}

const psList = (names: string[]): string => (names.length === 0 ? '@()' : `@(\r\n${names.map((n) => `  '${n.replaceAll("'", "''")}'`).join(`,\r\n`)}\r\n)`);

/** The PowerShell script Windows Setup runs in the specialize pass (as SYSTEM, before any user
 *  exists). ASCII only with CRLF line ends, so Windows PowerShell 5.1 reads it the same in every
 *  code page. Every outcome is one JSON line in remove-apps.log beside the script. */
export function buildSetupScript(input: SetupScriptInput): string {
  const lines = [
    '# remove-apps.ps1 - written by DeployForge (remove-apps step).',
    '# Windows Setup runs it once as SYSTEM in the specialize pass. It removes provisioned app packages',
    '# by exact package name and removes or enables capabilities and optional features; these need the',
    '# AppX deployment service and the servicing stack of a running Windows. One JSON line per item',
    '# goes to remove-apps.log in this folder.',
    "$ErrorActionPreference = 'Continue'",
    "$LogPath = Join-Path $PSScriptRoot 'remove-apps.log'",
    '',
    'function Write-Outcome {',
    "  param([string] $Kind, [string] $Name, [string] $Result, [string] $Detail = '')",
    "  $entry = [ordered]@{ time = (Get-Date).ToString('o'); kind = $Kind; name = $Name; result = $Result }",
    '  if ($Detail) { $entry.detail = $Detail }',
    '  Add-Content -LiteralPath $LogPath -Value ($entry | ConvertTo-Json -Compress) -Encoding UTF8',
    '}',
    '',
    `$Packages = ${psList(input.packages)}`,
    `$CapabilitiesToRemove = ${psList(input.removeCapabilities)}`,
    `$FeaturesToRemove = ${psList(input.removeFeatures)}`,
    `$FeaturesToEnable = ${psList(input.enableFeatures)}`,
    '',
    'if ($Packages.Count -gt 0) {',
    '  $provisioned = @(Get-AppxProvisionedPackage -Online)',
    '  foreach ($name in $Packages) {',
    '    # -eq compares whole names (case-insensitively); no wildcard or substring matching.',
    '    $hits = @($provisioned | Where-Object { $_.DisplayName -eq $name })',
    "    if ($hits.Count -eq 0) { Write-Outcome 'package' $name 'not-provisioned'; continue }",
    '    foreach ($package in $hits) {',
    '      try {',
    '        Remove-AppxProvisionedPackage -Online -PackageName $package.PackageName -ErrorAction Stop | Out-Null',
    "        Write-Outcome 'package' $name 'removed' $package.PackageName",
    '      } catch {',
    "        Write-Outcome 'package' $name 'failed' \"$($package.PackageName): $($_.Exception.Message)\"",
    '      }',
    '    }',
    '  }',
    '}',
    '',
    'if ($CapabilitiesToRemove.Count -gt 0) {',
    "  $installed = @(Get-WindowsCapability -Online | Where-Object { $_.State -eq 'Installed' })",
    '  foreach ($name in $CapabilitiesToRemove) {',
    "    # Capability names carry a version (and a language) after '~': compare the part before it.",
    "    $hits = @($installed | Where-Object { $_.Name.Split('~')[0] -eq $name })",
    "    if ($hits.Count -eq 0) { Write-Outcome 'capability' $name 'not-installed'; continue }",
    '    foreach ($capability in $hits) {',
    '      try {',
    '        Remove-WindowsCapability -Online -Name $capability.Name -ErrorAction Stop | Out-Null',
    "        Write-Outcome 'capability' $name 'removed' $capability.Name",
    '      } catch {',
    "        Write-Outcome 'capability' $name 'failed' \"$($capability.Name): $($_.Exception.Message)\"",
    '      }',
    '    }',
    '  }',
    '}',
    '',
    'foreach ($name in $FeaturesToRemove) {',
    '  $feature = Get-WindowsOptionalFeature -Online -FeatureName $name -ErrorAction SilentlyContinue',
    "  if (-not $feature) { Write-Outcome 'feature' $name 'not-present'; continue }",
    "  if ($feature.State -eq 'DisabledWithPayloadRemoved') { Write-Outcome 'feature' $name 'already-removed'; continue }",
    '  try {',
    '    Disable-WindowsOptionalFeature -Online -FeatureName $name -Remove -NoRestart -ErrorAction Stop | Out-Null',
    "    Write-Outcome 'feature' $name 'removed'",
    '  } catch {',
    "    Write-Outcome 'feature' $name 'failed' $_.Exception.Message",
    '  }',
    '}',
    '',
    'foreach ($name in $FeaturesToEnable) {',
    '  $feature = Get-WindowsOptionalFeature -Online -FeatureName $name -ErrorAction SilentlyContinue',
    "  if (-not $feature) { Write-Outcome 'feature' $name 'not-present'; continue }",
    "  if ($feature.State -eq 'Enabled') { Write-Outcome 'feature' $name 'already-enabled'; continue }",
    '  try {',
    '    Enable-WindowsOptionalFeature -Online -FeatureName $name -All -NoRestart -ErrorAction Stop | Out-Null',
    "    Write-Outcome 'feature' $name 'enabled'",
    '  } catch {',
    "    Write-Outcome 'feature' $name 'failed' $_.Exception.Message",
    '  }',
    '}',
    'exit 0',
    '',
  ];
  return lines.join('\r\n');
}

// ── plan ─────────────────────────────────────────────────────────────────────────────────────

function mechanismFor(app: AppEntry, options: RemoveAppsStep): AppsMechanism {
  return options.mechanism ?? (app.defaultMechanism === 'setup' ? 'setup' : 'offline');
}

const whenOf = (mechanism: AppsMechanism): ChangeTime[] => (mechanism === 'setup' ? ['windows-setup'] : mechanism === 'offline' ? ['offline'] : ['offline', 'windows-setup']);

function reinstallTargets(option: RemoveAppsStep['blockReinstall']): ReinstallTarget[] {
  if (option === true) return [...REINSTALL_TARGETS];
  if (!option) return [];
  return REINSTALL_TARGETS.filter((t) => option.includes(t));
}

async function planRemoveApps(options: RemoveAppsStep, image: WindowsImage, baseDir: string): Promise<StepPlan<RemoveAppsChange>> {
  const catalog = await defaultAppCatalog();
  const selectsApps = options.apps !== undefined || options.categories !== undefined || options.presets !== undefined;
  const selection = selectsApps
    ? resolveAppSelection(catalog, { ids: options.apps, categories: options.categories, presets: options.presets, exclude: options.exclude, force: options.force })
    : { apps: [], skipped: [] };
  const removeComponents = resolveCapabilities(catalog, options.capabilities ?? [], 'remove');
  const enableComponents = resolveCapabilities(catalog, options.enableFeatures ?? [], 'enable');

  const warnings: string[] = [];
  const setupTimeNotes: string[] = [];
  const summaries: RemoveAppsChange[] = [];
  const sets: (RegSet & { reason: string })[] = [];
  const deletes: (RegDelete & { reason: string })[] = [];
  const paths: { path: string; reason: string }[] = [];
  const software = (await image.hives.get('SOFTWARE')).hive;
  const release = await readRelease(image);
  const releaseName = release ? `Windows ${release.version === 'win10' ? '10' : '11'} ${release.release ?? `build ${release.build}`}` : 'this image';

  for (const skipped of selection.skipped) warnings.push(`${skipped.id} stays (${skipped.reason}); name it in apps with force: true to remove it`);

  // Apps.
  const inventory = selection.apps.length > 0 ? await readInventory(image) : { folders: [], registered: [] };
  const setupPackages: string[] = [];
  for (const app of selection.apps) {
    const mechanism = mechanismFor(app, options);
    const folders = inventory.folders.filter((p) => matchesApp(p, app));
    const registered = inventory.registered.filter((p) => matchesApp(p, app));
    const found = folders[0] ?? registered[0];
    const family = app.family ?? (found ? `${app.packageName}_${found.publisherId}` : null);
    const listed = release ? appliesTo(app, release) : 'unverified';
    const deleteFolders = options.deleteFolders === true && mechanism !== 'setup';
    summaries.push({
      kind: 'app',
      id: app.id,
      displayName: app.displayName,
      packageName: app.packageName,
      family,
      mechanism,
      deleteFolders,
      when: whenOf(mechanism),
      inImage: { folders: folders.map((p) => p.fullName), registered: registered.map((p) => p.fullName) },
      listedForRelease: listed,
    });
    if (listed === 'no') warnings.push(`${app.id} (${app.packageName}) is not listed for ${releaseName} in the app catalog`);
    if (!found)
      warnings.push(`${app.id} (${app.packageName}) is not provisioned in image ${image.index}${mechanism === 'setup' ? '; the setup script logs it as not-provisioned' : ''}`);
    if (mechanism !== 'offline') setupPackages.push(app.packageName);
    if (mechanism !== 'setup') {
      if (family === null) {
        warnings.push(`${app.id}: its package family is unknown (not in the catalog, not in the image), so no Deprovisioned key is written`);
      } else {
        sets.push({ hive: 'SOFTWARE', key: `${APPX_STORE}\\Deprovisioned\\${family}`, reason: `deprovision ${app.id}` });
      }
      for (const pkg of registered) deletes.push({ hive: 'SOFTWARE', key: `${APPX_STORE}\\Applications\\${pkg.fullName}`, reason: `unregister ${app.id}` });
      if (deleteFolders) for (const pkg of folders) paths.push({ path: `${WINDOWS_APPS}/${pkg.fullName}`, reason: `delete ${app.id}'s package folder` });
    }
    if (!options.mechanism && app.defaultMechanism === 'offline-deprovision')
      warnings.push(`${app.id} is removed offline only (its catalog default); offline deprovisioning is best-effort`);
  }
  const setupOnly = selection.apps.filter((a) => mechanismFor(a, options) === 'setup');
  if (options.deleteFolders && setupOnly.length > 0) {
    warnings.push(
      `deleteFolders applies to offline removal only; ${setupOnly.map((a) => a.id).join(', ')} ${setupOnly.length > 1 ? 'are' : 'is'} removed at setup and keep their folders`,
    );
  }
  if (selection.apps.some((a) => mechanismFor(a, options) !== 'setup')) {
    warnings.push(
      'offline deprovisioning writes AppxAllUserStore keys only; Windows\u2019 own package database (the state repository) is not edited, so apps may still be provisioned at first logon. Use mechanism both (or setup) for a reliable removal',
    );
  }

  // Reinstall blockers.
  const targets = reinstallTargets(options.blockReinstall);
  for (const target of targets) {
    for (const s of REINSTALL_KEYS[target].set) sets.push({ ...s, reason: `block ${target} reinstall` });
    for (const d of REINSTALL_KEYS[target].delete) deletes.push({ ...d, reason: `block ${target} reinstall` });
  }
  for (const app of selection.apps) {
    const blocker = BLOCKER_FOR_APP[app.id];
    if (blocker && !targets.includes(blocker)) warnings.push(`${app.id} may come back through the Windows Update orchestrator; add blockReinstall: [${blocker}]`);
  }

  // Edge and OneDrive.
  if (options.edge) {
    for (const path of [...EDGE_PATHS, ...(options.edgeWebView ? [EDGE_WEBVIEW_PATH] : [])]) paths.push({ path, reason: 'remove Microsoft Edge' });
    for (const key of EDGE_KEYS) deletes.push({ hive: 'SOFTWARE', key, reason: 'remove Microsoft Edge' });
    warnings.push(
      'Edge is removed as tiny11 does it: its program folders and uninstall entries only. Its services, scheduled tasks, shortcuts and policies stay if the image has them, and Windows Update may install Edge again (tiny11 lists such remnants as a known issue)',
    );
    if (!options.edgeWebView)
      warnings.push('the Edge WebView2 runtime (System32\\Microsoft-Edge-Webview) stays: apps that embed web views need it; edgeWebView: true deletes it as tiny11 does');
  }
  if (options.onedrive) {
    for (const path of ONEDRIVE_PATHS) paths.push({ path, reason: 'remove OneDrive' });
    deletes.push({ ...ONEDRIVE_RUN, reason: 'remove OneDrive' });
    sets.push({ ...ONEDRIVE_POLICY, reason: 'remove OneDrive' });
    warnings.push(
      'OneDrive setup is removed from the image and the default user; the DisableFileSyncNGSC policy stops a OneDrive client installed later from syncing, but such a client is not removed',
    );
  }

  // Registry: only deletions of what exists (the rest is said once, not per missing key).
  const hiveOf = async (hive: 'SOFTWARE' | 'NTUSER') => (hive === 'SOFTWARE' ? software : (await image.hives.get('NTUSER')).hive);
  const presentDeletes: typeof deletes = [];
  for (const d of deletes) {
    const key = (await hiveOf(d.hive)).key(d.key);
    const exists = d.name === undefined ? key !== undefined : key?.value(d.name) !== undefined;
    if (exists) presentDeletes.push(d);
    else warnings.push(`${d.hive}\\${d.key}${d.name !== undefined ? ` value ${d.name}` : ''} is not in image ${image.index}; nothing to delete (${d.reason})`);
  }
  const registry: RemoveAppsChange[] = [];
  for (const hive of ['SOFTWARE', 'NTUSER'] as const) {
    const hiveSets = sets.filter((s) => s.hive === hive);
    const hiveDeletes = presentDeletes.filter((d) => d.hive === hive);
    if (hiveSets.length + hiveDeletes.length === 0) continue;
    const step: RegistryStep = registryStep.schema.parse({
      type: 'registry',
      hive,
      set: hiveSets.map((s) => (s.name === undefined ? { key: s.key } : { key: s.key, name: s.name, type: 'REG_DWORD', data: s.dword })),
      delete: hiveDeletes.map((d) => (d.name === undefined ? { key: d.key } : { key: d.key, name: d.name })),
    });
    const planned = await registryStep.plan(step, image, { baseDir });
    warnings.push(...planned.warnings);
    const reasons = [...hiveSets, ...hiveDeletes].map((r) => r.reason);
    for (const [i, change] of planned.changes.entries()) registry.push({ kind: 'registry', when: 'offline', reason: reasons[i] ?? '', change });
  }

  // Files and folders, through remove-files' planner (sizes, case-insensitive lookup).
  const removals: RemoveAppsChange[] = [];
  const seen = new Set<string>();
  for (const { path, reason } of paths) {
    if (!image.exists(path)) {
      warnings.push(`${path} is not in image ${image.index}; nothing to delete (${reason})`);
      continue;
    }
    const planned = await removeFilesStep.plan({ type: 'remove-files', paths: [path] }, image, { baseDir });
    for (const c of planned.changes) {
      if (seen.has(foldName(c.path))) continue;
      seen.add(foldName(c.path));
      removals.push({ kind: 'remove-path', when: 'offline', reason, ...c });
    }
  }

  // Capabilities and features: only at setup.
  const components: RemoveAppsChange[] = [
    ...removeComponents.map((c: CapabilityEntry) => ({
      kind: 'component' as const,
      id: c.id,
      name: c.name,
      componentKind: c.kind,
      action: 'remove' as const,
      when: 'windows-setup' as const,
    })),
    ...enableComponents.map((c: CapabilityEntry) => ({
      kind: 'component' as const,
      id: c.id,
      name: c.name,
      componentKind: c.kind,
      action: 'enable' as const,
      when: 'windows-setup' as const,
    })),
  ];
  for (const c of [...removeComponents, ...enableComponents]) {
    if (release && appliesTo(c, release) === 'no')
      warnings.push(`${c.id} (${c.name}) is not listed for ${releaseName} in the capability catalog; the setup script logs it if absent`);
  }

  // The setup-time script and the specialize command that runs it.
  const script: RemoveAppsChange[] = [];
  if (setupPackages.length > 0 || components.length > 0) {
    const text = buildSetupScript({
      packages: setupPackages,
      removeCapabilities: removeComponents.filter((c) => c.kind === 'capability').map((c) => c.name),
      removeFeatures: removeComponents.filter((c) => c.kind === 'feature').map((c) => c.name),
      enableFeatures: enableComponents.map((c) => c.name),
    });
    if (image.exists(SCRIPT_IMAGE_PATH)) warnings.push(`${SCRIPT_IMAGE_PATH} already exists in image ${image.index} and is replaced`);
    script.push(
      { kind: 'write-script', when: 'offline', reason: 'the script Windows Setup runs', path: SCRIPT_IMAGE_PATH, text },
      {
        kind: 'specialize-command',
        when: 'windows-setup',
        commandLine: SPECIALIZE_COMMAND,
        description: 'DeployForge remove-apps: remove provisioned apps, capabilities and features',
      },
    );
    if (setupPackages.length > 0) {
      setupTimeNotes.push(
        `${setupPackages.length} provisioned app(s) are removed by Windows Setup in the specialize pass (Remove-AppxProvisionedPackage -Online, matched by exact name), logged to C:\\Windows\\Setup\\Scripts\\remove-apps.log: AppX deprovisioning needs Windows\u2019 deployment service, which does not run offline`,
      );
    }
    if (components.length > 0) {
      setupTimeNotes.push(
        `${components.length} capability/optional feature change(s) are made by Windows Setup in the specialize pass (Remove-WindowsCapability, Disable-/Enable-WindowsOptionalFeature -Online), logged to the same file: they need Windows\u2019 servicing stack, which DeployForge cannot run offline`,
      );
    }
    setupTimeNotes.push('the specialize command is added to the answer file DeployForge writes; without an answer file on the media the script never runs');
  }

  return { changes: [...summaries, ...components, ...registry, ...removals, ...script], warnings, setupTimeNotes };
}

// ── apply ────────────────────────────────────────────────────────────────────────────────────

export const removeAppsStep = defineStep<RemoveAppsStep, RemoveAppsChange>({
  id: 'remove-apps',
  schema: RemoveAppsStepSchema,
  plan(options, image, context) {
    return planRemoveApps(options, image, context.baseDir);
  },
  async apply(changes, image, progress, context) {
    const work = changes.filter((c) => c.kind !== 'app' && c.kind !== 'component');
    let done = 0;
    const tick = () => progress.emit({ phase: 'remove-apps', done: ++done, total: work.length, unit: 'items' });
    const registry = work.flatMap((c) => (c.kind === 'registry' ? [c.change] : []));
    await registryStep.apply(registry, image, silentProgress, context);
    for (const _ of registry) tick();
    for (const change of work) {
      switch (change.kind) {
        case 'remove-path':
          if (image.exists(change.path)) image.removeFile(change.path);
          tick();
          break;
        case 'write-script':
          image.writeFile(change.path, new Uint8Array(Buffer.from(change.text, 'ascii')));
          tick();
          break;
        case 'specialize-command':
          // One answer file serves every edition; apply runs once per edition.
          if (!context.unattend.specializeCommands.some((c) => c.commandLine === change.commandLine)) {
            context.unattend.specializeCommands.push({ commandLine: change.commandLine, description: change.description });
          }
          tick();
          break;
        default:
          break;
      }
    }
  },
});
