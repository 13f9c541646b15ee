// Hostile input for validateUnattend, with fixed seeds so every run checks the same cases: corpus
// and generated answer files with bytes flipped, cut, spliced and sprinkled with XML tokens; random
// but well-formed trees built from the component table; and very deep nesting. Each case must
// give well-shaped findings (or at most a DeployForgeError), quickly.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { corpusPath } from '../../../test/helpers/corpus.js';
import { DeployForgeError } from '../../errors.js';
import { UNATTEND_COMPONENTS } from './components.js';
import { generateUnattend } from './generate.js';
import { UNATTEND_PASSES } from './model.js';
import { UNATTEND_FINDING_CODES, validateUnattend } from './validate.js';
import { writeUnattend } from './write.js';

const SEED = 0x0df7_2026;
const NS = 'xmlns="urn:schemas-microsoft-com:unattend" xmlns:wcm="http://schemas.microsoft.com/WMIConfig/2002/State"';
/** Far above what one validation of a 20 KB file takes; catches quadratic blow-ups, not jitter. */
const MAX_MS_PER_CASE = 1000;

const CORPUS = corpusPath('unattend');
const corpusFiles = existsSync(CORPUS)
  ? readdirSync(CORPUS, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => new Uint8Array(readFileSync(join(e.parentPath, e.name))))
  : [];
const generated = [
  writeUnattend(
    generateUnattend({
      architecture: 'amd64',
      languages: { uiLanguage: 'en-US' },
      disk: { mode: 'wipe-gpt' },
      bypassRequirements: true,
      accounts: [{ name: 'admin', password: 'pw' }],
      autoLogon: { username: 'admin', count: 1 },
      skipOobe: true,
      computerName: 'PC',
      firstLogonCommands: [{ commandLine: 'cmd /c exit' }],
    }),
  ),
  writeUnattend(generateUnattend({ architecture: 'arm64', productKey: 'W269N-WFGWX-YVC9B-4J6C9-T83GX', acceptEula: true, timeZone: 'UTC' })),
];
const seeds = [...corpusFiles, ...generated];

/** Runs one case: findings of the right shape or a DeployForgeError, within the time limit. */
function checkCase(input: Uint8Array): void {
  const started = performance.now();
  try {
    const findings = validateUnattend(input, { file: 'autounattend.xml', target: 'win11' });
    assert.ok(Array.isArray(findings));
    for (const f of findings) {
      assert.ok(Object.hasOwn(UNATTEND_FINDING_CODES, f.code), f.code);
      assert.ok(f.severity === 'error' || f.severity === 'warning' || f.severity === 'info');
      assert.ok(f.xpath.startsWith('/'), f.xpath);
      assert.equal(typeof f.message, 'string');
      assert.ok(f.message.length > 0 && f.message.length <= 300);
    }
  } catch (error) {
    if (!(error instanceof DeployForgeError)) throw error;
  }
  const elapsed = performance.now() - started;
  assert.ok(elapsed < MAX_MS_PER_CASE, `took ${elapsed.toFixed(0)} ms`);
}

const TOKENS = [
  '<',
  '>',
  '/>',
  '</settings>',
  '</component>',
  '&',
  '&amp;',
  '&#0;',
  '<![CDATA[',
  ']]>',
  '<!--',
  '-->',
  '"',
  ' wcm:action="bogus"',
  ' wcm:keyValue="1"',
  '<component name="Microsoft-Windows-Setup">',
  '<settings pass="oobeSystem">',
  '<Order>1</Order>',
  '<Type>EFI</Type>',
  '<PlainText>false</PlainText>',
  '\u0000',
  '\u00ff',
  '\ufeff',
];

type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'set'; at: number; value: number }
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'insert'; at: number; bytes: number[] }
  | { kind: 'token'; at: number; token: number }
  | { kind: 'duplicate'; at: number; length: number; to: number }
  | { kind: 'truncate'; at: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 200 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 16 }) }),
  fc.record({ kind: fc.constant('token' as const), at: fc.nat(), token: fc.integer({ min: 0, max: TOKENS.length - 1 }) }),
  fc.record({ kind: fc.constant('duplicate' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 400 }), to: fc.nat() }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
);

function applyMutation(input: number[], m: Mutation): number[] {
  const out = input.slice();
  const at = out.length === 0 ? 0 : m.at % (out.length + 1);
  switch (m.kind) {
    case 'flip':
      if (at < out.length) out[at] = (out[at] ?? 0) ^ (1 << m.bit);
      return out;
    case 'set':
      if (at < out.length) out[at] = m.value;
      return out;
    case 'delete':
      out.splice(at, m.length);
      return out;
    case 'insert':
      out.splice(at, 0, ...m.bytes);
      return out;
    case 'token':
      out.splice(at, 0, ...Buffer.from(TOKENS[m.token] ?? '<', 'utf8'));
      return out;
    case 'duplicate': {
      const slice = out.slice(at, at + m.length);
      out.splice(m.to % (out.length + 1), 0, ...slice);
      return out;
    }
    case 'truncate':
      return out.slice(0, at);
  }
}

// Well-formed trees from the table's own vocabulary reach the deeper checks that byte noise
// rarely gets past the XML parser to.
const componentNames = [...Object.keys(UNATTEND_COMPONENTS), 'Contoso-Unknown', 'constructor'];
const settingNames = [
  ...new Set(
    Object.values(UNATTEND_COMPONENTS).flatMap((c) => {
      const names: string[] = [];
      const walk = (table: Record<string, { type: string; children?: object; item?: string }>) => {
        for (const [name, spec] of Object.entries(table)) {
          names.push(name);
          if (spec.item) names.push(spec.item);
          if (spec.children) walk(spec.children as never);
        }
      };
      walk(c.settings as never);
      return names;
    }),
  ),
  '__proto__',
  'Bogus',
];
const values = [
  'true',
  'false',
  'True',
  '0',
  '1',
  '-1',
  '4',
  '99999999999999999999',
  '',
  '  ',
  'EFI',
  'MSR',
  'Primary',
  'Extended',
  'Logical',
  'NTFS',
  'OnError',
  'Guest',
  'a/b',
  'UGFzc3dvcmQA',
  '!!',
  'x'.repeat(300),
];

