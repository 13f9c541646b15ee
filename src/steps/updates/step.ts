// The `updates` step: reads .msu and .cab update packages (cabinet directory, nested cabinets, the
// package identity in update.mum or the MSU's servicing XML, pkgProperties.txt), tells servicing
// stack updates from cumulative updates, orders them servicing stack first and stages them in the
// image for Windows Setup to install with DISM, from SetupComplete.cmd or the specialize pass.
// It never applies an update offline: that needs Windows' component-based servicing (CBS).
import { basename, resolve } from 'node:path';
import { z } from 'zod';
import { DeployForgeError, InputError, toDeployForgeError } from '../../errors.js';
import { type CabInfo, openCabFile, readCab, readCabFile, readMsu } from '../../formats/cab/index.js';
import type { WindowsImage } from '../../image/windows-image.js';
import { InputPath } from '../../recipe/schema.js';
import { type ByteSource, FileSource } from '../../util/byte-source.js';
import { shortSize } from '../../util/size-text.js';
import { type ChangeTime, defineStep, type StepPlan } from '../define-step.js';

export const UPDATE_METHODS = ['setupcomplete', 'specialize'] as const;
export type UpdateMethod = (typeof UPDATE_METHODS)[number];

export const UpdatesStepSchema = z
  .object({
    type: z.literal('updates'),
    description: z.string().optional(),
    packages: z
      .array(InputPath)
      .min(1)
      .describe('.msu and .cab update packages (Microsoft Update Catalog); installed servicing stack first, then cumulative updates, then the rest, each kind in the order given'),
    method: z
      .enum(UPDATE_METHODS)
      .optional()
      .describe(
        'setupcomplete (default): DISM /Online from SetupComplete.cmd after Setup, before the first logon, logged to updates.log; specialize: DISM /Online from the answer file in the specialize pass',
      ),
  })
  .strict()
  .describe('stage .msu/.cab updates in the image for Windows Setup to install (servicing stack first); they are not applied offline');
export type UpdatesStep = z.infer<typeof UpdatesStepSchema>;

// ── where things go ──────────────────────────────────────────────────────────────────────────

/** Packages keep their catalog file names: DISM looks for a checkpoint cumulative update's
 *  prerequisite MSUs in the folder of the one it installs (Microsoft Learn,
 *  windows/deployment/update/catalog-checkpoint-cumulative-updates). */
export const UPDATES_IMAGE_DIR = '/Windows/Setup/Updates';
export const UPDATES_WINDOWS_DIR = 'C:\\Windows\\Setup\\Updates';
export const UPDATES_SCRIPT_PATH = '/Windows/Setup/Scripts/deployforge-updates.cmd';
/** Windows Setup runs %WINDIR%\Setup\Scripts\SetupComplete.cmd as SYSTEM once installation is
 *  done, before the logon screen, and ignores its exit code (Microsoft Learn,
 *  windows-hardware/manufacture/desktop/add-a-custom-script-to-windows-setup). */
export const SETUPCOMPLETE_PATH = '/Windows/Setup/Scripts/SetupComplete.cmd';
export const SETUPCOMPLETE_CALL = 'call "%~dp0deployforge-updates.cmd"';
export const UPDATES_LOG = 'C:\\Windows\\Setup\\Scripts\\updates.log';

// ── reading a package ────────────────────────────────────────────────────────────────────────

export type UpdateKind = 'servicing-stack' | 'cumulative' | 'other';
export type UpdateArchitecture = 'amd64' | 'arm64' | 'x86';

/** An assemblyIdentity as update.mum and the MSU's servicing XML write it. */
export interface PackageIdentity {
  name: string;
  version?: string;
  processorArchitecture?: string;
  publicKeyToken?: string;
  language?: string;
}

