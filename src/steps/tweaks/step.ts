// The `tweaks` step: applies documented registry tweaks from catalog/tweaks, chosen by id,
// category, preset or security level, with data overrides, or their undo. plan() resolves the
// selection (unknown names fail), skips tweaks meant for other Windows builds, and lists each
// value with its old and new data read from the image's hives (CurrentControlSet resolved from
// Select\Current); apply() writes them through image.hives. It touches only SOFTWARE, SYSTEM, the
// default profile (and config/DEFAULT), and never creates a service key that is not there.
import { z } from 'zod';
import {
  type TweakChange as CatalogChange,
  describeWindows,
  loadTweakCatalog,
  resolveTweakSelection,
  SecurityLevelSchema,
  TWEAK_CATEGORIES,
  TWEAK_HIVE_IDS,
  type Tweak,
  type TweakCatalog,
  TweakIdSchema,
  TweakOverrideSchema,
  tweakAppliesTo,
} from '../../catalog/tweaks.js';
import { decodeValueData } from '../../formats/regf/value.js';
import type { WindowsImage } from '../../image/windows-image.js';
import { type ChangeTime, defineStep, type StepPlan } from '../define-step.js';
import { applyRegistryChanges, encodeSetData, hiveIfPresent, type RegistryChange, type RegValueView, resolveSystemKey, viewValue } from '../registry/step.js';

export const TweaksStepSchema = z
  .object({
    type: z.literal('tweaks'),
    description: z.string().optional(),
    ids: z.array(TweakIdSchema).optional().describe('tweak ids from catalog/tweaks, e.g. disable-telemetry'),
    categories: z.array(z.enum(TWEAK_CATEGORIES)).optional().describe('every tweak of these categories'),
    presets: z.array(TweakIdSchema).optional().describe('named selections from catalog/tweaks/presets.yaml, e.g. privacy-basic'),
    securityLevel: SecurityLevelSchema.optional().describe('security tweaks of this level and below (1 safe, 2 hardened, 3 strict)'),
    exclude: z.array(TweakIdSchema).optional().describe('tweak ids to leave out of the selection'),
    overrides: z.record(TweakIdSchema, TweakOverrideSchema).optional().describe('other data for selected tweaks, by tweak id'),
    undo: z.boolean().optional().describe("apply the tweaks' undo (Windows defaults) instead of the tweaks"),
  })
  .strict()
  .superRefine((step, ctx) => {
    if (!step.ids?.length && !step.categories?.length && !step.presets?.length && step.securityLevel === undefined) {
      ctx.addIssue({ code: 'custom', message: 'expected ids, categories, presets or securityLevel' });
    }
    if (step.undo && step.overrides) ctx.addIssue({ code: 'custom', path: ['overrides'], message: 'overrides do not apply to undo' });
  })
  .describe('documented registry tweaks from the catalog, by id, category, preset or security level');
export type TweaksStep = z.infer<typeof TweaksStepSchema>;

/** A registry change of the plan, tagged with the tweak it belongs to. */
export type TweakChange = RegistryChange & { tweak: string; when: ChangeTime };

let defaultCatalog: Promise<TweakCatalog> | undefined;

/** The shipped catalog, read once per process. */
function shippedCatalog(): Promise<TweakCatalog> {
  if (!defaultCatalog) {
    defaultCatalog = loadTweakCatalog();
    defaultCatalog.catch(() => {
      defaultCatalog = undefined;
    });
  }
  return defaultCatalog;
}

const CURRENT_VERSION = 'Microsoft\\Windows NT\\CurrentVersion';

/** The image's Windows build from SOFTWARE (CurrentBuildNumber, else CurrentBuild), or undefined. */
async function imageBuild(image: WindowsImage): Promise<number | undefined> {
  const software = await hiveIfPresent(image, 'SOFTWARE');
  if (!software) return undefined;
  const key = software.hive.key(CURRENT_VERSION);
  for (const name of ['CurrentBuildNumber', 'CurrentBuild']) {
    const v = key?.value(name);
    if (!v) continue;
    const text = String(decodeValueData(v.type, v.raw));
    if (/^\d+$/.test(text)) return Number(text);
  }
  return undefined;
}

const lower = (s: string) => s.toLowerCase();

/**
 * What the hives hold as the plan goes along, so a later change sees an earlier one. Not the
 * registry step's PlannedRegistry: after a key is deleted, a value set below it does not bring
 * back the key's other subkeys here, and a tweak's old values and existingKeyOnly depend on that.
 */
class PlannedHives {
  private readonly values = new Map<string, RegValueView | null>();
  private readonly deletedKeys = new Set<string>();
  constructor(private readonly image: WindowsImage) {}

