import assert from 'node:assert/strict';
import { test } from 'node:test';
import { throttleProgress } from '../progress.js';
import { chooseProgressMode, createJsonProgress } from './progress-render.js';

test('JSON progress writes one event per line on stderr', () => {
  let err = '';
  const sink = createJsonProgress({
    stdout: { write: () => true },
    stderr: {
      write: (s: string) => {
        err += s;
      },
    },
    env: {},
    cwd: '/',
  });
  sink.emit({ phase: 'write iso', done: 10, total: 100, unit: 'bytes' });
  sink.emit({ phase: 'write iso', done: 100, total: 100, unit: 'bytes' });
  const lines = err
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.deepEqual(lines[1], { type: 'progress', phase: 'write iso', done: 100, total: 100, unit: 'bytes' });
});

test('chooses bars on a TTY, JSON with --json, nothing with --quiet or in a pipe', () => {
  assert.equal(chooseProgressMode({ json: false, quiet: false, configured: 'auto', isTTY: true }), 'bars');
  assert.equal(chooseProgressMode({ json: false, quiet: false, configured: 'auto', isTTY: false }), 'none');
  assert.equal(chooseProgressMode({ json: true, quiet: false, configured: 'auto', isTTY: true }), 'json');
  assert.equal(chooseProgressMode({ json: true, quiet: true, configured: 'auto', isTTY: true }), 'none');
});

test('throttling drops intermediate events but never the last one of a phase', () => {
  const seen: number[] = [];
  let now = 0;
  const sink = throttleProgress({ emit: (e) => seen.push(e.done) }, 100, () => now);
  for (let done = 0; done <= 10; done++) {
    now += 30;
    sink.emit({ phase: 'p', done, total: 10, unit: 'items' });
  }
  assert.ok(seen.length < 11);
  assert.equal(seen[seen.length - 1], 10);
  assert.equal(seen[0], 0);
});
