// The recipe schema: the single source of truth for what a recipe may say. The loader validates
// with it, `schema/recipe.schema.json` is generated from it, and steps plug in their own schemas
// through `registerStepSchema`. No loading, merging or build logic lives here.
import { z } from 'zod';
import { DeployForgeError } from '../errors.js';

// ── shared pieces ────────────────────────────────────────────────────────────────────────────

const hasParentSegment = (path: string): boolean => path.split(/[\\/]/).includes('..');

/** A path inside the Windows image, from its root: `/Windows/Setup/Scripts` (`\` also accepted). */
export const ImagePath = z
  .string()
  .regex(/^[\\/]/, { error: 'expected a path inside the image starting with / (e.g. /Windows/Setup/Scripts)' })
  .refine((p) => !hasParentSegment(p), { error: 'expected a path without .. segments' })
  .describe('path inside the Windows image, from its root, e.g. /Windows/Setup/Scripts');

/** A path on the media (the ISO), from its root: `/autounattend.xml`, `/sources/$OEM$/$$/Setup`. */
export const MediaPath = z
  .string()
  .min(1)
  .refine((p) => !hasParentSegment(p), { error: 'expected a path without .. segments' })
  .describe('path on the media from its root, e.g. / or /sources/$OEM$/$$/Setup/Scripts');

/** A file or folder on the machine running DeployForge; relative paths are resolved from the recipe file that names them. */
export const LocalPath = z.string().min(1).describe('local file or folder; relative paths are resolved from the recipe file that names them');

/** True when `path`, relative, stays inside the folder it is resolved from. */
const staysInside = (path: string): boolean => {
  const depth = path.split(/[\\/]+/).reduce((d, part) => (d < 0 ? d : part === '..' ? d - 1 : part === '' || part === '.' ? d : d + 1), 0);
  return depth >= 0;
};

/** An input the recipe brings along (files, scripts, drivers, packages). A relative path must stay
 *  inside the recipe's folder, so a recipe folder is self-contained and can be moved or shared and
 *  a `..` cannot reach elsewhere by mistake; an absolute path is an explicit choice and is taken as is. */
export const InputPath = z
  .string()
  .min(1)
  .refine((p) => /^([\\/]|[A-Za-z]:)/.test(p) || staysInside(p), {
    error: "expected a path inside the recipe's folder: this one escapes it with .. (give an absolute path if you mean it)",
  })
  .describe('file or folder: relative paths are resolved from the recipe file and must stay inside its folder');

// ── source, editions ─────────────────────────────────────────────────────────────────────────

export const SourceSchema = z
  .object({
    path: LocalPath.describe('the stock ISO, WIM or ESD; `--source` on the command line overrides it'),
  })
  .strict()
  .describe('the stock media the recipe starts from (a URL form will be added later)');

export const EditionSelectorSchema = z
  .object({
    name: z.string().min(1).optional().describe('display name, e.g. "Windows 11 Pro"'),
    id: z.string().min(1).optional().describe('EditionID, e.g. Professional'),
    index: z.number().int().min(1).optional().describe('1-based image index in install.wim'),
    rename: z.string().min(1).optional().describe('new display name for the kept edition'),
    default: z.boolean().optional().describe('the edition Setup selects by default'),
  })
  .strict()
  .superRefine((entry, ctx) => {
    const given = (['name', 'id', 'index'] as const).filter((k) => entry[k] !== undefined);
    if (given.length !== 1) ctx.addIssue({ code: 'custom', message: `expected exactly one of name, id or index (got ${given.length ? given.join(', ') : 'none'})` });
  });

export const EditionsSchema = z
  .object({
    keep: z.array(EditionSelectorSchema).min(1).describe('editions to keep, in order; all are kept when editions is absent'),
  })
  .strict()
  .superRefine((editions, ctx) => {
    const defaults = editions.keep.flatMap((e, i) => (e.default ? [i] : []));
    if (defaults.length > 1) ctx.addIssue({ code: 'custom', path: ['keep', defaults[1], 'default'], message: 'expected at most one default edition' });
  });

// ── steps ────────────────────────────────────────────────────────────────────────────────────

export const HIVES = ['SOFTWARE', 'SYSTEM', 'DEFAULT', 'NTUSER', 'SAM', 'SECURITY'] as const;
export const REG_TYPES = ['REG_SZ', 'REG_EXPAND_SZ', 'REG_MULTI_SZ', 'REG_DWORD', 'REG_QWORD', 'REG_BINARY', 'REG_NONE'] as const;