export interface UpdatePackageInfo {
  /** Absolute local path. */
  file: string;
  name: string;
  size: number;
  /** By content: an MSU holds payloads (.cab, .wim, .psf) and their metadata (KB934307). */
  format: 'msu' | 'cab';
  updateKind: UpdateKind;
  /** What the kind was told from (see classifyUpdate). */
  kindReason: string;
  kb?: string;
  architecture?: UpdateArchitecture;
  identities: PackageIdentity[];
  /** An MSU that carries its servicing stack update (SSU-*.cab) beside the cumulative update. */
  bundlesServicingStack: boolean;
  /** Names of the payloads an MSU holds. */
  payloads: string[];
  /** What could not be read (LZX-compressed members, unreadable nested cabinets). */
  notes: string[];
}

const MAX_METADATA = 4 * 1024 * 1024;
const MAX_NESTED = 64 * 1024 * 1024;

/** Text of a small metadata file: UTF-16 when it starts with a byte-order mark, else UTF-8. */
function decodeText(bytes: Uint8Array): string {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return Buffer.from(bytes.subarray(2)).toString('utf16le');
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return Buffer.from(bytes.subarray(2)).swap16().toString('utf16le');
  const text = Buffer.from(bytes).toString('utf8');
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** Every `<assemblyIdentity …>` of an update.mum or an MSU's servicing XML (an unattend `<servicing>` document). */
export function readAssemblyIdentities(xml: string): PackageIdentity[] {
  const out: PackageIdentity[] = [];
  for (const element of xml.matchAll(/<assemblyIdentity\b([^>]*)>/g)) {
    const attributes = new Map<string, string>();
    for (const a of element[1].matchAll(/([A-Za-z][\w.-]*)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)) attributes.set(a[1], a[2] ?? a[3] ?? '');
    const name = attributes.get('name');
    if (!name) continue;
    out.push({
      name,
      version: attributes.get('version'),
      processorArchitecture: attributes.get('processorArchitecture'),
      publicKeyToken: attributes.get('publicKeyToken'),
      language: attributes.get('language'),
    });
  }
  return out;
}

/** `Key="Value"` lines of an MSU's *-pkgProperties.txt (KB934307: "string properties that Wusa.exe uses"). */
export function readPackageProperties(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*([^=]+?)\s*=\s*"?(.*?)"?\s*$/.exec(line);
    if (m) out.set(m[1].toLowerCase(), m[2]);
  }
  return out;
}

const ARCH_WORDS: Record<string, UpdateArchitecture> = { amd64: 'amd64', x64: 'amd64', arm64: 'arm64', x86: 'x86' };

/**
 * What kind of update a package is. Evidence, strongest first:
 * 1. package identities (update.mum, the MSU's servicing XML): `Package_for_ServicingStack*` is a
 *    servicing stack update, `Package_for_RollupFix*` the monthly cumulative update (the names
 *    `dism /Get-Packages` shows for them);
 * 2. an MSU that holds an `SSU-<build>-<arch>.cab` is a cumulative update with its servicing
 *    stack inside (DISM installs that first by itself);
 * 3. the file name: "servicing stack" or an `ssu` word, else "cumulative", "rollup" or an `lcu` word.
 * Anything else is `other` (.NET, feature packs, language packs) and goes after both.
 */
export function classifyUpdate(info: Pick<UpdatePackageInfo, 'name' | 'identities' | 'bundlesServicingStack'>): { kind: UpdateKind; reason: string } {
  const names = info.identities.map((i) => i.name);
  const rollup = names.find((n) => /^Package_for_RollupFix/i.test(n));
  const stack = names.find((n) => /^Package_for_ServicingStack/i.test(n));
  if (rollup) return { kind: 'cumulative', reason: `package identity ${rollup}${stack ? ` (with ${stack})` : ''}` };
  if (info.bundlesServicingStack) return { kind: 'cumulative', reason: 'an MSU with its servicing stack update (SSU-*.cab) inside' };
  if (stack) return { kind: 'servicing-stack', reason: `package identity ${stack}` };
  if (names.length > 0) return { kind: 'other', reason: `package identity ${names[0]}` };
  if (/servicing[ _-]?stack|(^|[^a-z])ssu([^a-z]|$)/i.test(info.name)) return { kind: 'servicing-stack', reason: 'its file name' };
  if (/cumulative|rollup|(^|[^a-z])lcu([^a-z]|$)/i.test(info.name)) return { kind: 'cumulative', reason: 'its file name' };
  return { kind: 'other', reason: 'nothing identified it' };
}

