// An image's metadata resource: the security data, then the dentry tree starting at the root
// dentry right after it (ebiggers/wimlib src/metadata_resource.c, src/dentry.c
// read_dentry_tree). Hostile input is bounded: every dentry offset is read at most once (so a
// subdir offset pointing back is a loop error, not a hang), depth is capped as wimlib caps it,
// and ignorable oddities (".." names, duplicates) become warnings as in wimlib.
import { FormatError } from '../../errors.js';
import { FILE_ATTRIBUTE_DIRECTORY, NO_CHILDREN, parseDentry, type WimDentryRecord } from './dentry.js';
import { parseSecurityData, type WimSecurityData } from './security.js';

/** wimlib read_dentry_tree_recursive's depth limit. */
export const MAX_DENTRY_DEPTH = 16384;

export interface WimDentry extends WimDentryRecord {
  parent: WimDentry | null;
  /** Children in on-disk order; for files one shared, frozen empty list (the tree is read-only:
   *  editing works on a copy, metadata-write.ts). */
  children: readonly WimDentry[];
  /** Full path with '/' separators, '/' for the root. */
  path: string;
}

export interface WimMetadata {
  security: WimSecurityData;
  root: WimDentry;
  dentryCount: number;
  warnings: string[];
}

function isDirectory(d: WimDentryRecord): boolean {
  return (d.attributes & FILE_ATTRIBUTE_DIRECTORY) !== 0;
}

function emptyRoot(offset: number): WimDentry {
  return {
    offset,
    totalLength: 0,
    attributes: FILE_ATTRIBUTE_DIRECTORY,
    securityId: -1,
    subdirOffset: 0,
    unknown0x18: 0n,
    unknown0x20: 0n,
    creationTime: 0n,
    lastAccessTime: 0n,
    lastWriteTime: 0n,
    unknown0x54: 0,
    reparseTag: null,
    rpReserved: 0,
    rpFlags: 0,
    hardLinkGroupId: 0n,
    name: '',
    shortName: '',
    nameBytes: 0,
    streams: [{ name: '', type: 'data', sha1: null }],
    parent: null,
    children: [],
    path: '/',
  };
}

/** Every field of a record as an own property (a parsed record reads some lazily). */
export function plainRecord(d: WimDentryRecord): WimDentryRecord {
  return {
    offset: d.offset,
    totalLength: d.totalLength,
    attributes: d.attributes,
    securityId: d.securityId,
    subdirOffset: d.subdirOffset,
    unknown0x18: d.unknown0x18,
    unknown0x20: d.unknown0x20,
    creationTime: d.creationTime,
    lastAccessTime: d.lastAccessTime,
    lastWriteTime: d.lastWriteTime,
    unknown0x54: d.unknown0x54,
    reparseTag: d.reparseTag,
    rpReserved: d.rpReserved,
    rpFlags: d.rpFlags,
    hardLinkGroupId: d.hardLinkGroupId,
    name: d.name,
    shortName: d.shortName,
    nameBytes: d.nameBytes,
    streams: d.streams,
  };
}

/** Why wimlib would skip a child (should_ignore_dentry), or null to keep it. */
function ignoreReason(d: WimDentryRecord): string | null {
  if (d.nameBytes === 0) return 'has no name';
  if (d.name === '.' || d.name === '..') return `is named "${d.name}"`;
  if (d.name.includes('\0')) return 'has a NUL character in its name';
  return null;
}

/** Parses a whole uncompressed metadata resource. */
export function parseMetadataResource(buf: Uint8Array, name = 'metadata resource'): WimMetadata {
  const security = parseSecurityData(buf, name);
  const warnings = [...security.warnings];
  const rootRecord = parseDentry(buf, security.totalLength, name);
  if (!rootRecord) {
    warnings.push('the metadata resource has no directory entries; treating it as an empty image');
    return { security, root: emptyRoot(security.totalLength), dentryCount: 1, warnings };
  }
  if (!isDirectory(rootRecord)) {
    throw new FormatError('DF_WIM_BAD_DENTRY', `${name}: the root of the image is not a directory; the image metadata is corrupt`, { offset: rootRecord.offset });
  }
  if (rootRecord.nameBytes !== 0 || rootRecord.shortName !== '') warnings.push('the root directory has a name; it is ignored');
  const root: WimDentry = { ...plainRecord(rootRecord), name: '', shortName: '', nameBytes: 0, parent: null, children: [], path: '/' };
  // Offsets already read, one bit per byte of the resource (cheaper than a Set of 100,000 numbers).
  const seen = new Uint8Array((buf.length >> 3) + 1);
  const mark = (offset: number) => {
    seen[offset >> 3] |= 1 << (offset & 7);
  };
  const marked = (offset: number) => (seen[offset >> 3] & (1 << (offset & 7))) !== 0;
  mark(rootRecord.offset);
  let dentryCount = 1;
  // Explicit stack instead of recursion: depth is bounded by MAX_DENTRY_DEPTH, not the JS stack.
  const stack: { dir: WimDentry; depth: number }[] = root.subdirOffset !== 0 ? [{ dir: root, depth: 0 }] : [];
  while (stack.length > 0) {
    const { dir, depth } = stack.pop() as { dir: WimDentry; depth: number };
    if (depth >= MAX_DENTRY_DEPTH) {
      throw new FormatError('DF_WIM_DENTRY_TOO_DEEP', `${name}: directories nest deeper than ${MAX_DENTRY_DEPTH} levels at ${dir.path}; the image metadata is corrupt`, {
        path: dir.path,
      });
    }
    // Names taken so far: the children themselves while few (most folders), a Set past that.
    let names: Set<string> | undefined;
    const taken = (name: string): boolean => {
      if (names) return names.has(name);
      const kids = dir.children;
      if (kids.length >= 32) {
        names = new Set(kids.map((k) => k.name));
        return names.has(name);
      }
      for (let i = 0; i < kids.length; i++) if (kids[i].name === name) return true;
      return false;
    };
    let offset = dir.subdirOffset;
    for (;;) {
      const record = parseDentry(buf, offset, name);
      if (!record) break;
      if (marked(offset)) {
        throw new FormatError(
          'DF_WIM_DENTRY_LOOP',
          `${name}: the children of ${dir.path} point back to a directory entry already read (offset ${offset}); the directory tree has a loop`,
          { path: dir.path, offset },
        );
      }
      mark(offset);
      dentryCount++;
      offset += record.totalLength;
      const why = ignoreReason(record);
      if (why) {
        warnings.push(`ignored an entry in ${dir.path} that ${why}`);
        continue;
      }
      if (taken(record.name)) {
        warnings.push(`ignored a second entry named "${record.name}" in ${dir.path}`);
        continue;
      }
      names?.add(record.name);
      // The record becomes the tree node (no copy: a Windows image has ~100,000 of them).
      const child = record as WimDentry;
      child.parent = dir;
      child.children = isDirectory(child) ? [] : NO_CHILDREN;
      child.path = dir.path === '/' ? `/${record.name}` : `${dir.path}/${record.name}`;
      // (Only directories are on the stack, and each got its own array above.)
      (dir.children as WimDentry[]).push(child);
      if (child.subdirOffset !== 0) {
        if (isDirectory(child)) stack.push({ dir: child, depth: depth + 1 });
        else warnings.push(`ignored children of non-directory ${child.path}`);
      }
    }
  }
  return { security, root, dentryCount, warnings };
}
