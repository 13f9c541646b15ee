// Property test of the in-place hive editor: random sequences of key and value edits are applied
// both to the editor and to a plain JS model, on corpus hives and on a fresh empty hive; the
// saved result must match the model through our reader, hivexregedit --export and regfexport,
// pass regfinfo, and keep the raw invariants (edit-invariants.ts). DEPLOYFORGE_PROPERTY_RUNS
// raises the number of runs per hive (the default keeps the file under a minute).

import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { corpusPath, makeTempDir } from '../../../test/helpers/corpus.js';
import { runTool } from '../../util/exec.js';
import { checkHiveLayout } from './edit-invariants.js';
import type { Hive } from './hive.js';
import { openHive } from './hive.js';
import { createEmptyHive, editHive } from './hive-edit.js';
import { upcaseName } from './names.js';
import { REGF_TYPES } from './test-oracles.js';
import { walkKeys } from './walk.js';

const RUNS = Number(process.env.DEPLOYFORGE_PROPERTY_RUNS ?? 0);
let tmp: { path: string; cleanup: () => Promise<void> };
let counter = 0;
before(async () => {
  tmp = await makeTempDir('deployforge-hive-edit-');
});
after(async () => {
  await tmp.cleanup();
});

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

// ---------------------------------------------------------------------------------------------
// The model: a case-insensitive tree keeping each name's first spelling, as the registry does.

interface ModelValue {
  name: string;
  type: number;
  data: Uint8Array;
}
interface ModelKey {
  name: string;
  values: Map<string, ModelValue>;
  children: Map<string, ModelKey>;
}
const newKey = (name: string): ModelKey => ({ name, values: new Map(), children: new Map() });

function modelFromHive(hive: Hive): ModelKey {
  const root = newKey(hive.root.name);
  const byOffset = new Map<number, ModelKey>([[hive.root.record.offset, root]]);
  for (const key of walkKeys(hive)) {
    const model = byOffset.get(key.record.offset) as ModelKey;
    for (const v of key.values()) model.values.set(upcaseName(v.name), { name: v.name, type: v.type, data: Uint8Array.from(v.raw) });
    for (const child of key.subkeys()) {
      const m = newKey(child.name);
      model.children.set(upcaseName(child.name), m);
      byOffset.set(child.record.offset, m);
    }
  }
  return root;
}

function modelWalk(root: ModelKey, parts: string[], create: boolean): ModelKey | undefined {
  let key = root;
  for (const part of parts) {
    let child = key.children.get(upcaseName(part));
    if (!child) {
      if (!create) return undefined;
      child = newKey(part);
      key.children.set(upcaseName(part), child);
    }
    key = child;
  }
  return key;
}

/** path (names joined by "\\", '' = root) → value name → "type:hex". */
type Flat = Record<string, Record<string, string>>;

function flattenModel(root: ModelKey): Flat {
  const out: Flat = {};
  const visit = (key: ModelKey, path: string) => {
    const values: Record<string, string> = {};
    for (const v of key.values.values()) values[v.name] = `${v.type}:${hex(v.data)}`;
    out[path] = values;
    for (const child of key.children.values()) visit(child, path === '' ? child.name : `${path}\\${child.name}`);
  };
  visit(root, '');
  return out;
}

function flattenHive(hive: Hive): Flat {
  const out: Flat = {};
  for (const key of walkKeys(hive)) {
    const values: Record<string, string> = {};
    for (const v of key.values()) values[v.name] = `${v.type}:${hex(v.raw)}`;
    out[key.path] = values;
  }
  return out;
}

