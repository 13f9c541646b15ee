// Opens an ISO image and presents one directory tree with Windows-like paths: UDF when present
// (as Windows reads install media), else Joliet, else Rock Ridge, else plain ISO 9660 names.
// Files are opened as ExtentSources over the image, never extracted. Writing is not done here.
import { DeployForgeError, FormatError, InputError } from '../../errors.js';
import { type ByteSource, type Extent, FileSource } from '../../util/byte-source.js';
import { type ElToritoEntry, readBootCatalog } from './el-torito.js';
import { decodeAsciiId, parseElToritoBootRecord, parseVolumeDescriptor, VD_BOOT_RECORD, VD_PRIMARY, VD_SUPPLEMENTARY, type VolumeDescriptor } from './iso9660-descriptors.js';
import { parseDirectoryRecord } from './iso9660-directory.js';
import { detectInterchangeLevel, Iso9660Tree } from './iso9660-tree.js';
import { decodeUcs2be } from './joliet.js';
import { isRockRidge, readSuspEntries, suspSkipOf } from './rock-ridge.js';
import { type DirectoryTree, openNode, type TreeKind, type TreeNode } from './tree.js';
import { formatUdfRevision, readUdfVolume } from './udf-descriptors.js';
import { UdfTree } from './udf-tree.js';
import { scanVolumeRecognition } from './volume-recognition.js';

export type { ElToritoEntry } from './el-torito.js';
export type { TreeKind } from './tree.js';

export interface IsoEntry {
  /** '/'-separated path from the root, starting with '/'. */
  path: string;
  name: string;
  isDirectory: boolean;
  size: number;
  /** Absolute byte extents in the image, in file order. */
  extents: Extent[];
  modified?: string;
}

export interface IsoTrees {
  udf?: { revision: string; volumeId: string; logicalVolumeId: string };
  iso9660?: { level: 1 | 2 | 3; volumeId: string; volumeSpaceSize: number };
  joliet: boolean;
  rockRidge: boolean;
}

export interface IsoImage {
  /** UDF logical volume id when UDF is present, else the Joliet or primary volume id. */
  readonly volumeLabel: string;
  readonly trees: IsoTrees;
  /** The tree that paths are resolved in. */
  readonly tree: TreeKind;
  /** El Torito boot entries; empty without a boot catalog. */
  readonly bootCatalog: ElToritoEntry[];
  /** Bytes of the image. */
  readonly size: number;
  /** Case-insensitive lookup of a '/'- (or '\'-) separated path; null when absent. */
  stat(path: string): Promise<IsoEntry | null>;
  list(path: string): Promise<IsoEntry[]>;
  /** Every entry below the root, depth first, directories before their contents. */
  walk(): AsyncIterable<IsoEntry>;
  /** The file's bytes as a ByteSource over its extents (no copy; works for multi-extent and > 4 GiB files). */
  openFile(path: string): Promise<ByteSource>;
}

export interface OpenIsoOptions {
  /** Read this tree instead of the preferred one; it must be present. */
  tree?: TreeKind;
}

/** Deeper than any real disc (Windows paths stop at 260 characters); bounds hostile nesting. */
const MAX_DEPTH = 128;
/** Directories searched to name the boot images; the search stops once every image is found. */
const MAX_BOOT_SEARCH_DIRECTORIES = 20_000;

interface Located {
  node: TreeNode;
  path: string;
}

function splitPath(path: string): string[] {
  return path.split(/[\\/]+/).filter((part) => part !== '' && part !== '.');
}

function joinPath(parent: string, name: string): string {
  return parent === '/' ? `/${name}` : `${parent}/${name}`;
}

function toEntry(node: TreeNode, path: string): IsoEntry {
  return {
    path,
    name: node.name,
    isDirectory: node.isDirectory,
    size: node.size,
    extents: node.extents.map((e) => ({ ...e })),
    ...(node.modified ? { modified: node.modified } : {}),
  };
}

