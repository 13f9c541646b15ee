import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { UNATTEND_COMPONENTS, UNATTEND_REFERENCE, WINDOWS_VERSIONS } from './components.js';
import { encodeUnattendPassword, type GenerateUnattendOptions, generateUnattend } from './generate.js';
import { UNATTEND_PASSES } from './model.js';
import { UNATTEND_FINDING_CODES, type UnattendFinding, type UnattendFindingCode, type ValidateUnattendOptions, validateUnattend } from './validate.js';
import { writeUnattend } from './write.js';

const NS = 'xmlns="urn:schemas-microsoft-com:unattend" xmlns:wcm="http://schemas.microsoft.com/WMIConfig/2002/State"';
const PE = "/unattend/settings[@pass='windowsPE']";
const SETUP = `${PE}/component[@name='Microsoft-Windows-Setup']`;
const OOBE = "/unattend/settings[@pass='oobeSystem']";
const SHELL = `${OOBE}/component[@name='Microsoft-Windows-Shell-Setup']`;

function bytes(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'utf8'));
}
function file(body: string): Uint8Array {
  return bytes(`<?xml version="1.0" encoding="utf-8"?>\n<unattend ${NS}>\n${body}\n</unattend>\n`);
}
function pass(name: string, ...components: string[]): string {
  return `<settings pass="${name}">${components.join('')}</settings>`;
}
function component(name: string, body: string, attributes: { arch?: string | null; token?: string } = {}): string {
  const arch = attributes.arch === null ? '' : ` processorArchitecture="${attributes.arch ?? 'amd64'}"`;
  return `<component name="${name}"${arch} publicKeyToken="${attributes.token ?? '31bf3856ad364e35'}" language="neutral" versionScope="nonSxS">${body}</component>`;
}
const setup = (body: string) => pass('windowsPE', component('Microsoft-Windows-Setup', body));
const shell = (body: string) => pass('oobeSystem', component('Microsoft-Windows-Shell-Setup', body));

function validate(body: string, options?: ValidateUnattendOptions): UnattendFinding[] {
  return validateUnattend(file(body), options);
}
function codes(findings: UnattendFinding[]): string[] {
  return findings.map((f) => f.code);
}
/** Asserts a finding with this code at this XPath exists and returns it. */
function expectFinding(findings: UnattendFinding[], code: UnattendFindingCode, xpath: string): UnattendFinding {
  const found = findings.find((f) => f.code === code && f.xpath === xpath);
  assert.ok(found, `expected ${code} at ${xpath}; got ${JSON.stringify(findings, null, 1)}`);
  return found;
}
function errors(findings: UnattendFinding[]): UnattendFinding[] {
  return findings.filter((f) => f.severity === 'error');
}

const GOOD: GenerateUnattendOptions = {
  architecture: 'amd64',
  languages: { uiLanguage: 'en-US', inputLocale: '0409:00000409' },
  timeZone: 'W. Europe Standard Time',
  productKey: 'VK7JG-NPHTM-C97JM-9MPGT-3V66T',
  acceptEula: true,
  disk: { mode: 'wipe-gpt' },
  bypassRequirements: true,
  accounts: [
    { name: 'admin', password: 'P@ss w0rd' },
    { name: 'user', group: 'Users', description: 'plain user' },
  ],
  autoLogon: { username: 'admin', count: 2 },
  skipOobe: true,
  computerName: 'LAB-PC',
  firstLogonCommands: [
    { commandLine: 'cmd /c echo hi', description: 'hello' },
    { commandLine: 'cmd /c pause', requiresUserInput: true },
  ],
};

