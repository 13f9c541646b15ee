// The `install-apps` step: installs winget packages at the first user's first logon. It writes
// C:\Windows\Setup\Scripts\install-apps.ps1 into the image and adds one FirstLogonCommands entry
// that starts it. The script waits for winget, installs each package by exact id (a pinned version
// when given) and logs every result to install-apps.log beside it. Nothing is downloaded at build
// time, and the step cannot tell whether an id exists: a wrong id shows up in the log.
import { z } from 'zod';
import type { WindowsImage } from '../../image/windows-image.js';
import { defineStep, type StepPlan } from '../define-step.js';
import { encodeScriptText, psQuote, SCRIPTS_IMAGE_DIR, windowsScriptPath } from '../scripts/step.js';

// ── facts ────────────────────────────────────────────────────────────────────────────────────

export const INSTALL_SCRIPT_NAME = 'install-apps.ps1';
export const SCRIPT_IMAGE_PATH = `${SCRIPTS_IMAGE_DIR}/${INSTALL_SCRIPT_NAME}`;
/**
 * Microsoft Learn, "Use WinGet to install and manage applications": winget ships in App Installer
 * and "will not be available until you have logged into Windows as a user for the first time",
 * when the Store registers it asynchronously; `Add-AppxPackage -RegisterByFamilyName -MainPackage
 * Microsoft.DesktopAppInstaller_8wekyb3d8bbwe` requests that registration. Hence first logon, a
 * wait for winget, and that request while waiting.
 */
const APP_INSTALLER_FAMILY = 'Microsoft.DesktopAppInstaller_8wekyb3d8bbwe';
/** How long the script waits for winget and for a network, and how often it tries a package. */
const WINGET_WAIT_MINUTES = 30;
const NETWORK_WAIT_MINUTES = 15;
const ATTEMPTS = 3;

// ── schema ───────────────────────────────────────────────────────────────────────────────────

/** winget package identifiers are dot-separated segments, e.g. Mozilla.Firefox or
 *  Microsoft.VisualStudioCode.Insiders (winget manifest schema, PackageIdentifier: 2 to 8 segments of at
 *  most 32 characters, 128 in all); msstore ids are one segment of letters and digits, e.g. 9NBLGGH4NNS1. */
const SEGMENT = /^[A-Za-z0-9+_-]{1,32}$/;
export const WingetIdSchema = z
  .string()
  .min(1)
  .max(128)
  .refine((id) => id.split('.').every((s) => SEGMENT.test(s)), { error: 'expected segments of letters, digits, + _ - separated by dots, e.g. Mozilla.Firefox' })
  .describe('a winget package id such as Mozilla.Firefox, or a Microsoft Store id such as 9NBLGGH4NNS1 with source msstore');

export const WingetPackageSchema = z
  .object({
    id: WingetIdSchema,
    version: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9.+_-]{0,63}$/, { error: 'expected a version such as 128.0.3 (letters, digits, . + _ -)' })
      .optional()
      .describe('install exactly this version (winget --version); omit for the newest'),
    source: z.enum(['winget', 'msstore']).optional().describe('the winget source to install from; default winget'),
  })
  .strict()
  .superRefine((pkg, ctx) => {
    const segments = pkg.id.split('.').length;
    if ((pkg.source ?? 'winget') === 'winget' && (segments < 2 || segments > 8)) {
      ctx.addIssue({ code: 'custom', path: ['id'], message: 'expected a winget id of 2 to 8 dot-separated segments, e.g. Mozilla.Firefox' });
    }
    if (pkg.source === 'msstore' && !/^[A-Za-z0-9]+$/.test(pkg.id))
      ctx.addIssue({ code: 'custom', path: ['id'], message: 'expected a Microsoft Store id of letters and digits, e.g. 9NBLGGH4NNS1' });
  });

export const InstallAppsStepSchema = z
  .object({
    type: z.literal('install-apps'),
    description: z.string().optional(),
    packages: z.array(WingetPackageSchema).min(1).describe('packages to install with winget, in order'),
    scope: z.enum(['machine', 'user']).optional().describe('winget --scope for every package; default: what each package prefers'),
    when: z.literal('first-logon').optional().describe("when the packages are installed: at the first user's first logon (the only choice: winget needs a signed-in user)"),
  })
  .strict()
  .superRefine((step, ctx) => {
    const seen = new Set<string>();
    for (const [i, pkg] of step.packages.entries()) {
      const key = `${pkg.source ?? 'winget'}:${pkg.id.toLowerCase()}`;
      if (seen.has(key)) ctx.addIssue({ code: 'custom', path: ['packages', i, 'id'], message: `${pkg.id} is listed twice` });
      seen.add(key);
    }
  })
  .describe("install winget packages at the first user's first logon, with pinned versions if wanted; needs a network");

