// The registry tweak catalog: catalog/tweaks/<category>.yaml (one file per category) and
// catalog/tweaks/presets.yaml, checked entry by entry with file, line and field, and the
// resolution of a selection (ids, categories, presets, security level, exclusions, data
// overrides) into an ordered list of tweaks. It reads no image and writes nothing: the `tweaks`
// step turns the tweaks into registry changes.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Document, LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { ConfigError, type ConfigIssue, InputError } from '../errors.js';

// ── vocabulary ───────────────────────────────────────────────────────────────────────────────

/** Categories, in the order plans list them; each has its own file `<category>.yaml`. */
export const TWEAK_CATEGORIES = [
  'privacy',
  'ads',
  'gaming',
  'performance',
  'explorer',
  'start',
  'edge',
  'windows-update',
  'security',
  'network',
  'power',
  'accessibility',
] as const;
export type TweakCategory = (typeof TWEAK_CATEGORIES)[number];

/**
 * Where a tweak writes. SOFTWARE and SYSTEM are the machine hives (HKLM\SOFTWARE, HKLM\SYSTEM);
 * DEFAULT_USER is the default profile, Users/Default/NTUSER.DAT, which every new account copies
 * (the image's hive id NTUSER). A tweak with `alsoDefaultHive` also writes its DEFAULT_USER
 * values into config/DEFAULT (HKU\.DEFAULT, the logon screen's profile).
 */
export const TWEAK_HIVES = ['SOFTWARE', 'SYSTEM', 'DEFAULT_USER'] as const;
export type TweakHive = (typeof TWEAK_HIVES)[number];

/** Image hive ids (src/formats/regf/reg-roots.ts) of the catalog's hive names. */
export const TWEAK_HIVE_IDS: Readonly<Record<TweakHive, 'SOFTWARE' | 'SYSTEM' | 'NTUSER'>> = { SOFTWARE: 'SOFTWARE', SYSTEM: 'SYSTEM', DEFAULT_USER: 'NTUSER' };

export const TWEAK_VALUE_TYPES = ['REG_SZ', 'REG_EXPAND_SZ', 'REG_MULTI_SZ', 'REG_DWORD', 'REG_QWORD', 'REG_BINARY'] as const;
export type TweakValueType = (typeof TWEAK_VALUE_TYPES)[number];

export const WINDOWS_RELEASES = ['win10', 'win11'] as const;
/** First build of Windows 11 (21H2); Windows 10 builds are below it, from 10240 (1507). */
export const WIN11_FIRST_BUILD = 22000;
const WIN10_FIRST_BUILD = 10240;

/** Top-level keys each hive really has, so a path that starts one level too high or low is caught. */
const HIVE_TOP_KEYS: Readonly<Record<TweakHive, readonly string[]>> = {
  SOFTWARE: ['Microsoft', 'Policies', 'Classes', 'WOW6432Node', 'Clients', 'RegisteredApplications'],
  SYSTEM: ['CurrentControlSet', 'Setup', 'Select', 'MountedDevices', 'DriverDatabase', 'HardwareConfig'],
  DEFAULT_USER: ['Software', 'Control Panel', 'System', 'Environment', 'Keyboard Layout', 'AppEvents', 'Console', 'Printers', 'Network'],
};

const ROOT_NAMES = new Set(['hklm', 'hkey_local_machine', 'hkcu', 'hkey_current_user', 'hku', 'hkey_users', 'hkcr', 'hkey_classes_root', 'hkcc', 'hkey_current_config']);

const KEBAB = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
const SOURCE = /^(?:https:\/\/\S+|ANCHORS\.md §\d+(?:\.\d+)* \([^()]+\))$/;

/**
 * Why a registry key path is not well-formed for `hive`, or undefined when it is: relative to the
 * hive root (no HKLM\ or hive-name prefix), no leading, trailing or doubled backslash, no control
 * characters, segments of at most 255 characters, a top-level key the hive really has, and
 * CurrentControlSet (never a fixed ControlSet00N) only as the first segment of a SYSTEM path.
 */
