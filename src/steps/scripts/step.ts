// The `scripts` step: puts the recipe's PowerShell and batch scripts into the image under
// C:\Windows\Setup\Scripts and arranges for Windows to run them, each logging to a file: in the
// specialize pass (answer file), from SetupComplete.cmd, at the first user's first logon (answer
// file) and once for every new user (RunOnce in the Default profile). Files live in the image;
// commands go to the answer-file contributions. It does not check what the scripts do.
import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { z } from 'zod';
import { InputError } from '../../errors.js';
import { RESERVED_SCRIPT_PREFIX, SCRIPT_NAME, SCRIPTS_FOLDER } from '../../formats/unattend/generate-scripts.js';
import type { WindowsImage } from '../../image/windows-image.js';
import { silentProgress } from '../../progress.js';
import { InputPath, type RegistryStep } from '../../recipe/schema.js';
import { type ChangeTime, defineStep, type StepApplyContext, type StepPlan } from '../define-step.js';
import { type RegistryChange, registryStep } from '../registry/step.js';

// ── facts ────────────────────────────────────────────────────────────────────────────────────

/** The folder in the image; C:\Windows\Setup\Scripts once installed (SCRIPTS_FOLDER). */
export const SCRIPTS_IMAGE_DIR = '/Windows/Setup/Scripts';
/** Microsoft Learn, "Add a custom script to Windows Setup": Setup looks for
 *  %WINDIR%\Setup\Scripts\SetupComplete.cmd after Windows is installed, before the logon screen. */
export const SETUP_COMPLETE_IMAGE_PATH = `${SCRIPTS_IMAGE_DIR}/SetupComplete.cmd`;
/** Names Windows Setup gives a meaning to in that folder (same page: ErrorHandler.cmd runs on a fatal error). */
const SETUP_NAMES = new Set(['setupcomplete.cmd', 'errorhandler.cmd']);
/** The Default profile's per-user RunOnce key (Microsoft Learn, "Run and RunOnce Registry Keys":
 *  HKCU\Software\Microsoft\Windows\CurrentVersion\RunOnce runs once at the user's logon; command
 *  lines up to 260 characters). Every new profile starts as a copy of the Default profile's hive. */
export const RUN_ONCE_KEY = 'Software\\Microsoft\\Windows\\CurrentVersion\\RunOnce';
export const MAX_RUN_ONCE_COMMAND = 260;
/** Unattend reference: RunSynchronousCommand Path ≤ 259 characters (generate-disk.ts). */
const MAX_SPECIALIZE_COMMAND = 259;
/** Per-user logs: the one place a standard user can always write. */
export const USER_LOG_FOLDER = '%LOCALAPPDATA%\\DeployForge\\Logs';

export const SCRIPT_STAGES = ['specialize', 'setupComplete', 'firstLogon', 'everyNewUser'] as const;
export type ScriptStage = (typeof SCRIPT_STAGES)[number];

const STAGE_WHEN: Record<ScriptStage, ChangeTime> = {
  specialize: 'windows-setup',
  setupComplete: 'windows-setup',
  firstLogon: 'first-logon',
  everyNewUser: 'first-logon',
};

// ── schema ───────────────────────────────────────────────────────────────────────────────────

const ScriptNameSchema = z
  .string()
  .regex(SCRIPT_NAME, { error: 'expected a plain file name of letters, digits, _ . - (at most 60 characters), e.g. setup-printers.ps1' })
  .refine((n) => /\.(ps1|cmd)$/i.test(n), { error: 'expected a name ending in .ps1 or .cmd' })
  .refine((n) => !n.startsWith(RESERVED_SCRIPT_PREFIX), { error: `names starting with ${RESERVED_SCRIPT_PREFIX} are reserved for DeployForge's own scripts` })
  .refine((n) => !SETUP_NAMES.has(n.toLowerCase()), { error: 'SetupComplete.cmd and ErrorHandler.cmd are Windows Setup names; DeployForge writes SetupComplete.cmd itself' });

