// The ISO writer checked by independent readers: udfinfo (UDF structures and counts), 7-Zip
// (listing, test, extraction), isoinfo and xorriso (ISO 9660 side and El Torito), and our reader.
import assert from 'node:assert/strict';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { makeTempDir } from '../../../test/helpers/corpus.js';
import { InputError } from '../../errors.js';
import type { ProgressEvent } from '../../progress.js';
import { BufferSource, FileSource } from '../../util/byte-source.js';
import { runTool } from '../../util/exec.js';
import { type IsoImage, openIso } from './index.js';
import { type IsoInputFile, type IsoWriteMode, planIso, writeIso, writeIsoFile } from './iso-writer.js';
import { type ListedFile, listWith7z, patternBytes, reportElTorito, sha256, sha256File, udfinfo, writeTree } from './test-support.js';

const TIME = new Date('2024-03-04T05:06:07Z');
const LABEL = 'DF_WRITER_TEST';
const BOOT = [
  { platform: 0, imagePath: 'boot/etfsboot.com' },
  { platform: 0xef, imagePath: 'efi/microsoft/boot/efisys.bin' },
];
const TREE = new Map<string, Uint8Array>([
  ['boot/etfsboot.com', patternBytes(4096, 1)],
  ['efi/microsoft/boot/efisys.bin', patternBytes(64 * 1024, 2)],
  ['sources/install.wim', patternBytes(5 * 1024 * 1024 + 777, 3)],
  ['sources/empty.txt', new Uint8Array(0)],
  ['sources/d1/d2/d3/d4/d5/d6/d7/d8/d9/leaf.txt', patternBytes(10, 4)],
  ['Ünïcödé/日本語 ファイル.txt', patternBytes(3000, 5)],
  ['support/A Long File Name With Spaces And More Words.inf', patternBytes(2048, 6)],
  ['setup.exe', patternBytes(5000, 7)],
]);
const EMPTY_DIRS = ['support/empty folder'];
const TOOL_ENV = { ...process.env, LC_ALL: 'C.UTF-8', LANG: 'C.UTF-8' };

let temp: { path: string; cleanup: () => Promise<void> };
const opened: FileSource[] = [];

async function open(path: string, tree?: 'udf' | 'iso9660' | 'joliet'): Promise<IsoImage> {
  const source = await FileSource.open(path);
  opened.push(source);
  return openIso(source, tree ? { tree } : {});
}

async function inputsFromDisk(root: string): Promise<IsoInputFile[]> {
  const out: IsoInputFile[] = [];
  for (const path of TREE.keys()) {
    const source = await FileSource.open(join(root, path));
    opened.push(source);
    out.push({ path, size: source.size, source });
  }
  return out;
}

async function listOurs(iso: IsoImage): Promise<ListedFile[]> {
  const out: ListedFile[] = [];
  for await (const e of iso.walk()) out.push({ path: e.path, isDirectory: e.isDirectory, size: e.isDirectory ? 0 : e.size });
  return out.sort((a, b) => (a.path < b.path ? -1 : 1));
}

function expectedListing(files: Map<string, Uint8Array>, dirs: string[]): ListedFile[] {
  const out = new Map<string, ListedFile>();
  const addDirs = (path: string) => {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) out.set(`/${parts.slice(0, i).join('/')}`, { path: `/${parts.slice(0, i).join('/')}`, isDirectory: true, size: 0 });
  };
  for (const [path, bytes] of files) {
    addDirs(path);
    out.set(`/${path}`, { path: `/${path}`, isDirectory: false, size: bytes.length });
  }
  for (const d of dirs) {
    addDirs(`${d}/x`);
  }
  return [...out.values()].sort((a, b) => (a.path < b.path ? -1 : 1));
}

before(async () => {
  temp = await makeTempDir('df-isow-');
  await writeTree(join(temp.path, 'src'), TREE);
});

after(async () => {
  for (const s of opened) await s.close();
  await temp.cleanup();
});

