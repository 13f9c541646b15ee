// Detection goes by content, never by name: every fixture is copied to a name with no extension
// (and a misleading one) before detection.
import assert from 'node:assert/strict';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { detectFormat } from '../../src/formats/detect.js';
import { FileSource } from '../../src/util/byte-source.js';
import { corpusPath, makeTempDir } from '../helpers/corpus.js';
import { type FixtureKind, makeFixture } from '../helpers/fixtures.js';

const EXPECTED: Record<FixtureKind, string> = {
  iso: 'iso',
  'iso-udf': 'iso',
  wim: 'wim',
  esd: 'esd',
  swm: 'swm',
  ppkg: 'ppkg',
  hive: 'hive',
  'hive-log': 'hive-log',
  vhd: 'vhd',
  'vhd-fixed': 'vhd',
  vhdx: 'vhdx',
  cab: 'cab',
  msu: 'msu',
  unattend: 'unattend',
  reg: 'reg',
};

async function detect(path: string): Promise<string> {
  const source = await FileSource.open(path);
  try {
    return (await detectFormat(source)).format;
  } finally {
    await source.close();
  }
}

describe('detectFormat', () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  before(async () => {
    tmp = await makeTempDir();
  });
  after(async () => {
    await tmp.cleanup();
  });

  for (const [kind, format] of Object.entries(EXPECTED) as [FixtureKind, string][]) {
    test(`recognises ${kind} by content as ${format}`, async () => {
      const made = await makeFixture(kind, tmp.path);
      const renamed = join(tmp.path, `${kind}-renamed.txt`);
      await copyFile(made, renamed);
      assert.equal(await detect(renamed), format);
    });
  }

  test('recognises a .reg file written by regedit (UTF-16LE with BOM, CRLF) and REGEDIT4', async () => {
    const text = (await readFile(corpusPath('reg/windeploy-linux/sshd_service.reg'), 'utf8')).replace(/\r?\n/g, '\r\n');
    const utf16 = join(tmp.path, 'utf16');
    await writeFile(utf16, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]));
    assert.equal(await detect(utf16), 'reg');
    const old = join(tmp.path, 'regedit4');
    await writeFile(old, 'REGEDIT4\r\n\r\n[HKEY_CURRENT_USER\\Software\\X]\r\n"A"="b"\r\n');
    assert.equal(await detect(old), 'reg');
  });

  test('recognises a hive inside the corpus BCD store and says unknown for other bytes', async () => {
    assert.equal(await detect(corpusPath('registry/bcd/windeploy-linux_BCD-efi')), 'hive');
    const other = join(tmp.path, 'other');
    await writeFile(other, Buffer.alloc(70000, 0x41));
    assert.equal(await detect(other), 'unknown');
  });
});