class OpenedIso implements IsoImage {
  private readonly cache = new Map<string, TreeNode[]>();
  readonly size: number;
  readonly tree: TreeKind;

  constructor(
    private readonly source: ByteSource,
    private readonly directoryTree: DirectoryTree,
    readonly volumeLabel: string,
    readonly trees: IsoTrees,
    readonly bootCatalog: ElToritoEntry[],
  ) {
    this.size = source.size;
    this.tree = directoryTree.kind;
  }

  async children(node: TreeNode): Promise<TreeNode[]> {
    let list = this.cache.get(node.key);
    if (!list) {
      list = await this.directoryTree.readDirectory(node);
      this.cache.set(node.key, list);
    }
    return list;
  }

  private async locate(path: string): Promise<Located | null> {
    let node = this.directoryTree.root;
    let at = '/';
    const parts = splitPath(path);
    if (parts.length > MAX_DEPTH) return null;
    for (const part of parts) {
      if (!node.isDirectory) return null;
      const kids = await this.children(node);
      // An exact match wins over a case-insensitive one (Rock Ridge trees may hold both "a" and "A").
      const lower = part.toLowerCase();
      const found = kids.find((k) => k.name === part) ?? kids.find((k) => k.name.toLowerCase() === lower);
      if (!found) return null;
      node = found;
      at = joinPath(at, found.name);
    }
    return { node, path: at };
  }

  async stat(path: string): Promise<IsoEntry | null> {
    const found = await this.locate(path);
    return found ? toEntry(found.node, found.path) : null;
  }

  async list(path: string): Promise<IsoEntry[]> {
    const found = await this.locate(path);
    if (!found) throw new InputError('DF_NOT_FOUND', `${path} does not exist in ${this.source.name}: check the path`, { path });
    if (!found.node.isDirectory) throw new InputError('DF_ISO_NOT_A_DIRECTORY', `${path} in ${this.source.name} is a file, not a folder`, { path });
    return (await this.children(found.node)).map((k) => toEntry(k, joinPath(found.path, k.name)));
  }

  /**
   * The directories of a real image occupy distinct bytes of it, so their sizes (the root's aside:
   * reading it checks it) sum to at most the image size. Directories that overlap (a hostile image pointing many directory records
   * into the same bytes) would otherwise make a walk quadratic in the image size.
   */
  private spendDirectoryBudget(budget: { left: number }, node: TreeNode, path: string): void {
    budget.left -= node.size;
    if (budget.left < 0) {
      throw new FormatError('DF_ISO_OVERLAPPING_DIRECTORIES', `${this.source.name}: the directories hold more bytes than the whole image; they overlap, so the image is corrupt`, {
        path,
      });
    }
  }

  async *walk(): AsyncIterable<IsoEntry> {
    const budget = { left: this.source.size };
    const visited = new Set<string>([this.directoryTree.root.key]);
    const stack: { node: TreeNode; path: string; depth: number }[] = [{ node: this.directoryTree.root, path: '/', depth: 0 }];
    while (stack.length > 0) {
      const { node, path, depth } = stack.pop() as { node: TreeNode; path: string; depth: number };
      if (depth >= MAX_DEPTH) throw new FormatError('DF_ISO_TOO_DEEP', `${this.source.name}: directories nest deeper than ${MAX_DEPTH} levels; the image is corrupt`, { path });
      const kids = await this.children(node);
      const pending: { node: TreeNode; path: string; depth: number }[] = [];
      for (const kid of kids) {
        const kidPath = joinPath(path, kid.name);
        yield toEntry(kid, kidPath);
        // A directory reached twice (a cycle or a shared directory) is listed but entered once.
        if (kid.isDirectory && !visited.has(kid.key)) {
          visited.add(kid.key);
          this.spendDirectoryBudget(budget, kid, kidPath);
          pending.push({ node: kid, path: kidPath, depth: depth + 1 });
        }
      }
      for (let i = pending.length - 1; i >= 0; i--) stack.push(pending[i]);
    }
  }

