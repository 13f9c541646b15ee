// Applies parsed .reg entries to one hive through the HiveEditor interface, the way regedit
// imports: `[KEY]` creates the key and its parents, `[-KEY]` deletes a tree, `"v"=-` deletes a
// value. It handles a single hive below one root prefix; choosing the hive for each root and
// rewriting CurrentControlSet is reg-roots.ts's job.
import { InputError } from '../../errors.js';
import type { HiveEditor } from './edit-types.js';
import type { RegEntry, RegFile } from './reg-file.js';

export interface RegImportMapping {
  /** The .reg path that names the hive root, e.g. 'HKEY_LOCAL_MACHINE\\SOFTWARE' (matched
   *  case-insensitively). '' means the entries' paths are already relative to the hive root. */
  prefix: string;
}

export interface RegImportResult {
  keysCreated: number;
  keysDeleted: number;
  valuesSet: number;
  valuesDeleted: number;
}

/** The path below `prefix`, '' for the prefix itself, undefined when outside it. */
function relativePath(path: string, prefix: string): string | undefined {
  if (prefix === '') return path.replace(/^\\+/, '');
  const p = prefix.toLowerCase();
  const lower = path.toLowerCase();
  if (lower === p) return '';
  if (lower.startsWith(`${p}\\`)) return path.slice(prefix.length + 1);
  return undefined;
}

const pathOf = (e: RegEntry) => (e.kind === 'key' ? e.path : e.keyPath);

export function importRegFile(editor: HiveEditor, file: RegFile, mapping: RegImportMapping): RegImportResult {
  const prefix = mapping.prefix.replace(/\\+$/, '');
  // Check everything before changing anything, so a bad file leaves the hive untouched.
  const outside = [...new Set(file.entries.filter((e) => relativePath(pathOf(e), prefix) === undefined).map(pathOf))];
  if (outside.length > 0) {
    const shown = outside.slice(0, 10).join(', ') + (outside.length > 10 ? `, and ${outside.length - 10} more` : '');
    throw new InputError('DF_REG_OUTSIDE_ROOT', `${outside.length} key(s) are outside ${prefix || 'the hive'} and cannot be imported into it: ${shown}`, {
      prefix,
      outside,
    });
  }
  const rootDeletion = file.entries.find((e) => e.kind === 'key' && e.deleted && relativePath(e.path, prefix) === '');
  if (rootDeletion) throw new InputError('DF_REG_DELETE_ROOT', `[-${pathOf(rootDeletion)}] would delete the hive root, which cannot be deleted`, { prefix });

  const result: RegImportResult = { keysCreated: 0, keysDeleted: 0, valuesSet: 0, valuesDeleted: 0 };
  for (const entry of file.entries) {
    const rel = relativePath(pathOf(entry), prefix) as string;
    if (entry.kind === 'key') {
      if (entry.deleted) {
        if (editor.deleteKey(rel)) result.keysDeleted++;
      } else if (rel !== '' && editor.createKey(rel)) {
        result.keysCreated++;
      }
    } else if (entry.deleted) {
      if (editor.deleteValue(rel, entry.name)) result.valuesDeleted++;
    } else {
      editor.setValue(rel, entry.name, entry.type, entry.data);
      result.valuesSet++;
    }
  }
  return result;
}
