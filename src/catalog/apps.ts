// The app catalog: provisioned AppX packages of Windows 10 and 11 (catalog/apps/apps.yaml) and the
// capabilities and optional features commonly removed or enabled (catalog/apps/capabilities.yaml),
// every entry with a source. Loads and validates the YAML (problems carry file, line and field) and
// turns a selection into entries by exact id, package name or family name, never by substring.
// It does not read images or plan changes; the remove-apps step does.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Document, isMap, isPair, isScalar, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import { z } from 'zod';
import { ConfigError, type ConfigIssue, InputError } from '../errors.js';

/** catalog/apps in the package: two folders up from src/catalog (tsx) and from dist/catalog alike. */
export const APP_CATALOG_DIR = fileURLToPath(new URL('../../catalog/apps/', import.meta.url));

/** Releases the catalog tracks, per Windows version. */
export const WINDOWS_RELEASES = { win10: ['22H2'], win11: ['22H2', '23H2', '24H2', '25H2'] } as const;
export type WindowsVersion = keyof typeof WINDOWS_RELEASES;

export const APP_CATEGORIES = [
  'news-weather',
  'web',
  'ai',
  'media',
  'games',
  'communication',
  'office',
  'productivity',
  'system-tools',
  'developer',
  'oem',
  'store',
  'frameworks',
  'codecs',
] as const;
export type AppCategory = (typeof APP_CATEGORIES)[number];

export type AppMechanism = 'setup' | 'offline-deprovision';
export type CapabilityAction = 'remove' | 'enable';

const KEBAB = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
// AppxManifest ST_PackageName: 3 to 50 letters, digits, '.' and '-'.
const PACKAGE_NAME = /^[A-Za-z0-9.-]{3,50}$/;
// The publisher ID is 13 characters of Crockford's base-32 (a hash of the Publisher string).
const FAMILY = /^[A-Za-z0-9.-]{3,50}_[0-9a-z]{13}$/;
// Capability names before the first `~`; optional feature names (letters, digits, '.', '-', '_').
const COMPONENT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

const Kebab = z.string().regex(KEBAB, { error: 'expected a kebab-case id (a-z, 0-9, -)' });

const WindowsSchema = z
  .object({
    win10: z.array(z.enum(WINDOWS_RELEASES.win10)).min(1).optional(),
    win11: z.array(z.enum(WINDOWS_RELEASES.win11)).min(1).optional(),
  })
  .strict()
  .refine((w) => w.win10 !== undefined || w.win11 !== undefined, { error: 'expected win10 and/or win11 releases' });

const UnverifiedSchema = z
  .object({
    win10: z.array(z.enum(WINDOWS_RELEASES.win10)).optional(),
    win11: z.array(z.enum(WINDOWS_RELEASES.win11)).optional(),
  })
  .strict();

type Windows = z.infer<typeof WindowsSchema>;
type Unverified = z.infer<typeof UnverifiedSchema>;

function checkUnverified(windows: Windows, unverified: Unverified | undefined, ctx: z.core.$RefinementCtx): void {
  for (const version of ['win10', 'win11'] as const) {
    for (const release of unverified?.[version] ?? []) {
      if (!(windows[version] ?? []).includes(release as never)) {
        ctx.addIssue({ code: 'custom', path: ['unverified', version], message: `${release} is not in windows.${version}: list it there first` });
      }
    }
  }
}

const SourceKeys = z.array(Kebab).min(1, { error: 'expected at least one source key' });

const AppEntrySchema = z
  .object({
    id: Kebab,
    packageName: z.string().regex(PACKAGE_NAME, { error: 'expected a package Name: 3 to 50 letters, digits, . and -' }).optional(),
    family: z.string().regex(FAMILY, { error: 'expected a package family name: Name_PublisherId (13 characters)' }).optional(),
    displayName: z.string().min(1),
    category: z.enum(APP_CATEGORIES),
    windows: WindowsSchema,
    unverified: UnverifiedSchema.optional(),
    keepByDefault: z.boolean(),
    keepReason: z.string().min(1).optional(),
    defaultMechanism: z.enum(['setup', 'offline-deprovision']),
    notes: z.string().min(1).optional(),
    source: SourceKeys,
  })
  .strict()
  .superRefine((entry, ctx) => {
    if (entry.packageName === undefined && entry.family === undefined) ctx.addIssue({ code: 'custom', path: ['packageName'], message: 'expected packageName and/or family' });
    if (entry.packageName !== undefined && entry.family !== undefined && !entry.family.startsWith(`${entry.packageName}_`)) {
      ctx.addIssue({ code: 'custom', path: ['family'], message: `expected the family to start with the package name: ${entry.packageName}_<publisherId>` });
    }
    if (entry.keepByDefault && entry.keepReason === undefined) ctx.addIssue({ code: 'custom', path: ['keepReason'], message: 'expected the reason the app is kept by default' });
    if (!entry.keepByDefault && entry.keepReason !== undefined) ctx.addIssue({ code: 'custom', path: ['keepReason'], message: 'only apps kept by default have a keepReason' });
    checkUnverified(entry.windows, entry.unverified, ctx);
  });

