// Unit tests of the in-place hive editor: free-space handling (coalescing, reuse), subkey-list
// splitting under an ri, big data, sk release, dirty-hive refusal, rollback of a failed edit,
// and the header of saved hives, checked with our invariant walker and with hivex/libregf.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { corpusPath, makeTempDir } from '../../../test/helpers/corpus.js';
import { InputError } from '../../errors.js';
import { runTool } from '../../util/exec.js';
import { MAX_LEAF_ENTRIES } from './build-hive.js';
import { checkHiveLayout } from './edit-invariants.js';
import { openHive } from './hive.js';
import { createEmptyHive, editHive, openHiveForEdit } from './hive-edit.js';
import { parseSecurity } from './security.js';
import { hivexHeader, regfinfo } from './test-oracles.js';
import { walkKeys } from './walk.js';

let tmp: { path: string; cleanup: () => Promise<void> };
let counter = 0;
before(async () => {
  tmp = await makeTempDir('deployforge-hive-edit-unit-');
});
after(async () => {
  await tmp.cleanup();
});

async function writeTemp(bytes: Uint8Array): Promise<string> {
  const file = join(tmp.path, `u${counter++}.hiv`);
  await writeFile(file, bytes);
  return file;
}

const fixedNow = () => new Date(Date.UTC(2024, 4, 1, 12));
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const fill = (n: number, seed = 1) => Uint8Array.from({ length: n }, (_, i) => (seed + i * 7) & 0xff);

async function corpusBytes(rel: string): Promise<Uint8Array> {
  const path = corpusPath(`registry/${rel}`);
  if (path.endsWith('.xz')) {
    const { stdout } = await runTool('xz', ['-dc', path], { binary: true, maxBuffer: 256 * 1024 * 1024 });
    return new Uint8Array(stdout.buffer, stdout.byteOffset, stdout.byteLength);
  }
  return new Uint8Array(await readFile(path));
}

describe('free space', () => {
  test('coalesces freed neighbours into one free cell', () => {
    const e = editHive(createEmptyHive({ lastWritten: new Date(0) }), { now: fixedNow });
    for (const name of ['a', 'b', 'c']) e.setValue('K', name, 3, fill(100));
    const offsets = ['a', 'b', 'c'].map((n) => e.hive.key('K')?.value(n)?.record.dataOffset as number);
    e.deleteValue('K', 'a');
    e.deleteValue('K', 'c');
    e.deleteValue('K', 'b');
    const start = Math.min(...offsets);
    const end = Math.max(...offsets) + 104;
    // One free cell covers all three former data cells (and any freed vk cells beside them).
    assert.ok(
      e.freeCells().some(([o, s]) => o <= start && o + s >= end),
      `a free cell spans ${start}..${end}: ${JSON.stringify(e.freeCells())}`,
    );
    const layout = checkHiveLayout(e.toBytes());
    assert.deepEqual(layout.unreachable, []);
  });

  test('reuses a freed cell instead of growing the file', () => {
    const e = editHive(createEmptyHive({ lastWritten: new Date(0) }), { now: fixedNow });
    e.setValue('K', 'v', 3, fill(200, 1));
    const first = e.hive.key('K')?.value('v')?.record.dataOffset;
    const size = e.toBytes().length;
    e.setValue('K', 'v', 3, fill(200, 2));
    assert.equal(e.hive.key('K')?.value('v')?.record.dataOffset, first);
    assert.deepEqual(e.hive.key('K')?.value('v')?.raw, fill(200, 2));
    assert.equal(e.toBytes().length, size);
  });

  test('appends a bin big enough for a cell larger than 4 KiB', () => {
    const e = editHive(createEmptyHive(), { now: fixedNow });
    e.setValue('', 'big', 3, fill(10000));
    const bytes = e.toBytes();
    const layout = checkHiveLayout(bytes);
    assert.equal(layout.binsSize % 4096, 0);
    assert.deepEqual(openHive(bytes).root.value('big')?.raw, fill(10000));
  });
});

