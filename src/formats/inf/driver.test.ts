// describeDriver on a hand-written cross-platform INF (decorations, version-targeted Models
// sections, DDInstall platform extensions, CopyFiles, DestinationDirs, SourceDisksFiles per
// platform) and on every corpus INF/INX, whose facts below were read off the files by hand.
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { describe, test } from 'node:test';
import { corpusPath, hasCorpus } from '../../../test/helpers/corpus.js';
import {
  catalogFileFor,
  type DriverDescription,
  describeDriver,
  describeInstall,
  type InfArchitecture,
  type InfArchitectureInstall,
  joinInfPath,
  parseInfNumber,
  parseTargetOsVersion,
} from './driver.js';
import { parseInf } from './parse.js';

const describeText = (text: string, options?: Parameters<typeof describeDriver>[1]): DriverDescription =>
  describeDriver(parseInf(new TextEncoder().encode(text), 'test.inf'), options);

const install = (description: DriverDescription, arch: InfArchitecture): InfArchitectureInstall => {
  const found = description.installs.find((candidate) => candidate.architecture === arch);
  assert.ok(found, `no install for ${arch}`);
  return found;
};

const CONTOSO = `
[Version]
Signature = "$Windows NT$"
Class = Net
ClassGuid = {4d36e972-e325-11ce-bfc1-08002be10318}
Provider = %Contoso%
CatalogFile = contoso.cat
CatalogFile.NTamd64 = contoso64.cat
CatalogFile.ntarm64 = contosoarm.cat
DriverVer = 07/04/2023,10.1.2.3
PnpLockdown = 1

[SourceDisksNames]
1 = %Disk%,,,\\drivers
[SourceDisksNames.amd64]
1 = %Disk%,,,\\drivers\\x64

[SourceDisksFiles]
contoso.sys = 1,common
shared.dll = 1
[SourceDisksFiles.amd64]
contoso.sys = 1,,12345
[SourceDisksFiles.arm64]
contoso.sys = 1,arm64

[DestinationDirs]
DefaultDestDir = 13
Contoso.Copy.Dll = 11, contoso

[Manufacturer]
%Contoso% = Contoso, NTx86, NTamd64.10.0...16299, NTarm64, NTamd64.6.1, NTia64

[Contoso.NTx86]
%Dev.Desc% = Dev_Install, PCI\\VEN_1234&DEV_0001

[Contoso.NTamd64.10.0...16299]
%Dev.Desc% = Dev_Install, PCI\\VEN_1234&DEV_0001&SUBSYS_00011234, PCI\\VEN_1234&DEV_0001, PCI\\CC_0200
%Dev2.Desc% = Dev_Install2,, PCI\\VEN_1234&DEV_0002

[Contoso.NTamd64.6.1]
%Dev.Desc% = Dev_Install, PCI\\VEN_1234&DEV_0001

[Contoso.NTarm64]
%Dev.Desc% = Dev_Install, PCI\\VEN_1234&DEV_0001

[Contoso.NTia64]
; empty: Itanium is excluded

[Dev_Install.NT]
CopyFiles = Contoso.Copy.Sys, @extra.bin
CopyFiles = Contoso.Copy.Dll

[Dev_Install.NTamd64]
CopyFiles = Contoso.Copy.Sys, Contoso.Copy.Dll

[Dev_Install.NTamd64.CoInstallers]
CopyFiles = @coinst.dll

[Dev_Install.NTamd64.Services]
AddService = contoso, 0x00000002, Contoso.Service

[Dev_Install.NT.Services]
AddService = contoso, 2, Contoso.Service

[Dev_Install2]
CopyFiles = Missing.List

[Contoso.Copy.Sys]
contoso.sys,,,0x2
renamed.sys, contoso.sys

[Contoso.Copy.Dll]
shared.dll

[Contoso.Service]
DisplayName = %Dev.Desc%
ServiceType = 1
StartType = 0
ErrorControl = 1
ServiceBinary = %13%\\contoso.sys
LoadOrderGroup = NDIS

[ClassInstall32.NTamd64]
CopyFiles = Class.Copy
[Class.Copy]
classinst.dll

[Strings]
Contoso = "Contoso, Ltd."
Disk = "Contoso disk"
Dev.Desc = "Contoso Network Adapter"
Dev2.Desc = "Contoso Adapter 2"
`;

