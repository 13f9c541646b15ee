// Recovering a hive file on disk: finds its transaction logs beside it (PATH.LOG1, PATH.LOG2,
// PATH.LOG, matched case-insensitively as Windows' file system would), replays them with
// replayLogs and writes the clean hive atomically to a separate output. It never writes to the
// hive or its logs, and never guesses logs with other names.
import { readdir, readFile, realpath } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { InputError, toDeployForgeError } from '../../errors.js';
import { writeFileAtomic } from '../../util/fs.js';
import { type ReplayResult, replayLogs } from './log-replay.js';

export interface RecoverOptions {
  /** Log paths in Windows' order (.LOG1 then .LOG2); found beside the hive when omitted. */
  logs?: string[];
  /** Where to write the clean hive. Without it nothing is written and the bytes are returned. */
  out?: string;
}

export interface RecoverResult extends ReplayResult {
  /** The log files that were read (whether or not they applied). */
  logPaths: string[];
  /** The path written, when `out` was given. */
  written?: string;
}

/** Suhanov §Multiple transaction log files: LOG1 and LOG2 (dual logging), or a single LOG. */
const LOG_SUFFIXES = ['.log1', '.log2', '.log'];

/** The hive's transaction logs in the folder beside it, in replay order. */
export async function findTransactionLogs(hivePath: string): Promise<string[]> {
  const dir = dirname(hivePath);
  const stem = basename(hivePath).toLowerCase();
  const names = await readdir(dir).catch((error: unknown) => {
    throw toDeployForgeError(error);
  });
  const found: string[] = [];
  for (const suffix of LOG_SUFFIXES) {
    // Windows names are case-insensitive, and hives copied off NTFS keep any mix of cases
    // (NTUSER.DAT with ntuser.dat.LOG1). Sorting makes the pick stable if several differ only
    // in case.
    const match = names.filter((n) => n.toLowerCase() === stem + suffix).sort()[0];
    if (match) found.push(join(dir, match));
  }
  return found;
}

async function canonical(path: string): Promise<string> {
  // realpath catches a symlink or ../ route to the input; a path that does not exist yet
  // cannot be the input, so its resolved form is enough.
  return realpath(path).catch(() => resolve(path));
}

async function readBytes(path: string): Promise<Uint8Array> {
  try {
    const b = await readFile(path);
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  } catch (error) {
    throw toDeployForgeError(error);
  }
}

/**
 * Replays the transaction logs of the hive at `path`. A clean hive comes back unchanged. Throws
 * InputError DF_HIVE_LOGS_MISSING when the hive is dirty and no usable log exists, and
 * DF_HIVE_RECOVER_OVERWRITE when `out` names the hive or one of its logs (the inputs are never
 * modified: a failed recovery must leave the evidence intact).
 */
export async function recoverHiveFile(path: string, options: RecoverOptions = {}): Promise<RecoverResult> {
  const logPaths = options.logs ?? (await findTransactionLogs(path));
  if (options.out !== undefined) {
    const target = await canonical(options.out);
    for (const input of [path, ...logPaths]) {
      if ((await canonical(input)) === target) {
        throw new InputError('DF_HIVE_RECOVER_OVERWRITE', `refusing to write the recovered hive over its input ${input}: choose another output path`, { path: input });
      }
    }
  }
  const primary = await readBytes(path);
  const logs = await Promise.all(logPaths.map(readBytes));
  const result = replayLogs(primary, logs, { name: path });
  if (options.out === undefined) return { ...result, logPaths };
  await writeFileAtomic(options.out, result.bytes);
  return { ...result, logPaths, written: options.out };
}
