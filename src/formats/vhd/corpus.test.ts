// Opens every corpus VHD/VHDX and compares our facts with independent readers: qemu-img info,
// libvhdi's vhdiinfo, sfdisk on qemu's raw conversion, the raw bytes themselves, and the values
// dissect.hypervisor's own tests assert for these files.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { corpusPath, hasCorpus, makeTempDir } from '../../../test/helpers/corpus.js';
import { FormatError } from '../../errors.js';
import { FileSource } from '../../util/byte-source.js';
import { readPartitionTable } from '../disk/index.js';
import { openVirtualDisk } from './index.js';
import { gunzipTo, qemuInfo, qemuToRaw, sfdiskJson, sha256, vhdiInfo } from './test-fixtures.js';
import type { VirtualDisk } from './types.js';

const CORPUS = [
  { path: 'vhd/dissect/fixed.vhd.gz', qemuFormat: 'vpc' },
  { path: 'vhd/dissect/dynamic.vhd.gz' },
  { path: 'vhd/plaso/image.vhd' },
  { path: 'vhd/dissect/fixed.vhdx.gz' },
  { path: 'vhd/dissect/dynamic.vhdx.gz' },
];

/** qemu's vpc driver trusts the footer size only for these creators, else the CHS geometry. */
const QEMU_TRUSTS_FOOTER_SIZE = new Set(['win ', 'qem2', 'd2v ', 'CTXS']);

function bytesInParens(text: string): number {
  const match = /\((\d+) bytes\)/.exec(text);
  assert.ok(match, `no byte count in "${text}"`);
  return Number(match[1]);
}

async function withDisk<T>(path: string, fn: (disk: VirtualDisk) => Promise<T>): Promise<T> {
  const source = await FileSource.open(path);
  try {
    return await fn(await openVirtualDisk(source));
  } finally {
    await source.close();
  }
}

