// Partition tables written by sfdisk, fdisk (4096-byte sectors) and mkfs.fat, read by us and
// compared with what sfdisk/fdisk report; hostile extended chains; and a fast-check fuzz of
// mutated and truncated real tables (MBR with logicals, GPT) that must never escape a
// DeployForgeError. VHD/VHDX-wrapped disks are covered in ../vhd/qemu-images.test.ts.
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { makeTempDir } from '../../../test/helpers/corpus.js';
import { DeployForgeError, FormatError } from '../../errors.js';
import { BufferSource } from '../../util/byte-source.js';
import { runTool } from '../../util/exec.js';
import { PatchedSource, sfdiskJson, sfdiskWrite, UTC_ENV } from '../vhd/test-fixtures.js';
import { crc32 } from './crc32.js';
import { readPartitionTable } from './partition-table.js';

const MiB = 1024 * 1024;

describe('partition tables from real tools', () => {
  let dir: { path: string; cleanup: () => Promise<void> };
  let mbr: Uint8Array;
  let gpt: Uint8Array;
  before(async () => {
    dir = await makeTempDir('df-disk-');
    const mbrPath = `${dir.path}/mbr.raw`;
    const gptPath = `${dir.path}/gpt.raw`;
    await writeFile(mbrPath, new Uint8Array(32 * MiB));
    await writeFile(gptPath, new Uint8Array(16 * MiB));
    await sfdiskWrite(mbrPath, 'label: dos\nstart=2048, size=4MiB, type=ef\nsize=4MiB, type=7, bootable\ntype=f\nsize=3MiB, type=83\nsize=3MiB, type=82\nsize=2MiB, type=b\n');
    await sfdiskWrite(
      gptPath,
      'label: gpt\nsize=2MiB, type=21686148-6449-6E6F-744E-656564454649, name="bios"\nsize=4MiB, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name="root", attrs="LegacyBIOSBootable"\ntype=0657FD6D-A4AB-43C4-84E5-0933C84B4F4F\n',
    );
    mbr = await readFile(mbrPath);
    gpt = await readFile(gptPath);
  });
  after(async () => dir?.cleanup());

  test('logical partitions in an extended chain are numbered from 5 and match sfdisk', async () => {
    const table = await readPartitionTable(new BufferSource(mbr));
    const sfdisk = await sfdiskJson(`${dir.path}/mbr.raw`);
    assert.ok(sfdisk);
    assert.deepEqual(
      table.partitions.map((p) => [p.index, p.start / 512, p.size / 512, Number.parseInt(p.typeId, 16).toString(16), p.bootable]),
      sfdisk.partitions.map((p) => [Number(/(\d+)$/.exec(p.node)?.[1]), p.start, p.size, p.type, p.bootable ?? false]),
    );
    assert.deepEqual(
      table.partitions.map((p) => p.typeName),
      ['EFI system', 'NTFS/exFAT/HPFS', 'Extended (LBA)', 'Linux', 'Linux swap', 'FAT32 (CHS)'],
    );
    assert.deepEqual(
      table.partitions.map((p) => p.logical),
      [false, false, false, true, true, true],
    );
  });

  test('an extended chain that links back to itself is reported as corrupt, not followed forever', async () => {
    const looped = Uint8Array.from(mbr);
    const table = await readPartitionTable(new BufferSource(mbr));
    const extended = (table.partitions.find((p) => p.extended) as { start: number }).start;
    const second = await secondEbrOffset(mbr, extended);
    // The second EBR's link entry now names the second EBR itself (relative to the extended start).
    const link = second + 0x1be + 16;
    looped[link + 4] = 0x05;
    new DataView(looped.buffer).setUint32(link + 8, (second - extended) / 512, true);
    new DataView(looped.buffer).setUint32(link + 12, 2048, true);
    await assert.rejects(readPartitionTable(new BufferSource(looped)), (e: unknown) => e instanceof FormatError && e.code === 'DF_MBR_EBR_LOOP');
  });

  test('GPT names, GUIDs and attributes match sfdisk; BIOS boot, Linux and swap types are named', async () => {
    const table = await readPartitionTable(new BufferSource(gpt));
    const sfdisk = await sfdiskJson(`${dir.path}/gpt.raw`);
    assert.ok(sfdisk);
    assert.equal(table.diskGuid, sfdisk.id.toLowerCase());
    assert.deepEqual(
      table.partitions.map((p) => [p.start / 512, p.size / 512, p.typeId, p.uuid, p.name]),
      sfdisk.partitions.map((p) => [p.start, p.size, p.type.toLowerCase(), p.uuid?.toLowerCase(), p.name ?? '']),
    );
    assert.deepEqual(
      table.partitions.map((p) => p.attributes),
      [0n, 4n, 0n],
    );
    assert.deepEqual(
      table.partitions.map((p) => p.typeName),
      ['BIOS boot', 'Linux filesystem', 'Linux swap'],
    );
  });

  test('a GPT with both headers damaged is a DF_GPT_BAD_HEADER error', async () => {
    const broken = Uint8Array.from(gpt);
    broken[512 + 100] ^= 0xff;
    broken[512 + 16] ^= 0x01;
    broken[gpt.length - 512 + 16] ^= 0x01;
    await assert.rejects(readPartitionTable(new BufferSource(broken)), (e: unknown) => e instanceof FormatError && e.code === 'DF_GPT_BAD_HEADER');
  });

  test('a 4096-byte-sector GPT written by fdisk -b 4096 reads the same as fdisk lists it', async () => {
    const path = `${dir.path}/4k.raw`;
    await writeFile(path, new Uint8Array(64 * MiB));
    await runTool('fdisk', ['-b', '4096', path], { input: 'g\nn\n\n\n+8M\nt\n1\nn\n\n\n+16M\nw\n', env: UTC_ENV });
    const { stdout } = await runTool('fdisk', ['-b', '4096', '-l', '-o', 'Device,Start,Sectors,Type-UUID', path], { env: UTC_ENV });
    const rows = stdout
      .split('\n')
      .filter((line) => line.startsWith(path))
      .map((line) => line.split(/\s+/));
    assert.equal(rows.length, 2);
    const table = await readPartitionTable(new BufferSource(await readFile(path)), { sectorSize: 4096 });
    assert.equal(table.scheme, 'gpt');
    assert.equal(table.diskGuid, /Disk identifier: (\S+)/.exec(stdout)?.[1].toLowerCase());
    assert.deepEqual(
      table.partitions.map((p) => [p.start / 4096, p.size / 4096, p.typeId]),
      rows.map((r) => [Number(r[1]), Number(r[2]), r[3].toLowerCase()]),
    );
  });

  test('a FAT superfloppy (boot sector, no table) has no partitions, as sfdisk agrees', async () => {
    const path = `${dir.path}/floppy.img`;
    await runTool('mkfs.fat', ['-C', path, '1440'], { env: UTC_ENV });
    assert.deepEqual((await sfdiskJson(path))?.partitions ?? [], []);
    const table = await readPartitionTable(new BufferSource(await readFile(path)));
    assert.equal(table.scheme, 'none');
  });

  test('mutated and truncated real MBR and GPT tables parse or fail with a DeployForgeError (2,000 variants)', async () => {
    const mbrTable = await readPartitionTable(new BufferSource(mbr));
    const ext = (mbrTable.partitions.find((p) => p.extended) as { start: number }).start;
    const inputs = [
      {
        bytes: mbr,
        spans: [
          [0x1be, 66],
          [ext + 0x1be, 34],
          [(await secondEbrOffset(mbr, ext)) + 0x1be, 34],
        ],
      },
      {
        bytes: gpt,
        spans: [
          [0x1be, 66],
          [512, 92],
          [1024, 3 * 128],
          [gpt.length - 512, 92],
          [gpt.length - 33 * 512, 3 * 128],
        ],
      },
    ];
    let ok = 0;
    let failed = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.nat(1),
        fc.array(fc.record({ spot: fc.nat(), pos: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }), { minLength: 1, maxLength: 8 }),
        fc.boolean(),
        fc.oneof({ arbitrary: fc.constant(null), weight: 3 }, { arbitrary: fc.integer({ min: 0, max: 1000 }), weight: 1 }),
        fc.constantFrom(512, 4096),
        async (which, mutations, fixCrc, truncate, sectorSize) => {
          const { bytes, spans } = inputs[which];
          const patches = new Map<number, number>();
          for (const m of mutations) {
            const [start, length] = m.spot % 4 === 3 ? [0, bytes.length] : spans[m.spot % spans.length];
            patches.set(start + (m.pos % length), m.value);
          }
          if (fixCrc && which === 1) for (const at of [512, gpt.length - 512]) refreshGptCrcs(bytes, patches, at);
          const size = truncate === null ? bytes.length : Math.floor((bytes.length * truncate) / 1000);
          try {
            await readPartitionTable(new PatchedSource(bytes, patches, size), { sectorSize: sectorSize as 512 | 4096 });
            ok++;
          } catch (error) {
            failed++;
            if (!(error instanceof DeployForgeError)) throw error;
          }
        },
      ),
      { numRuns: 2000, seed: 7 },
    );
    assert.ok(ok > 100 && failed > 100, `ok ${ok}, failed ${failed}`);
  });
});