const HIVE_EXPECTED = `expected one of ${HIVES.join(', ')} or a hive path inside the image starting with / (e.g. /Windows/System32/config/COMPONENTS)`;
const HiveSchema = z
  .union([z.enum(HIVES), z.string().regex(/^[\\/].*[^\\/]$/, { error: HIVE_EXPECTED })], { error: HIVE_EXPECTED })
  .describe('hive to edit: a well-known name (NTUSER is the default user profile) or a hive file path inside the image');

const RegKeyPath = z
  .string()
  .min(1)
  .refine((k) => !k.startsWith('\\') && !k.endsWith('\\'), { error: 'expected a key path relative to the hive root, without leading or trailing \\' })
  .describe('key path relative to the hive root, e.g. Microsoft\\Windows\\CurrentVersion\\Policies\\System');

const hexBytes = /^(?:[0-9a-fA-F]{2}(?:[ ,]?(?=[0-9a-fA-F])|$))*$/;
const u32 = z.number().int().min(0).max(0xffffffff);
const u64Text = /^(?:0x[0-9a-fA-F]{1,16}|[0-9]{1,20})$/;

/** What `data` must be for each value type, as a check and as words for the error message. */
const REG_DATA: Record<(typeof REG_TYPES)[number], { check: (d: unknown) => boolean; expected: string }> = {
  REG_SZ: { check: (d) => typeof d === 'string', expected: 'a string' },
  REG_EXPAND_SZ: { check: (d) => typeof d === 'string', expected: 'a string' },
  REG_MULTI_SZ: { check: (d) => Array.isArray(d) && d.every((s) => typeof s === 'string'), expected: 'a list of strings' },
  REG_DWORD: { check: (d) => u32.safeParse(d).success, expected: 'an integer from 0 to 4294967295' },
  REG_QWORD: {
    check: (d) => (typeof d === 'number' && Number.isSafeInteger(d) && d >= 0) || (typeof d === 'string' && u64Text.test(d)),
    expected: 'a non-negative integer (as a string beyond 2^53, decimal or 0x hex)',
  },
  REG_BINARY: { check: (d) => typeof d === 'string' && hexBytes.test(d), expected: 'hex bytes such as "01 00 ff"' },
  REG_NONE: { check: (d) => d === undefined || (typeof d === 'string' && hexBytes.test(d)), expected: 'no data or hex bytes' },
};

export const RegistrySetSchema = z
  .object({
    key: RegKeyPath,
    name: z.string().optional().describe('value name; "" is the default value; omit to only create the key'),
    type: z.enum(REG_TYPES).optional().describe('value type; required with name'),
    data: z
      .union([z.string(), z.number(), z.array(z.string())])
      .optional()
      .describe('REG_SZ/REG_EXPAND_SZ: string; REG_MULTI_SZ: list of strings; REG_DWORD/REG_QWORD: integer; REG_BINARY: hex bytes'),
  })
  .strict()
  .superRefine((entry, ctx) => {
    if (entry.name === undefined) {
      if (entry.type !== undefined || entry.data !== undefined) ctx.addIssue({ code: 'custom', path: ['name'], message: 'expected a value name with type and data' });
      return;
    }
    if (entry.type === undefined) {
      ctx.addIssue({ code: 'custom', path: ['type'], message: `expected a value type, one of ${REG_TYPES.join(', ')}` });
      return;
    }
    if (entry.data === undefined && entry.type !== 'REG_NONE') ctx.addIssue({ code: 'custom', path: ['data'], message: `expected data: ${REG_DATA[entry.type].expected}` });
    else if (!REG_DATA[entry.type].check(entry.data)) ctx.addIssue({ code: 'custom', path: ['data'], message: `expected ${REG_DATA[entry.type].expected} for ${entry.type}` });
  })
  .describe('create a key, or set one value in it');

export const RegistryDeleteSchema = z
  .object({
    key: RegKeyPath,
    name: z.string().optional().describe('value to delete; omit to delete the whole key'),
  })
  .strict()
  .describe('delete a key (with its subkeys) or one value');

export const RegistryStepSchema = z
  .object({
    type: z.literal('registry'),
    description: z.string().optional(),
    hive: HiveSchema.optional(),
    reg: InputPath.optional().describe('a .reg file (REGEDIT4 or Windows Registry Editor 5.00) to import'),
    set: z.array(RegistrySetSchema).optional(),
    delete: z.array(RegistryDeleteSchema).optional(),
  })
  .strict()
  .superRefine((step, ctx) => {
    const edits = (step.set?.length ?? 0) + (step.delete?.length ?? 0);
    if (step.reg === undefined && edits === 0) ctx.addIssue({ code: 'custom', message: 'expected reg: a .reg file, or set/delete entries' });
    if (edits > 0 && step.hive === undefined)
      ctx.addIssue({ code: 'custom', path: ['hive'], message: `expected a hive for set/delete: one of ${HIVES.join(', ')} or a hive path` });
  })
  .describe('set and delete registry keys and values in a hive, or import a .reg file');