describe('validateUnattend: bytes and XML', () => {
  test('a complete generated answer file gives no findings at all', () => {
    assert.deepEqual(validateUnattend(writeUnattend(generateUnattend(GOOD)), { file: 'autounattend.xml', target: 'win11' }), []);
  });

  test('XML that is not well-formed gives one error with its line, not an exception', () => {
    const findings = validateUnattend(bytes(`<?xml version="1.0"?>\n<unattend ${NS}>\n  <settings pass="windowsPE">\n</unattend>\n`));
    assert.deepEqual(codes(findings), ['not-well-formed']);
    assert.equal(findings[0]?.severity, 'error');
    assert.equal(findings[0]?.xpath, '/');
    // xmldom reports the position where it noticed the mismatch.
    assert.ok(findings[0]?.line === 3 || findings[0]?.line === 4, String(findings[0]?.line));
    assert.deepEqual(codes(validateUnattend(new Uint8Array(0))), ['not-well-formed']);
    assert.deepEqual(codes(validateUnattend(bytes('<unattend'))), ['not-well-formed']);
  });

  test('a root that is not <unattend> in the unattend namespace is reported', () => {
    assert.deepEqual(codes(validateUnattend(bytes('<answers/>'))), ['not-unattend']);
    assert.deepEqual(codes(validateUnattend(bytes('<unattend xmlns="urn:other"/>'))), ['not-unattend']);
  });

  test('a UTF-8 byte-order mark is an error (Windows 11 24H2 rejects it) and the rest is still checked', () => {
    const body = file(shell('<TimeZone>UTC</TimeZone><Bogus/>'));
    const findings = validateUnattend(new Uint8Array([0xef, 0xbb, 0xbf, ...body]));
    expectFinding(findings, 'utf8-bom', '/');
    assert.equal(findings[0]?.severity, 'error');
    expectFinding(findings, 'unknown-setting', `${SHELL}/Bogus`);
  });

  test('bytes that are not UTF-8, or UTF-16 without a BOM, are an encoding error', () => {
    const bad = file('<!-- \u00e9 -->');
    const broken = new Uint8Array([...bad.subarray(0, 60), 0xc3, 0x28, ...bad.subarray(60)]);
    assert.deepEqual(codes(validateUnattend(broken)), ['invalid-encoding']);
    assert.deepEqual(codes(validateUnattend(new Uint8Array(Buffer.from(`<unattend ${NS}/>`, 'utf16le')))), ['invalid-encoding']);
    assert.deepEqual(codes(validateUnattend(new Uint8Array([0xff, 0xfe, 0x3c]))), ['invalid-encoding']);
  });

  test('UTF-16 with a BOM is read; a declaration naming another encoding is a warning', () => {
    const text = `<?xml version="1.0" encoding="utf-16"?>\n<unattend ${NS}>${shell('<TimeZone>UTC</TimeZone>')}</unattend>`;
    assert.deepEqual(validateUnattend(new Uint8Array([0xff, 0xfe, ...Buffer.from(text, 'utf16le')])), []);
    const be = Buffer.from(text, 'utf16le');
    be.swap16();
    assert.deepEqual(validateUnattend(new Uint8Array([0xfe, 0xff, ...be])), []);
    const mismatch = validateUnattend(bytes(text));
    expectFinding(mismatch, 'encoding-mismatch', '/');
    assert.equal(mismatch[0]?.severity, 'warning');
  });

  test('a control character XML forbids is an error with its line', () => {
    const findings = validate(`\n${shell('<TimeZone>UTC\u0001</TimeZone>')}`);
    const found = expectFinding(findings, 'invalid-character', '/');
    assert.equal(found.line, 4);
  });

  test('elements nested deeper than any answer file are an error finding', () => {
    const findings = validateUnattend(bytes(`<unattend ${NS}>${'<a>'.repeat(300)}${'</a>'.repeat(300)}</unattend>`));
    assert.deepEqual(codes(findings), ['too-deep']);
  });
});

