// PPKG facts from the 4 corpus packages, compared with independent tools: the WIM XML as
// wimlib-imagex prints it, queried with xmllint (libxml2), and each package's own
// customizations.xml, extracted by wimlib-imagex and queried with xmllint.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { corpusPath, makeTempDir } from '../../../test/helpers/corpus.js';
import { DeployForgeError } from '../../errors.js';
import { FileSource } from '../../util/byte-source.js';
import { runTool } from '../../util/exec.js';
import { readWimHeader } from '../wim/header.js';
import { parseWimXml, readWimXml } from '../wim/xml-info.js';
import { readPackageConfig } from './package-config.js';
import { isPpkgXml, parsePpkgNotes, readPpkgInfo } from './package-info.js';

async function xpath(file: string, expression: string): Promise<string> {
  // xmllint ends its output with a newline that is not part of the value.
  return (await runTool('xmllint', ['--xpath', `string(${expression})`, file], { timeoutMs: 30_000 })).stdout.replace(/\n$/, '');
}

async function readXml(path: string) {
  const source = await FileSource.open(path);
  try {
    return await readWimXml(source, await readWimHeader(source));
  } finally {
    await source.close();
  }
}

describe('readPpkgInfo on the corpus packages', () => {
  const packages = readdirSync(corpusPath('ppkg')).filter((f) => f.endsWith('.ppkg'));
  let dir = '';
  let cleanup = async () => {};
  before(async () => {
    ({ path: dir, cleanup } = await makeTempDir('deployforge-ppkg-'));
  });
  after(() => cleanup());

  test('the corpus holds the 4 packages', () => assert.equal(packages.length, 4));

  for (const file of packages) {
    test(`reads ${file}'s package facts as xmllint reads wimlib-imagex's XML`, async () => {
      const path = corpusPath(`ppkg/${file}`);
      const xmlFile = join(dir, `${file}.wim.xml`);
      await writeFile(xmlFile, (await runTool('wimlib-imagex', ['info', '--xml', path], { binary: true, timeoutMs: 30_000 })).stdout);
      const info = readPpkgInfo(await readXml(path));
      assert.ok(info, 'detected as a PPKG');
      const q = (e: string) => xpath(xmlFile, e);
      assert.equal(info.name, await q('/WIM/IMAGE/NAME'));
      assert.equal(info.version, await q('/WIM/IMAGE/VERSION'));
      assert.equal(String(info.altitude), await q('/WIM/IMAGE/ALTITUDE'));
      assert.equal(`{${info.packageId}}`, (await q('/WIM/IMAGE/PACKAGEID')).toLowerCase());
      const notes = await q('/WIM/IMAGE/NOTES');
      assert.equal(info.packageId, /PackageID=([^;]*)/.exec(notes)?.[1].toLowerCase());
      assert.equal(info.signed, /SignPackage=True/.test(notes));
      assert.equal(info.encrypted, /EncryptPackage=True/.test(notes));
      assert.deepEqual(info.targetSkus, /TargetSkus=([^;]*)/.exec(notes)?.[1].split(','));
      assert.equal(info.designerVersion, /^VERSION=([^;]*)/.exec(notes)?.[1]);
    });

    test(`decodes ${file}'s owner and rank from ALTITUDE exactly as its own customizations.xml states them`, async () => {
      const path = corpusPath(`ppkg/${file}`);
      const dest = join(dir, file);
      await runTool('wimlib-imagex', ['extract', path, '1', '/Multivariant/0/customizations.xml', `--dest-dir=${dest}`, '--no-acls'], { timeoutMs: 30_000 });
      const customizations = join(dest, 'customizations.xml');
      const owner = await xpath(customizations, "//*[local-name()='PackageConfig']/*[local-name()='OwnerType']");
      const rank = Number(await xpath(customizations, "//*[local-name()='PackageConfig']/*[local-name()='Rank']"));
      const xml = await readXml(path);

      const fromAltitude = readPpkgInfo(xml);
      assert.equal(fromAltitude?.ownerSource, 'altitude');
      assert.equal(fromAltitude?.owner, owner);
      assert.equal(fromAltitude?.rank, rank);

      const config = readPackageConfig(await readFile(customizations));
      assert.equal(config.ownerType, owner);
      assert.equal(config.rank, rank);
      assert.equal(config.name, await xpath(customizations, "//*[local-name()='PackageConfig']/*[local-name()='Name']"));
      assert.equal(config.id, await xpath(customizations, "//*[local-name()='PackageConfig']/*[local-name()='ID']"));
      const fromConfig = readPpkgInfo(xml, config);
      assert.equal(fromConfig?.ownerSource, 'package-config');
      assert.equal(`{${fromConfig?.packageId}}`, config.id?.toLowerCase());
      assert.equal(fromConfig?.version, config.version);
    });
  }

  test('reads the PackageConfig of a standalone WCD customizations.xml as xmllint does', async () => {
    const path = corpusPath('ppkg/customizations/clean_setup_customizations.xml');
    const config = readPackageConfig(await readFile(path));
    for (const [field, value] of Object.entries({ ID: config.id, Name: config.name, Version: config.version, OwnerType: config.ownerType })) {
      assert.equal(value, await xpath(path, `//*[local-name()='PackageConfig']/*[local-name()='${field}']`), field);
    }
    assert.equal(String(config.rank), await xpath(path, "//*[local-name()='PackageConfig']/*[local-name()='Rank']"));
  });
});

