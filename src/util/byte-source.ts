// Random-access byte sources: a file, a buffer, or a window onto another source (a file inside
// an ISO, a WIM inside a file). Readers take a ByteSource so they never care where bytes live,
// and every read is bounds-checked so corrupt offsets give a FormatError, not a huge allocation.
import { type FileHandle, open } from 'node:fs/promises';
import { FormatError } from '../errors.js';

export interface ByteSource {
  /** Total size in bytes. */
  readonly size: number;
  /** A short description for error messages (a path, or "sources/install.wim in X.iso"). */
  readonly name: string;
  /** Reads exactly `length` bytes at `offset`; throws DF_TRUNCATED if that runs past the end. */
  read(offset: number, length: number): Promise<Uint8Array>;
  close(): Promise<void>;
}

function checkRange(source: { size: number; name: string }, offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
    throw new FormatError('DF_BAD_OFFSET', `${source.name}: invalid read at offset ${offset} length ${length}; the file is corrupt`, { offset, length });
  }
  if (offset + length > source.size) {
    throw new FormatError('DF_TRUNCATED', `${source.name}: needs bytes up to ${offset + length} but has only ${source.size}; the file is truncated or corrupt`, {
      offset,
      length,
      size: source.size,
    });
  }
}

export class FileSource implements ByteSource {
  private constructor(
    private readonly handle: FileHandle,
    readonly size: number,
    readonly name: string,
  ) {}

  /** Opens a file read-only. */
  static async open(path: string): Promise<FileSource> {
    const handle = await open(path, 'r');
    try {
      const stat = await handle.stat();
      if (stat.isDirectory()) {
        const err = new Error(`EISDIR: ${path}`) as NodeJS.ErrnoException;
        err.code = 'EISDIR';
        err.path = path;
        throw err;
      }
      return new FileSource(handle, stat.size, path);
    } catch (e) {
      await handle.close();
      throw e;
    }
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    checkRange(this, offset, length);
    const buffer = Buffer.allocUnsafe(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.handle.read(buffer, done, length - done, offset + done);
      if (bytesRead === 0) {
        throw new FormatError('DF_TRUNCATED', `${this.name}: file shrank while reading`, { offset });
      }
      done += bytesRead;
    }
    return buffer;
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}

export class BufferSource implements ByteSource {
  readonly size: number;
  constructor(
    private readonly bytes: Uint8Array,
    readonly name = 'buffer',
  ) {
    this.size = bytes.length;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    checkRange(this, offset, length);
    return this.bytes.subarray(offset, offset + length);
  }

  async close(): Promise<void> {}
}

/** A contiguous piece of a file, in the parent's coordinates. */
export interface Extent {
  offset: number;
  length: number;
}

/** A source made of extents of a parent source, read as one run of bytes: a file stored in an
 *  ISO in one or more extents, a window into a VHD. Closing it does not close the parent. */
export class ExtentSource implements ByteSource {
  readonly size: number;
  private readonly starts: number[] = [];

  constructor(
    private readonly parent: ByteSource,
    private readonly extents: Extent[],
    readonly name: string,
  ) {
    let total = 0;
    for (const extent of extents) {
      this.starts.push(total);
      total += extent.length;
    }
    this.size = total;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    checkRange(this, offset, length);
    if (length === 0) return new Uint8Array(0);
    let index = this.findExtent(offset);
    // Within one extent (the usual case: files are mostly contiguous), no copy is needed.
    const within = offset - this.starts[index];
    if (within + length <= this.extents[index].length) {
      const bytes = await this.parent.read(this.extents[index].offset + within, length);
      // A plain Uint8Array view (a file parent hands out Buffers), as the copying path returns.
      return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    }
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const extent = this.extents[index];
      const within = offset + done - this.starts[index];
      const take = Math.min(extent.length - within, length - done);
      out.set(await this.parent.read(extent.offset + within, take), done);
      done += take;
      index++;
    }
    return out;
  }

  private findExtent(offset: number): number {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  async close(): Promise<void> {}
}

/** A window [offset, offset + length) of a parent source. */
export function sliceSource(parent: ByteSource, offset: number, length: number, name?: string): ByteSource {
  checkRange(parent, offset, length);
  return new ExtentSource(parent, [{ offset, length }], name ?? `${parent.name}@${offset}`);
}

/** A file opened only while it is read, for writers that stream thousands of files: holding a
 *  descriptor per file would run out of them. Each read opens, reads and closes. */
export class LazyFileSource implements ByteSource {
  constructor(
    readonly name: string,
    readonly size: number,
  ) {}

  async read(offset: number, length: number): Promise<Uint8Array> {
    checkRange(this, offset, length);
    const file = await FileSource.open(this.name);
    try {
      if (file.size !== this.size)
        throw new FormatError('DF_FILE_CHANGED', `${this.name} changed size while being read (${this.size} → ${file.size}); leave inputs alone during a build`);
      return await file.read(offset, length);
    } finally {
      await file.close();
    }
  }

  async close(): Promise<void> {}
}

/** A file kept as a patch over a base: the local file holds the first `head` bytes and everything
 *  from `base.size` on, and has a hole in between, where the bytes are the base's (a WIM exported
 *  or edited over the install.wim inside the source ISO: its new header and appended tail are
 *  local, its resources stay in the ISO). Closing it closes both. */
export class PatchedSource implements ByteSource {
  readonly size: number;
  readonly name: string;

  constructor(
    private readonly local: ByteSource,
    private readonly base: ByteSource,
    private readonly head: number,
  ) {
    if (local.size < base.size || head > base.size) {
      throw new FormatError('DF_PATCH_MISMATCH', `${local.name} (${local.size} bytes) is not a patch over ${base.name} (${base.size} bytes); it was changed or truncated`, {});
    }
    this.size = local.size;
    this.name = local.name;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    checkRange(this, offset, length);
    const end = offset + length;
    const from = (at: number) => (at < this.head || at >= this.base.size ? this.local : this.base);
    const limit = (at: number) => (at < this.head ? this.head : at < this.base.size ? this.base.size : this.size);
    if (end <= limit(offset)) return from(offset).read(offset, length);
    const out = new Uint8Array(length);
    for (let at = offset; at < end; ) {
      const stop = Math.min(end, limit(at));
      out.set(await from(at).read(at, stop - at), at - offset);
      at = stop;
    }
    return out;
  }

  async close(): Promise<void> {
    await Promise.all([this.local.close(), this.base.close()]);
  }
}
