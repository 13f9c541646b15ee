// The profile catalog: composable recipe fragments in catalog/profiles/<category>/<name>.yaml
// (gaming, privacy, developer, browsers, launchers, looks, backup, portable, vm, wizard...).
// A profile is a recipe file without outputs, so a recipe gets exactly what `loadProfile` shows by
// extending it. This module indexes profiles from their YAML (category from the folder, tags from
// a `# tags:` comment line, step kinds including those of the profiles they extend) and loads one
// through the recipe loader. It does not plan or build anything.
import { readdir, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDocument } from 'yaml';
import { ConfigError, type ConfigIssue, DeployForgeError, InputError } from '../errors.js';
import { type LoadedRecipe, loadRecipe, resolveExtends } from '../recipe/loader.js';
import { stepTypes } from '../recipe/schema.js';
import { closeMatches } from './tweaks.js';

/** catalog/profiles in the package: two folders up from src/catalog (tsx) and from dist/catalog alike. */
export const PROFILE_CATALOG_DIR = fileURLToPath(new URL('../../catalog/profiles/', import.meta.url));

/** `category/name`, both kebab-case: the only form a profile name takes (no paths, no `..`). */
const PROFILE_NAME = /^[a-z0-9]+(?:-[a-z0-9]+)*\/[a-z0-9]+(?:-[a-z0-9]+)*$/;
const TAGS_LINE = /^#\s*tags:\s*(.*)$/;

export interface ProfileSummary {
  /** `category/name`, e.g. gaming/competitive. */
  name: string;
  category: string;
  file: string;
  /** The recipe's own `name:` field. */
  recipeName: string;
  description: string;
  tags: string[];
  /** `extends` entries as written in the file. */
  extends: string[];
  /** The same entries resolved: a profile name when the base is in the catalog, else its file path. */
  bases: string[];
  /** Step kinds of the profile's own steps, in order of first use. */
  stepKinds: string[];
  /** Step kinds of the profile and everything it extends, in order of first use. */
  allStepKinds: string[];
  /** winget ids of the profile's own install-apps steps. */
  packages: string[];
}

export interface LoadedProfile {
  profile: ProfileSummary;
  /** The profile loaded as a recipe: bases merged, validated against the schema. */
  loaded: LoadedRecipe;
}

export interface ProfileCatalogOptions {
  /** Another profile folder (tests); defaults to the shipped catalog/profiles. */
  dir?: string;
}

interface RawProfile {
  file: string;
  recipeName: string;
  description: string;
  tags: string[];
  extends: string[];
  stepKinds: string[];
  packages: string[];
}

function invalid(file: string, field: string, message: string, line?: number): ConfigError {
  const issue: ConfigIssue = { file, line, field, message };
  return new ConfigError('DF_PROFILE_INVALID', `${file}${line ? `:${line}` : ''}: ${field ? `${field}: ` : ''}${message}`, [issue]);
}

/** Tags from the leading comment block: `# tags: gaming, esports`. */
function tagsOf(text: string): string[] {
  for (const line of text.split(/\r?\n/)) {
    const trimmed = line.trim();
    if (trimmed === '') continue;
    if (!trimmed.startsWith('#')) break;
    const match = TAGS_LINE.exec(trimmed);
    if (match) {
      return match[1]
        .replace(/^\[|\]$/g, '')
        .split(',')
        .map((t) => t.trim())
        .filter((t) => t !== '');
    }
  }
  return [];
}

const unique = (items: string[]): string[] => [...new Set(items)];

/** Reads the fields the index needs; the full validation is the recipe loader's job. */
async function readRawProfile(file: string, cache: Map<string, RawProfile>): Promise<RawProfile> {
  const cached = cache.get(file);
  if (cached) return cached;
  const text = await readFile(file, 'utf8');
  const doc = parseDocument(text, { prettyErrors: false });
  if (doc.errors.length > 0) throw invalid(file, '', `YAML syntax: ${doc.errors[0].message.split('\n')[0]}`);
  const data = doc.toJS({ maxAliasCount: 1000 }) as unknown;
  if (data === null || typeof data !== 'object' || Array.isArray(data)) throw invalid(file, '', 'expected a mapping of recipe sections (version, name, steps...)');
  const root = data as Record<string, unknown>;
  const ext = root.extends === undefined ? [] : Array.isArray(root.extends) ? root.extends : [root.extends];
  if (!ext.every((e): e is string => typeof e === 'string' && e !== '')) throw invalid(file, 'extends', 'expected a recipe path or profile name, or a list of them');
  const steps = root.steps === undefined ? [] : root.steps;
  if (!Array.isArray(steps)) throw invalid(file, 'steps', 'expected a list of steps');
  const kinds: string[] = [];
  const packages: string[] = [];
  steps.forEach((step, i) => {
    const type = (step as { type?: unknown } | null)?.type;
    if (typeof type !== 'string') throw invalid(file, `steps[${i}].type`, 'expected a step type');
    kinds.push(type);
    const list = (step as { packages?: unknown }).packages;
    if (type === 'install-apps' && Array.isArray(list)) {
      for (const p of list) if (typeof (p as { id?: unknown } | null)?.id === 'string') packages.push((p as { id: string }).id);
    }
  });
  const raw: RawProfile = {
    file,
    recipeName: typeof root.name === 'string' ? root.name : '',
    description: typeof root.description === 'string' ? root.description.trim() : '',
    tags: tagsOf(text),
    extends: ext,
    stepKinds: unique(kinds),
    packages,
  };
  cache.set(file, raw);
  return raw;
}

