// Tests of the hive structure checker: what it says about every corpus hive (clean Windows hives,
// dirty ones, logs and the two deliberately corrupt samples), one targeted corruption of a real
// hive per invariant, random trees written by buildHive, and how much memory it needs on a large
// hive. Random byte-level damage is covered by check-fuzz.test.ts.
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { Worker } from 'node:worker_threads';
import fc from 'fast-check';
import { corpusPath, hasCorpus } from '../../../test/helpers/corpus.js';
import { ToolError } from '../../errors.js';
import { hasTool, runTool } from '../../util/exec.js';
import { buildHive, type HiveTreeKey, type HiveTreeValue } from './build-hive.js';
import { checkHive, formatCheckReport, type HiveCheckReport } from './check.js';
import { openHive } from './hive.js';
import { upcaseName } from './names.js';
import { walkKeys } from './walk.js';

const noCorpus = !hasCorpus() && 'corpus not found';

async function loadCorpus(rel: string): Promise<Uint8Array> {
  const path = rel.startsWith('/') ? rel : corpusPath(rel);
  if (path.endsWith('.xz')) {
    const { stdout } = await runTool('xz', ['-dc', path], { binary: true, maxBuffer: 256 * 1024 * 1024 });
    return new Uint8Array(stdout.buffer, stdout.byteOffset, stdout.byteLength);
  }
  const { readFile } = await import('node:fs/promises');
  const b = await readFile(path);
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

function listFiles(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => (statSync(join(dir, name)).isDirectory() ? listFiles(join(dir, name)) : [join(dir, name)]));
}

const codes = (r: HiveCheckReport) => r.problems.map((p) => p.code);

// Little-endian access at hive-bins data offsets (file offset = 4096 + offset); +4 skips the
// cell size to reach the record.
const dv = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
const rec = (cell: number, field: number) => 4096 + cell + 4 + field;
const getU32 = (b: Uint8Array, file: number) => dv(b).getUint32(file, true);
const setU32 = (b: Uint8Array, file: number, v: number) => dv(b).setUint32(file, v >>> 0, true);

/** The cells of an intact hive in file order. */
function tileCells(b: Uint8Array): { offset: number; size: number; free: boolean }[] {
  const out: { offset: number; size: number; free: boolean }[] = [];
  const dataSize = getU32(b, 40);
  for (let bin = 0; bin < dataSize; bin += getU32(b, 4096 + bin + 8)) {
    const end = bin + getU32(b, 4096 + bin + 8);
    for (let at = bin + 32; at < end; ) {
      const raw = dv(b).getInt32(4096 + at, true);
      out.push({ offset: at, size: Math.abs(raw), free: raw > 0 });
      at += Math.abs(raw);
    }
  }
  return out;
}

