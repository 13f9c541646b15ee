// Maps a .reg key path (HKEY_LOCAL_MACHINE\SOFTWARE\…, HKLM\…, HKCU\…) to the offline hive
// file of a Windows image that holds it and the path inside that hive, replacing the
// CurrentControlSet link (which exists only in a running system) by ControlSet00N from
// SYSTEM's Select\Current. It does not open or edit hives; volatile roots (HKLM\HARDWARE,
// HKEY_CURRENT_CONFIG) and other users' profiles have no offline file and are refused.
import { FormatError, InputError } from '../../errors.js';
import { REG_TYPE } from './constants.js';
import type { Hive } from './hive.js';
import type { RegEntry, RegFile } from './reg-file.js';

export type HiveId = 'SOFTWARE' | 'SYSTEM' | 'SAM' | 'SECURITY' | 'DEFAULT' | 'NTUSER';

/** Image-relative hive files (forward slashes, as inside a WIM image). */
export const HIVE_FILES: Readonly<Record<HiveId, string>> = {
  SOFTWARE: 'Windows/System32/config/SOFTWARE',
  SYSTEM: 'Windows/System32/config/SYSTEM',
  SAM: 'Windows/System32/config/SAM',
  SECURITY: 'Windows/System32/config/SECURITY',
  DEFAULT: 'Windows/System32/config/DEFAULT',
  NTUSER: 'Users/Default/NTUSER.DAT',
};

/** Names people load the default user's NTUSER.DAT under (`reg load HKU\DefaultUser …`) in
 *  deployment scripts. HKU\.DEFAULT is a different hive (config\DEFAULT, the logon desktop). */
export const DEFAULT_USER_MOUNT_NAMES: readonly string[] = ['DefaultUser', 'Default', 'Default User', 'DefaultProfile', 'TempDefault', 'DEFAULT_USER', 'NTUSER'];

export interface ResolvedRegPath {
  hive: HiveId;
  /** Image-relative hive file. */
  hiveFile: string;
  /** Path inside the hive, '' for its root. */
  keyPath: string;
}

export interface ResolveRegPathOptions {
  /** Returns N of ControlSet00N (SYSTEM's Select\Current); called only when a path names
   *  CurrentControlSet, at most once per call. See readCurrentControlSet. */
  currentControlSet?: () => number;
  /** Overrides DEFAULT_USER_MOUNT_NAMES. */
  defaultUserMounts?: readonly string[];
}

const ROOT_ALIASES: Readonly<Record<string, string>> = {
  HKEY_LOCAL_MACHINE: 'HKLM',
  HKLM: 'HKLM',
  HKEY_CURRENT_USER: 'HKCU',
  HKCU: 'HKCU',
  HKEY_USERS: 'HKU',
  HKU: 'HKU',
  HKEY_CLASSES_ROOT: 'HKCR',
  HKCR: 'HKCR',
};

const HKLM_HIVES: Readonly<Record<string, HiveId>> = { SOFTWARE: 'SOFTWARE', SYSTEM: 'SYSTEM', SAM: 'SAM', SECURITY: 'SECURITY' };

const join = (...parts: string[]) => parts.filter((p) => p !== '').join('\\');

function unsupported(path: string, why: string): never {
  throw new InputError('DF_REG_UNKNOWN_ROOT', `${path}: ${why}`, { path });
}

