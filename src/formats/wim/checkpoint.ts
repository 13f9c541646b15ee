// Checkpoints of a WIM that is only ever appended to: the file size and the 208-byte header
// are all it takes to undo any number of appends, since the append writer never changes a byte
// before the old end except the header. Rolling back truncates and restores the header, giving
// the original bytes exactly, in O(1). Checkpoints are plain data, so a build journal can keep
// them and recover after a crash; they do not know about staged, uncommitted edits.
import { open } from 'node:fs/promises';
import { InputError } from '../../errors.js';
import { isEmptyResource, parseResourceHeader } from './resource-header.js';

const HEADER_SIZE = 208;

export interface WimCheckpoint {
  path: string;
  /** File size when the checkpoint was taken. */
  size: number;
  /** The 208 header bytes then. */
  header: Uint8Array;
  /** Whether the WIM had an integrity table then. */
  hadIntegrity: boolean;
  /** When it was taken (ms since the epoch), for messages. */
  takenAt: number;
}

/** Records the current state of the WIM at `path`. */
export async function takeWimCheckpoint(path: string, now: () => Date = () => new Date()): Promise<WimCheckpoint> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    const header = new Uint8Array(HEADER_SIZE);
    const { bytesRead } = await handle.read(header, 0, HEADER_SIZE, 0);
    if (bytesRead !== HEADER_SIZE) throw new InputError('DF_WIM_CHECKPOINT', `${path} is too short to be a WIM (${size} bytes)`, { path, size });
    return { path, size, header, hadIntegrity: !isEmptyResource(parseResourceHeader(header, 0x7c)), takenAt: now().getTime() };
  } finally {
    await handle.close();
  }
}

/** Restores the WIM at `checkpoint.path` to the checkpoint: drops everything appended since and
 *  puts the old header back, flushing before and after the header write. */
export async function rollbackWim(checkpoint: WimCheckpoint): Promise<void> {
  const handle = await open(checkpoint.path, 'r+');
  try {
    const { size } = await handle.stat();
    if (size < checkpoint.size) {
      throw new InputError(
        'DF_WIM_CHECKPOINT',
        `${checkpoint.path} is ${size} bytes, shorter than the ${checkpoint.size} bytes recorded by the checkpoint: it was rewritten or truncated since, so the checkpoint no longer applies`,
        { path: checkpoint.path, size, checkpoint: checkpoint.size },
      );
    }
    await handle.truncate(checkpoint.size);
    await handle.sync();
    let done = 0;
    while (done < HEADER_SIZE) done += (await handle.write(checkpoint.header, done, HEADER_SIZE - done, done)).bytesWritten;
    await handle.sync();
  } finally {
    await handle.close();
  }
}
