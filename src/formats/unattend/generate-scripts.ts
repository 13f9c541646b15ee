// Scripts carried inside the answer file and run during and after Windows Setup.
//
// Mechanism (the same idea as schneegans' generator, ANCHORS §2.2; our own format and code):
// - Every script is a `<File path="C:\Windows\Setup\Scripts\NAME">` child of one `<Extensions>`
//   element in our own namespace at the end of `<unattend>` (the unattend schema allows elements of
//   other namespaces there), next to `<DeployForgeExtract>`, a PowerShell script that writes the files
//   (named so that `$x.unattend.Extensions.DeployForgeExtract` finds only ours when a merged base file
//   brings another tool's `<Extensions>` too).
// - The first specialize RunSynchronous command loads the cached answer file
//   (C:\Windows\Panther\unattend.xml) and runs DeployForgeExtract, which writes each File (CRLF line
//   ends; .ps1 as UTF-8 with BOM so Windows PowerShell 5.1 reads non-ASCII right, .reg as UTF-16LE
//   as regedit writes them, .cmd as UTF-8 without BOM) and logs to DeployForge.log.
// - system scripts: specialize RunSynchronous, one command each, as SYSTEM.
// - defaultUser scripts: specialize, between `reg load HKU\DefaultUser C:\Users\Default\NTUSER.DAT`
//   and `reg unload`; they edit HKEY_USERS\DefaultUser, the profile every new user is copied from.
// - firstLogon scripts: one FirstLogonCommands entry runs a generated runner that calls them in
//   order (Windows starts FirstLogonCommands entries without waiting for each other — unattend
//   reference, FirstLogonCommands/SynchronousCommand/Order).
// - everyNewUser scripts: a RunOnce value in the Default profile starts a generated runner once for
//   each new user; their logs go to UserLogs, the one folder standard users may write to.
// Every script appends its output to C:\Windows\Setup\Scripts\NAME.log (per-user: UserLogs\NAME.USER.log).
// This module builds elements and command lines only; it does not check the scripts' contents.
import type { UnattendElement } from './model.js';

export type ScriptLanguage = 'ps1' | 'cmd' | 'reg';

export interface UnattendScript {
  /** File name under C:\Windows\Setup\Scripts, ending in `.ps1`, `.cmd` or `.reg` as `language` says. */
  name: string;
  language: ScriptLanguage;
  content: string;
}

export interface UnattendScripts {
  /** Run as SYSTEM in the specialize pass. */
  system?: UnattendScript[];
  /** Run in specialize while the Default profile's hive is loaded at HKEY_USERS\DefaultUser. */
  defaultUser?: UnattendScript[];
  /** Run in order when the first user logs on (that user needs administrator rights). */
  firstLogon?: UnattendScript[];
  /** Run once for every new user at their first logon, in that user's context. */
  everyNewUser?: UnattendScript[];
}

export const SCRIPT_STAGES = ['system', 'defaultUser', 'firstLogon', 'everyNewUser'] as const;

/** Namespace of our `<Extensions>` element (not Microsoft's; Setup ignores other namespaces). */
export const EXTENSIONS_NAMESPACE = 'urn:deployforge:unattend:extensions';
/** Child of `<Extensions>` that holds the extraction script. */
export const EXTRACT_ELEMENT = 'DeployForgeExtract';
export const SCRIPTS_FOLDER = 'C:\\Windows\\Setup\\Scripts';
export const USER_LOGS_FOLDER = `${SCRIPTS_FOLDER}\\UserLogs`;
/** Where Setup caches the answer file for the specialize pass and later (ANCHORS §2.2, §2.3). */
export const CACHED_ANSWER_FILE = 'C:\\Windows\\Panther\\unattend.xml';
export const EXTRACT_LOG = `${SCRIPTS_FOLDER}\\DeployForge.log`;
/** File names we generate; user scripts may not start with this prefix. */
export const RESERVED_SCRIPT_PREFIX = 'DeployForge-';
export const FIRST_LOGON_RUNNER = `${RESERVED_SCRIPT_PREFIX}FirstLogon.ps1`;
export const EVERY_NEW_USER_RUNNER = `${RESERVED_SCRIPT_PREFIX}EveryNewUser.ps1`;
export const DEFAULT_USER_HIVE = 'HKU\\DefaultUser';
export const RUN_ONCE_VALUE = 'DeployForgeEveryNewUser';
/** A script name: a plain file name, so command lines need no quoting. */
export const SCRIPT_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,59}$/;

