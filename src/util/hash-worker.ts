// SHA-256 on a worker thread, so hashing a multi-GB image overlaps with the build's own work
// instead of stalling it (hashing 3 GiB takes about 1.5 s of CPU even with SHA extensions).
import { Worker } from 'node:worker_threads';

// Plain JavaScript, evaluated as the worker's body: reads and hashes the file at workerData.path.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const { createReadStream } = require('node:fs');
const hash = createHash('sha256');
{
  let size = 0;
  createReadStream(workerData.path, { highWaterMark: 1024 * 1024 })
    .on('data', (chunk) => { hash.update(chunk); size += chunk.length; })
    .on('error', (error) => parentPort.postMessage({ error: error.message, code: error.code }))
    .on('end', () => parentPort.postMessage({ sha256: hash.digest('hex'), size }));
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
    worker.once('exit', (code) => reject(new Error(`the hash worker stopped (exit code ${code}) before it answered`)));
  });
}

/** SHA-256 and size of a file, read and hashed on a worker thread. */
export async function sha256FileOffThread(path: string): Promise<{ sha256: string; size: number }> {
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { path } });
  // A build that fails early must not wait for the hash of a multi-GB file to finish.
  worker.unref();
  const { sha256, size } = await result(worker);
  return { sha256, size: size ?? 0 };
}