  async openFile(path: string): Promise<ByteSource> {
    const found = await this.locate(path);
    if (!found) throw new InputError('DF_NOT_FOUND', `${path} does not exist in ${this.source.name}: check the path`, { path });
    if (found.node.isDirectory) throw new InputError('DF_IS_DIRECTORY', `${path} in ${this.source.name} is a folder: give a file`, { path });
    return openNode(this.source, found.node, `${found.path} in ${this.source.name}`);
  }

  /** Names each boot image by the file whose data starts at its load RBA; breadth first, bounded. */
  async resolveBootPaths(): Promise<void> {
    const wanted = new Map<number, ElToritoEntry[]>();
    for (const entry of this.bootCatalog) {
      const offset = entry.loadRba * 2048;
      wanted.set(offset, [...(wanted.get(offset) ?? []), entry]);
    }
    if (wanted.size === 0) return;
    const visited = new Set<string>([this.directoryTree.root.key]);
    const queue: Located[] = [{ node: this.directoryTree.root, path: '/' }];
    try {
      const budget = { left: this.source.size };
      for (let n = 0; n < queue.length && n < MAX_BOOT_SEARCH_DIRECTORIES && wanted.size > 0; n++) {
        const { node, path } = queue[n];
        for (const kid of await this.children(node)) {
          const kidPath = joinPath(path, kid.name);
          if (kid.isDirectory) {
            if (!visited.has(kid.key)) {
              visited.add(kid.key);
              this.spendDirectoryBudget(budget, kid, kidPath);
              queue.push({ node: kid, path: kidPath });
            }
          } else if (kid.extents.length > 0) {
            const hits = wanted.get(kid.extents[0].offset);
            if (hits) {
              for (const hit of hits) hit.bootImagePath = kidPath;
              wanted.delete(kid.extents[0].offset);
            }
          }
        }
      }
    } catch (e) {
      // A damaged directory only costs the boot image names here; walk() and stat() report it.
      if (!(e instanceof DeployForgeError)) throw e;
    }
  }
}

async function hasRockRidge(source: ByteSource, pvd: VolumeDescriptor): Promise<{ present: boolean; skip: number }> {
  const root = pvd.root;
  if (root.dataLength === 0) return { present: false, skip: 0 };
  const sector = await source.read(root.extentLba * pvd.logicalBlockSize, Math.min(pvd.logicalBlockSize, root.dataLength));
  const dot = parseDirectoryRecord(sector, 0, 'root directory "." record');
  if (!dot) return { present: false, skip: 0 };
  const skip = suspSkipOf(dot.systemUse);
  if (skip === null) return { present: false, skip: 0 };
  return { present: isRockRidge(await readSuspEntries(source, dot.systemUse, 0, pvd.logicalBlockSize)), skip };
}