describe('corpus hives', { skip: noCorpus }, () => {
  const reports = new Map<string, HiveCheckReport>();
  const readerCounts = new Map<string, { keys: number; values: number }>();
  before(async () => {
    for (const path of listFiles(corpusPath('registry'))) {
      const label = path.split('/').slice(-2).join('/');
      const bytes = await loadCorpus(path);
      reports.set(label, checkHive(bytes, { name: label }));
      if (/log|corrupt/i.test(label)) continue;
      let keys = 0;
      let values = 0;
      for (const key of walkKeys(openHive(bytes, label))) {
        keys++;
        values += key.valueCount;
      }
      readerCounts.set(label, { keys, values });
    }
  });

  test('readable hives have no errors, no leaked cells and no uncoalesced free space; only the two dirty ones warn', () => {
    const dirty = new Set(['regipy/SECURITY.xz', 'regipy/transactions_NTUSER.DAT.xz']);
    assert.ok(readerCounts.size >= 15, `${readerCounts.size} readable hives`);
    for (const [label, counts] of readerCounts) {
      const report = reports.get(label) as HiveCheckReport;
      assert.deepEqual(codes(report), dirty.has(label) ? ['DF_CHECK_DIRTY'] : [], `${label}:\n${formatCheckReport(report)}`);
      assert.equal(report.ok, true);
      // Facts, not assumptions: Windows left no unreachable allocated cell in any of these.
      assert.equal(report.stats.leakedCells, 0, label);
      // The checker reaches exactly what the reader reaches.
      assert.equal(report.stats.keys, counts.keys, `${label} keys`);
      assert.equal(report.stats.values, counts.values, `${label} values`);
    }
    const system = reports.get('regipy/SYSTEM.xz')?.stats;
    assert.ok(system && system.keys > 30000 && system.bigDataValues === 8 && system.securityDescriptors > 100, JSON.stringify(system));
  });

  test('corrupt_sub_key_list.hiv: a subkey list entry points into the middle of a cell', () => {
    const report = reports.get('plaso/corrupt_sub_key_list.hiv') as HiveCheckReport;
    assert.equal(report.ok, false);
    const overlap = report.problems.find((p) => p.code === 'DF_CHECK_CELL_OVERLAP');
    assert.equal(overlap?.offset, 0x4480, formatCheckReport(report));
    // The key it should have reached is missing, so its sk has one user fewer than counted.
    assert.ok(codes(report).includes('DF_CHECK_SK_REFCOUNT'));
  });

  test('libregf (regfexport) fails on corrupt_sub_key_list.hiv at the same offset', async (t) => {
    if (!(await hasTool('regfexport'))) return t.skip('regfexport not installed');
    const path = corpusPath('registry/plaso/corrupt_sub_key_list.hiv');
    const stderr = await runTool('regfexport', [path]).then(
      (r) => r.stderr,
      (e: unknown) => (e instanceof ToolError ? e.stderrTail : String(e)),
    );
    assert.match(stderr, /unable to read named key at offset: 17536 \(0x00004480\)/);
  });

  test('corrupted_system_hive: zeroed pages where hive bins should be, and keys pointing into them', () => {
    const report = reports.get('regipy/corrupted_system_hive.xz') as HiveCheckReport;
    assert.equal(report.ok, false);
    assert.equal(report.problems[0].code, 'DF_CHECK_BAD_BIN_SIGNATURE');
    assert.equal(report.problems[0].offset, 0x19000);
    assert.ok(codes(report).includes('DF_CHECK_NOT_A_CELL'), formatCheckReport(report).slice(0, 2000));
    assert.equal(report.problems.length, 1000, 'capped at maxProblems');
    assert.equal(report.truncated, true);
  });

  test('transaction logs are recognised as not being hives', () => {
    for (const label of ['plaso/ntuser.dat.LOG', 'regipy/transactions_ntuser.dat.log1.xz', 'regipy/transactions_ntuser.dat.log2.xz']) {
      assert.ok(codes(reports.get(label) as HiveCheckReport).includes('DF_CHECK_BAD_FILE_TYPE'), label);
    }
  });
});