/** How each language's file is written, read back by DeployForgeExtract's `encoding` switch. */
const FILE_ENCODING: Record<ScriptLanguage, 'utf-8-bom' | 'utf-16le' | 'utf-8'> = { ps1: 'utf-8-bom', reg: 'utf-16le', cmd: 'utf-8' };

export interface SetupCommand {
  commandLine: string;
  description?: string;
}

export interface ScriptPlan {
  /** The root `<Extensions>` element, when there is anything to embed. */
  extensions?: UnattendElement;
  /** First specialize command: write the embedded files. */
  extract?: SetupCommand;
  /** Specialize commands that run system and default-user scripts, in order, after everything else. */
  specialize: SetupCommand[];
  /** FirstLogonCommands entries. */
  firstLogon: SetupCommand[];
}

export function scriptPath(name: string): string {
  return `${SCRIPTS_FOLDER}\\${name}`;
}

export function planScripts(scripts: UnattendScripts | undefined): ScriptPlan {
  const system = scripts?.system ?? [];
  const defaultUser = scripts?.defaultUser ?? [];
  const firstLogon = scripts?.firstLogon ?? [];
  const everyNewUser = scripts?.everyNewUser ?? [];
  const files: { name: string; encoding: string; content: string }[] = [...system, ...defaultUser, ...firstLogon, ...everyNewUser].map((s) => ({
    name: s.name,
    encoding: FILE_ENCODING[s.language],
    content: s.content,
  }));
  if (firstLogon.length > 0) files.push({ name: FIRST_LOGON_RUNNER, encoding: FILE_ENCODING.ps1, content: firstLogonRunner(firstLogon) });
  if (everyNewUser.length > 0) files.push({ name: EVERY_NEW_USER_RUNNER, encoding: FILE_ENCODING.ps1, content: everyNewUserRunner(everyNewUser) });
  if (files.length === 0) return { specialize: [], firstLogon: [] };

  const specialize: SetupCommand[] = system.map((s) => ({ commandLine: runCommand(s, `${scriptPath(s.name)}.log`), description: `DeployForge: run ${s.name}` }));
  if (defaultUser.length > 0 || everyNewUser.length > 0) {
    specialize.push({ commandLine: `reg.exe load "${DEFAULT_USER_HIVE}" "C:\\Users\\Default\\NTUSER.DAT"`, description: 'DeployForge: load the Default profile hive' });
    for (const s of defaultUser) specialize.push({ commandLine: runCommand(s, `${scriptPath(s.name)}.log`), description: `DeployForge: run ${s.name} on the Default profile` });
    if (everyNewUser.length > 0) {
      specialize.push({
        commandLine: `cmd.exe /c mkdir ${USER_LOGS_FOLDER} & icacls.exe ${USER_LOGS_FOLDER} /grant *S-1-5-32-545:(OI)(CI)M`,
        description: 'DeployForge: let users write their script logs',
      });
      specialize.push({
        commandLine: `reg.exe add "${DEFAULT_USER_HIVE}\\Software\\Microsoft\\Windows\\CurrentVersion\\RunOnce" /v ${RUN_ONCE_VALUE} /t REG_SZ /d "${powershellFile(scriptPath(EVERY_NEW_USER_RUNNER))}" /f`,
        description: 'DeployForge: run the every-new-user scripts at each first logon',
      });
    }
    specialize.push({ commandLine: `reg.exe unload "${DEFAULT_USER_HIVE}"`, description: 'DeployForge: unload the Default profile hive' });
  }
  return {
    extensions: foreign('Extensions', [
      foreign(EXTRACT_ELEMENT, [{ kind: 'text', text: EXTRACT_SCRIPT }]),
      ...files.map((f) => foreign('File', [{ kind: 'text', text: normalizeNewlines(f.content) }], { path: scriptPath(f.name), encoding: f.encoding })),
    ]),
    extract: {
      commandLine: `powershell.exe -NoProfile -ExecutionPolicy Bypass -Command "$x=New-Object Xml.XmlDocument;$x.Load('${CACHED_ANSWER_FILE}');Invoke-Expression $x.unattend.Extensions.${EXTRACT_ELEMENT}"`,
      description: 'DeployForge: write the scripts embedded in this answer file',
    },
    specialize,
    firstLogon: firstLogon.length > 0 ? [{ commandLine: powershellFile(scriptPath(FIRST_LOGON_RUNNER)), description: 'DeployForge: run the first-logon scripts in order' }] : [],
  };
}

