// The append writer against independent tools: WIMs that wimlib-imagex made (with real NT
// security descriptors from the corpus's empty_dacl.wim, no/XPRESS/LZX compression, with and
// without an integrity table, two images) are edited with openWimEdit, then checked with
// `wimlib-imagex verify`, `7zz t`, `wimlib-imagex dir --detailed` and `extract`, and our reader.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { copyFile, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { corpusPath, hasCorpus, makeTempDir } from '../../../test/helpers/corpus.js';
import type { DeployForgeError } from '../../errors.js';
import { FileSource } from '../../util/byte-source.js';
import { runTool } from '../../util/exec.js';
import { openWimEdit } from './edit.js';
import { openWimImage } from './image.js';
import { verifyWimIntegrity } from './integrity.js';
import { openWim } from './wim-file.js';

const wimlib = (args: string[]) => runTool('wimlib-imagex', args, { timeoutMs: 120_000 });
const sha1 = (b: Uint8Array | string) => createHash('sha1').update(b).digest('hex');
const sha256File = async (p: string) =>
  createHash('sha256')
    .update(await readFile(p))
    .digest('hex');
const txt = (s: string) => Buffer.from(s);
const FIXED_NOW = () => new Date('2024-05-06T07:08:09Z');

interface DirInfo {
  attributes: string;
  sd: string | null;
  hash: string;
  creation: string;
  access: string;
  write: string;
}

/** `wimlib-imagex dir --detailed` as path → the fields these tests compare. */
async function dirDetailed(file: string, image: number): Promise<Map<string, DirInfo>> {
  const text = (await wimlib(['dir', file, String(image), '--detailed'])).stdout;
  const out = new Map<string, DirInfo>();
  for (const block of text.split(/^-{20,}$/m)) {
    const path = /^Full Path\s+= "(.*)"$/m.exec(block)?.[1];
    if (path === undefined) continue;
    const field = (name: string) => new RegExp(`^${name}\\s+= (.*)$`, 'm').exec(block)?.[1] ?? '';
    out.set(path, {
      attributes: field('Attributes'),
      sd: field('Security Descriptor') || null,
      hash: /^Hash\s+= 0x([0-9a-f]+)$/m.exec(block)?.[1] ?? '',
      creation: field('Creation Time'),
      access: field('Last Access Time'),
      write: field('Last Write Time'),
    });
  }
  return out;
}

/** SHA-1 of every regular file under `dir`, keyed by '/'-separated path. */
async function hashTree(dir: string, prefix = ''): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) for (const [k, v] of await hashTree(p, `${prefix}/${e.name}`)) out.set(k, v);
    else out.set(`${prefix}/${e.name}`, sha1(await readFile(p)));
  }
  return out;
}

async function imageCounts(file: string, image: number): Promise<Record<string, string>> {
  const text = (await wimlib(['info', file, String(image)])).stdout;
  const get = (label: string) => new RegExp(`^${label}:\\s+(.*)$`, 'm').exec(text)?.[1] ?? '';
  return { dirs: get('Directory Count'), files: get('File Count'), bytes: get('Total Bytes'), hardLinkBytes: get('Hard Link Bytes') };
}

let tmp: { path: string; cleanup: () => Promise<void> };
let tree: string;
let tree2: string;

before(async () => {
  tmp = await makeTempDir('deployforge-wimedit-');
  tree = join(tmp.path, 'tree');
  tree2 = join(tmp.path, 'tree2');
  await mkdir(join(tree, 'sub', 'deeper'), { recursive: true });
  await mkdir(join(tree, 'empty'));
  await mkdir(tree2);
  await writeFile(join(tree, 'a.txt'), 'alpha\n');
  await writeFile(join(tree, 'sub', 'r.bin'), randomBytes(300_000));
  await writeFile(join(tree, 'sub', 'deeper', 'text.txt'), 'lorem ipsum '.repeat(20_000));
  await writeFile(join(tree, 'dup.txt'), 'shared');
  await writeFile(join(tree2, 'two.txt'), 'image two');
});

after(async () => {
  await tmp?.cleanup();
});

/** A WIM whose image 1 holds empty_dacl.wim's root and /file (both with NT security
 *  descriptors, /file with attributes 0x20) plus /dir from `tree`; image 2 from `tree2`. */
