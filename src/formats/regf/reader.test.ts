// Behaviour of the reader's building blocks, checked against facts Windows wrote into the
// corpus hives (checksums, lh hashes, lf hints, sort order, sk reference counts) and against
// hand-made inputs for the edge cases the corpus lacks (checksum special cases, odd data sizes).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { corpusPath, hasCorpus, makeTempDir } from '../../../test/helpers/corpus.js';
import { FormatError } from '../../errors.js';
import { computeBaseBlockChecksum, parseBaseBlock } from './base-block.js';
import { REG_TYPE, regTypeName } from './constants.js';
import { type Hive, openHive } from './hive.js';
import { lhHash, upcaseName } from './names.js';
import { parseSecurity } from './security.js';
import { readSubkeyList } from './subkey-list.js';
import { listFiles, loadCorpusFile } from './test-oracles.js';
import { decodeValueData } from './value.js';
import { walkKeys } from './walk.js';

describe('base block', () => {
  test('checksum maps an XOR of 0 to 1 and of 0xFFFFFFFF to 0xFFFFFFFE', () => {
    const block = new Uint8Array(512);
    assert.equal(computeBaseBlockChecksum(block), 1);
    block.set([0xff, 0xff, 0xff, 0xff], 4);
    assert.equal(computeBaseBlockChecksum(block), 0xfffffffe);
    block.set([0x78, 0x56, 0x34, 0x12], 8);
    assert.equal(computeBaseBlockChecksum(block), (0xffffffff ^ 0x12345678) >>> 0);
  });

  test('rejects files that are not hives with DF_HIVE_NOT_REGF', () => {
    assert.throws(
      () => parseBaseBlock(new TextEncoder().encode('Windows Registry Editor Version 5.00')),
      (e: unknown) => e instanceof FormatError && e.code === 'DF_HIVE_NOT_REGF',
    );
  });
});

describe('names', () => {
  test('upper-cases one UTF-16 unit at a time, leaving ß alone', () => {
    assert.equal(upcaseName('abc_äöüß'), 'ABC_ÄÖÜß');
    assert.equal(lhHash('a'), lhHash('A'));
    assert.equal(lhHash('AB'), (37 * 0x41 + 0x42) >>> 0);
  });
});

describe('value data decoding', () => {
  test('decodes each type as documented and keeps odd sizes and unknown types as bytes', () => {
    const utf16 = (s: string) => new Uint8Array(Buffer.from(s, 'utf16le'));
    assert.equal(decodeValueData(REG_TYPE.REG_SZ, utf16('abc\u0000junk')), 'abc');
    assert.equal(decodeValueData(REG_TYPE.REG_EXPAND_SZ, utf16('%SystemRoot%')), '%SystemRoot%');
    assert.deepEqual(decodeValueData(REG_TYPE.REG_MULTI_SZ, utf16('a\u0000bc\u0000\u0000')), ['a', 'bc']);
    assert.deepEqual(decodeValueData(REG_TYPE.REG_MULTI_SZ, new Uint8Array(0)), []);
    assert.equal(decodeValueData(REG_TYPE.REG_DWORD, new Uint8Array([1, 2, 3, 0x84])), 0x84030201);
    assert.equal(decodeValueData(REG_TYPE.REG_DWORD_BIG_ENDIAN, new Uint8Array([0x84, 3, 2, 1])), 0x84030201);
    assert.equal(decodeValueData(REG_TYPE.REG_QWORD, new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0x80])), 0x8000000000000001n);
    assert.deepEqual(decodeValueData(REG_TYPE.REG_DWORD, new Uint8Array([1, 2])), new Uint8Array([1, 2]));
    assert.deepEqual(decodeValueData(0x100, new Uint8Array([9])), new Uint8Array([9]));
    assert.equal(regTypeName(REG_TYPE.REG_QWORD), 'REG_QWORD');
    assert.equal(regTypeName(0x100), 'REG_UNKNOWN_0x100');
  });
});