describe('validateUnattend: passes and components', () => {
  test('an unknown pass is an error at its settings element', () => {
    const findings = validate(pass('windowsPe', component('Microsoft-Windows-Setup', '')) + pass('', ''));
    expectFinding(findings, 'unknown-pass', "/unattend/settings[@pass='windowsPe']");
    expectFinding(findings, 'unknown-pass', "/unattend/settings[@pass='']");
    // No pass checks under an unknown pass: the component is not also "in the wrong pass".
    assert.ok(!codes(findings).includes('component-wrong-pass'));
  });

  test('a pass given twice is a warning; elements that cannot stand there are reported', () => {
    const findings = validate(`${shell('<TimeZone>UTC</TimeZone>')}${shell('<RegisteredOwner>x</RegisteredOwner>')}<Foo/>${pass('specialize', '<TimeZone>UTC</TimeZone>')}`);
    expectFinding(findings, 'duplicate-pass', `${OOBE}[2]`);
    expectFinding(findings, 'unknown-element', '/unattend/Foo');
    expectFinding(findings, 'unknown-element', "/unattend/settings[@pass='specialize']/TimeZone");
  });

  test('a component in a pass it is not valid in is an error', () => {
    const findings = validate(pass('oobeSystem', component('Microsoft-Windows-Setup', '<UserData><AcceptEula>true</AcceptEula></UserData>')));
    const found = expectFinding(findings, 'component-wrong-pass', `${OOBE}/component[@name='Microsoft-Windows-Setup']`);
    assert.equal(found.severity, 'error');
  });

  test('an unknown component is a warning, with a hint when only the case differs', () => {
    const findings = validate(pass('specialize', component('Contoso-Custom-Thing', '<Anything/>'), component('microsoft-windows-shell-setup', '')));
    const unknown = expectFinding(findings, 'unknown-component', "/unattend/settings[@pass='specialize']/component[@name='Contoso-Custom-Thing']");
    assert.equal(unknown.severity, 'warning');
    assert.match(
      expectFinding(findings, 'unknown-component', "/unattend/settings[@pass='specialize']/component[@name='microsoft-windows-shell-setup']").message,
      /Microsoft-Windows-Shell-Setup/,
    );
    // Settings of an unknown component are not judged.
    assert.ok(!codes(findings).includes('unknown-setting'));
    assert.deepEqual(codes(validate(pass('specialize', component('constructor', '')))), ['unknown-component']);
  });

  test('a component missing from the target release, or deprecated, is a warning', () => {
    const esc = pass('specialize', component('Microsoft-Windows-IE-ESC', '<IEHardenAdmin>false</IEHardenAdmin>'));
    expectFinding(validate(esc, { target: 'win11' }), 'not-in-version', "/unattend/settings[@pass='specialize']/component[@name='Microsoft-Windows-IE-ESC']");
    assert.deepEqual(validate(esc, { target: 'server2022' }), []);
    const old = validate(
      pass('specialize', component('Microsoft-Windows-OutOfBoxExperience', '<DoNotOpenInitialConfigurationTasksAtLogon>true</DoNotOpenInitialConfigurationTasksAtLogon>')),
    );
    assert.deepEqual(codes(old), ['deprecated-component']);
  });

  test('processorArchitecture must be present, valid and the same for all but wow64 components', () => {
    const specialize = "/unattend/settings[@pass='specialize']";
    const missing = validate(pass('specialize', component('Microsoft-Windows-Shell-Setup', '', { arch: null })));
    expectFinding(missing, 'missing-architecture', `${specialize}/component[@name='Microsoft-Windows-Shell-Setup']`);
    const invalid = validate(pass('specialize', component('Microsoft-Windows-Shell-Setup', '', { arch: 'x64' })));
    expectFinding(invalid, 'invalid-architecture', `${specialize}/component[@name='Microsoft-Windows-Shell-Setup']`);
    const mixed = validate(
      pass(
        'specialize',
        component('Microsoft-Windows-Shell-Setup', ''),
        component('Microsoft-Windows-International-Core', '', { arch: 'wow64' }),
        component('Microsoft-Windows-Security-SPP-UX', ''),
        component('Microsoft-Windows-IE-ESC', '', { arch: 'x86' }),
      ),
    );
    assert.deepEqual(
      mixed.map((f) => [f.code, f.xpath]),
      [['architecture-mismatch', `${specialize}/component[@name='Microsoft-Windows-IE-ESC']`]],
    );
    const wowOnX86 = validate(
      pass('specialize', component('Microsoft-Windows-Shell-Setup', '', { arch: 'x86' }), component('Microsoft-Windows-International-Core', '', { arch: 'wow64' })),
    );
    expectFinding(wowOnX86, 'architecture-mismatch', `${specialize}/component[@name='Microsoft-Windows-International-Core']`);
  });

  test('a foreign publicKeyToken or missing identity attribute is a warning', () => {
    const findings = validate(pass('specialize', component('Microsoft-Windows-Shell-Setup', '', { token: '0000000000000000' })));
    expectFinding(findings, 'public-key-token', "/unattend/settings[@pass='specialize']/component[@name='Microsoft-Windows-Shell-Setup']");
    const bare = validate(pass('specialize', '<component name="Microsoft-Windows-Shell-Setup" processorArchitecture="amd64" publicKeyToken="31bf3856ad364e35"/>'));
    assert.deepEqual(codes(bare), ['missing-component-attribute', 'missing-component-attribute']);
    assert.deepEqual(codes(validate(pass('specialize', '<component processorArchitecture="amd64"/>'))), ['missing-component-name']);
  });

  test('the same component twice in a pass is an error; amd64 and wow64 copies are not', () => {
    const twice = validate(pass('specialize', component('Microsoft-Windows-Shell-Setup', ''), component('Microsoft-Windows-Shell-Setup', '')));
    expectFinding(twice, 'duplicate-component', "/unattend/settings[@pass='specialize']/component[@name='Microsoft-Windows-Shell-Setup'][2]");
    const pair = validate(pass('specialize', component('Microsoft-Windows-International-Core', ''), component('Microsoft-Windows-International-Core', '', { arch: 'wow64' })));
    assert.deepEqual(pair, []);
  });

  test('an autounattend.xml without windowsPE gets an info finding', () => {
    const body = shell('<TimeZone>UTC</TimeZone>');
    const findings = validate(body, { file: '/media/Autounattend.xml' });
    assert.deepEqual(
      findings.map((f) => [f.severity, f.code, f.xpath]),
      [['info', 'no-windowspe', '/unattend']],
    );
    assert.deepEqual(validate(body, { file: 'unattend.xml' }), []);
    assert.deepEqual(codes(validate(body, { autounattend: true })), ['no-windowspe']);
  });
});