describe('describeDriver on a cross-platform INF', () => {
  const contoso = describeText(CONTOSO);

  test('reads the Version section', () => {
    assert.equal(contoso.signature, '$Windows NT$');
    assert.equal(contoso.signatureValid, true);
    assert.equal(contoso.class, 'Net');
    assert.equal(contoso.classGuid, '{4d36e972-e325-11ce-bfc1-08002be10318}');
    assert.equal(contoso.classGuidValid, true);
    assert.equal(contoso.provider, 'Contoso, Ltd.');
    assert.deepEqual(contoso.driverVer, { raw: '07/04/2023,10.1.2.3', date: '2023-07-04', version: '10.1.2.3', valid: true });
    assert.equal(contoso.pnpLockdown, 1);
    assert.deepEqual(
      contoso.catalogFiles.map((c) => [c.decoration, c.file]),
      [
        [undefined, 'contoso.cat'],
        ['ntamd64', 'contoso64.cat'],
        ['ntarm64', 'contosoarm.cat'],
      ],
    );
    assert.deepEqual(
      contoso.issues.map((issue) => issue.message).filter((m) => !m.includes('install section')),
      [],
    );
  });

  test('parses the manufacturer decorations', () => {
    const [manufacturer] = contoso.manufacturers;
    assert.equal(manufacturer.name, 'Contoso, Ltd.');
    assert.equal(manufacturer.nameRaw, '%Contoso%');
    assert.equal(manufacturer.modelsSectionName, 'Contoso');
    assert.deepEqual(
      manufacturer.decorations.map((d) => d.raw),
      ['NTx86', 'NTamd64.10.0...16299', 'NTarm64', 'NTamd64.6.1', 'NTia64'],
    );
    assert.deepEqual(manufacturer.decorations[1], {
      raw: 'NTamd64.10.0...16299',
      valid: true,
      archPlaceholder: false,
      architecture: 'amd64',
      osMajor: 10,
      osMinor: 0,
      buildNumber: 16299,
    });
    // No undecorated [Contoso] section and decorations given: only the decorated ones are listed.
    assert.deepEqual(
      manufacturer.modelsSections.map((m) => [m.name, m.present, m.models.length]),
      [
        ['Contoso.NTx86', true, 1],
        ['Contoso.NTamd64.10.0...16299', true, 2],
        ['Contoso.NTarm64', true, 1],
        ['Contoso.NTamd64.6.1', true, 1],
        ['Contoso.NTia64', true, 0],
      ],
    );
  });

  test('lists the architectures with a non-empty Models section (an empty one excludes)', () => {
    assert.deepEqual(contoso.architectures, ['x86', 'amd64', 'arm64']);
    assert.deepEqual(
      contoso.installs.map((i) => i.architecture),
      ['x86', 'amd64', 'arm64'],
    );
  });

  test('reads models with hardware and compatible IDs', () => {
    const amd64 = install(contoso, 'amd64');
    assert.deepEqual(amd64.modelsSections, ['Contoso.NTamd64.10.0...16299', 'Contoso.NTamd64.6.1']);
    const [first, second] = amd64.models;
    assert.equal(first.description, 'Contoso Network Adapter');
    assert.equal(first.descriptionRaw, '%Dev.Desc%');
    assert.equal(first.hardwareId, 'PCI\\VEN_1234&DEV_0001&SUBSYS_00011234');
    assert.deepEqual(first.compatibleIds, ['PCI\\VEN_1234&DEV_0001', 'PCI\\CC_0200']);
    assert.equal(second.hardwareId, undefined, 'hw-id may be left empty when a compatible ID follows');
    assert.deepEqual(second.compatibleIds, ['PCI\\VEN_1234&DEV_0002']);
    assert.deepEqual(amd64.hardwareIds, ['PCI\\VEN_1234&DEV_0001&SUBSYS_00011234', 'PCI\\VEN_1234&DEV_0001', 'PCI\\CC_0200', 'PCI\\VEN_1234&DEV_0002']);
  });

  test('resolves DDInstall sections by platform extension: .nt<arch>, then .nt, then none', () => {
    assert.deepEqual(
      install(contoso, 'amd64').installSections.map((s) => [s.name, s.resolved]),
      [
        ['Dev_Install', 'Dev_Install.NTamd64'],
        ['Dev_Install2', 'Dev_Install2'],
      ],
    );
    assert.deepEqual(
      install(contoso, 'x86').installSections.map((s) => s.resolved),
      ['Dev_Install.NT'],
    );
    assert.deepEqual(
      install(contoso, 'arm64').installSections.map((s) => s.resolved),
      ['Dev_Install.NT'],
    );
    assert.deepEqual(install(contoso, 'amd64').installSections[1].missingFileLists, ['Missing.List']);
  });

  test('lists CopyFiles targets with their destination directories', () => {
    const files = (arch: InfArchitecture) =>
      install(contoso, arch).copyFiles.map((c) => [c.destination, c.source, c.section ?? '@', c.destinationDir?.dirid, c.destinationDir?.subdir, c.destinationDir?.from, c.flags]);
    assert.deepEqual(files('amd64'), [
      ['contoso.sys', 'contoso.sys', 'Contoso.Copy.Sys', '13', undefined, 'default', 2],
      ['renamed.sys', 'contoso.sys', 'Contoso.Copy.Sys', '13', undefined, 'default', undefined],
      ['shared.dll', 'shared.dll', 'Contoso.Copy.Dll', '11', 'contoso', 'section', undefined],
      ['coinst.dll', 'coinst.dll', '@', '13', undefined, 'default', undefined],
      ['classinst.dll', 'classinst.dll', 'Class.Copy', '13', undefined, 'default', undefined],
    ]);
    assert.deepEqual(files('x86'), [
      ['contoso.sys', 'contoso.sys', 'Contoso.Copy.Sys', '13', undefined, 'default', 2],
      ['renamed.sys', 'contoso.sys', 'Contoso.Copy.Sys', '13', undefined, 'default', undefined],
      ['extra.bin', 'extra.bin', '@', '13', undefined, 'default', undefined],
      ['shared.dll', 'shared.dll', 'Contoso.Copy.Dll', '11', 'contoso', 'section', undefined],
    ]);
  });

  test('takes SourceDisksFiles.<arch> before [SourceDisksFiles] and SourceDisksNames.<arch> paths', () => {
    const sources = (arch: InfArchitecture) => install(contoso, arch).sourceFiles.map((f) => [f.name, f.section, f.path, f.size]);
    assert.deepEqual(sources('amd64'), [
      ['contoso.sys', 'SourceDisksFiles.amd64', 'drivers/x64/contoso.sys', 12345],
      ['shared.dll', 'SourceDisksFiles', 'drivers/x64/shared.dll', undefined],
    ]);
    assert.deepEqual(sources('x86'), [
      ['contoso.sys', 'SourceDisksFiles', 'drivers/common/contoso.sys', undefined],
      ['shared.dll', 'SourceDisksFiles', 'drivers/shared.dll', undefined],
    ]);
    assert.deepEqual(sources('arm64'), [
      ['contoso.sys', 'SourceDisksFiles.arm64', 'drivers/arm64/contoso.sys', undefined],
      ['shared.dll', 'SourceDisksFiles', 'drivers/shared.dll', undefined],
    ]);
    assert.equal(contoso.sourceDisksFiles.length, 4);
  });

  test('picks the catalog for each architecture', () => {
    assert.equal(install(contoso, 'amd64').catalogFile, 'contoso64.cat');
    assert.equal(install(contoso, 'arm64').catalogFile, 'contosoarm.cat');
    assert.equal(install(contoso, 'x86').catalogFile, 'contoso.cat');
  });

  test('reads services from DDInstall.Services of the resolved section', () => {
    const [service] = install(contoso, 'amd64').services;
    assert.deepEqual(service, {
      name: 'contoso',
      flags: 2,
      installSection: 'Contoso.Service',
      present: true,
      displayName: 'Contoso Network Adapter',
      serviceType: 1,
      startType: 0,
      errorControl: 1,
      serviceBinary: '%13%\\contoso.sys',
      loadOrderGroup: 'NDIS',
    });
  });

  test('with an OS version, uses the best version-decorated Models section', () => {
    const text = parseInf(new TextEncoder().encode(CONTOSO), 'test.inf');
    const sections = (major: number, minor: number, build?: number) => describeInstall(text, 'amd64', { osVersion: { major, minor, build } }).modelsSections;
    assert.deepEqual(sections(10, 0, 19045), ['Contoso.NTamd64.10.0...16299']);
    assert.deepEqual(sections(10, 0, 15063), ['Contoso.NTamd64.6.1'], 'build below 16299 on 10.0');
    assert.deepEqual(sections(11, 0, 100), ['Contoso.NTamd64.10.0...16299'], 'a later OS version ignores the build number');
    assert.deepEqual(sections(6, 1), ['Contoso.NTamd64.6.1']);
    assert.deepEqual(sections(6, 0), []);
    assert.equal(describeDriver(text, { osVersion: { major: 6, minor: 0 } }).architectures.includes('amd64'), false);
  });

  test('records template markers only where there are some', () => {
    assert.deepEqual(contoso.template, { isTemplate: false, markers: [] });
  });
});