const images = new Map<IsoWriteMode, string>();

for (const mode of ['udf', 'hybrid', 'iso9660'] as const) {
  describe(`mode ${mode}`, () => {
    let iso: string;
    before(async () => {
      iso = join(temp.path, `${mode}.iso`);
      const events: ProgressEvent[] = [];
      const result = await writeIsoFile(
        await inputsFromDisk(join(temp.path, 'src')),
        { mode, volumeLabel: LABEL, directories: EMPTY_DIRS, boot: BOOT, timestamp: TIME, progress: { emit: (e) => events.push(e) } },
        iso,
      );
      images.set(mode, iso);
      const last = events[events.length - 1];
      assert.equal(last.done, result.size);
      assert.equal(last.total, result.size);
      assert.equal(last.unit, 'bytes');
    });

    test('our reader lists every file and folder with its size and bytes', async () => {
      const image = await open(iso);
      assert.equal(image.tree, mode === 'iso9660' ? 'joliet' : 'udf');
      assert.equal(image.volumeLabel, mode === 'iso9660' ? LABEL.slice(0, 16) : LABEL);
      assert.deepEqual(await listOurs(image), expectedListing(TREE, EMPTY_DIRS));
      for (const [path, bytes] of TREE) {
        const source = await image.openFile(path);
        assert.equal(sha256(await source.read(0, source.size)), sha256(bytes), path);
      }
      if (mode !== 'iso9660') {
        assert.equal(image.trees.udf?.revision, '1.02');
      }
      if (mode === 'hybrid') {
        // The Joliet tree lists the same files, sharing the UDF tree's extents.
        const joliet = await open(iso, 'joliet');
        assert.deepEqual(await listOurs(joliet), expectedListing(TREE, EMPTY_DIRS));
        for (const path of TREE.keys()) assert.deepEqual((await joliet.stat(path))?.extents, (await image.stat(path))?.extents, path);
      }
    });

    if (mode !== 'iso9660') {
      test('udfinfo accepts the UDF side: label, revision 1.02, counts, closed integrity', async () => {
        const info = await udfinfo(iso);
        assert.equal(info.get('label'), LABEL);
        assert.equal(info.get('udfrev'), '1.02');
        assert.equal(info.get('numfiles'), String(TREE.size));
        // Folders including the root.
        assert.equal(info.get('numdirs'), String(expectedListing(TREE, EMPTY_DIRS).filter((e) => e.isDirectory).length + 1));
        assert.equal(info.get('integrity'), 'closed');
        assert.equal(info.get('impid'), '*DeployForge');
      });
    }

    test('7-Zip lists every file with its size, tests the image, and extracts the same bytes', async () => {
      const listed = await listWith7z(iso);
      assert.equal(listed.type, mode === 'iso9660' ? 'Iso' : 'Udf');
      assert.deepEqual(
        listed.files.sort((a, b) => (a.path < b.path ? -1 : 1)),
        expectedListing(TREE, EMPTY_DIRS),
      );
      const { stdout } = await runTool('7zz', ['t', iso], { env: TOOL_ENV, timeoutMs: 60_000 });
      assert.match(stdout, /Everything is Ok/);
      const out = join(temp.path, `x-${mode}`);
      await mkdir(out);
      await runTool('7zz', ['x', '-y', `-o${out}`, iso], { env: TOOL_ENV, timeoutMs: 60_000 });
      for (const [path, bytes] of TREE) assert.equal(await sha256File(join(out, path)), sha256(bytes), path);
    });

    test('xorriso reports both El Torito entries at the boot files; isoinfo reads the ISO 9660 side', async () => {
      const boot = await reportElTorito(iso);
      const image = await open(iso);
      assert.equal(boot.length, 2);
      assert.deepEqual(
        boot.map((b) => [b.platform, b.emulation, b.loadSegment, b.loadSize]),
        [
          ['BIOS', 'none', 0x7c0, 8],
          ['UEFI', 'none', 0, 128],
        ],
      );
      assert.equal(boot[0].lba * 2048, (await image.stat('boot/etfsboot.com'))?.extents[0].offset);
      assert.equal(boot[1].lba * 2048, (await image.stat('efi/microsoft/boot/efisys.bin'))?.extents[0].offset);
      assert.deepEqual(
        image.bootCatalog.map((e) => e.bootImagePath),
        ['/boot/etfsboot.com', '/efi/microsoft/boot/efisys.bin'],
      );
      const { stdout } = await runTool('isoinfo', ['-d', '-i', iso], { env: TOOL_ENV });
      assert.match(stdout, new RegExp(`Volume id: ${LABEL}`));
      assert.match(stdout, /El Torito VD version 1 found/);
      if (mode === 'udf') {
        assert.match(stdout, /NO Joliet present/);
        const listing = (await runTool('isoinfo', ['-l', '-i', iso], { env: TOOL_ENV })).stdout;
        assert.match(listing, /README\.TXT;1/);
        const plain = await open(iso, 'iso9660');
        assert.deepEqual(
          (await listOurs(plain)).map((e) => e.path),
          ['/README.TXT'],
        );
      } else {
        assert.match(stdout, /Joliet with UCS level 3 found/);
        const listing = (await runTool('isoinfo', ['-J', '-f', '-i', iso], { env: TOOL_ENV })).stdout;
        assert.match(listing, /\/sources\/install\.wim/);
        const plain = await open(iso, 'iso9660');
        assert.equal((await listOurs(plain)).filter((e) => !e.isDirectory).length, TREE.size);
      }
    });
  });
}

