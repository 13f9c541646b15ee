// The contract between the hive writer (hive-edit.ts) and its users (.reg import, the CLI,
// customization steps): edits by backslash-separated key path below the root, with raw value
// bytes and registry type numbers. Paths and names are matched case-insensitively, as Windows does.
import type { Hive } from './hive.js';

export interface HiveEditor {
  /** A reader view of the hive as edited so far (re-created after each change). */
  readonly hive: Hive;
  /** Creates the key and any missing parents; returns true when something was created. New keys
   *  share their parent's security descriptor. */
  createKey(path: string, options?: { className?: string }): boolean;
  /** Deletes the key and everything below it; returns false when it did not exist. The root
   *  cannot be deleted. */
  deleteKey(path: string): boolean;
  /** Sets a value ('' = the default value), creating the key when missing. */
  setValue(keyPath: string, name: string, type: number, data: Uint8Array): void;
  /** Deletes a value; returns false when the key or value did not exist. */
  deleteValue(keyPath: string, name: string): boolean;
  /** The hive's bytes with sequence numbers, last-written time and checksum updated. */
  toBytes(): Uint8Array;
  /** Writes the hive to `path` atomically (temporary name, flush, rename). */
  save(path: string): Promise<void>;
}