/** Asserts equality, naming the first differing key or value so huge hives stay readable. */
function assertSameFlat(actual: Flat, expected: Flat, oracle: string): void {
  for (const path of new Set([...Object.keys(actual), ...Object.keys(expected)])) {
    const a = actual[path];
    const e = expected[path];
    assert.ok(a && e, `${oracle}: key "${path}" is ${a ? 'extra' : 'missing'}`);
    for (const name of new Set([...Object.keys(a), ...Object.keys(e)])) {
      // "T?" (regfexport view only): the type must match, the data is not comparable.
      if (e[name]?.endsWith('?')) {
        assert.equal(a[name]?.split(/[:=]/)[0], e[name].slice(0, -1), `${oracle}: type of value "${name}" of "${path}"`);
        continue;
      }
      assert.equal(a[name]?.slice(0, 300), e[name]?.slice(0, 300), `${oracle}: value "${name}" of "${path}"`);
      assert.equal(a[name], e[name], `${oracle}: value "${name}" of "${path}"`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Oracles

async function exportWithHivex(file: string): Promise<Flat> {
  const { stdout } = await runTool('hivexregedit', ['--export', file, '\\'], { env: { ...process.env, PERL_UNICODE: 'SO' }, maxBuffer: 1024 * 1024 * 1024 });
  const out: Flat = {};
  let current: Record<string, string> | undefined;
  for (const line of stdout.split('\n')) {
    if (line.startsWith('[') && line.endsWith(']')) {
      const path = line.slice(1, -1);
      current = {};
      out[path === '\\' ? '' : path.slice(1)] = current;
      continue;
    }
    if (line === '' || line.startsWith('Windows Registry Editor')) continue;
    assert.ok(current, `value line before any key: ${line}`);
    let name: string;
    let rest: string;
    if (line.startsWith('@=')) {
      name = '';
      rest = line.slice(2);
    } else {
      let i = 1;
      name = '';
      while (line[i] !== '"') {
        if (line[i] === '\\') i++;
        name += line[i++];
      }
      rest = line.slice(i + 2);
    }
    const dword = /^dword:([0-9a-f]{8})$/.exec(rest);
    const hexData = /^hex\(([0-9a-f]+)\):([0-9a-f,]*)$/.exec(rest);
    if (dword) current[name] = `4:${hex(Buffer.from(dword[1], 'hex').reverse())}`;
    else if (hexData) current[name] = `${Number.parseInt(hexData[1], 16)}:${hexData[2].replaceAll(',', '')}`;
    else assert.fail(`unexpected value syntax: ${line.slice(0, 200)}`);
  }
  return out;
}

/** regfexport's view as path → value name → "type:…": the bytes for types it hex-dumps, the
 *  number for DWORD/QWORD, only the type for strings (it prints decoded text) and for inline
 *  data under 4 bytes (libregf 20201007 misreads those; see build-hive.test.ts). */
async function exportWithLibregf(file: string): Promise<Flat> {
  const { stdout } = await runTool('regfexport', [file], { maxBuffer: 1024 * 1024 * 1024 });
  const out: Flat = {};
  let rootName: string | undefined;
  let key: Record<string, string> | undefined;
  let valueName: string | undefined;
  let type = -1;
  const lines = stdout.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const valueLine = /^Value: \d+ (.*)$/.exec(line);
    const typeLine = /^Type: .*\((REG_[A-Z_]+)\)$/.exec(line);
    const unknownType = /^Type: unknown: 0x([0-9a-f]+)$/.exec(line);
    if (line.startsWith('Key path: ')) {
      const full = line.slice('Key path: '.length);
      rootName ??= full;
      key = {};
      out[full === rootName ? '' : full.slice(rootName.length + 1)] = key;
      valueName = undefined;
    } else if (valueLine && key) {
      valueName = valueLine[1] === '(default)' ? '' : valueLine[1];
      type = -1;
    } else if (valueName !== undefined && key && (typeLine || unknownType)) {
      type = typeLine ? REGF_TYPES[typeLine[1]] : Number.parseInt(unknownType?.[1] ?? '', 16);
      key[valueName] = `${type}`;
    } else if (valueName !== undefined && key && line.startsWith('Data:')) {
      const dump: string[] = [];
      while (i + 1 < lines.length && /^[0-9a-f]{8}: /.test(lines[i + 1])) {
        dump.push(
          ...lines[++i]
            .slice(10, 59)
            .split(/\s+/)
            .filter((t) => /^[0-9a-f]{2}$/.test(t)),
        );
      }
      const text = line.slice('Data:'.length).replace(/^ /, '');
      if (dump.length > 0) key[valueName] = `${type}:${dump.join('')}`;
      else if (type === 4 || type === 5 || type === 11) key[valueName] = `${type}=${text}`;
    }
  }
  return out;
}

/** The model in the shape regfexport can confirm; "T?" marks values whose data it shows
 *  differently (strings, as text or as a hex dump when not valid UTF-16) or wrongly (inline
 *  data under 4 bytes), so only their type is compared. */
function libregfView(flat: Flat, v14: boolean): Flat {
  const out: Flat = {};
  for (const [path, values] of Object.entries(flat)) {
    const o: Record<string, string> = {};
    for (const [name, tv] of Object.entries(values)) {
      const [t, h] = tv.split(':');
      const type = Number(t);
      const data = Buffer.from(h, 'hex');
      if (type === 1 || type === 2 || (data.length > 0 && data.length < 4)) o[name] = `${type}?`;
      else if (v14 && data.length > 16344) o[name] = `${type}?`;
      else if (type === 4 && data.length === 4) o[name] = `4=${data.readUInt32LE(0)}`;
      else if (type === 5 && data.length === 4) o[name] = `5=${data.readUInt32BE(0)}`;
      else if (type === 11 && data.length === 8) o[name] = `11=${data.readBigUInt64LE(0)}`;
      else if (data.length === 0) o[name] = `${type}`;
      else o[name] = `${type}:${h}`;
    }
    out[path] = o;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Random edits

type Edit =
  | { op: 'createKey'; path: string[] }
  | { op: 'createMany'; path: string[]; count: number }
  | { op: 'deleteKey'; path: string[] }
  | { op: 'setValue'; path: string[]; name: string; type: number; size: number; seed: number }
  | { op: 'deleteValue'; path: string[]; name: string };

// Mixed case, Latin-1 and non-Latin-1 names, so case-insensitive matches and both name
// encodings occur often.
const keyPart = fc.constantFrom('alpha', 'ALPHA', 'Beta', 'ü-Key', 'Ключ', 'КЛЮЧ', '日本', 'x y', 'Zed', 'émoji😀', 'Many');
const valueName = fc.constantFrom('', 'v', 'V', 'Größe', 'Значение', '値', 'data value', 'x');
const path = fc.array(keyPart, { minLength: 1, maxLength: 3 });
const sizes = [0, 1, 3, 4, 5, 12, 100, 4000, 16344, 16345, 40000, 100000, 1024 * 1024];
const size = fc.oneof({ weight: 12, arbitrary: fc.constantFrom(...sizes.slice(0, 11)) }, { weight: 1, arbitrary: fc.constantFrom(100000, 1024 * 1024) });
const regType = fc.constantFrom(0, 1, 2, 3, 4, 5, 7, 11, 0x20001);

const edit: fc.Arbitrary<Edit> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('createKey' as const), path }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('createMany' as const), path, count: fc.integer({ min: 1000, max: 1100 }) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('deleteKey' as const), path }) },
  { weight: 8, arbitrary: fc.record({ op: fc.constant('setValue' as const), path, name: valueName, type: regType, size, seed: fc.integer({ min: 0, max: 255 }) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('deleteValue' as const), path, name: valueName }) },
);