describe('corpus virtual disks', { skip: !hasCorpus() }, () => {
  let dir: { path: string; cleanup: () => Promise<void> };
  const files = new Map<string, string>();
  before(async () => {
    dir = await makeTempDir('df-vhd-corpus-');
    for (const item of [...CORPUS, { path: 'vhd/dissect/differencing.avhdx.gz' }]) {
      files.set(item.path, item.path.endsWith('.gz') ? await gunzipTo(corpusPath(item.path), dir.path) : corpusPath(item.path));
    }
  });
  after(async () => dir?.cleanup());

  for (const item of CORPUS) {
    test(`${item.path}: header facts match qemu-img info and vhdiinfo`, async () => {
      const path = files.get(item.path) as string;
      const qemu = await qemuInfo(path, item.qemuFormat);
      const vhdi = await vhdiInfo(path);
      await withDisk(path, async (disk) => {
        assert.equal(disk.checksumValid, true);
        assert.equal(qemu.format, disk.format === 'vhd' ? 'vpc' : 'vhdx');
        if (disk.format === 'vhd' && disk.vhd && !QEMU_TRUSTS_FOOTER_SIZE.has(disk.vhd.creatorApp)) {
          const { cylinders, heads, sectorsPerTrack } = disk.vhd.geometry;
          assert.equal(qemu['virtual-size'], cylinders * heads * sectorsPerTrack * 512);
        } else {
          assert.equal(qemu['virtual-size'], disk.virtualSize);
        }
        assert.equal(qemu['cluster-size'], disk.blockSize);
        assert.equal(bytesInParens(vhdi['Media size']), disk.virtualSize);
        assert.equal(vhdi['Disk type'], { fixed: 'Fixed', dynamic: 'Dynamic', differencing: 'Differential' }[disk.diskType]);
        assert.equal(vhdi['Bytes per sector'], `${disk.logicalSectorSize} bytes`);
        // libvhdi names the VHD footer UUID, and a VHDX's DataWriteGuid, "Identifier".
        assert.equal(vhdi.Identifier, disk.format === 'vhd' ? disk.uuid : disk.vhdx?.dataWriteGuid);
      });
    });

    test(`${item.path}: virtual bytes and partition table match qemu's raw conversion and sfdisk`, async () => {
      const path = files.get(item.path) as string;
      const raw = `${dir.path}/${item.path.replace(/\W/g, '_')}.raw`;
      await qemuToRaw(path, raw, item.qemuFormat);
      const rawBytes = await readFile(raw);
      const sfdisk = await sfdiskJson(raw);
      await withDisk(path, async (disk) => {
        // qemu may round a CHS-sized vpc disk; compare the bytes both sides have.
        const common = Math.min(rawBytes.length, disk.virtualSize);
        assert.equal(sha256(await disk.read(0, common)), sha256(rawBytes.subarray(0, common)));
        const table = await readPartitionTable(disk.asSource());
        if (!sfdisk) {
          assert.equal(table.scheme, 'none');
          return;
        }
        assert.equal(table.scheme, sfdisk.label === 'dos' ? 'mbr' : 'gpt');
        assert.equal(`0x${table.diskSignature?.toString(16)}`, sfdisk.id);
        assert.deepEqual(
          table.partitions.map((p) => ({ start: p.start / 512, size: p.size / 512, type: Number.parseInt(p.typeId, 16).toString(16) })),
          sfdisk.partitions.map((p) => ({ start: p.start, size: p.size, type: p.type })),
        );
      });
    });
  }

  test('fixed.vhdx and dynamic.vhdx carry the ids, block sizes and chunk ratios dissect asserts', async () => {
    const expected = [
      { path: 'vhd/dissect/fixed.vhdx.gz', blockSize: 0x200000, chunkRatio: 0x800, id: '4a49d245-db0a-4634-9818-9f93db5ba6c1', type: 'fixed' },
      { path: 'vhd/dissect/dynamic.vhdx.gz', blockSize: 0x2000000, chunkRatio: 0x80, id: '788015f0-5e93-4bd2-a5de-b0cd8459db11', type: 'dynamic' },
    ];
    for (const e of expected) {
      await withDisk(files.get(e.path) as string, async (disk) => {
        assert.equal(disk.virtualSize, 0xa00000);
        assert.equal(disk.blockSize, e.blockSize);
        assert.equal(disk.vhdx?.chunkRatio, e.chunkRatio);
        assert.equal(disk.vhdx?.hasParent, false);
        assert.equal(disk.logicalSectorSize, 0x200);
        assert.equal(disk.uuid, e.id);
        assert.equal(disk.diskType, e.type);
        assert.equal(disk.creator, 'Microsoft Windows 10.0.18363.0');
        assert.deepEqual(await disk.read(0x200000, 512), new Uint8Array(512).fill(0xff));
        const mbr = await disk.read(0, 512);
        assert.equal(Buffer.from(mbr.subarray(0, 8)).toString('hex'), '33c08ed0bc007c8e');
        assert.equal(Buffer.from(mbr.subarray(510)).toString('hex'), '55aa');
      });
    }
  });

  test('the VHD footers name creator "win " 10.0 on Wi2k, as the corpus notes record', async () => {
    for (const path of ['vhd/dissect/fixed.vhd.gz', 'vhd/dissect/dynamic.vhd.gz']) {
      await withDisk(files.get(path) as string, async (disk) => {
        assert.equal(disk.vhd?.creatorApp, 'win ');
        assert.equal(disk.vhd?.creatorVersion, '10.0');
        assert.equal(disk.vhd?.creatorHostOs, 'Wi2k');
      });
    }
  });

  test('differencing.avhdx: parent linkage, parent path, size and ids match vhdiinfo', async () => {
    const path = files.get('vhd/dissect/differencing.avhdx.gz') as string;
    const vhdi = await vhdiInfo(path);
    await withDisk(path, async (disk) => {
      assert.equal(disk.format, 'vhdx');
      assert.equal(disk.diskType, 'differencing');
      assert.equal(vhdi['Disk type'], 'Differential');
      assert.equal(disk.virtualSize, bytesInParens(vhdi['Media size']));
      assert.equal(vhdi.Identifier, disk.vhdx?.dataWriteGuid);
      assert.equal(disk.parent?.uuid, vhdi['Parent identifier']);
      const absolute = disk.parent?.locators.find((l) => l.key === 'absolute_win32_path');
      assert.equal(absolute?.path, vhdi['Parent filename']);
      assert.ok(disk.parent?.locators.some((l) => l.key === 'relative_path' && l.path?.startsWith('.\\')));
      assert.equal(disk.vhdx?.parentLocatorType, 'b04aefb7-d19e-4a81-b789-25b8e9445913');
      assert.equal(disk.creator, 'Microsoft Windows 10.0.17763.0');
      assert.equal(disk.needsLogReplay, false);
    });
  });

  test('differencing.avhdx: qemu-img refuses it, and our reads of parent-held data ask for the parent', async () => {
    const path = files.get('vhd/dissect/differencing.avhdx.gz') as string;
    await assert.rejects(qemuInfo(path), (e: Error) => /not supported/i.test(String((e as { stderrTail?: string }).stderrTail)));
    await withDisk(path, async (disk) => {
      await assert.rejects(disk.read(0, 512), (e: unknown) => e instanceof FormatError && e.code === 'DF_VDISK_NEEDS_PARENT');
    });
  });
});