  private isDeleted(hive: string, key: string): boolean {
    const parts = key.split('\\');
    for (let i = 1; i <= parts.length; i++) if (this.deletedKeys.has(lower(`${hive}|${parts.slice(0, i).join('\\')}`))) return true;
    return false;
  }

  async keyExists(hive: string, key: string): Promise<boolean> {
    // A value the plan sets at or below the key makes it exist, even below a deleted key.
    const at = lower(`${hive}|${key}`);
    for (const [k, v] of this.values) if (v && (k.startsWith(`${at}|`) || k.startsWith(`${at}\\`))) return true;
    if (this.isDeleted(hive, key)) return false;
    return (await this.image.hives.get(hive)).hive.key(key) !== undefined;
  }

  async value(hive: string, key: string, name: string): Promise<RegValueView | null> {
    const id = lower(`${hive}|${key}|${name}`);
    if (this.values.has(id)) return this.values.get(id) ?? null;
    if (this.isDeleted(hive, key)) return null;
    const v = (await this.image.hives.get(hive)).hive.key(key)?.value(name);
    return v ? viewValue(v.type, v.raw) : null;
  }

  setValue(hive: string, key: string, name: string, view: RegValueView | null): void {
    this.values.set(lower(`${hive}|${key}|${name}`), view);
  }

  deleteKey(hive: string, key: string): void {
    const prefix = lower(`${hive}|${key}`);
    this.deletedKeys.add(prefix);
    for (const k of [...this.values.keys()]) if (k.startsWith(`${prefix}|`) || k.startsWith(`${prefix}\\`)) this.values.set(k, null);
  }
}

/** The image hives a catalog change is written to: NTUSER for DEFAULT_USER, and also DEFAULT when the tweak says Windows reads it there. */
function targetHives(tweak: Tweak, change: CatalogChange): string[] {
  const hive = TWEAK_HIVE_IDS[change.hive];
  return change.hive === 'DEFAULT_USER' && tweak.alsoDefaultHive ? [hive, 'DEFAULT'] : [hive];
}

/** Plans `options` against `image` with `catalog`; exported for tests and for other catalogs. */
export async function planTweaks(options: TweaksStep, image: WindowsImage, catalog: TweakCatalog): Promise<StepPlan<TweakChange>> {
  const tweaks = resolveTweakSelection(catalog, options);
  const changes: TweakChange[] = [];
  const warnings: string[] = [];
  const build = await imageBuild(image);
  if (build === undefined) warnings.push('the image does not record its Windows build (SOFTWARE CurrentBuildNumber); every selected tweak is planned');
  const planned = new PlannedHives(image);

  for (const tweak of tweaks) {
    if (build !== undefined && !tweakAppliesTo(tweak, build)) {
      warnings.push(`tweak ${tweak.id} skipped: it is for ${describeWindows(tweak)}, the image is build ${build}`);
      continue;
    }
    const tag = { tweak: tweak.id, when: 'offline' as const };
    for (const entry of options.undo ? tweak.undo : tweak.changes) {
      for (const hive of targetHives(tweak, entry)) {
        const key = await resolveSystemKey(hive, entry.key, image);
        if (entry.existingKeyOnly && !(await planned.keyExists(hive, key))) {
          warnings.push(`tweak ${tweak.id}: ${hive}\\${key} is not in this image; its ${entry.value ?? 'key'} change is skipped`);
          continue;
        }
        if (entry.delete && entry.value === undefined) {
          changes.push({ kind: 'delete-key', hive, key, exists: await planned.keyExists(hive, key), ...tag });
          planned.deleteKey(hive, key);
        } else if (entry.delete) {
          const value = entry.value as string;
          changes.push({ kind: 'delete-value', hive, key, value, old: await planned.value(hive, key, value), ...tag });
          planned.setValue(hive, key, value, null);
        } else {
          const value = entry.value as string;
          const { type, data } = encodeSetData({ key, name: value, type: entry.type, data: entry.data });
          const view = viewValue(type, data);
          changes.push({ kind: 'set-value', hive, key, value, type, data, old: await planned.value(hive, key, value), new: view, ...tag });
          planned.setValue(hive, key, value, view);
        }
      }
    }
  }
  return { changes, warnings };
}

export const tweaksStep = defineStep<TweaksStep, TweakChange>({
  id: 'tweaks',
  schema: TweaksStepSchema,
  async plan(options, image) {
    return planTweaks(options, image, await shippedCatalog());
  },
  async apply(changes, image, progress) {
    await applyRegistryChanges(changes, image, progress, 'tweaks');
  },
});