export type InstallAppsStep = z.infer<typeof InstallAppsStepSchema>;
export type WingetPackage = z.infer<typeof WingetPackageSchema>;

export type InstallAppsChange =
  | { kind: 'package'; when: 'first-logon'; id: string; version: string | null; source: 'winget' | 'msstore'; scope: 'machine' | 'user' | null }
  | { kind: 'write-script'; when: 'offline'; path: string; text: string; replaces: boolean }
  | { kind: 'first-logon-command'; when: 'first-logon'; commandLine: string; description: string };

// ── the script ───────────────────────────────────────────────────────────────────────────────

/** The first-logon script. ASCII only (ids and versions are checked), CRLF when written. */
export function buildInstallScript(packages: WingetPackage[], scope: 'machine' | 'user' | undefined): string {
  const list = packages.map((p) => `  @{ Id = ${psQuote(p.id)}; Version = ${psQuote(p.version ?? '')}; Source = ${psQuote(p.source ?? 'winget')} }`);
  return [
    '# install-apps.ps1 - written by DeployForge (install-apps step).',
    "# Started at the first user's first logon. winget comes with App Installer, which Windows",
    '# registers for a user only after that user has signed in, so the script waits for it, then',
    '# installs each package by exact id and logs every result to install-apps.log in this folder.',
    "$ErrorActionPreference = 'Continue'",
    "$LogPath = Join-Path $PSScriptRoot 'install-apps.log'",
    "try { Add-Content -LiteralPath $LogPath -Value '' -ErrorAction Stop } catch {",
    "  $dir = Join-Path $env:LOCALAPPDATA 'DeployForge\\Logs'",
    '  New-Item -ItemType Directory -Force -Path $dir | Out-Null',
    "  $LogPath = Join-Path $dir 'install-apps.log'",
    '}',
    'function Write-Log([string] $Text) {',
    "  Add-Content -LiteralPath $LogPath -Encoding UTF8 -Value ('[{0}] {1}' -f (Get-Date -Format s), $Text)",
    '}',
    '',
    '$Packages = @(',
    list.join(',\n'),
    ')',
    `$Scope = ${psQuote(scope ?? '')}`,
    '',
    `Write-Log ('install-apps started as {0}' -f $env:USERNAME)`,
    `$deadline = (Get-Date).AddMinutes(${WINGET_WAIT_MINUTES})`,
    '$winget = $null',
    '$asked = $false',
    'while ((Get-Date) -lt $deadline) {',
    "  $alias = Join-Path $env:LOCALAPPDATA 'Microsoft\\WindowsApps\\winget.exe'",
    '  if (Test-Path -LiteralPath $alias) { $winget = $alias; break }',
    '  $found = Get-Command winget.exe -ErrorAction SilentlyContinue',
    '  if ($found) { $winget = $found.Source; break }',
    '  if (-not $asked) {',
    '    $asked = $true',
    `    try { Add-AppxPackage -RegisterByFamilyName -MainPackage ${psQuote(APP_INSTALLER_FAMILY)} -ErrorAction Stop; Write-Log 'asked Windows to register App Installer (winget)' }`,
    "    catch { Write-Log ('registering App Installer failed: {0}' -f $_.Exception.Message) }",
    '  }',
    '  Start-Sleep -Seconds 10',
    '}',
    `if (-not $winget) { Write-Log 'winget did not become available within ${WINGET_WAIT_MINUTES} minutes; nothing was installed'; exit 1 }`,
    "Write-Log ('using {0}' -f $winget)",
    '',
    `$deadline = (Get-Date).AddMinutes(${NETWORK_WAIT_MINUTES})`,
    'while (-not [System.Net.NetworkInformation.NetworkInterface]::GetIsNetworkAvailable() -and (Get-Date) -lt $deadline) { Start-Sleep -Seconds 10 }',
    "if (-not [System.Net.NetworkInformation.NetworkInterface]::GetIsNetworkAvailable()) { Write-Log 'no network connection; the installs will probably fail' }",
    '',
    '$failed = 0',
    'foreach ($p in $Packages) {',
    "  $arguments = @('install', '--exact', '--id', $p.Id, '--source', $p.Source, '--silent', '--accept-package-agreements', '--accept-source-agreements')",
    "  if ($p.Version) { $arguments += @('--version', $p.Version) }",
    "  if ($Scope) { $arguments += @('--scope', $Scope) }",
    '  $code = -1',
    `  for ($attempt = 1; $attempt -le ${ATTEMPTS}; $attempt++) {`,
    "    Write-Log ('winget {0} (attempt {1})' -f ($arguments -join ' '), $attempt)",
    '    $output = & $winget @arguments 2>&1 | Out-String',
    '    $code = $LASTEXITCODE',
    '    Add-Content -LiteralPath $LogPath -Encoding UTF8 -Value $output',
    '    if ($code -eq 0) { break }',
    `    if ($attempt -lt ${ATTEMPTS}) { Start-Sleep -Seconds 30 }`,
    '  }',
    "  $result = if ($code -eq 0) { 'installed' } else { 'failed' }",
    "  Write-Log ('{0} {1}: exit code {2} (0x{3:X8})' -f $p.Id, $result, $code, $code)",
    '  if ($code -ne 0) { $failed++ }',
    '}',
    "Write-Log ('install-apps finished: {0} of {1} package(s) failed' -f $failed, $Packages.Count)",
    'exit $failed',
    '',
  ].join('\n');
}

