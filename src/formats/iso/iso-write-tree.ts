// The ISO writer's input model: validates the caller's files, folders, label and boot entries
// (collecting every problem for planIso to report at once), builds the directory tree, and derives the
// names each tree needs: UDF keeps the real names, ISO 9660 gets d-character identifiers
// (ECMA-119 §7.5, §7.6), Joliet gets UCS-2 names (Joliet spec §3). No layout, no bytes.
import type { ByteSource } from '../../util/byte-source.js';

export interface IsoInputFile {
  /** '/'-separated path in the image (a leading '/' is optional). */
  path: string;
  size: number;
  /** The bytes: a FileSource, or an ExtentSource into another ISO (copied extent to extent). */
  source: ByteSource;
  modified?: Date;
  /** Files with equal keys and equal sizes are stored once (like oscdimg -o). */
  dedupeKey?: string;
  /** The first `bytes` bytes of this file already lie at sector `lba` of the writer's base image
   *  (IsoWriteOptions.base), except the `dirty` byte ranges, which the writer writes over them.
   *  `bytes` is the whole size, or a whole number of sectors (the rest then goes elsewhere). The
   *  planner keeps the file there when it can (≥ sector 257, inside the base, no overlap) and
   *  writes it like any other file when it cannot. */
  inBase?: { lba: number; bytes: number; dirty?: Array<{ offset: number; length: number }> };
}

export interface IsoBootEntry {
  /** El Torito platform id (El Torito §2.1): 0 x86 BIOS, 0xEF UEFI. */
  platform: number;
  /** A file of the image. */
  imagePath: string;
  /** Default 0x7C0 for platform 0, 0 otherwise. */
  loadSegment?: number;
  /** 512-byte sectors loaded; default 8 for BIOS, the image size for others (capped at 0xFFFF). */
  sectorCount?: number;
}

export type IsoWriteMode = 'udf' | 'hybrid' | 'iso9660';

export interface WriteFileNode {
  kind: 'file';
  name: string;
  path: string;
  input: IsoInputFile;
  /** First sector of the data (shared by deduplicated files); 0 for empty files. */
  lba: number;
  /** Where the data lies, in file order (one piece unless part of it stays in the base image). */
  pieces: Array<{ lba: number; bytes: number }>;
  /** The byte sizes of `pieces`, fixed before sectors are assigned. */
  pieceBytes: number[];
  /** UDF file entry sector (absolute). */
  udfEntryLba: number;
  uniqueId: number;
  isoName: string;
  jolietName: string;
}

export interface WriteDirNode {
  kind: 'dir';
  name: string;
  path: string;
  parent: WriteDirNode | null;
  children: WriteNode[];
  udfEntryLba: number;
  /** UDF directory data (file identifier descriptors). */
  udfDataLba: number;
  udfDataBytes: number;
  uniqueId: number;
  isoName: string;
  jolietName: string;
  isoLba: number;
  isoBytes: number;
  jolietLba: number;
  jolietBytes: number;
  /** Path table directory number (ECMA-119 §9.4), 1 for the root. */
  pathTableNumber: number;
}

export type WriteNode = WriteFileNode | WriteDirNode;

/** Longest name accepted: a UDF file identifier holds 254 8-bit or 127 16-bit characters (OSTA UDF 2.1.1). */
export const MAX_UDF_NAME_BYTES = 255;
/** Joliet names up to 103 UCS-2 characters, as `-joliet-long` writers do (the spec says 64). */
export const JOLIET_MAX_CHARS = 103;
const MAX_DEPTH = 100;

export function isLatin1(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0xff) return false;
  return true;
}

/** Bytes of the OSTA CS0 form of `s` (compression id + characters). */
export function cs0Length(s: string): number {
  return 1 + (isLatin1(s) ? s.length : 2 * s.length);
}

function newDir(name: string, path: string, parent: WriteDirNode | null): WriteDirNode {
  return {
    kind: 'dir',
    name,
    path,
    parent,
    children: [],
    udfEntryLba: 0,
    udfDataLba: 0,
    udfDataBytes: 0,
    uniqueId: 0,
    isoName: '',
    jolietName: '',
    isoLba: 0,
    isoBytes: 0,
    jolietLba: 0,
    jolietBytes: 0,
    pathTableNumber: 0,
  };
}

function splitInputPath(path: string): string[] | string {
  if (typeof path !== 'string' || path.length === 0) return 'is empty';
  const parts = path.split('/').filter((p, i, all) => !(p === '' && (i === 0 || i === all.length - 1)));
  if (parts.length === 0) return 'names no file (it is the root)';
  for (const part of parts) {
    if (part === '') return 'has an empty component ("//")';
    if (part === '.' || part === '..') return 'has a "." or ".." component';
    if (/[\0\\]/.test(part)) return 'has a NUL or "\\" character';
    if (cs0Length(part) > MAX_UDF_NAME_BYTES) return `has a name longer than UDF allows (${part.length} characters; at most 254, or 127 with non-Latin-1 characters)`;
  }
  if (parts.length > MAX_DEPTH) return `nests deeper than ${MAX_DEPTH} folders`;
  return parts;
}

export interface BuiltTree {
  root: WriteDirNode;
  files: WriteFileNode[];
  dirs: WriteDirNode[];
}

