// Reads files out of WIMs that wimlib-imagex (an independent implementation) captured from a
// tree made here, and compares: our walk against `wimlib-imagex dir --detailed`, every file we
// stream against `wimlib-imagex extract`. Each compression runs only when its codec module
// exists (the codecs are written separately); a missing one is skipped with a note.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { link, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { corpusPath, hasCorpus, makeTempDir } from '../../../test/helpers/corpus.js';
import type { DeployForgeError } from '../../errors.js';
import { BufferSource, FileSource } from '../../util/byte-source.js';
import { runTool } from '../../util/exec.js';
import { hasDecompressor } from './codecs.js';
import type { WimCompression } from './header.js';
import { openWimImage, openWimSet, type WimEntryStat, type WimImage } from './image.js';
import { openWim, type WimFile } from './wim-file.js';

const wimlib = (args: string[]) => runTool('wimlib-imagex', args, { timeoutMs: 120_000 });

interface DirEntry {
  attributes: number;
  shortName: string;
  times: number[];
  linkGroup: string;
  linkCount: number;
  reparseTag: number | null;
  streams: { kind: string; hash: string; size: number }[];
}

/** Parses `wimlib-imagex dir --detailed` into one record per path. */
export function parseDirDetailed(text: string): Map<string, DirEntry> {
  const out = new Map<string, DirEntry>();
  for (const block of text.split(/^-{20,}$/m)) {
    const path = /^Full Path\s+= "(.*)"$/m.exec(block)?.[1];
    if (path === undefined) continue;
    const field = (name: string) => new RegExp(`^${name}\\s+= (.*)$`, 'm').exec(block)?.[1] ?? '';
    const streams: DirEntry['streams'] = [];
    for (const m of block.matchAll(/^\t(.*) stream.*:\nHash\s+= 0x([0-9a-f]+)\nUncompressed size = (\d+) bytes/gm)) {
      streams.push({ kind: m[1], hash: m[2], size: Number(m[3]) });
    }
    out.set(path, {
      attributes: Number.parseInt(field('Attributes'), 16),
      shortName: /^"(.*)"$/.exec(field('Short Name'))?.[1] ?? '',
      times: ['Creation Time', 'Last Write Time', 'Last Access Time'].map((f) => Date.parse(field(f))),
      linkGroup: field('Link Group ID'),
      linkCount: Number(field('Link Count')),
      reparseTag: field('Reparse Tag') ? Number.parseInt(field('Reparse Tag'), 16) : null,
      streams,
    });
  }
  return out;
}

const seconds = (filetime: bigint) => Number(filetime / 10_000_000n) * 1000 - 11644473600000;
const ZERO = '0'.repeat(40);

/** Asserts that our view of an image matches wimlib's, entry by entry. */
export function compareWithWimlib(image: WimImage, theirs: Map<string, DirEntry>): void {
  const ours = new Map<string, WimEntryStat>();
  for (const s of image.walk()) ours.set(s.path, s);
  assert.deepEqual([...ours.keys()].sort(), [...theirs.keys()].sort());
  const groups = new Map<bigint, string>();
  for (const [path, t] of theirs) {
    const o = ours.get(path) as WimEntryStat;
    assert.equal(o.attributes, t.attributes, `${path} attributes`);
    assert.equal(o.shortName, t.shortName, `${path} short name`);
    assert.deepEqual([o.creationTime, o.lastWriteTime, o.lastAccessTime].map(seconds), t.times, `${path} times`);
    assert.equal(o.reparseTag, t.reparseTag, `${path} reparse tag`);
    assert.equal(o.linkCount, t.linkCount, `${path} link count`);
    if (o.hardLinkGroupId !== 0n) {
      const seen = groups.get(o.hardLinkGroupId);
      if (seen) assert.equal(t.linkGroup, seen, `${path} link group`);
      else groups.set(o.hardLinkGroupId, t.linkGroup);
    }
    for (const ts of t.streams) {
      const type = ts.kind === 'Reparse point' ? 'reparse' : 'data';
      const os = o.streams.find((s) => s.type === type && s.name === '');
      assert.ok(os, `${path} has a ${type} stream`);
      assert.equal(os.sha1 ?? ZERO, ts.hash, `${path} ${type} hash`);
      assert.equal(os.size, ts.size, `${path} ${type} size`);
    }
    if (!t.streams.some((s) => s.kind === 'Unnamed data')) {
      assert.equal(o.streams.find((s) => s.type === 'data' && s.name === '')?.sha1 ?? null, null, `${path} has no data`);
    }
  }
}