/** The profile name of `file` when it lies in the catalog folder `dir`, else undefined. */
export function profileNameOf(file: string, dir: string = PROFILE_CATALOG_DIR): string | undefined {
  const rel = relative(dir, file);
  if (!rel.endsWith('.yaml')) return undefined;
  const name = rel.slice(0, -'.yaml'.length).split(sep).join('/');
  return PROFILE_NAME.test(name) ? name : undefined;
}

/** Step kinds of `file` and of everything it extends, depth-first, base kinds first. */
async function allStepKindsOf(file: string, cache: Map<string, RawProfile>, chain: string[]): Promise<string[]> {
  if (chain.includes(file)) throw invalid(chain[0], 'extends', `extends cycle: ${[...chain, file].join(' → ')}`);
  const raw = await readRawProfile(file, cache);
  const kinds: string[] = [];
  for (const entry of raw.extends) {
    const target = resolveExtends(entry, file);
    try {
      kinds.push(...(await allStepKindsOf(target, cache, [...chain, file])));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw invalid(file, 'extends', `${entry} (${target}) does not exist`);
      throw error;
    }
  }
  return unique([...kinds, ...raw.stepKinds]);
}

async function summarize(file: string, dir: string, cache: Map<string, RawProfile>): Promise<ProfileSummary> {
  const raw = await readRawProfile(file, cache);
  const name = profileNameOf(file, dir) ?? file;
  return {
    name,
    category: name.split('/')[0],
    file,
    recipeName: raw.recipeName,
    description: raw.description,
    tags: raw.tags,
    extends: raw.extends,
    bases: raw.extends.map((entry) => {
      const target = resolveExtends(entry, file);
      return profileNameOf(target, dir) ?? target;
    }),
    stepKinds: raw.stepKinds,
    allStepKinds: await allStepKindsOf(file, cache, []),
    packages: raw.packages,
  };
}

async function profileFiles(dir: string): Promise<string[]> {
  const files: string[] = [];
  for (const category of (await readdir(dir, { withFileTypes: true })).filter((d) => d.isDirectory())) {
    for (const entry of await readdir(join(dir, category.name), { withFileTypes: true })) {
      if (entry.isFile() && entry.name.endsWith('.yaml')) files.push(join(dir, category.name, entry.name));
    }
  }
  return files;
}

/** Every profile, sorted by name; `category` keeps one category (unknown ones are an error). */
export async function listProfiles(options: ProfileCatalogOptions & { category?: string } = {}): Promise<ProfileSummary[]> {
  const dir = options.dir ?? PROFILE_CATALOG_DIR;
  const files = (await profileFiles(dir)).filter((f) => profileNameOf(f, dir) !== undefined);
  const cache = new Map<string, RawProfile>();
  const all = await Promise.all(files.map((f) => summarize(f, dir, cache)));
  all.sort((a, b) => a.name.localeCompare(b.name));
  if (options.category === undefined) return all;
  const categories = unique(all.map((p) => p.category));
  if (!categories.includes(options.category)) {
    throw new InputError('DF_PROFILE_CATEGORY_UNKNOWN', `no profile category '${options.category}': expected one of ${categories.join(', ')}`, {
      category: options.category,
      categories,
    });
  }
  return all.filter((p) => p.category === options.category);
}