export function registryKeyProblem(hive: TweakHive, key: string): string | undefined {
  if (key === '') return 'expected a key path below the hive root';
  if (key.startsWith('\\') || key.endsWith('\\')) return 'expected a key path without a leading or trailing \\';
  const parts = key.split('\\');
  if (parts.some((p) => p === '')) return 'expected a key path without empty segments (\\\\)';
  if (parts.some((p) => /[\u0000-\u001f]/.test(p))) return 'expected a key path without control characters';
  if (parts.some((p) => p.length > 255)) return 'expected key names of at most 255 characters';
  const first = parts[0].toLowerCase();
  if (ROOT_NAMES.has(first)) return `expected a path below the ${hive} hive: the hive is given by hive:, so drop the leading ${parts[0]}\\`;
  if ((hive === 'SOFTWARE' || hive === 'SYSTEM') && first === hive.toLowerCase()) return `expected a path below the ${hive} hive root: drop the leading ${parts[0]}\\`;
  const ccs = parts.findIndex((p) => p.toLowerCase() === 'currentcontrolset');
  if (ccs >= 0 && hive !== 'SYSTEM') return 'CurrentControlSet exists only in the SYSTEM hive';
  if (ccs > 0) return 'CurrentControlSet must be the first segment of a SYSTEM path';
  if (hive === 'SYSTEM' && /^controlset\d{3}$/.test(first)) return `write CurrentControlSet instead of ${parts[0]}: the step finds the control set from Select\\Current`;
  if (!HIVE_TOP_KEYS[hive].some((k) => k.toLowerCase() === first)) return `${parts[0]} is not a top-level key of ${hive}: expected one of ${HIVE_TOP_KEYS[hive].join(', ')}`;
  return undefined;
}

const u32 = (d: unknown) => typeof d === 'number' && Number.isInteger(d) && d >= 0 && d <= 0xffffffff;
const hexBytes = /^(?:[0-9a-fA-F]{2}(?:[ ,]?(?=[0-9a-fA-F])|$))*$/;

/** What `data` must be for each value type: a check, and words for the message. */
const VALUE_DATA: Readonly<Record<TweakValueType, { check: (d: unknown) => boolean; expected: string }>> = {
  REG_SZ: { check: (d) => typeof d === 'string', expected: 'a string' },
  REG_EXPAND_SZ: { check: (d) => typeof d === 'string', expected: 'a string' },
  REG_MULTI_SZ: { check: (d) => Array.isArray(d) && d.every((s) => typeof s === 'string'), expected: 'a list of strings' },
  REG_DWORD: { check: u32, expected: 'an integer from 0 to 4294967295' },
  REG_QWORD: {
    check: (d) => (typeof d === 'number' && Number.isSafeInteger(d) && d >= 0) || (typeof d === 'string' && /^(?:0x[0-9a-fA-F]{1,16}|[0-9]{1,20})$/.test(d)),
    expected: 'a non-negative integer (as a string beyond 2^53)',
  },
  REG_BINARY: { check: (d) => typeof d === 'string' && hexBytes.test(d), expected: 'hex bytes such as "01 00 ff"' },
};

/** Why `data` does not fit `type`, or undefined. */
export function valueDataProblem(type: TweakValueType, data: unknown): string | undefined {
  return VALUE_DATA[type].check(data) ? undefined : `expected ${VALUE_DATA[type].expected} for ${type}`;
}

// ── schemas ──────────────────────────────────────────────────────────────────────────────────

const TweakData = z.union([z.string(), z.number(), z.array(z.string())]);
export type TweakData = z.infer<typeof TweakData>;

export const TweakIdSchema = z.string().regex(KEBAB, { error: 'expected a kebab-case id (a-z, 0-9, -)' });