describe('corpus invariants Windows maintains', { skip: !hasCorpus() && 'corpus not found' }, () => {
  let tmp: { path: string; cleanup: () => Promise<void> };
  const hives = new Map<string, Hive>();
  before(async () => {
    tmp = await makeTempDir('regf-reader-');
    for (const file of listFiles(corpusPath('registry'))) {
      if (/corrupt/.test(file)) continue;
      const { bytes } = await loadCorpusFile(file, tmp.path);
      // Stored checksums were written by Windows (or hivex); ours must reproduce every one.
      assert.equal(computeBaseBlockChecksum(bytes), parseBaseBlock(bytes).checksum, file);
      if (parseBaseBlock(bytes).fileType === 0) hives.set(file.split('/').slice(-2).join('/'), openHive(bytes, file));
    }
  });
  after(async () => tmp.cleanup());

  test('lh hashes and lf hints stored by Windows match the child names, and lists are sorted by upper-cased name', () => {
    let hashes = 0;
    let hints = 0;
    for (const hive of hives.values()) {
      for (const key of walkKeys(hive)) {
        if (key.subkeyCount === 0) continue;
        const entries = readSubkeyList(hive.cells, key.record.subkeyListOffset);
        const leafKind = String.fromCharCode(...hive.cells.cell(key.record.subkeyListOffset, 'list').subarray(0, 2));
        const names = key.subkeys().map((k) => k.name);
        for (let i = 0; i < entries.length; i++) {
          const hint = entries[i].hint;
          if (hint === undefined) continue;
          if (hive.header.minorVersion >= 5 && leafKind !== 'lf') {
            assert.equal(hint, lhHash(names[i]), `lh hash of ${names[i]}`);
            hashes++;
          } else if (leafKind === 'lf') {
            // lf hint: the first four name characters as bytes, zero-padded (ASCII names only).
            const expect = Buffer.alloc(4);
            Buffer.from(names[i].slice(0, 4), 'latin1').copy(expect);
            if (/^[\x20-\x7e]*$/.test(names[i])) assert.equal(hint, expect.readUInt32LE(0), `lf hint of ${names[i]}`);
            hints++;
          }
        }
        const upper = names.map(upcaseName);
        for (let i = 1; i < upper.length; i++) assert.ok(upper[i - 1] < upper[i], `${key.path}: ${upper[i - 1]} before ${upper[i]}`);
      }
    }
    assert.ok(hashes > 1000 && hints > 1000, `checked ${hashes} hashes and ${hints} hints`);
  });

  test('every key has a self-relative security descriptor and each sk reference count equals its users', () => {
    for (const [label, hive] of hives) {
      const users = new Map<number, number>();
      for (const key of walkKeys(hive)) {
        const sd = key.securityDescriptor;
        assert.ok(sd && sd.length >= 20, `${label} ${key.path}`);
        assert.equal(sd[0], 1, 'SECURITY_DESCRIPTOR revision 1');
        assert.ok((sd[2] | (sd[3] << 8)) & 0x8000, 'SE_SELF_RELATIVE');
        users.set(key.record.securityOffset, (users.get(key.record.securityOffset) ?? 0) + 1);
      }
      for (const [offset, count] of users) {
        const sk = parseSecurity(hive.cells.cell(offset, 'sk'), offset);
        assert.equal(sk.referenceCount, count, `${label}: sk at ${offset} has ${sk.referenceCount} refs, ${count} users`);
      }
    }
  });

  test('looks keys and values up by path case-insensitively, with "" as the default value', () => {
    const system = hives.get('regipy/SYSTEM.xz');
    assert.ok(system);
    const lsa = system.key('controlset001\\CONTROL\\lsa');
    assert.equal(lsa?.path, 'ControlSet001\\Control\\Lsa');
    assert.equal(lsa?.open('jd')?.className, '67cd88ed');
    assert.equal(system.key('\\Select\\')?.value('current')?.data, 1);
    assert.equal(system.key('ControlSet001\\NoSuchKey'), undefined);
    assert.equal(system.root.value('nope'), undefined);
    const events = hives.get('regipy/NTUSER.DAT.xz')?.key('AppEvents\\EventLabels\\Close');
    assert.equal(events?.value('')?.name, '');
    assert.equal(events?.value('')?.typeName, 'REG_SZ');
    assert.equal(events?.value('')?.data, 'Close Program');
    assert.ok(events?.lastWritten?.startsWith('20'));
  });

  test('reads inline data and big-data (db) values', () => {
    const rlen = hives.get('hivex/rlenvalue_test_hive');
    const three = rlen?.key('ModerateValueParent')?.value('3Bytes');
    assert.equal(three?.record.dataInline, true);
    assert.deepEqual(three?.raw, new TextEncoder().encode('012'));
    const system = hives.get('regipy/SYSTEM.xz');
    const big = system?.key('ControlSet001\\Control\\Session Manager\\AppCompatCache')?.value('AppCompatCache');
    assert.ok(big);
    assert.equal(big.size, 56256);
    assert.equal(String.fromCharCode(...system!.cells.cell(big.record.dataOffset, 'db').subarray(0, 2)), 'db');
    assert.equal(big.raw.length, 56256);
  });
});
