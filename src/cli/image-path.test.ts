// Paths into images: the parser's forms and ambiguities, reads straight from an ISO and a WIM
// checked against wimlib and 7-Zip, and writes as one-step builds checked with wimlib verify,
// hivexget and 7-Zip, with the source's SHA-256 unchanged.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeTempDir } from '../../test/helpers/corpus.js';
import { makeFixture } from '../../test/helpers/fixtures.js';
import { REG_TYPE } from '../formats/regf/constants.js';
import { editHive } from '../formats/regf/hive-edit.js';
import { makeSampleMedia } from '../sample/sample-media.js';
import { runTool } from '../util/exec.js';
import { type ImagePath, parseImagePath, parseWimLocation, readImageFile, writeImageFile } from './image-path.js';

const SOFTWARE = '/Windows/System32/config/SOFTWARE';

async function sha256(path: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(path))
    .digest('hex');
}

/** The parser with a fixed set of existing files. */
function parse(text: string, existing: string[] = []): ImagePath {
  return parseImagePath(text, { isFile: (p) => existing.includes(p) });
}

describe('parseImagePath', () => {
  test('reads the ISO, alias, explicit-WIM, media and WIM forms', () => {
    assert.deepEqual(parse(`Win11.iso:install:6:${SOFTWARE}`), {
      kind: 'image',
      text: `Win11.iso:install:6:${SOFTWARE}`,
      wim: { file: 'Win11.iso', inIso: 'install', index: 6 },
      path: SOFTWARE,
    });
    const upper = parse('D/Win11.ISO:Boot:2:\\Windows\\System32\\config\\SYSTEM');
    assert.equal(upper.kind, 'image');
    assert.deepEqual(upper.kind === 'image' && [upper.wim, upper.path], [{ file: 'D/Win11.ISO', inIso: 'boot', index: 2 }, '/Windows/System32/config/SYSTEM']);
    const explicit = parse('X.iso:/sources/install.esd:3:Windows/Panther/unattend.xml');
    assert.deepEqual(explicit.kind === 'image' && [explicit.wim, explicit.path], [{ file: 'X.iso', inIso: 'sources/install.esd', index: 3 }, '/Windows/Panther/unattend.xml']);
    assert.deepEqual(parse('X.iso:/autounattend.xml'), { kind: 'media', text: 'X.iso:/autounattend.xml', iso: 'X.iso', path: '/autounattend.xml' });
    assert.deepEqual(parse('X.iso:sources/install.wim'), { kind: 'media', text: 'X.iso:sources/install.wim', iso: 'X.iso', path: '/sources/install.wim' }, 'the WIM file itself');
    assert.deepEqual(parse('X.iso:boot/bcd'), { kind: 'media', text: 'X.iso:boot/bcd', iso: 'X.iso', path: '/boot/bcd' }, 'a folder named like an alias');
    assert.deepEqual(parse('install.wim:6:/Users/Default/NTUSER.DAT'), {
      kind: 'image',
      text: 'install.wim:6:/Users/Default/NTUSER.DAT',
      wim: { file: 'install.wim', index: 6 },
      path: '/Users/Default/NTUSER.DAT',
    });
  });

  test('an existing file is a plain file, colons or not; an existing container wins over the first split', () => {
    assert.deepEqual(parse('./a:b', ['./a:b']), { kind: 'plain', text: './a:b', path: './a:b' });
    assert.deepEqual(parse('odd.wim:1:/x', ['odd.wim:1:/x']), { kind: 'plain', text: 'odd.wim:1:/x', path: 'odd.wim:1:/x' });
    assert.deepEqual(parse('./a:b'), { kind: 'plain', text: './a:b', path: './a:b' }, 'a missing file without a container is plain (the read says it is missing)');
    assert.equal(parse('SOFTWARE').kind, 'plain');
    const nested = parse('a.iso:b.iso:/x', ['a.iso:b.iso']);
    assert.deepEqual(nested, { kind: 'media', text: 'a.iso:b.iso:/x', iso: 'a.iso:b.iso', path: '/x' });
    assert.deepEqual(parse('a.iso:b.iso:/x'), { kind: 'media', text: 'a.iso:b.iso:/x', iso: 'a.iso', path: '/b.iso:/x' }, 'nothing exists: the first split');
  });

  test('names what is missing: the index, the path, or the syntax', () => {
    for (const text of [
      'X.iso:install:/Windows/x',
      'X.iso:install',
      'X.iso:install:6',
      'X.iso:sources/install.wim:/x',
      'X.wim:6',
      'X.wim:/x',
      'X.wim:abc',
      'X.wim:6:/',
      'X.iso:',
    ]) {
      assert.throws(() => parse(text), { code: 'DF_IMAGE_PATH_SYNTAX' }, text);
    }
  });
});