describe('describeDriver edge cases', () => {
  const head = '[Version]\nSignature="$CHICAGO$"\nClass=System\nClassGuid={4d36e97d-e325-11ce-bfc1-08002be10318}\n';

  test('an undecorated Models section serves x86 only', () => {
    const d = describeText(`${head}[Manufacturer]\n%M%=Models\n[Models]\nDev=Inst,ROOT\\DEV\n[Inst]\n[Strings]\nM=Maker\n`);
    assert.equal(d.signatureValid, true, '$Chicago$ is valid in any case');
    assert.deepEqual(d.architectures, ['x86']);
  });

  test('the undecorated section is the x86 fallback when only other platforms are decorated', () => {
    const d = describeText(`${head}[Manufacturer]\nM=Models,NTamd64\n[Models]\nDev=Inst,ROOT\\DEV\n[Models.NTamd64]\nDev=Inst,ROOT\\DEV\n[Inst]\n`);
    assert.deepEqual(d.architectures, ['x86', 'amd64']);
    assert.equal(d.manufacturers[0].name, 'M');
  });

  test('a bare NT decoration serves x86, not the 64-bit platforms', () => {
    const d = describeText(`${head}[Manufacturer]\nM=Models,NT\n[Models.NT]\nDev=Inst,ROOT\\DEV\n[Inst]\n`);
    assert.deepEqual(d.architectures, ['x86']);
  });

  test('a manufacturer name alone names its Models section', () => {
    const d = describeText(`${head}[Manufacturer]\nContoso\n[Contoso]\nDev=Inst,ROOT\\DEV\n[Inst]\n`);
    assert.equal(d.manufacturers[0].modelsSectionName, 'Contoso');
    assert.deepEqual(d.architectures, ['x86']);
  });

  test('reports missing Models and install sections and a bad signature', () => {
    const d = describeText('[Version]\nSignature="$Windows 95$"\n[Manufacturer]\nM=Models,NTamd64,NTmips,\n[Models.NTamd64]\nDev=Nowhere,ROOT\\X\nNoKey\n');
    assert.equal(d.signatureValid, false);
    assert.deepEqual(d.architectures, ['amd64']);
    const messages = d.issues.map((issue) => issue.message).join('\n');
    assert.match(messages, /Signature/);
    assert.match(messages, /NTmips/);
    assert.match(messages, /Models\.NTmips/);
    assert.match(messages, /\[Nowhere\] for amd64/);
    assert.match(messages, /Models\.NTamd64\] entry/);
    assert.equal(install(d, 'amd64').installSections[0].resolved, undefined);
  });

  test('reports a SourceDisksFiles section with an nt platform suffix', () => {
    const d = describeText(`${head}[SourceDisksFiles.ntamd64]\na.sys=1\n`);
    assert.match(d.issues.map((issue) => issue.message).join('\n'), /SourceDisksFiles\.ntamd64/);
    assert.equal(d.sourceDisksFiles[0].architecture, undefined);
  });

  test('without a Version section or Manufacturer, describes nothing but says why', () => {
    const d = describeText('[Strings]\nA=1\n');
    assert.equal(d.signatureValid, false);
    assert.deepEqual(d.architectures, []);
    assert.deepEqual(d.installs, []);
    assert.match(d.issues[0].message, /no \[Version\]/);
  });

  test('validates DriverVer', () => {
    const ver = (text: string) => describeText(`[Version]\nDriverVer=${text}\n`).driverVer;
    assert.deepEqual(ver('1/2/2020,1.0'), { raw: '1/2/2020,1.0', date: '2020-01-02', version: '1.0', valid: true });
    assert.equal(ver('01-02-2020')?.date, '2020-01-02');
    assert.equal(ver('01-02-2020')?.valid, true);
    for (const bad of ['13/01/2020,1.0', '02/30/2020,1.0', '01/01/20,1.0', '01/01/2020,1.2.3.65535', '01/01/2020,1.2.3.4.5', 'soon']) {
      assert.equal(ver(bad)?.valid, false, bad);
    }
  });

  test('catalogFileFor falls back from .nt<arch> to .nt to the undecorated key', () => {
    const catalogs = [
      { key: 'CatalogFile', file: 'all.cat' },
      { key: 'CatalogFile.nt', decoration: 'nt', file: 'nt.cat' },
      { key: 'CatalogFile.ntarm64', decoration: 'ntarm64', file: 'arm.cat' },
    ];
    assert.equal(catalogFileFor(catalogs, 'arm64'), 'arm.cat');
    assert.equal(catalogFileFor(catalogs, 'amd64'), 'nt.cat');
    assert.equal(catalogFileFor(catalogs.slice(0, 1), 'x86'), 'all.cat');
    assert.equal(catalogFileFor([], 'x86'), undefined);
  });
});