const xmlName = (names: string[]) => fc.integer({ min: 0, max: names.length - 1 }).map((i) => names[i] ?? 'x');
const escapeXml = (s: string) => s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('"', '&quot;');
const setting: fc.Arbitrary<string> = fc.letrec<{ node: string }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.tuple(xmlName(settingNames), fc.integer({ min: 0, max: values.length - 1 })).map(([n, v]) => `<${n}>${escapeXml(values[v] ?? '')}</${n}>`),
    fc
      .tuple(
        xmlName(settingNames),
        fc.constantFrom('', ' wcm:action="add"', ' wcm:action="remove" wcm:keyValue="1"', ' wcm:action="nope"'),
        fc.array(tie('node'), { maxLength: 4 }),
      )
      .map(([n, attrs, kids]) => `<${n}${attrs}>${kids.join('')}</${n}>`),
  ),
})).node;
const tree = fc
  .array(
    fc.tuple(
      fc.constantFrom(...UNATTEND_PASSES, 'bogusPass', ''),
      fc.array(fc.tuple(xmlName(componentNames), fc.constantFrom('amd64', 'x86', 'wow64', 'arm64', 'x64', ''), fc.array(setting, { maxLength: 5 })), { maxLength: 4 }),
    ),
    { maxLength: 4 },
  )
  .map(
    (passes) =>
      `<unattend ${NS}>${passes
        .map(
          ([pass, components]) =>
            `<settings pass="${pass}">${components
              .map(
                ([name, arch, kids]) =>
                  `<component name="${name}" processorArchitecture="${arch}" publicKeyToken="31bf3856ad364e35" language="neutral" versionScope="nonSxS">${kids.join('')}</component>`,
              )
              .join('')}</settings>`,
        )
        .join('')}</unattend>`,
  );

describe('validateUnattend on hostile input', () => {
  test(`mutated corpus and generated answer files give findings, never a crash (${seeds.length} seeds, 1200 cases)`, () => {
    const inputs = seeds.map((s) => [...s]);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: inputs.length - 1 }), fc.array(mutation, { minLength: 1, maxLength: 6 }), (index, mutations) => {
        const mutated = mutations.reduce(applyMutation, inputs[index] ?? []);
        checkCase(new Uint8Array(mutated));
      }),
      { seed: SEED, numRuns: 1200 },
    );
  });

  test('corpus and generated files with leaf values swapped for hostile ones stay well-formed and give findings (400 cases)', () => {
    const texts = seeds.map((b) => Buffer.from(b).toString('utf8'));
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: texts.length - 1 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: values.length - 1 })), { minLength: 1, maxLength: 8 }),
        (index, swaps) => {
          let text = texts[index] ?? '';
          for (const [at, v] of swaps) {
            const leaves = [...text.matchAll(/>([^<>]*)<\//g)];
            const leaf = leaves[at % Math.max(1, leaves.length)];
            if (leaf?.index === undefined) continue;
            text = `${text.slice(0, leaf.index + 1)}${escapeXml(values[v] ?? '')}${text.slice(leaf.index + 1 + (leaf[1]?.length ?? 0))}`;
          }
          checkCase(new Uint8Array(Buffer.from(text, 'utf8')));
        },
      ),
      { seed: SEED + 3, numRuns: 400 },
    );
  });

  test('random well-formed trees from the component table give findings, never a crash (400 cases)', () => {
    fc.assert(
      fc.property(tree, (xml) => checkCase(new Uint8Array(Buffer.from(xml, 'utf8')))),
      { seed: SEED + 1, numRuns: 400 },
    );
  });

  test('random bytes give findings, never a crash (300 cases)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (input) => checkCase(input)),
      { seed: SEED + 2, numRuns: 300 },
    );
  });

  test('100 000 nested elements give an error finding without exhausting the stack', () => {
    const depth = 100_000;
    const cases = [
      `<unattend ${NS}>${'<a>'.repeat(depth)}${'</a>'.repeat(depth)}</unattend>`,
      `<unattend ${NS}>${'<a>'.repeat(depth)}`,
      `<unattend ${NS}><settings pass="windowsPE"><component name="Microsoft-Windows-Setup" processorArchitecture="amd64">${'<UserData>'.repeat(depth)}${'</UserData>'.repeat(depth)}</component></settings></unattend>`,
    ];
    for (const xml of cases) {
      const started = performance.now();
      const findings = validateUnattend(new Uint8Array(Buffer.from(xml, 'utf8')));
      const elapsed = performance.now() - started;
      assert.ok(elapsed < 10_000, `took ${elapsed.toFixed(0)} ms`);
      assert.equal(findings.length, 1, JSON.stringify(findings));
      assert.ok(['too-deep', 'not-well-formed'].includes(findings[0]?.code ?? ''), findings[0]?.code);
      assert.equal(findings[0]?.severity, 'error');
    }
  });

  test('a file over 16 MiB is one finding, not a parse', () => {
    const findings = validateUnattend(new Uint8Array(16 * 1024 * 1024 + 1));
    assert.deepEqual(
      findings.map((f) => f.code),
      ['too-large'],
    );
  });
});