export function resolveRegPath(path: string, options: ResolveRegPathOptions = {}): ResolvedRegPath {
  const parts = path.split('\\');
  const root = ROOT_ALIASES[parts[0].toUpperCase()];
  const make = (hive: HiveId, keyPath: string): ResolvedRegPath => ({ hive, hiveFile: HIVE_FILES[hive], keyPath });
  switch (root) {
    case 'HKLM': {
      const hive = HKLM_HIVES[(parts[1] ?? '').toUpperCase()];
      if (!hive) {
        unsupported(path, `HKEY_LOCAL_MACHINE\\${parts[1] ?? ''} has no hive file in an offline image: use SOFTWARE, SYSTEM, SAM or SECURITY below HKEY_LOCAL_MACHINE`);
      }
      const rest = parts.slice(2);
      if (hive === 'SYSTEM' && rest.length > 0 && rest[0].toLowerCase() === 'currentcontrolset') {
        // CurrentControlSet is a symbolic link the kernel creates at boot; offline it does not
        // exist and writing it would create a real key Windows ignores (FORMATS.md §3 pitfall 8).
        if (!options.currentControlSet) unsupported(path, 'CurrentControlSet needs the SYSTEM hive to find ControlSet00N; pass currentControlSet');
        const n = (options.currentControlSet as () => number)();
        rest[0] = `ControlSet${String(n).padStart(3, '0')}`;
      }
      return make(hive, join(...rest));
    }
    case 'HKCU':
      return make('NTUSER', join(...parts.slice(1)));
    case 'HKCR':
      // Machine-wide classes live in SOFTWARE\Classes; HKCR merges them with the user's.
      return make('SOFTWARE', join('Classes', ...parts.slice(1)));
    case 'HKU': {
      const user = parts[1] ?? '';
      if (user.toLowerCase() === '.default') return make('DEFAULT', join(...parts.slice(2)));
      const mounts = options.defaultUserMounts ?? DEFAULT_USER_MOUNT_NAMES;
      if (mounts.some((m) => m.toLowerCase() === user.toLowerCase())) return make('NTUSER', join(...parts.slice(2)));
      return unsupported(path, `HKEY_USERS\\${user} is not a hive in the image: use HKEY_USERS\\.DEFAULT, HKEY_CURRENT_USER or one of ${mounts.join(', ')} for the default user`);
    }
    default:
      return unsupported(path, `unknown root '${parts[0]}': expected HKEY_LOCAL_MACHINE, HKEY_CURRENT_USER, HKEY_USERS or HKEY_CLASSES_ROOT (or HKLM, HKCU, HKU, HKCR)`);
  }
}

/** N of the control set Windows boots (SYSTEM\Select\Current, a REG_DWORD). */
export function readCurrentControlSet(system: Hive): number {
  const value = system.key('Select')?.value('Current');
  const raw = value?.raw;
  if (!value || value.type !== REG_TYPE.REG_DWORD || !raw || raw.length !== 4) {
    throw new FormatError('DF_HIVE_NO_CURRENT_CONTROL_SET', `${system.name} has no REG_DWORD Select\\Current: it is not a SYSTEM hive, or it is damaged`, { name: system.name });
  }
  return (raw[0] | (raw[1] << 8) | (raw[2] << 16) | (raw[3] << 24)) >>> 0;
}

/** One hive's share of a .reg file, with paths relative to that hive's root (import it with
 *  prefix ''). Groups appear in order of first use; entries keep file order. */
export interface RegFileForHive {
  hive: HiveId;
  hiveFile: string;
  file: RegFile;
}

/** Splits a .reg file by hive, resolving every path (so an unknown root fails before any hive
 *  is touched). The CurrentControlSet lookup runs at most once. */
export function splitRegFileByHive(file: RegFile, options: ResolveRegPathOptions = {}): RegFileForHive[] {
  let cached: number | undefined;
  const read = options.currentControlSet;
  const once: ResolveRegPathOptions = {
    ...options,
    currentControlSet: read
      ? () => {
          if (cached === undefined) cached = read();
          return cached;
        }
      : undefined,
  };
  const groups = new Map<HiveId, RegFileForHive>();
  for (const entry of file.entries) {
    const resolved = resolveRegPath(entry.kind === 'key' ? entry.path : entry.keyPath, once);
    let group = groups.get(resolved.hive);
    if (!group) {
      group = { hive: resolved.hive, hiveFile: resolved.hiveFile, file: { version: file.version, entries: [] } };
      groups.set(resolved.hive, group);
    }
    const mapped: RegEntry = entry.kind === 'key' ? { ...entry, path: resolved.keyPath } : { ...entry, keyPath: resolved.keyPath };
    group.file.entries.push(mapped);
  }
  return [...groups.values()];
}