describe('subkey lists', () => {
  test('splits a full leaf under an ri and collapses it again when keys go', async () => {
    const e = editHive(createEmptyHive(), { now: fixedNow });
    // Descending names: every insert goes to the front of the leaf.
    for (let i = MAX_LEAF_ENTRIES - 1; i >= 0; i--) e.createKey(`P\\k${String(i).padStart(4, '0')}`);
    const listKind = () => {
      const p = e.hive.key('P');
      const cell = e.hive.cells.cell(p?.record.subkeyListOffset as number, 'list');
      return String.fromCharCode(cell[0], cell[1]);
    };
    assert.equal(listKind(), 'lh');
    e.createKey('P\\k9999');
    assert.equal(listKind(), 'ri');
    for (let i = 0; i < 600; i++) e.createKey(`P\\m${i}`);
    const names =
      e.hive
        .key('P')
        ?.subkeys()
        .map((k) => k.name) ?? [];
    assert.equal(names.length, MAX_LEAF_ENTRIES + 601);
    checkHiveLayout(e.toBytes());
    const { stdout } = await runTool('hivexsh', [await writeTemp(e.toBytes())], { input: 'cd P\nls\n' });
    assert.equal(stdout.trim().split('\n').length, MAX_LEAF_ENTRIES + 601);
    for (let i = 0; i < 600; i++) assert.equal(e.deleteKey(`P\\m${i}`), true);
    assert.equal(e.deleteKey('P\\k9999'), true);
    // Leaves are not merged (neither does Windows); emptying the first one leaves an ri of one
    // leaf, which is replaced by that leaf.
    assert.equal(e.hive.key('P')?.subkeyCount, MAX_LEAF_ENTRIES);
    for (let i = 0; i < 300; i++) e.deleteKey(`P\\k${String(i).padStart(4, '0')}`);
    assert.equal(listKind(), 'lh');
    assert.equal(e.hive.key('P')?.subkeyCount, MAX_LEAF_ENTRIES - 300);
    assert.deepEqual(checkHiveLayout(e.toBytes()).unreachable, []);
  });

  test('matches names case-insensitively and keeps the first spelling', () => {
    const e = editHive(createEmptyHive(), { now: fixedNow });
    assert.equal(e.createKey('Software\\Ключ'), true);
    assert.equal(e.createKey('SOFTWARE\\КЛЮЧ'), false);
    assert.equal(e.hive.key('software\\ключ')?.name, 'Ключ');
    assert.equal(e.hive.root.subkeys()[0].name, 'Software');
  });

  test('refuses to delete the root key', () => {
    const e = editHive(createEmptyHive());
    assert.throws(
      () => e.deleteKey('\\'),
      (err: unknown) => err instanceof InputError && err.code === 'DF_HIVE_DELETE_ROOT',
    );
  });
});