/** Builds the tree; problems are appended to `problems` for the caller to report together. */
export function buildWriteTree(files: readonly IsoInputFile[], directories: readonly string[], problems: string[]): BuiltTree {
  const root = newDir('', '/', null);
  const byKey = new Map<string, WriteNode>([['', root]]);
  const dirs: WriteDirNode[] = [root];
  const fileNodes: WriteFileNode[] = [];

  const ensureDir = (parts: string[], what: string): WriteDirNode | null => {
    let dir = root;
    for (let i = 0; i < parts.length; i++) {
      const key = parts
        .slice(0, i + 1)
        .join('/')
        .toLowerCase();
      const found = byKey.get(key);
      if (found) {
        if (found.kind === 'file') {
          problems.push(`${what}: ${found.path} is a file, so nothing can be inside it`);
          return null;
        }
        dir = found;
        continue;
      }
      const made = newDir(parts[i], `/${parts.slice(0, i + 1).join('/')}`, dir);
      dir.children.push(made);
      byKey.set(key, made);
      dirs.push(made);
      dir = made;
    }
    return dir;
  };

  for (const d of directories) {
    const parts = splitInputPath(d);
    if (typeof parts === 'string') problems.push(`folder "${d}" ${parts}`);
    else ensureDir(parts, `folder /${parts.join('/')}`);
  }
  for (const input of files) {
    const parts = splitInputPath(input.path);
    if (typeof parts === 'string') {
      problems.push(`file "${input.path}" ${parts}`);
      continue;
    }
    const path = `/${parts.join('/')}`;
    if (!Number.isSafeInteger(input.size) || input.size < 0) {
      problems.push(`${path}: size ${input.size} is not a whole number of bytes`);
      continue;
    }
    if (input.source.size !== input.size) {
      problems.push(`${path}: size is given as ${input.size} but its source (${input.source.name}) holds ${input.source.size} bytes`);
      continue;
    }
    const parent = ensureDir(parts.slice(0, -1), path);
    if (!parent) continue;
    const key = parts.join('/').toLowerCase();
    const existing = byKey.get(key);
    if (existing) {
      problems.push(`${path} is given twice (as ${existing.path}${existing.kind === 'dir' ? ', a folder' : ''}); paths are compared without case, as Windows does`);
      continue;
    }
    const node: WriteFileNode = {
      kind: 'file',
      name: parts[parts.length - 1],
      path,
      input,
      lba: 0,
      pieces: [],
      pieceBytes: input.size > 0 ? [input.size] : [],
      udfEntryLba: 0,
      uniqueId: 0,
      isoName: '',
      jolietName: '',
    };
    parent.children.push(node);
    byKey.set(key, node);
    fileNodes.push(node);
  }
  for (const dir of dirs) dir.children.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { root, files: fileNodes, dirs };
}

/** Finds a node by path, case-insensitively. */
export function findNode(root: WriteDirNode, path: string): WriteNode | null {
  let node: WriteNode = root;
  for (const part of path.split('/').filter((p) => p !== '')) {
    if (node.kind !== 'dir') return null;
    const lower = part.toLowerCase();
    const next: WriteNode | undefined = node.children.find((c) => c.name.toLowerCase() === lower);
    if (!next) return null;
    node = next;
  }
  return node;
}

// ---- ISO 9660 and Joliet names --------------------------------------------------------------

function toDChars(s: string): string {
  return s.toUpperCase().replace(/[^A-Z0-9_]/g, '_');
}

/** Makes `candidate` unique in `used` by replacing its tail with ~N. */
function uniquify(candidate: string, used: Set<string>, fit: (suffix: string) => string): string {
  if (!used.has(candidate)) {
    used.add(candidate);
    return candidate;
  }
  for (let n = 1; ; n++) {
    const next = fit(`~${n}`);
    if (!used.has(next)) {
      used.add(next);
      return next;
    }
  }
}

/** ISO 9660 level 2/3 identifiers (ECMA-119 §7.5.1, §7.6.3): ≤ 30 chars for files (name + '.' + ext, ';1' added later), ≤ 31 for folders. */
export function assignIsoNames(dir: WriteDirNode): void {
  const used = new Set<string>();
  for (const child of dir.children) {
    if (child.kind === 'dir') {
      const base = toDChars(child.name).slice(0, 31) || '_';
      child.isoName = uniquify(base, used, (s) => base.slice(0, 31 - s.length) + s);
    } else {
      const dot = child.name.lastIndexOf('.');
      let stem = toDChars(dot > 0 ? child.name.slice(0, dot) : child.name);
      let ext = dot > 0 ? toDChars(child.name.slice(dot + 1)) : '';
      ext = ext.slice(0, 8);
      stem = stem.slice(0, 29 - ext.length) || '_';
      const make = (s: string) => `${stem.slice(0, Math.max(1, 29 - ext.length - s.length))}${s}.${ext}`;
      child.isoName = uniquify(`${stem}.${ext}`, used, make);
    }
  }
}

/** Joliet names (Joliet spec §3.2): UCS-2, no * / : ; ? \, at most JOLIET_MAX_CHARS characters. */
export function assignJolietNames(dir: WriteDirNode): void {
  const used = new Set<string>();
  for (const child of dir.children) {
    let name = child.name.replace(/[*/:;?\\]/g, '_').replace(/[\ud800-\udfff]/g, '_');
    if (name.length > JOLIET_MAX_CHARS) name = name.slice(0, JOLIET_MAX_CHARS);
    const base = name;
    // Joliet lookups are case-insensitive on Windows: keep names unique without case.
    let chosen = base;
    for (let n = 1; used.has(chosen.toLowerCase()); n++) chosen = base.slice(0, JOLIET_MAX_CHARS - `~${n}`.length) + `~${n}`;
    used.add(chosen.toLowerCase());
    child.jolietName = chosen;
  }
}
