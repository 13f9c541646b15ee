// Unit tests on hand-built structures for what real tools cannot cheaply produce here: multi-extent
// files (ISO level 3, files of 4 GiB and more), damaged boot catalogs, and the UDF tag CRC.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { DeployForgeError } from '../../errors.js';
import { BufferSource } from '../../util/byte-source.js';
import { parseBootCatalog } from './el-torito.js';
import type { VolumeDescriptor } from './iso9660-descriptors.js';
import { FLAG_DIRECTORY, FLAG_MULTI_EXTENT, groupMultiExtent, parseDirectoryExtent } from './iso9660-directory.js';
import { Iso9660Tree } from './iso9660-tree.js';
import { crcItu } from './udf-tag.js';
import { decodeTimestamp } from './udf-types.js';

/** One directory record (ECMA-119 §9.1) with both-endian fields. */
function record(name: string, lba: number, length: number, flags: number): Uint8Array {
  const id = Buffer.from(name, 'latin1');
  const size = 33 + id.length + (id.length % 2 === 0 ? 1 : 0);
  const r = Buffer.alloc(size);
  r[0] = size;
  r.writeUInt32LE(lba, 2);
  r.writeUInt32BE(lba, 6);
  r.writeUInt32LE(length, 10);
  r.writeUInt32BE(length, 14);
  r.set([124, 1, 2, 3, 4, 5, 0], 18);
  r[25] = flags;
  r.writeUInt16LE(1, 28);
  r.writeUInt16BE(1, 30);
  r[32] = id.length;
  id.copy(r, 33);
  return r;
}

function directory(records: Uint8Array[]): Buffer {
  const out = Buffer.alloc(2048);
  let at = 0;
  for (const r of records) {
    out.set(r, at);
    at += r.length;
  }
  return out;
}

describe('multi-extent files (ECMA-119 §6.5.1)', () => {
  const CHUNK = 0xfffff800; // the largest sector-aligned extent, as libisofs writes for files over 4 GiB
  const dir = directory([
    record('\0', 20, 2048, FLAG_DIRECTORY),
    record('\x01', 20, 2048, FLAG_DIRECTORY),
    record('INSTALL.WIM;1', 100, CHUNK, FLAG_MULTI_EXTENT),
    record('INSTALL.WIM;1', 100 + CHUNK / 2048, 123_456, 0),
    record('SMALL.TXT;1', 50, 10, 0),
  ]);

  test('merges consecutive records of one name into one file of the summed size', () => {
    const records = parseDirectoryExtent(dir, 2048, 'test').slice(2);
    const groups = groupMultiExtent(records, (a, b) => Buffer.compare(a.identifier, b.identifier) === 0, 'test');
    assert.equal(groups.length, 2);
    assert.equal(groups[0].size, CHUNK + 123_456);
    assert.ok(groups[0].size > 2 ** 32);
    assert.equal(groups[0].records.length, 2);
    assert.equal(groups[1].size, 10);
  });

  test('exposes the extents in order and reads across the extent boundary', async () => {
    // A sparse image: only the directory sector and the bytes around the boundary are real.
    const image = new Uint8Array(2048 * 21);
    image.set(dir, 20 * 2048);
    const descriptor = { logicalBlockSize: 2048, root: { extentLba: 20, dataLength: 2048, recorded: undefined } } as unknown as VolumeDescriptor;
    const tree = new Iso9660Tree(new BufferSource(image), descriptor, 'iso9660');
    const [big, small] = await tree.readDirectory(tree.root);
    assert.equal(big.name, 'INSTALL.WIM');
    assert.equal(big.size, CHUNK + 123_456);
    assert.deepEqual(big.extents, [
      { offset: 100 * 2048, length: CHUNK },
      { offset: (100 + CHUNK / 2048) * 2048, length: 123_456 },
    ]);
    assert.equal(small.name, 'SMALL.TXT');
  });

  test('rejects a chain that changes name or ends inside a multi-extent file', () => {
    const broken = parseDirectoryExtent(directory([record('A;1', 1, 2048, FLAG_MULTI_EXTENT), record('B;1', 2, 10, 0)]), 2048, 't');
    assert.throws(
      () => groupMultiExtent(broken, (a, b) => Buffer.compare(a.identifier, b.identifier) === 0, 't'),
      (e: DeployForgeError) => e.code === 'DF_ISO_BAD_MULTI_EXTENT',
    );
    const open = parseDirectoryExtent(directory([record('A;1', 1, 2048, FLAG_MULTI_EXTENT)]), 2048, 't');
    assert.throws(
      () => groupMultiExtent(open, () => true, 't'),
      (e: DeployForgeError) => e.code === 'DF_ISO_BAD_MULTI_EXTENT',
    );
  });

  test('rejects a record that crosses a sector boundary', () => {
    // 57 records of 36 bytes: the last starts at 2016 and would end at 2052.
    const b = Buffer.alloc(4096);
    for (let i = 0; i < 57; i++) b.set(record('X;1', 1, 1, 0), i * 36);
    assert.throws(
      () => parseDirectoryExtent(b, 2048, 't'),
      (e: DeployForgeError) => e.code === 'DF_ISO_BAD_RECORD',
    );
  });
});

