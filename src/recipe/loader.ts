// Loads a recipe: YAML with line numbers, `extends` (other files or built-in profiles, merged
// base-first), `${var}` substitution, then one validation against the schema that reports every
// problem at once with file, line and field. Each value remembers the file and line it came from,
// so plans and errors can point at it. Nothing here reads a source image or plans changes.
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isAlias, isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import { z } from 'zod';
import { ConfigError, type ConfigIssue, toDeployForgeError } from '../errors.js';
import { type Recipe, recipeSchema, type Step, stepTypes } from './schema.js';
// Registers every step kind DeployForge ships, so any recipe that uses one loads.
import '../steps/index.js';

export interface SourceLocation {
  file: string;
  line: number;
}

export interface LoadedStep {
  step: Step;
  /** Position in the resolved step list (base recipes' steps first). */
  index: number;
  /** The recipe file that declared the step, and the line of its entry. */
  file: string;
  line: number;
}

export interface LoadedRecipe {
  recipe: Recipe;
  /** The file given to loadRecipe, resolved. */
  file: string;
  /** Every file read, the given one first, then its bases in the order they were merged. */
  files: string[];
  steps: LoadedStep[];
  /** The variables in effect after merging and caller overrides. */
  variables: Record<string, string>;
  /** Where a field came from: `sourceOf('outputs.iso.path')` → its file and line. Relative paths in
   *  a recipe are resolved from `dirname(file)` of the field that holds them. */
  sourceOf(field: string): SourceLocation | undefined;
}

export interface LoadRecipeOptions {
  /** Overrides for `variables:` (CLI `--var k=v`); they win over every file. */
  variables?: Record<string, string>;
}

/** Where built-in profiles live: `extends: minimal` → examples/recipes/minimal.yaml in the package. */
export const PROFILES_DIR = fileURLToPath(new URL('../../examples/recipes/', import.meta.url));
/** The profile catalog: `extends: gaming/competitive` → catalog/profiles/gaming/competitive.yaml. */
export const CATALOG_PROFILES_DIR = fileURLToPath(new URL('../../catalog/profiles/', import.meta.url));
/** `category/name` in kebab-case without an extension names a catalog profile, not a relative
 *  path (write `./dir/file` or `dir/file.yaml` for a file). */
const CATALOG_PROFILE = /^[a-z0-9]+(?:-[a-z0-9]+)*\/[a-z0-9]+(?:-[a-z0-9]+)*$/;

// A YAML value with its origin, kept through merging so every leaf can still name its file and line.
type RNode =
  | { kind: 'map'; loc: SourceLocation; entries: Map<string, { keyLoc: SourceLocation; value: RNode }> }
  | { kind: 'seq'; loc: SourceLocation; items: RNode[] }
  | { kind: 'scalar'; loc: SourceLocation; value: unknown };

/** Top-level lists that add up across `extends` instead of replacing the base's list. */
const CONCATENATED = new Set(['steps', 'media']);
const VARIABLE = /\$\$\{|\$\{([^}]*)\}/g;
const MAX_ALIASES = 1000;
const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function fieldName(path: (string | number)[]): string {
  return path.reduce<string>((out, part) => (typeof part === 'number' ? `${out}[${part}]` : out ? `${out}.${part}` : part), '');
}

