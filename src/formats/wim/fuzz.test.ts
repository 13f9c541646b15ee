// Fuzzes the WIM readers with fast-check: real WIM, ESD, SWM and PPKG files with random byte
// overwrites (mostly in the header, the XML and the blob table), field-sized edits of header
// fields and truncations. Every variant must parse or throw a DeployForgeError, and finish.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { corpusPath, makeTempDir } from '../../../test/helpers/corpus.js';
import { DeployForgeError } from '../../errors.js';
import { BufferSource } from '../../util/byte-source.js';
import { runTool } from '../../util/exec.js';
import { readPpkgInfo } from '../ppkg/package-info.js';
import { readWimHeader, WIM_HEADER_SIZE } from './header.js';
import { verifyWimIntegrity } from './integrity.js';
import { openWim } from './wim-file.js';

const RUNS = 1200;
const PER_INPUT_MS = 2000;

interface Region {
  start: number;
  length: number;
}

/** Where the interesting bytes of a real file are, read with our own (unfuzzed) parser. */
async function regionsOf(bytes: Uint8Array): Promise<{ header: Region; xml: Region; blobs: Region }> {
  const header = await readWimHeader(new BufferSource(bytes));
  return {
    header: { start: 0, length: WIM_HEADER_SIZE },
    xml: { start: header.xmlData.offset, length: header.xmlData.sizeInWim },
    blobs: { start: header.blobTable.offset, length: header.blobTable.sizeInWim },
  };
}

// Header fields worth hitting with whole-field values (offsets from header.h).
// Each reshdr (0x30, 0x48, 0x60, 0x7c) is hit at its size, at size-high + flag byte, at its
// offset (both halves) and at its original size.
const RESHDRS = [0x30, 0x48, 0x60, 0x7c];
const FIELDS_32 = [0x08, 0x0c, 0x10, 0x14, 0x2c, 0x78, ...RESHDRS.flatMap((r) => [r, r + 4, r + 8, r + 12, r + 16])];
/** Byte values that flip flags and sizes in interesting ways, mixed with arbitrary ones. */
const BYTE = fc.oneof(fc.constantFrom(0x00, 0xff, 0x01, 0x02, 0x04, 0x08, 0x10, 0x7f, 0x80), fc.integer({ min: 0, max: 255 }));
const FIELDS_16 = [0x28, 0x2a];

const mutation = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      type: fc.constant('byte' as const),
      region: fc.constantFrom('header' as const, 'xml' as const, 'blobs' as const, 'any' as const),
      at: fc.nat(),
      value: BYTE,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      type: fc.constant('field' as const),
      field: fc.constantFrom(...FIELDS_32, ...FIELDS_16),
      value: fc.oneof(fc.constantFrom(0, 1, 2, 208, 0xe00, 0x10d00, 0x7fffffff, 0xffffffff, 0x100000, 4096, 65536, 0xff000000, 0x04000000, 0x10000000, 0x02000000), fc.nat()),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      type: fc.constant('xmlText' as const),
      at: fc.nat(),
      text: fc.constantFrom('<', '>', '</WIM>', '<IMAGE INDEX="9">', '&', '&amp;', ']]>', '<!DOCTYPE x [<!ENTITY a "b">]>', '\u0000', '\uD800', '<X>'),
    }),
  },
);

const variant = fc.record({
  mutations: fc.array(mutation, { minLength: 1, maxLength: 6 }),
  // Mostly whole files, so most variants get past the size checks and into the XML and tables.
  truncate: fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.double({ min: 0, max: 1, noNaN: true }) }),
});

type Variant = typeof variant extends fc.Arbitrary<infer T> ? T : never;