export const TweakChangeSchema = z
  .object({
    hive: z.enum(TWEAK_HIVES),
    key: z.string().describe('key path below the hive root; SYSTEM paths start with CurrentControlSet'),
    value: z.string().max(16383).optional().describe('value name, "" for the default value; omitted only when deleting the whole key'),
    type: z.enum(TWEAK_VALUE_TYPES).optional(),
    data: TweakData.optional(),
    delete: z.literal(true).optional().describe('delete the value (or, without value, the key)'),
    existingKeyOnly: z.literal(true).optional().describe('only when the key is already in the image (services that some editions lack)'),
  })
  .strict()
  .superRefine((c, ctx) => {
    const problem = registryKeyProblem(c.hive, c.key);
    if (problem) ctx.addIssue({ code: 'custom', path: ['key'], message: problem });
    if (c.delete) {
      if (c.type !== undefined || c.data !== undefined) ctx.addIssue({ code: 'custom', path: ['delete'], message: 'a deletion has no type or data' });
      return;
    }
    if (c.value === undefined) ctx.addIssue({ code: 'custom', path: ['value'], message: 'expected a value name ("" for the default value), or delete: true for the whole key' });
    if (c.type === undefined) ctx.addIssue({ code: 'custom', path: ['type'], message: `expected a value type, one of ${TWEAK_VALUE_TYPES.join(', ')}` });
    else if (c.data === undefined) ctx.addIssue({ code: 'custom', path: ['data'], message: `expected data: ${VALUE_DATA[c.type].expected}` });
    else {
      const bad = valueDataProblem(c.type, c.data);
      if (bad) ctx.addIssue({ code: 'custom', path: ['data'], message: bad });
    }
  });
export type TweakChange = z.infer<typeof TweakChangeSchema>;

export const WindowsTargetSchema = z.union([
  z.enum(WINDOWS_RELEASES),
  z
    .object({
      os: z.enum(WINDOWS_RELEASES),
      minBuild: z.number().int().min(WIN10_FIRST_BUILD).optional(),
      maxBuild: z.number().int().min(WIN10_FIRST_BUILD).optional(),
    })
    .strict()
    .superRefine((t, ctx) => {
      const [lo, hi] = t.os === 'win11' ? [WIN11_FIRST_BUILD, Number.POSITIVE_INFINITY] : [WIN10_FIRST_BUILD, WIN11_FIRST_BUILD - 1];
      for (const field of ['minBuild', 'maxBuild'] as const) {
        const b = t[field];
        if (b !== undefined && (b < lo || b > hi)) ctx.addIssue({ code: 'custom', path: [field], message: `build ${b} is not a ${t.os} build` });
      }
      if (t.minBuild !== undefined && t.maxBuild !== undefined && t.minBuild > t.maxBuild)
        ctx.addIssue({ code: 'custom', path: ['maxBuild'], message: 'expected maxBuild ≥ minBuild' });
    }),
]);
export type WindowsTarget = z.infer<typeof WindowsTargetSchema>;

const SourceRef = z.string().regex(SOURCE, { error: "expected an https:// URL or 'ANCHORS.md §N.N (tool, file)'" });

const sameName = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();
const isUnder = (key: string, parent: string) => sameName(key, parent) || key.toLowerCase().startsWith(`${parent.toLowerCase()}\\`);

export const TweakSchema = z
  .object({
    id: TweakIdSchema,
    title: z.string().min(3).max(80),
    description: z.string().min(20).describe('what the tweak does and its side effects'),
    category: z.enum(TWEAK_CATEGORIES),
    level: z
      .union([z.literal(1), z.literal(2), z.literal(3)])
      .optional()
      .describe('security hardening only: 1 safe everywhere, 2 may affect old software or networks, 3 strict'),
    windows: z.array(WindowsTargetSchema).min(1),
    alsoDefaultHive: z.literal(true).optional().describe('Windows also reads these user values from config/DEFAULT (the logon screen)'),
    conflicts: z.array(TweakIdSchema).optional().describe('tweaks that set the same thing differently; they cannot be selected together'),
    changes: z.array(TweakChangeSchema).min(1),
    undo: z.array(TweakChangeSchema).min(1).describe('what puts the Windows default back: deletions or the stock data'),
    source: z.union([SourceRef, z.array(SourceRef).min(1)]),
  })
  .strict()
  .superRefine((t, ctx) => {
    if (t.category === 'security' && t.level === undefined) ctx.addIssue({ code: 'custom', path: ['level'], message: 'expected a level (1, 2 or 3) for a security tweak' });
    if (t.category !== 'security' && t.level !== undefined) ctx.addIssue({ code: 'custom', path: ['level'], message: 'only security tweaks have a level' });
    if (t.alsoDefaultHive && !t.changes.some((c) => c.hive === 'DEFAULT_USER')) {
      ctx.addIssue({ code: 'custom', path: ['alsoDefaultHive'], message: 'alsoDefaultHive needs at least one DEFAULT_USER change' });
    }
    const seen = new Set<string>();
    t.changes.forEach((c, i) => {
      const id = `${c.hive}|${c.key}|${c.value ?? ''}`.toLowerCase();
      if (seen.has(id)) ctx.addIssue({ code: 'custom', path: ['changes', i], message: 'the same value is changed twice' });
      seen.add(id);
      if (c.delete) return;
      // Every value a tweak sets has a way back: its own undo entry or the deletion of a key above it.
      const undone = t.undo.some(
        (u) => u.hive === c.hive && (u.value === undefined ? u.delete === true && isUnder(c.key, u.key) : sameName(u.key, c.key) && sameName(u.value, c.value ?? '')),
      );
      if (!undone) ctx.addIssue({ code: 'custom', path: ['undo'], message: `no undo entry for ${c.hive}\\${c.key}\\${c.value === '' ? '(default)' : c.value}` });
    });
    if (t.conflicts?.includes(t.id)) ctx.addIssue({ code: 'custom', path: ['conflicts'], message: 'a tweak cannot conflict with itself' });
  });
