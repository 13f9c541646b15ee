// Writing over a base image: files kept at their sectors in a kernel-side copy of an earlier ISO,
// files split between a kept run and a new piece, dirty ranges, and zeros over whatever the new
// image no longer uses. Checked with our reader, 7-Zip, udfinfo and xorriso.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmod, mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeTempDir } from '../../../test/helpers/corpus.js';
import { BufferSource, FileSource } from '../../util/byte-source.js';
import { runTool } from '../../util/exec.js';
import { type IsoImage, openIso } from './index.js';
import { type IsoInputFile, type IsoWriteMode, planIso, writeIsoFile } from './iso-writer.js';
import { listWith7z, listWithXorriso, patternBytes, sha256, sha256File, udfinfo } from './test-support.js';

const TIME = new Date('2024-05-06T07:08:09Z');
const BOOT = [
  { platform: 0, imagePath: 'boot/etfsboot.com' },
  { platform: 0xef, imagePath: 'efi/boot/efisys.bin' },
];
const TREE = new Map<string, Uint8Array>([
  ['boot/etfsboot.com', patternBytes(4096, 11)],
  ['efi/boot/efisys.bin', patternBytes(32 * 1024, 12)],
  ['sources/install.wim', patternBytes(3 * 1024 * 1024 + 1234, 13)],
  ['sources/boot.wim', patternBytes(1024 * 1024, 14)],
  ['sources/secret.xml', patternBytes(9000, 15)],
  ['setup.exe', patternBytes(7000, 16)],
]);
const TOOL_ENV = { ...process.env, LC_ALL: 'C.UTF-8', LANG: 'C.UTF-8' };

let temp: { path: string; cleanup: () => Promise<void> };
const opened: FileSource[] = [];
const openImage = async (path: string, tree?: 'udf' | 'joliet'): Promise<IsoImage> => {
  const source = await FileSource.open(path);
  opened.push(source);
  return openIso(source, tree ? { tree } : {});
};
const inputs = (tree: Map<string, Uint8Array>): IsoInputFile[] => [...tree].map(([path, bytes]) => ({ path, size: bytes.length, source: new BufferSource(bytes, path) }));
const contains = (haystack: Uint8Array, needle: Uint8Array) => Buffer.from(haystack.buffer, haystack.byteOffset, haystack.byteLength).indexOf(needle) >= 0;

before(async () => {
  temp = await makeTempDir('df-isobase-');
});
after(async () => {
  for (const s of opened) await s.close();
  await temp.cleanup();
});