describe('validateUnattend: settings and values', () => {
  test('an unknown setting is a warning (info in a partially described component), with a case hint', () => {
    const findings = validate(shell('<TimeZone>UTC</TimeZone><FavoriteColor>blue</FavoriteColor><timezone>UTC</timezone><OOBE><HideEverything>true</HideEverything></OOBE>'));
    assert.equal(expectFinding(findings, 'unknown-setting', `${SHELL}/FavoriteColor`).severity, 'warning');
    assert.match(expectFinding(findings, 'unknown-setting', `${SHELL}/timezone`).message, /TimeZone/);
    expectFinding(findings, 'unknown-setting', `${SHELL}/OOBE/HideEverything`);
    const partial = validate(pass('specialize', component('Networking-MPSSVC-Svc', '<DomainProfile_LogFile>x</DomainProfile_LogFile>')));
    assert.equal(partial[0]?.severity, 'info');
    assert.equal(partial[0]?.code, 'unknown-setting');
  });

  test('a setting in a pass it is not valid in is a warning', () => {
    const findings = validate(shell('<ComputerName>PC1</ComputerName><CopyProfile>true</CopyProfile>'));
    assert.equal(expectFinding(findings, 'setting-wrong-pass', `${SHELL}/ComputerName`).severity, 'warning');
    expectFinding(findings, 'setting-wrong-pass', `${SHELL}/CopyProfile`);
  });

  test('deprecated settings are warnings', () => {
    const findings = validate(
      shell('<OOBE><SkipMachineOOBE>true</SkipMachineOOBE><SkipUserOOBE>true</SkipUserOOBE><NetworkLocation>Work</NetworkLocation></OOBE><ShowWindowsLive>false</ShowWindowsLive>'),
    );
    assert.deepEqual(codes(findings), ['deprecated-setting', 'deprecated-setting', 'deprecated-setting', 'deprecated-setting']);
    expectFinding(findings, 'deprecated-setting', `${SHELL}/OOBE/SkipMachineOOBE`);
    expectFinding(findings, 'deprecated-setting', `${SHELL}/ShowWindowsLive`);
  });

  test('a repeated setting is an error at the second one', () => {
    const findings = validate(shell('<TimeZone>UTC</TimeZone><TimeZone>Pacific Standard Time</TimeZone>'));
    assert.deepEqual(codes(findings), ['duplicate-setting']);
    expectFinding(findings, 'duplicate-setting', `${SHELL}/TimeZone[2]`);
  });

  test('values of the wrong type, out of range or outside the enumeration are errors', () => {
    const findings = validate(
      setup('<UserData><AcceptEula>yes</AcceptEula><ProductKey><Key>ABCDE</Key><WillShowUI>Sometimes</WillShowUI></ProductKey></UserData>') +
        shell('<OOBE><ProtectYourPC>4</ProtectYourPC><HideEULAPage>True</HideEULAPage></OOBE><AutoLogon><LogonCount>many</LogonCount></AutoLogon>') +
        pass(
          'specialize',
          component('Microsoft-Windows-Shell-Setup', '<ComputerName>THIS-NAME-IS-TOO-LONG</ComputerName>'),
          component('Microsoft-Windows-International-Core', '<UILanguage>english</UILanguage>'),
        ),
    );
    for (const xpath of [
      `${SETUP}/UserData/AcceptEula`,
      `${SETUP}/UserData/ProductKey/Key`,
      `${SETUP}/UserData/ProductKey/WillShowUI`,
      `${SHELL}/OOBE/ProtectYourPC`,
      `${SHELL}/AutoLogon/LogonCount`,
      "/unattend/settings[@pass='specialize']/component[@name='Microsoft-Windows-Shell-Setup']/ComputerName",
      "/unattend/settings[@pass='specialize']/component[@name='Microsoft-Windows-International-Core']/UILanguage",
    ])
      assert.equal(expectFinding(findings, 'invalid-value', xpath).severity, 'error', xpath);
    // Capitalised booleans are not schema booleans, but only a warning.
    assert.equal(expectFinding(findings, 'invalid-value', `${SHELL}/OOBE/HideEULAPage`).severity, 'warning');
    const name = validate(pass('specialize', component('Microsoft-Windows-Shell-Setup', '<ComputerName>LAB PC</ComputerName>')));
    assert.deepEqual(codes(name), ['invalid-value']);
    assert.deepEqual(validate(pass('specialize', component('Microsoft-Windows-Shell-Setup', '<ComputerName>*</ComputerName>'))), []);
  });

  test('an enumeration value in another case, or an undocumented MetaData key, is only a warning', () => {
    const findings = validate(
      setup(
        '<ImageInstall><OSImage><WillShowUI>onerror</WillShowUI><InstallFrom><MetaData wcm:action="add"><Key>/IMAGE/EditionID</Key><Value>Professional</Value></MetaData></InstallFrom></OSImage></ImageInstall>',
      ),
    );
    assert.deepEqual(
      findings.map((f) => [f.severity, f.code]),
      [
        ['warning', 'invalid-value'],
        ['warning', 'invalid-value'],
      ],
    );
  });

  test('an empty typed value is a warning; an empty string is fine', () => {
    const findings = validate(setup('<UserData><ProductKey><Key/><WillShowUI/></ProductKey><AcceptEula></AcceptEula><FullName/></UserData>'));
    assert.deepEqual(
      findings.map((f) => [f.code, f.xpath]),
      [
        ['empty-value', `${SETUP}/UserData/ProductKey/WillShowUI`],
        ['empty-value', `${SETUP}/UserData/AcceptEula`],
      ],
    );
  });

  test('text where nested settings belong, and nesting where a value belongs, are errors', () => {
    const findings = validate(shell('<OOBE>true</OOBE><TimeZone><Zone>UTC</Zone></TimeZone>'));
    expectFinding(findings, 'invalid-value', `${SHELL}/OOBE`);
    expectFinding(findings, 'invalid-value', `${SHELL}/TimeZone`);
  });
});