/** Byte offset of the second EBR, found by following the first EBR's link entry. */
async function secondEbrOffset(disk: Uint8Array, extendedStart: number): Promise<number> {
  const link = new DataView(disk.buffer, disk.byteOffset).getUint32(extendedStart + 0x1be + 16 + 8, true);
  return extendedStart + link * 512;
}

/** Recomputes the entry-array CRC and header CRC of a GPT header at `at` in the patched view,
 *  so mutations reach the entries behind the checksums. */
function refreshGptCrcs(base: Uint8Array, patches: Map<number, number>, at: number): void {
  const view = (offset: number, length: number): Uint8Array => {
    const out = Uint8Array.from(base.subarray(offset, offset + length));
    for (const [p, value] of patches) if (p >= offset && p < offset + length) out[p - offset] = value;
    return out;
  };
  const put = (offset: number, value: number) =>
    [0, 8, 16, 24].forEach((shift, i) => {
      patches.set(offset + i, (value >>> shift) & 0xff);
    });
  const header = view(at, 512);
  const dv = new DataView(header.buffer);
  const headerSize = dv.getUint32(12, true);
  if (headerSize < 92 || headerSize > 512) return;
  const entryLba = Number(dv.getBigUint64(72, true));
  const arrayBytes = dv.getUint32(80, true) * dv.getUint32(84, true);
  if (entryLba * 512 + arrayBytes <= base.length && arrayBytes <= 64 * 1024) put(at + 88, crc32(view(entryLba * 512, arrayBytes)));
  const fresh = view(at, headerSize);
  fresh.fill(0, 16, 20);
  put(at + 16, crc32(fresh));
}