/**
 * The FirstLogonCommands entry. It starts the script in a separate hidden process and returns, so
 * a long install (or the wait for winget) does not hold up the first logon; the child inherits
 * the user's token.
 */
export const FIRST_LOGON_COMMAND =
  `powershell.exe -NoProfile -ExecutionPolicy Bypass -WindowStyle Hidden -Command ` +
  `"Start-Process -WindowStyle Hidden -FilePath powershell.exe -ArgumentList '-NoProfile -ExecutionPolicy Bypass -File ${windowsScriptPath(INSTALL_SCRIPT_NAME)}'"`;

// ── plan and apply ───────────────────────────────────────────────────────────────────────────

function planInstallApps(options: InstallAppsStep, image: WindowsImage): StepPlan<InstallAppsChange> {
  const warnings: string[] = [];
  const existing = image.stat(SCRIPT_IMAGE_PATH);
  if (existing?.isDirectory) warnings.push(`${SCRIPT_IMAGE_PATH} is a folder in image ${image.index}; it is replaced by the script`);
  else if (existing) warnings.push(`${SCRIPT_IMAGE_PATH} already exists in image ${image.index} and is replaced: keep all packages in one install-apps step`);
  for (const p of options.packages) {
    if (p.source === 'msstore' && p.version) warnings.push(`${p.id}: the msstore source serves the current version; winget may reject --version ${p.version}`);
  }
  const packages: InstallAppsChange[] = options.packages.map((p) => ({
    kind: 'package',
    when: 'first-logon',
    id: p.id,
    version: p.version ?? null,
    source: p.source ?? 'winget',
    scope: options.scope ?? null,
  }));
  return {
    changes: [
      ...packages,
      { kind: 'write-script', when: 'offline', path: SCRIPT_IMAGE_PATH, text: buildInstallScript(options.packages, options.scope), replaces: existing !== undefined },
      { kind: 'first-logon-command', when: 'first-logon', commandLine: FIRST_LOGON_COMMAND, description: 'DeployForge install-apps: install winget packages' },
    ],
    warnings,
    setupTimeNotes: [
      `${options.packages.length} package(s) are installed with winget after the first user signs in: winget only exists once App Installer is registered for a signed-in user (Microsoft Learn, Use WinGet), so nothing can be installed earlier; the script waits up to ${WINGET_WAIT_MINUTES} minutes for it`,
      'the installs download from the internet: the machine needs a network connection at first logon',
      `each result (with winget's exit code) is logged to C:\\Windows\\Setup\\Scripts\\install-apps.log; the first user needs administrator rights for that and for machine-wide installs`,
      'the first-logon command is added to the answer file DeployForge writes; without an answer file on the media the script never runs',
    ],
  };
}

export const installAppsStep = defineStep<InstallAppsStep, InstallAppsChange>({
  id: 'install-apps',
  schema: InstallAppsStepSchema,
  async plan(options, image) {
    return planInstallApps(options, image);
  },
  async apply(changes, image, progress, context) {
    const work = changes.filter((c) => c.kind !== 'package');
    let done = 0;
    for (const change of work) {
      if (change.kind === 'write-script') {
        if (image.stat(change.path)?.isDirectory) image.removeFile(change.path);
        image.writeFile(change.path, encodeScriptText(INSTALL_SCRIPT_NAME, change.text));
      } else if (change.kind === 'first-logon-command') {
        // One answer file serves every edition; apply runs once per edition.
        if (!context.unattend.firstLogonCommands.some((c) => c.commandLine === change.commandLine)) {
          context.unattend.firstLogonCommands.push({ commandLine: change.commandLine, description: change.description });
        }
      }
      progress.emit({ phase: 'install-apps', done: ++done, total: work.length, unit: 'items' });
    }
  },
  describe(change) {
    switch (change.kind) {
      case 'package':
        return [`install ${change.id}${change.version ? ` ${change.version} (pinned)` : ''} from ${change.source}${change.scope ? `, scope ${change.scope}` : ''}`];
      case 'write-script':
        return [`${(change.replaces ? 'replace' : 'add').padEnd(8)}${change.path}`];
      case 'first-logon-command':
        return [`answer file first logon: ${change.commandLine}`];
    }
  },
});
