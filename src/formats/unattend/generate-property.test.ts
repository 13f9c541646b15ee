// Random option sets (fast-check, fixed seed): whatever the combination, the generator writes a
// well-formed file without a BOM that reads back unchanged, numbers its lists 1..N, gives the same
// bytes for the same options, and carries every script and password intact.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { makeTempDir } from '../../../test/helpers/corpus.js';
import { runTool } from '../../util/exec.js';
import { GENERIC_KEY_EDITIONS } from './edition-keys.js';
import { type GenerateUnattendOptions, generateUnattend, type UnattendScript } from './generate.js';
import { EXTENSIONS_NAMESPACE } from './generate-scripts.js';
import { findComponent, textOf, type UnattendComponent, type UnattendDocument, type UnattendElement, type UnattendNode } from './model.js';
import { parseUnattend } from './parse.js';
import { writeUnattend } from './write.js';

const SEED = 20261107;

const text = (units: string[], maxLength: number) => fc.string({ unit: fc.constantFrom(...units), maxLength });
const PRINTABLE = ['a', 'Z', '0', ' ', '€', 'ü', '$', '&', '<', '>', '"', "'", '`', '\\', '%', ';'];
const SCRIPT_UNITS = [...PRINTABLE, '\n', '\r\n', ']]>', '\t', '#'];

const disk = (architecture: string) =>
  fc.oneof(
    fc.constant(undefined),
    fc.constant({ mode: 'interactive' as const }),
    fc.record(
      {
        mode: fc.constant('wipe-gpt' as const),
        diskId: fc.integer({ min: 0, max: 3 }),
        recovery: fc.oneof(fc.boolean(), fc.record({ sizeMb: fc.integer({ min: 300, max: 4096 }) })),
        efiSizeMb: fc.integer({ min: 100, max: 1000 }),
        windowsSizeMb: fc.integer({ min: 20000, max: 900000 }),
      },
      { requiredKeys: ['mode'] },
    ),
    ...(architecture === 'arm64'
      ? []
      : [
          fc.record(
            { mode: fc.constant('wipe-mbr' as const), diskId: fc.integer({ min: 0, max: 3 }), recovery: fc.boolean(), windowsSizeMb: fc.integer({ min: 20000, max: 900000 }) },
            { requiredKeys: ['mode'] },
          ),
        ]),
  );

const edition = fc.oneof(
  fc.constant(undefined),
  fc.constantFrom(...GENERIC_KEY_EDITIONS).map((genericKeyFor) => ({ genericKeyFor })),
  fc.integer({ min: 1, max: 20 }).map((imageIndex) => ({ imageIndex })),
  text(PRINTABLE, 30)
    .filter((s) => s.trim() !== '')
    .map((imageName) => ({ imageName })),
  fc.constant({ interactive: true as const }),
);

const accountName = fc.stringMatching(/^[a-z][a-z0-9_-]{0,9}$/).filter((n) => !['administrator', 'guest', 'system', 'none', 'defaultaccount'].includes(n));
const accounts = fc.uniqueArray(
  fc.record(
    {
      name: accountName,
      password: fc.string({ unit: 'grapheme', maxLength: 12 }),
      group: fc.oneof(fc.constantFrom('Administrators', 'Users'), fc.constant(['Users', 'Remote Desktop Users'])),
      forcePasswordChange: fc.boolean(),
    },
    { requiredKeys: ['name'] },
  ),
  { selector: (a) => a.name, maxLength: 3 },
);

const scripts = fc
  .uniqueArray(fc.stringMatching(/^[a-z0-9][a-z0-9_.-]{0,20}$/), { maxLength: 8 })
  .chain((names) =>
    fc.tuple(
      ...names.map((base) =>
        fc.record({
          stage: fc.constantFrom('system', 'defaultUser', 'firstLogon', 'everyNewUser' as const),
          language: fc.constantFrom('ps1', 'cmd', 'reg' as const),
          body: text(SCRIPT_UNITS, 60),
          base: fc.constant(base),
        }),
      ),
    ),
  )
  .map((list) => {
    const out: Record<string, UnattendScript[]> = {};
    for (const s of list) {
      const content = s.language === 'reg' ? `Windows Registry Editor Version 5.00\n${s.body}` : `x${s.body}`;
      out[s.stage] = [...(out[s.stage] ?? []), { name: `${s.base}.${s.language}`, language: s.language, content }];
    }
    return out;
  });

