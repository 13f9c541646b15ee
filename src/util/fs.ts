// Atomic output: write to a temporary name beside the target, flush, then rename, so a failure
// or a kill leaves either the old file or the new one, never a half-written file.
import { randomBytes } from 'node:crypto';
import { type FileHandle, open, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** A temporary path in the same folder as `target` (same file system, so rename is atomic). */
export function partialPathFor(target: string): string {
  return join(dirname(target), `.${basename(target)}.${randomBytes(4).toString('hex')}.partial`);
}

/** Pieces of this size copy into the page cache about 3× faster than one multi-MiB write on the
 *  machines measured (they stay in the CPU caches; BENCHMARKS.md). */
const WRITE_PIECE = 256 * 1024;

/** Writes all of `data` through a new file's `handle`, in cache-sized pieces, flushing as it
 *  goes (writerFlushingAsItGoes), so the caller's flush before a rename is short. */
export async function writeInPieces(handle: FileHandle, data: Uint8Array): Promise<void> {
  const writer = writerFlushingAsItGoes(handle);
  for (let at = 0; at < data.length; at += WRITE_PIECE) await writer.write(data.subarray(at, at + WRITE_PIECE));
  await writer.end();
}

/** Writes all of `bytes` at `position` (one write may take fewer bytes than asked). */
export async function writeAt(handle: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  for (let done = 0; done < bytes.length; ) done += (await handle.write(bytes, done, bytes.length - done, position + done)).bytesWritten;
}

/** The whole of a file, read with one call per 1 GiB into one buffer of its size (readFile
 *  reads 512 KiB at a time, a fifth slower on a 125 MiB hive; BENCHMARKS.md). A file that grows
 *  while it is read gives the bytes it had when opened. */
export async function readWholeFile(path: string): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    const size = (await handle.stat()).size;
    const bytes = Buffer.allocUnsafeSlow(size);
    let done = 0;
    while (done < size) {
      const { bytesRead } = await handle.read(bytes, done, Math.min(size - done, 1 << 30), done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return done === size ? bytes : bytes.subarray(0, done);
  } finally {
    await handle.close();
  }
}

/** Appends chunks to `handle` in order and, every `every` bytes, starts flushing what has been
 *  written (one flush at a time), so the flush before an atomic rename has little left to do: a
 *  large output's flush otherwise starts only at the end (saving a 125 MiB hive: 164 → 123 ms;
 *  BENCHMARKS.md). `end()` waits for the last flush started. */
export function writerFlushingAsItGoes(handle: Pick<FileHandle, 'write' | 'datasync'>, every = 16 << 20): { write(chunk: Uint8Array): Promise<void>; end(): Promise<void> } {
  let unflushed = 0;
  let flushing: Promise<void> = Promise.resolve();
  return {
    async write(chunk) {
      for (let done = 0; done < chunk.length; ) done += (await handle.write(chunk, done, chunk.length - done)).bytesWritten;
      unflushed += chunk.length;
      if (unflushed >= every) {
        unflushed = 0;
        await flushing;
        flushing = handle.datasync();
      }
    },
    end: () => flushing,
  };
}

/** Writes `data` to `target` atomically. */
export async function writeFileAtomic(target: string, data: string | Uint8Array): Promise<void> {
  await withAtomicOutput(target, async (partial) => {
    const handle = await open(partial, 'w');
    try {
      await writeInPieces(handle, typeof data === 'string' ? Buffer.from(data) : data);
      await handle.sync();
    } finally {
      await handle.close();
    }
  });
}

/** Runs `produce(partialPath)`, which must create and fully write the file; then flushes it and
 *  renames it over `target`. On failure the partial file is removed and the target untouched. */
export async function withAtomicOutput<T>(target: string, produce: (partialPath: string) => Promise<T>): Promise<T> {
  const partial = partialPathFor(target);
  try {
    const result = await produce(partial);
    const handle = await open(partial, 'r+');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(partial, target);
    return result;
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  }
}

/** Removes partial files a killed writer left beside `target` (hidden `.NAME.XXXXXXXX.partial`). */
export async function removeStalePartials(target: string, except: readonly string[] = []): Promise<number> {
  const { readdir } = await import('node:fs/promises');
  const prefix = `.${basename(target)}.`;
  const names = await readdir(dirname(target)).catch(() => [] as string[]);
  // Files and folders (a folder output is assembled under the same kind of name, and an old
  // folder waits at NAME.partial.old while the new one is renamed in).
  const kept = new Set(except.map((p) => basename(p)));
  const stale = names.filter((n) => n.startsWith(prefix) && /^[0-9a-f]{8}\.partial(\.old)?$/.test(n.slice(prefix.length)) && !kept.has(n));
  for (const name of stale) await rm(join(dirname(target), name), { recursive: true, force: true });
  return stale.length;
}

/** Whether two paths name the same existing file (same device and inode: also through links). */
export async function isSameFile(a: string, b: string): Promise<boolean> {
  const [sa, sb] = await Promise.all([stat(a).catch(() => null), stat(b).catch(() => null)]);
  return sa !== null && sb !== null && sa.dev === sb.dev && sa.ino === sb.ino;
}
