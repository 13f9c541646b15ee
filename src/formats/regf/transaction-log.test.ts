// Transaction-log recognition and summaries on the corpus logs, checked against regfinfo's file
// type and against the Marvin32 hashes Windows itself wrote into every HvLE entry.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { corpusPath, hasCorpus, makeTempDir } from '../../../test/helpers/corpus.js';
import { FormatError } from '../../errors.js';
import { openHive } from './hive.js';
import { marvin32 } from './marvin32.js';
import { loadCorpusFile, regfinfo } from './test-oracles.js';
import { isTransactionLog, summarizeTransactionLog } from './transaction-log.js';

describe('transaction logs', { skip: !hasCorpus() && 'corpus not found' }, () => {
  let tmp: { path: string; cleanup: () => Promise<void> };
  before(async () => {
    tmp = await makeTempDir('regf-log-');
  });
  after(async () => tmp.cleanup());

  test('summarizes the new-format LOG1 of the dirty NTUSER.DAT: 23 hash-valid entries from sequence 566, regfinfo agrees on type 6', async () => {
    const { bytes, diskPath } = await loadCorpusFile(corpusPath('registry/regipy/transactions_ntuser.dat.log1.xz'), tmp.path);
    assert.equal(isTransactionLog(bytes), true);
    const log = summarizeTransactionLog(bytes, 'log1');
    assert.equal((await regfinfo(diskPath)).fileType, `Transaction log (${log.fileType})`);
    assert.equal(log.format, 'new');
    assert.equal(log.seq1, 566);
    assert.equal(log.seq2, 566);
    assert.equal(log.headerConsistent, true);
    assert.equal(log.entryCount, 23);
    assert.equal(log.firstSequence, 566);
    assert.equal(log.lastSequence, 588);
    assert.ok(log.entries?.every((e) => e.hashesValid && e.size % 512 === 0));
    // The hive (seq 567/566) needs the entries from its primary sequence number on.
    const hive = await loadCorpusFile(corpusPath('registry/regipy/transactions_NTUSER.DAT.xz'), tmp.path);
    const primary = openHive(hive.bytes).header.primarySequence;
    assert.ok(log.entries?.some((e) => e.sequence === primary));
  });

  test('summarizes the LOG2: one entry with sequence 562', async () => {
    const { bytes, diskPath } = await loadCorpusFile(corpusPath('registry/regipy/transactions_ntuser.dat.log2.xz'), tmp.path);
    const log = summarizeTransactionLog(bytes, 'log2');
    assert.equal((await regfinfo(diskPath)).fileType, 'Transaction log (6)');
    assert.deepEqual([log.seq1, log.seq2, log.entryCount, log.firstSequence, log.lastSequence], [562, 562, 1, 562, 562]);
  });

  test('summarizes the old-format plaso log: type 1, its DIRT bitmap, and that the 1 KiB copy lacks the pages', async () => {
    const { bytes, diskPath } = await loadCorpusFile(corpusPath('registry/plaso/ntuser.dat.LOG'), tmp.path);
    const log = summarizeTransactionLog(bytes, 'ntuser.dat.LOG');
    assert.equal((await regfinfo(diskPath)).fileType, 'Transaction log (1)');
    assert.equal(log.format, 'old');
    assert.equal(log.fileType, 1);
    assert.equal(log.seq1, log.seq2);
    // Bitmap bytes are whole 0x00/0xFF bytes (Windows tracks 4 KiB blocks), so a multiple of 8.
    assert.ok((log.dirtyPageCount ?? 0) > 0 && (log.dirtyPageCount ?? 0) % 8 === 0);
    assert.equal(log.complete, false);
  });

  test('a flipped byte inside an HvLE entry fails its hash and ends the usable run there', async () => {
    const { bytes } = await loadCorpusFile(corpusPath('registry/regipy/transactions_ntuser.dat.log1.xz'), tmp.path);
    const damaged = bytes.slice();
    const second = summarizeTransactionLog(bytes).entries?.[1];
    assert.ok(second);
    damaged[second.offset + 100] ^= 0xff;
    const log = summarizeTransactionLog(damaged);
    assert.equal(log.entryCount, 1);
    assert.match(log.stoppedBecause ?? '', /hash/);
  });

  test('refuses a primary hive as a log', async () => {
    const { bytes } = await loadCorpusFile(corpusPath('registry/hivex/minimal'), tmp.path);
    assert.equal(isTransactionLog(bytes), false);
    assert.throws(
      () => summarizeTransactionLog(bytes),
      (e: unknown) => e instanceof FormatError && e.code === 'DF_HIVE_NOT_LOG',
    );
  });
});

test('marvin32 of empty input with seed 0 is stable and seed-dependent', () => {
  assert.notEqual(marvin32(new Uint8Array(0), 0n), marvin32(new Uint8Array(0), 1n));
  assert.notEqual(marvin32(new Uint8Array([1, 2, 3]), 0n), marvin32(new Uint8Array([1, 2, 3, 0]), 0n));
});
