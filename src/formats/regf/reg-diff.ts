// The .reg file that turns hive A into hive B: keys only in A become [-KEY] deletions, keys only
// in B are written whole, and for keys in both only values that differ (type or bytes) are set or
// deleted. Names compare case-insensitively, as Windows compares them. Paths are named the way
// exportHive names them, so the result imports back with the same prefix.
import { InputError } from '../../errors.js';
import type { Hive, RegistryKey, RegistryValue } from './hive.js';
import { upcaseName } from './names.js';
import type { RegEntry, RegFile } from './reg-file.js';

export interface DiffHivesOptions {
  /** Root the paths are written under (e.g. 'HKEY_LOCAL_MACHINE\\SOFTWARE'); default '\\…' as exportHive. */
  prefix?: string;
  /** Compare only below this key (relative to the hive root). */
  keyPath?: string;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function byName<T extends { name: string }>(items: T[]): Map<string, T> {
  return new Map(items.map((item) => [upcaseName(item.name), item]));
}

export function diffHives(a: Hive, b: Hive, options: DiffHivesOptions = {}): RegFile {
  const prefix = (options.prefix ?? '').replace(/\\+$/, '');
  const nameOf = (path: string) => (prefix === '' ? `\\${path}` : path === '' ? prefix : `${prefix}\\${path}`);
  const startPath = options.keyPath ?? '';
  const startA = startPath ? a.key(startPath) : a.root;
  const startB = startPath ? b.key(startPath) : b.root;
  if (!startA && !startB) throw new InputError('DF_REG_KEY_NOT_FOUND', `neither hive has the key ${startPath}: check the path (it is relative to the hive root)`);
  const entries: RegEntry[] = [];

  const valueEntry = (path: string, v: RegistryValue): RegEntry => ({ kind: 'value', keyPath: path, name: v.name, deleted: false, type: v.type, data: v.raw.slice() });

  // Adds a key of B that A lacks, with all its values and subkeys (explicit stack: no recursion
  // limit, and walk depth is already bounded by the reader).
  const addWhole = (key: RegistryKey, path: string) => {
    const stack: [RegistryKey, string][] = [[key, path]];
    while (stack.length > 0) {
      const [k, p] = stack.pop() as [RegistryKey, string];
      entries.push({ kind: 'key', path: nameOf(p), deleted: false });
      for (const v of k.values()) entries.push(valueEntry(nameOf(p), v));
      const children = k.subkeys();
      for (let i = children.length - 1; i >= 0; i--) stack.push([children[i], p ? `${p}\\${children[i].name}` : children[i].name]);
    }
  };

  const compare = (ka: RegistryKey, kb: RegistryKey, path: string) => {
    const valuesA = byName(ka.values());
    const valuesB = byName(kb.values());
    const changes: RegEntry[] = [];
    for (const [upper, va] of valuesA) {
      if (!valuesB.has(upper)) changes.push({ kind: 'value', keyPath: nameOf(path), name: va.name, deleted: true, type: 0, data: new Uint8Array(0) });
    }
    for (const [upper, vb] of valuesB) {
      const va = valuesA.get(upper);
      if (!va || va.type !== vb.type || !sameBytes(va.raw, vb.raw)) changes.push(valueEntry(nameOf(path), vb));
    }
    if (changes.length > 0) entries.push({ kind: 'key', path: nameOf(path), deleted: false }, ...changes);
    const subA = byName(ka.subkeys());
    const subB = byName(kb.subkeys());
    for (const [upper, sa] of subA) if (!subB.has(upper)) entries.push({ kind: 'key', path: nameOf(path ? `${path}\\${sa.name}` : sa.name), deleted: true });
    for (const [upper, sb] of subB) {
      const childPath = path ? `${path}\\${sb.name}` : sb.name;
      const sa = subA.get(upper);
      if (sa) compare(sa, sb, childPath);
      else addWhole(sb, childPath);
    }
  };

  if (!startB) entries.push({ kind: 'key', path: nameOf(startPath), deleted: true });
  else if (!startA) addWhole(startB, startPath);
  else compare(startA, startB, startPath);
  return { version: 5, entries };
}
