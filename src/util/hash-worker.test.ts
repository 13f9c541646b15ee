import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { makeTempDir } from '../../test/helpers/corpus.js';
import { sha256FileOffThread, startStreamHasher } from './hash-worker.js';

test('sha256FileOffThread agrees with node:crypto; a missing file is an error', async () => {
  const tmp = await makeTempDir();
  try {
    const bytes = Buffer.alloc(3 * 1024 * 1024 + 17);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 2654435761) >>> 24;
    const expected = createHash('sha256').update(bytes).digest('hex');
    const file = join(tmp.path, 'data.bin');
    await writeFile(file, bytes);
    assert.deepEqual(await sha256FileOffThread(file), { sha256: expected, size: bytes.length });
    await assert.rejects(sha256FileOffThread(join(tmp.path, 'missing')), (e: NodeJS.ErrnoException) => e.code === 'ENOENT' && e.path === join(tmp.path, 'missing'));
    // Stopped: the promise rejects with the reason at once (the worker is terminated).
    const stop = new AbortController();
    const stopped = sha256FileOffThread(file, stop.signal);
    stop.abort(new Error('build failed'));
    await assert.rejects(stopped, /build failed/);
    await assert.rejects(sha256FileOffThread(file, stop.signal), /build failed/);
  } finally {
    await tmp.cleanup();
  }
});

test('startStreamHasher hashes chunks in order with a bounded backlog; abort stops it', async () => {
  const bytes = Buffer.alloc(5 * 1024 * 1024 + 3);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 40503) >>> 8;
  const hasher = startStreamHasher();
  // Views on one big buffer, as the ISO writer hands them out.
  for (let at = 0; at < bytes.length; at += 256 * 1024) await hasher.update(bytes.subarray(at, at + 256 * 1024));
  assert.equal(await hasher.digest(), createHash('sha256').update(bytes).digest('hex'));
  const abandoned = startStreamHasher();
  await abandoned.update(bytes.subarray(0, 10));
  abandoned.abort();
  await assert.rejects(abandoned.digest(), /abandoned/);
});

test('startStreamHasher: any split into chunks (empty, tiny, larger than a ring slot) gives node:crypto’s digest', async () => {
  const { default: fc } = await import('fast-check');
  const bytes = Buffer.alloc(3 * 1024 * 1024 + 999);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 2246822519) >>> 27;
  const expected = createHash('sha256').update(bytes).digest('hex');
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.oneof(fc.constant(0), fc.nat(100), fc.nat(300 * 1024), fc.integer({ min: 1024 * 1024, max: 2 * 1024 * 1024 })), { maxLength: 40 }),
      async (sizes) => {
        const hasher = startStreamHasher();
        let at = 0;
        for (const size of sizes) {
          if (at >= bytes.length) break;
          await hasher.update(bytes.subarray(at, Math.min(bytes.length, at + size)));
          at += size;
        }
        if (at < bytes.length) await hasher.update(bytes.subarray(at));
        assert.equal(await hasher.digest(), expected);
      },
    ),
    { seed: 777, numRuns: 25 },
  );
});

test('startStreamHasher: ranges the worker reads from a file, mixed with chunks, hash as the bytes they stand for', async () => {
  const { default: fc } = await import('fast-check');
  const tmp = await makeTempDir();
  try {
    const file = Buffer.alloc(2 * 1024 * 1024 + 5);
    for (let i = 0; i < file.length; i++) file[i] = (i * 2654435761) >>> 26;
    const path = join(tmp.path, 'base.bin');
    await writeFile(path, file);
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            fc.record({ offset: fc.nat(file.length), length: fc.nat(1536 * 1024) }).map((r) => ({ ...r, length: Math.min(r.length, file.length - r.offset) })),
            fc.uint8Array({ maxLength: 2000 }),
          ),
          { maxLength: 12 },
        ),
        async (parts) => {
          const hasher = startStreamHasher();
          const expected = createHash('sha256');
          for (const part of parts) {
            if (part instanceof Uint8Array) {
              await hasher.update(part);
              expected.update(part);
            } else {
              hasher.updateFromFile(path, part.offset, part.length);
              expected.update(file.subarray(part.offset, part.offset + part.length));
            }
          }
          assert.equal(await hasher.digest(), expected.digest('hex'));
        },
      ),
      { seed: 4242, numRuns: 30 },
    );
    // A range past the file's end: the file changed under the hash.
    const short = startStreamHasher();
    short.updateFromFile(path, file.length - 10, 20);
    await assert.rejects(short.digest(), (e: Error & { code?: string }) => e.code === 'DF_SOURCE_CHANGED' && e.name === 'InputError');
    const missing = startStreamHasher();
    missing.updateFromFile(join(tmp.path, 'gone.bin'), 0, 1);
    // Rebuilt with its path, so the CLI names the file.
    await assert.rejects(missing.digest(), (e: NodeJS.ErrnoException) => e.code === 'ENOENT' && e.path === join(tmp.path, 'gone.bin'));
    // Out of order: a range or the digest asked for while an update() still waits for a slot.
    const busy = startStreamHasher();
    const pending = busy.update(Buffer.alloc(12 * 1024 * 1024));
    assert.throws(() => busy.updateFromFile(path, 0, 1), /still pending/);
    await pending;
    busy.abort();
  } finally {
    await tmp.cleanup();
  }
});
