// `deployforge inspect` checked against tools nobody here wrote, on real files: wimlib-imagex for
// every corpus WIM and PPKG, hivex for every corpus hive, qemu-img for the corpus VHD/VHDX
// files, and xorriso / wimlib for ISOs (the WIM is read inside the ISO, the oracle gets it
// extracted).
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { runTool } from '../../src/util/exec.js';
import { runCliCaptured } from '../helpers/cli.js';
import { corpusPath, makeTempDir } from '../helpers/corpus.js';
import { makeFixture } from '../helpers/fixtures.js';

async function inspectJson(path: string) {
  const run = await runCliCaptured(['inspect', '--json', path]);
  assert.equal(run.code, 0, `${path}: ${run.stderr}`);
  return JSON.parse(run.stdout);
}

/** `wimlib-imagex info` → { header fields, images: [{ Index, Name, … }] }. */
async function wimlibInfo(path: string) {
  const { stdout } = await runTool('wimlib-imagex', ['info', path]);
  const [head, imagesText = ''] = stdout.split('Available Images:');
  const field = (text: string, name: string) => new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(text)?.[1].trim();
  const images = imagesText
    .split(/\n(?=Index:)/)
    .filter((b) => /Index:/.test(b))
    .map((b) => ({
      index: Number(field(b, 'Index')),
      name: field(b, 'Name'),
      dirs: Number(field(b, 'Directory Count')),
      files: Number(field(b, 'File Count')),
      bytes: Number(field(b, 'Total Bytes')),
    }));
  return {
    imageCount: Number(field(head, 'Image Count')),
    compression: field(head, 'Compression'),
    chunk: Number(field(head, 'Chunk Size')),
    boot: Number(field(head, 'Boot Index')),
    part: field(head, 'Part Number'),
    images,
  };
}

function compareWim(
  ours: {
    compression: string;
    chunkSize: number;
    imageCount: number;
    bootIndex: number;
    part: { number: number; total: number };
    images: { index: number; name: string; dirCount: number; fileCount: number; totalBytes: number }[];
  },
  theirs: Awaited<ReturnType<typeof wimlibInfo>>,
  label: string,
) {
  assert.equal(ours.imageCount, theirs.imageCount, `${label}: image count`);
  assert.equal(ours.compression, (theirs.compression ?? '').toLowerCase(), `${label}: compression`);
  assert.equal(ours.bootIndex, theirs.boot, `${label}: boot index`);
  assert.equal(`${ours.part.number}/${ours.part.total}`, theirs.part, `${label}: part`);
  assert.equal(ours.images.length, theirs.images.length);
  for (const [i, image] of theirs.images.entries()) {
    assert.equal(ours.images[i].index, image.index);
    assert.equal(ours.images[i].name ?? '', image.name ?? '', `${label}: image ${image.index} name`);
    assert.equal(ours.images[i].dirCount, image.dirs, `${label}: image ${image.index} dirs`);
    assert.equal(ours.images[i].fileCount, image.files, `${label}: image ${image.index} files`);
    assert.equal(ours.images[i].totalBytes, image.bytes, `${label}: image ${image.index} bytes`);
  }
}

function filesUnder(dir: string, keep: (name: string) => boolean): string[] {
  return readdirSync(corpusPath(dir), { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name), keep) : keep(e.name) ? [join(dir, e.name)] : []));
}