/** Reads what DeployForge needs to know about one .msu/.cab: format, identities, KB, architecture, kind. */
export async function readUpdatePackage(file: string): Promise<UpdatePackageInfo> {
  const name = basename(file);
  let source: FileSource;
  try {
    source = await FileSource.open(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException)?.code === 'ENOENT') throw new InputError('DF_UPDATE_NOT_FOUND', `update package ${file} does not exist: check the path`, { file });
    throw toDeployForgeError(error);
  }
  try {
    let cabinet: CabInfo;
    try {
      cabinet = await readCab(source);
    } catch (error) {
      if (!(error instanceof DeployForgeError) || error.kind === 'internal') throw error;
      throw new InputError('DF_UPDATE_UNREADABLE', `${file} is not a readable .msu/.cab update package: ${error.message} [${error.code}]`, { file, cause: error.code });
    }
    const lower = cabinet.files.map((f) => f.name.toLowerCase());
    const hasPayload = lower.some((n) => /\.(cab|psf|wim)$/.test(n));
    const hasMetadata = lower.some((n) => n.endsWith('.xml') || n.endsWith('pkgproperties.txt') || n === 'wsusscan.cab');
    const info: UpdatePackageInfo = {
      file,
      name,
      size: source.size,
      format: hasPayload && hasMetadata ? 'msu' : 'cab',
      updateKind: 'other',
      kindReason: '',
      identities: [],
      bundlesServicingStack: false,
      payloads: [],
      notes: [],
    };
    const tryRead = async (from: ByteSource, cab: CabInfo, member: string, what: string): Promise<Uint8Array | undefined> => {
      try {
        return await readCabFile(from, cab, member, { maxBytes: MAX_METADATA });
      } catch (error) {
        if (!(error instanceof DeployForgeError) || error.kind === 'internal') throw error;
        info.notes.push(`${what} not read: ${error.message} [${error.code}]`);
        return undefined;
      }
    };
    const properties = new Map<string, string>();

    if (info.format === 'cab') {
      const mum = cabinet.files.find((f) => f.name.toLowerCase() === 'update.mum');
      if (mum) {
        const bytes = await tryRead(source, cabinet, mum.name, 'update.mum');
        if (bytes) info.identities.push(...readAssemblyIdentities(decodeText(bytes)).slice(0, 1));
      } else info.notes.push('no update.mum: the package does not name itself');
    } else {
      const msu = await readMsu(source, { maxNestedBytes: MAX_NESTED });
      let namedByXml = false;
      for (const f of cabinet.files) {
        const n = f.name.toLowerCase();
        if (n.endsWith('.xml')) {
          const bytes = await tryRead(source, cabinet, f.name, f.name);
          const named = bytes ? readAssemblyIdentities(decodeText(bytes)) : [];
          info.identities.push(...named);
          namedByXml ||= named.length > 0;
        } else if (n.endsWith('pkgproperties.txt')) {
          const bytes = await tryRead(source, cabinet, f.name, f.name);
          if (bytes) for (const [k, v] of readPackageProperties(decodeText(bytes))) properties.set(k, v);
        }
      }
      for (const entry of msu.entries) {
        const n = entry.name.toLowerCase();
        if (!/\.(cab|psf|wim)$/.test(n) || n === 'wsusscan.cab') continue;
        info.payloads.push(entry.name);
        if (/^ssu-[^\\/]*\.cab$/.test(n)) info.bundlesServicingStack = true;
        if (entry.note) info.notes.push(`${entry.name}: ${entry.note}`);
        // The MSU's XML names the packages it installs; without it, each nested cabinet's update.mum does.
        if (!entry.cabinet || namedByXml) continue;
        const mum = entry.cabinet.files.find((f) => f.name.toLowerCase() === 'update.mum');
        if (!mum) continue;
        const nested = openCabFile(source, cabinet, entry.name, { maxBytes: MAX_NESTED });
        const bytes = await tryRead(nested, entry.cabinet, mum.name, `${entry.name}\\update.mum`);
        if (bytes) info.identities.push(...readAssemblyIdentities(decodeText(bytes)).slice(0, 1));
      }
    }

    const kb =
      properties.get('kb article number')?.replace(/^(kb)?/i, 'KB') ??
      info.identities.map((i) => /^Package_for_(KB\d+)/i.exec(i.name)?.[1]).find(Boolean) ??
      /(?:^|[^a-z])(kb\d{6,8})/i.exec(name)?.[1];
    if (kb) info.kb = kb.toUpperCase();
    const archWord =
      info.identities.map((i) => i.processorArchitecture?.toLowerCase()).find((a) => a && ARCH_WORDS[a]) ??
      properties.get('processor architecture')?.toLowerCase() ??
      /-(x64|amd64|arm64|x86)(?:[_.-]|$)/i.exec(name)?.[1].toLowerCase();
    if (archWord && ARCH_WORDS[archWord]) info.architecture = ARCH_WORDS[archWord];
    const kind = classifyUpdate(info);
    info.updateKind = kind.kind;
    info.kindReason = kind.reason;
    return info;
  } finally {
    await source.close();
  }
}

