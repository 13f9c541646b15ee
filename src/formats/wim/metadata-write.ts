// Serializes an image's metadata resource for the append writer: the security data block,
// then the dentry tree laid out the way metadata.ts parses it (root dentry, an 8-byte end
// marker, then each directory's children contiguously, each list closed by a zero-length entry;
// every entry 8-byte aligned; extra stream entries right after their dentry). Dentries read
// from the old resource are copied byte for byte and only the fields an edit changes are
// patched, so unknown fields, named streams and reparse data survive. It builds no blobs.
import { u16le, u64le } from '../../util/binary.js';
import { DENTRY_DISK_SIZE, EXTRA_STREAM_DISK_SIZE, FILE_ATTRIBUTE_DIRECTORY, FILE_ATTRIBUTE_ENCRYPTED, FILE_ATTRIBUTE_REPARSE_POINT, type WimStream } from './dentry.js';
import type { WimDentry } from './metadata.js';

const ZERO_SHA1 = '0'.repeat(40);
const align8 = (n: number) => Math.ceil(n / 8) * 8;
/** A real copy: Buffer#slice (what readers may hand us) is a view, not a copy. */
const copyOf = (b: Uint8Array, start = 0, end = b.length) => new Uint8Array(b.subarray(start, end));
const viewOf = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);

/** Where the hash of a dentry's unnamed data stream lives in its raw bytes. */
export interface HashLocation {
  /** 'fixed' = the hash at 0x40 of the dentry; 'extra' = in extra stream entry bytes, `at`
   *  counted from the start of the extra entries. */
  where: 'fixed' | 'extra';
  at: number;
}

/** One entry of the tree being edited. */
export interface EditNode {
  name: string;
  shortName: string;
  attributes: number;
  securityId: number;
  creationTime: bigint;
  lastAccessTime: bigint;
  lastWriteTime: bigint;
  hardLinkGroupId: bigint;
  reparseTag: number | null;
  /** Streams as the reader sees them (sha1 null = empty). */
  streams: WimStream[];
  parent: EditNode | null;
  children: EditNode[];
  /** The dentry as read (fixed part + names + padding), or null for a new entry. */
  rawDentry: Uint8Array | null;
  /** Its extra stream entries as read (empty for a new entry). */
  rawExtra: Uint8Array;
  /** True when the name changed, so the name fields are rebuilt (and the short name dropped). */
  renamed: boolean;
  /** Where to patch the unnamed data hash in the raw bytes; null when it cannot be placed. */
  dataHash: HashLocation | null;
}

export function isDirectoryNode(n: { attributes: number }): boolean {
  return (n.attributes & FILE_ATTRIBUTE_DIRECTORY) !== 0;
}

/** Finds the raw entry holding the unnamed data stream, choosing as dentry.ts
 *  assignStreamTypes does for a plain file (not reparse, not encrypted). */
export function locateDataHash(rawDentry: Uint8Array, rawExtra: Uint8Array, attributes: number): HashLocation | null {
  if (attributes & (FILE_ATTRIBUTE_REPARSE_POINT | FILE_ATTRIBUTE_ENCRYPTED)) return null;
  const mainZero = rawDentry.subarray(0x40, 0x54).every((b) => b === 0);
  if (!mainZero) return { where: 'fixed', at: 0x40 };
  let q = 0;
  const count = u16le(rawDentry, 0x60);
  for (let i = 0; i < count && q + EXTRA_STREAM_DISK_SIZE <= rawExtra.length; i++) {
    const length = align8(u64le(rawExtra, q));
    if (u16le(rawExtra, q + 36) === 0) return { where: 'extra', at: q + 16 };
    q += length;
  }
  // No unnamed entry other than the empty main hash: the main hash is the data stream.
  return { where: 'fixed', at: 0x40 };
}

/** Makes the edit tree from a parsed metadata resource (`buf` is its uncompressed bytes). */
export function editTreeFrom(buf: Uint8Array, root: WimDentry): EditNode {
  const convert = (d: WimDentry, parent: EditNode | null): EditNode => {
    const dentryLength = align8(u64le(buf, d.offset));
    const rawDentry = buf.length >= d.offset + DENTRY_DISK_SIZE && dentryLength >= DENTRY_DISK_SIZE ? copyOf(buf, d.offset, d.offset + dentryLength) : null;
    const rawExtra = rawDentry ? copyOf(buf, d.offset + dentryLength, d.offset + d.totalLength) : new Uint8Array(0);
    const node: EditNode = {
      name: d.name,
      shortName: d.shortName,
      attributes: d.attributes,
      securityId: d.securityId,
      creationTime: d.creationTime,
      lastAccessTime: d.lastAccessTime,
      lastWriteTime: d.lastWriteTime,
      hardLinkGroupId: d.hardLinkGroupId,
      reparseTag: d.reparseTag,
      streams: d.streams.map((s) => ({ ...s })),
      parent,
      children: [],
      rawDentry,
      rawExtra,
      renamed: false,
      dataHash: rawDentry ? locateDataHash(rawDentry, rawExtra, d.attributes) : null,
    };
    return node;
  };
  // Iterative, like the reader: depth is bounded by the data, not the JS stack.
  const top = convert(root, null);
  const stack: [WimDentry, EditNode][] = [[root, top]];
  while (stack.length > 0) {
    const [d, n] = stack.pop() as [WimDentry, EditNode];
    for (const c of d.children) {
      const child = convert(c, n);
      n.children.push(child);
      stack.push([c, child]);
    }
  }
  return top;
}