export const ScriptEntrySchema = z
  .object({
    name: ScriptNameSchema.describe('file name under C:\\Windows\\Setup\\Scripts, ending in .ps1 or .cmd; its log is NAME.log'),
    content: z.string().optional().describe('the script text (written with CRLF line ends; .ps1 as UTF-8 with BOM)'),
    file: InputPath.optional().describe('a local script file, copied byte for byte'),
  })
  .strict()
  .superRefine((entry, ctx) => {
    if ((entry.content === undefined) === (entry.file === undefined)) ctx.addIssue({ code: 'custom', message: 'expected exactly one of content or file' });
  });

const ScriptList = z.array(ScriptEntrySchema).min(1);

export const ScriptsStepSchema = z
  .object({
    type: z.literal('scripts'),
    description: z.string().optional(),
    specialize: ScriptList.optional().describe('run as SYSTEM in the specialize pass of Windows Setup, in order (answer file)'),
    setupComplete: ScriptList.optional().describe('run as SYSTEM from SetupComplete.cmd after Windows is installed, before the logon screen; not on OEM-key installs'),
    firstLogon: ScriptList.optional().describe("run in order at the first user's first logon (answer file); that user needs administrator rights"),
    everyNewUser: ScriptList.optional().describe('run once in each new user profile at its first logon, as that user (RunOnce in the Default profile)'),
  })
  .strict()
  .superRefine((step, ctx) => {
    if (SCRIPT_STAGES.every((s) => step[s] === undefined)) ctx.addIssue({ code: 'custom', message: `expected scripts in at least one of ${SCRIPT_STAGES.join(', ')}` });
    const seen = new Map<string, string>();
    for (const stage of SCRIPT_STAGES) {
      for (const [i, entry] of (step[stage] ?? []).entries()) {
        const key = entry.name.toLowerCase();
        const first = seen.get(key);
        if (first) ctx.addIssue({ code: 'custom', path: [stage, i, 'name'], message: `${entry.name} is already used by ${first}; scripts share one folder, so names must differ` });
        else seen.set(key, `${stage}[${i}]`);
      }
    }
  })
  .describe('scripts run in the specialize pass, from SetupComplete.cmd, at first logon and for every new user, each with a log');

export type ScriptsStep = z.infer<typeof ScriptsStepSchema>;
export type ScriptEntry = z.infer<typeof ScriptEntrySchema>;

// ── changes ──────────────────────────────────────────────────────────────────────────────────

export type ScriptSource = { text: string } | { file: string };

export type ScriptsChange =
  | { kind: 'write-script'; when: 'offline'; stage: ScriptStage | 'runner'; path: string; source: ScriptSource; size: number; replaces: boolean }
  | { kind: 'setup-complete'; when: 'offline'; path: string; text: string; keptLines: number; created: boolean }
  | { kind: 'run'; when: ChangeTime; stage: ScriptStage; script: string; log: string }
  | { kind: 'registry'; when: 'offline'; reason: string; change: RegistryChange }
  | { kind: 'specialize-command'; when: 'windows-setup'; commandLine: string; description: string }
  | { kind: 'first-logon-command'; when: 'first-logon'; commandLine: string; description: string };

// ── text helpers (shared with install-apps) ──────────────────────────────────────────────────

const UTF8_BOM = new Uint8Array([0xef, 0xbb, 0xbf]);

/** Script text as Windows reads it: CRLF line ends; .ps1 as UTF-8 with BOM so Windows PowerShell
 *  5.1 reads non-ASCII text as UTF-8 (without a BOM it assumes the ANSI code page); others as UTF-8. */
export function encodeScriptText(name: string, text: string): Uint8Array {
  const body = Buffer.from(text.replace(/\r\n?|\n/g, '\r\n'), 'utf8');
  if (!/\.ps1$/i.test(name)) return new Uint8Array(body);
  const out = new Uint8Array(UTF8_BOM.length + body.length);
  out.set(UTF8_BOM, 0);
  out.set(body, UTF8_BOM.length);
  return out;
}