// ── changes ──────────────────────────────────────────────────────────────────────────────────

export type UpdatesChange =
  | {
      kind: 'package';
      when: ChangeTime;
      /** Install position, from 1. */
      order: number;
      file: string;
      name: string;
      format: 'msu' | 'cab';
      updateKind: UpdateKind;
      kindReason: string;
      kb?: string;
      identity?: PackageIdentity;
      bundlesServicingStack: boolean;
      size: number;
      /** Where it is staged in the image, and that path as the installed Windows sees it. */
      imagePath: string;
      windowsPath: string;
    }
  | { kind: 'write-script'; when: ChangeTime; path: string; text: string; replaces: boolean }
  | { kind: 'setupcomplete'; when: ChangeTime; path: string; text: string; kept: boolean }
  | { kind: 'setup-package'; when: ChangeTime; windowsPath: string };

const RANK: Record<UpdateKind, number> = { 'servicing-stack': 0, cumulative: 1, other: 2 };

/** The four-part version of a package's Package_for_RollupFix identity, when it has one. */
function rollupVersion(info: UpdatePackageInfo): number[] | undefined {
  const version = info.identities.find((i) => /^Package_for_RollupFix/i.test(i.name))?.version;
  return version && /^\d+(\.\d+){1,3}$/.test(version) ? version.split('.').map(Number) : undefined;
}

function compareVersions(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) - (b[i] ?? 0);
  return 0;
}
// cmd.exe, ISO 9660/Joliet and DISM all take these without quoting surprises.
const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,150}\.(msu|cab)$/i;