describe('targeted corruptions of real hives', { skip: noCorpus }, () => {
  let special: Uint8Array; // v1.5, lh lists, two sk records
  let hundred: Uint8Array; // v1.3, 100 subkeys in an lf list, one large free cell
  before(async () => {
    special = await loadCorpus('registry/hivex/special');
    hundred = await loadCorpus('registry/plaso/100_sub_keys.hiv');
    assert.deepEqual(codes(checkHive(special)), []);
    assert.deepEqual(codes(checkHive(hundred)), []);
  });
  const rootOf = (b: Uint8Array) => openHive(b).root;

  test('two entries of an lh list swapped: DF_CHECK_UNSORTED_LIST', () => {
    const b = special.slice();
    const list = rootOf(b).record.subkeyListOffset;
    const first = b.slice(rec(list, 4), rec(list, 12));
    b.copyWithin(rec(list, 4), rec(list, 12), rec(list, 20));
    b.set(first, rec(list, 12));
    const report = checkHive(b);
    assert.deepEqual(codes(report), ['DF_CHECK_UNSORTED_LIST']);
    assert.equal(report.problems[0].keyPath, '');
  });

  test('a wrong lh hash: DF_CHECK_BAD_LH_HASH', () => {
    const b = special.slice();
    const list = rootOf(b).record.subkeyListOffset;
    setU32(b, rec(list, 8), getU32(b, rec(list, 8)) ^ 1);
    assert.deepEqual(codes(checkHive(b)), ['DF_CHECK_BAD_LH_HASH']);
  });

  test('an sk reference count off by one: DF_CHECK_SK_REFCOUNT', () => {
    const b = hundred.slice();
    const sk = rootOf(b).record.securityOffset;
    setU32(b, rec(sk, 12), getU32(b, rec(sk, 12)) + 1);
    const report = checkHive(b);
    assert.deepEqual(codes(report), ['DF_CHECK_SK_REFCOUNT']);
    assert.equal(report.problems[0].offset, sk);
  });

  test('a cell size grown over its neighbour: DF_CHECK_CELL_OVERLAP', () => {
    const b = hundred.slice();
    const cells = tileCells(b);
    const i = cells.findIndex((c, j) => !c.free && cells[j + 1] && !cells[j + 1].free && cells[j + 1].offset === c.offset + c.size);
    const [x, y] = [cells[i], cells[i + 1]];
    dv(b).setInt32(4096 + x.offset, -(x.size + y.size), true);
    const report = checkHive(b);
    const overlap = report.problems.find((p) => p.code === 'DF_CHECK_CELL_OVERLAP');
    assert.equal(overlap?.offset, y.offset, formatCheckReport(report));
    assert.equal(report.ok, false);
  });

  test('a value whose data points at a free cell: DF_CHECK_FREE_CELL_USED (and the old data cell leaks)', () => {
    const b = hundred.slice();
    const free = tileCells(b).find((c) => c.free);
    const value = rootOf(b).subkeys()[0].values()[0];
    assert.ok(free && !value.record.dataInline);
    setU32(b, rec(value.record.offset, 8), free.offset);
    assert.deepEqual(codes(checkHive(b)), ['DF_CHECK_FREE_CELL_USED', 'DF_CHECK_LEAKED_CELL']);
  });

  test('a wrong parent pointer: DF_CHECK_BAD_PARENT', () => {
    const b = hundred.slice();
    const [first, second] = rootOf(b).subkeys();
    setU32(b, rec(first.record.offset, 16), second.record.offset);
    const report = checkHive(b);
    assert.deepEqual(codes(report), ['DF_CHECK_BAD_PARENT']);
    assert.equal(report.problems[0].keyPath, first.name);
  });

  test('a bad checksum: DF_CHECK_BAD_CHECKSUM; an XOR of 0 must be stored as 1', () => {
    const b = hundred.slice();
    b[508] ^= 1;
    assert.deepEqual(codes(checkHive(b)), ['DF_CHECK_BAD_CHECKSUM']);
    // Make the XOR of the first 127 dwords 0 through the unused RmId field at 112.
    const c = hundred.slice();
    let xor = 0;
    for (let o = 0; o < 508; o += 4) xor ^= getU32(c, o);
    setU32(c, 112, getU32(c, 112) ^ xor);
    setU32(c, 508, 1);
    assert.deepEqual(codes(checkHive(c)), []);
    setU32(c, 508, 0);
    assert.deepEqual(codes(checkHive(c)), ['DF_CHECK_BAD_CHECKSUM']);
  });

  test('a largest-subkey-name field too small: warning DF_CHECK_MAX_NAME_TOO_SMALL, still ok', () => {
    const b = hundred.slice();
    const root = rootOf(b).record.offset;
    // Only the low 16 bits are the length; the high bits are flags (Suhanov §Key node).
    setU32(b, rec(root, 52), (getU32(b, rec(root, 52)) & 0xffff0000) | 2);
    const report = checkHive(b);
    assert.deepEqual(codes(report), ['DF_CHECK_MAX_NAME_TOO_SMALL']);
    assert.equal(report.problems[0].severity, 'warning');
    assert.equal(report.ok, true);
  });

  test('two neighbouring free cells: warning DF_CHECK_FREE_NOT_COALESCED', () => {
    const b = hundred.slice();
    const free = tileCells(b).find((c) => c.free && c.size >= 16);
    assert.ok(free);
    dv(b).setInt32(4096 + free.offset, 8, true);
    dv(b).setInt32(4096 + free.offset + 8, free.size - 8, true);
    const report = checkHive(b);
    assert.deepEqual(codes(report), ['DF_CHECK_FREE_NOT_COALESCED']);
    assert.equal(report.problems[0].offset, free.offset + 8);
    assert.equal(report.ok, true);
  });

  test('an nk subkey count one too high: DF_CHECK_SUBKEY_COUNT', () => {
    const b = hundred.slice();
    const root = rootOf(b).record.offset;
    setU32(b, rec(root, 20), 101);
    assert.deepEqual(codes(checkHive(b)), ['DF_CHECK_SUBKEY_COUNT']);
  });

  test('a broken sk back link: DF_CHECK_SK_LIST_BROKEN', () => {
    const b = special.slice();
    const sk = rootOf(b).record.securityOffset;
    const next = getU32(b, rec(sk, 4));
    assert.notEqual(next, sk, 'special has two sk records');
    setU32(b, rec(next, 8), next);
    assert.ok(codes(checkHive(b)).includes('DF_CHECK_SK_LIST_BROKEN'));
  });

  test('a subkey listed twice: DF_CHECK_CELL_SHARED and DF_CHECK_DUPLICATE_KEY_NAME, no endless walk', () => {
    const b = special.slice();
    const list = rootOf(b).record.subkeyListOffset;
    b.copyWithin(rec(list, 12), rec(list, 4), rec(list, 12));
    const found = codes(checkHive(b));
    assert.ok(found.includes('DF_CHECK_CELL_SHARED') && found.includes('DF_CHECK_DUPLICATE_KEY_NAME'), found.join());
  });

  test('maxProblems caps the list and formatCheckReport prints one line per problem', () => {
    const b = hundred.slice(0, 4096 + 8192);
    const report = checkHive(b, { name: 'cut', maxProblems: 3 });
    assert.equal(report.problems.length, 3);
    assert.equal(report.truncated, true);
    assert.equal(report.ok, false);
    const lines = formatCheckReport(report).split('\n');
    assert.equal(lines.length, 4);
    assert.match(lines[0], /^cut: error DF_CHECK_TRUNCATED at 0x28: /);
    assert.match(formatCheckReport(checkHive(hundred, { name: 'x' })), /^x: ok \(101 keys, 100 values\)$/);
  });
});