describe('parseWimLocation', () => {
  test('keeps the wim commands’ WIM[:INDEX] and ISO forms and adds the aliases', () => {
    const loc = (text: string, existing: string[] = []) => parseWimLocation(text, { isFile: (p) => existing.includes(p) });
    assert.deepEqual(loc('install.wim:6'), { file: 'install.wim', index: 6 });
    assert.deepEqual(loc('install.wim'), { file: 'install.wim', index: 1 });
    assert.deepEqual(loc('small.swm'), { file: 'small.swm', index: 1 });
    assert.deepEqual(loc('X.iso:sources/install.wim:6'), { file: 'X.iso', inIso: 'sources/install.wim', index: 6 });
    assert.deepEqual(loc('X.iso:sources/install.wim'), { file: 'X.iso', inIso: 'sources/install.wim', index: 1 });
    assert.deepEqual(loc('X.iso:INSTALL:2'), { file: 'X.iso', inIso: 'install', index: 2 });
    assert.deepEqual(loc('odd:7', ['odd:7']), { file: 'odd:7', index: 1 }, 'an existing file named with a colon');
  });
});

describe('reading and writing files in images', () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let iso: string;
  let wim: string;
  const at = (name: string) => join(tmp.path, name);

  before(async () => {
    tmp = await makeTempDir('deployforge-image-path-');
    iso = at('sample.iso');
    await makeSampleMedia(iso, { sizeMb: 8, editions: 2, workDir: tmp.path });
    await runTool('7zz', ['x', '-y', `-o${at('media')}`, iso]);
    wim = at('media/sources/install.wim');
  });
  after(async () => {
    await tmp?.cleanup();
  });

  /** The file as wimlib extracts it. */
  async function wimlibExtract(wimPath: string, index: number, path: string, dest: string): Promise<Uint8Array> {
    await runTool('wimlib-imagex', ['extract', wimPath, String(index), path, `--dest-dir=${dest}`, '--no-acls']);
    return new Uint8Array(await readFile(join(dest, path.split('/').pop() as string)));
  }

  test('reads a hive from the ISO and from the WIM, byte for byte as wimlib extracts it', async () => {
    for (const index of [1, 2]) {
      const expected = await wimlibExtract(wim, index, SOFTWARE, at(`wimlib-${index}`));
      assert.deepEqual(await readImageFile(parse(`${iso}:install:${index}:${SOFTWARE}`, [iso])), expected, `ISO alias, image ${index}`);
      assert.deepEqual(await readImageFile(parse(`${iso}:/sources/install.wim:${index}:${SOFTWARE.toLowerCase()}`, [iso])), expected, 'explicit WIM, any case');
      assert.deepEqual(await readImageFile(parse(`${wim}:${index}:${SOFTWARE}`, [wim])), expected, `WIM, image ${index}`);
    }
    assert.deepEqual(await readImageFile(parse(`${iso}:/autorun.inf`, [iso])), new Uint8Array(await readFile(at('media/autorun.inf'))), 'a file on the media');
    assert.deepEqual(
      await readImageFile(parse(`${iso}:boot:2:/sources/lang.ini`, [iso])),
      await wimlibExtract(at('media/sources/boot.wim'), 2, '/sources/lang.ini', at('wimlib-boot')),
      'boot.wim',
    );
  });

  test('reports a missing image, path or ISO member with its own code', async () => {
    await assert.rejects(readImageFile(parse(`${iso}:install:3:${SOFTWARE}`, [iso])), { code: 'DF_WIM_NO_IMAGE' });
    await assert.rejects(readImageFile(parse(`${wim}:1:/Windows/nope`, [wim])), { code: 'DF_WIM_PATH_NOT_FOUND' });
    await assert.rejects(readImageFile(parse(`${iso}:/nope.xml`, [iso])), { code: 'DF_NOT_FOUND' });
    await assert.rejects(readImageFile(parse(`${iso}:/sources/nope.wim:1:/x`, [iso])), { code: 'DF_NOT_FOUND' });
  });

  /** SOFTWARE of `ref` with one value set, as bytes. */
  async function editedSoftware(ref: ImagePath, data: string): Promise<Uint8Array> {
    const edit = editHive(await readImageFile(ref), { name: ref.text });
    edit.setValue('DeployForge', 'Note', REG_TYPE.REG_SZ, new Uint8Array(Buffer.from(`${data}\0`, 'utf16le')));
    return edit.toBytes();
  }

  test('a write into a WIM gives a new WIM wimlib verifies; the hive keeps its attributes and the source is unchanged', async () => {
    const ref = parse(`${wim}:2:${SOFTWARE}`, [wim]);
    const before = await sha256(wim);
    const out = at('edited.wim');
    const result = await writeImageFile(ref, await editedSoftware(ref, 'in a wim'), { out });
    assert.deepEqual(result, { written: out, kind: 'wim' });
    assert.equal(await sha256(wim), before, 'the source WIM is unchanged');
    await runTool('wimlib-imagex', ['verify', out]);
    await wimlibExtract(out, 2, SOFTWARE, at('check-wim'));
    assert.equal((await runTool('hivexget', [at('check-wim/SOFTWARE'), 'DeployForge', 'Note'])).stdout.trim(), 'in a wim');
    assert.deepEqual(await wimlibExtract(out, 1, SOFTWARE, at('check-wim-1')), await wimlibExtract(wim, 1, SOFTWARE, at('orig-wim-1')), 'the other edition is untouched');
    const attributes = async (path: string) =>
      (await runTool('wimlib-imagex', ['dir', path, '2', `--path=${SOFTWARE}`, '--detailed'])).stdout.split('\n').filter((l) => /^(Attributes|Creation Time|Short Name)/.test(l));
    assert.deepEqual(await attributes(out), await attributes(wim));
    assert.deepEqual(
      (await readdir(tmp.path)).filter((n) => n.startsWith('.')),
      [],
      'no workspace or partial file is left',
    );
  });

  test('a write into an ISO gives a new ISO whose install.wim holds the new value; the source ISO is unchanged', async () => {
    const ref = parse(`${iso}:install:1:${SOFTWARE}`, [iso]);
    const before = await sha256(iso);
    const out = at('edited.iso');
    assert.deepEqual(await writeImageFile(ref, await editedSoftware(ref, 'in an iso'), { out }), { written: out, kind: 'iso' });
    assert.equal(await sha256(iso), before, 'the source ISO is unchanged');
    await runTool('7zz', ['x', '-y', `-o${at('edited-media')}`, out, 'sources/install.wim', 'autorun.inf']);
    const newWim = at('edited-media/sources/install.wim');
    await runTool('wimlib-imagex', ['verify', newWim]);
    await wimlibExtract(newWim, 1, SOFTWARE, at('check-iso'));
    assert.equal((await runTool('hivexget', [at('check-iso/SOFTWARE'), 'DeployForge', 'Note'])).stdout.trim(), 'in an iso');
    assert.deepEqual(await readFile(at('edited-media/autorun.inf')), await readFile(at('media/autorun.inf')), 'the rest of the media is copied');
    assert.deepEqual(
      (await readdir(tmp.path)).filter((n) => n.startsWith('.')),
      [],
    );
  });

  test('a write into an install.esd gives a new ISO that still holds a solid install.esd', async () => {
    const esdIso = at('esd.iso');
    await makeSampleMedia(esdIso, { sizeMb: 8, editions: 2, esd: true, workDir: tmp.path });
    const before = await sha256(esdIso);
    const ref = parse(`${esdIso}:install:2:${SOFTWARE}`, [esdIso]);
    const out = at('esd-edited.iso');
    await writeImageFile(ref, await editedSoftware(ref, 'in an esd'), { out });
    assert.equal(await sha256(esdIso), before);
    await runTool('7zz', ['x', '-y', `-o${at('esd-media')}`, out, 'sources/install.esd']);
    const esd = at('esd-media/sources/install.esd');
    assert.match((await runTool('wimlib-imagex', ['info', esd])).stdout, /Compression:\s+LZMS/);
    await runTool('wimlib-imagex', ['verify', esd]);
    await wimlibExtract(esd, 2, SOFTWARE, at('check-esd'));
    assert.equal((await runTool('hivexget', [at('check-esd/SOFTWARE'), 'DeployForge', 'Note'])).stdout.trim(), 'in an esd');
  });

  test('a write to a file on the media replaces it (or adds it) in a new ISO', async () => {
    const before = await sha256(iso);
    const text = new Uint8Array(Buffer.from('<?xml version="1.0" encoding="utf-8"?>\r\n<unattend xmlns="urn:schemas-microsoft-com:unattend"/>\r\n'));
    const out = at('media-added.iso');
    await writeImageFile(parse(`${iso}:/autounattend.xml`, [iso]), text, { out });
    const out2 = at('media-replaced.iso');
    await writeImageFile(parse(`${out}:/AUTOUNATTEND.XML`, [out]), new Uint8Array(Buffer.from('changed')), { out: out2 });
    assert.equal(await sha256(iso), before);
    await runTool('7zz', ['x', '-y', `-o${at('added')}`, out, 'autounattend.xml']);
    assert.deepEqual(new Uint8Array(await readFile(at('added/autounattend.xml'))), text);
    await runTool('7zz', ['x', '-y', `-o${at('replaced')}`, out2, 'autounattend.xml']);
    assert.equal(await readFile(at('replaced/autounattend.xml'), 'utf8'), 'changed');
  });

  test('refuses to write in place, without --out, or to an output of the wrong kind', async () => {
    const bytes = await readImageFile(parse(`${wim}:1:${SOFTWARE}`, [wim]));
    const before = await sha256(iso);
    await assert.rejects(writeImageFile(parse(`${iso}:install:1:${SOFTWARE}`, [iso]), bytes), { code: 'DF_IMAGE_NEEDS_OUT' });
    await assert.rejects(writeImageFile(parse(`${iso}:install:1:${SOFTWARE}`, [iso]), bytes, { out: iso }), { code: 'DF_IMAGE_OUT_IS_SOURCE' });
    await symlink(iso, at('alias.iso'));
    await assert.rejects(writeImageFile(parse(`${iso}:install:1:${SOFTWARE}`, [iso]), bytes, { out: at('alias.iso') }), { code: 'DF_IMAGE_OUT_IS_SOURCE' });
    await assert.rejects(writeImageFile(parse(`${wim}:1:${SOFTWARE}`, [wim]), bytes, { out: wim }), { code: 'DF_IMAGE_OUT_IS_SOURCE' });
    await assert.rejects(writeImageFile(parse(`${wim}:1:${SOFTWARE}`, [wim]), bytes, { out: at('new.iso') }), { code: 'DF_IMAGE_OUT_KIND' });
    await assert.rejects(writeImageFile(parse(`${iso}:install:1:${SOFTWARE}`, [iso]), bytes, { out: at('SOFTWARE') }), { code: 'DF_IMAGE_OUT_KIND' });
    await assert.rejects(writeImageFile(parse(`${iso}:install:9:${SOFTWARE}`, [iso]), bytes, { out: at('x.iso') }), { code: 'DF_WIM_NO_IMAGE' });
    assert.equal(await sha256(iso), before);
    assert.deepEqual(
      (await readdir(tmp.path)).filter((n) => n.startsWith('.') || n === 'x.iso' || n === 'SOFTWARE'),
      [],
    );
  });

  test('reads a file from a split WIM through its parts, and refuses to edit one', async () => {
    await mkdir(at('split'));
    const swm = await makeFixture('swm', at('split'));
    assert.equal((await readImageFile(parse(`${swm}:1:/big.bin`, [swm]))).length, 300_000);
    await assert.rejects(writeImageFile(parse(`${swm}:1:/readme.txt`, [swm]), new Uint8Array(1), { out: at('split/joined.wim') }), { code: 'DF_WIM_EDIT_UNSUPPORTED' });
    assert.deepEqual(
      (await readdir(at('split'))).filter((n) => n.startsWith('.') || n === 'joined.wim'),
      [],
    );
  });

  test('a plain file is written in place (atomically) or to --out', async () => {
    const plain = at('plain.bin');
    await writeFile(plain, 'old');
    await writeImageFile(parse(plain, [plain]), new Uint8Array(Buffer.from('new')));
    assert.equal(await readFile(plain, 'utf8'), 'new');
    await writeImageFile(parse(plain, [plain]), new Uint8Array(Buffer.from('copy')), { out: at('plain2.bin') });
    assert.equal(await readFile(at('plain2.bin'), 'utf8'), 'copy');
  });
});
