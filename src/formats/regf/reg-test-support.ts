// Test support, not product code: an in-memory registry tree that applies .reg entries with
// regedit's semantics (creating parents, deleting whole trees, case-insensitive names), the
// normalised line form the .reg tests compare, and a reader for hivexregedit's export output.
// It never touches hive bytes; the real writer is hive-edit.ts.
import { runTool } from '../../util/exec.js';
import type { HiveEditor } from './edit-types.js';
import type { Hive } from './hive.js';
import { parseRegFile, type RegEntry, type RegFile } from './reg-file.js';

interface ModelKey {
  path: string;
  values: Map<string, { name: string; type: number; data: Uint8Array }>;
}

/** Keys by lower-cased path ('' = root); the first spelling of a name is kept, as Windows does. */
export class RegistryModel {
  readonly keys = new Map<string, ModelKey>([['', { path: '', values: new Map() }]]);

  private ensure(path: string): { key: ModelKey; created: boolean } {
    let created = false;
    let parent = '';
    for (const part of path.split('\\').filter((p) => p !== '')) {
      const parentKey = this.keys.get(parent.toLowerCase()) as ModelKey;
      const full = parentKey.path === '' ? part : `${parentKey.path}\\${part}`;
      if (!this.keys.has(full.toLowerCase())) {
        this.keys.set(full.toLowerCase(), { path: full, values: new Map() });
        created = true;
      }
      parent = full;
    }
    return { key: this.keys.get(parent.toLowerCase()) as ModelKey, created };
  }

  createKey(path: string): boolean {
    return this.ensure(path).created;
  }

  deleteKey(path: string): boolean {
    const lower = path.toLowerCase();
    if (!this.keys.has(lower)) return false;
    for (const k of [...this.keys.keys()]) if (k === lower || k.startsWith(`${lower}\\`)) this.keys.delete(k);
    return true;
  }

  setValue(keyPath: string, name: string, type: number, data: Uint8Array): void {
    this.ensure(keyPath).key.values.set(name.toLowerCase(), { name, type, data });
  }

  deleteValue(keyPath: string, name: string): boolean {
    return this.keys.get(keyPath.toLowerCase())?.values.delete(name.toLowerCase()) ?? false;
  }

  /** Applies entries whose paths are relative to the model root. */
  apply(entries: readonly RegEntry[]): this {
    for (const e of entries) {
      if (e.kind === 'key') {
        if (e.deleted) this.deleteKey(e.path);
        else this.createKey(e.path);
      } else if (e.deleted) this.deleteValue(e.keyPath, e.name);
      else this.setValue(e.keyPath, e.name, e.type, e.data);
    }
    return this;
  }

  /** Sorted "K path" / "V path name type hex" lines, names lower-cased for the key set. */
  lines(): string[] {
    const out: string[] = [];
    for (const key of this.keys.values()) {
      out.push(`K\t${key.path.toLowerCase()}`);
      for (const v of key.values.values()) out.push(`V\t${key.path.toLowerCase()}\t${v.name}\t${v.type}\t${Buffer.from(v.data).toString('hex')}`);
    }
    return out.sort();
  }
}

/** The same line form for an entry list that describes a whole tree (an export). */
export function exportLines(entries: readonly RegEntry[]): string[] {
  return new RegistryModel().apply(entries).lines();
}

/** Strips `prefix` (case-insensitively) and a leading or trailing backslash from every path. */
export function relativeEntries(entries: readonly RegEntry[], prefix: string): RegEntry[] {
  const strip = (p: string) => {
    const rest = p.toLowerCase().startsWith(prefix.toLowerCase()) ? p.slice(prefix.length) : p;
    return rest.replace(/^\\+|\\+$/g, '');
  };
  return entries.map((e) => (e.kind === 'key' ? { ...e, path: strip(e.path) } : { ...e, keyPath: strip(e.keyPath) }));
}

/** hivexregedit --export output: Perl prints names below U+0100 as Latin-1 bytes and wider
 *  ones as UTF-8, line by line, so each line is decoded on its own before parsing. */
