// Layered configuration: built-in defaults ← user file (~/.config/deployforge/config.yaml) ←
// project file (./deployforge.config.yaml) ← DEPLOYFORGE_* environment variables ← flags.
// One zod schema validates the merged result; every leaf remembers which layer set it, so
// `deployforge config show` can say where each value came from.
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { ConfigError, type ConfigIssue } from './errors.js';

export const ConfigSchema = z
  .object({
    workDir: z.string().min(1).describe('folder for build workspaces and temporary files'),
    color: z.enum(['auto', 'always', 'never']).describe('colored output; NO_COLOR in the environment forces never'),
    progress: z.enum(['auto', 'bars', 'json', 'none']).describe('how long operations report progress'),
    logLevel: z.enum(['error', 'warn', 'info', 'debug']),
    build: z
      .object({
        compression: z.enum(['none', 'xpress', 'lzx', 'lzms']).describe('compression for WIMs DeployForge writes'),
        deterministic: z.boolean().describe('fixed timestamps and IDs, so the same inputs give the same bytes'),
      })
      .strict(),
    qemu: z
      .object({
        timeoutSeconds: z.number().int().positive().describe('time limit for boot tests'),
        accel: z.enum(['auto', 'kvm', 'tcg']),
      })
      .strict(),
  })
  .strict();

export type Config = z.infer<typeof ConfigSchema>;

export const DEFAULT_CONFIG: Config = {
  workDir: join(homedir(), '.cache', 'deployforge', 'work'),
  color: 'auto',
  progress: 'auto',
  logLevel: 'info',
  build: { compression: 'lzx', deterministic: false },
  qemu: { timeoutSeconds: 120, accel: 'auto' },
};

export type ConfigLayerName = 'default' | 'user' | 'project' | 'env' | 'flag';

export interface ConfigLayer {
  name: ConfigLayerName;
  /** The file the layer came from, or the variable/flag names. */
  origin: string;
  values: Record<string, unknown>;
}

export interface LoadedConfig {
  config: Config;
  /** Dotted leaf path → where its value came from, e.g. 'build.compression' → 'env DEPLOYFORGE_BUILD__COMPRESSION'. */
  sources: Record<string, string>;
}

export interface ConfigInputs {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  home?: string;
  /** Flag overrides as dotted paths: { 'build.compression': 'none' }. */
  flags?: Record<string, string>;
  /** Explicit config file (--config), replacing the project file. */
  projectFile?: string;
}

const ENV_PREFIX = 'DEPLOYFORGE_';

/** `DEPLOYFORGE_BUILD__COMPRESSION` → `build.compression`; `DEPLOYFORGE_WORK_DIR` → `workDir`. */
export function envNameToPath(name: string): string {
  return name
    .slice(ENV_PREFIX.length)
    .split('__')
    .map((part) => part.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase()))
    .join('.');
}

/** `build.compression` → `DEPLOYFORGE_BUILD__COMPRESSION`. */
export function pathToEnvName(path: string): string {
  return (
    ENV_PREFIX +
    path
      .split('.')
      .map((part) => part.replace(/([A-Z])/g, '_$1').toUpperCase())
      .join('__')
  );
}

function leafPaths(value: unknown, prefix = ''): [string, unknown][] {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) => leafPaths(v, prefix ? `${prefix}.${k}` : k));
  }
  return [[prefix, value]];
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let node = target;
  for (const part of parts.slice(0, -1)) {
    if (node[part] === null || typeof node[part] !== 'object') node[part] = {};
    node = node[part] as Record<string, unknown>;
  }
  node[parts[parts.length - 1]] = value;
}

/** Scalars given as text (env vars, flags) are read as YAML scalars: "true" → true, "3" → 3. */
function parseScalar(text: string): unknown {
  const doc = parseDocument(text);
  const value = doc.errors.length ? text : doc.toJS();
  return value === null || typeof value === 'object' ? text : value;
}