describe('El Torito catalog (El Torito 1.0 §2)', () => {
  function catalog(): Buffer {
    const b = Buffer.alloc(2048);
    b[0] = 1;
    b[30] = 0x55;
    b[31] = 0xaa;
    let sum = 0;
    for (let i = 0; i < 32; i += 2) sum = (sum + b.readUInt16LE(i)) & 0xffff;
    b.writeUInt16LE((0x10000 - sum) & 0xffff, 28);
    b[32] = 0x88;
    b.writeUInt16LE(0x7c0, 34);
    b.writeUInt16LE(8, 38);
    b.writeUInt32LE(300, 40);
    b[64] = 0x91;
    b[65] = 0xef;
    b.writeUInt16LE(1, 66);
    b[96] = 0x88;
    b.writeUInt16LE(2880, 102);
    b.writeUInt32LE(302, 104);
    return b;
  }

  test('reads the default entry and the final section (UEFI) like Windows media', () => {
    const entries = parseBootCatalog(catalog());
    assert.deepEqual(
      entries.map((e) => [e.platformName, e.emulation, e.loadSegment, e.sectorCount, e.loadRba, e.bootable]),
      [
        ['x86', 'none', 0x7c0, 8, 300, true],
        ['efi', 'none', 0, 2880, 302, true],
      ],
    );
  });

  test('rejects a bad checksum, missing key bytes and a section that overruns the catalog', () => {
    const bad = catalog();
    bad[4] ^= 1;
    assert.throws(
      () => parseBootCatalog(bad),
      (e: DeployForgeError) => e.code === 'DF_ELTORITO_BAD_CATALOG',
    );
    const noKey = catalog();
    noKey[31] = 0;
    assert.throws(
      () => parseBootCatalog(noKey),
      (e: DeployForgeError) => e.code === 'DF_ELTORITO_BAD_CATALOG',
    );
    const overrun = catalog().subarray(0, 96);
    assert.throws(
      () => parseBootCatalog(overrun),
      (e: DeployForgeError) => e.code === 'DF_ELTORITO_BAD_CATALOG',
    );
  });
});

describe('UDF primitives', () => {
  test('CRC is CRC-CCITT with initial value 0 (ECMA-167 3/7.2.6 example values)', () => {
    // ECMA-167 3/7.2.6 gives 0x3299 for the bytes 70 6A 77.
    assert.equal(crcItu(Uint8Array.from([0x70, 0x6a, 0x77])), 0x3299);
    assert.equal(crcItu(new TextEncoder().encode('123456789')), 0x31c3);
  });

  test('timestamps apply the recorded time zone (ECMA-167 1/7.3)', () => {
    const b = Buffer.alloc(12);
    b.writeUInt16LE((1 << 12) | 60, 0); // local time, UTC+60 minutes
    b.writeUInt16LE(2024, 2);
    b.set([2, 29, 13, 30, 15, 50], 4);
    assert.equal(decodeTimestamp(b, 0), '2024-02-29T12:30:15.500Z');
    b[4] = 13;
    assert.equal(decodeTimestamp(b, 0), undefined);
  });
});
