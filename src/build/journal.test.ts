// The journal's record of outputs: a file output is still the build's while its size and time
// match; a folder output while its fingerprint (every file's path, size and time) does. The
// rollback command removes outputs only in that case.
import assert from 'node:assert/strict';
import { mkdir, readdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runCliCaptured } from '../../test/helpers/cli.js';
import { makeTempDir } from '../../test/helpers/corpus.js';
import { BuildJournal, folderFingerprint, outputStillThere } from './journal.js';

let tmp: Awaited<ReturnType<typeof makeTempDir>>;
before(async () => {
  tmp = await makeTempDir('df-journal-');
});
after(async () => {
  await tmp.cleanup();
});

async function makeFolder(path: string): Promise<void> {
  await mkdir(join(path, 'sources'), { recursive: true });
  await writeFile(join(path, 'setup.exe'), 'setup');
  await writeFile(join(path, 'sources', 'install.swm'), 'part one');
}

test('a folder output is still the build’s until a file in it changes, appears or goes', async () => {
  const folder = join(tmp.path, 'usb');
  await makeFolder(folder);
  const entry = { n: 1, stage: 'output' as const, kind: 'folder', path: folder, size: 13, fingerprint: await folderFingerprint(folder) };
  assert.equal(await outputStillThere(entry), true);
  await writeFile(join(folder, 'sources', 'install.swm'), 'part 1!!');
  assert.equal(await outputStillThere(entry), false, 'same size, new contents (and time)');
  const again = { ...entry, fingerprint: await folderFingerprint(folder) };
  await utimes(join(folder, 'setup.exe'), new Date('2020-01-01'), new Date('2020-01-01'));
  assert.equal(await outputStillThere(again), false, 'a changed time');
  const third = { ...entry, fingerprint: await folderFingerprint(folder) };
  await writeFile(join(folder, 'extra.txt'), 'x');
  assert.equal(await outputStillThere(third), false, 'a new file');
  assert.equal(await outputStillThere({ ...entry, path: join(tmp.path, 'missing') }), false);
});

test('deployforge rollback removes a folder output that is still the build’s, and keeps one that changed', async () => {
  const work = join(tmp.path, 'deployforge-build-0123456789abcdef');
  await mkdir(work);
  const kept = join(tmp.path, 'kept');
  const gone = join(tmp.path, 'gone');
  await makeFolder(kept);
  await makeFolder(gone);
  const journal = await BuildJournal.create(work, 'digest');
  await journal.append({ stage: 'output', kind: 'folder', path: gone, size: 13, fingerprint: await folderFingerprint(gone) });
  await journal.append({ stage: 'output', kind: 'folder', path: kept, size: 13, fingerprint: await folderFingerprint(kept) });
  await writeFile(join(kept, 'changed-by-the-user.txt'), 'mine');
  const run = await runCliCaptured(['rollback', '--to', '0', '--json', work]);
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(JSON.parse(run.stdout).removed, [gone]);
  const left = await readdir(tmp.path);
  assert.ok(!left.includes('gone') && left.includes('kept'));
});
