// Builds GPT and MBR raw disks with sfdisk, converts them with qemu-img to every VHD/VHDX
// subformat, and checks that our header facts match qemu-img info, our partition tables match
// sfdisk, and our virtual bytes hash the same as the raw image qemu converts back.
import assert from 'node:assert/strict';
import { readFile, truncate } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { makeTempDir } from '../../../test/helpers/corpus.js';
import { FileSource } from '../../util/byte-source.js';
import { runTool } from '../../util/exec.js';
import { readPartitionTable } from '../disk/index.js';
import { openVirtualDisk } from './index.js';
import { qemuInfo, qemuToRaw, scribble, sfdiskAttrsToBits, sfdiskJson, sfdiskWrite, sha256, UTC_ENV, vhdiInfo } from './test-fixtures.js';

const MiB = 1024 * 1024;

const GPT_SCRIPT = `label: gpt
start=2048, size=8MiB, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name="EFI system partition", attrs="RequiredPartition"
size=16MiB, type=E3C9E316-0B5C-4DB8-817D-F92DF00215AE, name="Microsoft reserved partition"
size=24MiB, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7, name="Basic data partition"
type=DE94BBA4-06D1-4D40-A16A-BFD50179D6AC, name="Récupération", attrs="RequiredPartition GUID:63"
`;
const MBR_SCRIPT = `label: dos
label-id: 0x1234abcd
start=2048, size=12MiB, type=7, bootable
size=8MiB, type=27
type=5
size=6MiB, type=83
size=4MiB, type=82
type=c
`;

const VARIANTS = [
  { format: 'vpc', options: 'subformat=fixed,force_size=on', diskType: 'fixed' },
  { format: 'vpc', options: 'subformat=dynamic,force_size=on', diskType: 'dynamic' },
  { format: 'vpc', options: 'subformat=dynamic', diskType: 'dynamic' },
  { format: 'vhdx', options: 'subformat=dynamic', diskType: 'dynamic' },
  { format: 'vhdx', options: 'subformat=dynamic,block_size=1M', diskType: 'dynamic' },
  { format: 'vhdx', options: 'subformat=fixed', diskType: 'fixed' },
] as const;