async function makeFixture(name: string, compress: string, check: boolean): Promise<string> {
  const file = join(tmp.path, `${name}.wim`);
  const checkArgs = check ? ['--check'] : [];
  await wimlib(['export', corpusPath('wim/wimlib/empty_dacl.wim'), '1', file, `--compress=${compress}`, ...checkArgs]);
  await runTool('wimlib-imagex', ['update', file, '1', ...checkArgs], { input: `add ${tree} /dir\n`, timeoutMs: 120_000 });
  await wimlib(['append', tree2, file, 'two', ...checkArgs]);
  return file;
}

const VARIANTS = [
  { name: 'none', compress: 'none', check: false },
  { name: 'xpress-check', compress: 'xpress', check: true },
  { name: 'lzx-check', compress: 'lzx', check: true },
  { name: 'lzx', compress: 'lzx', check: false },
];

describe('openWimEdit against wimlib-imagex and 7-Zip', { skip: !hasCorpus() && 'the shared corpus is not there' }, () => {
  for (const v of VARIANTS) {
    test(`${v.name}: keeps the security descriptor of a replaced file, and a mixed edit verifies and extracts`, async () => {
      const file = await makeFixture(v.name, v.compress, v.check);
      const original = await sha256File(file);
      const before = await dirDetailed(file, 1);
      const beforeTwo = await dirDetailed(file, 2);
      assert.ok(before.get('/file')?.sd, 'the fixture has a security descriptor on /file');

      const edit = await openWimEdit(file, 1, { now: FIXED_NOW });
      const checkpoint = await edit.checkpoint();
      const replaced = randomBytes(200_000);
      const hive = join(tmp.path, `${v.name}-hive`);
      await writeFile(hive, Buffer.concat([Buffer.from('regf'), Buffer.alloc(70_000, 1)]));
      edit.replaceFile('/file', replaced);
      edit.replaceFile('/DIR/A.TXT', hive); // case-insensitive, contents from a local file
      edit.addFile('/dir/new/deep/added.txt', txt('shared')); // parents made; contents already in the WIM
      edit.mkdir('/made');
      edit.addFile('/made/empty.txt', new Uint8Array(0));
      edit.delete('/dir/sub/r.bin');
      edit.rename('/dir/sub/deeper', '/made/renamed');
      edit.rename('/dir/dup.txt', '/dir/dup-moved.txt');
      edit.delete('/dir/empty');
      assert.equal(edit.stat('/file').size, replaced.length);
      assert.deepEqual(edit.stat('/made/empty.txt').securityDescriptor, edit.stat('/').securityDescriptor);
      assert.ok(edit.stat('/file').securityDescriptor);
      assert.equal(edit.stat('/made/renamed/text.txt').isDirectory, false);
      const result = await edit.commit();
      assert.equal(result.changed, true);
      assert.equal(result.blobsReused, 1);

      await wimlib(['verify', file]);
      const t = await runTool('7zz', ['t', file]);
      assert.match(t.stdout, /Everything is Ok/);

      const now = await dirDetailed(file, 1);
      const f = now.get('/file') as DirInfo;
      const was = before.get('/file') as DirInfo;
      assert.equal(f.sd, was.sd, 'security descriptor kept');
      assert.equal(f.attributes, was.attributes, 'attributes kept');
      assert.equal(f.creation, was.creation);
      assert.equal(f.access, was.access);
      assert.equal(f.hash, sha1(replaced), 'new contents');
      assert.equal(f.write, 'Mon May 06 07:08:09 2024 UTC');
      assert.equal(now.get('/')?.sd, before.get('/')?.sd);
      // New entries inherit their parent's descriptor and get ARCHIVE / DIRECTORY.
      assert.equal(now.get('/made')?.sd, before.get('/')?.sd);
      assert.match(now.get('/made')?.attributes ?? '', /^0x00000010$/);
      assert.match(now.get('/made/empty.txt')?.attributes ?? '', /^0x00000020$/);
      assert.equal(now.get('/made/empty.txt')?.sd, before.get('/')?.sd);
      assert.equal(now.get('/dir/a.txt')?.attributes, before.get('/dir/a.txt')?.attributes);
      // The other image is untouched.
      assert.deepEqual(await dirDetailed(file, 2), beforeTwo);

      const expected = new Map<string, string>([
        ['/file', sha1(replaced)],
        ['/dir/a.txt', sha1(await readFile(hive))],
        ['/dir/new/deep/added.txt', sha1('shared')],
        ['/dir/dup-moved.txt', sha1('shared')],
        ['/made/empty.txt', sha1('')],
        ['/made/renamed/text.txt', sha1('lorem ipsum '.repeat(20_000))],
      ]);
      const out = join(tmp.path, `${v.name}-x`);
      await wimlib(['extract', file, '1', `--dest-dir=${out}`, '--no-acls']);
      assert.deepEqual(await hashTree(out), expected);
      for (const dir of ['/dir/sub', '/made/renamed', '/dir/new/deep']) assert.ok((await stat(join(out, dir))).isDirectory(), dir);

      // Our reader agrees, including the integrity table.
      const source = await FileSource.open(file);
      try {
        const wim = await openWim(source);
        assert.equal(wim.header.flags.writeInProgress, false);
        assert.equal(wim.integrity !== null, v.check);
        if (v.check) assert.deepEqual(await verifyWimIntegrity(source, wim.header), { ok: true, badChunks: [] });
        const image = await openWimImage(wim, 1);
        for (const [path, hash] of expected) {
          const blob = await image.openFile(path);
          assert.equal(sha1(await blob.readAll()), hash, path);
        }
        assert.equal(image.stat('/file').securityDescriptor?.length, (was.sd?.length ?? 0) / 2);
      } finally {
        await source.close();
      }

      // XML counts equal what wimlib counts for the same tree (capture of the extraction).
      const recount = join(tmp.path, `${v.name}-recount.wim`);
      await wimlib(['capture', out, recount, 'recount']);
      assert.deepEqual(await imageCounts(file, 1), await imageCounts(recount, 1));

      await edit.rollback(checkpoint);
      assert.equal(await sha256File(file), original, 'rollback gives the original bytes');
    });
  }

  test('edits the second image of a two-image WIM and leaves the first alone', async () => {
    const file = await makeFixture('second', 'xpress', false);
    const one = await dirDetailed(file, 1);
    const edit = await openWimEdit(file, 2);
    edit.replaceFile('/two.txt', txt('changed'));
    edit.addFile('/more.txt', txt('more'));
    await edit.commit();
    await wimlib(['verify', file]);
    assert.deepEqual(await dirDetailed(file, 1), one);
    const two = await dirDetailed(file, 2);
    assert.equal(two.get('/two.txt')?.hash, sha1('changed'));
    assert.equal(two.get('/more.txt')?.hash, sha1('more'));
  });

  test('stacked checkpoints roll back to each commit exactly', async () => {
    const file = await makeFixture('stacked', 'lzx', true);
    const h0 = await sha256File(file);
    const edit = await openWimEdit(file, 1);
    const cp0 = await edit.checkpoint();
    edit.replaceFile('/file', txt('first'));
    await edit.commit();
    const h1 = await sha256File(file);
    const cp1 = await edit.checkpoint();
    edit.replaceFile('/file', txt('second'));
    edit.delete('/dir/a.txt');
    await edit.commit();
    await wimlib(['verify', file]);
    assert.equal((await dirDetailed(file, 1)).get('/file')?.hash, sha1('second'));
    await edit.rollback(cp1);
    assert.equal(await sha256File(file), h1);
    assert.equal(edit.stat('/file').streams[0].sha1, sha1('first'));
    await wimlib(['verify', file]);
    await edit.rollback(cp0);
    assert.equal(await sha256File(file), h0);
  });

  test('after each commit the edit holds what a fresh open of the file reads (nothing is read back)', async () => {
    // The state a commit adopts from what it wrote, against the state load() reads from disk.
    const stateOf = (edit: unknown) => {
      const state = (edit as { state: Record<string, unknown> }).state;
      return { ...state, header: Buffer.from(state.header as Uint8Array) };
    };
    for (const [name, compress, check, image] of [
      ['adopt-none', 'none', false, 1],
      ['adopt-xpress-check', 'xpress', true, 1],
      ['adopt-lzx-check', 'lzx', true, 2],
    ] as const) {
      const file = await makeFixture(name, compress, check);
      const edit = await openWimEdit(file, image, { now: FIXED_NOW });
      const rounds: Array<(e: typeof edit) => void> = [
        (e) => {
          e.addFile('/new/one.txt', txt('one'));
          e.addFile('/new/big.bin', randomBytes(100_000));
        },
        (e) => {
          e.replaceFile('/new/one.txt', txt('one, again'));
          e.rename('/new/big.bin', '/moved.bin');
          e.mkdir('/empty/folder');
        },
        (e) => {
          e.delete('/new');
          e.addFile('/moved-copy.bin', txt('shared'));
        },
      ];
      for (const [round, apply] of rounds.entries()) {
        apply(edit);
        await edit.commit();
        const fresh = await openWimEdit(file, image, { now: FIXED_NOW });
        assert.deepStrictEqual(stateOf(edit), stateOf(fresh), `${name}, commit ${round + 1}`);
      }
      await wimlib(['verify', file]);
    }
  });

  test('commits nothing when nothing changed, and refuses what it cannot do', async () => {
    const file = await makeFixture('refuse', 'none', false);
    const h0 = await sha256File(file);
    const edit = await openWimEdit(file, 1);
    assert.equal((await edit.commit()).changed, false);
    assert.equal(await sha256File(file), h0);
    const code = (fn: () => unknown) => assert.throws(fn, (e: DeployForgeError) => typeof e.code === 'string' && e.code.startsWith('DF_'));
    code(() => edit.replaceFile('/dir', txt('x')));
    assert.throws(
      () => edit.replaceFile('/nope', txt('x')),
      (e: DeployForgeError) => e.code === 'DF_WIM_PATH_NOT_FOUND',
    );
    assert.throws(
      () => edit.addFile('/file', txt('x')),
      (e: DeployForgeError) => e.code === 'DF_WIM_PATH_EXISTS',
    );
    assert.throws(
      () => edit.rename('/dir', '/dir/sub/x'),
      (e: DeployForgeError) => e.code === 'DF_WIM_BAD_PATH',
    );
    assert.throws(
      () => edit.delete('/'),
      (e: DeployForgeError) => e.code === 'DF_WIM_BAD_PATH',
    );
    await assert.rejects(openWimEdit(file, 3), (e: DeployForgeError) => e.code === 'DF_WIM_NO_SUCH_IMAGE');
    const esd = join(tmp.path, 'refuse.esd');
    await wimlib(['export', file, '1', esd, '--solid']);
    await assert.rejects(openWimEdit(esd, 1), (e: DeployForgeError) => e.code === 'DF_WIM_EDIT_UNSUPPORTED');
    // A second editor's commit makes the first one's stale.
    const other = await openWimEdit(file, 1);
    other.addFile('/x.txt', txt('x'));
    await other.commit();
    edit.addFile('/y.txt', txt('y'));
    await assert.rejects(edit.commit(), (e: DeployForgeError) => e.code === 'DF_WIM_CHANGED');
  });

  test('addTree adds a local folder with inherited descriptors', async () => {
    const file = await makeFixture('tree', 'xpress', true);
    const edit = await openWimEdit(file, 1);
    await edit.addTree('/Windows/Setup/Scripts', tree);
    await edit.commit();
    await wimlib(['verify', file]);
    const out = join(tmp.path, 'tree-x');
    await wimlib(['extract', file, '1', '/Windows/Setup/Scripts', `--dest-dir=${out}`, '--no-acls']);
    assert.deepEqual(await hashTree(join(out, 'Scripts')), await hashTree(tree));
    const listing = await dirDetailed(file, 1);
    assert.equal(listing.get('/Windows/Setup/Scripts/sub/r.bin')?.sd, listing.get('/')?.sd);
  });

  test('copy of the corpus WIM keeps its bytes before the old end', async () => {
    const file = join(tmp.path, 'dacl.wim');
    await copyFile(corpusPath('wim/wimlib/empty_dacl.wim'), file);
    const old = await readFile(file);
    const edit = await openWimEdit(file, 1);
    edit.replaceFile('/file', txt('new'));
    await edit.commit();
    await wimlib(['verify', file]);
    const now = await readFile(file);
    assert.ok(now.subarray(208, old.length).equals(old.subarray(208)), 'old data untouched');
  });
});