describe('validateUnattend: list items', () => {
  const run = (items: string) => setup(`<RunSynchronous>${items}</RunSynchronous>`);
  const command = (order: string, extra = ' wcm:action="add"') => `<RunSynchronousCommand${extra}>${order}<Path>cmd /c exit</Path></RunSynchronousCommand>`;

  test('items need wcm:action and their key; keys must be unique', () => {
    const findings = validate(
      run(command('<Order>1</Order>') + command('<Order>1</Order>') + command('<Order>2</Order>', '') + command('') + command('<Order>3</Order>', ' wcm:action="append"')),
    );
    const base = `${SETUP}/RunSynchronous/RunSynchronousCommand`;
    expectFinding(findings, 'duplicate-list-key', `${base}[2]`);
    expectFinding(findings, 'list-item-no-action', `${base}[3]`);
    expectFinding(findings, 'list-item-no-key', `${base}[4]`);
    expectFinding(findings, 'invalid-action', `${base}[5]`);
    assert.ok(!findings.some((f) => f.code === 'list-item-no-action' && f.xpath === `${base}[5]`), 'a bad action is not also a missing one');
  });

  test('wcm:keyValue identifies driver paths; other elements in a list are unknown', () => {
    const findings = validate(
      pass(
        'windowsPE',
        component(
          'Microsoft-Windows-PnpCustomizationsWinPE',
          '<DriverPaths><PathAndCredentials wcm:action="add" wcm:keyValue="1"><Path>D:\\a</Path></PathAndCredentials><PathAndCredentials wcm:action="add"><Path>D:\\b</Path></PathAndCredentials><PathAndCredentials wcm:action="add" wcm:keyValue="1"><Path>D:\\c</Path></PathAndCredentials><Path>D:\\d</Path></DriverPaths>',
        ),
      ),
    );
    const base = `${PE}/component[@name='Microsoft-Windows-PnpCustomizationsWinPE']/DriverPaths`;
    expectFinding(findings, 'list-item-no-key', `${base}/PathAndCredentials[2]`);
    expectFinding(findings, 'duplicate-list-key', `${base}/PathAndCredentials[3]`);
    expectFinding(findings, 'unknown-setting', `${base}/Path`);
  });

  test('repeated items without a wrapper (Disk) are list items, not duplicate settings', () => {
    const disk = (id: string) =>
      `<Disk wcm:action="add"><DiskID>${id}</DiskID><WillWipeDisk>true</WillWipeDisk><CreatePartitions><CreatePartition wcm:action="add"><Order>1</Order><Type>Primary</Type><Extend>true</Extend></CreatePartition></CreatePartitions></Disk>`;
    assert.deepEqual(validate(setup(`<DiskConfiguration>${disk('0')}${disk('1')}</DiskConfiguration>`)), []);
    const twice = validate(setup(`<DiskConfiguration>${disk('0')}${disk('0')}</DiskConfiguration>`));
    assert.deepEqual(codes(twice), ['duplicate-list-key']);
    expectFinding(twice, 'duplicate-list-key', `${SETUP}/DiskConfiguration/Disk[2]`);
  });
});

