// SHA-256 on a worker thread, so hashing a multi-GB image overlaps with the build's own work
// instead of stalling it (hashing 3 GiB takes about 1.5 s of CPU even with SHA extensions).
import { Worker } from 'node:worker_threads';
import { InputError } from '../errors.js';

// Hashing runs beside copies that must finish first (the output's flush can only start after
// its copy), so the hash threads give way: on Linux a thread's own id (from /proc/thread-self)
// takes its own nice value (setpriority(2) acts on one thread there). Elsewhere they run as they are.
const LOWER_PRIORITY = `
try {
  const tid = Number(require('node:fs').readlinkSync('/proc/thread-self').split('/').pop());
  const os = require('node:os');
  // Nice values only go up here: a process already running at a lower priority keeps it.
  if (Number.isInteger(tid) && tid > 0) os.setPriority(tid, Math.min(19, Math.max(10, os.getPriority(tid))));
} catch {}
`;

// A worker's error as a message: what the main thread needs to rebuild it (so a missing or
// unreadable file is reported with its path, as any other file error is).
const ERROR_MESSAGE = `
const errorMessage = (error) => ({ error: error.message, code: error.code, path: error.path, syscall: error.syscall, errno: error.errno });
`;

interface WorkerError {
  error: string;
  code?: string;
  path?: string;
  syscall?: string;
  errno?: number;
}

function rebuildError(message: WorkerError): Error {
  if (message.code?.startsWith('DF_')) return new InputError(message.code, message.error);
  return Object.assign(new Error(message.error), { code: message.code, path: message.path, syscall: message.syscall, errno: message.errno });
}

// Hashes up to `length` bytes of an open file from `offset` (to its end with Infinity) through
// one reused buffer (a fresh buffer per chunk costs page faults on every megabyte); returns the
// bytes hashed.
const HASH_FILE_RANGE = `
const { readSync } = require('node:fs');
let rangeBuffer;
const hashFileRange = (hash, fd, offset, length) => {
  rangeBuffer ??= Buffer.allocUnsafe(1024 * 1024);
  let done = 0;
  for (let read; done < length && (read = readSync(fd, rangeBuffer, 0, Math.min(rangeBuffer.length, length - done), offset + done)) > 0; done += read) {
    hash.update(rangeBuffer.subarray(0, read));
  }
  return done;
};
`;

// Plain JavaScript, evaluated as the worker's body: reads and hashes the file at workerData.path.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const { openSync, closeSync } = require('node:fs');
${LOWER_PRIORITY}
${ERROR_MESSAGE}
${HASH_FILE_RANGE}
try {
  const hash = createHash('sha256');
  const fd = openSync(workerData.path, 'r');
  let size = 0;
  try {
    size = hashFileRange(hash, fd, 0, Infinity);
  } finally {
    closeSync(fd);
  }
  parentPort.postMessage({ sha256: hash.digest('hex'), size });
} catch (error) {
  parentPort.postMessage(errorMessage(error));
}
`;

function result(worker: Worker): Promise<{ sha256: string; size?: number }> {
  return new Promise((resolve, reject) => {
    worker.once('message', (message: { sha256?: string; size?: number } & Partial<WorkerError>) => {
      void worker.terminate();
      if (message.error !== undefined) reject(rebuildError(message as WorkerError));
      else resolve({ sha256: message.sha256 as string, size: message.size });
    });
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the hash worker stopped (exit code ${code}) before it answered`)));
  });
}

/** SHA-256 and size of a file, read and hashed on a worker thread; `signal` stops the worker. */
export async function sha256FileOffThread(path: string, signal?: AbortSignal): Promise<{ sha256: string; size: number }> {
  signal?.throwIfAborted();
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { path } });
  // A build that fails early must not wait for the hash of a multi-GB file to finish.
  worker.unref();
  let stop = () => {};
  const stopped = new Promise<never>((_, reject) => {
    stop = () => {
      void worker.terminate();
      reject(signal?.reason);
    };
  });
  stopped.catch(() => {});
  signal?.addEventListener('abort', stop, { once: true });
  try {
    const { sha256, size } = await Promise.race([result(worker), stopped]);
    return { sha256, size: size ?? 0 };
  } finally {
    signal?.removeEventListener('abort', stop);
  }
}