describe('values', () => {
  test('stores big data as db segments in v1.5 and reads it back through hivexget', async () => {
    const e = editHive(createEmptyHive(), { now: fixedNow });
    const data = fill(16344 * 3 + 5);
    e.setValue('K', 'blob', 3, data);
    e.setValue('K', 'exact', 3, fill(16344));
    const vk = e.hive.key('K')?.value('blob')?.record;
    const cell = e.hive.cells.cell(vk?.dataOffset as number, 'db');
    assert.equal(String.fromCharCode(cell[0], cell[1]), 'db');
    assert.equal(cell[2] | (cell[3] << 8), 4);
    const file = await writeTemp(e.toBytes());
    const { stdout } = await runTool('hivexget', [file, '\\K', 'blob'], { binary: true });
    assert.equal(sha(stdout), sha(data));
    // Deleting it frees db, segment list and segments: nothing stays allocated and unreachable.
    e.deleteValue('K', 'blob');
    assert.deepEqual(checkHiveLayout(e.toBytes()).unreachable, []);
  });

  test('stores big data in a single cell in a v1.3 hive', async () => {
    const e = editHive(await corpusBytes('python-registry/UNICODE_TESTS'), { now: fixedNow });
    assert.equal(e.minorVersion, 3);
    e.setValue('K', 'blob', 3, fill(40000));
    const vk = e.hive.key('K')?.value('blob')?.record;
    assert.ok((e.hive.cells.cell(vk?.dataOffset as number, 'data').length as number) >= 40000);
    assert.deepEqual(e.hive.key('K')?.value('blob')?.raw, fill(40000));
  });

  test('writes names outside Latin-1 as UTF-16 and sets the ASCII flag only for Latin-1', () => {
    const e = editHive(createEmptyHive(), { now: fixedNow });
    e.setValue('K', 'Größe', 4, fill(4));
    e.setValue('K', '値', 4, fill(4));
    const key = e.hive.key('K');
    assert.equal(key?.value('größe')?.record.flags, 1);
    assert.equal(key?.value('値')?.record.flags, 0);
    assert.equal(key?.record.largestValueNameLength, 10);
  });
});

describe('security records', () => {
  test('frees an sk when the last key using it is deleted', async () => {
    const bytes = await corpusBytes('plaso/SAM');
    const hive = openHive(bytes);
    // A key whose subtree holds every reference to its sk.
    const refs = new Map<number, number>();
    for (const key of walkKeys(hive)) refs.set(key.record.securityOffset, (refs.get(key.record.securityOffset) ?? 0) + 1);
    let target: { path: string; sk: number } | undefined;
    for (const key of walkKeys(hive)) {
      if (!key.parent || key.record.securityOffset === key.parent.record.securityOffset) continue;
      let inside = 0;
      for (const k of walkKeys(hive, key)) if (k.record.securityOffset === key.record.securityOffset) inside++;
      if (inside === refs.get(key.record.securityOffset)) {
        target = { path: key.path, sk: key.record.securityOffset };
        break;
      }
    }
    assert.ok(target, 'the SAM has a key with an sk of its own');
    const skCount = (b: Uint8Array) => new Set([...walkKeys(openHive(b))].map((k) => k.record.securityOffset)).size;
    const before = skCount(bytes);
    const e = editHive(bytes, { now: fixedNow });
    assert.equal(e.deleteKey(target.path), true);
    const out = e.toBytes();
    assert.equal(skCount(out), before - 1);
    assert.throws(() => parseSecurity(openHive(out).cells.cell(target.sk, 'sk'), target.sk));
    checkHiveLayout(out);
  });

  test('new keys share the parent sk and raise its reference count', () => {
    const e = editHive(createEmptyHive(), { now: fixedNow });
    const sk = e.hive.root.record.securityOffset;
    const refs = () => new DataView(e.hive.cells.cell(sk, 'sk').buffer, e.hive.cells.cell(sk, 'sk').byteOffset).getUint32(12, true);
    assert.equal(refs(), 1);
    e.createKey('A\\B\\C');
    assert.equal(refs(), 4);
    assert.equal(e.hive.key('A\\B\\C')?.record.securityOffset, sk);
    e.deleteKey('A');
    assert.equal(refs(), 1);
  });
});