describe('TargetOSVersion and helpers', () => {
  test('parses decorations per the Manufacturer section format', () => {
    assert.deepEqual(parseTargetOsVersion('NTx86....0x80'), { raw: 'NTx86....0x80', valid: true, archPlaceholder: false, architecture: 'x86', suiteMask: 0x80 });
    assert.deepEqual(parseTargetOsVersion('ntARM64.10.0.1.0x2.22000'), {
      raw: 'ntARM64.10.0.1.0x2.22000',
      valid: true,
      archPlaceholder: false,
      architecture: 'arm64',
      osMajor: 10,
      osMinor: 0,
      productType: 1,
      suiteMask: 2,
      buildNumber: 22000,
    });
    assert.deepEqual(parseTargetOsVersion('NT'), { raw: 'NT', valid: true, archPlaceholder: false });
    for (const bad of ['NTmips', 'Win7', 'NTamd64.10.0.1.2.3.4', 'NTamd64.ten', '']) assert.equal(parseTargetOsVersion(bad).valid, false, bad);
  });

  test('reads stampinf $ARCH$ as the stamped architecture or as none', () => {
    assert.deepEqual(parseTargetOsVersion('NT$ARCH$'), { raw: 'NT$ARCH$', valid: false, archPlaceholder: true });
    assert.deepEqual(parseTargetOsVersion('NT$ARCH$.10.0', 'arm64'), { raw: 'NT$ARCH$.10.0', valid: true, archPlaceholder: true, architecture: 'arm64', osMajor: 10, osMinor: 0 });
  });

  test('parses INF numbers and joins INF paths', () => {
    assert.equal(parseInfNumber('0x00010001'), 0x10001);
    assert.equal(parseInfNumber(' 12 '), 12);
    assert.equal(parseInfNumber('12a'), undefined);
    assert.equal(parseInfNumber('0x123456789'), undefined);
    assert.equal(joinInfPath('\\WinNT', '\\x86\\', 'aha154x.sys'), 'WinNT/x86/aha154x.sys');
    assert.equal(joinInfPath(undefined, '.\\a', 'b.sys'), 'a/b.sys');
  });
});