/** A PowerShell single-quoted string literal. */
export function psQuote(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

export function windowsScriptPath(name: string): string {
  return `${SCRIPTS_FOLDER}\\${name}`;
}

function powershellFile(path: string): string {
  return `powershell.exe -NoProfile -ExecutionPolicy Bypass -WindowStyle Hidden -File ${path}`;
}

/** A batch-file line that runs `name` in its own process and appends everything it prints to NAME.log beside it. */
function cmdRunLine(name: string): string {
  const path = windowsScriptPath(name);
  const run = /\.ps1$/i.test(name) ? `powershell.exe -NoProfile -ExecutionPolicy Bypass -File ${path}` : `cmd.exe /c ${path}`;
  return `${run} >>${path}.log 2>&1`;
}

/** The same as a RunSynchronous command, which is not run by a shell: cmd.exe does the redirection. */
function specializeLine(name: string): string {
  const path = windowsScriptPath(name);
  return /\.ps1$/i.test(name) ? `cmd.exe /c ${cmdRunLine(name)}` : `cmd.exe /c ${path} >>${path}.log 2>&1`;
}

// ── generated files ──────────────────────────────────────────────────────────────────────────

/** A short tag of the step's script names, so two scripts steps in one recipe get their own
 *  runners, RunOnce values and SetupComplete.cmd blocks, and re-applying one step replaces its own. */
function stepTag(step: ScriptsStep): string {
  const names = Object.fromEntries(SCRIPT_STAGES.map((s) => [s, (step[s] ?? []).map((e) => e.name.toLowerCase())]));
  return createHash('sha256').update(JSON.stringify(names)).digest('hex').slice(0, 8);
}

const blockBegin = (tag: string) => `rem DeployForge scripts step ${tag}: begin`;
const blockEnd = (tag: string) => `rem DeployForge scripts step ${tag}: end`;
const BLOCK_BEGIN = /^rem DeployForge scripts step ([0-9a-f]{8}): begin$/i;

/** Our SetupComplete.cmd lines for `names`: each script in its own process, output and exit code in NAME.log. */
function setupCompleteBlock(tag: string, names: string[]): string[] {
  const lines = [blockBegin(tag)];
  for (const name of names) {
    const log = `${windowsScriptPath(name)}.log`;
    lines.push(`echo [%DATE% %TIME%] DeployForge: start ${name}>>${log}`);
    lines.push(cmdRunLine(name));
    lines.push(`echo [%DATE% %TIME%] DeployForge: ${name} exited with %ERRORLEVEL%>>${log}`);
  }
  lines.push(blockEnd(tag));
  return lines;
}

/**
 * SetupComplete.cmd with our block merged in. The existing lines are kept byte for byte (read as
 * latin1, written back the same way); our block replaces an earlier block of the same step, else
 * goes after the other DeployForge blocks, else after a leading `@echo off`, else first. Ours run
 * before the existing lines so an `exit` in them cannot skip our scripts.
 */
export function mergeSetupComplete(existing: string | undefined, tag: string, names: string[]): { text: string; keptLines: number } {
  const block = setupCompleteBlock(tag, names);
  if (existing === undefined) return { text: `${['@echo off', ...block].join('\r\n')}\r\n`, keptLines: 0 };
  const lines = existing.split(/\r\n|\n/);
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const blocks: { begin: number; end: number; tag: string }[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = BLOCK_BEGIN.exec(lines[i].trim());
    if (!m) continue;
    const end = lines.findIndex((l, j) => j > i && l.trim().toLowerCase() === blockEnd(m[1]).toLowerCase());
    if (end < 0) continue;
    blocks.push({ begin: i, end, tag: m[1].toLowerCase() });
    i = end;
  }
  const own = blocks.find((b) => b.tag === tag);
  let out: string[];
  if (own) out = [...lines.slice(0, own.begin), ...block, ...lines.slice(own.end + 1)];
  else {
    let at = 0;
    if (blocks.length > 0) at = blocks[blocks.length - 1].end + 1;
    else {
      const first = lines.findIndex((l) => l.trim() !== '');
      if (first >= 0 && /^@echo\s+off$/i.test(lines[first].trim())) at = first + 1;
    }
    out = [...lines.slice(0, at), ...block, ...lines.slice(at)];
  }
  const keptLines = lines.length - (own ? own.end - own.begin + 1 : 0);
  return { text: `${out.join('\r\n')}\r\n`, keptLines };
}

/**
 * A PowerShell runner that calls `names` one after another, each in its own process (so an `exit`
 * in one cannot stop the rest), appending its output and exit code to NAME.log in `logFolder`.
 */
export function buildRunner(purpose: string, names: string[], logFolder: string): string {
  return [
    `# Generated by DeployForge (scripts step): ${purpose}`,
    '# Each script runs in its own process; its output and exit code go to NAME.log.',
    `$Scripts = ${psQuote(SCRIPTS_FOLDER)}`,
    `$Logs = [Environment]::ExpandEnvironmentVariables(${psQuote(logFolder)})`,
    'New-Item -ItemType Directory -Force -Path $Logs | Out-Null',
    'function Invoke-LoggedScript([string] $Name) {',
    '  $log = Join-Path $Logs "$Name.log"',
    "  Add-Content -LiteralPath $log -Encoding UTF8 -Value ('[{0}] DeployForge: start {1} as {2}' -f (Get-Date -Format s), $Name, $env:USERNAME)",
    '  $path = Join-Path $Scripts $Name',
    "  if ($Name -like '*.ps1') { $output = & powershell.exe -NoProfile -ExecutionPolicy Bypass -File $path 2>&1 | Out-String }",
    '  else { $output = & cmd.exe /c $path 2>&1 | Out-String }',
    '  $code = $LASTEXITCODE',
    '  Add-Content -LiteralPath $log -Encoding UTF8 -Value $output',
    "  Add-Content -LiteralPath $log -Encoding UTF8 -Value ('[{0}] DeployForge: {1} exited with {2}' -f (Get-Date -Format s), $Name, $code)",
    '}',
    ...names.map((n) => `Invoke-LoggedScript ${psQuote(n)}`),
    '',
  ].join('\n');
}

// ── plan ─────────────────────────────────────────────────────────────────────────────────────

async function sourceOf(entry: ScriptEntry, baseDir: string): Promise<{ source: ScriptSource; size: number }> {
  if (entry.content !== undefined) return { source: { text: entry.content }, size: encodeScriptText(entry.name, entry.content).length };
  const file = resolve(baseDir, entry.file as string);
  const st = await stat(file).catch(() => undefined);
  if (!st?.isFile()) throw new InputError('DF_STEP_SCRIPT_FILE', `script ${entry.name}: ${file} is not a readable file`, { name: entry.name, file });
  return { source: { file }, size: st.size };
}

function checkTarget(image: WindowsImage, path: string, warnings: string[]): boolean {
  const existing = image.stat(path);
  if (existing?.isDirectory) throw new InputError('DF_STEP_SCRIPT_CONFLICT', `${path} is a folder in image ${image.index}; a script cannot replace it`, { path });
  if (existing) warnings.push(`${path} already exists in image ${image.index} and is replaced`);
  return existing !== undefined;
}

/** The write-script change for one of DeployForge's runners (a script that runs a stage's scripts in order). */
function runnerChange(image: WindowsImage, name: string, text: string, warnings: string[]): ScriptsChange {
  const path = `${SCRIPTS_IMAGE_DIR}/${name}`;
  return {
    kind: 'write-script',
    when: 'offline',
    stage: 'runner',
    path,
    source: { text },
    size: encodeScriptText(name, text).length,
    replaces: checkTarget(image, path, warnings),
  };
}

async function planScriptsStep(options: ScriptsStep, image: WindowsImage, baseDir: string): Promise<StepPlan<ScriptsChange>> {
  const changes: ScriptsChange[] = [];
  const warnings: string[] = [];
  const setupTimeNotes: string[] = [];
  const tag = stepTag(options);
  const runs: ScriptsChange[] = [];

  for (const stage of SCRIPT_STAGES) {
    for (const entry of options[stage] ?? []) {
      const path = `${SCRIPTS_IMAGE_DIR}/${entry.name}`;
      const replaces = checkTarget(image, path, warnings);
      const { source, size } = await sourceOf(entry, baseDir);
      if ('text' in source && /\.cmd$/i.test(entry.name) && /[^\x00-\x7f]/.test(source.text)) {
        warnings.push(`${entry.name} has non-ASCII characters: cmd.exe reads batch files in the console code page, so they may come out wrong; a .ps1 script keeps them`);
      }
      changes.push({ kind: 'write-script', when: 'offline', stage, path, source, size, replaces });
      const log = stage === 'everyNewUser' ? `${USER_LOG_FOLDER}\\${entry.name}.log` : `${windowsScriptPath(entry.name)}.log`;
      runs.push({ kind: 'run', when: STAGE_WHEN[stage], stage, script: entry.name, log });
    }
  }

  const specialize = options.specialize ?? [];
  for (const entry of specialize) {
    const commandLine = specializeLine(entry.name);
    if (commandLine.length > MAX_SPECIALIZE_COMMAND)
      throw new InputError('DF_STEP_SCRIPT_NAME', `the command for ${entry.name} is longer than ${MAX_SPECIALIZE_COMMAND} characters: shorten the name`);
    changes.push({ kind: 'specialize-command', when: 'windows-setup', commandLine, description: `DeployForge scripts: run ${entry.name}` });
  }
  if (specialize.length > 0) {
    setupTimeNotes.push(
      `${specialize.length} script(s) run as SYSTEM in the specialize pass (answer file RunSynchronous), each logging to C:\\Windows\\Setup\\Scripts\\NAME.log; without the answer file DeployForge writes they never run`,
    );
  }

  const setupComplete = options.setupComplete ?? [];
  if (setupComplete.length > 0) {
    const exists = image.exists(SETUP_COMPLETE_IMAGE_PATH);
    if (image.stat(SETUP_COMPLETE_IMAGE_PATH)?.isDirectory) throw new InputError('DF_STEP_SCRIPT_CONFLICT', `${SETUP_COMPLETE_IMAGE_PATH} is a folder in image ${image.index}`);
    const existing = exists ? Buffer.from(await image.readFile(SETUP_COMPLETE_IMAGE_PATH)).toString('latin1') : undefined;
    const merged = mergeSetupComplete(
      existing,
      tag,
      setupComplete.map((e) => e.name),
    );
    changes.push({ kind: 'setup-complete', when: 'offline', path: SETUP_COMPLETE_IMAGE_PATH, text: merged.text, keptLines: merged.keptLines, created: !exists });
    if (exists) warnings.push(`${SETUP_COMPLETE_IMAGE_PATH} already exists: its ${merged.keptLines} line(s) are kept and run after DeployForge's scripts`);
    // Microsoft Learn, "Add a custom script to Windows Setup".
    setupTimeNotes.push(
      'SetupComplete.cmd runs as SYSTEM after Windows is installed, before the logon screen; Setup does not check its exit code, and a restart from it leaves the system in a bad state',
      'Windows does not run SetupComplete.cmd when the installation uses an OEM product key, except on Enterprise editions and Windows Server (Microsoft Learn); use specialize or firstLogon for machines activated with an OEM key',
    );
  }

  const firstLogon = options.firstLogon ?? [];
  if (firstLogon.length > 0) {
    const name = `${RESERVED_SCRIPT_PREFIX}FirstLogon-${tag}.ps1`;
    const text = buildRunner(
      'runs the first-logon scripts in order',
      firstLogon.map((e) => e.name),
      SCRIPTS_FOLDER,
    );
    changes.push(runnerChange(image, name, text, warnings));
    changes.push({
      kind: 'first-logon-command',
      when: 'first-logon',
      commandLine: powershellFile(windowsScriptPath(name)),
      description: 'DeployForge scripts: run the first-logon scripts in order',
    });
    // Microsoft Learn, FirstLogonCommands/SynchronousCommand/Order: the commands now start at the same time.
    setupTimeNotes.push(
      `${firstLogon.length} script(s) run in order at the first user's first logon from one FirstLogonCommands entry (Windows starts the entries together, so one runner keeps the order); the user needs administrator rights to write the logs in C:\\Windows\\Setup\\Scripts`,
    );
  }

  const everyNewUser = options.everyNewUser ?? [];
  if (everyNewUser.length > 0) {
    const name = `${RESERVED_SCRIPT_PREFIX}EveryNewUser-${tag}.ps1`;
    const text = buildRunner(
      "runs once in each new user's profile (RunOnce in the Default profile)",
      everyNewUser.map((e) => e.name),
      USER_LOG_FOLDER,
    );
    changes.push(runnerChange(image, name, text, warnings));
    const command = powershellFile(windowsScriptPath(name));
    if (command.length > MAX_RUN_ONCE_COMMAND) throw new InputError('DF_STEP_SCRIPT_NAME', `the RunOnce command is longer than ${MAX_RUN_ONCE_COMMAND} characters`);
    const registry: RegistryStep = registryStep.schema.parse({
      type: 'registry',
      hive: 'NTUSER',
      set: [{ key: RUN_ONCE_KEY, name: `DeployForgeScripts-${tag}`, type: 'REG_SZ', data: command }],
    });
    const planned = await registryStep.plan(registry, image, { baseDir });
    warnings.push(...planned.warnings);
    for (const change of planned.changes) changes.push({ kind: 'registry', when: 'offline', reason: 'run the every-new-user scripts once per new profile', change });
    // Microsoft Learn, "Run and RunOnce Registry Keys".
    setupTimeNotes.push(
      `${everyNewUser.length} script(s) run once at each new user's first logon, as that user, logging to ${USER_LOG_FOLDER}\\NAME.log; Windows deletes the RunOnce value before running it, so a failed run is not retried`,
      'a Windows feature update empties C:\\Windows\\Setup\\Scripts (reported in cschneegans/unattend-generator #167), after which profiles created later no longer run these scripts',
    );
  }

  return { changes: [...runs, ...changes], warnings, setupTimeNotes };
}

// ── apply ────────────────────────────────────────────────────────────────────────────────────

/** Adds a command to the contributions once (one answer file serves every edition). */
function contribute(list: StepApplyContext['unattend']['firstLogonCommands'], commandLine: string, description: string): void {
  if (!list.some((c) => c.commandLine === commandLine)) list.push({ commandLine, description });
}

const STAGE_LABEL: Record<ScriptStage, string> = {
  specialize: 'specialize pass',
  setupComplete: 'SetupComplete.cmd',
  firstLogon: 'first logon',
  everyNewUser: 'each new user',
};

export const scriptsStep = defineStep<ScriptsStep, ScriptsChange>({
  id: 'scripts',
  schema: ScriptsStepSchema,
  plan(options, image, context) {
    return planScriptsStep(options, image, context.baseDir);
  },
  async apply(changes, image, progress, context) {
    const work = changes.filter((c) => c.kind !== 'run');
    let done = 0;
    const tick = () => progress.emit({ phase: 'scripts', done: ++done, total: work.length, unit: 'items' });
    for (const change of work) {
      switch (change.kind) {
        case 'write-script': {
          const name = change.path.slice(change.path.lastIndexOf('/') + 1);
          if ('file' in change.source) image.copyFileIn(change.path, change.source.file);
          else image.writeFile(change.path, encodeScriptText(name, change.source.text));
          break;
        }
        case 'setup-complete':
          image.writeFile(change.path, new Uint8Array(Buffer.from(change.text, 'latin1')));
          break;
        case 'registry':
          await registryStep.apply([change.change], image, silentProgress, context);
          break;
        case 'specialize-command':
          contribute(context.unattend.specializeCommands, change.commandLine, change.description);
          break;
        case 'first-logon-command':
          contribute(context.unattend.firstLogonCommands, change.commandLine, change.description);
          break;
      }
      tick();
    }
  },
  describe(change) {
    switch (change.kind) {
      case 'run':
        return [`run    ${change.script} (${STAGE_LABEL[change.stage]}), log ${change.log}`];
      case 'write-script':
        return [`${(change.replaces ? 'replace' : 'add').padEnd(8)}${change.path} (${change.size} bytes${'file' in change.source ? ` from ${change.source.file}` : ''})`];
      case 'setup-complete':
        return [`${(change.created ? 'add' : 'merge').padEnd(8)}${change.path}${change.created ? '' : ` (keeps ${change.keptLines} existing line(s))`}`];
      case 'registry': {
        const c = change.change;
        return [`set    ${c.hive}\\${c.key} ${'value' in c ? c.value : ''} = ${'new' in c ? c.new.data : ''}`];
      }
      case 'specialize-command':
        return [`answer file specialize: ${change.commandLine}`];
      case 'first-logon-command':
        return [`answer file first logon: ${change.commandLine}`];
    }
  },
});