describe('inspect agrees with independent tools', () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  before(async () => {
    tmp = await makeTempDir();
  });
  after(async () => {
    await tmp.cleanup();
  });

  const wims = [...filesUnder('wim', (n) => n.endsWith('.wim')), ...filesUnder('ppkg', (n) => n.endsWith('.ppkg'))];
  test(`every corpus WIM and PPKG (${wims.length}) matches wimlib-imagex info`, async () => {
    assert.ok(wims.length >= 11);
    for (const rel of wims) {
      const report = await inspectJson(corpusPath(rel));
      assert.ok(['wim', 'ppkg'].includes(report.format), rel);
      if (rel.endsWith('.ppkg')) {
        assert.equal(report.format, 'ppkg', rel);
        assert.ok(report.wim.ppkg?.packageId, `${rel}: package id`);
      }
      compareWim(report.wim, await wimlibInfo(corpusPath(rel)), rel);
    }
  });

  test('ESD and SWM made by wimlib are recognised and match wimlib-imagex info', async () => {
    for (const kind of ['esd', 'swm'] as const) {
      const path = await makeFixture(kind, tmp.path);
      const report = await inspectJson(path);
      assert.equal(report.format, kind);
      compareWim(report.wim, await wimlibInfo(path), kind);
    }
  });

  const hives = filesUnder('registry', (n) => !/\.log|LOG/.test(n));
  test(`every corpus hive (${hives.length}) has the key and value counts hivex reports`, async () => {
    for (const rel of hives) {
      let path = corpusPath(rel);
      if (rel.endsWith('.xz')) {
        path = join(tmp.path, basename(rel, '.xz'));
        await writeFile(path, (await runTool('xz', ['-dc', corpusPath(rel)], { binary: true })).stdout);
      }
      let oracle: string;
      try {
        oracle = (await runTool('hivexregedit', ['--export', '--unsafe-printable-strings', path, '\\'], { maxBuffer: 512 * 1024 * 1024 })).stdout;
      } catch {
        // hivex refuses it (the corrupt samples): we must refuse it too, with a one-line exit-3 error.
        const run = await runCliCaptured(['inspect', path]);
        assert.ok(run.code === 3 || run.code === 0, `${rel}: exit ${run.code} ${run.stderr}`);
        continue;
      }
      const report = await inspectJson(path);
      assert.equal(report.format, 'hive', rel);
      const keys = oracle.split('\n').filter((l) => l.startsWith('[')).length;
      const values = oracle.split('\n').filter((l) => /^("|@=)/.test(l)).length;
      assert.equal(report.hive.keyCount, keys, `${rel}: keys`);
      assert.equal(report.hive.valueCount, values, `${rel}: values`);
    }
  });

  const disks = filesUnder('vhd', (n) => /\.(vhdx?|avhdx)(\.gz)?$/.test(n));
  test(`every corpus VHD/VHDX (${disks.length}) matches qemu-img info`, async () => {
    for (const rel of disks) {
      const path = join(tmp.path, basename(rel, '.gz'));
      await writeFile(path, rel.endsWith('.gz') ? gunzipSync(await readFile(corpusPath(rel))) : await readFile(corpusPath(rel)));
      const report = await inspectJson(path);
      const format = /\.vhd$/.test(path) ? 'vpc' : 'vhdx';
      let info: { 'virtual-size': number; format: string; 'cluster-size'?: number };
      try {
        info = JSON.parse((await runTool('qemu-img', ['info', '--output=json', '-f', format, path])).stdout);
      } catch {
        // qemu-img refuses differencing AVHDX ("Operation not supported"); we still report it.
        assert.equal(report.disk.diskType, 'differencing', rel);
        continue;
      }
      assert.equal(report.format, format === 'vpc' ? 'vhd' : 'vhdx', rel);
      assert.equal(report.disk.virtualSize, info['virtual-size'], `${rel}: virtual size`);
      if (info['cluster-size'] && report.disk.diskType !== 'fixed') assert.equal(report.disk.blockSize, info['cluster-size'], `${rel}: block size`);
    }
  });

  test('an ISO: boot entries match xorriso and the install.wim read inside it matches wimlib', async () => {
    const iso = await makeFixture('iso', tmp.path);
    const report = await inspectJson(iso);
    assert.equal(report.format, 'iso');
    const { stdout } = await runTool('xorriso', ['-indev', iso, '-report_el_torito', 'plain']);
    const entries = stdout.split('\n').filter((l) => l.startsWith('El Torito boot img :'));
    assert.equal(report.iso.bootEntries.length, entries.length);
    for (const [i, line] of entries.entries()) {
      const [, pltf, , emul, ldseg, , ldsiz, lba] = line.replace('El Torito boot img :', '').trim().split(/\s+/);
      const ours = report.iso.bootEntries[i];
      assert.equal(ours.platformName === 'x86' ? 'BIOS' : ours.platformName === 'efi' ? 'UEFI' : ours.platformName, pltf);
      assert.equal(ours.emulation, emul);
      assert.equal(ours.loadSegment, Number(ldseg));
      assert.equal(ours.sectorCount, Number(ldsiz));
      assert.equal(ours.loadRba, Number(lba));
    }
    const extracted = join(tmp.path, 'extracted');
    await runTool('7zz', ['x', '-y', `-o${extracted}`, iso, 'sources/install.wim']);
    compareWim(report.iso.installImage.wim, await wimlibInfo(join(extracted, 'sources', 'install.wim')), 'install.wim in ISO');
    const label = (await runTool('xorriso', ['-indev', iso, '-pvd_info'])).stdout;
    assert.match(label, new RegExp(`Volume Id\\s*:\\s*${report.iso.volumeLabel}`));
  });
});