/** Facts read by hand from each corpus file. `stamped` = with $ARCH$ read as amd64. */
interface CorpusFacts {
  file: string;
  class: string;
  classGuid: string;
  provider: string;
  date: string;
  version: string;
  catalog: string;
  pnpLockdown?: number;
  /** Architectures as the file stands; templates with NT$ARCH$ claim none. */
  architectures: InfArchitecture[];
  template: boolean;
  hardwareIds: string[];
  /** [source file, DestinationDirs dirid] of each CopyFiles target on amd64. */
  copies: Array<[string, string]>;
  sourceFiles: string[];
  services: Array<[string, number | undefined]>;
}

const CORPUS: CorpusFacts[] = [
  {
    file: 'Balloon_sys_balloon.inx',
    class: 'System',
    classGuid: '{4d36e97d-e325-11ce-bfc1-08002be10318}',
    provider: 'INX_COMPANY',
    date: '2008-01-01',
    version: '0.0.0.1',
    catalog: 'Balloon.cat',
    pnpLockdown: 1,
    architectures: [],
    template: true,
    hardwareIds: [
      'PCI\\VEN_1AF4&DEV_1002&SUBSYS_0005_INX_SUBSYS_VENDOR_ID&REV_00',
      'PCI\\VEN_1AF4&DEV_1002',
      'PCI\\VEN_1AF4&DEV_1045&SUBSYS_1100_INX_SUBSYS_VENDOR_ID&REV_01',
      'PCI\\VEN_1AF4&DEV_1045',
    ],
    copies: [['balloon.sys', 'INX_PLATFORM_DRIVERS_DIR']],
    sourceFiles: ['balloon.sys'],
    services: [['BALLOON', 3]],
  },
  {
    file: 'NetKVM_NotifyObject_vioprot.inf',
    class: 'NetTrans',
    classGuid: '{4d36e975-e325-11ce-bfc1-08002be10318}',
    provider: 'INX_COMPANY',
    date: '2020-01-01',
    version: '1.1',
    catalog: 'vioprot.cat',
    pnpLockdown: 1,
    architectures: [],
    template: true,
    hardwareIds: ['VIOPROT'],
    copies: [],
    sourceFiles: [],
    services: [['netkvmp', 2]],
  },
  {
    file: 'Q35_SMBus_smbus.inf',
    class: 'System',
    classGuid: '{4D36E97D-E325-11CE-BFC1-08002BE10318}',
    provider: 'Red Hat, Inc.',
    date: '2017-04-27',
    version: '100.0.0.0',
    catalog: 'smbus.cat',
    architectures: ['x86', 'amd64'],
    template: false,
    hardwareIds: ['PCI\\VEN_8086&DEV_2930&SUBSYS_11001AF4', 'PCI\\VEN_8086&CC_0C0500', 'PCI\\VEN_8086&CC_0C05'],
    copies: [],
    sourceFiles: [],
    services: [['', undefined]],
  },
  {
    file: 'fwcfg64_fwcfg.inf',
    class: 'System',
    classGuid: '{4d36e97d-e325-11ce-bfc1-08002be10318}',
    provider: 'INX_COMPANY',
    date: '2008-01-01',
    version: '0.0.0.1',
    catalog: 'fwcfg.cat',
    pnpLockdown: 1,
    architectures: [],
    template: true,
    hardwareIds: ['ACPI\\QEMU0002'],
    copies: [['fwcfg.sys', 'INX_PLATFORM_DRIVERS_DIR']],
    sourceFiles: ['fwcfg.sys'],
    services: [['FwCfg', 3]],
  },
  {
    file: 'ivshmem_ivshmem.inf',
    class: 'System',
    classGuid: '{4d36e97d-e325-11ce-bfc1-08002be10318}',
    provider: 'INX_COMPANY',
    date: '2008-01-01',
    version: '0.0.0.1',
    catalog: 'ivshmem.cat',
    pnpLockdown: 1,
    architectures: [],
    template: true,
    hardwareIds: ['PCI\\VEN_1AF4&DEV_1110&SUBSYS_1100_INX_SUBSYS_VENDOR_ID&REV_01', 'PCI\\VEN_1AF4&DEV_1110'],
    copies: [['IVSHMEM.sys', 'INX_PLATFORM_DRIVERS_DIR']],
    sourceFiles: ['IVSHMEM.sys'],
    services: [['IVSHMEM', 3]],
  },
  {
    file: 'pciserial_qemupciserial.inf',
    class: 'MultiFunction',
    classGuid: '{4d36e971-e325-11ce-bfc1-08002be10318}',
    provider: 'QEMU',
    date: '2022-05-21',
    version: '100.90.104.22100',
    catalog: 'qemupciserial.cat',
    pnpLockdown: 1,
    architectures: ['x86', 'amd64'],
    template: false,
    hardwareIds: ['PCI\\VEN_1B36&DEV_0002', 'PCI\\VEN_1B36&DEV_0003', 'PCI\\VEN_1B36&DEV_0004'],
    copies: [],
    sourceFiles: [],
    services: [],
  },
  {
    file: 'pvpanic_pvpanic_pvpanic.inf',
    class: 'System',
    classGuid: '{4d36e97d-e325-11ce-bfc1-08002be10318}',
    provider: 'INX_COMPANY',
    date: '2008-01-01',
    version: '0.0.0.1',
    catalog: 'pvpanic.cat',
    pnpLockdown: 1,
    architectures: [],
    template: true,
    hardwareIds: ['ACPI\\QEMU0001', 'PCI\\VEN_1B36&DEV_0011&SUBSYS_11001AF4&REV_01'],
    copies: [['pvpanic.sys', 'INX_PLATFORM_DRIVERS_DIR']],
    sourceFiles: ['pvpanic.sys'],
    services: [['PVPanic', 3]],
  },
  {
    file: 'viofs_pci_viofs.inf',
    class: 'System',
    classGuid: '{4d36e97d-e325-11ce-bfc1-08002be10318}',
    provider: 'INX_COMPANY',
    date: '2008-01-01',
    version: '0.0.0.1',
    catalog: 'viofs.cat',
    pnpLockdown: 1,
    architectures: [],
    template: true,
    hardwareIds: ['PCI\\VEN_1AF4&DEV_105A&SUBSYS_1100_INX_SUBSYS_VENDOR_ID&REV_01', 'PCI\\VEN_1AF4&DEV_105A'],
    copies: [['viofs.sys', 'INX_PLATFORM_DRIVERS_DIR']],
    sourceFiles: ['viofs.sys'],
    services: [['VirtioFsDrv', 3]],
  },
  {
    file: 'viorng_viorng_viorng.inf',
    class: 'System',
    classGuid: '{4d36e97d-e325-11ce-bfc1-08002be10318}',
    provider: 'INX_COMPANY',
    date: '2008-01-01',
    version: '0.0.0.1',
    catalog: 'viorng.cat',
    pnpLockdown: 1,
    architectures: [],
    template: true,
    hardwareIds: [
      'PCI\\VEN_1AF4&DEV_1005&SUBSYS_0004_INX_SUBSYS_VENDOR_ID&REV_00',
      'PCI\\VEN_1AF4&DEV_1005',
      'PCI\\VEN_1AF4&DEV_1044&SUBSYS_1100_INX_SUBSYS_VENDOR_ID&REV_01',
      'PCI\\VEN_1AF4&DEV_1044',
    ],
    copies: [
      ['viorng.sys', 'INX_PLATFORM_DRIVERS_DIR'],
      ['viorngum.dll', '11'],
    ],
    sourceFiles: ['viorng.sys', 'viorngum.dll'],
    services: [['VirtRng', 3]],
  },
  {
    file: 'vioscsi_vioscsi.inx',
    class: 'SCSIAdapter',
    classGuid: '{4D36E97B-E325-11CE-BFC1-08002BE10318}',
    provider: 'INX_COMPANY',
    date: '2008-01-01',
    version: '0.0.0.1',
    catalog: 'vioscsi.cat',
    pnpLockdown: 1,
    architectures: [],
    template: true,
    hardwareIds: [
      'PCI\\VEN_1AF4&DEV_1004&SUBSYS_0008_INX_SUBSYS_VENDOR_ID&REV_00',
      'PCI\\VEN_1AF4&DEV_1004',
      'PCI\\VEN_1AF4&DEV_1048&SUBSYS_1100_INX_SUBSYS_VENDOR_ID&REV_01',
      'PCI\\VEN_1AF4&DEV_1048',
    ],
    copies: [['vioscsi.sys', 'INX_PLATFORM_DRIVERS_DIR']],
    sourceFiles: ['vioscsi.sys'],
    services: [['vioscsi', 0]],
  },
  {
    file: 'viostor_viostor.inx',
    class: 'SCSIAdapter',
    classGuid: '{4D36E97B-E325-11CE-BFC1-08002BE10318}',
    provider: 'INX_COMPANY',
    date: '2008-01-01',
    version: '0.0.0.1',
    catalog: 'viostor.cat',
    pnpLockdown: 1,
    architectures: [],
    template: true,
    hardwareIds: [
      'PCI\\VEN_1AF4&DEV_1001&SUBSYS_0002_INX_SUBSYS_VENDOR_ID&REV_00',
      'PCI\\VEN_1AF4&DEV_1001',
      'PCI\\VEN_1AF4&DEV_1042&SUBSYS_1100_INX_SUBSYS_VENDOR_ID&REV_01',
      'PCI\\VEN_1AF4&DEV_1042',
    ],
    copies: [['viostor.sys', 'INX_PLATFORM_DRIVERS_DIR']],
    sourceFiles: ['viostor.sys'],
    services: [['viostor', 0]],
  },
];