export const FilesStepSchema = z
  .object({
    type: z.literal('files'),
    description: z.string().optional(),
    from: InputPath.describe('local file or folder to copy'),
    to: ImagePath.describe('destination inside the image; a folder is copied into it recursively'),
  })
  .strict()
  .describe('add or replace files in the image');

export const RemoveFilesStepSchema = z
  .object({
    type: z.literal('remove-files'),
    description: z.string().optional(),
    paths: z.array(ImagePath).min(1).describe('files or folders inside the image; * and ** globs allowed'),
  })
  .strict()
  .describe('remove files and folders from the image');

/** The step kinds and their types. Other modules add kinds by registering a schema and augmenting
 *  this interface: `declare module '../recipe/schema.js' { interface StepKinds { unattend: UnattendStep } }`. */
export interface StepKinds {
  registry: z.infer<typeof RegistryStepSchema>;
  files: z.infer<typeof FilesStepSchema>;
  'remove-files': z.infer<typeof RemoveFilesStepSchema>;
}
export type StepType = keyof StepKinds & string;
export type Step = StepKinds[StepType];
export type RegistryStep = StepKinds['registry'];
export type FilesStep = StepKinds['files'];
export type RemoveFilesStep = StepKinds['remove-files'];
export type RegistrySet = z.infer<typeof RegistrySetSchema>;
export type RegistryDelete = z.infer<typeof RegistryDeleteSchema>;

// A step schema is a strict object whose `type` is a literal equal to the kind's name.
type StepSchema = z.ZodObject<{ type: z.ZodLiteral<string> } & z.ZodRawShape>;
type AnyStepSchema = StepSchema | z.ZodPipe | z.ZodType;

const stepSchemas = new Map<string, AnyStepSchema>();
let cachedRecipeSchemas: { resolved: z.ZodType; file: z.ZodType } | undefined;

const STEP_TYPE_NAME = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/;

function invalidRegistration(type: string, why: string): DeployForgeError {
  return new DeployForgeError('internal', 'DF_STEP_SCHEMA_INVALID', `cannot register step kind '${type}': ${why}`, { type });
}

/** The object schema under refinements (`.superRefine` keeps the same class in zod 4, but a pipe wraps it). */
function objectOf(schema: z.ZodType): z.ZodObject | undefined {
  if (schema instanceof z.ZodObject) return schema;
  if (schema instanceof z.ZodPipe && schema.in instanceof z.ZodType) return objectOf(schema.in as z.ZodType);
  return undefined;
}

/** Adds a step kind. Checked here, not at first use: the name is kebab-case and new, the schema is a
 *  strict object (unknown keys are errors) whose `type` is the literal `type`. */
export function registerStepSchema(type: string, schema: z.ZodType): void {
  if (!STEP_TYPE_NAME.test(type)) throw invalidRegistration(type, 'the name must be kebab-case (a-z, 0-9, -)');
  if (stepSchemas.has(type)) throw invalidRegistration(type, 'a step kind with this name is already registered');
  const object = objectOf(schema);
  if (!object) throw invalidRegistration(type, 'the schema must be a zod object');
  const typeField = object.shape.type;
  if (!(typeField instanceof z.ZodLiteral) || typeField.values.size !== 1 || !typeField.values.has(type)) {
    throw invalidRegistration(type, `the schema's type field must be z.literal('${type}')`);
  }
  const catchall = object._zod.def.catchall;
  if (!(catchall instanceof z.ZodNever)) throw invalidRegistration(type, 'the schema must be strict (call .strict()) so unknown keys are errors');
  stepSchemas.set(type, schema);
  cachedRecipeSchemas = undefined;
}

/** Registered step kinds, in registration order (built-ins first). */
export function stepTypes(): string[] {
  return [...stepSchemas.keys()];
}

export function stepSchemaFor(type: string): z.ZodType | undefined {
  return stepSchemas.get(type);
}

registerStepSchema('registry', RegistryStepSchema);
registerStepSchema('files', FilesStepSchema);
registerStepSchema('remove-files', RemoveFilesStepSchema);

// ── media, outputs, options ──────────────────────────────────────────────────────────────────

export const MediaFileSchema = z
  .object({
    from: InputPath.describe('local file or folder to add to the media'),
    to: MediaPath.describe('destination on the media: / for the root, /sources/$OEM$/... for files Setup copies into Windows'),
  })
  .strict();

const OutputPath = LocalPath.describe('where to write the output; relative paths are resolved from the recipe file');