async function readYamlLayer(path: string, name: ConfigLayerName, required: boolean): Promise<ConfigLayer | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' && !required) return null;
    throw error;
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter });
  if (doc.errors.length > 0) {
    const issues: ConfigIssue[] = doc.errors.map((e) => ({ file: path, line: lineCounter.linePos(e.pos[0]).line, field: '', message: e.message.split('\n')[0] }));
    throw new ConfigError('DF_CONFIG_SYNTAX', `${path}:${issues[0].line}: ${issues[0].message}`, issues);
  }
  const values = doc.toJS() ?? {};
  if (typeof values !== 'object' || Array.isArray(values)) {
    throw new ConfigError('DF_CONFIG_INVALID', `${path}: expected a mapping of settings at the top level`, [{ file: path, line: 1, field: '', message: 'not a mapping' }]);
  }
  return { name, origin: path, values };
}

/** Reads every layer that exists, in order of increasing priority. */
export async function readConfigLayers(inputs: ConfigInputs = {}): Promise<ConfigLayer[]> {
  const env = inputs.env ?? process.env;
  const home = inputs.home ?? homedir();
  const cwd = inputs.cwd ?? process.cwd();
  const layers: ConfigLayer[] = [{ name: 'default', origin: 'built-in default', values: structuredClone(DEFAULT_CONFIG) }];
  const userDir = env.XDG_CONFIG_HOME ? resolve(env.XDG_CONFIG_HOME) : join(home, '.config');
  const user = await readYamlLayer(join(userDir, 'deployforge', 'config.yaml'), 'user', false);
  if (user) layers.push(user);
  const project = inputs.projectFile
    ? await readYamlLayer(resolve(cwd, inputs.projectFile), 'project', true)
    : await readYamlLayer(join(cwd, 'deployforge.config.yaml'), 'project', false);
  if (project) layers.push(project);
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || raw === undefined || name === 'DEPLOYFORGE_CORPUS') continue;
    const values: Record<string, unknown> = {};
    setPath(values, envNameToPath(name), parseScalar(raw));
    layers.push({ name: 'env', origin: `env ${name}`, values });
  }
  for (const [path, raw] of Object.entries(inputs.flags ?? {})) {
    const values: Record<string, unknown> = {};
    setPath(values, path, parseScalar(raw));
    layers.push({ name: 'flag', origin: `flag --set ${path}=${raw}`, values });
  }
  return layers;
}

/** Merges layers leaf by leaf and validates the result; all problems are reported at once. */
export function mergeConfigLayers(layers: ConfigLayer[]): LoadedConfig {
  const merged: Record<string, unknown> = {};
  const sources: Record<string, string> = {};
  for (const layer of layers) {
    for (const [path, value] of leafPaths(layer.values)) {
      setPath(merged, path, value);
      sources[path] = layer.origin;
    }
  }
  const result = ConfigSchema.safeParse(merged);
  if (!result.success) {
    const issues: ConfigIssue[] = result.error.issues.map((issue) => {
      const field = issue.path.join('.');
      const origin = sources[field] ?? 'configuration';
      const unknownKeys = issue.code === 'unrecognized_keys' ? (issue as { keys: string[] }).keys : [];
      const fullField = unknownKeys.length ? [field, unknownKeys[0]].filter(Boolean).join('.') : field;
      return { file: sources[fullField] ?? origin, field: fullField, message: issue.message };
    });
    const first = issues[0];
    throw new ConfigError(
      'DF_CONFIG_INVALID',
      `invalid configuration: ${first.field || '(top level)'}: ${first.message} (from ${first.file}); run 'deployforge config show' after fixing it`,
      issues,
    );
  }
  const config = result.data;
  // Keep only sources of leaves that exist in the validated result.
  const kept: Record<string, string> = {};
  for (const [path] of leafPaths(config)) kept[path] = sources[path] ?? 'built-in default';
  return { config, sources: kept };
}

export async function loadConfig(inputs: ConfigInputs = {}): Promise<LoadedConfig> {
  return mergeConfigLayers(await readConfigLayers(inputs));
}

/** Dotted leaf paths with their values, for display. */
export function flattenConfig(config: Config): [string, unknown][] {
  return leafPaths(config);
}
