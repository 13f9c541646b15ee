// The `registry` step: sets and deletes keys and values in an edition's hives, from `set`/`delete`
// entries or a .reg file. plan() reads the hives and lists each change with its old and new value
// (CurrentControlSet resolved to ControlSet00N); apply() makes them through the image's hives.
// It does not change security descriptors or class names, and volatile roots are refused.
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { DeployForgeError } from '../../errors.js';
import { REG_TYPE, regTypeName } from '../../formats/regf/constants.js';
import { parseRegFile } from '../../formats/regf/reg-file.js';
import { resolveRegPath } from '../../formats/regf/reg-roots.js';
import { decodeValueData } from '../../formats/regf/value.js';
import type { TrackedHiveEdit, WindowsImage } from '../../image/windows-image.js';
import type { ProgressSink } from '../../progress.js';
import { type RegistrySet, type RegistryStep, RegistryStepSchema } from '../../recipe/schema.js';
import { defineStep, type StepPlan } from '../define-step.js';

/** A value as the plan shows it: type name and data in words (REG_DWORD as a number, binary as hex). */
export interface RegValueView {
  type: string;
  data: string;
}

export type RegistryChange =
  | { kind: 'set-value'; hive: string; key: string; value: string; type: number; data: Uint8Array; old: RegValueView | null; new: RegValueView }
  | { kind: 'delete-value'; hive: string; key: string; value: string; old: RegValueView | null }
  | { kind: 'create-key'; hive: string; key: string; exists: boolean }
  | { kind: 'delete-key'; hive: string; key: string; exists: boolean };

const utf16z = (text: string): Uint8Array => new Uint8Array(Buffer.from(`${text}\0`, 'utf16le'));

function hexBytes(text: string): Uint8Array {
  const digits = text.replace(/[ ,]/g, '');
  return new Uint8Array(Buffer.from(digits, 'hex'));
}

/** Raw value bytes for a recipe `set` entry; the schema has already checked the data's shape. */
export function encodeSetData(entry: RegistrySet): { type: number; data: Uint8Array } {
  const typeName = entry.type ?? 'REG_NONE';
  const type = REG_TYPE[typeName];
  const d = entry.data;
  switch (typeName) {
    case 'REG_SZ':
    case 'REG_EXPAND_SZ':
      return { type, data: utf16z(String(d)) };
    case 'REG_MULTI_SZ':
      return { type, data: utf16z(`${(d as string[]).map((s) => `${s}\0`).join('')}`) };
    case 'REG_DWORD': {
      const out = new Uint8Array(4);
      new DataView(out.buffer).setUint32(0, Number(d), true);
      return { type, data: out };
    }
    case 'REG_QWORD': {
      const out = new Uint8Array(8);
      new DataView(out.buffer).setBigUint64(0, BigInt(d as string | number), true);
      return { type, data: out };
    }
    default:
      return { type, data: d === undefined ? new Uint8Array(0) : hexBytes(String(d)) };
  }
}

/** Words for a value: what `deployforge plan` prints and tests compare. */
export function viewValue(type: number, raw: Uint8Array): RegValueView {
  const data = decodeValueData(type, raw);
  let text: string;
  if (data instanceof Uint8Array)
    text = Buffer.from(data)
      .toString('hex')
      .replace(/(..)(?=.)/g, '$1 ');
  else if (Array.isArray(data)) text = JSON.stringify(data);
  else text = String(data);
  return { type: regTypeName(type), data: text };
}

const lower = (s: string) => s.toLowerCase();

/** Replaces a leading CurrentControlSet (a link that exists only in a running system). Other steps that write SYSTEM keys use it too. */
export async function resolveSystemKey(hive: string, key: string, image: WindowsImage): Promise<string> {
  const parts = key.split('\\');
  if (hive.toUpperCase() !== 'SYSTEM' || lower(parts[0]) !== 'currentcontrolset') return key;
  parts[0] = `ControlSet${String(await image.controlSet()).padStart(3, '0')}`;
  return parts.join('\\');
}

/** The registry as the plan goes along: earlier changes of the same step are seen by later ones. */
class PlannedRegistry {
  private readonly values = new Map<string, RegValueView | null>();
  private readonly keys = new Map<string, boolean>();
  constructor(private readonly image: WindowsImage) {}

  private async reader(hive: string) {
    return (await this.image.hives.get(hive)).hive;
  }

  async keyExists(hive: string, key: string): Promise<boolean> {
    const parts = key.split('\\');
    for (let i = parts.length; i >= 1; i--) {
      const known = this.keys.get(lower(`${hive}|${parts.slice(0, i).join('\\')}`));
      if (known === false) return false;
      if (known === true && i === parts.length) return true;
    }
    return (await this.reader(hive)).key(key) !== undefined;
  }

  async value(hive: string, key: string, name: string): Promise<RegValueView | null> {
    const id = lower(`${hive}|${key}|${name}`);
    if (this.values.has(id)) return this.values.get(id) ?? null;
    if (!(await this.keyExists(hive, key))) return null;
    const v = (await this.reader(hive)).key(key)?.value(name);
    return v ? viewValue(v.type, v.raw) : null;
  }