/** The script SetupComplete.cmd calls: ASCII, CRLF, one DISM run per package in order, results in updates.log. */
export function buildUpdatesScript(packages: { name: string; updateKind: UpdateKind }[]): string {
  const lines = [
    '@echo off',
    'rem deployforge-updates.cmd - written by DeployForge (updates step).',
    'rem SetupComplete.cmd calls it once, as SYSTEM, after Windows Setup and before the first logon.',
    'rem It installs the packages staged in %SystemRoot%\\Setup\\Updates with DISM, servicing stack',
    'rem first, writes each exit code to updates.log beside this script (0 done, 3010 done after a',
    'rem restart), then deletes the packages that installed. Windows finishes them at the next restart.',
    'setlocal',
    'set "UPDATES=%SystemRoot%\\Setup\\Updates"',
    'set "LOG=%~dp0updates.log"',
    `>>"%LOG%" echo [%date% %time%] DeployForge updates: ${packages.length} package(s)`,
    ...packages.map((p, i) => `call :install ${i + 1} ${p.updateKind} "${p.name}"`),
    ...packages.map((p, i) => `if defined DONE_${i + 1} del /f /q "%UPDATES%\\${p.name}"`),
    'rd "%UPDATES%" 2>nul',
    '>>"%LOG%" echo [%date% %time%] DeployForge updates: finished',
    'endlocal',
    'goto :eof',
    '',
    ':install',
    '>>"%LOG%" echo [%date% %time%] %1 %2 %~3: dism /Online /Add-Package',
    // DISM takes .cab and .msu (Microsoft Learn, dism-operating-system-package-servicing-command-line-options).
    'dism.exe /Online /Add-Package /PackagePath:"%UPDATES%\\%~3" /NoRestart >>"%LOG%" 2>&1',
    'set "RC=%ERRORLEVEL%"',
    '>>"%LOG%" echo [%date% %time%] %1 %2 %~3: exit code %RC%',
    'if "%RC%"=="0" set "DONE_%1=1"',
    'if "%RC%"=="3010" set "DONE_%1=1"',
    'goto :eof',
  ];
  return `${lines.join('\r\n')}\r\n`;
}

/** SetupComplete.cmd with our call line: at the top (after an `@echo off` first line), so an `exit` in the existing script cannot skip it. */
export function withSetupCompleteCall(existing: string | undefined): string {
  if (existing === undefined) {
    return ['@echo off', 'rem SetupComplete.cmd - Windows Setup runs it once as SYSTEM after installation, before the first logon.', SETUPCOMPLETE_CALL, ''].join('\r\n');
  }
  if (existing.toLowerCase().includes(SETUPCOMPLETE_CALL.toLowerCase())) return existing;
  const eol = existing.includes('\r\n') || !existing.includes('\n') ? '\r\n' : '\n';
  const firstBreak = existing.indexOf('\n');
  const first = firstBreak < 0 ? existing : existing.slice(0, firstBreak + 1);
  if (/^\s*@echo\s+off\s*$/i.test(first)) {
    const head = firstBreak < 0 ? `${existing}${eol}` : first;
    return `${head}${SETUPCOMPLETE_CALL}${eol}${existing.slice(head.length)}`;
  }
  return `${SETUPCOMPLETE_CALL}${eol}${existing}`;
}

const latin1 = (bytes: Uint8Array) => Buffer.from(bytes).toString('latin1');