describe('PPKG detection by content', () => {
  test('does not take the corpus test WIMs for packages', async () => {
    for (const file of readdirSync(corpusPath('wim/wimlib')).filter((f) => f.endsWith('.wim'))) {
      const xml = await readXml(corpusPath(`wim/wimlib/${file}`));
      assert.equal(isPpkgXml(xml), false, file);
      assert.equal(readPpkgInfo(xml), null);
    }
  });

  test('recognises a package by NOTES alone when PACKAGEID is missing', () => {
    const xml = parseWimXml('<WIM><IMAGE INDEX="1"><NAME>p</NAME><NOTES>Source=Classic;TargetSkus=Desktop;PackageID=1f4e2c40-9d5f-41b4-ab8b-0ec5dd0fc160;</NOTES></IMAGE></WIM>');
    assert.equal(isPpkgXml(xml), true);
    assert.equal(readPpkgInfo(xml)?.packageId, '1f4e2c40-9d5f-41b4-ab8b-0ec5dd0fc160');
    assert.equal(readPpkgInfo(xml)?.owner, null);
  });

  test('leaves owner unknown for an altitude whose owner base has no verified sample', () => {
    const xml = parseWimXml('<WIM><IMAGE INDEX="1"><PACKAGEID>{1f4e2c40-9d5f-41b4-ab8b-0ec5dd0fc160}</PACKAGEID><ALTITUDE>5010</ALTITUDE></IMAGE></WIM>');
    const info = readPpkgInfo(xml);
    assert.equal(info?.altitude, 5010);
    assert.equal(info?.owner, null);
    assert.equal(info?.rank, null);
  });

  test('splits NOTES into keys, skipping empty parts', () => {
    assert.deepEqual(parsePpkgNotes('VERSION=1;;A=b=c;;Z='), { VERSION: '1', A: 'b=c', Z: '' });
  });

  test('refuses a customizations.xml without PackageConfig or that is not XML', () => {
    for (const text of ['<WindowsCustomizations><Settings/></WindowsCustomizations>', '<Other/>', '<WindowsCustomizations>', '']) {
      assert.throws(
        () => readPackageConfig(text),
        (e: unknown) => e instanceof DeployForgeError && e.code === 'DF_PPKG_BAD_CUSTOMIZATIONS',
      );
    }
  });
});