async function sha1Of(image: WimImage, path: string): Promise<string> {
  const hash = createHash('sha1');
  for await (const piece of (await image.openFile(path)).stream()) hash.update(piece);
  return hash.digest('hex');
}

/** Asserts every regular file we stream equals wimlib's extraction of it. */
async function compareContents(image: WimImage, extracted: string): Promise<number> {
  let files = 0;
  for (const s of image.walk()) {
    if (s.isDirectory || s.reparseTag !== null) continue;
    const expected = createHash('sha1')
      .update(await readFile(join(extracted, s.path)))
      .digest('hex');
    assert.equal(await sha1Of(image, s.path), expected, s.path);
    files++;
  }
  return files;
}

let tmp: { path: string; cleanup: () => Promise<void> };
let tree: string;
let big: Buffer;
const opened: FileSource[] = [];

async function open(path: string): Promise<WimFile> {
  const source = await FileSource.open(path);
  opened.push(source);
  return openWim(source);
}

before(async () => {
  tmp = await makeTempDir('deployforge-wimimage-');
  tree = join(tmp.path, 'tree');
  await mkdir(join(tree, 'a', 'b', 'c', 'd', 'e'), { recursive: true });
  await mkdir(join(tree, 'empty dir'));
  await mkdir(join(tree, 'ünï cödé', '日本語'), { recursive: true });
  await writeFile(join(tree, 'a', 'hello.txt'), 'hello\n');
  await writeFile(join(tree, 'a', 'b', 'zero'), '');
  await writeFile(join(tree, 'a', 'b', 'c', 'd', 'e', 'deep.txt'), 'deep');
  await writeFile(join(tree, 'ünï cödé', '日本語', 'файл.txt'), 'unicode ✓'.repeat(100));
  await writeFile(join(tree, 'ünï cödé', 'emoji 😀.bin'), randomBytes(5000));
  // Spans many chunks at every chunk size: half compressible text, half random bytes, so some
  // chunks are stored compressed and some raw.
  const text = Buffer.from('The quick brown fox jumps over the lazy dog. '.repeat(30000));
  big = Buffer.concat([text, randomBytes(700_000)]);
  await writeFile(join(tree, 'big.bin'), big);
  for (let i = 0; i < 40; i++) await writeFile(join(tree, 'a', `file${i}.txt`), `file ${i}\n`.repeat(i * 50));
  await link(join(tree, 'a', 'hello.txt'), join(tree, 'a', 'b', 'hardlink.txt'));
  await link(join(tree, 'big.bin'), join(tree, 'a', 'big-link.bin'));
  await symlink('a/hello.txt', join(tree, 'link'));
  await writeFile(join(tree, 'a', 'dup-content.txt'), 'hello\n');
});

after(async () => {
  for (const s of opened) await s.close();
  await tmp?.cleanup();
});

const VARIANTS: { name: string; compression: WimCompression; args: string[] }[] = [
  { name: 'none', compression: 'none', args: ['--compress=none'] },
  { name: 'xpress', compression: 'xpress', args: ['--compress=xpress'] },
  { name: 'lzx', compression: 'lzx', args: ['--compress=lzx'] },
  { name: 'lzms', compression: 'lzms', args: ['--compress=lzms'] },
  { name: 'lzx 2 MiB chunks', compression: 'lzx', args: ['--compress=lzx', '--chunk-size=2M'] },
  { name: 'solid lzms (ESD)', compression: 'lzms', args: ['--solid', '--solid-chunk-size=128K'] },
  { name: 'solid xpress', compression: 'xpress', args: ['--solid', '--solid-compress=xpress', '--solid-chunk-size=64K'] },
];

