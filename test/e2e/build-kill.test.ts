// Killing a build with SIGKILL at many moments never leaves a corrupt output or
// workspace: whatever is at the output path is the whole, correct ISO (builds are deterministic,
// so it must equal a clean build's bytes), the workspace journal still parses, and both a rerun
// with --resume and a clean rerun finish with the same bytes.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeSampleMedia } from '../../src/sample/sample-media.js';
import { runCliCaptured } from '../helpers/cli.js';
import { makeTempDir, repoRoot } from '../helpers/corpus.js';

const sha = async (p: string) =>
  createHash('sha256')
    .update(await readFile(p))
    .digest('hex');

/** mulberry32: a small seeded generator, so the kill moments are the same on every run. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('a build killed with SIGKILL', () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let source: string;
  let recipe: string;
  let reference: string;
  let progressLines: number;
  const work = () => join(tmp.path, 'work');

  const args = (out: string, ...extra: string[]) => ['build', '--json', recipe, '--source', source, '--out', out, '--out-dir', join(tmp.path, 'locks'), ...extra];
  const child = (argv: string[]): ChildProcess =>
    spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'test', 'helpers', 'run-cli-src.ts'), ...argv], {
      cwd: repoRoot,
      env: { ...process.env, DEPLOYFORGE_WORK_DIR: work() },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
  const finish = (proc: ChildProcess) =>
    new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) => {
      let stderr = '';
      proc.stderr?.on('data', (d) => {
        stderr += d;
      });
      proc.on('exit', (code, signal) => resolve({ code, signal, stderr }));
    });

  before(async () => {
    tmp = await makeTempDir();
    source = join(tmp.path, 'sample.iso');
    await makeSampleMedia(source, { sizeMb: 10, editions: 3, seed: 33 });
    recipe = join(tmp.path, 'kill.yaml');
    await writeFile(
      recipe,
      [
        'version: 1',
        'name: kill',
        'editions: { keep: [ { index: 1 }, { index: 3 } ] }',
        'steps:',
        '  - type: registry',
        '    hive: SOFTWARE',
        '    set: [ { key: Contoso\\Kill, name: Value, type: REG_DWORD, data: 7 } ]',
        '  - type: unattend',
        '    timeZone: UTC',
        '    bypassRequirements: true',
        '    placement: boot-wim',
        'options: { deterministic: true }',
        '',
      ].join('\n'),
    );
    const run = await finish(child(args(join(tmp.path, 'reference.iso'))));
    assert.equal(run.code, 0, run.stderr);
    progressLines = run.stderr.split('\n').filter((l) => l.startsWith('{')).length;
    assert.ok(progressLines >= 6, `the build reports its stages as JSON lines (${progressLines})`);
    reference = await sha(join(tmp.path, 'reference.iso'));
  });
  after(async () => {
    await tmp.cleanup();
  });

  test('never leaves a corrupt output or workspace; --resume and a clean rerun both finish with the same bytes', async () => {
    const random = seeded(0x5eed);
    const kills = 12;
    let interrupted = 0;
    let deepest = 0;
    for (let i = 0; i < kills; i++) {
      const out = join(tmp.path, `out-${i}.iso`);
      const proc = child(args(out));
      const result = finish(proc);
      // The moments come from the build's own progress (JSON lines on stderr), not from a clock,
      // so they spread over every stage however fast the machine is: after the k-th event and a
      // short seeded pause.
      const afterEvent = 1 + Math.floor(random() * progressLines);
      const pauseMs = Math.floor(random() * 120);
      const delay = `event ${afterEvent} + ${pauseMs} ms`;
      let seen = 0;
      let timer: NodeJS.Timeout | undefined;
      proc.stderr?.on('data', (d: Buffer) => {
        seen += d
          .toString()
          .split('\n')
          .filter((l) => l.startsWith('{')).length;
        if (seen >= afterEvent && !timer) timer = setTimeout(() => proc.kill('SIGKILL'), pauseMs);
      });
      const { code, signal } = await result;
      clearTimeout(timer);
      if (signal === 'SIGKILL') interrupted++;
      else assert.equal(code, 0);

      // Whatever is at the output path is the whole ISO.
      const present = await stat(out).then(
        () => true,
        () => false,
      );
      if (present) assert.equal(await sha(out), reference, `kill ${i} at ${delay} left a different file at the output path`);
      // The workspace's journal (if the build got that far) still reads.
      for (const name of await readdir(work()).catch(() => [] as string[])) {
        const listed = await runCliCaptured(['rollback', '--list', '--json', join(work(), name)]);
        assert.ok(listed.code === 0 || /no build journal/.test(listed.stderr), listed.stderr);
        if (listed.code === 0) deepest = Math.max(deepest, (JSON.parse(listed.stdout) as { entries: unknown[] }).entries.length);
      }
      // Half the reruns resume, half start clean.
      const rerun = await finish(child(args(out, ...(i % 2 === 0 ? ['--resume'] : []))));
      assert.equal(rerun.code, 0, rerun.stderr);
      assert.equal(await sha(out), reference, `the rerun after kill ${i} at ${delay} gives the reference bytes`);
    }
    assert.ok(deepest >= 3, `some kills came after an edition was journaled, so --resume skipped finished work (deepest journal: ${deepest})`);
    assert.ok(interrupted >= kills / 2, `most runs were really killed mid-build (${interrupted} of ${kills})`);
    // Finished builds remove their workspace (the remembered source digests stay, by design).
    assert.deepEqual(
      (await readdir(work())).filter((n) => n !== 'deployforge-sha256'),
      [],
    );
  });
});