describe('validateUnattend: accounts and passwords', () => {
  const account = (name: string, password = '<Password><Value>x</Value><PlainText>true</PlainText></Password>') =>
    `<LocalAccount wcm:action="add"><Name>${name}</Name><Group>Administrators</Group>${password}</LocalAccount>`;
  const accounts = (...items: string[]) => shell(`<UserAccounts><LocalAccounts>${items.join('')}</LocalAccounts></UserAccounts>`);
  const base = `${SHELL}/UserAccounts/LocalAccounts/LocalAccount`;

  test("reserved names and names breaking Microsoft's user-name rules are errors", () => {
    const findings = validate(
      accounts(
        account('Guest'),
        account('administrator'),
        account('abcdefghijklmnopqrstu'),
        account('a/b'),
        account('name.'),
        account('...'),
        account('per%cent'),
        account('ok-name_1'),
      ),
    );
    expectFinding(findings, 'account-name-reserved', `${base}[1]/Name`);
    expectFinding(findings, 'account-name-reserved', `${base}[2]/Name`);
    for (const i of [3, 4, 5, 6, 7]) expectFinding(findings, 'account-name-invalid', `${base}[${i}]/Name`);
    assert.ok(!findings.some((f) => f.xpath.startsWith(`${base}[8]`) && f.severity !== 'info'));
    assert.deepEqual(
      codes(validate(accounts(account('')))).filter((c) => c !== 'password-plain-text'),
      ['list-item-no-key', 'account-name-invalid'],
    );
  });

  test('AutoLogon as an account the file does not create is a warning', () => {
    const logon = (user: string) => `<AutoLogon><Enabled>true</Enabled><Username>${user}</Username></AutoLogon>`;
    const findings = validate(shell(`<UserAccounts><LocalAccounts>${account('alice')}</LocalAccounts></UserAccounts>${logon('bob')}`));
    expectFinding(findings, 'autologon-unknown-account', `${SHELL}/AutoLogon/Username`);
    assert.ok(!codes(validate(shell(`<UserAccounts><LocalAccounts>${account('alice')}</LocalAccounts></UserAccounts>${logon('Alice')}`))).includes('autologon-unknown-account'));
    assert.ok(!codes(validate(shell(logon('Administrator')))).includes('autologon-unknown-account'));
  });

  test('hidden passwords must be Base64 of UTF-16LE text ending in the element name', () => {
    const hidden = (value: string) => `<Password><Value>${value}</Value><PlainText>false</PlainText></Password>`;
    const findings = validate(
      accounts(
        account('a1', hidden(encodeUnattendPassword('secret'))),
        account('a2', hidden('not base64!')),
        account('a3', hidden(Buffer.from([0x41, 0x00, 0x42]).toString('base64'))),
        account('a4', hidden(Buffer.from('secret', 'utf16le').toString('base64'))),
        account('a5', hidden(encodeUnattendPassword('secret', 'AdministratorPassword'))),
        // The reference's examples leave out the Base64 padding; Setup accepts that.
        account('a6', hidden(encodeUnattendPassword('pw').replace(/=+$/, ''))),
      ),
    );
    assert.deepEqual(
      findings.map((f) => [f.code, f.xpath]),
      [
        ['password-not-base64', `${base}[2]/Password/Value`],
        ['password-not-utf16', `${base}[3]/Password/Value`],
        ['password-suffix', `${base}[4]/Password/Value`],
        // LocalAccount passwords end in "Password"; "…AdministratorPassword" does too, so it passes.
      ],
    );
    const value = (encoded: string) => `<Value>${encoded}</Value><PlainText>false</PlainText>`;
    const admin = validate(shell(`<UserAccounts><AdministratorPassword>${value(encodeUnattendPassword('secret', 'Password'))}</AdministratorPassword></UserAccounts>`));
    assert.deepEqual(codes(admin), ['password-suffix']);
    expectFinding(admin, 'password-suffix', `${SHELL}/UserAccounts/AdministratorPassword/Value`);
    const good = validate(shell(`<UserAccounts><AdministratorPassword>${value(encodeUnattendPassword('secret', 'AdministratorPassword'))}</AdministratorPassword></UserAccounts>`));
    assert.deepEqual(good, []);
  });

  test('a plain-text password is an info finding', () => {
    const findings = validate(shell('<AutoLogon><Password><Value>vagrant</Value><PlainText>true</PlainText></Password><Username>Administrator</Username></AutoLogon>'));
    assert.deepEqual(
      findings.map((f) => [f.severity, f.code, f.xpath]),
      [['info', 'password-plain-text', `${SHELL}/AutoLogon/Password/Value`]],
    );
  });
});