export type Tweak = z.infer<typeof TweakSchema>;

export const SecurityLevelSchema = z.union([z.literal(1), z.literal(2), z.literal(3)]);

export const TweakPresetSchema = z
  .object({
    id: TweakIdSchema,
    title: z.string().min(3).max(80),
    description: z.string().min(10),
    ids: z.array(TweakIdSchema).optional(),
    categories: z.array(z.enum(TWEAK_CATEGORIES)).optional(),
    presets: z.array(TweakIdSchema).optional(),
    securityLevel: SecurityLevelSchema.optional().describe('security tweaks up to this level'),
    exclude: z.array(TweakIdSchema).optional(),
  })
  .strict()
  .superRefine((p, ctx) => {
    if (!p.ids?.length && !p.categories?.length && !p.presets?.length && p.securityLevel === undefined) {
      ctx.addIssue({ code: 'custom', message: 'expected ids, categories, presets or securityLevel' });
    }
  });
export type TweakPreset = z.infer<typeof TweakPresetSchema>;

const CategoryFileSchema = z.object({ tweaks: z.array(z.unknown()).min(1) }).strict();
const PresetsFileSchema = z.object({ presets: z.array(z.unknown()).min(1) }).strict();

// ── the loaded catalog ───────────────────────────────────────────────────────────────────────

export interface TweakLocation {
  file: string;
  line: number;
}

export interface TweakCatalog {
  /** The folder the catalog was read from. */
  dir: string;
  /** Every tweak, by category in TWEAK_CATEGORIES order, then in file order. */
  tweaks: readonly Tweak[];
  presets: readonly TweakPreset[];
  byId: ReadonlyMap<string, Tweak>;
  presetById: ReadonlyMap<string, TweakPreset>;
  /** Where an entry (tweak or preset id) is written. */
  locationOf(id: string): TweakLocation | undefined;
}

/** The catalog shipped with DeployForge: catalog/tweaks at the package root (the same two levels up from src/catalog and dist/catalog). */
export const TWEAK_CATALOG_DIR = fileURLToPath(new URL('../../catalog/tweaks/', import.meta.url));

export const PRESETS_FILE = 'presets.yaml';

interface ParsedFile {
  file: string;
  doc: Document;
  lines: LineCounter;
  data: unknown;
}

function fieldName(path: readonly PropertyKey[]): string {
  return path.reduce<string>((out, part) => (typeof part === 'number' ? `${out}[${part}]` : out ? `${out}.${String(part)}` : String(part)), '');
}

/** Line of the node at `path`, or of the nearest enclosing node that exists (a missing field has no line). */
function lineAt(parsed: ParsedFile, path: readonly PropertyKey[]): number {
  for (let n = path.length; n >= 0; n--) {
    const node = n === 0 ? parsed.doc.contents : parsed.doc.getIn(path.slice(0, n) as (string | number)[], true);
    const range = node && typeof node === 'object' && 'range' in node ? (node.range as [number, number, number] | undefined) : undefined;
    if (range) return parsed.lines.linePos(range[0]).line;
  }
  return 1;
}

function zodIssues(parsed: ParsedFile, prefix: (string | number)[], error: z.ZodError): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  for (const issue of error.issues) {
    const path = [...prefix, ...issue.path.filter((p): p is string | number => typeof p !== 'symbol')];
    const keys = issue.code === 'unrecognized_keys' ? issue.keys : [undefined];
    for (const key of keys) {
      const full = key === undefined ? path : [...path, key];
      issues.push({ file: parsed.file, line: lineAt(parsed, full), field: fieldName(full), message: key === undefined ? issue.message : 'unknown key' });
    }
  }
  return issues;
}