for (const mode of ['udf', 'hybrid'] as const satisfies IsoWriteMode[]) {
  describe(`over a base image (${mode})`, () => {
    let baseIso: string;
    let outIso: string;
    const next = new Map(TREE);
    const grownWim = new Uint8Array(TREE.get('sources/install.wim')?.length ?? 0);
    let hashedInPass = '';
    before(async () => {
      baseIso = join(temp.path, `base-${mode}.iso`);
      await writeIsoFile(inputs(TREE), { mode, volumeLabel: 'BASE', boot: BOOT, timestamp: TIME }, baseIso);
      // A read-only source (a downloaded ISO often is): the output must not inherit that.
      await chmod(baseIso, 0o444);
      const base = await openImage(baseIso);
      // The next image: secret.xml removed, setup.exe replaced, a file added, install.wim patched
      // at its start and grown by 300 KiB (a WIM commit's new header and appended tail).
      next.delete('sources/secret.xml');
      next.set('setup.exe', patternBytes(6000, 17));
      next.set('autounattend.xml', patternBytes(1500, 18));
      const oldWim = TREE.get('sources/install.wim') as Uint8Array;
      const wim = new Uint8Array(oldWim.length + 300 * 1024);
      wim.set(oldWim);
      wim.set(patternBytes(300 * 1024, 19), oldWim.length);
      wim.set(patternBytes(208, 20), 0);
      grownWim.set(wim.subarray(0, grownWim.length));
      next.set('sources/install.wim', wim);
      const files: IsoInputFile[] = [];
      for (const [path, bytes] of next) {
        const entry = await base.stat(path);
        const file: IsoInputFile = { path, size: bytes.length, source: new BufferSource(bytes, path) };
        if (entry && path === 'sources/install.wim') {
          const lba = entry.extents[0].offset / 2048;
          file.inBase = { lba, bytes: Math.floor(oldWim.length / 2048) * 2048, dirty: [{ offset: 0, length: 208 }] };
        } else if (entry && path !== 'setup.exe') file.inBase = { lba: entry.extents[0].offset / 2048, bytes: bytes.length };
        files.push(file);
      }
      outIso = join(temp.path, `next-${mode}.iso`);
      const hash = createHash('sha256');
      const { plan } = await writeIsoFile(
        files,
        { mode, volumeLabel: 'NEXT', boot: BOOT, timestamp: TIME, base: { path: baseIso, size: base.size }, onChunk: (c) => void hash.update(c) },
        outIso,
      );
      hashedInPass = hash.digest('hex');
      assert.ok(plan.keptSectors > 0);
    });

    test('kept files stay at their sectors; every file reads back with its new bytes', async () => {
      const base = await openImage(baseIso);
      const out = await openImage(outIso);
      for (const path of ['boot/etfsboot.com', 'efi/boot/efisys.bin', 'sources/boot.wim']) {
        assert.deepEqual((await out.stat(path))?.extents, (await base.stat(path))?.extents, path);
      }
      const wim = await out.stat('sources/install.wim');
      // The kept run starts where it was (the new piece may follow it directly, where secret.xml was).
      assert.equal(wim?.extents[0].offset, (await base.stat('sources/install.wim'))?.extents[0].offset);
      assert.equal(await out.stat('sources/secret.xml'), null);
      for (const [path, bytes] of next) {
        const file = await out.openFile(path);
        assert.equal(sha256(await file.read(0, file.size)), sha256(bytes), path);
      }
      assert.equal(out.volumeLabel, 'NEXT');
      assert.deepEqual(
        out.bootCatalog.map((e) => e.bootImagePath),
        ['/boot/etfsboot.com', '/efi/boot/efisys.bin'],
      );
    });

    test('the output has the mode of a new file, not the read-only base’s', async () => {
      assert.equal((await stat(outIso)).mode & 0o777, 0o666 & ~process.umask());
    });

    test('the bytes hashed during the pass are the output file; nothing of the removed file survives', async () => {
      assert.equal(hashedInPass, await sha256File(outIso));
      const bytes = await readFile(outIso);
      assert.ok(!contains(bytes, (TREE.get('sources/secret.xml') as Uint8Array).subarray(0, 4096)), 'secret.xml is gone from the sectors');
      assert.ok(!contains(bytes, (TREE.get('setup.exe') as Uint8Array).subarray(0, 4096)), 'the replaced setup.exe is gone');
      assert.ok(!contains(bytes, (TREE.get('sources/install.wim') as Uint8Array).subarray(0, 208)), 'the old WIM header is overwritten');
    });

    test('7-Zip, udfinfo and (hybrid) xorriso accept the image and read the same files', async () => {
      const { stdout } = await runTool('7zz', ['t', outIso], { env: TOOL_ENV, timeoutMs: 60_000 });
      assert.match(stdout, /Everything is Ok/);
      const listed = (await listWith7z(outIso)).files.filter((f) => !f.isDirectory);
      assert.deepEqual(listed.map((f) => [f.path, f.size]).sort(), [...next].map(([p, b]) => [`/${p}`, b.length]).sort());
      const dir = join(temp.path, `x-${mode}`);
      await mkdir(dir);
      await runTool('7zz', ['x', '-y', `-o${dir}`, outIso], { env: TOOL_ENV, timeoutMs: 60_000 });
      for (const [path, bytes] of next) assert.equal(await sha256File(join(dir, path)), sha256(bytes), path);
      const info = await udfinfo(outIso);
      assert.equal(info.get('numfiles'), String(next.size));
      assert.equal(info.get('integrity'), 'closed');
      if (mode === 'hybrid') {
        const xorriso = (await listWithXorriso(outIso)).filter((f) => !f.isDirectory);
        assert.deepEqual(xorriso.map((f) => [f.path.toLowerCase(), f.size]).sort(), [...next].map(([p, b]) => [`/${p}`.toLowerCase(), b.length]).sort());
        const joliet = await openImage(outIso, 'joliet');
        const file = await joliet.openFile('sources/install.wim');
        assert.equal(sha256(await file.read(0, file.size)), sha256(next.get('sources/install.wim') as Uint8Array));
      }
    });
  });
}