describe('validateUnattend: disk layouts', () => {
  const partition = (order: number, type: string, size?: number | 'extend') =>
    `<CreatePartition wcm:action="add"><Order>${order}</Order><Type>${type}</Type>${size === 'extend' ? '<Extend>true</Extend>' : size === undefined ? '' : `<Size>${size}</Size>`}</CreatePartition>`;
  const modify = (order: number, id: number, format?: string) =>
    `<ModifyPartition wcm:action="add"><Order>${order}</Order><PartitionID>${id}</PartitionID>${format ? `<Format>${format}</Format>` : ''}</ModifyPartition>`;
  const disk = (creates: string, modifies = '', osImage = '') =>
    setup(
      `<DiskConfiguration><Disk wcm:action="add"><DiskID>0</DiskID><WillWipeDisk>true</WillWipeDisk><CreatePartitions>${creates}</CreatePartitions><ModifyPartitions>${modifies}</ModifyPartitions></Disk></DiskConfiguration>${osImage}`,
    );
  const installTo = (diskId: number, partitionId: number, extra = '') =>
    `<ImageInstall><OSImage><InstallTo><DiskID>${diskId}</DiskID><PartitionID>${partitionId}</PartitionID></InstallTo>${extra}</OSImage></ImageInstall>`;
  const D = `${SETUP}/DiskConfiguration/Disk`;
  const GPT = partition(1, 'EFI', 100) + partition(2, 'MSR', 16) + partition(3, 'Primary', 'extend');

  test('the recommended UEFI layout is fine', () => {
    assert.deepEqual(validate(disk(GPT, modify(1, 1, 'FAT32') + modify(2, 3, 'NTFS'), installTo(0, 3))), []);
  });

  test('EFI or MSR mixed with Extended or Logical partitions is an error', () => {
    const findings = validate(disk(partition(1, 'EFI', 100) + partition(2, 'Extended', 'extend') + partition(3, 'Logical', 'extend')));
    expectFinding(findings, 'disk-mixed-styles', `${D}/CreatePartitions`);
  });

  test('MBR limits: four primary partitions, one extended, logical drives inside it', () => {
    const five = [1, 2, 3, 4].map((i) => partition(i, 'Primary', 100)).join('') + partition(5, 'Extended', 'extend') + partition(6, 'Logical', 'extend');
    assert.equal(expectFinding(validate(disk(five)), 'disk-too-many-primary', `${D}/CreatePartitions`).severity, 'error');
    const primaries = [1, 2, 3, 4, 5].map((i) => partition(i, 'Primary', i === 5 ? 'extend' : 100)).join('');
    assert.equal(expectFinding(validate(disk(primaries)), 'disk-too-many-primary', `${D}/CreatePartitions`).severity, 'warning');
    expectFinding(validate(disk(partition(1, 'Extended', 100) + partition(2, 'Extended', 'extend'))), 'disk-multiple-extended', `${D}/CreatePartitions`);
    expectFinding(validate(disk(partition(1, 'Primary', 100) + partition(2, 'Logical', 'extend'))), 'disk-logical-without-extended', `${D}/CreatePartitions`);
    // An extended partition that fills the disk may be followed by the logical drives inside it.
    assert.deepEqual(validate(disk(partition(1, 'Primary', 100) + partition(2, 'Extended', 'extend') + partition(3, 'Logical', 200) + partition(4, 'Logical', 'extend'))), []);
  });

  test('Size with Extend, neither, or Extend before the last partition are errors', () => {
    const both = validate(disk(`<CreatePartition wcm:action="add"><Order>1</Order><Type>Primary</Type><Size>100</Size><Extend>true</Extend></CreatePartition>`));
    expectFinding(both, 'partition-size-and-extend', `${D}/CreatePartitions/CreatePartition`);
    expectFinding(validate(disk(partition(1, 'Primary'))), 'partition-no-size', `${D}/CreatePartitions/CreatePartition`);
    const early = validate(disk(partition(1, 'Primary', 'extend') + partition(2, 'Primary', 100)));
    expectFinding(early, 'partition-extend-not-last', `${D}/CreatePartitions/CreatePartition[1]`);
  });

  test('ModifyPartition must name a created partition; MSR is never formatted and the ESP is FAT32', () => {
    const findings = validate(disk(GPT, modify(1, 1, 'NTFS') + modify(2, 2, 'NTFS') + modify(3, 4, 'NTFS')));
    const M = `${D}/ModifyPartitions/ModifyPartition`;
    expectFinding(findings, 'efi-not-fat32', `${M}[1]/Format`);
    expectFinding(findings, 'format-msr', `${M}[2]/Format`);
    expectFinding(findings, 'modify-unknown-partition', `${M}[3]/PartitionID`);
  });

  test('InstallTo must name a created Primary partition on a configured disk', () => {
    const I = `${SETUP}/ImageInstall/OSImage/InstallTo`;
    expectFinding(validate(disk(GPT, '', installTo(0, 4))), 'install-to-unknown-partition', `${I}/PartitionID`);
    expectFinding(validate(disk(GPT, '', installTo(0, 1))), 'install-to-system-partition', `${I}/PartitionID`);
    assert.equal(expectFinding(validate(disk(GPT, '', installTo(1, 3))), 'install-to-unknown-disk', `${I}/DiskID`).severity, 'warning');
    expectFinding(validate(disk(GPT, '', installTo(0, 3, '<InstallToAvailablePartition>true</InstallToAvailablePartition>'))), 'install-to-conflict', I);
    // A disk that is not wiped keeps partitions the file cannot see: nothing to judge.
    assert.deepEqual(validate(setup(installTo(0, 4))), []);
  });
});