describe('hives written by buildHive', () => {
  const nameArb = fc.string({ unit: fc.constantFrom('a', 'B', 'z', '_', '1', ' ', 'ä', 'ß', 'é', 'Ω', '中', '\u00ff'), minLength: 1, maxLength: 6 });
  const dataArb = fc.oneof(
    { weight: 8, arbitrary: fc.uint8Array({ maxLength: 40 }) },
    { weight: 1, arbitrary: fc.integer({ min: 16340, max: 40000 }).map((n) => new Uint8Array(n).fill(0x5a)) },
  );
  const valueArb: fc.Arbitrary<HiveTreeValue> = fc.record({ name: fc.oneof(fc.constant(''), nameArb), type: fc.constantFrom(1, 3, 7, 0x100), data: dataArb });
  const keyArb = (depth: number): fc.Arbitrary<HiveTreeKey> =>
    fc.record({
      name: nameArb,
      className: fc.option(nameArb, { nil: undefined }),
      values: fc.uniqueArray(valueArb, { selector: (v) => upcaseName(v.name), maxLength: 4 }),
      subkeys: depth === 0 ? fc.constant([]) : fc.uniqueArray(keyArb(depth - 1), { selector: (k) => upcaseName(k.name), maxLength: depth > 2 ? 8 : 3 }),
    });

  test('random trees in every format version check clean, with no problems at all', () => {
    fc.assert(
      fc.property(keyArb(3), fc.constantFrom(3, 4, 5, 6) as fc.Arbitrary<3 | 4 | 5 | 6>, (tree, minorVersion) => {
        const report = checkHive(buildHive(tree, { minorVersion }));
        assert.deepEqual(report.problems, [], formatCheckReport(report));
        assert.equal(report.stats.leakedCells, 0);
      }),
      { numRuns: 30, seed: 0xc4ec },
    );
  });

  test('keys with more subkeys than one leaf holds (ri lists) check clean', () => {
    const subkeys = Array.from({ length: 1200 }, (_, i) => ({ name: `Key${String(i).padStart(4, '0')}é` }));
    for (const minorVersion of [3, 5] as const) {
      const report = checkHive(buildHive({ name: 'R', subkeys }, { minorVersion }));
      assert.deepEqual(report.problems, [], formatCheckReport(report));
      assert.equal(report.stats.keys, 1201);
    }
  });
});