/** The unnamed data stream's hash of a node, or null when empty. */
export function dataSha1(n: EditNode): string | null {
  return n.streams.find((s) => s.type === 'data' && s.name === '')?.sha1 ?? null;
}

function encodeName(name: string): Uint8Array {
  return Buffer.from(name, 'utf16le');
}

function setU64(view: DataView, at: number, v: bigint | number): void {
  view.setBigUint64(at, BigInt(v), true);
}

/** Encodes one node's dentry and extra stream entries; the subdir offset is patched later. */
export function encodeDentry(n: EditNode): Uint8Array {
  let dentry: Uint8Array;
  if (n.rawDentry && !n.renamed) {
    dentry = copyOf(n.rawDentry);
  } else {
    const name = n.parent ? encodeName(n.name) : new Uint8Array(0);
    const shortName = n.rawDentry && !n.renamed ? encodeName(n.shortName) : new Uint8Array(0);
    const length = align8(DENTRY_DISK_SIZE + (name.length ? name.length + 2 : 0) + (shortName.length ? shortName.length + 2 : 0));
    dentry = new Uint8Array(length);
    // A renamed entry keeps its fixed part (unknown fields, reparse data, stream count).
    if (n.rawDentry) dentry.set(n.rawDentry.subarray(0, DENTRY_DISK_SIZE));
    const view = viewOf(dentry);
    setU64(view, 0x00, length);
    view.setUint16(0x62, shortName.length, true);
    view.setUint16(0x64, name.length, true);
    dentry.set(name, DENTRY_DISK_SIZE);
    if (shortName.length) dentry.set(shortName, DENTRY_DISK_SIZE + name.length + 2);
    if (!n.rawDentry) {
      // New entry: no extra streams; not hard linked.
      view.setUint16(0x60, 0, true);
      setU64(view, 0x58, 0);
    }
  }
  const view = viewOf(dentry);
  view.setUint32(0x08, n.attributes >>> 0, true);
  view.setInt32(0x0c, n.securityId, true);
  setU64(view, 0x10, 0);
  setU64(view, 0x28, n.creationTime);
  setU64(view, 0x30, n.lastAccessTime);
  setU64(view, 0x38, n.lastWriteTime);
  const extra = copyOf(n.rawExtra);
  const sha = dataSha1(n) ?? ZERO_SHA1;
  if (!n.rawDentry) {
    dentry.set(Buffer.from(sha, 'hex'), 0x40);
  } else if (n.dataHash) {
    const target = n.dataHash.where === 'fixed' ? dentry : extra;
    target.set(Buffer.from(sha, 'hex'), n.dataHash.at);
  }
  if (extra.length === 0) return dentry;
  const out = new Uint8Array(dentry.length + extra.length);
  out.set(dentry);
  out.set(extra, dentry.length);
  return out;
}

/** Lays out and encodes the whole metadata resource: `security` is the raw security block
 *  (already 8-byte aligned in length), then the tree. */
export function serializeMetadata(security: Uint8Array, root: EditNode): Uint8Array {
  const encoded = new Map<EditNode, Uint8Array>();
  const dirs: EditNode[] = [];
  const rootBytes = encodeDentry(root);
  encoded.set(root, rootBytes);
  const securityLength = align8(security.length);
  // Root, then the 8-byte end marker of its (empty) sibling list.
  let size = securityLength + rootBytes.length + 8;
  const subdirOffsets = new Map<EditNode, number>();
  // Breadth-first: each directory's children block follows the blocks assigned before it.
  const queue: EditNode[] = [root];
  for (let i = 0; i < queue.length; i++) {
    const dir = queue[i];
    dirs.push(dir);
    subdirOffsets.set(dir, size);
    for (const c of dir.children) {
      const bytes = encodeDentry(c);
      encoded.set(c, bytes);
      size += bytes.length;
      if (isDirectoryNode(c)) queue.push(c);
    }
    size += 8; // the zero-length entry that ends the list
  }
  const out = new Uint8Array(size);
  out.set(security, 0);
  const view = viewOf(out);
  const put = (n: EditNode, at: number) => {
    const bytes = encoded.get(n) as Uint8Array;
    out.set(bytes, at);
    if (isDirectoryNode(n)) setU64(view, at + 0x10, subdirOffsets.get(n) as number);
    return at + bytes.length;
  };
  put(root, securityLength);
  for (const dir of dirs) {
    let at = subdirOffsets.get(dir) as number;
    for (const c of dir.children) at = put(c, at);
  }
  return out;
}