export async function hivexExport(diskPath: string, prefix: string): Promise<RegFile> {
  const { stdout } = await runTool('hivexregedit', ['--export', '--prefix', prefix, diskPath, '\\'], { binary: true, maxBuffer: 512 * 1024 * 1024 });
  const lines: string[] = [];
  let start = 0;
  for (let i = 0; i <= stdout.length; i++) {
    if (i < stdout.length && stdout[i] !== 0x0a) continue;
    const line = stdout.subarray(start, i);
    try {
      lines.push(new TextDecoder('utf-8', { fatal: true }).decode(line));
    } catch {
      lines.push(line.toString('latin1'));
    }
    start = i + 1;
  }
  return parseRegFile(new TextEncoder().encode(lines.join('\n')), 'hivexregedit --export');
}

/** A HiveEditor that records each call and keeps a model, for checking import call order. */
export class RecordingEditor implements HiveEditor {
  readonly calls: string[] = [];
  readonly model = new RegistryModel();
  get hive(): Hive {
    throw new Error('RecordingEditor has no hive');
  }
  createKey(path: string): boolean {
    this.calls.push(`createKey ${path}`);
    return this.model.createKey(path);
  }
  deleteKey(path: string): boolean {
    this.calls.push(`deleteKey ${path}`);
    return this.model.deleteKey(path);
  }
  setValue(keyPath: string, name: string, type: number, data: Uint8Array): void {
    this.calls.push(`setValue ${keyPath} ${name} ${type} ${Buffer.from(data).toString('hex')}`);
    this.model.setValue(keyPath, name, type, data);
  }
  deleteValue(keyPath: string, name: string): boolean {
    this.calls.push(`deleteValue ${keyPath} ${name}`);
    return this.model.deleteValue(keyPath, name);
  }
  toBytes(): Uint8Array {
    throw new Error('RecordingEditor has no bytes');
  }
  async save(): Promise<void> {
    throw new Error('RecordingEditor cannot save');
  }
}

/** Rewrites a .reg file so hivexregedit --merge accepts what regedit accepts, without changing
 *  its meaning: drops comments and blank lines (hivex ends a key at either), pads dwords to the 8
 *  digits hivex demands, and creates every missing parent first (hivex will not). Returns one
 *  text per root prefix (hivex maps one prefix per run). */
export function splitForHivex(text: string, rootOf: (path: string) => string): Map<string, string> {
  const byRoot = new Map<string, string[]>();
  const spellings = new Map<string, string>();
  let current: string[] | undefined;
  for (const raw of text.split(/\r\n|\n|\r/).slice(1)) {
    const line = raw.trimStart();
    if (line === '' || line.startsWith(';')) continue;
    if (line.startsWith('[')) {
      const deleted = line.startsWith('[-');
      const path = line.slice(deleted ? 2 : 1, line.lastIndexOf(']'));
      // Roots differ in case across one file (Software / SOFTWARE); hivex matches them
      // case-insensitively, so group them the same way under the first spelling.
      const root = rootOf(path);
      const spelling = spellings.get(root.toLowerCase()) ?? root;
      spellings.set(root.toLowerCase(), spelling);
      current = byRoot.get(spelling) ?? [];
      byRoot.set(spelling, current);
      current.push('');
      if (!deleted) {
        const parts = path
          .slice(spelling.length)
          .split('\\')
          .filter((p) => p !== '');
        for (let i = 1; i < parts.length; i++) current.push(`[${spelling}\\${parts.slice(0, i).join('\\')}]`, '');
      }
      current.push(line);
      continue;
    }
    current?.push(line.replace(/=dword:([0-9a-fA-F]+)\s*$/, (_, d: string) => `=dword:${d.replace(/^0+/, '').padStart(8, '0')}`));
  }
  const out = new Map<string, string>();
  for (const [root, lines] of byRoot) out.set(root, `Windows Registry Editor Version 5.00\n${lines.join('\n')}\n\n`);
  return out;
}