describe('openWimImage against wimlib-imagex', () => {
  for (const variant of VARIANTS) {
    test(`${variant.name}: walk matches wimlib dir --detailed and every file matches wimlib extract`, async (t) => {
      if (!(await hasDecompressor(variant.compression))) {
        t.skip(`the ${variant.compression} codec (compression/${variant.compression}.ts) is not there yet`);
        return;
      }
      const file = join(tmp.path, `${variant.name.replace(/\W+/g, '_')}.wim`);
      await wimlib(['capture', tree, file, 'one', ...variant.args]);
      const wim = await open(file);
      if (variant.args.includes('--solid')) assert.equal(wim.solid, true);
      const image = await openWimImage(wim, 1);
      compareWithWimlib(image, parseDirDetailed((await wimlib(['dir', file, '1', '--detailed'])).stdout));
      // The names-only walk: walk()'s paths in walk()'s order, and the paths `wimlib-imagex dir` prints.
      const paths = [...image.walkPaths()];
      assert.deepEqual(
        paths,
        [...image.walk()].map((e) => e.path),
      );
      assert.deepEqual(new Set(paths), new Set((await wimlib(['dir', file, '1'])).stdout.split('\n').filter((l) => l !== '')));
      const out = join(tmp.path, `x-${variant.name.replace(/\W+/g, '_')}`);
      await wimlib(['extract', file, '1', `--dest-dir=${out}`, '--no-acls']);
      assert.ok((await compareContents(image, out)) > 40);
      // Ranged reads decompress only what they need and agree with the source bytes.
      const blob = await image.openFile('/BIG.BIN');
      for (const [offset, length] of [
        [0, 1],
        [32767, 2],
        [65530, 200_000],
        [big.length - 10, 10],
        [1_349_000, 3000],
        [500_000, 0],
      ]) {
        assert.deepEqual(Buffer.from(await blob.read(offset, length)), big.subarray(offset, offset + length), `range ${offset}+${length}`);
      }
      await assert.rejects(blob.read(big.length - 1, 2), (e: DeployForgeError) => e.code === 'DF_TRUNCATED');
    });
  }

  test('a multi-image WIM opens each image with its own tree', async () => {
    const file = join(tmp.path, 'multi.wim');
    const second = join(tmp.path, 'tree2');
    await mkdir(join(second, 'only-in-two'), { recursive: true });
    await writeFile(join(second, 'only-in-two', 'x.txt'), 'image two');
    await wimlib(['capture', tree, file, 'one', '--compress=none']);
    await wimlib(['append', second, file, 'two']);
    const wim = await open(file);
    const one = await openWimImage(wim, 1);
    const two = await openWimImage(wim, 2);
    assert.equal(one.lookup('/only-in-two'), undefined);
    assert.equal(Buffer.from(await (await two.openFile('only-in-two/X.TXT')).readAll()).toString(), 'image two');
    compareWithWimlib(two, parseDirDetailed((await wimlib(['dir', file, '2', '--detailed'])).stdout));
    await assert.rejects(openWimImage(wim, 3), (e: DeployForgeError) => e.code === 'DF_WIM_NO_SUCH_IMAGE');
  });

  test('a split WIM opened as a set reads blobs from every part', async () => {
    const file = join(tmp.path, 'tosplit.wim');
    await wimlib(['capture', tree, file, 'one', '--compress=none']);
    const swm = join(tmp.path, 'split.swm');
    await wimlib(['split', file, swm, '1']);
    const partNames = ['split.swm', 'split2.swm', 'split3.swm'].map((n) => join(tmp.path, n)).filter((p) => existsSync(p));
    assert.ok(partNames.length >= 2, 'wimlib made at least 2 parts');
    const parts = await Promise.all(partNames.map(open));
    const image = await openWimImage(openWimSet(parts.reverse()), 1);
    compareWithWimlib(image, parseDirDetailed((await wimlib(['dir', swm, '1', '--detailed', `--ref=${join(tmp.path, 'split*.swm')}`])).stdout));
    const out = join(tmp.path, 'x-split');
    await wimlib(['extract', swm, '1', `--dest-dir=${out}`, `--ref=${join(tmp.path, 'split*.swm')}`, '--no-acls']);
    await compareContents(image, out);
    // Part 1 alone has the tree but not every blob.
    const alone = await openWimImage(parts[parts.length - 1], 1);
    let missing = 0;
    for (const s of alone.walk()) {
      if (s.isDirectory || s.reparseTag !== null) continue;
      try {
        await sha1Of(alone, s.path);
      } catch (e) {
        assert.equal((e as DeployForgeError).code, 'DF_WIM_BLOB_MISSING');
        missing++;
      }
    }
    assert.ok(missing > 0, 'some blobs are only in later parts');
    assert.throws(
      () => openWimSet(parts.slice(1)),
      (e: DeployForgeError) => e.code === 'DF_WIM_SET_INCOMPLETE',
    );
  });
});