/** The summary of one profile by name; unknown names are DF_PROFILE_NOT_FOUND with close matches. */
export async function findProfile(name: string, options: ProfileCatalogOptions = {}): Promise<ProfileSummary> {
  const dir = options.dir ?? PROFILE_CATALOG_DIR;
  const known = (await profileFiles(dir)).map((f) => profileNameOf(f, dir)).filter((n): n is string => n !== undefined);
  if (!PROFILE_NAME.test(name) || !known.includes(name)) {
    const near = closeMatches(name, known);
    const sameName = known.filter((k) => k.split('/')[1] === name);
    const hints = unique([...sameName, ...near]);
    throw new InputError(
      'DF_PROFILE_NOT_FOUND',
      `no profile '${name}': give category/name as listed by 'deployforge profiles list'${hints.length ? ` (did you mean ${hints.join(', ')}?)` : ''}`,
      { name, suggestions: hints },
    );
  }
  return summarize(join(dir, ...name.split('/')) + '.yaml', dir, new Map());
}

/** Step kinds a profile (with its bases) uses that this build has not registered. */
export function missingStepKinds(profile: ProfileSummary): string[] {
  const known = new Set(stepTypes());
  return profile.allStepKinds.filter((k) => !known.has(k));
}

/** Loads a profile through the recipe loader, as a recipe that extends it would. */
export async function loadProfile(name: string, options: ProfileCatalogOptions = {}): Promise<LoadedProfile> {
  const profile = await findProfile(name, options);
  const missing = missingStepKinds(profile);
  if (missing.length > 0) {
    throw new DeployForgeError(
      'internal',
      'DF_PROFILE_STEP_UNAVAILABLE',
      `profile ${name} uses step kind${missing.length > 1 ? 's' : ''} ${missing.join(', ')}, which this build of DeployForge does not register`,
      { name, missing },
    );
  }
  return { profile, loaded: await loadRecipe(profile.file) };
}

// ── one line per step, for listings ────────────────────────────────────────────────────────────

function listOf(label: string, value: unknown): string | undefined {
  if (!Array.isArray(value) || value.length === 0) return undefined;
  return `${label} ${value.join(', ')}`;
}

/** A short human summary of one step of any kind: what it selects, installs or writes. */
export function summarizeStep(step: Readonly<Record<string, unknown>>): string {
  const parts: (string | undefined)[] = [];
  switch (step.type) {
    case 'tweaks':
      parts.push(listOf('presets', step.presets), listOf('categories', step.categories), listOf('ids', step.ids));
      if (step.securityLevel !== undefined) parts.push(`security level ${step.securityLevel}`);
      parts.push(listOf('except', step.exclude), step.undo ? 'undo' : undefined);
      break;
    case 'remove-apps':
      parts.push(listOf('presets', step.presets), listOf('categories', step.categories), listOf('apps', step.apps), listOf('keep', step.exclude));
      parts.push(listOf('remove capabilities', step.capabilities), listOf('enable', step.enableFeatures));
      if (step.blockReinstall) parts.push(`block reinstall${Array.isArray(step.blockReinstall) ? ` of ${step.blockReinstall.join(', ')}` : ''}`);
      parts.push(step.edge ? 'remove Edge' : undefined, step.onedrive ? 'remove OneDrive' : undefined);
      break;
    case 'install-apps': {
      const ids = Array.isArray(step.packages) ? step.packages.map((p) => String((p as { id?: unknown }).id)) : [];
      parts.push(ids.join(', '), step.scope ? `(${step.scope} scope)` : undefined);
      break;
    }
    case 'registry': {
      // The last key segment is enough to recognise a value in a one-line summary.
      const short = (e: { key: string; name?: string }) => [e.key.split('\\').at(-1), e.name].filter((p) => p !== undefined).join('\\');
      const sets = Array.isArray(step.set) ? step.set.map((e) => short(e as { key: string; name?: string })) : [];
      const deletes = Array.isArray(step.delete) ? step.delete.map((e) => short(e as { key: string; name?: string })) : [];
      const edits = [sets.length ? `set ${sets.join(', ')}` : '', deletes.length ? `delete ${deletes.join(', ')}` : '', typeof step.reg === 'string' ? `import ${step.reg}` : '']
        .filter((e) => e !== '')
        .join('; ');
      parts.push(step.hive ? `${step.hive}: ${edits}` : edits);
      break;
    }
    case 'files':
      parts.push(`${step.from} → ${step.to}`);
      break;
    case 'remove-files':
      parts.push(listOf('remove', step.paths));
      break;
    default: {
      const { type: _type, description: _description, ...rest } = step;
      parts.push(JSON.stringify(rest));
    }
  }
  const text = parts.filter((p): p is string => p !== undefined && p !== '').join('; ');
  return typeof step.description === 'string' ? `${step.description}${text ? ` (${text})` : ''}` : text;
}