describe('safety', () => {
  test('refuses a dirty hive with DF_HIVE_DIRTY', async () => {
    const bytes = Uint8Array.from(await corpusBytes('hivex/minimal'));
    new DataView(bytes.buffer).setUint32(8, 12345, true);
    assert.throws(
      () => editHive(bytes),
      (err: unknown) => err instanceof InputError && err.code === 'DF_HIVE_DIRTY',
    );
    const file = await writeTemp(await corpusBytes('regipy/SECURITY.xz'));
    await assert.rejects(openHiveForEdit(file), (err: unknown) => err instanceof InputError && err.code === 'DF_HIVE_DIRTY' && /reg recover/.test(err.message));
  });

  test('never changes the input array', async () => {
    const bytes = await corpusBytes('hivex/minimal');
    const before = sha(bytes);
    const e = editHive(bytes, { now: fixedNow });
    e.createKey('A\\B');
    e.setValue('A', 'x', 3, fill(50000));
    e.deleteKey('A\\B');
    await e.save(join(tmp.path, 'saved.hiv'));
    assert.equal(sha(bytes), before);
  });

  test('openHiveForEdit (read into the working copy) edits exactly as editHive over a copy, and leaves the file alone', async () => {
    const original = await corpusBytes('hivex/minimal');
    const file = await writeTemp(original);
    const edits = (e: ReturnType<typeof editHive>) => {
      // Enough new data to outgrow the spare room read with the file (bins appended, the
      // working copy grown), then frees, a big value, and a refused edit.
      for (let i = 0; i < 1500; i++) e.setValue(`Many\\K${i % 60}`, `v${i}`, 3, fill(100 + (i % 300)));
      e.setValue('Big', 'blob', 3, fill(70_000));
      e.deleteKey('Many\\K7');
      assert.throws(() => e.deleteKey(''));
    };
    const a = await openHiveForEdit(file, { now: fixedNow });
    edits(a);
    const b = editHive(original, { now: fixedNow });
    edits(b);
    assert.equal(sha(a.toBytes()), sha(b.toBytes()));
    assert.equal(sha(await readFile(file)), sha(original));
    checkHiveLayout(a.toBytes());
  });

  test('rolls a failed edit back completely', () => {
    const e = editHive(createEmptyHive(), { now: fixedNow });
    e.createKey('Keep');
    e.setValue('Keep', 'v', 3, fill(300));
    let calls = 0;
    const failing = editHive(e.toBytes(), {
      now: () => {
        // Fails halfway through creating the second of three new keys.
        if (++calls === 3) throw new Error('clock broke');
        return fixedNow();
      },
    });
    const failingSnapshot = sha(failing.hive.cells.bytes);
    const failingFree = JSON.stringify(failing.freeCells());
    assert.throws(() => failing.createKey('N1\\N2\\N3'), /clock broke/);
    assert.equal(sha(failing.hive.cells.bytes), failingSnapshot);
    assert.equal(JSON.stringify(failing.freeCells()), failingFree);
    // Still usable afterwards.
    assert.equal(failing.createKey('N1\\N2\\N3'), true);
    assert.ok(failing.hive.key('n1\\n2\\n3'));
    checkHiveLayout(failing.toBytes());
  });
});

describe('output', () => {
  test('advances both sequence numbers and sets time and checksum for hivex', async () => {
    const input = await corpusBytes('hivex/minimal');
    const seq = new DataView(input.buffer, input.byteOffset).getUint32(4, true);
    const e = editHive(input, { now: fixedNow });
    e.createKey('X');
    const file = join(tmp.path, 'out-header.hiv');
    await e.save(file);
    const header = await hivexHeader(file);
    assert.equal(header.seq1, seq + 1);
    assert.equal(header.seq2, seq + 1);
    assert.equal(header.checksum, header.calculated);
    assert.equal(header.lastModified, BigInt(fixedNow().getTime() + 11644473600000) * 10000n);
    assert.equal(openHive(await readFile(file)).dirty, false);
  });

  test('createEmptyHive makes a hive hivexsh and regfinfo open', async () => {
    const file = await writeTemp(createEmptyHive({ rootName: 'CMI-CreateHive{TEST}' }));
    const info = await regfinfo(file);
    assert.equal(info.version, '1.5');
    assert.equal(info.fileType, 'Registry');
    const { stdout } = await runTool('hivexsh', [file], { input: 'ls\nlsval\n' });
    assert.equal(stdout.trim(), '');
    const header = await hivexHeader(file);
    assert.equal(header.checksum, header.calculated);
    assert.equal(openHive(await readFile(file)).root.name, 'CMI-CreateHive{TEST}');
  });
});