describe('WimImage lookups', () => {
  let image: WimImage;
  before(async () => {
    const file = join(tmp.path, 'lookups.wim');
    await wimlib(['capture', tree, file, 'one', '--compress=none']);
    image = await openWimImage(await open(file), 1);
  });

  test('finds paths case-insensitively with either separator', () => {
    assert.equal(image.lookup('\\A\\B\\HARDLINK.TXT')?.path, '/a/b/hardlink.txt');
    assert.equal(image.lookup('ÜNÏ CÖDÉ/日本語/ФАЙЛ.TXT')?.path, '/ünï cödé/日本語/файл.txt');
    assert.equal(image.lookup('/')?.path, '/');
    assert.equal(image.lookup('/a/nope'), undefined);
  });

  test('stat reports hard links, reparse points, sizes and security descriptors', () => {
    const hello = image.stat('/a/hello.txt');
    const linked = image.stat('/a/b/hardlink.txt');
    assert.equal(hello.linkCount, 2);
    assert.equal(hello.hardLinkGroupId, linked.hardLinkGroupId);
    assert.notEqual(hello.hardLinkGroupId, 0n);
    assert.equal(hello.size, 6);
    assert.equal(image.stat('/link').reparseTag, 0xa000000c);
    assert.equal(image.stat('/a/b/zero').size, 0);
    assert.equal(image.stat('/a').isDirectory, true);
    assert.deepEqual(
      image.list('/a/b').map((s) => s.name),
      ['c', 'hardlink.txt', 'zero'],
    );
  });

  test('gives clear errors for missing paths, folders and streams', async () => {
    assert.throws(
      () => image.stat('/missing'),
      (e: DeployForgeError) => e.code === 'DF_WIM_PATH_NOT_FOUND',
    );
    assert.throws(
      () => image.list('/a/hello.txt'),
      (e: DeployForgeError) => e.code === 'DF_WIM_NOT_A_DIRECTORY',
    );
    await assert.rejects(image.openFile('/a'), (e: DeployForgeError) => e.code === 'DF_WIM_IS_DIRECTORY');
    await assert.rejects(image.openFile('/a/hello.txt', 'ads'), (e: DeployForgeError) => e.code === 'DF_WIM_NO_SUCH_STREAM');
    assert.equal((await (await image.openFile('/a/b/zero')).readAll()).length, 0);
  });

  test('a corrupted blob fails its SHA-1 check when read whole, and reads with verify off', async () => {
    const file = join(tmp.path, 'corrupt.wim');
    await wimlib(['capture', tree, file, 'one', '--compress=none']);
    const bytes = await readFile(file);
    const wim = await openWim(new BufferSource(bytes, 'corrupt.wim'));
    const sha = image.stat('/big.bin').streams[0].sha1;
    const entry = wim.blobTable.entries.find((e) => e.sha1 === sha);
    assert.ok(entry);
    bytes[entry.resource.offset + 1000] ^= 0xff;
    const corrupt = await openWimImage(wim, 1);
    await assert.rejects(sha1Of(corrupt, '/big.bin'), (e: DeployForgeError) => e.code === 'DF_WIM_HASH_MISMATCH');
    await assert.rejects((await corrupt.openFile('/big.bin')).readAll(), (e: DeployForgeError) => e.code === 'DF_WIM_HASH_MISMATCH');
    assert.equal((await (await corrupt.openFile('/big.bin', '', { verify: false })).readAll()).length, big.length);
    // A range never checks: it cannot see the whole blob.
    assert.equal((await (await corrupt.openFile('/big.bin')).read(900, 200)).length, 200);
  });
});