const CapabilityEntrySchema = z
  .object({
    id: Kebab,
    kind: z.enum(['capability', 'feature']),
    name: z.string().regex(COMPONENT_NAME, { error: 'expected a capability name (before the ~) or an optional feature name' }),
    displayName: z.string().min(1),
    actions: z.array(z.enum(['remove', 'enable'])).min(1),
    windows: WindowsSchema,
    unverified: UnverifiedSchema.optional(),
    notes: z.string().min(1).optional(),
    source: SourceKeys,
  })
  .strict()
  .superRefine((entry, ctx) => {
    if (entry.kind === 'capability' && entry.actions.includes('enable')) {
      ctx.addIssue({ code: 'custom', path: ['actions'], message: 'capabilities can only be removed here (adding one needs its payload)' });
    }
    checkUnverified(entry.windows, entry.unverified, ctx);
  });

const PresetSchema = z
  .object({
    description: z.string().min(1),
    apps: z.array(z.string().min(1)).min(1),
  })
  .strict();

const CatalogFileSchema = z
  .object({
    sources: z.record(Kebab, z.string().min(1)),
    presets: z.record(Kebab, PresetSchema).optional(),
    apps: z.array(AppEntrySchema).optional(),
    capabilities: z.array(CapabilityEntrySchema).optional(),
  })
  .strict();

interface Located {
  /** The catalog file and the line of the entry, for messages. */
  file: string;
  line: number;
}

export interface AppEntry extends Located {
  id: string;
  /** The exact package Name (Identity Name; DisplayName in Get-AppxProvisionedPackage). */
  packageName: string;
  /** Name_PublisherId when known; otherwise read from the image. */
  family: string | null;
  publisherId: string | null;
  displayName: string;
  category: AppCategory;
  windows: Windows;
  unverified: Unverified;
  keepByDefault: boolean;
  keepReason: string | null;
  defaultMechanism: AppMechanism;
  notes: string | null;
  /** Where the facts come from: the texts of the entry's source keys (its file's `sources:`). */
  source: string[];
}

export interface CapabilityEntry extends Located {
  id: string;
  kind: 'capability' | 'feature';
  name: string;
  displayName: string;
  actions: CapabilityAction[];
  windows: Windows;
  unverified: Unverified;
  notes: string | null;
  source: string[];
}

export interface AppPreset extends Located {
  description: string;
  apps: string[];
}

export interface AppCatalog {
  dir: string;
  apps: AppEntry[];
  capabilities: CapabilityEntry[];
  presets: Map<string, AppPreset>;
}

// ── loading ──────────────────────────────────────────────────────────────────────────────────

interface ParsedFile {
  file: string;
  doc: Document;
  lines: LineCounter;
}

/** The line of the YAML node at `path`, or of the nearest enclosing node that exists. A mapping
 *  or list is pointed at by its key's line; `keyLine` points at the last key even for a scalar. */
function lineAt(parsed: ParsedFile, path: readonly PropertyKey[], keyLine = false): number {
  const lineOf = (n: unknown, fallback: number) => {
    const range = (n as Node | null | undefined)?.range;
    return range ? parsed.lines.linePos(range[0]).line : fallback;
  };
  let node: unknown = parsed.doc.contents;
  let line = lineOf(node, 1);
  for (const [i, part] of path.entries()) {
    const last = i === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(part));
      if (!pair) return line;
      const keyAt = lineOf(pair.key, line);
      if (last) return keyLine || !isScalar(pair.value) ? keyAt : lineOf(pair.value, keyAt);
      node = pair.value;
      line = keyAt;
    } else if (isSeq(node) && typeof part === 'number' && node.items[part] !== undefined) {
      node = node.items[part];
      line = lineOf(node, line);
    } else return line;
  }
  return line;
}