describe('which files the planner keeps in the base', () => {
  const base = { path: '/nonexistent', size: 4000 * 2048 };
  const file = (path: string, size: number, inBase?: IsoInputFile['inBase']): IsoInputFile => ({
    path,
    size,
    source: new BufferSource(new Uint8Array(size)),
    inBase,
  });
  const kept = (files: IsoInputFile[]) =>
    Object.fromEntries(planIso(files, { volumeLabel: 'T', timestamp: TIME, base }).files.map((f) => [f.path.replace(/^\//, ''), f.keptSectors]));

  test('keeps runs above sector 257 inside the base; moves the rest', () => {
    assert.deepEqual(
      kept([
        file('ok', 5000, { lba: 1000, bytes: 5000 }),
        file('low', 2048, { lba: 100, bytes: 2048 }),
        file('past-end', 4096, { lba: 3999, bytes: 4096 }),
        file('overlaps-ok', 2048, { lba: 1001, bytes: 2048 }),
        file('ragged-part', 5000, { lba: 2000, bytes: 3000 }),
        file('whole-sectors-part', 5000, { lba: 2100, bytes: 4096 }),
        file('negative', 10, { lba: -5, bytes: 10 }),
        file('fresh', 10),
      ]),
      { ok: 3, low: 0, 'past-end': 0, 'overlaps-ok': 0, 'ragged-part': 0, 'whole-sectors-part': 2, negative: 0, fresh: 0 },
    );
  });

  test('new sectors never land on a kept run; the end anchor comes after the last one', () => {
    const plan = planIso([file('a', 2048 * 3, { lba: 300, bytes: 2048 * 3 }), file('b', 2048 * 50), file('c', 100, { lba: 3000, bytes: 100 })], {
      volumeLabel: 'T',
      timestamp: TIME,
      base,
    });
    const b = plan.files.find((f) => f.path === '/b');
    assert.ok(b && (b.lba + 50 <= 300 || b.lba >= 303));
    assert.ok(b && (b.lba + 50 <= 3000 || b.lba >= 3001));
    assert.ok(plan.sectors > 3001);
  });

  test('a twin of a kept file (same dedupeKey) shares its kept sectors, whichever comes first', () => {
    const plan = planIso(
      [
        { ...file('a/first', 4096), dedupeKey: 'same' },
        { ...file('b/second', 4096, { lba: 600, bytes: 4096 }), dedupeKey: 'same' },
      ],
      { volumeLabel: 'T', timestamp: TIME, base },
    );
    assert.deepEqual(plan.files.map((f) => [f.path, f.lba]).sort(), [
      ['/a/first', 600],
      ['/b/second', 600],
    ]);
  });

  test('without a base, inBase is ignored', () => {
    const plan = planIso([file('a', 2048, { lba: 300, bytes: 2048 })], { volumeLabel: 'T', timestamp: TIME });
    assert.equal(plan.keptSectors, 0);
    assert.notEqual(plan.files[0].lba, 300);
  });
});

describe('a file kept in part, its rest elsewhere', () => {
  test('two pieces, read back whole by our reader (UDF and Joliet) and by 7-Zip', async () => {
    const first = new Map([
      ['a.bin', patternBytes(4096 + 100, 21)],
      ['b.bin', patternBytes(8192, 22)],
    ]);
    const baseIso = join(temp.path, 'split-base.iso');
    await writeIsoFile(inputs(first), { mode: 'hybrid', volumeLabel: 'SPLIT', timestamp: TIME }, baseIso);
    const base = await openImage(baseIso);
    const a = await base.stat('a.bin');
    const b = await base.stat('b.bin');
    assert.ok(a && b && b.extents[0].offset === a.extents[0].offset + 3 * 2048, 'b.bin follows a.bin directly');
    const grown = new Uint8Array(4096 + 100 + 50_000);
    grown.set(first.get('a.bin') as Uint8Array);
    grown.set(patternBytes(50_000, 23), 4196);
    const out = join(temp.path, 'split-next.iso');
    await writeIsoFile(
      [
        { path: 'a.bin', size: grown.length, source: new BufferSource(grown), inBase: { lba: (a?.extents[0].offset ?? 0) / 2048, bytes: 4096 } },
        { path: 'b.bin', size: 8192, source: new BufferSource(first.get('b.bin') as Uint8Array), inBase: { lba: (b?.extents[0].offset ?? 0) / 2048, bytes: 8192 } },
      ],
      { mode: 'hybrid', volumeLabel: 'SPLIT', timestamp: TIME, base: { path: baseIso, size: base.size } },
      out,
    );
    for (const tree of ['udf', 'joliet'] as const) {
      const image = await openImage(out, tree);
      const entry = await image.stat('a.bin');
      assert.equal(entry?.extents.length, 2, tree);
      assert.equal(entry?.extents[0].offset, a?.extents[0].offset, tree);
      const file = await image.openFile('a.bin');
      assert.equal(sha256(await file.read(0, file.size)), sha256(grown), tree);
    }
    const dir = join(temp.path, 'x-split');
    await mkdir(dir);
    await runTool('7zz', ['x', '-y', `-o${dir}`, out], { env: TOOL_ENV, timeoutMs: 60_000 });
    assert.equal(await sha256File(join(dir, 'a.bin')), sha256(grown));
    assert.equal(await sha256File(join(dir, 'b.bin')), sha256(first.get('b.bin') as Uint8Array));
  });
});

describe('property: random edits written over a base', () => {
  test('every file reads back with its bytes (ours, and 7-Zip every few runs); removed bytes never survive', async () => {
    const { default: fc } = await import('fast-check');
    const file = fc.record({
      name: fc.stringMatching(/^f[a-z]{0,7}$/),
      dir: fc.constantFrom('', 'sources/', 'boot/', 'x/y/'),
      size: fc.oneof(fc.integer({ min: 1, max: 9000 }), fc.integer({ min: 2046, max: 2050 })),
    });
    const change = fc.constantFrom('keep', 'keep', 'keep', 'remove', 'replace', 'grow');
    let run = 0;
    let keptRuns = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(file, { minLength: 1, maxLength: 14, selector: (f) => `${f.dir}${f.name}` }),
        fc.array(change, { minLength: 14, maxLength: 14 }),
        fc.nat(50),
        fc.constantFrom<IsoWriteMode>('udf', 'hybrid'),
        async (files, changes, extra, mode) => {
          run++;
          const dir = join(temp.path, `prop-${run}`);
          await mkdir(dir);
          // Each file's bytes carry a marker unique to it, so a survivor can be found.
          const bytesOf = (seed: number, size: number) => {
            const b = patternBytes(size, seed);
            if (size >= 12) b.set(Buffer.from(`@@M${String(seed).padStart(6, '0')}@@`), 0);
            return b;
          };
          const first = new Map(files.map((f, i) => [`${f.dir}${f.name}`, bytesOf(1000 + i, f.size)]));
          const baseIso = join(dir, 'base.iso');
          await writeIsoFile(inputs(first), { mode, volumeLabel: 'PROP', timestamp: TIME }, baseIso);
          const base = await openImage(baseIso);
          const next = new Map<string, Uint8Array>();
          const gone: Uint8Array[] = [];
          const written: IsoInputFile[] = [];
          for (const [i, [path, bytes]] of [...first].entries()) {
            const what = changes[i];
            const entry = await base.stat(path);
            const lba = (entry?.extents[0]?.offset ?? 0) / 2048;
            if (what === 'remove') {
              gone.push(bytes);
              continue;
            }
            if (what === 'replace') {
              gone.push(bytes);
              const fresh = bytesOf(2000 + i, 1 + ((bytes.length * 7 + extra) % 7000));
              next.set(path, fresh);
              written.push({ path, size: fresh.length, source: new BufferSource(fresh) });
            } else if (what === 'grow') {
              const grown = new Uint8Array(bytes.length + 1 + extra * 100);
              grown.set(bytes);
              grown.set(patternBytes(grown.length - bytes.length, 3000 + i), bytes.length);
              next.set(path, grown);
              const keep = Math.floor(bytes.length / 2048) * 2048;
              written.push({ path, size: grown.length, source: new BufferSource(grown), inBase: keep > 0 ? { lba, bytes: keep } : undefined });
            } else {
              next.set(path, bytes);
              written.push({ path, size: bytes.length, source: new BufferSource(bytes), inBase: { lba, bytes: bytes.length } });
            }
          }
          written.push({ path: 'added.bin', size: 3000 + extra, source: new BufferSource(bytesOf(4000, 3000 + extra)) });
          next.set('added.bin', bytesOf(4000, 3000 + extra));
          const out = join(dir, 'next.iso');
          const hash = createHash('sha256');
          // Every other run, the kept runs come as ranges of the base (as the build's hash worker
          // takes them) instead of as read bytes: the same digest either way.
          const baseBytes = run % 2 === 1 ? await readFile(baseIso) : undefined;
          const { plan } = await writeIsoFile(
            written,
            {
              mode,
              volumeLabel: 'PROP',
              timestamp: TIME,
              base: { path: baseIso, size: base.size },
              onChunk: (c) => void hash.update(c),
              onBaseRange: baseBytes ? (offset, length) => void hash.update(baseBytes.subarray(offset, offset + length)) : undefined,
            },
            out,
          );
          if (plan.keptSectors > 0) keptRuns++;
          const image = await openImage(out);
          for (const [path, bytes] of next) {
            const f = await image.openFile(path);
            assert.equal(sha256(await f.read(0, f.size)), sha256(bytes), path);
          }
          const all = await readFile(out);
          assert.equal(hash.digest('hex'), sha256(all));
          for (const bytes of gone) if (bytes.length >= 12) assert.ok(!contains(all, bytes.subarray(0, 12)), 'a removed or replaced file’s marker survived');
          if (run % 5 === 1) {
            const { stdout } = await runTool('7zz', ['t', out], { env: TOOL_ENV, timeoutMs: 60_000 });
            assert.match(stdout, /Everything is Ok/);
          }
        },
      ),
      { numRuns: 40, seed: 9090 },
    );
    assert.ok(keptRuns >= 20, `${keptRuns} of ${run} runs kept files in the base`);
  });
});
