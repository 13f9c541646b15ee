import assert from 'node:assert/strict';
import { appendFile, chmod, mkdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { makeTempDir } from '../../test/helpers/corpus.js';
import { cachedSha256, fileIdentity, rememberSha256 } from './digest-cache.js';

let tmp: Awaited<ReturnType<typeof makeTempDir>>;
before(async () => {
  tmp = await makeTempDir('df-digest-cache-');
});
after(async () => {
  await tmp.cleanup();
});

const DIGEST = 'ab'.repeat(32);
/** As if hashing began well after the file was last changed. */
const later = () => Date.now() + 5000;

test('a remembered digest comes back while the file is unchanged, and not after any write', async () => {
  const file = join(tmp.path, 'source.iso');
  const cache = join(tmp.path, 'cache');
  await writeFile(file, 'iso bytes');
  assert.equal(await cachedSha256(cache, await fileIdentity(file)), undefined);
  await rememberSha256(cache, file, await fileIdentity(file), DIGEST, later());
  assert.equal(await cachedSha256(cache, await fileIdentity(file)), DIGEST);
  await appendFile(file, '!');
  assert.equal(await cachedSha256(cache, await fileIdentity(file)), undefined, 'new size and times');
  await rememberSha256(cache, file, await fileIdentity(file), DIGEST, later());
  // Putting the old modification time back still changes the change time.
  const before = await fileIdentity(file);
  await utimes(file, new Date('2001-01-01'), new Date('2001-01-01'));
  assert.notEqual(await fileIdentity(file), before);
  assert.equal(await cachedSha256(cache, await fileIdentity(file)), undefined);
});

test('not remembered: a file that changed while it was hashed, or just before (the racy window)', async () => {
  const file = join(tmp.path, 'moving.iso');
  const cache = join(tmp.path, 'cache2');
  await writeFile(file, 'one');
  const identity = await fileIdentity(file);
  await writeFile(file, 'two');
  await rememberSha256(cache, file, identity, DIGEST, later());
  assert.equal(await cachedSha256(cache, await fileIdentity(file)), undefined);
  await rememberSha256(cache, file, await fileIdentity(file), DIGEST, Date.now());
  assert.equal(await cachedSha256(cache, await fileIdentity(file)), undefined, 'changed less than 2 s before hashing began');
});

test('a cache folder others can write to is not trusted; a broken one is ignored', async () => {
  const file = join(tmp.path, 'shared.iso');
  await writeFile(file, 'x');
  const open = join(tmp.path, 'open-cache');
  await mkdir(open);
  await chmod(open, 0o777);
  await rememberSha256(open, file, await fileIdentity(file), DIGEST, later());
  assert.equal(await cachedSha256(open, await fileIdentity(file)), undefined);
  await writeFile(join(tmp.path, 'not-a-folder'), 'x');
  await rememberSha256(join(tmp.path, 'not-a-folder'), file, await fileIdentity(file), DIGEST, later()); // no throw
  assert.equal(await cachedSha256(join(tmp.path, 'not-a-folder'), await fileIdentity(file)), undefined);
});
