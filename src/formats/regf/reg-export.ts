// Exports a hive (or one key and everything below it) as .reg entries, the way regedit's
// export does: keys depth-first in stored (sorted) order, each followed by its values in stored
// order, with raw bytes and type numbers kept exactly. It returns the entry model only; text
// layout is writeRegFile's job. Class names, security descriptors and timestamps have no .reg
// form and are not exported.
import { InputError } from '../../errors.js';
import type { Hive } from './hive.js';
import type { RegEntry, RegFile } from './reg-file.js';
import { walkKeys } from './walk.js';

export interface ExportHiveOptions {
  /** Key below the hive root to export ('' or absent = the whole hive). */
  keyPath?: string;
  /** What the hive root is called in the .reg file, e.g. 'HKEY_LOCAL_MACHINE\\SOFTWARE'.
   *  Without it paths start with '\' for the root, as `hivexregedit --export` writes them. */
  prefix?: string;
}

export function exportHive(hive: Hive, options: ExportHiveOptions = {}): RegFile {
  // A copy of each value: the reader hands out views into the hive buffer, which callers may reuse.
  const entries = [...exportHiveEntries(hive, options)].map((e) => (e.kind === 'value' ? { ...e, data: e.data.slice() } : e));
  return { version: 5, entries };
}

/** The same entries one at a time; value data are views into the hive's bytes, valid while the
 *  hive is, so a streaming writer can export a large hive without holding it all twice. */
export function* exportHiveEntries(hive: Hive, options: ExportHiveOptions = {}): Generator<RegEntry> {
  const keyPath = options.keyPath ?? '';
  const start = keyPath === '' ? hive.root : hive.key(keyPath);
  if (!start) throw new InputError('DF_REG_KEY_NOT_FOUND', `${hive.name} has no key ${keyPath}: check the path (it is relative to the hive root)`, { keyPath });
  const prefix = (options.prefix ?? '').replace(/\\+$/, '');
  const nameOf = (path: string) => (prefix === '' ? `\\${path}` : path === '' ? prefix : `${prefix}\\${path}`);
  // walkKeys refuses cycles, shared key nodes and trees deeper than Windows allows, so the walk
  // is bounded by the hive's size even for hostile input.
  for (const key of walkKeys(hive, start)) {
    const path = nameOf(key.path);
    yield { kind: 'key', path, deleted: false };
    for (const value of key.values()) yield { kind: 'value', keyPath: path, name: value.name, deleted: false, type: value.type, data: value.raw };
  }
}
