// Gets one file's bytes out of a cabinet: whole (readCabFile) or as a lazily decoded ByteSource
// (openCabFile), which lets the .msu reader parse a nested cabinet's tables without inflating
// the whole thing. Stored and MSZIP folders only; both refuse sizes over a caller-set cap.
import { FormatError } from '../../errors.js';
import type { ByteSource } from '../../util/byte-source.js';
import { CabFolderReader } from './folder-reader.js';
import type { CabFile, CabInfo } from './types.js';

/** Default ceiling on bytes held in memory for one file. */
export const DEFAULT_MAX_EXTRACT = 256 * 1024 * 1024;

export interface ExtractOptions {
  /** Refuse to hold more than this many bytes of the file in memory (default 256 MiB). */
  maxBytes?: number;
}

/** Finds a file by its stored name; `/` and `\` are treated alike, case is significant. */
export function findCabFile(info: CabInfo, name: string): CabFile | undefined {
  const wanted = name.replaceAll('/', '\\');
  return info.files.find((f) => f.name.replaceAll('/', '\\') === wanted);
}

/** The whole content of `name`. Throws FormatError when it is missing, damaged, LZX/Quantum,
 *  spans cabinets, or is larger than `maxBytes`. */
export async function readCabFile(source: ByteSource, info: CabInfo, name: string, options: ExtractOptions = {}): Promise<Uint8Array> {
  const member = openCabFile(source, info, name, options);
  return member.read(0, member.size);
}

/** A ByteSource over one file of the cabinet, decoded from its folder's start on first read and
 *  only as far as reads reach. Holds at most `maxBytes` of the file in memory. */
export function openCabFile(source: ByteSource, info: CabInfo, name: string, options: ExtractOptions = {}): ByteSource {
  const file = findCabFile(info, name);
  if (!file) {
    throw new FormatError('DF_CAB_NO_SUCH_FILE', `${source.name} has no file named "${name}"`, { name });
  }
  const folder = info.folders[file.folderIndex];
  if (!folder) {
    throw new FormatError('DF_CAB_SPANNED', `${source.name}: "${file.name}" continues from or into another cabinet of the set; such files are not extracted`, {
      name: file.name,
      folderIndex: file.folderIndex,
    });
  }
  return new CabMemberSource(source, file, new CabFolderReader(source, info, folder), options.maxBytes ?? DEFAULT_MAX_EXTRACT);
}

class CabMemberSource implements ByteSource {
  readonly size: number;
  readonly name: string;
  /** The file's bytes decoded so far, from its start. */
  private prefix = new Uint8Array(0);
  private prefixLength = 0;
  /** The last block the reader gave and its offset in the folder's uncompressed data; kept
   *  because a read may stop partway through it. */
  private block: Uint8Array | null = null;
  private blockStart = 0;
  private pending: Promise<void> = Promise.resolve();

  constructor(
    private readonly cab: ByteSource,
    private readonly file: CabFile,
    private readonly reader: CabFolderReader,
    private readonly maxBytes: number,
  ) {
    this.size = file.size;
    this.name = `${file.name} in ${cab.name}`;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > this.size) {
      throw new FormatError('DF_TRUNCATED', `${this.name}: needs bytes up to ${offset + length} but has only ${this.size}; the file is truncated or corrupt`, {
        offset,
        length,
        size: this.size,
      });
    }
    const end = offset + length;
    if (end > this.maxBytes) {
      throw new FormatError('DF_CAB_TOO_LARGE', `${this.name}: reading up to byte ${end} exceeds the ${this.maxBytes}-byte limit for in-memory extraction`, {
        end,
        maxBytes: this.maxBytes,
      });
    }
    // Serialise decoding: the reader is a single forward cursor.
    const run = this.pending.then(() => this.decodeTo(end));
    this.pending = run.catch(() => {});
    await run;
    return this.prefix.slice(offset, end);
  }

  private async decodeTo(end: number): Promise<void> {
    if (end <= this.prefixLength) return;
    const start = this.file.offsetInFolder;
    // Grow geometrically so many small reads do not copy the prefix over and over.
    const target = Math.min(this.size, this.maxBytes, Math.max(end, this.prefixLength * 2, 65536));
    if (this.prefix.length < target) {
      const grown = new Uint8Array(target);
      grown.set(this.prefix.subarray(0, this.prefixLength));
      this.prefix = grown;
    }
    while (this.prefixLength < end) {
      const wantFrom = start + this.prefixLength;
      if (!this.block || this.blockStart + this.block.length <= wantFrom) {
        if (this.block) this.blockStart += this.block.length;
        this.block = await this.reader.next();
        if (!this.block) {
          throw new FormatError('DF_CAB_BAD_FILE', `${this.cab.name}: folder data ends before "${this.file.name}" does (needs ${start + end} bytes)`, { name: this.file.name });
        }
        continue;
      }
      const from = wantFrom - this.blockStart;
      const take = Math.min(this.block.length - from, end - this.prefixLength);
      this.prefix.set(this.block.subarray(from, from + take), this.prefixLength);
      this.prefixLength += take;
    }
  }

  async close(): Promise<void> {}
}