function fieldName(path: readonly PropertyKey[]): string {
  return path.reduce<string>((out, part) => (typeof part === 'number' ? `${out}[${part}]` : out ? `${out}.${String(part)}` : String(part)), '');
}

function catalogError(issues: ConfigIssue[]): ConfigError {
  const first = issues[0];
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more problem${issues.length > 2 ? 's' : ''})` : '';
  return new ConfigError('DF_CATALOG_INVALID', `${first.file}:${first.line}: ${first.field}: ${first.message}${more}`, issues);
}

function zodIssues(parsed: ParsedFile, error: z.ZodError): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const issue of error.issues) {
    const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) out.push({ file: parsed.file, line: lineAt(parsed, [...path, key], true), field: fieldName([...path, key]), message: 'unknown key' });
    } else {
      out.push({ file: parsed.file, line: lineAt(parsed, path), field: fieldName(path), message: issue.message });
    }
  }
  return out;
}

/** Loads every *.yaml in `dir` (default: the package's catalog/apps) and checks it as one catalog:
 *  schema, known source keys, unique ids, package names, family names and capability names, and
 *  presets that name known apps which are not kept by default. Throws DF_CATALOG_INVALID listing
 *  every problem with file, line and field. */
export async function loadAppCatalog(dir: string = APP_CATALOG_DIR): Promise<AppCatalog> {
  const names = (await readdir(dir)).filter((n) => /\.ya?ml$/i.test(n)).sort();
  const issues: ConfigIssue[] = [];
  const catalog: AppCatalog = { dir, apps: [], capabilities: [], presets: new Map() };
  const presetsAt: { parsed: ParsedFile; name: string; preset: AppPreset }[] = [];

  for (const name of names) {
    const file = join(dir, name);
    const lines = new LineCounter();
    const doc = parseDocument(await readFile(file, 'utf8'), { lineCounter: lines, prettyErrors: false });
    const parsed: ParsedFile = { file, doc, lines };
    if (doc.errors.length > 0) {
      for (const e of doc.errors) issues.push({ file, line: lines.linePos(e.pos[0]).line, field: '', message: `YAML syntax: ${e.message.split('\n')[0]}` });
      continue;
    }
    const result = CatalogFileSchema.safeParse(doc.toJS());
    if (!result.success) {
      issues.push(...zodIssues(parsed, result.error));
      continue;
    }
    const data = result.data;
    const localSources = new Map(Object.entries(data.sources));
    const checkSources = (section: string, index: number, keys: string[]) => {
      keys.forEach((key, k) => {
        if (!localSources.has(key)) {
          issues.push({
            file,
            line: lineAt(parsed, [section, index, 'source', k]),
            field: `${section}[${index}].source[${k}]`,
            message: `unknown source key '${key}': define it under sources:`,
          });
        }
      });
    };
    (data.apps ?? []).forEach((entry, index) => {
      checkSources('apps', index, entry.source);
      const packageName = entry.packageName ?? (entry.family as string).slice(0, (entry.family as string).lastIndexOf('_'));
      catalog.apps.push({
        id: entry.id,
        packageName,
        family: entry.family ?? null,
        publisherId: entry.family ? entry.family.slice(entry.family.lastIndexOf('_') + 1) : null,
        displayName: entry.displayName,
        category: entry.category,
        windows: entry.windows,
        unverified: entry.unverified ?? {},
        keepByDefault: entry.keepByDefault,
        keepReason: entry.keepReason ?? null,
        defaultMechanism: entry.defaultMechanism,
        notes: entry.notes ?? null,
        source: entry.source.map((key) => localSources.get(key) ?? key),
        file,
        line: lineAt(parsed, ['apps', index]),
      });
    });
    (data.capabilities ?? []).forEach((entry, index) => {
      checkSources('capabilities', index, entry.source);
      catalog.capabilities.push({
        id: entry.id,
        kind: entry.kind,
        name: entry.name,
        displayName: entry.displayName,
        actions: entry.actions,
        windows: entry.windows,
        unverified: entry.unverified ?? {},
        notes: entry.notes ?? null,
        source: entry.source.map((key) => localSources.get(key) ?? key),
        file,
        line: lineAt(parsed, ['capabilities', index]),
      });
    });
    for (const [presetName, preset] of Object.entries(data.presets ?? {})) {
      const at: AppPreset = { ...preset, file, line: lineAt(parsed, ['presets', presetName]) };
      if (catalog.presets.has(presetName)) issues.push({ file, line: at.line, field: `presets.${presetName}`, message: 'duplicate preset name' });
      catalog.presets.set(presetName, at);
      presetsAt.push({ parsed, name: presetName, preset: at });
    }
  }

  // Uniqueness across every file: ids, and the names Windows matches on (case-insensitively).
  const unique = <T extends Located>(entries: T[], keyOf: (e: T) => string | null, field: string, what: string) => {
    const seen = new Map<string, T>();
    for (const entry of entries) {
      const key = keyOf(entry);
      if (key === null) continue;
      const first = seen.get(key);
      if (first) issues.push({ file: entry.file, line: entry.line, field, message: `duplicate ${what} (first at ${first.file}:${first.line})` });
      else seen.set(key, entry);
    }
  };
  unique(catalog.apps, (a) => a.id, 'id', 'app id');
  unique(catalog.apps, (a) => a.packageName.toLowerCase(), 'packageName', 'package name');
  unique(catalog.apps, (a) => a.family?.toLowerCase() ?? null, 'family', 'package family name');
  unique(catalog.capabilities, (c) => c.id, 'id', 'capability id');
  unique(catalog.capabilities, (c) => `${c.kind}:${c.name.toLowerCase()}`, 'name', 'capability or feature name');

  const byId = new Map(catalog.apps.map((a) => [a.id, a]));
  for (const { parsed, name, preset } of presetsAt) {
    preset.apps.forEach((id, k) => {
      const app = byId.get(id);
      const where = { file: parsed.file, line: lineAt(parsed, ['presets', name, 'apps', k]), field: `presets.${name}.apps[${k}]` };
      if (!app) issues.push({ ...where, message: `unknown app id '${id}'` });
      else if (app.keepByDefault) issues.push({ ...where, message: `'${id}' is kept by default and cannot be in a preset` });
    });
  }

  if (issues.length > 0) throw catalogError(issues);
  return catalog;
}

let defaultCatalog: Promise<AppCatalog> | undefined;

/** The package's catalog, loaded once per process. */
export function defaultAppCatalog(): Promise<AppCatalog> {
  defaultCatalog ??= loadAppCatalog().catch((error) => {
    defaultCatalog = undefined;
    throw error;
  });
  return defaultCatalog;
}

// ── selection ────────────────────────────────────────────────────────────────────────────────

export interface AppSelection {
  /** Catalog ids, exact package names or exact family names. */
  ids?: string[];
  categories?: string[];
  presets?: string[];
  /** Taken out of the result; same forms as `ids`. */
  exclude?: string[];
  /** Lets categories bring in apps kept by default (which then still need `force`). */
  includeKeepByDefault?: boolean;
  /** Allows apps kept by default in the result. */
  force?: boolean;
}

export interface ResolvedAppSelection {
  /** In catalog order. */
  apps: AppEntry[];
  /** Apps a category named but that stay, and why. */
  skipped: { id: string; reason: string }[];
}

/** The entry `ref` names: its id, or exactly its package name or family name (case-insensitive,
 *  as Windows compares them). Never a substring or prefix. */
export function findApp(catalog: AppCatalog, ref: string): AppEntry | undefined {
  const byId = catalog.apps.find((a) => a.id === ref);
  if (byId) return byId;
  const folded = ref.toLowerCase();
  return catalog.apps.find((a) => a.packageName.toLowerCase() === folded || a.family?.toLowerCase() === folded);
}

function unknownApp(ref: string, field: string): InputError {
  return new InputError(
    'DF_APP_UNKNOWN',
    `${field}: '${ref}' is not in the app catalog: give a catalog id (e.g. bing-news), an exact package name (Microsoft.BingNews) or an exact family name (Microsoft.BingNews_8wekyb3d8bbwe)`,
    { ref, field },
  );
}

/** Turns ids, categories and presets into catalog entries, by exact match only. Unknown names are
 *  errors, and an app kept by default is refused (DF_APP_KEEP_BY_DEFAULT, with the reason) unless
 *  `force` is set. */
export function resolveAppSelection(catalog: AppCatalog, selection: AppSelection): ResolvedAppSelection {
  const chosen = new Set<AppEntry>();
  const skipped: { id: string; reason: string }[] = [];
  for (const ref of selection.ids ?? []) {
    const app = findApp(catalog, ref);
    if (!app) throw unknownApp(ref, 'apps');
    chosen.add(app);
  }
  for (const category of selection.categories ?? []) {
    if (!(APP_CATEGORIES as readonly string[]).includes(category)) {
      throw new InputError('DF_APP_CATEGORY_UNKNOWN', `categories: '${category}' is not an app category: expected one of ${APP_CATEGORIES.join(', ')}`, { category });
    }
    for (const app of catalog.apps.filter((a) => a.category === category)) {
      if (app.keepByDefault && !selection.includeKeepByDefault) skipped.push({ id: app.id, reason: `kept by default: ${app.keepReason}` });
      else chosen.add(app);
    }
  }
  for (const name of selection.presets ?? []) {
    const preset = catalog.presets.get(name);
    if (!preset) {
      throw new InputError('DF_APP_PRESET_UNKNOWN', `presets: '${name}' is not an app preset: expected one of ${[...catalog.presets.keys()].join(', ')}`, { preset: name });
    }
    for (const id of preset.apps) chosen.add(findApp(catalog, id) as AppEntry);
  }
  for (const ref of selection.exclude ?? []) {
    const app = findApp(catalog, ref);
    if (!app) throw unknownApp(ref, 'exclude');
    chosen.delete(app);
  }
  const kept = [...chosen].filter((a) => a.keepByDefault);
  if (kept.length > 0 && !selection.force) {
    const first = kept[0];
    throw new InputError(
      'DF_APP_KEEP_BY_DEFAULT',
      `${first.id} (${first.packageName}) is kept by default: ${first.keepReason} Set force: true to remove it anyway${
        kept.length > 1
          ? ` (also: ${kept
              .slice(1)
              .map((a) => a.id)
              .join(', ')})`
          : ''
      }`,
      { apps: kept.map((a) => a.id) },
    );
  }
  const seen = new Set<string>();
  const stillKept = skipped.filter((s) => ![...chosen].some((a) => a.id === s.id) && !seen.has(s.id) && seen.add(s.id));
  return { apps: catalog.apps.filter((a) => chosen.has(a)), skipped: stillKept };
}

/** Capability and feature entries by id; each must allow `action`. */
export function resolveCapabilities(catalog: AppCatalog, ids: readonly string[], action: CapabilityAction): CapabilityEntry[] {
  return ids.map((id) => {
    const entry = catalog.capabilities.find((c) => c.id === id);
    if (!entry) {
      throw new InputError('DF_CAPABILITY_UNKNOWN', `'${id}' is not in the capability catalog: give a catalog id such as wordpad or netfx3`, { id });
    }
    if (!entry.actions.includes(action)) {
      throw new InputError('DF_CAPABILITY_ACTION', `${id} (${entry.name}) cannot be ${action === 'enable' ? 'enabled' : 'removed'} here: allowed ${entry.actions.join(', ')}`, {
        id,
        action,
      });
    }
    return entry;
  });
}

// ── Windows releases ─────────────────────────────────────────────────────────────────────────

/** Build numbers of the releases the catalog tracks (Microsoft's Windows 10/11 release information). */
const RELEASE_BY_BUILD: Record<number, { version: WindowsVersion; release: string }> = {
  19045: { version: 'win10', release: '22H2' },
  22621: { version: 'win11', release: '22H2' },
  22631: { version: 'win11', release: '23H2' },
  26100: { version: 'win11', release: '24H2' },
  26200: { version: 'win11', release: '25H2' },
};

export interface WindowsRelease {
  version: WindowsVersion;
  /** 22H2…, or null for a build the catalog does not track. */
  release: string | null;
  build: number;
}

/** The release of a build number (CurrentBuildNumber); builds ≥ 22000 are Windows 11. */
export function windowsReleaseOf(build: number): WindowsRelease {
  const known = RELEASE_BY_BUILD[build];
  if (known) return { ...known, build };
  return { version: build >= 22000 ? 'win11' : 'win10', release: null, build };
}

/** Whether the catalog lists the entry for that release: 'yes', 'unverified' or 'no'. */
export function appliesTo(entry: { windows: Windows; unverified: Unverified }, release: WindowsRelease): 'yes' | 'unverified' | 'no' {
  const listed = entry.windows[release.version] as readonly string[] | undefined;
  if (!listed) return 'no';
  if (release.release === null) return 'unverified';
  if (!listed.includes(release.release)) return 'no';
  return ((entry.unverified[release.version] ?? []) as readonly string[]).includes(release.release) ? 'unverified' : 'yes';
}
