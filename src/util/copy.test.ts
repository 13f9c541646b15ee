import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { makeTempDir } from '../../test/helpers/corpus.js';
import { BufferSource } from './byte-source.js';
import { copySourceToFile, kernelCopy, readAhead } from './copy.js';
import { runTool } from './exec.js';

let tmp: Awaited<ReturnType<typeof makeTempDir>>;
before(async () => {
  tmp = await makeTempDir('df-copy-');
});
after(async () => {
  await tmp.cleanup();
});

test('kernelCopy copies a file exactly', async () => {
  const bytes = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 31) & 0xff));
  await writeFile(join(tmp.path, 'a.bin'), bytes);
  await kernelCopy(join(tmp.path, 'a.bin'), join(tmp.path, 'b.bin'));
  assert.deepEqual(await readFile(join(tmp.path, 'b.bin')), bytes);
  await assert.rejects(kernelCopy(join(tmp.path, 'missing'), join(tmp.path, 'c.bin')), /cp exited with 1: .*missing/);
});

test('an abort stops a running program at once, with the abort’s reason', async () => {
  const stop = new AbortController();
  const started = Date.now();
  const run = runTool('sleep', ['30'], { signal: stop.signal });
  setTimeout(() => stop.abort(new Error('not needed any more')), 50);
  await assert.rejects(run, /not needed any more/);
  assert.ok(Date.now() - started < 10_000, 'sleep was killed, not waited for');
});

test('readAhead gives the range in order; copySourceToFile stops on an aborted signal', async () => {
  const bytes = Uint8Array.from({ length: 1_000_000 }, (_, i) => i & 0xff);
  const pieces: Uint8Array[] = [];
  for await (const piece of readAhead(new BufferSource(bytes), 1000, 600_000, 65536, 3)) pieces.push(piece);
  assert.deepEqual(Buffer.concat(pieces), Buffer.from(bytes.subarray(1000, 601_000)));
  const stop = new AbortController();
  stop.abort(new Error('stopped'));
  await assert.rejects(copySourceToFile(new BufferSource(bytes), join(tmp.path, 'x.bin'), stop.signal), /stopped/);
});