async function planUpdates(options: UpdatesStep, image: WindowsImage, baseDir: string): Promise<StepPlan<UpdatesChange>> {
  const method: UpdateMethod = options.method ?? 'setupcomplete';
  const warnings: string[] = [];
  const problems: { file: string; code: string; message: string }[] = [];
  const arch = await image.architecture();
  const infos: UpdatePackageInfo[] = [];
  const names = new Map<string, string>();

  for (const given of options.packages) {
    const file = resolve(baseDir, given);
    const name = basename(file);
    if (!SAFE_NAME.test(name)) {
      problems.push({ file, code: 'DF_UPDATE_BAD_NAME', message: `${name}: expected a .msu or .cab name of letters, digits, '.', '_' and '-' (as the Update Catalog names them)` });
      continue;
    }
    const known = names.get(name.toLowerCase());
    if (known === file) {
      warnings.push(`${given} is listed twice; it is installed once`);
      continue;
    }
    if (known) {
      problems.push({ file, code: 'DF_UPDATE_DUPLICATE_NAME', message: `${name} is also the name of ${known}; packages are staged under their own names in one folder` });
      continue;
    }
    names.set(name.toLowerCase(), file);
    let info: UpdatePackageInfo;
    try {
      info = await readUpdatePackage(file);
    } catch (error) {
      if (!(error instanceof DeployForgeError) || error.kind === 'internal') throw error;
      problems.push({ file, code: error.code, message: error.message });
      continue;
    }
    if (info.architecture && arch && ARCH_WORDS[arch] && info.architecture !== ARCH_WORDS[arch]) {
      problems.push({ file, code: 'DF_UPDATE_ARCH', message: `${name} is for ${info.architecture}, image ${image.index} is ${arch}` });
      continue;
    }
    if (/\.msu$/i.test(name) !== (info.format === 'msu'))
      warnings.push(`${name} holds ${info.format === 'msu' ? 'an MSU' : 'a plain cabinet'} despite its extension; DISM reads it by content`);
    if (info.updateKind === 'other' && info.identities.length === 0) {
      warnings.push(`${name}: could not tell what it updates (${info.notes[0] ?? 'no package identity'}); it is installed after servicing stack and cumulative updates`);
    }
    infos.push(info);
  }
  if (problems.length > 0) {
    throw new InputError('DF_UPDATES_INVALID', `update packages cannot be staged: ${problems.map((p) => `${p.message} [${p.code}]`).join('; ')}`, { problems });
  }

  // Servicing stack before cumulative update (ANCHORS §2.4: OSDBuilder's order; an LCU before its
  // SSU fails with 0x800f0998 or is skipped as not applicable), stable within each kind. When every
  // cumulative update names its RollupFix version, older goes first: a checkpoint cumulative update
  // before the ones built on it (catalog-checkpoint-cumulative-updates: "install each MSU in order").
  const cumulative = infos.filter((i) => i.updateKind === 'cumulative');
  const byVersion = cumulative.length > 1 && cumulative.every((i) => rollupVersion(i) !== undefined);
  const ordered = infos
    .map((info, given) => ({ info, given }))
    .sort(
      (a, b) =>
        RANK[a.info.updateKind] - RANK[b.info.updateKind] ||
        (byVersion && a.info.updateKind === 'cumulative' ? compareVersions(rollupVersion(a.info) as number[], rollupVersion(b.info) as number[]) : 0) ||
        a.given - b.given,
    );
  for (const [i, { info, given }] of ordered.entries()) {
    const passed = ordered.slice(i + 1).filter((o) => o.given < given);
    if (passed.length > 0) {
      warnings.push(
        `${info.name} (${info.updateKind}) is installed before ${passed.map((o) => `${o.info.name} (${o.info.updateKind})`).join(', ')}, which came first in the recipe: servicing stack first, then cumulative updates (older first), then the rest`,
      );
    }
  }
  const identities = new Map<string, string>();
  for (const { info } of ordered) {
    for (const id of info.identities) {
      const key = `${id.name}~${id.version ?? ''}`.toLowerCase();
      const other = identities.get(key);
      if (other && other !== info.name) warnings.push(`${info.name} and ${other} both carry ${id.name} ${id.version ?? ''}`.trim());
      identities.set(key, info.name);
    }
  }

  const packages: UpdatesChange[] = ordered.map(({ info }, i) => ({
    kind: 'package',
    when: 'windows-setup',
    order: i + 1,
    file: info.file,
    name: info.name,
    format: info.format,
    updateKind: info.updateKind,
    kindReason: info.kindReason,
    kb: info.kb,
    identity: info.identities.find((id) => /^Package_for_RollupFix/i.test(id.name)) ?? info.identities[0],
    bundlesServicingStack: info.bundlesServicingStack,
    size: info.size,
    imagePath: `${UPDATES_IMAGE_DIR}/${info.name}`,
    windowsPath: `${UPDATES_WINDOWS_DIR}\\${info.name}`,
  }));

  const extra: UpdatesChange[] = [];
  const setupTimeNotes = [
    `${packages.length} update package(s) are staged in ${UPDATES_WINDOWS_DIR} and installed by Windows Setup, not offline: applying them needs Windows' component-based servicing, which DeployForge does not run (ANCHORS §1, wimlib #9; OSDBuilder's offline LCU integration broke, §2.4)`,
  ];
  if (method === 'setupcomplete') {
    const scriptExists = image.exists(UPDATES_SCRIPT_PATH);
    extra.push({ kind: 'write-script', when: 'offline', path: UPDATES_SCRIPT_PATH, text: buildUpdatesScript(ordered.map((o) => o.info)), replaces: scriptExists });
    if (scriptExists) warnings.push(`${UPDATES_SCRIPT_PATH} already exists in image ${image.index} and is replaced`);
    const current = image.exists(SETUPCOMPLETE_PATH) ? await image.readFile(SETUPCOMPLETE_PATH) : undefined;
    if (current && current[0] === 0xff && current[1] === 0xfe) {
      throw new InputError('DF_UPDATES_SETUPCOMPLETE_UTF16', `${SETUPCOMPLETE_PATH} in image ${image.index} is UTF-16, which cmd.exe does not run; save it as ANSI or UTF-8`, {
        path: SETUPCOMPLETE_PATH,
      });
    }
    extra.push({
      kind: 'setupcomplete',
      when: 'offline',
      path: SETUPCOMPLETE_PATH,
      text: withSetupCompleteCall(current ? latin1(current) : undefined),
      kept: current !== undefined,
    });
    setupTimeNotes.push(
      `SetupComplete.cmd${current ? ' (its existing commands are kept, after ours)' : ''} runs DISM /Online /Add-Package for each, in order, as SYSTEM once Setup has finished and before the first logon, logging to ${UPDATES_LOG}; Windows completes them at the next restart`,
      'Windows skips SetupComplete.cmd when it is installed with an OEM product key, except Enterprise editions and Windows Server (Microsoft Learn, "Add a custom script to Windows Setup"); use method: specialize for such media',
    );
  } else {
    for (const p of packages) if (p.kind === 'package') extra.push({ kind: 'setup-package', when: 'windows-setup', windowsPath: p.windowsPath });
    setupTimeNotes.push(
      'the answer file runs DISM /Online /Add-Package for each, in order, in the specialize pass; without the answer file DeployForge writes on the media they are staged but never installed',
    );
  }
  return { changes: [...packages, ...extra], warnings, setupTimeNotes };
}