describe('remastering and determinism', () => {
  test('files taken from another ISO (ExtentSources) are copied exactly', async () => {
    const original = await open(images.get('udf') ?? '');
    const inputs: IsoInputFile[] = [];
    for await (const e of original.walk()) {
      if (e.isDirectory) continue;
      const source = await original.openFile(e.path);
      inputs.push({ path: e.path, size: source.size, source });
    }
    const out = join(temp.path, 'remaster.iso');
    await writeIsoFile(inputs, { mode: 'hybrid', volumeLabel: 'REMASTER', boot: BOOT, timestamp: TIME }, out);
    const copy = await open(out);
    for (const [path, bytes] of TREE) {
      const source = await copy.openFile(path);
      assert.equal(sha256(await source.read(0, source.size)), sha256(bytes), path);
    }
  });

  test('the same inputs give the same bytes; another timestamp gives other bytes', async () => {
    const files = [...TREE].map(([path, bytes]) => ({ path, size: bytes.length, source: new BufferSource(bytes) }));
    const hashOf = async (timestamp: Date) => {
      const plan = planIso(files, { volumeLabel: LABEL, boot: BOOT, timestamp });
      const parts: Uint8Array[] = [];
      await writeIso(plan, async (c) => {
        parts.push(c.slice());
      });
      return sha256(Buffer.concat(parts));
    };
    assert.equal(await hashOf(TIME), await hashOf(TIME));
    assert.notEqual(await hashOf(TIME), await hashOf(new Date('2025-01-01T00:00:00Z')));
  });

  test('dedupeKey stores equal files once', async () => {
    const bytes = patternBytes(10_000, 9);
    const files = ['a/one.bin', 'b/two.bin'].map((path) => ({ path, size: bytes.length, source: new BufferSource(bytes), dedupeKey: sha256(bytes) }));
    const plan = planIso(files, { volumeLabel: 'DEDUPE', timestamp: TIME });
    assert.equal(plan.files[0].lba, plan.files[1].lba);
    assert.deepEqual(
      plan.files.map((f) => f.deduplicated),
      [false, true],
    );
    const out = join(temp.path, 'dedupe.iso');
    await writeIsoFile(files, { volumeLabel: 'DEDUPE', timestamp: TIME }, out);
    const image = await open(out);
    for (const f of files) assert.equal(sha256(await (await image.openFile(f.path)).read(0, bytes.length)), sha256(bytes));
  });
});