// The body of a worker that hashes the filled slots of a shared ring of buffers and hands each
// slot back, so the sender copies chunks into reused memory instead of allocating per chunk.
// A message with a path instead asks the worker to read a range of that file and hash it itself.
const STREAM_WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const { openSync, closeSync } = require('node:fs');
${LOWER_PRIORITY}
${ERROR_MESSAGE}
${HASH_FILE_RANGE}
const hash = createHash('sha256');
const { shared, slotBytes } = workerData;
const files = new Map();
const hashRange = ({ path, offset, length }) => {
  let fd = files.get(path);
  if (fd === undefined) { fd = openSync(path, 'r'); files.set(path, fd); }
  if (hashFileRange(hash, fd, offset, length) < length) {
    throw Object.assign(new Error(path + ' is shorter than expected: it changed while it was hashed'), { code: 'DF_SOURCE_CHANGED' });
  }
};
parentPort.on('message', (message) => {
  try {
    if (message === 'end') {
      for (const fd of files.values()) closeSync(fd);
      parentPort.postMessage({ sha256: hash.digest('hex') });
    } else if (message.path !== undefined) hashRange(message);
    else { hash.update(new Uint8Array(shared, message.slot * slotBytes, message.length)); parentPort.postMessage(message.slot); }
  } catch (error) {
    parentPort.postMessage(errorMessage(error));
  }
});
`;

/** The ring: 8 slots of 1 MiB, so the hash runs at most 8 MiB behind the sender. */
const SLOT_BYTES = 1024 * 1024;
const SLOTS = 8;

export interface StreamHasher {
  /** Queues a copy of `chunk`; resolves once few enough chunks are waiting. */
  update(chunk: Uint8Array): Promise<void>;
  /** Queues `length` bytes of the file at `path` from `offset`, which the worker reads itself
   *  (the bytes never pass through this thread). */
  updateFromFile(path: string, offset: number, length: number): void;
  digest(): Promise<string>;
  /** Stops the worker (after a failure); digest() then rejects. */
  abort(): void;
}

/** A running SHA-256 on a worker thread, fed in order, with back-pressure: chunks are copied
 *  into free slots of a shared ring (several small chunks fill one slot) that the worker hashes
 *  and hands back. */
export function startStreamHasher(): StreamHasher {
  const shared = new SharedArrayBuffer(SLOT_BYTES * SLOTS);
  const worker = new Worker(STREAM_WORKER_SOURCE, { eval: true, workerData: { shared, slotBytes: SLOT_BYTES } });
  worker.unref();
  const free = Array.from({ length: SLOTS }, (_, i) => i);
  let wake: (() => void) | undefined;
  let failure: Error | undefined;
  let finish: ((sha256: string) => void) | undefined;
  let fail: ((error: Error) => void) | undefined;
  const done = new Promise<string>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  done.catch(() => {});
  worker.on('message', (message: number | { sha256: string } | WorkerError) => {
    if (typeof message === 'number') {
      free.push(message);
      wake?.();
      wake = undefined;
    } else if ('error' in message) {
      stop(rebuildError(message));
      void worker.terminate();
    } else {
      finish?.(message.sha256);
      void worker.terminate();
    }
  });
  const stop = (error: Error) => {
    failure ??= error;
    fail?.(failure);
    wake?.();
  };
  worker.once('error', stop);
  worker.once('exit', () => stop(new Error('the hash worker stopped before it answered')));
  let slot = -1;
  let filled = 0;
  const send = () => {
    worker.postMessage({ slot, length: filled });
    slot = -1;
    filled = 0;
  };
  const takeSlot = async () => {
    while (free.length === 0 && !failure) {
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
    if (failure) throw failure;
    slot = free.pop() as number;
  };
  // Calls go in the order of the bytes: one that came while an update() still waited for a
  // free slot would hash its bytes before that update's.
  let updating = false;
  const inOrder = (what: string) => {
    if (updating) throw new Error(`internal: ${what}() called while an update() is still pending; await each update() first`);
  };
  return {
    async update(chunk) {
      if (failure) throw failure;
      inOrder('update');
      updating = true;
      try {
        for (let at = 0; at < chunk.length; ) {
          if (slot < 0) await takeSlot();
          const take = Math.min(chunk.length - at, SLOT_BYTES - filled);
          new Uint8Array(shared, slot * SLOT_BYTES + filled, take).set(chunk.subarray(at, at + take));
          filled += take;
          at += take;
          if (filled === SLOT_BYTES) send();
        }
      } finally {
        updating = false;
      }
    },
    updateFromFile(path, offset, length) {
      if (failure) throw failure;
      inOrder('updateFromFile');
      if (slot >= 0 && filled > 0) send();
      if (length > 0) worker.postMessage({ path, offset, length });
    },
    async digest() {
      if (failure) throw failure;
      inOrder('digest');
      if (slot >= 0 && filled > 0) send();
      worker.postMessage('end');
      return done;
    },
    abort() {
      stop(new Error('the hash was abandoned'));
      void worker.terminate();
    },
  };
}