describe('describeDriver on the corpus', { skip: !hasCorpus() && 'no corpus' }, () => {
  const folder = corpusPath('inf/virtio-win');
  const load = async (file: string) => parseInf(new Uint8Array(await readFile(`${folder}/${file}`)), file);

  test('the fact table covers every corpus INF and INX', async () => {
    const names = (await readdir(folder)).filter((name) => /\.in[fx]$/i.test(name)).sort();
    assert.deepEqual(names, CORPUS.map((facts) => facts.file).sort());
  });

  for (const facts of CORPUS) {
    test(`${facts.file}: Version, models, files and services match the file`, async () => {
      const inf = await load(facts.file);
      const plain = describeDriver(inf);
      assert.equal(plain.signatureValid, true);
      assert.equal(plain.class, facts.class);
      assert.equal(plain.classGuid, facts.classGuid);
      assert.equal(plain.classGuidValid, true);
      assert.equal(plain.provider, facts.provider);
      assert.equal(plain.driverVer?.date, facts.date);
      assert.equal(plain.driverVer?.version, facts.version);
      assert.equal(plain.pnpLockdown, facts.pnpLockdown);
      assert.deepEqual(
        plain.catalogFiles.map((c) => c.file),
        [facts.catalog],
      );
      assert.deepEqual(plain.architectures, facts.architectures);
      assert.equal(plain.template.isTemplate, facts.template);
      assert.deepEqual(plain.issues, []);

      // A template is read as stampinf would build it for amd64; a real INF is read as it is.
      const stamped = describeDriver(inf, { stampArchitecture: 'amd64' });
      const amd64 = install(stamped, 'amd64');
      assert.equal(amd64.supported, true);
      assert.equal(amd64.catalogFile, facts.catalog);
      assert.deepEqual(amd64.hardwareIds, facts.hardwareIds);
      assert.deepEqual(
        amd64.copyFiles.map((c) => [c.source, c.destinationDir?.dirid]),
        facts.copies,
      );
      assert.deepEqual(
        amd64.sourceFiles.map((f) => f.path),
        facts.sourceFiles,
      );
      assert.deepEqual(
        amd64.services.map((s) => [s.name, s.startType]),
        facts.services,
      );
      assert.ok(amd64.installSections.every((s) => s.resolved !== undefined && s.missingFileLists.length === 0));
      if (facts.template) {
        assert.ok(plain.template.markers.includes('$ARCH$'));
        assert.deepEqual(stamped.architectures, ['amd64']);
        assert.equal(describeDriver(inf, { stampArchitecture: 'arm64' }).architectures.includes('amd64'), false);
      }
    });
  }

  test("pciserial.inf leans on Windows' mf.inf through Include/Needs", async () => {
    const d = describeDriver(await load('pciserial_qemupciserial.inf'));
    const [first] = install(d, 'x86').installSections;
    assert.equal(first.resolved, 'ComPort_inst1');
    assert.deepEqual(first.includes, ['mf.inf']);
    assert.deepEqual(first.needs, ['MFINSTALL.mf']);
    assert.deepEqual(install(d, 'amd64').modelsSections, ['QEMU.NTAMD64']);
  });

  test('smbus.inf serves x86 from its undecorated Models section', async () => {
    const d = describeDriver(await load('Q35_SMBus_smbus.inf'));
    assert.deepEqual(install(d, 'x86').modelsSections, ['Models']);
    assert.deepEqual(install(d, 'amd64').modelsSections, ['Models.NTamd64']);
    assert.equal(install(d, 'x86').installSections[0].resolved, 'NullInstallSection');
  });

  test('balloon.inx BALLOON_Device resolves to its .NT section and keeps ServiceBinary placeholders', async () => {
    const d = describeDriver(await load('Balloon_sys_balloon.inx'), { stampArchitecture: 'amd64' });
    const amd64 = install(d, 'amd64');
    assert.equal(amd64.installSections[0].resolved, 'BALLOON_Device.NT');
    assert.equal(amd64.services[0].serviceBinary, '%INX_PLATFORM_DRIVERS_DIR%\\balloon.sys');
    assert.deepEqual(d.template.markers.slice(0, 2), ['$ARCH$', '$KMDFVERSION$']);
  });
});
