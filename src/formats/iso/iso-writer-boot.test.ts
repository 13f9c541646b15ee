// Media written by the ISO writer boot: the sample media's files, rewritten in 'udf' mode with
// the Windows BIOS and UEFI El Torito entries, start under SeaBIOS and OVMF in QEMU.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { bootIso, qemuAvailable } from '../../../test/helpers/boot-harness.js';
import { makeTempDir } from '../../../test/helpers/corpus.js';
import { makeSampleMedia, SAMPLE_BIOS_MARKER } from '../../sample/sample-media.js';
import { FileSource } from '../../util/byte-source.js';
import { openIso } from './index.js';
import { type IsoInputFile, writeIsoFile } from './iso-writer.js';
import { reportElTorito, udfinfo } from './test-support.js';

const EFI_APP_TEXT = 'This file is used to prove you have managed';
const noBios = !(await qemuAvailable('bios')) && 'qemu or SeaBIOS missing';
const noUefi = !(await qemuAvailable('uefi')) && 'qemu or OVMF missing';

let temp: { path: string; cleanup: () => Promise<void> };
let iso: string;
const opened: FileSource[] = [];

before(async () => {
  temp = await makeTempDir('df-isow-boot-');
  const sample = join(temp.path, 'sample.iso');
  await makeSampleMedia(sample, { sizeMb: 12, editions: 1 });
  const source = await FileSource.open(sample);
  opened.push(source);
  const image = await openIso(source);
  const files: IsoInputFile[] = [];
  const directories: string[] = [];
  for await (const e of image.walk()) {
    if (e.isDirectory) directories.push(e.path);
    else files.push({ path: e.path, size: e.size, source: await image.openFile(e.path) });
  }
  iso = join(temp.path, 'rewritten.iso');
  await writeIsoFile(
    files,
    {
      mode: 'udf',
      volumeLabel: 'DF_SAMPLE_X64FRE_EN-US',
      directories,
      timestamp: new Date('2024-07-01T00:00:00Z'),
      boot: [
        { platform: 0, imagePath: 'boot/etfsboot.com' },
        { platform: 0xef, imagePath: 'efi/microsoft/boot/efisys.bin' },
      ],
    },
    iso,
  );
});

after(async () => {
  for (const s of opened) await s.close();
  await temp.cleanup();
});

describe('a rewritten sample medium (udf mode)', () => {
  test('has the Windows boot entries and a valid UDF 1.02 volume', async () => {
    const boot = await reportElTorito(iso);
    assert.deepEqual(
      boot.map((b) => [b.platform, b.loadSegment, b.loadSize]),
      [
        ['BIOS', 0x7c0, 8],
        ['UEFI', 0, boot[1].loadSize],
      ],
    );
    const info = await udfinfo(iso);
    assert.equal(info.get('udfrev'), '1.02');
    assert.equal(info.get('label'), 'DF_SAMPLE_X64FRE_EN-US');
  });

  test('boots under SeaBIOS', { skip: noBios }, async () => {
    const result = await bootIso(iso, { firmware: 'bios', expect: SAMPLE_BIOS_MARKER, timeoutMs: 120_000 });
    assert.ok(result.seen, `serial output was:\n${result.serial.slice(-2000)}`);
  });

  test('boots under OVMF', { skip: noUefi }, async () => {
    const result = await bootIso(iso, { firmware: 'uefi', expect: EFI_APP_TEXT, timeoutMs: 180_000 });
    assert.ok(result.seen, `serial output was:\n${result.serial.slice(-2000)}`);
  });
});