function apply(original: Uint8Array, regions: Awaited<ReturnType<typeof regionsOf>>, v: Variant): Uint8Array {
  const bytes = Uint8Array.from(original);
  const view = new DataView(bytes.buffer);
  for (const m of v.mutations) {
    if (m.type === 'byte') {
      const r = m.region === 'any' ? { start: 0, length: bytes.length } : regions[m.region];
      if (r.length > 0) bytes[(r.start + (m.at % r.length)) % bytes.length] = m.value;
    } else if (m.type === 'field') {
      if (FIELDS_16.includes(m.field)) view.setUint16(m.field, m.value & 0xffff, true);
      else view.setUint32(m.field, m.value >>> 0, true);
    } else if (regions.xml.length > 2) {
      const units = Buffer.from(m.text, 'utf16le');
      const at = regions.xml.start + 2 * (m.at % (regions.xml.length / 2));
      bytes.set(units.subarray(0, Math.max(0, Math.min(units.length, bytes.length - at))), at);
    }
  }
  if (v.truncate === null) return bytes;
  return bytes.subarray(0, Math.floor(bytes.length * v.truncate));
}

/** Everything a reader of these files would do: open, describe a PPKG, verify integrity. */
async function readAll(bytes: Uint8Array): Promise<void> {
  const source = new BufferSource(bytes, 'fuzzed');
  const wim = await openWim(source);
  readPpkgInfo(wim.xml);
  await verifyWimIntegrity(source, wim.header);
}

async function parsesOrThrowsDeployForgeError(bytes: Uint8Array): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`parsing did not finish within ${PER_INPUT_MS} ms`)), PER_INPUT_MS);
  });
  try {
    await Promise.race([readAll(bytes), deadline]);
  } catch (e) {
    if (!(e instanceof DeployForgeError)) throw e;
  } finally {
    clearTimeout(timer);
  }
}

async function fuzz(original: Uint8Array): Promise<void> {
  const regions = await regionsOf(original);
  await readAll(original); // the unmutated input must parse
  await fc.assert(
    fc.asyncProperty(variant, async (v) => parsesOrThrowsDeployForgeError(apply(original, regions, v))),
    { numRuns: RUNS, seed: 20261122 },
  );
  // And every truncation, exhaustively: the files are a few KiB.
  for (let length = 0; length < original.length; length++) await parsesOrThrowsDeployForgeError(original.subarray(0, length));
}

describe('WIM readers under fuzzing', () => {
  let dir = '';
  let cleanup = async () => {};
  before(async () => {
    ({ path: dir, cleanup } = await makeTempDir('deployforge-wimfuzz-'));
    const wimlib = (args: string[]) => runTool('wimlib-imagex', args, { timeoutMs: 60_000 });
    // Small ESD and SWM inputs made from corpus files by wimlib itself.
    await wimlib(['export', corpusPath('wim/wimlib/longpaths.wim'), 'all', join(dir, 'small.esd'), '--solid']);
    await wimlib(['export', corpusPath('ppkg/mOSD.ppkg'), 'all', join(dir, 'checked.wim'), '--check']);
    await wimlib(['split', join(dir, 'checked.wim'), join(dir, 'small.swm'), '0.004']);
  });
  after(() => cleanup());

  test('a corpus WIM (with image metadata and blobs) never crashes the reader', async () => {
    await fuzz(await readFile(corpusPath('wim/wimlib/empty_dacl.wim')));
  });

  test('a WIM with an integrity table never crashes the reader or the verifier', async () => {
    await fuzz(await readFile(join(dir, 'checked.wim')));
  });

  test('a solid ESD never crashes the reader', async () => {
    const bytes = await readFile(join(dir, 'small.esd'));
    assert.equal((await openWim(new BufferSource(bytes))).kind, 'esd');
    await fuzz(bytes);
  });

  test('a split WIM part never crashes the reader', async () => {
    const bytes = await readFile(join(dir, 'small2.swm'));
    assert.equal((await openWim(new BufferSource(bytes))).kind, 'swm');
    await fuzz(bytes);
  });

  test('a provisioning package never crashes the reader or readPpkgInfo', async () => {
    const bytes = await readFile(corpusPath('ppkg/OSD_osdcloud-oobe.ppkg'));
    assert.equal((await openWim(new BufferSource(bytes))).kind, 'ppkg');
    await fuzz(bytes);
  });
});