function dataFor(size: number, seed: number): Uint8Array {
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i++) data[i] = (seed + i * 31) & 0xff;
  return data;
}

/** Applies one edit to editor and model alike; returns what the editor returned. */
function apply(e: ReturnType<typeof editHive>, model: ModelKey, edit: Edit): void {
  const p = edit.path.join('\\');
  switch (edit.op) {
    case 'createKey': {
      const existed = modelWalk(model, edit.path, false) !== undefined;
      assert.equal(e.createKey(p), !existed, `createKey ${p}`);
      modelWalk(model, edit.path, true);
      return;
    }
    case 'createMany': {
      const parent = modelWalk(model, edit.path, true) as ModelKey;
      e.createKey(p);
      // Reverse order, so inserts land at the front of ever-fuller leaves.
      for (let i = edit.count - 1; i >= 0; i--) {
        const name = `Sub${String(i).padStart(5, '0')}`;
        e.createKey(`${p}\\${name}`);
        if (!parent.children.has(upcaseName(name))) parent.children.set(upcaseName(name), newKey(name));
      }
      return;
    }
    case 'deleteKey': {
      const parent = modelWalk(model, edit.path.slice(0, -1), false);
      const last = upcaseName(edit.path[edit.path.length - 1]);
      const existed = parent?.children.has(last) ?? false;
      assert.equal(e.deleteKey(p), existed, `deleteKey ${p}`);
      parent?.children.delete(last);
      return;
    }
    case 'setValue': {
      const data = dataFor(edit.size, edit.seed);
      e.setValue(p, edit.name, edit.type, data);
      const key = modelWalk(model, edit.path, true) as ModelKey;
      const old = key.values.get(upcaseName(edit.name));
      key.values.set(upcaseName(edit.name), { name: old?.name ?? edit.name, type: edit.type, data });
      return;
    }
    case 'deleteValue': {
      const key = modelWalk(model, edit.path, false);
      const existed = key?.values.has(upcaseName(edit.name)) ?? false;
      assert.equal(e.deleteValue(p, edit.name), existed, `deleteValue ${p} ${edit.name}`);
      key?.values.delete(upcaseName(edit.name));
      return;
    }
  }
}

