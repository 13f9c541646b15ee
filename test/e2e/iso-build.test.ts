// `deployforge iso build`: remastering the sample media without extraction (replace, add,
// remove, relabel) and building from a folder, checked with udfinfo, 7-Zip, xorriso and qemu
// boots; the source ISO is never modified.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeSampleMedia, SAMPLE_BIOS_MARKER } from '../../src/sample/sample-media.js';
import { runTool } from '../../src/util/exec.js';
import { bootIso } from '../helpers/boot-harness.js';
import { runCliCaptured } from '../helpers/cli.js';
import { makeTempDir } from '../helpers/corpus.js';
import { makeFixture } from '../helpers/fixtures.js';

const EFI_APP_TEXT = 'This file is used to prove you have managed';
const sha = async (p: string) =>
  createHash('sha256')
    .update(await readFile(p))
    .digest('hex');

describe('deployforge iso build', () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let source: string;
  let out: string;
  let newWim: string;
  let sourceHash: string;
  before(async () => {
    tmp = await makeTempDir('deployforge-iso-build-');
    source = join(tmp.path, 'sample.iso');
    await makeSampleMedia(source, { sizeMb: 12, editions: 2, seed: 3 });
    sourceHash = await sha(source);
    newWim = await makeFixture('wim', tmp.path);
    await writeFile(join(tmp.path, 'autounattend.xml'), '<?xml version="1.0" encoding="utf-8"?>\r\n<unattend xmlns="urn:schemas-microsoft-com:unattend"/>\r\n');
    out = join(tmp.path, 'custom.iso');
    const run = await runCliCaptured([
      'iso',
      'build',
      '--from',
      source,
      '--out',
      out,
      '--replace',
      `sources/install.wim=${newWim}`,
      '--add',
      `autounattend.xml=${join(tmp.path, 'autounattend.xml')}`,
      '--remove',
      'autorun.inf',
      '--label',
      'CUSTOM_X64',
      // install.wim is most of the sample, so auto would lay it out afresh.
      '--layout',
      'in-place',
    ]);
    assert.equal(run.code, 0, run.stderr);
  });
  after(async () => {
    await tmp.cleanup();
  });

  test('udfinfo and 7-Zip accept the remastered image; the changes are there and the source is untouched', async () => {
    assert.equal(await sha(source), sourceHash);
    const udf = (await runTool('udfinfo', [out])).stdout;
    assert.match(udf, /label=CUSTOM_X64/);
    assert.match(udf, /udfrev=1\.02/);
    await runTool('7zz', ['t', out]);
    const listing = (await runTool('7zz', ['l', out])).stdout;
    assert.match(listing, /autounattend\.xml/);
    assert.doesNotMatch(listing, /autorun\.inf/);
    const extracted = join(tmp.path, 'x');
    await runTool('7zz', ['x', '-y', `-o${extracted}`, out]);
    assert.equal(await sha(join(extracted, 'sources', 'install.wim')), await sha(newWim), 'replaced file has the new bytes');
    const original = join(tmp.path, 'orig');
    await runTool('7zz', ['x', '-y', `-o${original}`, source, 'sources/boot.wim', 'efi']);
    assert.equal(await sha(join(extracted, 'sources', 'boot.wim')), await sha(join(original, 'sources', 'boot.wim')), 'unchanged files are copied exactly');
  });

  test('unchanged files keep their sectors; --layout fresh lays them out afresh with the same contents', async () => {
    const { FileSource } = await import('../../src/util/byte-source.js');
    const { openIso } = await import('../../src/formats/iso/index.js');
    const fresh = join(tmp.path, 'fresh.iso');
    const run = await runCliCaptured([
      'iso',
      'build',
      '--from',
      source,
      '--out',
      fresh,
      '--replace',
      `sources/install.wim=${newWim}`,
      '--remove',
      'autorun.inf',
      '--layout',
      'fresh',
      '--json',
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(JSON.parse(run.stdout).keptBytes, 0);
    // auto: in place unless the replaced and removed files are over a quarter of the source.
    const auto = async (change: string, name: string) => {
      const r = await runCliCaptured(['iso', 'build', '--from', source, '--out', join(tmp.path, name), '--replace', change, '--json']);
      assert.equal(r.code, 0, r.stderr);
      return JSON.parse(r.stdout).keptBytes as number;
    };
    assert.equal(await auto(`sources/install.wim=${newWim}`, 'auto-big.iso'), 0, 'install.wim is most of the sample: fresh layout');
    assert.ok((await auto(`sources/boot.wim=${newWim}`, 'auto-small.iso')) > 0, 'a small replacement: in place');
    const files = [await FileSource.open(source), await FileSource.open(out), await FileSource.open(fresh)];
    try {
      const [src, kept, laid] = await Promise.all(files.map((f) => openIso(f)));
      let moved = 0;
      let stayed = 0;
      for await (const entry of src.walk()) {
        if (entry.isDirectory || entry.path === '/autorun.inf' || entry.path === '/sources/install.wim') continue;
        // Files below sector 257 (where the new descriptors go) are moved; the rest stay.
        if ((entry.extents[0]?.offset ?? 0) >= 257 * 2048) {
          assert.deepEqual((await kept.stat(entry.path))?.extents, entry.extents, `${entry.path} stays at its sectors`);
          stayed++;
        }
        const a = await kept.openFile(entry.path);
        const b = await laid.openFile(entry.path);
        assert.equal(Buffer.compare(await a.read(0, a.size), await b.read(0, b.size)), 0, entry.path);
        if ((await laid.stat(entry.path))?.extents[0]?.offset !== entry.extents[0]?.offset) moved++;
      }
      assert.ok(moved > 0, 'the fresh layout moves files');
      assert.ok(stayed >= 2, `${stayed} files stayed at their sectors`);
    } finally {
      for (const f of files) await f.close();
    }
  });

  test('keeps the source boot entries (xorriso) and boots under SeaBIOS and OVMF', async () => {
    const report = (await runTool('xorriso', ['-indev', out, '-report_el_torito', 'plain'])).stdout;
    assert.match(report, /El Torito boot img :\s+1\s+BIOS\s+y\s+none\s+0x07c0\s+0x00\s+8\s/i);
    // In 'udf' mode the ISO 9660 side holds only a README, so xorriso shows no image paths; our
    // reader (through UDF) names them.
    assert.match(report, /El Torito boot img :\s+2\s+UEFI\s+y\s+none\s/);
    const info = JSON.parse((await runCliCaptured(['iso', 'info', '--json', out])).stdout);
    assert.deepEqual(
      info.bootEntries.map((b: { bootImagePath: string }) => b.bootImagePath),
      ['/boot/etfsboot.com', '/efi/microsoft/boot/efisys.bin'],
    );
    const bios = await bootIso(out, { firmware: 'bios', expect: SAMPLE_BIOS_MARKER, timeoutMs: 120_000 });
    assert.ok(bios.seen, bios.serial.slice(-1000));
    const uefi = await bootIso(out, { firmware: 'uefi', expect: EFI_APP_TEXT, timeoutMs: 180_000 });
    assert.ok(uefi.seen, uefi.serial.slice(-1000));
  });

  test('builds from a folder with explicit boot images, deterministically', async () => {
    const folder = join(tmp.path, 'folder');
    await runTool('7zz', ['x', '-y', `-o${folder}`, source]);
    const a = join(tmp.path, 'a.iso');
    const b = join(tmp.path, 'b.iso');
    for (const target of [a, b]) {
      const run = await runCliCaptured([
        'iso',
        'build',
        '--dir',
        folder,
        '--out',
        target,
        '--label',
        'FROM_FOLDER',
        '--boot-bios',
        'boot/etfsboot.com',
        '--boot-uefi',
        'efi/microsoft/boot/efisys.bin',
        '--timestamp',
        '2024-07-01T00:00:00Z',
        '--mode',
        'hybrid',
      ]);
      assert.equal(run.code, 0, run.stderr);
    }
    assert.equal(await sha(a), await sha(b));
    const report = (await runTool('xorriso', ['-indev', a, '-report_el_torito', 'plain'])).stdout;
    assert.match(report, /\/boot\/etfsboot\.com/);
    const bios = await bootIso(a, { firmware: 'bios', expect: SAMPLE_BIOS_MARKER, timeoutMs: 120_000 });
    assert.ok(bios.seen);
  });

  test('bad changes are refused before anything is written', async () => {
    const target = join(tmp.path, 'never.iso');
    const missing = await runCliCaptured(['iso', 'build', '--from', source, '--out', target, '--replace', `sources/nope.wim=${newWim}`]);
    assert.equal(missing.code, 3);
    assert.match(missing.stderr, /DF_REMASTER_BAD_CHANGE/);
    const both = await runCliCaptured(['iso', 'build', '--from', source, '--dir', tmp.path, '--out', target]);
    assert.equal(both.code, 2);
    await mkdir(join(tmp.path, 'empty'));
    const noBootFile = await runCliCaptured(['iso', 'build', '--dir', join(tmp.path, 'empty'), '--out', target, '--boot-bios', 'boot/etfsboot.com']);
    assert.equal(noBootFile.code, 3);
    await assert.rejects(readFile(target));
    // The source itself as the output (also through a link) is refused; the source is untouched.
    const { link } = await import('node:fs/promises');
    await link(source, join(tmp.path, 'alias.iso'));
    for (const out of [source, join(tmp.path, 'alias.iso')]) {
      const over = await runCliCaptured(['iso', 'build', '--from', source, '--out', out, '--label', 'OVER']);
      assert.equal(over.code, 3, over.stderr);
      assert.match(over.stderr, /DF_OUT_IS_SOURCE/);
    }
    assert.equal(await sha(source), sourceHash);
  });
});
