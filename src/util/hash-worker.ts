// SHA-256 on a worker thread, so hashing a multi-GB image overlaps with the build's own work
// instead of stalling it (hashing 3 GiB takes about 1.5 s of CPU even with SHA extensions).
import { Worker } from 'node:worker_threads';

// Plain JavaScript, evaluated as the worker's body: a file path to hash, or chunks to hash.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const { createReadStream } = require('node:fs');
const hash = createHash('sha256');
if (workerData.path) {
  let size = 0;
  createReadStream(workerData.path, { highWaterMark: 1024 * 1024 })
    .on('data', (chunk) => { hash.update(chunk); size += chunk.length; })
    .on('error', (error) => parentPort.postMessage({ error: error.message, code: error.code }))
    .on('end', () => parentPort.postMessage({ sha256: hash.digest('hex'), size }));
} else {
  parentPort.on('message', (message) => {
    if (message === 'end') parentPort.postMessage({ sha256: hash.digest('hex') });
    else hash.update(message);
  });
}
`;

function result(worker: Worker): Promise<{ sha256: string; size?: number }> {
  return new Promise((resolve, reject) => {
    worker.once('message', (message: { sha256?: string; size?: number; error?: string; code?: string }) => {
      void worker.terminate();
      if (message.error) reject(Object.assign(new Error(message.error), { code: message.code }));
      else resolve({ sha256: message.sha256 as string, size: message.size });
    });
    worker.once('error', reject);
  });
}

/** SHA-256 and size of a file, read and hashed on a worker thread. */
export async function sha256FileOffThread(path: string): Promise<{ sha256: string; size: number }> {
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { path } });
  const { sha256, size } = await result(worker);
  return { sha256, size: size ?? 0 };
}

/** A running SHA-256 fed with chunks (each copied to the worker); digest() ends it. */
export function startHashOffThread(): { update(chunk: Uint8Array): void; digest(): Promise<string> } {
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: {} });
  const done = result(worker);
  done.catch(() => {});
  return {
    update: (chunk) => worker.postMessage(chunk),
    digest: async () => {
      worker.postMessage('end');
      return (await done).sha256;
    },
  };
}