  setKey(hive: string, key: string, exists: boolean): void {
    const prefix = lower(`${hive}|${key}`);
    if (!exists) {
      for (const k of [...this.values.keys()]) if (k.startsWith(`${prefix}|`) || k.startsWith(`${prefix}\\`)) this.values.set(k, null);
      for (const k of [...this.keys.keys()]) if (k.startsWith(`${prefix}\\`)) this.keys.set(k, false);
    }
    this.keys.set(prefix, exists);
  }

  setValue(hive: string, key: string, name: string, view: RegValueView | null): void {
    this.values.set(lower(`${hive}|${key}|${name}`), view);
    if (view) {
      const parts = key.split('\\');
      for (let i = 1; i <= parts.length; i++) this.keys.set(lower(`${hive}|${parts.slice(0, i).join('\\')}`), true);
    }
  }
}

async function planRegistry(options: RegistryStep, image: WindowsImage, baseDir: string): Promise<StepPlan<RegistryChange>> {
  const changes: RegistryChange[] = [];
  const warnings: string[] = [];
  const planned = new PlannedRegistry(image);

  const setValue = async (hive: string, key: string, value: string, type: number, data: Uint8Array) => {
    const old = await planned.value(hive, key, value);
    const view = viewValue(type, data);
    changes.push({ kind: 'set-value', hive, key, value, type, data, old, new: view });
    planned.setValue(hive, key, value, view);
  };
  const deleteValue = async (hive: string, key: string, value: string) => {
    const old = await planned.value(hive, key, value);
    if (!old) warnings.push(`${hive}\\${key}: value '${value}' does not exist; nothing to delete`);
    changes.push({ kind: 'delete-value', hive, key, value, old });
    planned.setValue(hive, key, value, null);
  };
  const createKey = async (hive: string, key: string) => {
    changes.push({ kind: 'create-key', hive, key, exists: await planned.keyExists(hive, key) });
    planned.setKey(hive, key, true);
  };
  const deleteKey = async (hive: string, key: string) => {
    const exists = await planned.keyExists(hive, key);
    if (!exists) warnings.push(`${hive}\\${key} does not exist; nothing to delete`);
    changes.push({ kind: 'delete-key', hive, key, exists });
    planned.setKey(hive, key, false);
  };

  if (options.reg !== undefined) {
    const path = resolve(baseDir, options.reg);
    const file = parseRegFile(new Uint8Array(await readFile(path)), path);
    const needsControlSet = file.entries.some((e) => /\\currentcontrolset(\\|$)/i.test(e.kind === 'key' ? e.path : e.keyPath));
    const controlSet = needsControlSet ? await image.controlSet() : undefined;
    for (const entry of file.entries) {
      const at = resolveRegPath(entry.kind === 'key' ? entry.path : entry.keyPath, { currentControlSet: () => controlSet as number });
      if (entry.kind === 'key') {
        if (at.keyPath === '') {
          if (entry.deleted) warnings.push(`[-${entry.path}] would delete the root of ${at.hive}; skipped`);
          continue;
        }
        await (entry.deleted ? deleteKey(at.hive, at.keyPath) : createKey(at.hive, at.keyPath));
      } else if (entry.deleted) {
        await deleteValue(at.hive, at.keyPath, entry.name);
      } else {
        await setValue(at.hive, at.keyPath, entry.name, entry.type, entry.data);
      }
    }
  }
  const hive = options.hive;
  if (hive !== undefined) {
    for (const entry of options.set ?? []) {
      const key = await resolveSystemKey(hive, entry.key, image);
      if (entry.name === undefined) await createKey(hive, key);
      else {
        const { type, data } = encodeSetData(entry);
        await setValue(hive, key, entry.name, type, data);
      }
    }
    for (const entry of options.delete ?? []) {
      const key = await resolveSystemKey(hive, entry.key, image);
      await (entry.name === undefined ? deleteKey(hive, key) : deleteValue(hive, key, entry.name));
    }
  }
  return { changes, warnings };
}

/** The image's `hive`, or undefined when the image has no such hive file (then there is nothing to read). */
export async function hiveIfPresent(image: WindowsImage, hive: string): Promise<TrackedHiveEdit | undefined> {
  try {
    return await image.hives.get(hive);
  } catch (error) {
    if (error instanceof DeployForgeError && error.code === 'DF_IMAGE_NOT_FOUND') return undefined;
    throw error;
  }
}

/** Makes planned registry changes through the image's hives, reporting each under `phase`: the apply of every step whose changes are RegistryChanges. */
export async function applyRegistryChanges(changes: RegistryChange[], image: WindowsImage, progress: ProgressSink, phase: string): Promise<void> {
  let done = 0;
  for (const change of changes) {
    const hive = await image.hives.get(change.hive);
    switch (change.kind) {
      case 'set-value':
        hive.setValue(change.key, change.value, change.type, change.data);
        break;
      case 'delete-value':
        hive.deleteValue(change.key, change.value);
        break;
      case 'create-key':
        hive.createKey(change.key);
        break;
      case 'delete-key':
        hive.deleteKey(change.key);
        break;
    }
    progress.emit({ phase, done: ++done, total: changes.length, unit: 'items' });
  }
}

export const registryStep = defineStep<RegistryStep, RegistryChange>({
  id: 'registry',
  schema: RegistryStepSchema,
  plan(options, image, context) {
    return planRegistry(options, image, context.baseDir);
  },
  async apply(changes, image, progress) {
    await applyRegistryChanges(changes, image, progress, 'registry');
  },
});