// A worker with a capped V8 heap gives a hard ceiling on the checker's peak live objects,
// independent of when the GC happens to run; array buffers (the hive and the checker's two slot
// maps) live outside that heap and are measured separately. Both bounds are loose on purpose.
const MEMORY_WORKER = `
  const { parentPort, workerData } = require('node:worker_threads');
  // The worker has no TypeScript loader of its own; register tsx's before importing the checker.
  import(workerData.tsx).then(({ register }) => { register(); return import(workerData.module); }).then(({ checkHive }) => {
    const bytes = new Uint8Array(workerData.buffer);
    const before = process.memoryUsage();
    const report = checkHive(bytes);
    const after = process.memoryUsage();
    parentPort.postMessage({ ok: report.ok, keys: report.stats.keys, buffers: after.arrayBuffers - before.arrayBuffers, heap: after.heapUsed - before.heapUsed });
  });
`;

test('memory: checking an 11 MB hive stays within a small multiple of its size', { skip: noCorpus }, async () => {
  const bytes = await loadCorpus('registry/regipy/SYSTEM.xz');
  const shared = new SharedArrayBuffer(bytes.length);
  new Uint8Array(shared).set(bytes);
  const heapLimitMb = Math.ceil((4 * bytes.length) / 2 ** 20); // ≈ 45 MB for 11.8 MB of hive
  const worker = new Worker(MEMORY_WORKER, {
    eval: true,
    workerData: { buffer: shared, module: new URL('./check.ts', import.meta.url).href, tsx: import.meta.resolve('tsx/esm/api') },
    resourceLimits: { maxOldGenerationSizeMb: heapLimitMb, maxYoungGenerationSizeMb: 16 },
  });
  const result = await new Promise<{ ok: boolean; keys: number; buffers: number; heap: number }>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject); // ERR_WORKER_OUT_OF_MEMORY when the ceiling is hit
  });
  await worker.terminate();
  console.log(`# ${bytes.length}-byte hive, ${heapLimitMb} MB heap cap: ${JSON.stringify(result)}`);
  assert.equal(result.ok, true);
  assert.ok(result.keys > 30000);
  // The slot maps take 2 bytes per 8 bytes of hive (a quarter of its size); nothing else is a buffer.
  assert.ok(result.buffers <= bytes.length / 2, `array buffers grew by ${result.buffers}`);
});