const options: fc.Arbitrary<GenerateUnattendOptions> = fc.constantFrom('amd64', 'arm64', 'x86' as const).chain((architecture) =>
  fc
    .record(
      {
        disk: disk(architecture),
        edition,
        compactOs: fc.boolean(),
        bypassRequirements: fc.oneof(fc.boolean(), fc.record({ tpm: fc.boolean(), cpu: fc.boolean() })),
        languages: fc.record({ uiLanguage: fc.constantFrom('en-US', 'de-DE', 'ja-JP'), fallback: fc.constantFrom('en-US', 'fr-FR') }, { requiredKeys: ['uiLanguage'] }),
        accounts,
        administrator: fc.record({ enabled: fc.boolean(), password: fc.string({ unit: 'grapheme', maxLength: 12 }) }, { requiredKeys: ['enabled'] }),
        skipOobe: fc.boolean(),
        oobe: fc.record(
          { hideEula: fc.boolean(), hideWirelessSetup: fc.boolean(), protectYourPC: fc.constantFrom(1, 2, 3 as const), bypassNRO: fc.boolean() },
          { requiredKeys: [] },
        ),
        computerName: fc.oneof(
          fc.stringMatching(/^[A-Z][A-Z0-9-]{0,14}$/),
          fc.constant({ random: true as const }),
          fc.stringMatching(/^[A-Z][A-Z0-9#?-]{0,14}$/).map((pattern) => ({ pattern })),
        ),
        deviceEncryption: fc.boolean(),
        sMode: fc.boolean(),
        driverPaths: fc.record({
          windowsPE: fc.array(
            text(PRINTABLE, 20).map((s) => `D:\\${s}`),
            { maxLength: 3 },
          ),
          offlineServicing: fc.array(fc.constantFrom('E:\\x', 'F:\\y z'), { maxLength: 3 }),
        }),
        packages: fc.array(fc.constantFrom('C:\\p\\a.msu', 'C:\\p\\b.cab'), { maxLength: 2 }),
        specializeCommands: fc.array(fc.record({ commandLine: text(PRINTABLE, 40).map((s) => `cmd.exe /c echo ${s}`) }), { maxLength: 3 }),
        firstLogonCommands: fc.array(fc.record({ commandLine: text(PRINTABLE, 40).map((s) => `cmd.exe /c echo ${s}`), requiresUserInput: fc.boolean() }), { maxLength: 3 }),
        scripts,
      },
      { requiredKeys: [] },
    )
    .map((o) => {
      const out = { architecture, ...o } as GenerateUnattendOptions;
      if (out.accounts?.length) out.autoLogon = { username: out.accounts[0].name, count: 2 };
      if (out.oobe?.hideLocalAccountScreen && !out.accounts?.length) delete out.oobe.hideLocalAccountScreen;
      return out;
    }),
);

function elements(nodes: readonly (UnattendNode | UnattendComponent | UnattendDocument['children'][number])[]): UnattendElement[] {
  return nodes.flatMap((n) => (n.kind === 'element' ? [n, ...elements(n.children)] : n.kind === 'settings' || n.kind === 'component' ? elements(n.children) : []));
}

function checkLists(doc: UnattendDocument): void {
  for (const parent of elements(doc.children)) {
    const items = parent.children.filter((c): c is UnattendElement => c.kind === 'element');
    const orders = items.flatMap((c) => c.children.filter((o): o is UnattendElement => o.kind === 'element' && o.localName === 'Order').map(textOf));
    assert.deepEqual(
      orders,
      orders.map((_, i) => String(i + 1)),
      `${parent.localName}: Order`,
    );
    const keys = items.filter((c) => c.keyValue !== undefined).map((c) => c.keyValue);
    assert.deepEqual(
      keys,
      keys.map((_, i) => String(i + 1)),
      `${parent.localName}: keyValue`,
    );
  }
}

describe('generateUnattend with random options', () => {
  test('writes well-formed, BOM-free, deterministic files that read back unchanged and keep scripts and passwords', async () => {
    const samples: Uint8Array[] = [];
    fc.assert(
      fc.property(options, (o) => {
        const doc = generateUnattend(o);
        const bytes = writeUnattend(doc);
        assert.notEqual(bytes[0], 0xef, 'no UTF-8 byte-order mark');
        assert.deepEqual(writeUnattend(generateUnattend(structuredClone(o))), bytes, 'same options, same bytes');
        assert.deepEqual(parseUnattend(bytes), doc);
        checkLists(doc);
        // Scripts: each one embedded once, at its path, with its text (CR LF is restored on extraction).
        const files = new Map(
          elements(doc.children)
            .filter((e) => e.localName === 'File' && e.namespace === EXTENSIONS_NAMESPACE)
            .map((e) => [e.attributes.find((a) => a.localName === 'path')?.value, textOf(e)]),
        );
        for (const s of Object.values(o.scripts ?? {}).flat()) assert.equal(files.get(`C:\\Windows\\Setup\\Scripts\\${s.name}`), s.content.replace(/\r\n?/g, '\n'));
        // Passwords: Base64 of UTF-16LE password + element name.
        const shell = findComponent(doc, 'oobeSystem', 'Microsoft-Windows-Shell-Setup');
        const local = elements(shell?.children ?? []).filter((e) => e.localName === 'LocalAccount');
        local.forEach((account, i) => {
          const value = elements(account.children).find((e) => e.localName === 'Value');
          assert.equal(Buffer.from(textOf(value as UnattendElement), 'base64').toString('utf16le'), `${o.accounts?.[i].password ?? ''}Password`);
        });
        if (samples.length < 60) samples.push(bytes);
      }),
      { seed: SEED, numRuns: 250 },
    );
    const temp = await makeTempDir();
    try {
      const files = await Promise.all(
        samples.map(async (bytes, i) => {
          const file = join(temp.path, `random-${i}.xml`);
          await writeFile(file, bytes);
          return file;
        }),
      );
      await runTool('xmllint', ['--noout', ...files]);
    } finally {
      await temp.cleanup();
    }
  });
});