/** Opens an ISO 9660 / Joliet / Rock Ridge / UDF image (with or without El Torito). */
export async function openIso(source: ByteSource, options: OpenIsoOptions = {}): Promise<IsoImage> {
  const recognition = await scanVolumeRecognition(source);
  let pvd: VolumeDescriptor | undefined;
  let joliet: VolumeDescriptor | undefined;
  let catalogSector: number | null = null;
  for (const d of recognition.descriptors) {
    if (d.id !== 'CD001') continue;
    if (d.type === VD_PRIMARY && !pvd) pvd = parseVolumeDescriptor(d);
    else if (d.type === VD_SUPPLEMENTARY) {
      const svd = parseVolumeDescriptor(d);
      if (svd.jolietLevel !== null && (!joliet || (joliet.jolietLevel ?? 0) < svd.jolietLevel)) joliet = svd;
    } else if (d.type === VD_BOOT_RECORD && catalogSector === null) catalogSector = parseElToritoBootRecord(d);
  }
  const wantUdf = options.tree === 'udf' || (options.tree === undefined && recognition.nsr !== null);
  if (!pvd && recognition.nsr === null) {
    throw new FormatError('DF_ISO_NOT_ISO', `${source.name}: no ISO 9660 or UDF volume descriptors at sector 16; this is not an ISO image`, {});
  }

  const trees: IsoTrees = { joliet: joliet !== undefined, rockRidge: false };
  let udfTree: UdfTree | undefined;
  if (recognition.nsr !== null) {
    try {
      const volume = await readUdfVolume(source);
      udfTree = wantUdf ? await UdfTree.open(source, volume) : undefined;
      trees.udf = { revision: formatUdfRevision(volume.logicalVolume.revision), volumeId: volume.volumeIdentifier, logicalVolumeId: volume.logicalVolume.identifier };
    } catch (e) {
      // A damaged UDF side only matters when it is the tree we read.
      if (wantUdf || !(e instanceof DeployForgeError)) throw e;
    }
  }
  let rr = { present: false, skip: 0 };
  if (pvd) {
    rr = await hasRockRidge(source, pvd);
    trees.rockRidge = rr.present;
    trees.iso9660 = { level: await detectInterchangeLevel(source, pvd), volumeId: decodeAsciiId(pvd.volumeIdBytes), volumeSpaceSize: pvd.volumeSpaceSize };
  }

  let tree: DirectoryTree;
  const kind = options.tree ?? (udfTree ? 'udf' : joliet ? 'joliet' : rr.present ? 'rock-ridge' : 'iso9660');
  if (kind === 'udf') {
    if (!udfTree) throw new FormatError('DF_ISO_NO_SUCH_TREE', `${source.name} has no UDF file system`, { tree: kind });
    tree = udfTree;
  } else if (kind === 'joliet') {
    if (!joliet) throw new FormatError('DF_ISO_NO_SUCH_TREE', `${source.name} has no Joliet tree`, { tree: kind });
    tree = new Iso9660Tree(source, joliet, 'joliet');
  } else {
    if (!pvd) throw new FormatError('DF_ISO_NO_SUCH_TREE', `${source.name} has no ISO 9660 primary volume descriptor`, { tree: kind });
    if (kind === 'rock-ridge' && !rr.present) throw new FormatError('DF_ISO_NO_SUCH_TREE', `${source.name} has no Rock Ridge extensions`, { tree: kind });
    tree = new Iso9660Tree(source, pvd, kind, rr.skip);
  }

  // Joliet volume ids hold 16 UCS-2 characters (Joliet spec §5), the primary one 32 (ECMA-119
  // §8.4.6): when the Joliet label is the primary's cut short, the primary's is the real one.
  const jolietLabel = joliet ? decodeUcs2be(joliet.volumeIdBytes, 'Joliet volume id').replace(/[\0 ]+$/, '') : undefined;
  const primaryLabel = trees.iso9660?.volumeId ?? '';
  const volumeLabel =
    trees.udf?.logicalVolumeId ?? (jolietLabel !== undefined && !(primaryLabel.length > jolietLabel.length && primaryLabel.startsWith(jolietLabel)) ? jolietLabel : primaryLabel);
  const bootCatalog = catalogSector === null ? [] : await readBootCatalog(source, catalogSector);
  const image = new OpenedIso(source, tree, volumeLabel, trees, bootCatalog);
  await image.resolveBootPaths();
  return image;
}

/** The file at `inner` in the ISO at `isoPath`, read through its extents, as a source that owns
 *  the ISO: closing it closes the file (for callers that reopen it on demand). */
export async function openFileInIsoPath(isoPath: string, inner: string): Promise<ByteSource> {
  const file = await FileSource.open(isoPath);
  try {
    const image = await (await openIso(file)).openFile(inner);
    return { size: image.size, name: image.name, read: (offset, length) => image.read(offset, length), close: () => file.close() };
  } catch (error) {
    await file.close();
    throw error;
  }
}