describe('corpus WIMs and PPKGs', () => {
  const wimlibCorpus = (name: string) => corpusPath(`wim/wimlib/${name}`);

  /** Opens image 1, compares the tree with wimlib dir and every file with wimlib extract. */
  async function checkAgainstWimlib(path: string): Promise<WimImage> {
    const image = await openWimImage(await open(path), 1);
    compareWithWimlib(image, parseDirDetailed((await wimlib(['dir', path, '1', '--detailed'])).stdout));
    const out = join(tmp.path, `corpus-${path.split('/').pop()}`);
    await wimlib(['extract', path, '1', `--dest-dir=${out}`, '--no-acls', '--no-attributes']);
    await compareContents(image, out);
    return image;
  }

  for (const name of ['empty_dacl.wim', 'linux_xattrs_old.wim', 'longpaths.wim']) {
    test(`${name} reads like wimlib reads it`, { skip: !hasCorpus() }, async () => {
      await checkAgainstWimlib(wimlibCorpus(name));
    });
  }

  test('dotdot.wim and duplicate_names.wim drop the bad entries with warnings, as wimlib does', { skip: !hasCorpus() }, async () => {
    const dotdot = await checkAgainstWimlib(wimlibCorpus('dotdot.wim'));
    assert.match(dotdot.warnings.join('\n'), /named "\.\."/);
    const dup = await checkAgainstWimlib(wimlibCorpus('duplicate_names.wim'));
    assert.equal(dup.warnings.length, 2);
  });

  test('cyclic.wim is refused with a loop error', { skip: !hasCorpus() }, async () => {
    await assert.rejects(openWimImage(await open(wimlibCorpus('cyclic.wim')), 1), (e: DeployForgeError) => e.code === 'DF_WIM_DENTRY_LOOP');
  });

  test('corrupted_file_1.wim lists its tree but its file fails the SHA-1 check', { skip: !hasCorpus() }, async () => {
    const image = await openWimImage(await open(wimlibCorpus('corrupted_file_1.wim')), 1);
    assert.deepEqual(
      [...image.walk()].map((s) => s.path),
      ['/', '/file'],
    );
    await assert.rejects((await image.openFile('/file')).readAll(), (e: DeployForgeError) => e.code === 'DF_WIM_HASH_MISMATCH');
  });

  for (const name of ['OSD_Invoke-OSDCloudDriverPack.ppkg', 'OSD_osdcloud-oobe.ppkg', 'OSD_setupspecialize.ppkg', 'mOSD.ppkg']) {
    test(`${name} (XPRESS) lists and reads like wimlib`, { skip: !hasCorpus() }, async (t) => {
      if (!(await hasDecompressor('xpress'))) {
        t.skip('the xpress codec is not there yet');
        return;
      }
      const image = await checkAgainstWimlib(corpusPath(`ppkg/${name}`));
      assert.ok(image.stat('/Multivariant/0/customizations.xml').size > 0);
    });
  }
});