export const OutputsSchema = z
  .object({
    iso: z
      .object({
        path: OutputPath,
        label: z.string().min(1).max(32).optional().describe('volume label; defaults to options.label, then the source label'),
        mode: z.enum(['bios+uefi', 'uefi']).optional().describe('boot entries to write: both (default, as in the source) or UEFI only'),
      })
      .strict()
      .optional(),
    wim: z.object({ path: OutputPath }).strict().optional().describe('install.wim with the kept editions'),
    esd: z.object({ path: OutputPath }).strict().optional().describe('install.esd (solid LZMS)'),
    swm: z
      .object({
        path: OutputPath.describe('first part, e.g. install.swm; further parts are install2.swm, install3.swm...'),
        partSizeMb: z.number().int().min(1).max(4000).optional().describe('largest part in MiB (≤ 4000 so each part fits FAT32); default 4000'),
      })
      .strict()
      .optional()
      .describe('split WIM for FAT32 USB sticks'),
    folder: z
      .object({
        path: OutputPath,
        fat32: z.boolean().optional().describe('split install.wim into install.swm parts (≤ 4000 MiB) when it is over 4 GiB, so the folder fits a FAT32 stick'),
      })
      .strict()
      .optional()
      .describe('the media as a folder tree, for copying to a USB stick'),
  })
  .strict()
  .describe('what to write; --out on the command line adds or replaces the ISO output');

export const OptionsSchema = z
  .object({
    compression: z.enum(['none', 'xpress', 'lzx', 'lzms']).optional().describe('compression for WIMs DeployForge writes'),
    deterministic: z.boolean().optional().describe('fixed timestamps and IDs, so the same inputs give the same bytes'),
    label: z.string().min(1).max(32).optional().describe('volume label of the media'),
    compact: z
      .boolean()
      .optional()
      .describe(
        "ISO builds keep the source install.wim's resources where they are and append the changes (fastest; dropped editions' data stays unreferenced, as after DISM /Delete-Image); true writes a new install.wim with only the kept editions' resources (smaller media)",
      ),
  })
  .strict();

// ── the recipe ───────────────────────────────────────────────────────────────────────────────

function buildStepsSchema(): z.ZodType {
  const schemas = [...stepSchemas.values()] as [StepSchema, ...StepSchema[]];
  return z.array(z.discriminatedUnion('type', schemas)).describe('customizations, applied in order to every kept edition');
}

const recipeShape = () => ({
  version: z.literal(1).describe('recipe format version'),
  name: z.string().min(1).describe('short name, used in plans, logs and the lockfile'),
  description: z.string().optional(),
  source: SourceSchema.optional(),
  editions: EditionsSchema.optional(),
  steps: buildStepsSchema().optional(),
  media: z.array(MediaFileSchema).optional().describe('files added to the media (autounattend.xml, $OEM$ folders...)'),
  outputs: OutputsSchema.optional(),
  options: OptionsSchema.optional(),
});

/** Schemas for the current set of step kinds: `resolved` is a recipe after includes and variables;
 *  `file` is one recipe file as written (adds `extends` and `variables`; `name` may come from a base). */
function recipeSchemas(): { resolved: z.ZodType; file: z.ZodType } {
  if (cachedRecipeSchemas) return cachedRecipeSchemas;
  const resolved = z.object(recipeShape()).strict().describe('a DeployForge recipe');
  const file = z
    .object({
      ...recipeShape(),
      name: recipeShape().name.optional(),
      extends: z
        .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
        .optional()
        .describe(
          'recipes this one builds on: paths relative to this file, names of built-in profiles in examples/recipes, or catalog profiles as category/name (deployforge profiles list)',
        ),
      variables: z
        .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.union([z.string(), z.number(), z.boolean()]))
        .optional()
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the recipe's own ${name} syntax, not a template
        .describe('values for ${name} references in strings; --var name=value overrides them'),
    })
    .strict()
    .describe('a DeployForge recipe file');
  cachedRecipeSchemas = { resolved, file };
  return cachedRecipeSchemas;
}

/** The schema of a resolved recipe (after `extends` and variables). */
export function recipeSchema(): z.ZodType<Recipe> {
  return recipeSchemas().resolved as z.ZodType<Recipe>;
}

/** The schema of one recipe file as written; the JSON Schema for editors is generated from it. */
export function recipeFileSchema(): z.ZodType {
  return recipeSchemas().file;
}

type ResolvedShape = z.infer<z.ZodObject<ReturnType<typeof recipeShape>>>;
export type Recipe = Omit<ResolvedShape, 'steps'> & { steps?: Step[] };
export type Source = z.infer<typeof SourceSchema>;
export type Editions = z.infer<typeof EditionsSchema>;
export type EditionSelector = z.infer<typeof EditionSelectorSchema>;
export type MediaFile = z.infer<typeof MediaFileSchema>;
export type Outputs = z.infer<typeof OutputsSchema>;
export type Options = z.infer<typeof OptionsSchema>;
