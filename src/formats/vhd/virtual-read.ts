// Turns a format's block map into virtual-disk reads: the reader asks the format where each run
// of virtual bytes lives (file data, zeros, or the parent disk) and stitches the runs together.
// It knows nothing about VHD or VHDX layouts, and does no caching of its own.
import { FormatError } from '../../errors.js';
import type { ByteSource } from '../../util/byte-source.js';
import type { VirtualDisk } from './types.js';

export type Run = { kind: 'data'; fileOffset: number; length: number } | { kind: 'zero'; length: number } | { kind: 'parent'; length: number };

/** Where the virtual bytes starting at `offset` live, for at most `maxLength` bytes (≥ 1 byte). */
export type ResolveRun = (offset: number, maxLength: number) => Promise<Run>;

export interface VirtualReaderOptions {
  name: string;
  virtualSize: number;
  file: ByteSource;
  resolve: ResolveRun;
  parent?: VirtualDisk;
  /** Thrown before any read, e.g. when a VHDX log must be replayed first. */
  refuse?: () => FormatError | undefined;
}

export function makeVirtualReader(options: VirtualReaderOptions): (offset: number, length: number) => Promise<Uint8Array> {
  const { name, virtualSize, file, resolve, parent } = options;
  return async (offset, length) => {
    const refusal = options.refuse?.();
    if (refusal) throw refusal;
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > virtualSize) {
      throw new FormatError('DF_VDISK_BAD_RANGE', `${name}: cannot read ${length} bytes at ${offset}; the virtual disk has ${virtualSize} bytes`, { offset, length, virtualSize });
    }
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const at = offset + done;
      const run = await resolve(at, length - done);
      if (!(run.length >= 1 && run.length <= length - done)) {
        throw new FormatError('DF_VDISK_BAD_MAP', `${name}: the block map gave an invalid run at virtual offset ${at}; the image is corrupt`, { offset: at });
      }
      if (run.kind === 'data') out.set(await file.read(run.fileOffset, run.length), done);
      else if (run.kind === 'parent') {
        if (!parent) {
          throw new FormatError('DF_VDISK_NEEDS_PARENT', `${name}: virtual offset ${at} is stored in the parent disk; open the parent and pass it as the parent option`, {
            offset: at,
          });
        }
        out.set(await parent.read(at, run.length), done);
      }
      done += run.length;
    }
    return out;
  };
}

/** A virtual disk seen as a plain ByteSource, so partition and file-system readers can use it. */
export class VirtualDiskSource implements ByteSource {
  readonly size: number;
  constructor(
    private readonly readVirtual: (offset: number, length: number) => Promise<Uint8Array>,
    size: number,
    readonly name: string,
  ) {
    this.size = size;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
      throw new FormatError('DF_BAD_OFFSET', `${this.name}: invalid read at offset ${offset} length ${length}`, { offset, length });
    }
    if (offset + length > this.size) {
      throw new FormatError('DF_TRUNCATED', `${this.name}: needs bytes up to ${offset + length} but has only ${this.size}`, { offset, length, size: this.size });
    }
    return this.readVirtual(offset, length);
  }

  async close(): Promise<void> {}
}
