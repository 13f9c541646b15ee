// A qemu-made VHDX given a live log (a valid "loge" entry whose GUID the header names): qemu-img
// refuses to open it read-only until the log is replayed, and we must report needsLogReplay and
// refuse reads. The log entry is written here (MS-VHDX 2.3.1.1); qemu is the judge of its validity.
import assert from 'node:assert/strict';
import { open, readFile } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import { makeTempDir } from '../../../test/helpers/corpus.js';
import { FormatError } from '../../errors.js';
import { FileSource } from '../../util/byte-source.js';
import { runTool } from '../../util/exec.js';
import { crc32c } from './crc32c.js';
import { openVirtualDisk } from './index.js';
import { qemuInfo, UTC_ENV } from './test-fixtures.js';

let dir: { path: string; cleanup: () => Promise<void> };
before(async () => {
  dir = await makeTempDir('df-vhdx-log-');
});
after(async () => dir?.cleanup());

const LOG_GUID = Uint8Array.from([0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x01]);

async function makeDirtyVhdx(path: string): Promise<void> {
  await runTool('qemu-img', ['create', '-f', 'vhdx', path, '8M'], { env: UTC_ENV });
  const bytes = new Uint8Array(await readFile(path));
  const view = new DataView(bytes.buffer);
  const fileSize = bytes.length;
  for (const at of [64 * 1024, 128 * 1024]) {
    bytes.set(LOG_GUID, at + 48);
    const logOffset = Number(view.getBigUint64(at + 72, true));
    // One 4 KiB entry with no descriptors: header fields of MS-VHDX 2.3.1.1.
    const entry = new Uint8Array(4096);
    const ev = new DataView(entry.buffer);
    entry.set(new TextEncoder().encode('loge'), 0);
    ev.setUint32(8, 4096, true);
    ev.setUint32(12, 0, true);
    ev.setBigUint64(16, 1n, true);
    entry.set(LOG_GUID, 32);
    ev.setBigUint64(48, BigInt(fileSize), true);
    ev.setBigUint64(56, BigInt(fileSize), true);
    ev.setUint32(4, crc32c(entry), true);
    bytes.set(entry, logOffset);
    const header = bytes.subarray(at, at + 4096);
    view.setUint32(at + 4, 0, true);
    view.setUint32(at + 4, crc32c(header), true);
  }
  const handle = await open(path, 'w');
  await handle.write(bytes);
  await handle.close();
}

test('a VHDX with a live log is flagged needsLogReplay and its reads are refused, as qemu-img refuses it', async () => {
  const path = `${dir.path}/dirty.vhdx`;
  await makeDirtyVhdx(path);
  await assert.rejects(qemuInfo(path, 'vhdx'), (e: Error) => /log that needs to be replayed/.test(String((e as { stderrTail?: string }).stderrTail)));
  const source = await FileSource.open(path);
  try {
    const disk = await openVirtualDisk(source);
    assert.equal(disk.needsLogReplay, true);
    assert.equal(disk.checksumValid, true);
    await assert.rejects(disk.read(0, 512), (e: unknown) => e instanceof FormatError && e.code === 'DF_VHDX_NEEDS_LOG_REPLAY');
  } finally {
    await source.close();
  }
});

test('a clean qemu VHDX (zero LogGuid) does not need log replay', async () => {
  const path = `${dir.path}/clean.vhdx`;
  await runTool('qemu-img', ['create', '-f', 'vhdx', path, '8M'], { env: UTC_ENV });
  const source = await FileSource.open(path);
  try {
    const disk = await openVirtualDisk(source);
    assert.equal(disk.needsLogReplay, false);
    assert.deepEqual(await disk.read(0, 512), new Uint8Array(512));
  } finally {
    await source.close();
  }
});
