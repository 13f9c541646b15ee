// validateDriverFolder on temporary driver folders built from corpus INFs (built the way the
// virtio-win build and stampinf would, or left as templates) plus dummy files, some missing.
import assert from 'node:assert/strict';
import { readFile, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { corpusPath, hasCorpus, makeTempDir } from '../../../test/helpers/corpus.js';
import { putFile, stampInf } from '../../../test/helpers/step-inputs.js';
import { InputError } from '../../errors.js';
import { type DriverFolderReport, validateDriverFolder } from './validate-folder.js';

const codes = (report: DriverFolderReport, inf?: string): string[] =>
  report.findings
    .filter((finding) => inf === undefined || finding.inf === inf)
    .map((finding) => finding.code)
    .sort();

/** Writes `path` below `root`; without content, a dummy payload file. */
const put = (root: string, path: string, content: string | Uint8Array = 'MZ dummy') => putFile(join(root, path), content);

describe('validateDriverFolder', { skip: !hasCorpus() && 'no corpus' }, () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  const corpus = async (name: string): Promise<string> => readFile(corpusPath(`inf/virtio-win/${name}`), 'utf8');

  before(async () => {
    tmp = await makeTempDir('deployforge-inf-');
  });
  after(() => tmp.cleanup());

  test('accepts a built vioscsi package and marks it boot-critical', async () => {
    const root = join(tmp.path, 'vioscsi-ok');
    await put(root, 'vioscsi.inf', stampInf(await corpus('vioscsi_vioscsi.inx'), 'amd64'));
    await put(root, 'vioscsi.sys');
    await put(root, 'vioscsi.cat');
    const report = await validateDriverFolder(root, { architecture: 'amd64' });
    assert.deepEqual(codes(report), ['DF_DRIVER_BOOT_CRITICAL']);
    assert.equal(report.ok, true);
    assert.equal(report.errorCount, 0);
    const [inf] = report.infs;
    assert.equal(inf.inf, 'vioscsi.inf');
    assert.equal(inf.class, 'SCSIAdapter');
    assert.equal(inf.classGuid, '{4D36E97B-E325-11CE-BFC1-08002BE10318}');
    assert.equal(inf.provider, 'Red Hat, Inc.');
    assert.deepEqual(inf.architectures, ['amd64']);
    assert.equal(inf.supported, true);
    assert.equal(inf.template, false);
    assert.equal(inf.bootCritical, true);
    assert.match(inf.bootCriticalReason ?? '', /SCSIAdapter/);
    assert.equal(inf.catalogFile, 'vioscsi.cat');
    assert.equal(inf.catalogPresent, true);
    assert.ok(inf.hardwareIds.includes('PCI\\VEN_1AF4&DEV_1048'));
    assert.deepEqual(inf.files, [{ name: 'vioscsi.sys', path: 'vioscsi.sys', present: true, listedIn: ['SourceDisksFiles', 'CopyFiles'] }]);
  });

  test('matches file names case-insensitively, as NTFS does', async () => {
    const root = join(tmp.path, 'viostor-case');
    await put(root, 'VioStor.INF', stampInf(await corpus('viostor_viostor.inx'), 'amd64'));
    await put(root, 'VIOSTOR.SYS');
    await put(root, 'ViOsToR.CaT');
    const report = await validateDriverFolder(root, { architecture: 'amd64' });
    assert.equal(report.ok, true, JSON.stringify(report.findings));
    assert.equal(report.infs[0].catalogPresent, true);
  });

  test('reports a missing driver file as an error and a missing catalog as a warning', async () => {
    const root = join(tmp.path, 'viorng-missing');
    await put(root, 'rng/viorng.inf', stampInf(await corpus('viorng_viorng_viorng.inf'), 'amd64'));
    await put(root, 'rng/viorng.sys');
    await put(root, 'viorngum.dll'); // in the wrong folder: files sit beside their INF
    const report = await validateDriverFolder(root, { architecture: 'amd64' });
    assert.deepEqual(codes(report), ['DF_DRIVER_CATALOG_MISSING', 'DF_DRIVER_FILE_MISSING']);
    assert.equal(report.ok, false);
    assert.equal(report.errorCount, 1);
    assert.equal(report.warningCount, 1);
    const missing = report.findings.find((finding) => finding.code === 'DF_DRIVER_FILE_MISSING');
    assert.equal(missing?.inf, 'rng/viorng.inf');
    assert.match(missing?.message ?? '', /viorngum\.dll/);
    assert.deepEqual(
      report.infs[0].files.map((file) => [file.path, file.present]),
      [
        ['rng/viorng.sys', true],
        ['rng/viorngum.dll', false],
      ],
    );
    assert.equal(report.infs[0].bootCritical, false);
  });

  test('refuses an INF built for another architecture', async () => {
    const root = join(tmp.path, 'wrong-arch');
    await put(root, 'vioscsi.inf', stampInf(await corpus('vioscsi_vioscsi.inx'), 'amd64'));
    await put(root, 'vioscsi.sys');
    await put(root, 'vioscsi.cat');
    const report = await validateDriverFolder(root, { architecture: 'arm64' });
    assert.deepEqual(codes(report), ['DF_DRIVER_ARCH_UNSUPPORTED', 'DF_DRIVER_BOOT_CRITICAL']);
    assert.match(report.findings[0].message, /amd64/);
    assert.equal(report.infs[0].supported, false);
    assert.deepEqual(report.infs[0].files, [], 'files are not checked for an architecture that cannot install');
  });

  test('refuses an unbuilt template that still has $ARCH$ and INX_ placeholders', async () => {
    const root = join(tmp.path, 'template');
    await put(root, 'balloon.inf', await corpus('Balloon_sys_balloon.inx'));
    await put(root, 'balloon.sys');
    await put(root, 'Balloon.cat');
    const report = await validateDriverFolder(root, { architecture: 'amd64' });
    assert.deepEqual(codes(report), ['DF_DRIVER_INF_TEMPLATE']);
    assert.match(report.findings[0].message, /\$ARCH\$/);
    assert.equal(report.infs[0].template, true);
    assert.deepEqual(report.infs[0].architectures, [], 'the template itself claims no architecture');
    assert.equal(report.infs[0].files[0].present, true, 'the rest is still checked as if stamped for the target');
  });

  test('skips .inx templates with a note', async () => {
    const root = join(tmp.path, 'inx');
    await put(root, 'vioscsi.inx', await corpus('vioscsi_vioscsi.inx'));
    const report = await validateDriverFolder(root, { architecture: 'amd64' });
    assert.deepEqual(codes(report), ['DF_DRIVER_INX_SKIPPED', 'DF_DRIVER_NO_INF']);
  });

  test('checks a real multi-platform INF per architecture', async () => {
    const root = join(tmp.path, 'pciserial');
    await put(root, 'qemupciserial.inf', await corpus('pciserial_qemupciserial.inf'));
    const x86 = await validateDriverFolder(root, { architecture: 'x86' });
    assert.deepEqual(codes(x86), ['DF_DRIVER_CATALOG_MISSING']);
    assert.deepEqual(x86.infs[0].architectures, ['x86', 'amd64']);
    const arm64 = await validateDriverFolder(root, { architecture: 'arm64' });
    assert.deepEqual(codes(arm64), ['DF_DRIVER_ARCH_UNSUPPORTED', 'DF_DRIVER_CATALOG_MISSING']);
  });

  test('keeps checking the other INFs when one cannot be parsed', async () => {
    const root = join(tmp.path, 'broken');
    await put(root, 'a/broken.inf', '[Version\nSignature="$Windows NT$"\n');
    await put(root, 'b/smbus.inf', await corpus('Q35_SMBus_smbus.inf'));
    await put(root, 'b/smbus.cat');
    const report = await validateDriverFolder(root, { architecture: 'amd64' });
    assert.deepEqual(codes(report, 'a/broken.inf'), ['DF_DRIVER_INF_UNREADABLE']);
    assert.match(report.findings[0].message, /DF_INF_BAD_SECTION_HEADER/);
    assert.deepEqual(codes(report, 'b/smbus.inf'), []);
    assert.deepEqual(
      report.infs.map((inf) => inf.inf),
      ['b/smbus.inf'],
    );
  });

  test('follows SourceDisksNames paths and subdirs, and flags files outside SourceDisksFiles or the folder', async () => {
    const root = join(tmp.path, 'layout');
    const text = [
      '[Version]',
      'Signature="$Windows NT$"',
      'Class=Net',
      'ClassGuid={4d36e972-e325-11ce-bfc1-08002be10318}',
      'Provider=%P%',
      'CatalogFile.ntamd64=net64.cat',
      'DriverVer=01/02/2024,1.2.3.4',
      '[SourceDisksNames.amd64]',
      '1=%D%,,,\\x64',
      '[SourceDisksFiles.amd64]',
      'net.sys=1,bin',
      'escape.sys=1,..\\..\\..',
      '[DestinationDirs]',
      'DefaultDestDir=13',
      '[Manufacturer]',
      '%P%=Net,NTamd64',
      '[Net.NTamd64]',
      '%D%=Net_Inst,PCI\\VEN_1234&DEV_5678',
      '[Net_Inst.NT]',
      'CopyFiles=Net.Files',
      '[Net.Files]',
      'net.sys',
      'unlisted.dll',
      '[Strings]',
      'P="Contoso"',
      'D="Contoso NIC"',
    ].join('\r\n');
    await put(root, 'nic/net.inf', text);
    await put(root, 'nic/x64/bin/net.sys');
    await put(root, 'nic/unlisted.dll');
    await put(root, 'nic/net64.cat');
    const report = await validateDriverFolder(root, { architecture: 'amd64' });
    assert.deepEqual(codes(report), ['DF_DRIVER_BOOT_CRITICAL', 'DF_DRIVER_FILE_NOT_IN_SOURCEDISKSFILES', 'DF_DRIVER_FILE_OUTSIDE_FOLDER']);
    assert.deepEqual(
      report.infs[0].files.map((file) => [file.name, file.path, file.present]),
      [
        ['net.sys', 'nic/x64/bin/net.sys', true],
        ['escape.sys', 'x64/../../../escape.sys', false],
        ['unlisted.dll', 'nic/unlisted.dll', true],
      ],
    );
    assert.match(report.infs[0].bootCriticalReason ?? '', /Net/);
  });

  test('flags an INF without a catalog as unsigned and a missing Class as a warning', async () => {
    const root = join(tmp.path, 'unsigned');
    await put(root, 'x.inf', '[Version]\nSignature="$Windows NT$"\n[Manufacturer]\nM=Models,NTamd64\n[Models.NTamd64]\nX=Inst,ROOT\\X\n[Inst]\n');
    const report = await validateDriverFolder(root, { architecture: 'amd64' });
    assert.deepEqual(codes(report), ['DF_DRIVER_BAD_DRIVERVER', 'DF_DRIVER_NO_CLASS', 'DF_DRIVER_NO_CLASS_GUID', 'DF_DRIVER_UNSIGNED']);
    assert.equal(report.ok, true, 'warnings alone do not fail the folder');
  });

  test('reports an INF with a bad signature or missing sections as errors', async () => {
    const root = join(tmp.path, 'bad-sections');
    await put(
      root,
      'x.inf',
      '[Version]\nSignature="$Windows 95$"\nCatalogFile=x.cat\n[Manufacturer]\nM=Models,NTamd64\n[Models.NTamd64]\nX=Nowhere,ROOT\\X\nY=Inst,ROOT\\Y\n[Inst]\nCopyFiles=Gone\n',
    );
    await put(root, 'x.cat');
    const report = await validateDriverFolder(root, { architecture: 'amd64' });
    const errors = report.findings.filter((finding) => finding.severity === 'error').map((finding) => finding.code);
    assert.deepEqual(errors.sort(), ['DF_DRIVER_FILE_LIST_MISSING', 'DF_DRIVER_INF_BAD_SIGNATURE', 'DF_DRIVER_INSTALL_SECTION_MISSING']);
  });

  test('bounds the walk: too many entries is an error, too deep is a warning, linked folders are not followed', async () => {
    const root = join(tmp.path, 'bounded');
    await put(root, 'a/b/c/d/deep.inf', '[Version]\n');
    await put(root, 'one.txt');
    await put(root, 'two.txt');
    await symlink(root, join(root, 'loop'));
    const shallow = await validateDriverFolder(root, { architecture: 'amd64', maxDepth: 2 });
    assert.deepEqual(codes(shallow), ['DF_DRIVER_FOLDER_TOO_DEEP', 'DF_DRIVER_NO_INF', 'DF_DRIVER_SYMLINK_SKIPPED']);
    await assert.rejects(
      validateDriverFolder(root, { architecture: 'amd64', maxEntries: 3 }),
      (error: unknown) => error instanceof InputError && error.code === 'DF_DRIVER_FOLDER_TOO_LARGE',
    );
  });

  test('refuses a missing folder, a file instead of a folder and an unknown architecture', async () => {
    await assert.rejects(
      validateDriverFolder(join(tmp.path, 'nope'), { architecture: 'amd64' }),
      (error: unknown) => error instanceof InputError && error.code === 'DF_DRIVER_FOLDER_NOT_FOUND',
    );
    await put(tmp.path, 'plain-file');
    await assert.rejects(
      validateDriverFolder(join(tmp.path, 'plain-file'), { architecture: 'amd64' }),
      (error: unknown) => error instanceof InputError && error.code === 'DF_DRIVER_FOLDER_NOT_DIRECTORY',
    );
    await assert.rejects(
      validateDriverFolder(tmp.path, { architecture: 'mips' as 'amd64' }),
      (error: unknown) => error instanceof InputError && error.code === 'DF_DRIVER_BAD_ARCHITECTURE',
    );
  });

  test('every corpus INF, built for amd64 with all its files, validates cleanly', async () => {
    const root = join(tmp.path, 'all');
    const names = ['Balloon_sys_balloon.inx', 'NetKVM_NotifyObject_vioprot.inf', 'Q35_SMBus_smbus.inf', 'fwcfg64_fwcfg.inf', 'ivshmem_ivshmem.inf', 'pciserial_qemupciserial.inf'];
    names.push('pvpanic_pvpanic_pvpanic.inf', 'viofs_pci_viofs.inf', 'viorng_viorng_viorng.inf', 'vioscsi_vioscsi.inx', 'viostor_viostor.inx');
    const expectedFiles: Record<string, string[]> = {
      Balloon: ['balloon.sys'],
      fwcfg64: ['fwcfg.sys'],
      ivshmem: ['IVSHMEM.sys'],
      pvpanic: ['pvpanic.sys'],
      viofs: ['viofs.sys'],
      viorng: ['viorng.sys', 'viorngum.dll'],
      vioscsi: ['vioscsi.sys'],
      viostor: ['viostor.sys'],
    };
    for (const name of names) {
      const dir = name.split('_')[0];
      const text = stampInf(await corpus(name), 'amd64');
      await put(root, `${dir}/${name.replace(/\.inx$/, '.inf')}`, text);
      const catalog = /CatalogFile\s*=\s*(\S+)/i.exec(text)?.[1] ?? '';
      await put(root, `${dir}/${catalog}`);
      for (const file of expectedFiles[dir] ?? []) await put(root, `${dir}/${file}`);
    }
    const report = await validateDriverFolder(root, { architecture: 'amd64' });
    assert.equal(report.infs.length, 11);
    assert.deepEqual(
      report.findings.filter((finding) => finding.severity !== 'info'),
      [],
    );
    assert.deepEqual(
      report.infs.filter((inf) => inf.bootCritical).map((inf) => inf.inf),
      ['vioscsi/vioscsi_vioscsi.inf', 'viostor/viostor_viostor.inf'],
    );
  });
});