describe('validateUnattend: generated answer files', () => {
  const variants: [string, GenerateUnattendOptions][] = [
    ['minimal', { architecture: 'amd64' }],
    ['everything on amd64', GOOD],
    [
      'arm64 with languages and an interactive disk',
      { architecture: 'arm64', languages: { uiLanguage: 'de-DE', userLocale: 'de-CH' }, disk: { mode: 'interactive' }, acceptEula: true },
    ],
    ['x86 wiping disk 1 with partial bypass', { architecture: 'x86', disk: { mode: 'wipe-gpt', diskId: 1 }, bypassRequirements: { tpm: true, ram: true } }],
    [
      'accounts without passwords and many first-logon commands',
      {
        architecture: 'amd64',
        accounts: [{ name: 'kiosk' }, { name: 'Jörg Müller', displayName: 'Jörg', group: 'Users' }],
        autoLogon: { username: 'kiosk', count: 999 },
        skipOobe: true,
        firstLogonCommands: Array.from({ length: 12 }, (_, i) => ({ commandLine: `cmd /c echo ${i} & echo "<done>"` })),
      },
    ],
    ['generic key, time zone and computer name only', { architecture: 'amd64', productKey: 'W269N-WFGWX-YVC9B-4J6C9-T83GX', timeZone: 'UTC', computerName: 'A1' }],
    [
      'GPT with recovery, drivers, packages, the built-in Administrator and embedded scripts',
      {
        architecture: 'amd64',
        edition: { imageIndex: 3 },
        disk: { mode: 'wipe-gpt', recovery: true },
        compactOs: true,
        driverPaths: { windowsPE: ['D:\\drivers'], offlineServicing: ['D:\\drivers', 'E:\\more'] },
        packages: ['D:\\kb.cab'],
        servicingPackages: [{ path: 'D:\\kb2.cab', identity: { name: 'Package_for_KB0000002', version: '10.0.1.1' } }],
        accounts: [{ name: 'admin', password: 'x' }],
        administrator: { enabled: true, password: 'Adm1n' },
        autoLogon: { username: 'Administrator', count: 1 },
        oobe: { hideEula: true, protectYourPC: 2, bypassNRO: true },
        computerName: { pattern: 'PC-####' },
        deviceEncryption: false,
        sMode: false,
        specializeCommands: [{ commandLine: 'cmd /c echo specialize' }],
        scripts: {
          system: [{ name: 'a.ps1', language: 'ps1', content: 'Write-Host 1' }],
          defaultUser: [{ name: 'b.reg', language: 'reg', content: 'Windows Registry Editor Version 5.00\r\n' }],
          firstLogon: [{ name: 'c.cmd', language: 'cmd', content: 'echo 2' }],
        },
      },
    ],
    ['MBR with recovery on x86 and a random computer name', { architecture: 'x86', disk: { mode: 'wipe-mbr', recovery: { sizeMb: 800 } }, computerName: { random: true } }],
    ['MBR, image by name, S mode', { architecture: 'amd64', disk: { mode: 'wipe-mbr' }, edition: { imageName: 'Windows 11 Pro' }, sMode: true }],
  ];
  for (const [name, options] of variants)
    test(`generateUnattend output validates without errors: ${name}`, (t) => {
      const findings = validateUnattend(writeUnattend(generateUnattend(options)), { file: 'autounattend.xml' });
      for (const f of findings) t.diagnostic(`${f.severity} ${f.code} ${f.xpath}`);
      assert.deepEqual(errors(findings), []);
      assert.deepEqual(
        findings.filter((f) => f.severity === 'warning'),
        [],
      );
    });
});

describe('the component table', () => {
  test('every component names real passes and releases and links its reference page', () => {
    for (const [name, spec] of Object.entries(UNATTEND_COMPONENTS)) {
      assert.ok(spec.passes.length > 0, name);
      for (const p of spec.passes) assert.ok((UNATTEND_PASSES as readonly string[]).includes(p), `${name}: ${p}`);
      for (const v of spec.versions) assert.ok((WINDOWS_VERSIONS as readonly string[]).includes(v), `${name}: ${v}`);
      assert.ok(spec.source.startsWith('https://learn.microsoft.com/'), name);
      if (spec.source.startsWith(UNATTEND_REFERENCE)) assert.equal(spec.source, UNATTEND_REFERENCE + name.toLowerCase());
    }
  });

  test('every finding code has a severity', () => {
    for (const [code, severity] of Object.entries(UNATTEND_FINDING_CODES)) assert.ok(['error', 'warning', 'info'].includes(severity), code);
  });
});
