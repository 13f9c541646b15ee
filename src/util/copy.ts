// Moving bytes out of a ByteSource (a file inside an ISO, a slice of a file). The data moves in
// 256 KiB pieces with a few reads in flight: on the machines measured, pieces that stay in the
// CPU caches between read and write copy about 3× faster than 16 MiB ones (BENCHMARKS.md), and
// the reads ahead overlap input with output instead of taking turns.
import { constants as fsConstants } from 'node:fs';
import { copyFile, open } from 'node:fs/promises';
import type { ByteSource } from './byte-source.js';
import { runTool } from './exec.js';

export const COPY_PIECE = 256 * 1024;
const IN_FLIGHT = 4;

/** The bytes [offset, offset + length) of `source` in order, as pieces of at most `piece` bytes,
 *  with up to `inFlight` reads started ahead; memory stays at inFlight + 1 pieces. */
export async function* readAhead(source: Pick<ByteSource, 'read'>, offset: number, length: number, piece = COPY_PIECE, inFlight = IN_FLIGHT): AsyncGenerator<Uint8Array> {
  const queue: Promise<Uint8Array>[] = [];
  let requested = 0;
  const fill = () => {
    while (queue.length < inFlight && requested < length) {
      const pending = source.read(offset + requested, Math.min(piece, length - requested));
      pending.catch(() => {}); // awaited in order; a consumer failing first must not leave it unhandled
      queue.push(pending);
      requested += Math.min(piece, length - requested);
    }
  };
  fill();
  while (queue.length > 0) {
    const next = await (queue.shift() as Promise<Uint8Array>);
    fill();
    yield next;
  }
}

/** Writes all of `source` to `path` (created or truncated); no flush: callers decide durability. */
export async function copySourceToFile(source: Pick<ByteSource, 'size' | 'read'>, path: string, signal?: AbortSignal): Promise<void> {
  const handle = await open(path, 'w');
  try {
    let position = 0;
    for await (const piece of readAhead(source, 0, source.size)) {
      signal?.throwIfAborted();
      for (let at = 0; at < piece.length; ) at += (await handle.write(piece, at, piece.length - at, position + at)).bytesWritten;
      position += piece.length;
    }
  } finally {
    await handle.close();
  }
}

/** Copies a file inside the kernel (copy_file_range, or a reflink where the file system has
 *  them) by running GNU `cp`, so an abort kills the copy instead of waiting for gigabytes; when
 *  `cp` is missing or fails, Node's copyFile makes the same copy, unstoppable. The target's mode
 *  is the source's. */
export async function kernelCopy(source: string, target: string, signal?: AbortSignal): Promise<void> {
  try {
    await runTool('cp', ['--reflink=auto', '--', source, target], { signal });
  } catch (error) {
    if (signal?.aborted) throw error;
    // No cp, or one without --reflink (BSD's): Node's copy does the same. A copy that failed for
    // a reason of its own (a full disk, an unreadable source) is not tried again.
    const e = error as { code?: string; stderrTail?: string };
    const unsupported = e.code === 'DF_TOOL_MISSING' || /unrecognized option|illegal option|invalid option|unknown option/i.test(e.stderrTail ?? '');
    if (!unsupported) throw error;
    await copyFile(source, target, fsConstants.COPYFILE_FICLONE);
  }
}
