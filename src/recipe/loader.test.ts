// biome-ignore-all lint/suspicious/noTemplateCurlyInString: recipes use ${name} variables in plain strings
import assert from 'node:assert/strict';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeTempDir, repoRoot } from '../../test/helpers/corpus.js';
import { ConfigError, type ConfigIssue, DeployForgeError } from '../errors.js';
import { loadRecipe } from './loader.js';

let dir: string;
let cleanup: () => Promise<void>;
before(async () => {
  ({ path: dir, cleanup } = await makeTempDir('deployforge-recipe-'));
});
after(() => cleanup());

async function write(name: string, lines: string[]): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, `${lines.join('\n')}\n`);
  return path;
}

/** Loads `path`, expecting a ConfigError with `code`; returns its issues. */
async function expectIssues(path: string, code: string, variables?: Record<string, string>): Promise<ConfigIssue[]> {
  try {
    await loadRecipe(path, { variables });
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${error}`);
    assert.equal(error.code, code, error.message);
    assert.ok(error.issues.length > 0);
    return error.issues;
  }
  assert.fail(`expected ${path} to be rejected`);
}

function issueFor(issues: ConfigIssue[], field: string): ConfigIssue {
  const found = issues.find((i) => i.field === field);
  assert.ok(found, `no issue for ${field}; got ${JSON.stringify(issues)}`);
  return found;
}

const HEADER = ['version: 1', 'name: test'];

describe('loading valid recipes', () => {
  test('loads every section and records the file and line of each step', async () => {
    const path = await write('full.yaml', [
      ...HEADER,
      'description: everything',
      'source:',
      '  path: ./Win11.iso',
      'editions:',
      '  keep:',
      '    - { name: Windows 11 Pro, rename: Pro, default: true }',
      '    - index: 3',
      'steps:',
      '  - type: registry',
      '    hive: SOFTWARE',
      '    set:',
      '      - { key: A\\B, name: V, type: REG_DWORD, data: 0x10 }',
      '      - { key: A\\Multi, name: M, type: REG_MULTI_SZ, data: [a, b] }',
      '      - { key: A\\OnlyKey }',
      '    delete:',
      '      - { key: A\\Old }',
      '  - type: registry',
      '    hive: /Windows/System32/config/COMPONENTS',
      '    reg: tweaks.reg',
      '  - type: files',
      '    from: payload',
      '    to: /Windows/Setup/Scripts',
      '  - type: remove-files',
      '    paths: [/Windows/Web/**]',
      'media:',
      '  - { from: autounattend.xml, to: / }',
      'outputs:',
      '  iso: { path: out.iso, label: MY_LABEL, mode: uefi }',
      '  wim: { path: install.wim }',
      '  esd: { path: install.esd }',
      '  swm: { path: install.swm, partSizeMb: 4000 }',
      '  folder: { path: usb }',
      'options: { compression: lzms, deterministic: true, label: X }',
    ]);
    const loaded = await loadRecipe(path);
    assert.equal(loaded.recipe.name, 'test');
    assert.equal(loaded.recipe.outputs?.swm?.partSizeMb, 4000);
    assert.deepEqual(
      loaded.steps.map((s) => [s.step.type, s.index, s.file, s.line]),
      [
        ['registry', 0, path, 11],
        ['registry', 1, path, 19],
        ['files', 2, path, 22],
        ['remove-files', 3, path, 25],
      ],
    );
    const registry = loaded.steps[0].step;
    assert.equal(registry.type, 'registry');
    if (registry.type === 'registry') assert.equal(registry.set?.[0].data, 16);
    assert.deepEqual(loaded.sourceOf('outputs.iso.path'), { file: path, line: 30 });
  });

  test('loads every example recipe without errors', async () => {
    const examples = join(repoRoot, 'examples', 'recipes');
    const names = (await readdir(examples)).filter((n) => n.endsWith('.yaml'));
    assert.ok(names.length >= 2);
    for (const name of names) {
      const loaded = await loadRecipe(join(examples, name));
      assert.equal(loaded.recipe.version, 1, name);
    }
  });

  test('a recipe that extends a built-in profile by name gets its steps first', async () => {
    const path = await write('on-profile.yaml', ['extends: minimal', 'version: 1', 'name: mine', 'steps:', '  - { type: remove-files, paths: [/x] }']);
    const loaded = await loadRecipe(path);
    assert.deepEqual(
      loaded.steps.map((s) => [s.step.type, s.file.endsWith('examples/recipes/minimal.yaml')]),
      [
        ['registry', true],
        ['remove-files', false],
      ],
    );
    assert.equal(loaded.recipe.name, 'mine');
    assert.equal(loaded.recipe.version, 1);
  });
});

describe('extends', () => {
  test('merges objects, concatenates steps and media base-first, overrides scalars and replaces other lists', async () => {
    await write('m-base.yaml', [
      ...HEADER,
      'description: base',
      'editions: { keep: [{ index: 1 }, { index: 2 }] }',
      'steps:',
      '  - { type: remove-files, paths: [/base] }',
      'media: [{ from: a, to: / }]',
      'outputs:',
      '  iso: { path: base.iso, label: BASE }',
      '  wim: { path: base.wim }',
      'options: { compression: lzx, deterministic: true }',
    ]);
    await write('m-second.yaml', ['version: 1', 'steps:', '  - { type: remove-files, paths: [/second] }', 'options: { label: SECOND }']);
    const path = await write('m-child.yaml', [
      'extends: [m-base.yaml, ./m-second.yaml]',
      'version: 1',
      'name: child',
      'editions: { keep: [{ index: 3 }] }',
      'steps:',
      '  - { type: remove-files, paths: [/child] }',
      'media: [{ from: b, to: / }]',
      'outputs:',
      '  iso: { path: child.iso }',
      'options: { compression: none }',
    ]);
    const { recipe, steps, files } = await loadRecipe(path);
    assert.equal(recipe.name, 'child');
    assert.equal(recipe.description, 'base');
    assert.deepEqual(recipe.editions, { keep: [{ index: 3 }] });
    assert.deepEqual(
      steps.map((s) => [(s.step as { paths: string[] }).paths[0], s.file, s.line]),
      [
        ['/base', join(dir, 'm-base.yaml'), 6],
        ['/second', join(dir, 'm-second.yaml'), 3],
        ['/child', path, 6],
      ],
    );
    assert.deepEqual(
      recipe.media?.map((m) => m.from),
      ['a', 'b'],
    );
    assert.deepEqual(recipe.outputs, { iso: { path: 'child.iso', label: 'BASE' }, wim: { path: 'base.wim' } });
    assert.deepEqual(recipe.options, { compression: 'none', deterministic: true, label: 'SECOND' });
    assert.deepEqual(files, [path, join(dir, 'm-base.yaml'), join(dir, 'm-second.yaml')]);
  });

  test('an error in a base file points at the base file and line', async () => {
    const base = await write('e-base.yaml', [...HEADER, 'options:', '  compression: fast']);
    const path = await write('e-child.yaml', ['extends: e-base.yaml', 'version: 1', 'name: child']);
    const issue = issueFor(await expectIssues(path, 'DF_RECIPE_INVALID'), 'options.compression');
    assert.equal(issue.file, base);
    assert.equal(issue.line, 4);
  });

  test('every file states version: 1, bases included', async () => {
    const base = await write('nv-base.yaml', ['name: base', 'description: no version']);
    const path = await write('nv-child.yaml', [...HEADER, 'extends: nv-base.yaml']);
    const issue = issueFor(await expectIssues(path, 'DF_RECIPE_INVALID'), 'version');
    assert.deepEqual([issue.file, issue.line], [base, 1]);
    assert.match(issue.message, /expected version: 1/);
  });

  test('a cycle is reported at the extends entry that closes it, with the chain', async () => {
    const a = await write('cycle-a.yaml', [...HEADER, 'extends: cycle-b.yaml']);
    const b = await write('cycle-b.yaml', ['version: 1', 'extends:', '  - ./cycle-a.yaml']);
    const issues = await expectIssues(a, 'DF_RECIPE_EXTENDS_CYCLE');
    assert.equal(issues[0].file, b);
    assert.equal(issues[0].line, 3);
    assert.equal(issues[0].field, 'extends[0]');
    assert.match(issues[0].message, /cycle-a\.yaml → .*cycle-b\.yaml → .*cycle-a\.yaml/);
    const self = await write('cycle-self.yaml', [...HEADER, 'extends: cycle-self.yaml']);
    assert.equal((await expectIssues(self, 'DF_RECIPE_EXTENDS_CYCLE'))[0].line, 3);
  });

  test('a missing base file or profile is reported at its extends entry', async () => {
    const path = await write('missing.yaml', [...HEADER, 'extends:', '  - ./nope.yaml']);
    const issue = (await expectIssues(path, 'DF_RECIPE_EXTENDS_NOT_FOUND'))[0];
    assert.deepEqual([issue.file, issue.line, issue.field], [path, 4, 'extends[0]']);
    assert.match(issue.message, /nope\.yaml does not exist/);
    const profile = await write('missing-profile.yaml', [...HEADER, 'extends: no-such-profile']);
    assert.match((await expectIssues(profile, 'DF_RECIPE_EXTENDS_NOT_FOUND'))[0].message, /built-in profile 'no-such-profile'/);
  });

  test('extends must be a path or a list of paths', async () => {
    const path = await write('bad-extends.yaml', [...HEADER, 'extends: { a: 1 }']);
    const issue = (await expectIssues(path, 'DF_RECIPE_INVALID'))[0];
    assert.deepEqual([issue.field, issue.line], ['extends', 3]);
  });
});

describe('variables', () => {
  test('substitutes ${name} in strings; the caller overrides; bases see the including file’s variables', async () => {
    await write('v-base.yaml', [...HEADER, 'outputs:', '  iso: { path: "${product}.iso", label: "${label}" }']);
    const path = await write('v-child.yaml', [
      'extends: v-base.yaml',
      'version: 1',
      'variables:',
      '  product: office',
      '  label: OFFICE',
      '  year: 2025',
      'description: "${product} ${year} costs $${price}"',
    ]);
    const loaded = await loadRecipe(path, { variables: { label: 'FROM_CLI' } });
    assert.deepEqual(loaded.recipe.outputs?.iso, { path: 'office.iso', label: 'FROM_CLI' });
    assert.equal(loaded.recipe.description, 'office 2025 costs ${price}');
    assert.deepEqual(loaded.variables, { product: 'office', label: 'FROM_CLI', year: '2025' });
  });

  test('an unknown variable is reported with its file, line and field', async () => {
    const path = await write('v-unknown.yaml', [...HEADER, 'variables: { known: x }', 'steps:', '  - type: files', '    from: ${known}', '    to: /${missing}/x']);
    const issues = await expectIssues(path, 'DF_RECIPE_UNKNOWN_VARIABLE');
    assert.equal(issues.length, 1);
    assert.deepEqual([issues[0].file, issues[0].line, issues[0].field], [path, 7, 'steps[0].to']);
    assert.match(issues[0].message, /\$\{missing\}.*--var missing=/);
  });

  test('variable values must be scalars', async () => {
    const path = await write('v-bad.yaml', [...HEADER, 'variables:', '  list: [a]']);
    const issue = (await expectIssues(path, 'DF_RECIPE_INVALID'))[0];
    assert.deepEqual([issue.field, issue.line], ['variables.list', 4]);
  });
});

describe('errors', () => {
  test('a YAML syntax error names the file and line', async () => {
    const path = await write('syntax.yaml', [...HEADER, 'steps:', '  - type: files', '    from: [unclosed', '    to: /x']);
    const issue = (await expectIssues(path, 'DF_RECIPE_SYNTAX'))[0];
    assert.equal(issue.file, path);
    assert.ok(issue.line !== undefined && issue.line >= 5, `line ${issue.line}`);
  });

  test('a duplicate key is a syntax error', async () => {
    const path = await write('dup.yaml', [...HEADER, 'name: again']);
    assert.equal((await expectIssues(path, 'DF_RECIPE_SYNTAX'))[0].line, 3);
  });

  test('a file that is not a mapping is rejected', async () => {
    const path = await write('list.yaml', ['- a', '- b']);
    assert.equal((await expectIssues(path, 'DF_RECIPE_INVALID'))[0].line, 1);
  });

  test('reports every schema problem at once, each with file, line, field and what is expected', async () => {
    const path = await write('many.yaml', [
      'version: 2',
      'name: test',
      'colour: blue',
      'steps:',
      '  - type: files',
      '    from: a',
      '    to: /b',
      '    mode: 644',
      '  - type: remove-files',
      '    paths: /not-a-list',
      '  - type: regsitry',
      '    hive: SOFTWARE',
      'outputs:',
      '  swm: { path: x.swm, partSizeMb: 5000 }',
      'options:',
      '  compression: fast',
      '  deterministic: "yes"',
    ]);
    const issues = await expectIssues(path, 'DF_RECIPE_INVALID');
    const expect = (field: string, line: number, message: RegExp) => {
      const issue = issueFor(issues, field);
      assert.equal(issue.file, path, field);
      assert.equal(issue.line, line, field);
      assert.match(issue.message, message, field);
    };
    expect('version', 1, /expected 1, got number 2/);
    expect('colour', 3, /unknown key: expected one of version, name, description, source/);
    expect('steps[0].mode', 8, /unknown key: expected one of type, description, from, to/);
    expect('steps[1].paths', 10, /expected a list, got the string "\/not-a-list"/);
    expect('steps[2].type', 11, /expected one of registry, files, remove-files(, [a-z-]+)*, got the string "regsitry"/);
    expect('outputs.swm.partSizeMb', 14, /expected at most 4000/);
    expect('options.compression', 16, /expected one of none, xpress, lzx, lzms/);
    expect('options.deterministic', 17, /expected true or false, got the string "yes"/);
    assert.equal(issues.length, 8);
  });

  test('a missing required field points at the enclosing mapping', async () => {
    const path = await write('missing-field.yaml', ['version: 1', 'steps:', '  - type: files', '    from: a']);
    const issues = await expectIssues(path, 'DF_RECIPE_INVALID');
    assert.deepEqual([issueFor(issues, 'name').line, issueFor(issues, 'steps[0].to').line], [1, 3]);
    assert.match(issueFor(issues, 'steps[0].to').message, /missing: expected a string/);
  });

  test('checks registry entries: data matches the type, hives and set need a hive', async () => {
    const path = await write('registry.yaml', [
      ...HEADER,
      'steps:',
      '  - type: registry',
      '    hive: HKLM',
      '    set:',
      '      - { key: A, name: V, type: REG_DWORD, data: text }',
      '      - { key: A, name: W }',
      '  - type: registry',
      '    delete: [{ key: A }]',
      '  - type: registry',
    ]);
    const issues = await expectIssues(path, 'DF_RECIPE_INVALID');
    assert.match(issueFor(issues, 'steps[0].hive').message, /expected one of SOFTWARE, SYSTEM, DEFAULT, NTUSER, SAM, SECURITY or a hive path/);
    assert.equal(issueFor(issues, 'steps[0].hive').line, 5);
    assert.match(issueFor(issues, 'steps[0].set[0].data').message, /integer from 0 to 4294967295 for REG_DWORD/);
    assert.equal(issueFor(issues, 'steps[0].set[0].data').line, 7);
    assert.match(issueFor(issues, 'steps[0].set[1].type').message, /expected a value type/);
    assert.match(issueFor(issues, 'steps[1].hive').message, /expected a hive/);
    assert.match(issueFor(issues, 'steps[2]').message, /expected reg: a \.reg file, or set\/delete entries/);
    assert.equal(issueFor(issues, 'steps[2]').line, 11);
  });

  test('image paths must be absolute and must not climb out with ..', async () => {
    const path = await write('paths.yaml', [...HEADER, 'steps:', '  - { type: files, from: a, to: Windows }', '  - { type: remove-files, paths: [/Windows/../x] }']);
    const issues = await expectIssues(path, 'DF_RECIPE_INVALID');
    assert.match(issueFor(issues, 'steps[0].to').message, /starting with \//);
    assert.match(issueFor(issues, 'steps[1].paths[0]').message, /without \.\. segments/);
  });

  test('editions: exactly one selector each and at most one default', async () => {
    const path = await write('editions.yaml', [...HEADER, 'editions:', '  keep:', '    - { name: A, index: 2, default: true }', '    - { id: B, default: true }']);
    const issues = await expectIssues(path, 'DF_RECIPE_INVALID');
    assert.match(issueFor(issues, 'editions.keep[0]').message, /exactly one of name, id or index \(got name, index\)/);
    assert.equal(issueFor(issues, 'editions.keep[0]').line, 5);
  });

  test('a missing recipe file is a not-found input error', async () => {
    await assert.rejects(loadRecipe(join(dir, 'absent.yaml')), (error: unknown) => error instanceof DeployForgeError && error.code === 'DF_NOT_FOUND');
  });
});

test('caps YAML alias expansion', async () => {
  const levels = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
  for (let i = 1; i < 8; i++)
    levels.push(
      `l${i}: &l${i} [${Array(10)
        .fill(i === 1 ? '*a' : `*l${i - 1}`)
        .join(', ')}]`,
    );
  const path = await write('laughs.yaml', [...HEADER, 'variables:', ...levels.map((l) => `  ${l}`)]);
  const issue = (await expectIssues(path, 'DF_RECIPE_SYNTAX'))[0];
  assert.match(issue.message, /alias/);
});

test('relative inputs must stay in the recipe folder: .. escapes are refused with the field named', async () => {
  const tmp = await makeTempDir();
  try {
    const path = join(tmp.path, 'escape.yaml');
    await writeFile(
      path,
      [
        'version: 1',
        'name: escape',
        'steps:',
        '  - type: files',
        '    from: ../../etc/passwd',
        '    to: /Windows/x',
        '  - type: files',
        '    from: /etc/hostname',
        '    to: /Windows/y',
        '  - type: files',
        '    from: sub/../ok.txt',
        '    to: /Windows/z',
        '',
      ].join('\n'),
    );
    const issues = await expectIssues(path, 'DF_RECIPE_INVALID');
    assert.match(issueFor(issues, 'steps[0].from').message, /inside the recipe's folder/);
    assert.equal(issueFor(issues, 'steps[0].from').line, 5);
    assert.ok(!issues.some((i) => i.field === 'steps[1].from'), 'an absolute path is an explicit choice');
    assert.ok(!issues.some((i) => i.field === 'steps[2].from'), 'a .. that stays inside is fine');
  } finally {
    await tmp.cleanup();
  }
});