function issuesError(code: string, issues: ConfigIssue[]): ConfigError {
  const first = issues[0];
  const where = `${first.file ?? 'recipe'}${first.line ? `:${first.line}` : ''}`;
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more problem${issues.length > 2 ? 's' : ''})` : '';
  return new ConfigError(code, `${where}: ${first.field ? `${first.field}: ` : ''}${first.message}${more}`, issues);
}

// ── reading files ────────────────────────────────────────────────────────────────────────────

interface ParsedFile {
  file: string;
  root: RNode;
}

async function parseRecipeFile(file: string): Promise<ParsedFile> {
  const text = await readFile(file, 'utf8');
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  if (doc.errors.length > 0) {
    const issues = doc.errors.map((e) => ({ file, line: lineCounter.linePos(e.pos[0]).line, field: '', message: `YAML syntax: ${e.message.split('\n')[0]}` }));
    throw issuesError('DF_RECIPE_SYNTAX', issues);
  }
  const at = (node: Node | null | undefined): SourceLocation => ({ file, line: node?.range ? lineCounter.linePos(node.range[0]).line : 1 });
  // Aliases are expanded by copying, so their number is capped (no "billion laughs" blow-up).
  let aliases = 0;
  const convert = (node: unknown): RNode => {
    if (isAlias(node)) {
      if (++aliases > MAX_ALIASES) throw issuesError('DF_RECIPE_SYNTAX', [{ file, line: at(node).line, field: '', message: `more than ${MAX_ALIASES} YAML alias expansions` }]);
      return convert(node.resolve(doc));
    }
    if (isMap(node)) {
      const entries = new Map<string, { keyLoc: SourceLocation; value: RNode }>();
      for (const pair of node.items) {
        const key = isScalar(pair.key) ? pair.key.value : pair.key;
        if (key !== null && typeof key === 'object') throw issuesError('DF_RECIPE_SYNTAX', [{ file, line: at(pair.key as Node).line, field: '', message: 'expected a plain key' }]);
        entries.set(String(key), { keyLoc: at(pair.key as Node), value: convert(pair.value) });
      }
      return { kind: 'map', loc: at(node), entries };
    }
    if (isSeq(node)) return { kind: 'seq', loc: at(node), items: node.items.map((item) => convert(item)) };
    if (isScalar(node)) return { kind: 'scalar', loc: at(node), value: node.value };
    return { kind: 'scalar', loc: at(node as Node | null), value: null };
  };
  const root = convert(doc.contents);
  if (root.kind !== 'map')
    throw issuesError('DF_RECIPE_INVALID', [{ file, line: root.loc.line, field: '', message: 'expected a mapping of recipe sections (version, name, steps...) at the top level' }]);
  return { file, root };
}

/** Where an `extends` entry points: a path (has a slash or a .yaml/.yml ending) relative to the
 *  including file, or the name of a built-in profile. */
export function resolveExtends(entry: string, fromFile: string): string {
  if (CATALOG_PROFILE.test(entry)) return join(CATALOG_PROFILES_DIR, `${entry}.yaml`);
  if (entry.includes('/') || entry.includes('\\') || /\.ya?ml$/i.test(entry)) return isAbsolute(entry) ? entry : resolve(dirname(fromFile), entry);
  return join(PROFILES_DIR, `${entry}.yaml`);
}

function extendsEntries(root: RNode & { kind: 'map' }, file: string): { value: string; loc: SourceLocation; field: string }[] {
  const entry = root.entries.get('extends');
  if (!entry) return [];
  const bad = (loc: SourceLocation, field: string) =>
    issuesError('DF_RECIPE_INVALID', [{ file, line: loc.line, field, message: 'expected a recipe path or profile name, or a list of them' }]);
  const node = entry.value;
  if (node.kind === 'scalar') {
    if (typeof node.value !== 'string' || node.value === '') throw bad(node.loc, 'extends');
    return [{ value: node.value, loc: node.loc, field: 'extends' }];
  }
  if (node.kind !== 'seq' || node.items.length === 0) throw bad(node.loc, 'extends');
  return node.items.map((item, i) => {
    if (item.kind !== 'scalar' || typeof item.value !== 'string' || item.value === '') throw bad(item.loc, `extends[${i}]`);
    return { value: item.value, loc: item.loc, field: `extends[${i}]` };
  });
}

/** Reads `file` and its bases, returning the merged tree. `chain` is the include stack, for cycles. */
async function loadMerged(file: string, chain: string[], files: string[], issues: ConfigIssue[]): Promise<RNode & { kind: 'map' }> {
  const parsed = await parseRecipeFile(file);
  if (!files.includes(file)) files.push(file);
  const root = parsed.root as RNode & { kind: 'map' };
  // Every file states the format it is written in, so a base cannot silently be another version.
  const version = root.entries.get('version')?.value;
  if (version?.kind !== 'scalar' || version.value !== 1) {
    const got = version ? (version.kind === 'scalar' ? describeValue(version.value) : `a ${version.kind === 'map' ? 'mapping' : 'list'}`) : undefined;
    issues.push({
      file,
      line: version?.loc.line ?? root.loc.line,
      field: 'version',
      message: got ? `expected 1, got ${got}` : 'missing: expected version: 1 in every recipe file',
    });
  }
  let merged: RNode & { kind: 'map' } = { kind: 'map', loc: root.loc, entries: new Map() };
  for (const base of extendsEntries(root, file)) {
    const target = resolveExtends(base.value, file);
    const stack = [...chain, file];
    if (stack.includes(target)) {
      const cycle = [...stack.slice(stack.indexOf(target)), target].join(' → ');
      throw issuesError('DF_RECIPE_EXTENDS_CYCLE', [{ file, line: base.loc.line, field: base.field, message: `extends cycle: ${cycle}; remove one of these extends` }]);
    }
    let baseTree: RNode & { kind: 'map' };
    try {
      baseTree = await loadMerged(target, stack, files, issues);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR' && code !== 'EISDIR') throw error;
      const what = CATALOG_PROFILE.test(base.value)
        ? `catalog profile '${base.value}' (${target})`
        : target.startsWith(PROFILES_DIR) && !/[\\/]/.test(base.value)
          ? `built-in profile '${base.value}' (${target})`
          : target;
      throw issuesError('DF_RECIPE_EXTENDS_NOT_FOUND', [
        {
          file,
          line: base.loc.line,
          field: base.field,
          message: `${what} does not exist: expected a recipe file path relative to this file, a built-in profile name or a catalog profile (category/name, see deployforge profiles list)`,
        },
      ]);
    }
    merged = mergeMaps(merged, baseTree, true);
  }
  const own: RNode & { kind: 'map' } = { ...root, entries: new Map([...root.entries].filter(([k]) => k !== 'extends')) };
  return mergeMaps(merged, own, true);
}

/** Deep merge, `over` winning: maps merge key by key, top-level steps and media concatenate
 *  base-first, everything else (scalars, other lists) is replaced. */
function mergeMaps(base: RNode & { kind: 'map' }, over: RNode & { kind: 'map' }, topLevel: boolean): RNode & { kind: 'map' } {
  const entries = new Map(base.entries);
  for (const [key, entry] of over.entries) {
    const prior = entries.get(key)?.value;
    let value = entry.value;
    if (prior?.kind === 'map' && value.kind === 'map') value = mergeMaps(prior, value, false);
    else if (topLevel && CONCATENATED.has(key) && prior?.kind === 'seq' && value.kind === 'seq') value = { kind: 'seq', loc: value.loc, items: [...prior.items, ...value.items] };
    entries.set(key, { keyLoc: entry.keyLoc, value });
  }
  return { kind: 'map', loc: base.entries.size > 0 && over.entries.size === 0 ? base.loc : over.loc, entries };
}

// ── variables and conversion to plain values ────────────────────────────────────────────────

function collectVariables(root: RNode & { kind: 'map' }, overrides: Record<string, string>, issues: ConfigIssue[]): Record<string, string> {
  const variables: Record<string, string> = {};
  const node = root.entries.get('variables')?.value;
  if (node && node.kind !== 'map') {
    issues.push({ file: node.loc.file, line: node.loc.line, field: 'variables', message: 'expected a mapping of variable names to values' });
  } else if (node) {
    for (const [name, { keyLoc, value }] of node.entries) {
      const field = `variables.${name}`;
      if (!VARIABLE_NAME.test(name))
        issues.push({ file: keyLoc.file, line: keyLoc.line, field, message: 'expected a variable name of letters, digits and _ (not starting with a digit)' });
      else if (value.kind !== 'scalar' || value.value === null || typeof value.value === 'object') {
        issues.push({ file: value.loc.file, line: value.loc.line, field, message: 'expected a string, number or boolean' });
      } else variables[name] = String(value.value);
    }
  }
  for (const [name, value] of Object.entries(overrides)) {
    if (!VARIABLE_NAME.test(name)) issues.push({ field: `variables.${name}`, message: `variable '${name}' given on the command line: expected letters, digits and _` });
    variables[name] = value;
  }
  return variables;
}

function substitute(text: string, variables: Record<string, string>, onUnknown: (name: string) => void): string {
  return text.replace(VARIABLE, (match, name: string | undefined) => {
    if (match === '$${') return '${';
    const key = (name ?? '').trim();
    if (!Object.hasOwn(variables, key)) {
      onUnknown(key);
      return match;
    }
    return variables[key];
  });
}

/** Converts the merged tree to plain values, substituting variables in strings and recording where
 *  each field came from. */
function toPlain(node: RNode, path: (string | number)[], variables: Record<string, string>, locations: Map<string, SourceLocation>, issues: ConfigIssue[]): unknown {
  if (!locations.has(fieldName(path))) locations.set(fieldName(path), node.loc);
  switch (node.kind) {
    case 'map': {
      const out: Record<string, unknown> = {};
      for (const [key, { keyLoc, value }] of node.entries) {
        // A map or list is best pointed at by its key's line; a scalar by its own.
        locations.set(fieldName([...path, key]), value.kind === 'scalar' ? value.loc : keyLoc);
        out[key] = toPlain(value, [...path, key], variables, locations, issues);
      }
      return out;
    }
    case 'seq':
      return node.items.map((item, i) => toPlain(item, [...path, i], variables, locations, issues));
    case 'scalar':
      if (typeof node.value !== 'string') return node.value;
      return substitute(node.value, variables, (name) => {
        const known = Object.keys(variables);
        issues.push({
          file: node.loc.file,
          line: node.loc.line,
          field: fieldName(path),
          message: `unknown variable \${${name}}: define it under variables: or pass --var ${name}=VALUE${known.length ? ` (known: ${known.join(', ')})` : ''}; write $\${...} for a literal \${`,
        });
      });
  }
}

// ── schema issues → ConfigIssues ─────────────────────────────────────────────────────────────

function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null (an empty value)';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `the string ${JSON.stringify(value)}`;
  return `${typeof value} ${String(value)}`;
}

const TYPE_WORDS: Record<string, string> = { object: 'a mapping', array: 'a list', string: 'a string', number: 'a number', int: 'an integer', boolean: 'true or false' };

function valueAt(data: unknown, path: PropertyKey[]): unknown {
  let node = data;
  for (const part of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<PropertyKey, unknown>)[part];
  }
  return node;
}

function messageFor(issue: z.core.$ZodIssue, data: unknown): string {
  const actual = valueAt(data, issue.path);
  switch (issue.code) {
    case 'invalid_type':
      if (actual === undefined) return `missing: expected ${TYPE_WORDS[issue.expected] ?? issue.expected}`;
      return `expected ${TYPE_WORDS[issue.expected] ?? issue.expected}, got ${describeValue(actual)}`;
    case 'invalid_value':
      return issue.values.length === 1
        ? `expected ${JSON.stringify(issue.values[0])}, got ${describeValue(actual)}`
        : `expected one of ${issue.values.join(', ')}, got ${describeValue(actual)}`;
    case 'invalid_union':
      if (issue.path.at(-1) === 'type' && issue.path.at(-3) === 'steps') return `expected one of ${stepTypes().join(', ')}, got ${describeValue(actual)}`;
      return issue.message;
    case 'too_big':
      return issue.origin === 'array' || issue.origin === 'string'
        ? `expected at most ${issue.maximum} ${issue.origin === 'array' ? 'entries' : 'characters'}`
        : `expected at most ${issue.maximum}, got ${describeValue(actual)}`;
    case 'too_small':
      return issue.origin === 'array' || issue.origin === 'string'
        ? Number(issue.minimum) === 1
          ? `expected ${issue.origin === 'array' ? 'at least one entry' : 'a non-empty string'}`
          : `expected at least ${issue.minimum} ${issue.origin === 'array' ? 'entries' : 'characters'}`
        : `expected at least ${issue.minimum}, got ${describeValue(actual)}`;
    case 'not_multiple_of':
      return `expected a multiple of ${issue.divisor}`;
    case 'invalid_format':
      return issue.message.startsWith('Invalid') ? `expected a string matching ${issue.format === 'regex' ? issue.pattern : issue.format}` : issue.message;
    default:
      return issue.message;
  }
}

/** The keys the schema allows for the mapping at `path`, found by walking the schema alongside the data. */
function allowedKeys(schema: z.ZodType, path: (string | number)[], data: unknown): string[] {
  let node: z.ZodType | undefined = schema;
  for (let i = 0; node; i++) {
    node = unwrapAt(node, data, path.slice(0, i));
    if (!node || i === path.length) return node instanceof z.ZodObject ? Object.keys(node.shape) : [];
    const part = path[i];
    if (node instanceof z.ZodObject && typeof part === 'string') node = (node.shape as Record<string, z.ZodType>)[part];
    else if (node instanceof z.ZodArray && typeof part === 'number') node = node.element as z.ZodType;
    else return [];
  }
  return [];
}

/** Looks through optional/default wrappers and picks a discriminated union's member by the data's tag. */
function unwrapAt(schema: z.ZodType, data: unknown, path: (string | number)[]): z.ZodType | undefined {
  let node: z.ZodType | undefined = schema;
  while (node) {
    if (node instanceof z.ZodOptional || node instanceof z.ZodDefault || node instanceof z.ZodNullable) node = node.unwrap() as z.ZodType;
    else if (node instanceof z.ZodDiscriminatedUnion) {
      const key: string = node._zod.def.discriminator;
      const tag = valueAt(data, [...path, key]);
      node = (node.options as z.ZodType[]).find((option) => {
        const field: z.ZodType | undefined = option instanceof z.ZodObject ? (option.shape as Record<string, z.ZodType>)[key] : undefined;
        return field instanceof z.ZodLiteral && field.values.has(tag as string);
      });
    } else return node;
  }
  return undefined;
}

function locate(locations: Map<string, SourceLocation>, path: (string | number)[]): SourceLocation | undefined {
  // A missing field has no line of its own: point at the nearest enclosing one that exists.
  for (let n = path.length; n >= 0; n--) {
    const loc = locations.get(fieldName(path.slice(0, n)));
    if (loc) return loc;
  }
  return undefined;
}

function schemaIssues(error: z.ZodError, data: unknown, locations: Map<string, SourceLocation>): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  for (const issue of error.issues) {
    const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
    const keys = issue.code === 'unrecognized_keys' ? issue.keys : [undefined];
    for (const key of keys) {
      const full = key === undefined ? path : [...path, key];
      const loc = locate(locations, full);
      const allowed = key === undefined ? [] : allowedKeys(recipeSchema(), path, data);
      const message = key === undefined ? messageFor(issue, data) : `unknown key${allowed.length ? `: expected one of ${allowed.join(', ')}` : ''}`;
      issues.push({ file: loc?.file, line: loc?.line, field: fieldName(full), message });
    }
  }
  return issues;
}

// ── entry point ──────────────────────────────────────────────────────────────────────────────

/** Loads, merges, substitutes and validates a recipe; throws a ConfigError listing every problem. */
export async function loadRecipe(path: string, options: LoadRecipeOptions = {}): Promise<LoadedRecipe> {
  const file = resolve(path);
  const files: string[] = [];
  const versionIssues: ConfigIssue[] = [];
  let merged: RNode & { kind: 'map' };
  try {
    merged = await loadMerged(file, [], files, versionIssues);
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw toDeployForgeError(error);
  }

  const variableIssues: ConfigIssue[] = [];
  const variables = collectVariables(merged, options.variables ?? {}, variableIssues);
  if (variableIssues.length > 0) throw issuesError('DF_RECIPE_INVALID', variableIssues);

  const recipeTree: RNode & { kind: 'map' } = { ...merged, entries: new Map([...merged.entries].filter(([k]) => k !== 'variables')) };
  const locations = new Map<string, SourceLocation>();
  const substitutionIssues: ConfigIssue[] = [];
  const data = toPlain(recipeTree, [], variables, locations, substitutionIssues);
  if (substitutionIssues.length > 0) throw issuesError('DF_RECIPE_UNKNOWN_VARIABLE', substitutionIssues);

  const result = recipeSchema().safeParse(data);
  const issues = result.success ? versionIssues : [...versionIssues, ...schemaIssues(result.error, data, locations).filter((i) => i.field !== 'version')];
  if (!result.success || issues.length > 0) throw issuesError('DF_RECIPE_INVALID', issues);

  const recipe = result.data as Recipe;
  const steps = (recipe.steps ?? []).map((step, index): LoadedStep => {
    const loc = locations.get(`steps[${index}]`) ?? { file, line: 1 };
    return { step, index, file: loc.file, line: loc.line };
  });
  return { recipe, file, files, steps, variables, sourceOf: (field) => locations.get(field) };
}
