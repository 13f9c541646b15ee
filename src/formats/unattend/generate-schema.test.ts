import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { z } from 'zod';
import { GENERIC_KEY_EDITIONS } from './edition-keys.js';
import { generateUnattend } from './generate.js';
import { UnattendOptionsSchema } from './options-schema.js';

/** The issues zod reports, as `field: message` the way `deployforge unattend generate` prints them. */
function issues(input: unknown): string[] {
  const result = UnattendOptionsSchema.safeParse(input);
  return result.success ? [] : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

const GOOD = {
  architecture: 'arm64',
  languages: { uiLanguage: 'fr-FR', inputLocale: ['040c:0000040c', 'en-US'], fallback: 'en-US' },
  timeZone: 'Romance Standard Time',
  edition: { imageName: 'Windows 11 Pro' },
  productKey: 'VK7JG-NPHTM-C97JM-9MPGT-3V66T',
  disk: { mode: 'wipe-gpt', recovery: { sizeMb: 1024 }, efiSizeMb: 260 },
  compactOs: true,
  bypassRequirements: { tpm: true, storage: true },
  driverPaths: { windowsPE: ['D:\\drivers'] },
  packages: ['C:\\Windows\\Setup\\Packages\\kb.msu'],
  servicingPackages: [{ path: 'D:\\lp.cab', identity: { name: 'Microsoft-Windows-Client-LanguagePack-Package', version: '10.0.26100.1', language: 'fr-FR' } }],
  accounts: [{ name: 'marie', password: 'x', group: ['Administrators'], forcePasswordChange: true }],
  administrator: { enabled: false },
  autoLogon: { username: 'marie', count: 2 },
  skipOobe: true,
  oobe: { bypassNRO: true, protectYourPC: 3 },
  computerName: { pattern: 'FR-####' },
  deviceEncryption: false,
  sMode: false,
  specializeCommands: [{ commandLine: 'cmd.exe /c echo x', description: 'x' }],
  firstLogonCommands: [{ commandLine: 'cmd.exe /c echo y' }],
  scripts: { system: [{ name: 'a.ps1', language: 'ps1', content: 'Write-Output 1' }], everyNewUser: [{ name: 'b.cmd', language: 'cmd', content: 'echo 2' }] },
};

describe('UnattendOptionsSchema', () => {
  test('accepts every option the generator has, and what it accepts generates', () => {
    assert.deepEqual(issues(GOOD), []);
    generateUnattend(UnattendOptionsSchema.parse(GOOD));
    for (const edition of [{ genericKeyFor: 'pro-education' }, { productKey: 'VK7JG-NPHTM-C97JM-9MPGT-3V66T' }, { imageIndex: 1 }, { interactive: true }])
      assert.deepEqual(issues({ architecture: 'amd64', edition }), [], JSON.stringify(edition));
    for (const computerName of ['DESK-1', { random: true }, { pattern: 'PC-??##' }]) assert.deepEqual(issues({ architecture: 'amd64', computerName }), []);
    assert.deepEqual(issues({ architecture: 'x86', disk: { mode: 'wipe-mbr', recovery: true, windowsSizeMb: 60000 } }), []);
  });

  test('names the field of each bad value', () => {
    assert.deepEqual(issues({ architecture: 'amd64', disk: { mode: 'wipe-gpt', efiSizeMb: 50 } }), ['disk.efiSizeMb: at least 100 (megabytes)']);
    assert.deepEqual(issues({ architecture: 'amd64', disk: { mode: 'wipe-gpt', recovery: { sizeMb: 10 } } }), ['disk.recovery.sizeMb: at least 300 (megabytes)']);
    assert.deepEqual(issues({ architecture: 'amd64', oobe: { protectYourPC: 4 } }), ['oobe.protectYourPC: 1 (recommended), 2 (updates only) or 3 (none)']);
    assert.deepEqual(issues({ architecture: 'amd64', edition: { imageIndex: 0 } }), ['edition.imageIndex: image indexes start at 1']);
    assert.deepEqual(issues({ architecture: 'amd64', edition: { productKey: 'abc' } }), ['edition.productKey: a product key like XXXXX-XXXXX-XXXXX-XXXXX-XXXXX']);
    assert.deepEqual(issues({ architecture: 'amd64', scripts: { system: [{ name: 'a b.ps1', language: 'ps1', content: 'x' }] } }), [
      'scripts.system.0.name: a file name of letters, digits, . _ - (at most 60), e.g. tweaks.ps1',
    ]);
    assert.deepEqual(issues({ architecture: 'amd64', specializeCommands: [{ commandLine: 'x'.repeat(300) }] }), [
      'specializeCommands.0.commandLine: Windows allows at most 259 characters',
    ]);
    assert.deepEqual(issues({ architecture: 'amd64', servicingPackages: [{ path: 'D:\\a.cab', identity: { name: 'P', version: '10.0' } }] }), [
      'servicingPackages.0.identity.version: a version like 10.0.26100.1',
    ]);
    assert.deepEqual(issues({ architecture: 'amd64', languages: { uiLanguage: 'english' } }), [
      'languages.uiLanguage: a language tag like en-US (or a keyboard id like 0409:00000409)',
    ]);
  });

  test('an edition without a published key, an unknown edition shape or computer-name shape is refused with the choices', () => {
    const [home] = issues({ architecture: 'amd64', edition: { genericKeyFor: 'home' } });
    assert.match(home, /^edition: one of \{ productKey \}, \{ genericKeyFor: pro \| pro-n/);
    assert.equal(GENERIC_KEY_EDITIONS.includes('home' as never), false, 'Microsoft publishes no generic key for Home');
    assert.match(issues({ architecture: 'amd64', edition: { codename: 'x' } })[0], /^edition: one of/);
    assert.match(issues({ architecture: 'amd64', computerName: { random: false } })[0], /^computerName: a name \(at most 15 characters\), \{ random: true \} or \{ pattern \}/);
  });

  test('refuses unknown keys at every level', () => {
    assert.deepEqual(issues({ architecture: 'amd64', oobe: { hideEULA: true } }).length, 1);
    assert.match(issues({ architecture: 'amd64', colour: 'blue' })[0], /^: Unrecognized key/);
    assert.match(issues({ architecture: 'amd64', accounts: [{ name: 'a', groups: ['Users'] }] })[0], /^accounts\.0: Unrecognized key/);
  });

  test('the JSON Schema tells users that BypassNRO only works offline', () => {
    const json = JSON.stringify(z.toJSONSchema(UnattendOptionsSchema));
    assert.match(json, /BypassNRO=1, set in specialize\)\. Windows honours it only while the PC is offline/);
  });
});