describe('validation', () => {
  test('every problem is reported at once in an InputError', () => {
    const one = new BufferSource(new Uint8Array(4));
    const files: IsoInputFile[] = [
      { path: 'a/file.txt', size: 4, source: one },
      { path: 'A/FILE.TXT', size: 4, source: one },
      { path: 'a/file.txt/inside', size: 4, source: one },
      { path: 'b/../c', size: 4, source: one },
      { path: 'wrong-size', size: 5, source: one },
    ];
    assert.throws(
      () => planIso(files, { volumeLabel: 'X'.repeat(33), boot: [{ platform: 0, imagePath: 'boot/missing.com' }] }),
      (e: unknown) => {
        assert.ok(e instanceof InputError);
        assert.equal(e.code, 'DF_ISO_BAD_INPUT');
        assert.match(e.message, /\/A\/FILE\.TXT is given twice/);
        assert.match(e.message, /\/a\/file\.txt is a file, so nothing can be inside it/);
        assert.match(e.message, /"\.\." component/);
        assert.match(e.message, /holds 4 bytes/);
        assert.match(e.message, /33 characters/);
        assert.match(e.message, /boot image boot\/missing\.com is not one of the image's files/);
        return true;
      },
    );
  });
});

describe('property: random trees', () => {
  const name = fc.oneof(fc.stringMatching(/^[A-Za-z0-9_-]([A-Za-z0-9 _.-]{0,14}[A-Za-z0-9_-])?$/), fc.constantFrom('日本語', 'Ünïcödé.txt', 'ŝpecial ĉars', 'ü', 'Ω.bin'));
  const entry = fc.record({
    parts: fc.array(name, { minLength: 1, maxLength: 4 }),
    size: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 5000 }), fc.integer({ min: 2040, max: 2056 })),
  });
  let n = 0;

  test('our reader and 7-Zip list the files and sizes that were written', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(entry, { minLength: 1, maxLength: 25 }), fc.constantFrom<IsoWriteMode>('udf', 'hybrid', 'iso9660'), async (entries, mode) => {
        // Drop paths that clash (case-insensitively) with an earlier file or folder.
        const files = new Map<string, number>();
        const fileKeys = new Set<string>();
        const dirs = new Set<string>();
        for (const { parts, size } of entries) {
          const lower = parts.map((p) => p.toLowerCase());
          const prefixes = lower.slice(0, -1).map((_, i) => lower.slice(0, i + 1).join('/'));
          const key = lower.join('/');
          if (fileKeys.has(key) || dirs.has(key) || prefixes.some((p) => fileKeys.has(p))) continue;
          files.set(parts.join('/'), size);
          fileKeys.add(key);
          for (const p of prefixes) dirs.add(p);
        }
        const contents = new Map([...files].map(([path, size], i) => [path, patternBytes(size, i + 1)]));
        const inputs = [...contents].map(([path, bytes]) => ({ path, size: bytes.length, source: new BufferSource(bytes) }));
        const out = join(temp.path, `prop-${n++}.iso`);
        await writeIsoFile(inputs, { mode, volumeLabel: 'PROP', timestamp: TIME }, out);
        const expected = expectedListing(contents, []);
        const image = await open(out);
        assert.deepEqual(await listOurs(image), expected);
        const listed = await listWith7z(out);
        assert.deepEqual(
          listed.files.sort((a, b) => (a.path < b.path ? -1 : 1)),
          expected,
        );
        for (const [path, bytes] of contents) {
          const source = await image.openFile(path);
          assert.equal(sha256(await source.read(0, source.size)), sha256(bytes));
        }
        assert.ok((await readFile(out)).length % 2048 === 0);
      }),
      { numRuns: 20, seed: 4242 },
    );
  });
});