async function checkAgainstOracles(bytes: Uint8Array, model: ModelKey, minor: number, unreachableBefore: number[]): Promise<void> {
  const expected = flattenModel(model);
  const layout = checkHiveLayout(bytes);
  // Edits free everything they drop: only the cells the input already leaked stay unreachable.
  assert.deepEqual(layout.unreachable, unreachableBefore, 'no allocated cell leaked');
  assertSameFlat(flattenHive(openHive(bytes, 'edited')), expected, 'our reader');
  const file = join(tmp.path, `e${counter++}.hiv`);
  await writeFile(file, bytes);
  assertSameFlat(await exportWithHivex(file), expected, 'hivexregedit --export');
  assertSameFlat(await exportWithLibregf(file), libregfView(expected, minor === 4), 'regfexport');
  const { stdout, stderr } = await runTool('regfinfo', [file]);
  assert.match(stdout, /File type:\s+Registry/);
  // Its key/value listing is data (SYSTEM has "ErrorControl" values); only check the rest.
  const report = stdout
    .split('\n')
    .filter((l) => !/^\s*\((key|value)/.test(l))
    .join('\n');
  assert.doesNotMatch(`${report}\n${stderr}`, /error|corrupt|unable/i);
}

async function loadBytes(source: string): Promise<Uint8Array> {
  if (source === 'empty') return createEmptyHive({ rootName: 'ROOT', lastWritten: new Date(0) });
  const path = corpusPath(`registry/${source}`);
  if (path.endsWith('.xz')) {
    const { stdout } = await runTool('xz', ['-dc', path], { binary: true, maxBuffer: 256 * 1024 * 1024 });
    return new Uint8Array(stdout.buffer, stdout.byteOffset, stdout.byteLength);
  }
  const { readFile } = await import('node:fs/promises');
  return new Uint8Array(await readFile(path));
}

const SOURCES: [string, number, number][] = [
  // [hive, default runs, edits per run]
  ['empty', 6, 25],
  ['hivex/minimal', 3, 25],
  ['python-registry/UNICODE_TESTS', 3, 25],
  ['plaso/100_sub_keys.hiv', 2, 20],
  ['regipy/SYSTEM.xz', 1, 12],
];

describe('editHive on random edit sequences', () => {
  for (const [source, defaultRuns, maxEdits] of SOURCES) {
    test(`keeps ${source} equal to the model for hivex, libregf and our reader`, async () => {
      const original = await loadBytes(source);
      const hive = openHive(original, source);
      const baseModel = () => modelFromHive(openHive(original, source));
      const unreachableBefore = checkHiveLayoutLoose(original);
      const minor = hive.header.minorVersion;
      await fc.assert(
        fc.asyncProperty(fc.array(edit, { minLength: 1, maxLength: maxEdits }), async (edits) => {
          const model = baseModel();
          const editor = editHive(original, { name: source, now: () => new Date(Date.UTC(2024, 0, 1)) });
          for (const ed of edits) apply(editor, model, ed);
          await checkAgainstOracles(editor.toBytes(), model, minor, unreachableBefore);
        }),
        { numRuns: RUNS > 0 ? RUNS : defaultRuns, seed: Number(process.env.DEPLOYFORGE_PROPERTY_SEED ?? 20261122), endOnFailure: true },
      );
    });
  }
});

/** Unreachable cells of the untouched input (after one no-op save, so the layout is ours). */
function checkHiveLayoutLoose(bytes: Uint8Array): number[] {
  return checkHiveLayout(editHive(bytes).toBytes()).unreachable;
}
