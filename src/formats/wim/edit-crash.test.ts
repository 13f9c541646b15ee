// Crash safety of the append writer: a child process commits an edit and is SIGKILLed right
// after each of many writes and flushes. Whatever the point, the WIM must afterwards be the old
// one (wimlib-imagex verify passes, rolling back to the checkpoint gives the exact original
// bytes) or the new one (verify passes, our reader sees the edit): never unreadable.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { corpusPath, hasCorpus, makeTempDir, repoRoot } from '../../../test/helpers/corpus.js';
import { FileSource } from '../../util/byte-source.js';
import { runTool } from '../../util/exec.js';
import { rollbackWim, takeWimCheckpoint } from './checkpoint.js';
import { openWimImage } from './image.js';
import { openWim } from './wim-file.js';

const wimlib = (args: string[]) => runTool('wimlib-imagex', args, { timeoutMs: 120_000 });
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const sha1 = (b: Uint8Array) => createHash('sha1').update(b).digest('hex');
const CHILD = join(repoRoot, 'src', 'formats', 'wim', 'edit-crash-child.ts');

function runChild(wim: string, killAt: number, payload: string): Promise<{ signal: string | null; stdout: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', CHILD, wim, String(killAt), payload], { cwd: repoRoot }, (error, stdout) => {
      resolve({ signal: (error as { signal?: string } | null)?.signal ?? null, stdout: String(stdout) });
    });
  });
}

let tmp: { path: string; cleanup: () => Promise<void> };
before(async () => {
  tmp = await makeTempDir('deployforge-wimcrash-');
});
after(async () => {
  await tmp?.cleanup();
});

test('a commit killed at any write leaves the old WIM or the new one, and rollback restores the original', { skip: !hasCorpus() && 'no corpus', timeout: 600_000 }, async () => {
  const tree = join(tmp.path, 'tree');
  await runTool('mkdir', ['-p', join(tree, 'sub')]);
  await writeFile(join(tree, 'a.txt'), 'alpha');
  await writeFile(join(tree, 'sub', 'b.bin'), randomBytes(100_000));
  const fixture = join(tmp.path, 'fixture.wim');
  await wimlib(['export', corpusPath('wim/wimlib/empty_dacl.wim'), '1', fixture, '--compress=xpress', '--check']);
  await runTool('wimlib-imagex', ['update', fixture, '1', '--check'], { input: `add ${tree} /dir\n`, timeoutMs: 120_000 });
  const original = await readFile(fixture);
  const payload = join(tmp.path, 'payload');
  const payloadBytes = Buffer.concat([randomBytes(600_000), Buffer.alloc(600_000, 0x41)]);
  await writeFile(payload, payloadBytes);

  // A full run counts the write steps.
  const probe = join(tmp.path, 'probe.wim');
  await copyFile(fixture, probe);
  const full = await runChild(probe, -1, payload);
  const steps = Number(full.stdout.trim());
  assert.ok(steps >= 20, `only ${steps} write steps`);

  // Every early and late step, and an even spread in between: at least 24 kills.
  const points = new Set<number>([0, 1, 2, 3, steps - 4, steps - 3, steps - 2, steps - 1]);
  for (let i = 0; points.size < 26 && i < 40; i++) points.add(Math.floor((i * steps) / 20) % steps);
  let oldCount = 0;
  let newCount = 0;
  for (const k of [...points].sort((a, b) => a - b)) {
    const wim = join(tmp.path, `kill-${k}.wim`);
    await copyFile(fixture, wim);
    const checkpoint = await takeWimCheckpoint(wim);
    const run = await runChild(wim, k, payload);
    assert.equal(run.signal, 'SIGKILL', `step ${k} of ${steps}: the child was killed`);
    await wimlib(['verify', wim]);
    const source = await FileSource.open(wim);
    try {
      const file = await openWim(source);
      const image = await openWimImage(file, 1);
      const contents = await (await image.openFile('/file')).readAll();
      if (sha1(contents) === sha1(payloadBytes)) {
        newCount++;
        assert.equal(file.header.flags.writeInProgress, false, `step ${k}: a new WIM is not marked`);
        assert.equal(image.lookup('/dir/a.txt'), undefined);
      } else {
        oldCount++;
        assert.ok(image.lookup('/dir/a.txt'), `step ${k}: the old tree`);
      }
    } finally {
      await source.close();
    }
    await rollbackWim(checkpoint);
    assert.equal(sha256(await readFile(wim)), sha256(original), `step ${k}: rollback restores the original`);
  }
  assert.ok(oldCount > 0 && newCount > 0, `old ${oldCount}, new ${newCount}`);
  assert.ok(oldCount + newCount >= 20);
});