/** `<Extensions>` and its children live in our namespace; model.element() would put them in Microsoft's. */
function foreign(localName: string, children: UnattendElement['children'], attributes: Record<string, string> = {}): UnattendElement {
  return { kind: 'element', localName, namespace: EXTENSIONS_NAMESPACE, attributes: Object.entries(attributes).map(([k, v]) => ({ localName: k, value: v })), children };
}

/** XML parsers turn CR LF into LF anyway; DeployForgeExtract writes CR LF back. */
function normalizeNewlines(text: string): string {
  return text.replace(/\r\n?/g, '\n');
}

function powershellFile(path: string): string {
  return `powershell.exe -NoProfile -ExecutionPolicy Bypass -WindowStyle Hidden -File ${path}`;
}

/** A command line that runs one script and appends everything it prints to `log`. */
function runCommand(script: UnattendScript, log: string): string {
  const path = scriptPath(script.name);
  switch (script.language) {
    case 'ps1':
      return `powershell.exe -NoProfile -ExecutionPolicy Bypass -Command "& '${path}' *>> '${log}'"`;
    case 'cmd':
      return `cmd.exe /c ${path} >>${log} 2>&1`;
    case 'reg':
      return `cmd.exe /c reg.exe import ${path} >>${log} 2>&1`;
  }
}

/** The same run, as a line of a PowerShell runner script. */
function runnerLine(script: UnattendScript, log: string): string {
  const path = scriptPath(script.name);
  switch (script.language) {
    case 'ps1':
      return `& '${path}' *>> ${log}`;
    case 'cmd':
      return `& cmd.exe /c '${path}' *>> ${log}`;
    case 'reg':
      return `& reg.exe import '${path}' *>> ${log}`;
  }
}

function firstLogonRunner(scripts: UnattendScript[]): string {
  return ['# Generated by DeployForge: runs the first-logon scripts one after another.', ...scripts.map((s) => runnerLine(s, `'${scriptPath(s.name)}.log'`)), ''].join('\n');
}

function everyNewUserRunner(scripts: UnattendScript[]): string {
  return [
    '# Generated by DeployForge: runs once in each new user profile (RunOnce copied from the Default profile).',
    ...scripts.map((s) => runnerLine(s, `"${USER_LOGS_FOLDER}\\${s.name}.$env:USERNAME.log"`)),
    '',
  ].join('\n');
}

/**
 * Runs inside `Invoke-Expression` in the extract command. Selects our File elements by namespace so
 * other tools' extension elements in the same answer file are left alone.
 */
const EXTRACT_SCRIPT = `# Generated by DeployForge: writes the files embedded in this answer file.
$ErrorActionPreference = 'Stop'
New-Item -ItemType Directory -Force -Path '${SCRIPTS_FOLDER}' | Out-Null
$answer = New-Object System.Xml.XmlDocument
$answer.Load('${CACHED_ANSWER_FILE}')
$names = New-Object System.Xml.XmlNamespaceManager $answer.NameTable
$names.AddNamespace('df', '${EXTENSIONS_NAMESPACE}')
foreach ($file in $answer.SelectNodes('/*/df:Extensions/df:File', $names)) {
  $path = $file.GetAttribute('path')
  $encoding = switch ($file.GetAttribute('encoding')) {
    'utf-8-bom' { New-Object System.Text.UTF8Encoding $true }
    'utf-16le' { New-Object System.Text.UnicodeEncoding $false, $true }
    default { New-Object System.Text.UTF8Encoding $false }
  }
  $text = $file.InnerText -replace '\\r?\\n', "\`r\`n"
  New-Item -ItemType Directory -Force -Path (Split-Path -Parent $path) | Out-Null
  [System.IO.File]::WriteAllText($path, $text, $encoding)
  Add-Content -LiteralPath '${EXTRACT_LOG}' -Value ('{0} wrote {1}' -f (Get-Date -Format s), $path)
}
`;