// ── apply ────────────────────────────────────────────────────────────────────────────────────

export const updatesStep = defineStep<UpdatesStep, UpdatesChange>({
  id: 'updates',
  schema: UpdatesStepSchema,
  plan(options, image, context) {
    return planUpdates(options, image, context.baseDir);
  },
  async apply(changes, image, progress, context) {
    let done = 0;
    for (const change of changes) {
      switch (change.kind) {
        case 'package':
          image.copyFileIn(change.imagePath, change.file);
          break;
        case 'write-script':
        case 'setupcomplete':
          image.writeFile(change.path, new Uint8Array(Buffer.from(change.text, 'latin1')));
          break;
        case 'setup-package':
          // One answer file serves every edition; apply runs once per edition.
          if (!context.unattend.packages.some((p) => p.toLowerCase() === change.windowsPath.toLowerCase())) context.unattend.packages.push(change.windowsPath);
          break;
      }
      progress.emit({ phase: 'updates', done: ++done, total: changes.length, unit: 'items' });
    }
  },
  describe(change) {
    switch (change.kind) {
      case 'package': {
        const id = change.identity ? `, ${change.identity.name}${change.identity.version ? ` ${change.identity.version}` : ''}` : '';
        return [
          `${change.order}. ${change.updateKind} ${change.kb ?? ''} ${change.name} (${change.format}, ${shortSize(change.size)}${id}) → ${change.imagePath}, installed by Windows Setup`.replace(
            /\s+/g,
            ' ',
          ),
          `   identified by ${change.kindReason}${change.bundlesServicingStack ? '; carries its servicing stack update' : ''}`,
        ];
      }
      case 'write-script':
        return [`${change.replaces ? 'replace' : 'write'} ${change.path} (the DISM commands, in order)`];
      case 'setupcomplete':
        return [`${change.kept ? 'add a call to' : 'write'} ${change.path}: ${SETUPCOMPLETE_CALL}`];
      case 'setup-package':
        return [`answer file specialize: dism.exe /Online /Add-Package /PackagePath:"${change.windowsPath}"`];
    }
  },
});