function summarize(code: string, issues: ConfigIssue[]): ConfigError {
  const first = issues[0];
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more problem${issues.length > 2 ? 's' : ''})` : '';
  return new ConfigError(code, `${first.file ?? 'tweak catalog'}:${first.line ?? 1}: ${first.field ? `${first.field}: ` : ''}${first.message}${more}`, issues);
}

async function parseFile(file: string, issues: ConfigIssue[]): Promise<ParsedFile | undefined> {
  const text = await readFile(file, 'utf8');
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    for (const e of doc.errors) issues.push({ file, line: lines.linePos(e.pos[0]).line, field: '', message: `YAML syntax: ${e.message.split('\n')[0]}` });
    return undefined;
  }
  return { file, doc, lines, data: doc.toJS({ maxAliasCount: 100 }) };
}

/** The identity of a written value, for conflict checks. */
const valueIdentity = (c: TweakChange) => `${c.hive}|${c.key}|${c.value ?? ''}`.toLowerCase();
const dataIdentity = (c: TweakChange) => JSON.stringify([c.delete ? 'delete' : c.type, c.data ?? null]);

/**
 * Reads and checks the catalog in `dir` (default: the one shipped with DeployForge). Throws a
 * ConfigError (DF_TWEAK_CATALOG_INVALID) listing every problem with its file, line and field:
 * schema errors, a category field that differs from its file, duplicate ids, two tweaks writing
 * different data to one value without declaring the conflict, and presets that do not resolve.
 */
export async function loadTweakCatalog(dir: string = TWEAK_CATALOG_DIR): Promise<TweakCatalog> {
  const issues: ConfigIssue[] = [];
  const names = (await readdir(dir)).filter((n) => /\.ya?ml$/i.test(n)).sort();
  const byCategory = new Map<TweakCategory, { tweak: Tweak; loc: TweakLocation; index: number }[]>();
  const presetEntries: { preset: TweakPreset; loc: TweakLocation; parsed: ParsedFile; index: number }[] = [];

  for (const name of names) {
    const file = join(dir, name);
    const parsed = await parseFile(file, issues);
    if (!parsed) continue;
    const stem = name.replace(/\.ya?ml$/i, '');
    if (name === PRESETS_FILE) {
      const top = PresetsFileSchema.safeParse(parsed.data);
      if (!top.success) {
        issues.push(...zodIssues(parsed, [], top.error));
        continue;
      }
      top.data.presets.forEach((entry, index) => {
        const result = TweakPresetSchema.safeParse(entry);
        if (!result.success) issues.push(...zodIssues(parsed, ['presets', index], result.error));
        else presetEntries.push({ preset: result.data, loc: { file, line: lineAt(parsed, ['presets', index]) }, parsed, index });
      });
      continue;
    }
    const category = TWEAK_CATEGORIES.find((c) => c === stem);
    if (!category) {
      issues.push({ file, line: 1, field: '', message: `unexpected file: tweak files are named after a category (${TWEAK_CATEGORIES.join(', ')}) or ${PRESETS_FILE}` });
      continue;
    }
    const top = CategoryFileSchema.safeParse(parsed.data);
    if (!top.success) {
      issues.push(...zodIssues(parsed, [], top.error));
      continue;
    }
    const list: { tweak: Tweak; loc: TweakLocation; index: number }[] = [];
    top.data.tweaks.forEach((entry, index) => {
      const result = TweakSchema.safeParse(entry);
      if (!result.success) {
        issues.push(...zodIssues(parsed, ['tweaks', index], result.error));
        return;
      }
      const loc = { file, line: lineAt(parsed, ['tweaks', index]) };
      if (result.data.category !== category) {
        issues.push({ file, line: lineAt(parsed, ['tweaks', index, 'category']), field: `tweaks[${index}].category`, message: `expected ${category}, the category of this file` });
      }
      list.push({ tweak: result.data, loc, index });
    });
    byCategory.set(category, list);
  }

  const tweaks: Tweak[] = [];
  const locations = new Map<string, TweakLocation>();
  const indexes = new Map<string, number>();
  for (const category of TWEAK_CATEGORIES) {
    for (const { tweak, loc, index } of byCategory.get(category) ?? []) {
      const prior = locations.get(tweak.id);
      if (prior) {
        issues.push({ file: loc.file, line: loc.line, field: `tweaks[${index}].id`, message: `duplicate tweak id '${tweak.id}' (first at ${prior.file}:${prior.line})` });
        continue;
      }
      locations.set(tweak.id, loc);
      indexes.set(tweak.id, index);
      tweaks.push(tweak);
    }
  }
  const byId = new Map(tweaks.map((t) => [t.id, t]));

  // Declared conflicts name real tweaks; undeclared ones (one value, two different data) are errors.
  const writers = new Map<string, { tweak: Tweak; data: string }[]>();
  for (const tweak of tweaks) {
    const loc = locations.get(tweak.id) as TweakLocation;
    const at = `tweaks[${indexes.get(tweak.id)}]`;
    for (const other of tweak.conflicts ?? []) {
      if (!byId.has(other)) issues.push({ ...loc, field: `${at}.conflicts`, message: `unknown tweak '${other}' in conflicts` });
    }
    for (const change of tweak.changes) {
      const list = writers.get(valueIdentity(change)) ?? [];
      for (const w of list) {
        const declared = w.tweak.conflicts?.includes(tweak.id) || tweak.conflicts?.includes(w.tweak.id);
        if (w.data !== dataIdentity(change) && !declared) {
          issues.push({
            ...loc,
            field: `${at}.changes`,
            message: `${change.hive}\\${change.key}\\${change.value ?? ''} is also written by '${w.tweak.id}' with other data: list it under conflicts or merge the tweaks`,
          });
        }
      }
      list.push({ tweak, data: dataIdentity(change) });
      writers.set(valueIdentity(change), list);
    }
  }

  const presets: TweakPreset[] = [];
  const presetById = new Map<string, TweakPreset>();
  for (const { preset, loc, index } of presetEntries) {
    const prior = presetById.get(preset.id);
    if (prior) {
      const first = locations.get(`preset:${preset.id}`) as TweakLocation;
      issues.push({ ...loc, field: `presets[${index}].id`, message: `duplicate preset id '${preset.id}' (first at ${first.file}:${first.line})` });
      continue;
    }
    presetById.set(preset.id, preset);
    locations.set(`preset:${preset.id}`, loc);
    presets.push(preset);
  }

  const catalog: TweakCatalog = {
    dir,
    tweaks,
    presets,
    byId,
    presetById,
    locationOf: (id) => locations.get(id) ?? locations.get(`preset:${id}`),
  };
  for (const { preset, loc, parsed, index } of presetEntries) {
    if (presetById.get(preset.id) !== preset) continue;
    try {
      resolveTweakSelection(catalog, { presets: [preset.id] });
    } catch (error) {
      if (!(error instanceof InputError)) throw error;
      issues.push({ file: loc.file, line: lineAt(parsed, ['presets', index]), field: `presets[${index}]`, message: `preset '${preset.id}' does not resolve: ${error.message}` });
    }
  }

  if (issues.length > 0) throw summarize('DF_TWEAK_CATALOG_INVALID', issues);
  return catalog;
}

// ── selection ────────────────────────────────────────────────────────────────────────────────

export const TweakOverrideSchema = z
  .object({
    data: TweakData.optional().describe("new data for every value the tweak sets (each must fit its value's type)"),
    values: z.record(z.string(), TweakData).optional().describe('new data by value name ("" for the default value)'),
  })
  .strict()
  .superRefine((o, ctx) => {
    if (o.data === undefined && o.values === undefined) ctx.addIssue({ code: 'custom', message: 'expected data or values' });
  });
export type TweakOverride = z.infer<typeof TweakOverrideSchema>;

export interface TweakSelection {
  ids?: readonly string[];
  categories?: readonly string[];
  presets?: readonly string[];
  /** Security tweaks of this level and below. */
  securityLevel?: 1 | 2 | 3;
  exclude?: readonly string[];
  /** New data for selected tweaks, by tweak id. */
  overrides?: Readonly<Record<string, TweakOverride>>;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}

/** Up to three known names close to `name`: small edit distance first, then names containing it. */
export function closeMatches(name: string, known: Iterable<string>): string[] {
  const wanted = name.toLowerCase();
  const scored: { name: string; score: number }[] = [];
  for (const k of known) {
    const d = editDistance(wanted, k.toLowerCase());
    if (d <= Math.max(2, Math.floor(wanted.length / 4))) scored.push({ name: k, score: d });
    else if (wanted.length >= 3 && (k.includes(wanted) || wanted.includes(k))) scored.push({ name: k, score: 100 + Math.abs(k.length - wanted.length) });
  }
  return scored
    .sort((x, y) => x.score - y.score || x.name.localeCompare(y.name))
    .slice(0, 3)
    .map((s) => s.name);
}

function unknownError(code: string, what: string, names: string[], known: Iterable<string>): InputError {
  const all = [...known];
  const parts = names.map((n) => {
    const close = closeMatches(n, all);
    return `'${n}'${close.length ? ` (did you mean ${close.join(', ')}?)` : ''}`;
  });
  return new InputError(code, `unknown ${what}${names.length > 1 ? 's' : ''} ${parts.join(', ')}: see catalog/tweaks`, { names });
}

/** The tweaks a preset stands for, following nested presets (a cycle is an error). */
function expandPreset(catalog: TweakCatalog, id: string, stack: string[], into: Set<string>): void {
  const preset = catalog.presetById.get(id);
  if (!preset) throw unknownError('DF_TWEAK_UNKNOWN_PRESET', 'tweak preset', [id], catalog.presetById.keys());
  if (stack.includes(id)) throw new InputError('DF_TWEAK_PRESET_CYCLE', `tweak presets include each other: ${[...stack, id].join(' → ')}`, { presets: [...stack, id] });
  const own = new Set<string>();
  for (const nested of preset.presets ?? []) expandPreset(catalog, nested, [...stack, id], own);
  addDirect(catalog, preset, own);
  for (const x of preset.exclude ?? []) {
    if (!catalog.byId.has(x)) throw unknownError('DF_TWEAK_UNKNOWN', `tweak id in preset '${id}' exclude`, [x], catalog.byId.keys());
    own.delete(x);
  }
  for (const t of own) into.add(t);
}

/** Adds the ids, categories and security level of a selection (not its presets or exclusions). */
function addDirect(catalog: TweakCatalog, selection: Pick<TweakSelection, 'ids' | 'categories' | 'securityLevel'>, into: Set<string>): void {
  const badCategories = (selection.categories ?? []).filter((c) => !(TWEAK_CATEGORIES as readonly string[]).includes(c));
  if (badCategories.length > 0) throw unknownError('DF_TWEAK_UNKNOWN_CATEGORY', 'tweak category', badCategories, TWEAK_CATEGORIES);
  const badIds = (selection.ids ?? []).filter((id) => !catalog.byId.has(id));
  if (badIds.length > 0) throw unknownError('DF_TWEAK_UNKNOWN', 'tweak id', badIds, catalog.byId.keys());
  for (const t of catalog.tweaks) {
    if (selection.categories?.includes(t.category)) into.add(t.id);
    if (selection.securityLevel !== undefined && t.category === 'security' && (t.level ?? 3) <= selection.securityLevel) into.add(t.id);
  }
  for (const id of selection.ids ?? []) into.add(id);
}

function applyOverride(tweak: Tweak, override: TweakOverride): Tweak {
  const sets = tweak.changes.filter((c) => !c.delete);
  const byName = new Map(Object.entries(override.values ?? {}).map(([name, data]) => [name.toLowerCase(), { name, data }]));
  for (const { name } of byName.values()) {
    if (!sets.some((c) => sameName(c.value ?? '', name))) {
      throw new InputError('DF_TWEAK_BAD_OVERRIDE', `override for tweak '${tweak.id}': it sets no value named '${name}' (it sets ${sets.map((c) => `'${c.value}'`).join(', ')})`, {
        tweak: tweak.id,
      });
    }
  }
  const changes = tweak.changes.map((c) => {
    if (c.delete || c.type === undefined) return c;
    const named = byName.get((c.value ?? '').toLowerCase());
    const data = named ? named.data : override.data;
    if (data === undefined) return c;
    const bad = valueDataProblem(c.type, data);
    if (bad) throw new InputError('DF_TWEAK_BAD_OVERRIDE', `override for tweak '${tweak.id}', value '${c.value}': ${bad}`, { tweak: tweak.id, value: c.value });
    return { ...c, data };
  });
  return { ...tweak, changes };
}

/**
 * The tweaks a selection names, each once, in catalog order (category, then file order), with
 * overrides applied. Unknown ids, categories and presets fail with an InputError that names them
 * and suggests close matches; so do overrides for tweaks that are not selected and two selected
 * tweaks that conflict (declared, or writing one value with different data).
 */
export function resolveTweakSelection(catalog: TweakCatalog, selection: TweakSelection): Tweak[] {
  const chosen = new Set<string>();
  const badPresets = (selection.presets ?? []).filter((p) => !catalog.presetById.has(p));
  if (badPresets.length > 0) throw unknownError('DF_TWEAK_UNKNOWN_PRESET', 'tweak preset', badPresets, catalog.presetById.keys());
  for (const preset of selection.presets ?? []) expandPreset(catalog, preset, [], chosen);
  addDirect(catalog, selection, chosen);
  const badExcludes = (selection.exclude ?? []).filter((id) => !catalog.byId.has(id));
  if (badExcludes.length > 0) throw unknownError('DF_TWEAK_UNKNOWN', 'tweak id in exclude', badExcludes, catalog.byId.keys());
  for (const id of selection.exclude ?? []) chosen.delete(id);

  const overrides = selection.overrides ?? {};
  const stray = Object.keys(overrides).filter((id) => !chosen.has(id));
  if (stray.length > 0) {
    const unknown = stray.filter((id) => !catalog.byId.has(id));
    if (unknown.length > 0) throw unknownError('DF_TWEAK_UNKNOWN', 'tweak id in overrides', unknown, catalog.byId.keys());
    throw new InputError('DF_TWEAK_OVERRIDE_UNSELECTED', `overrides name tweaks that are not selected: ${stray.join(', ')}`, { ids: stray });
  }

  const result = catalog.tweaks.filter((t) => chosen.has(t.id)).map((t) => (overrides[t.id] ? applyOverride(t, overrides[t.id]) : t));
  for (const t of result) {
    const clash = (t.conflicts ?? []).find((other) => chosen.has(other));
    if (clash) throw conflictError(t.id, clash, 'they set the same thing differently');
  }
  const writers = new Map<string, { id: string; data: string }>();
  for (const t of result) {
    for (const c of t.changes) {
      const prior = writers.get(valueIdentity(c));
      if (prior && prior.id !== t.id && prior.data !== dataIdentity(c)) throw conflictError(prior.id, t.id, `both write ${c.hive}\\${c.key}\\${c.value ?? ''} with different data`);
      writers.set(valueIdentity(c), { id: t.id, data: dataIdentity(c) });
    }
  }
  return result;
}

function conflictError(a: string, b: string, why: string): InputError {
  return new InputError('DF_TWEAK_CONFLICT', `tweaks '${a}' and '${b}' cannot be selected together (${why}): exclude one of them`, { ids: [a, b] });
}

/** Whether `tweak` is meant for Windows build `build` (10240… for Windows 10, 22000… for Windows 11). */
export function tweakAppliesTo(tweak: Tweak, build: number): boolean {
  return tweak.windows.some((w) => {
    const os = typeof w === 'string' ? w : w.os;
    const inOs = os === 'win11' ? build >= WIN11_FIRST_BUILD : build >= WIN10_FIRST_BUILD && build < WIN11_FIRST_BUILD;
    if (!inOs || typeof w === 'string') return inOs;
    return (w.minBuild === undefined || build >= w.minBuild) && (w.maxBuild === undefined || build <= w.maxBuild);
  });
}

/** The Windows releases a tweak is for, in words: "win10, win11 ≥ 22621". */
export function describeWindows(tweak: Tweak): string {
  return tweak.windows
    .map((w) => (typeof w === 'string' ? w : `${w.os}${w.minBuild !== undefined ? ` ≥ ${w.minBuild}` : ''}${w.maxBuild !== undefined ? ` ≤ ${w.maxBuild}` : ''}`))
    .join(', ');
}

/** A tweak's sources as a list. */
export function sourcesOf(tweak: Tweak): string[] {
  return typeof tweak.source === 'string' ? [tweak.source] : tweak.source;
}