describe('disks made by sfdisk and qemu-img', () => {
  let dir: { path: string; cleanup: () => Promise<void> };
  const raws: Record<'gpt' | 'mbr', string> = { gpt: '', mbr: '' };
  before(async () => {
    dir = await makeTempDir('df-vhd-qemu-');
    raws.gpt = `${dir.path}/gpt.raw`;
    raws.mbr = `${dir.path}/mbr.raw`;
    await runTool('qemu-img', ['create', '-f', 'raw', raws.gpt, '64M'], { env: UTC_ENV });
    await runTool('qemu-img', ['create', '-f', 'raw', raws.mbr, '48M'], { env: UTC_ENV });
    await sfdiskWrite(raws.gpt, GPT_SCRIPT);
    await sfdiskWrite(raws.mbr, MBR_SCRIPT);
    // Data in some blocks and not others, so sparse and allocated blocks both get read.
    const spans = [
      { offset: 1 * MiB, length: 4096 },
      { offset: 5 * MiB + 700, length: 3 * MiB },
      { offset: 33 * MiB - 512, length: 1024 },
      { offset: 40 * MiB, length: 100 * 512 },
    ];
    await scribble(raws.gpt, spans, 7);
    await scribble(raws.mbr, spans.slice(0, 2), 11);
  });
  after(async () => dir?.cleanup());

  for (const scheme of ['gpt', 'mbr'] as const) {
    for (const variant of VARIANTS) {
      test(`${scheme} disk as ${variant.format} ${variant.options}: facts, partitions and bytes match qemu-img and sfdisk`, async () => {
        const image = `${dir.path}/${scheme}-${variant.format}-${variant.options.replace(/\W/g, '_')}.${variant.format === 'vpc' ? 'vhd' : 'vhdx'}`;
        await runTool('qemu-img', ['convert', '-f', 'raw', '-O', variant.format, '-o', variant.options, raws[scheme], image], { env: UTC_ENV });
        const info = await qemuInfo(image, variant.format);
        const back = `${image}.raw`;
        await qemuToRaw(image, back, variant.format);
        const qemuBytes = await readFile(back);
        const sfdisk = await sfdiskJson(raws[scheme]);
        assert.ok(sfdisk);
        const source = await FileSource.open(image);
        try {
          const disk = await openVirtualDisk(source);
          assert.equal(disk.format, variant.format === 'vpc' ? 'vhd' : 'vhdx');
          assert.equal(disk.diskType, variant.diskType);
          assert.equal(disk.checksumValid, true);
          assert.equal(disk.needsLogReplay ?? false, false);
          assert.equal(info['virtual-size'], disk.format === 'vhd' && disk.vhd?.creatorApp === 'qemu' ? chsBytes(disk.vhd.geometry) : disk.virtualSize);
          if (variant.diskType === 'dynamic' || variant.format === 'vhdx') assert.equal(disk.blockSize, info['cluster-size']);
          if (variant.format === 'vhdx') {
            const vhdi = await vhdiInfo(image);
            assert.equal(vhdi.Identifier, disk.vhdx?.dataWriteGuid);
          }
          const common = Math.min(disk.virtualSize, qemuBytes.length);
          assert.equal(sha256(await disk.read(0, common)), sha256(qemuBytes.subarray(0, common)));
          const original = await readFile(raws[scheme]);
          assert.equal(sha256(await disk.read(0, Math.min(common, 8 * MiB))), sha256(original.subarray(0, Math.min(common, 8 * MiB))));

          const table = await readPartitionTable(disk.asSource());
          assertSameAsSfdisk(table, sfdisk);
        } finally {
          await source.close();
        }
      });
    }
  }

  test('a GPT whose primary header is damaged is read from the backup, as sfdisk does', async () => {
    const damaged = `${dir.path}/gpt-damaged.raw`;
    await runTool('cp', [raws.gpt, damaged]);
    await scribble(damaged, [{ offset: 512 + 24, length: 8 }], 3);
    const sfdisk = await sfdiskJson(damaged);
    assert.ok(sfdisk);
    const source = await FileSource.open(damaged);
    try {
      const table = await readPartitionTable(source);
      assert.equal(table.gptHeader, 'backup');
      assert.deepEqual(table.gptHeadersValid, { primary: false, backup: true });
      assertSameAsSfdisk(table, sfdisk);
    } finally {
      await source.close();
    }
  });

  test('a qemu vpc disk sized off the CHS grid keeps the footer size qemu-img reports for force_size', async () => {
    const odd = `${dir.path}/odd.raw`;
    await runTool('qemu-img', ['create', '-f', 'raw', odd, `${10 * MiB + 3 * 512}`], { env: UTC_ENV });
    await truncate(odd, 10 * MiB + 3 * 512);
    const image = `${dir.path}/odd.vhd`;
    await runTool('qemu-img', ['convert', '-f', 'raw', '-O', 'vpc', '-o', 'subformat=dynamic,force_size=on', odd, image], { env: UTC_ENV });
    const info = await qemuInfo(image, 'vpc');
    const source = await FileSource.open(image);
    try {
      const disk = await openVirtualDisk(source);
      assert.equal(disk.vhd?.creatorApp, 'qem2');
      assert.equal(disk.virtualSize, info['virtual-size']);
      assert.equal(disk.virtualSize, 10 * MiB + 3 * 512);
    } finally {
      await source.close();
    }
  });
});

function chsBytes(g: { cylinders: number; heads: number; sectorsPerTrack: number }): number {
  return g.cylinders * g.heads * g.sectorsPerTrack * 512;
}

function assertSameAsSfdisk(table: Awaited<ReturnType<typeof readPartitionTable>>, sfdisk: NonNullable<Awaited<ReturnType<typeof sfdiskJson>>>): void {
  assert.equal(table.scheme, sfdisk.label === 'dos' ? 'mbr' : 'gpt');
  if (sfdisk.label === 'gpt') {
    assert.equal(table.diskGuid, sfdisk.id.toLowerCase());
    assert.equal(table.firstUsableLba, sfdisk.firstlba);
    assert.equal(table.lastUsableLba, sfdisk.lastlba);
    assert.deepEqual(
      table.partitions.map((p) => ({ index: p.index, start: p.start / 512, size: p.size / 512, type: p.typeId, uuid: p.uuid, name: p.name, attrs: p.attributes })),
      sfdisk.partitions.map((p) => ({
        index: Number(/(\d+)$/.exec(p.node)?.[1]),
        start: p.start,
        size: p.size,
        type: p.type.toLowerCase(),
        uuid: p.uuid?.toLowerCase(),
        name: p.name ?? '',
        attrs: sfdiskAttrsToBits(p.attrs),
      })),
    );
    assert.deepEqual(
      table.partitions.map((p) => p.typeName),
      ['EFI system', 'Microsoft reserved', 'Microsoft basic data', 'Windows recovery environment'],
    );
  } else {
    assert.equal(`0x${table.diskSignature?.toString(16).padStart(8, '0')}`, sfdisk.id);
    assert.deepEqual(
      table.partitions.map((p) => ({ index: p.index, start: p.start / 512, size: p.size / 512, type: Number.parseInt(p.typeId, 16).toString(16), bootable: p.bootable })),
      sfdisk.partitions.map((p) => ({ index: Number(/(\d+)$/.exec(p.node)?.[1]), start: p.start, size: p.size, type: p.type, bootable: p.bootable ?? false })),
    );
  }
}
