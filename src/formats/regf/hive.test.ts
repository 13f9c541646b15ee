// Reads every corpus hive and compares what we see with independent tools: hivex (through its
// Perl binding and hivexregedit/hivexsh), and libregf (regfinfo, regfexport).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { corpusPath, hasCorpus, makeTempDir } from '../../../test/helpers/corpus.js';
import { DeployForgeError, FormatError } from '../../errors.js';
import { isDirty } from './base-block.js';
import { openHive } from './hive.js';
import { summarizeHive } from './summary.js';
import { displayName, firstDifference, hivexDump, hivexHeader, hivexregeditCounts, listFiles, loadCorpusFile, ourDump, regfexportFacts, regfinfo } from './test-oracles.js';
import { isTransactionLog } from './transaction-log.js';
import { walkKeys } from './walk.js';

const CORRUPT = new Set(['plaso/corrupt_sub_key_list.hiv', 'regipy/corrupted_system_hive.xz']);

describe('regf reader against hivex and libregf on every corpus hive', { skip: !hasCorpus() && 'corpus not found' }, () => {
  let tmp: { path: string; cleanup: () => Promise<void> };
  before(async () => {
    tmp = await makeTempDir('regf-hive-');
  });
  after(async () => tmp.cleanup());

  const files = hasCorpus() ? listFiles(corpusPath('registry')) : [];
  for (const file of files) {
    const label = displayName(file);
    if (CORRUPT.has(label)) continue;
    const name = /\.log\d?(\.xz)?$/i.test(file)
      ? `${label}: is refused by openHive because it is a transaction log`
      : `${label}: matches hivex key by key and value by value, and libregf's counts, classes and version`;
    test(name, async () => {
      const { bytes, diskPath } = await loadCorpusFile(file, tmp.path);
      if (isTransactionLog(bytes)) {
        assert.throws(
          () => openHive(bytes, label),
          (e: unknown) => e instanceof FormatError && e.code === 'DF_HIVE_IS_LOG',
        );
        return;
      }
      const hive = openHive(bytes, label);
      const summary = summarizeHive(hive);

      // hivex: header fields it prints in debug mode.
      const hx = await hivexHeader(diskPath);
      assert.equal(hive.header.primarySequence, hx.seq1);
      assert.equal(hive.header.secondarySequence, hx.seq2);
      assert.equal(hive.header.lastWrittenRaw, hx.lastModified);
      assert.equal(hive.header.rootCellOffset, hx.rootOffset);
      assert.equal(hive.header.hiveBinsDataSize, hx.endOfLastPage);
      assert.equal(hive.header.checksum, hx.checksum);
      // hivex's checksum skips the 0/0xFFFFFFFF special cases, which no corpus hive hits.
      assert.equal(hive.header.computedChecksum, hx.calculated);
      assert.equal(summary.dirty, hx.seq1 !== hx.seq2 || hx.checksum !== hx.calculated);

      // hivexregedit: key and value totals.
      const counts = await hivexregeditCounts(diskPath);
      assert.equal(summary.keyCount, counts.keys, 'key count vs hivexregedit');
      assert.equal(summary.valueCount, counts.values, 'value count vs hivexregedit');

      // hivex: every key path, value name, type, raw data and decoded data, in order.
      const ours = ourDump(hive);
      const theirs = await hivexDump(diskPath);
      assert.equal(ours.length, summary.keyCount + summary.valueCount);
      assert.deepEqual(firstDifference(ours, theirs), undefined);

      // libregf: version, root name, key/value totals and class names.
      const info = await regfinfo(diskPath);
      assert.equal(summary.version, info.version);
      assert.equal(info.fileType, 'Registry');
      assert.equal(summary.rootName, info.rootName);
      const facts = await regfexportFacts(diskPath);
      assert.equal(summary.keyCount, facts.keys, 'key count vs regfexport');
      assert.equal(summary.valueCount, facts.values, 'value count vs regfexport');
      const ourClasses: [number, string][] = [];
      let ordinal = 0;
      for (const key of walkKeys(hive)) {
        const cls = key.className;
        if (cls !== null && cls !== '') ourClasses.push([ordinal, cls]);
        ordinal++;
      }
      assert.deepEqual(ourClasses, facts.classes, 'class names vs regfexport');
    });
  }

  test('plaso corrupt_sub_key_list.hiv: the root opens but listing its subkeys is a FormatError, as hivex fails node_children', async () => {
    const { bytes, diskPath } = await loadCorpusFile(corpusPath('registry/plaso/corrupt_sub_key_list.hiv'), tmp.path);
    const hive = openHive(bytes, 'corrupt_sub_key_list.hiv');
    assert.equal(hive.root.name, 'TestKey');
    assert.throws(
      () => hive.root.subkeys(),
      (e: unknown) => e instanceof FormatError && e.code === 'DF_HIVE_BAD_CELL',
    );
    assert.throws(() => summarizeHive(hive), FormatError);
    await assert.rejects(hivexDump(diskPath));
  });

  test('regipy corrupted_system_hive: header and root read, the walk stops with a FormatError where hivex refuses to open it', async () => {
    const { bytes, diskPath } = await loadCorpusFile(corpusPath('registry/regipy/corrupted_system_hive.xz'), tmp.path);
    const hive = openHive(bytes, 'corrupted_system_hive');
    assert.equal(hive.header.primarySequence, 731);
    assert.equal(hive.dirty, false);
    assert.equal(hive.cells.binError?.code, 'DF_HIVE_BAD_BIN');
    assert.throws(
      () => [...walkKeys(hive)],
      (e: unknown) => e instanceof DeployForgeError && e.code === 'DF_HIVE_BAD_CELL',
    );
    await assert.rejects(hivexDump(diskPath));
  });

  test('flags the transactions NTUSER.DAT (seq 567/566) and SECURITY (107/106) as dirty and clean hives as clean', async () => {
    const dirty = await loadCorpusFile(corpusPath('registry/regipy/transactions_NTUSER.DAT.xz'), tmp.path);
    const h = openHive(dirty.bytes);
    assert.equal(h.header.primarySequence, 567);
    assert.equal(h.header.secondarySequence, 566);
    assert.equal(h.dirty, true);
    assert.equal(isDirty(h.header), true);
    const security = await loadCorpusFile(corpusPath('registry/regipy/SECURITY.xz'), tmp.path);
    assert.equal(openHive(security.bytes).dirty, true);
    const clean = await loadCorpusFile(corpusPath('registry/regipy/SAM.xz'), tmp.path);
    assert.equal(openHive(clean.bytes).dirty, false);
  });
});
