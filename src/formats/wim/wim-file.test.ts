// Compares what openWim reads with what wimlib-imagex (an independent implementation) reports
// for the same files: the corpus WIMs and PPKGs, and WIMs/ESDs/SWMs made here with wimlib-imagex.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { corpusPath, makeTempDir } from '../../../test/helpers/corpus.js';
import { DeployForgeError, FormatError } from '../../errors.js';
import { FileSource } from '../../util/byte-source.js';
import { runTool } from '../../util/exec.js';
import { metadataEntries } from './blob-table.js';
import { verifyWimIntegrity } from './integrity.js';
import { openWim, type WimFile } from './wim-file.js';
import type { WimImageInfo } from './xml-info.js';

type Fields = Record<string, string>;
interface WimlibInfo {
  wim: Fields;
  images: Fields[];
}

/** Parses `wimlib-imagex info` ("Key:   value" lines; one blank-line-separated block per image). */
function parseInfo(text: string): WimlibInfo {
  const [head, rest = ''] = text.split(/Available Images:\n-+\n/);
  const fields = (block: string): Fields => {
    const out: Fields = {};
    for (const line of block.split('\n')) {
      const m = /^([A-Za-z][A-Za-z ]*?):\s*(.*)$/.exec(line);
      if (m) out[m[1]] = m[2].trimEnd();
    }
    return out;
  };
  return {
    wim: fields(head),
    images: rest
      .split(/\n\n+/)
      .map(fields)
      .filter((f) => 'Index' in f),
  };
}

/** Parses `wimlib-imagex info --header` ("Key = value"). */
function parseHeaderDump(text: string): Fields {
  const out: Fields = {};
  for (const line of text.split('\n')) {
    const m = /^(\S[^=]*?)\s+=\s(.*)$/.exec(line);
    if (m) out[m[1]] = m[2];
  }
  return out;
}

/** Parses `wimlib-imagex info --blobs` into one record per blob. */
function parseBlobs(text: string): Fields[] {
  return text
    .split(/\n\n+/)
    .map((block) => {
      const out: Fields = {};
      for (const line of block.split('\n')) {
        const m = /^(\S[^=]*?)\s+=\s(.*)$/.exec(line);
        if (m) out[m[1]] = m[2].trim();
      }
      return out;
    })
    .filter((b) => 'Hash' in b);
}

async function wimlib(args: string[]): Promise<string> {
  return (await runTool('wimlib-imagex', args, { timeoutMs: 60_000 })).stdout;
}

async function withWim<T>(path: string, fn: (wim: WimFile, source: FileSource) => Promise<T>): Promise<T> {
  const source = await FileSource.open(path);
  try {
    return await fn(await openWim(source), source);
  } finally {
    await source.close();
  }
}

const WIMLIB_COMPRESSION: Record<string, string> = { none: 'None', xpress: 'XPRESS', xpress2: 'XPRESS', lzx: 'LZX', lzms: 'LZMS' };
const WIMLIB_ARCH: Record<number, string> = { 0: 'x86', 5: 'ARM', 6: 'IA64', 9: 'x86_64', 12: 'ARM64' };

/** wimlib prints times as "Sat Nov 21 23:33:47 2026 UTC", to the second. */
function sameSecond(ours: string | null, theirs: string): void {
  assert.ok(ours, `expected a time like ${theirs}`);
  assert.equal(Math.floor(Date.parse(ours) / 1000) * 1000, Date.parse(theirs.replace(/ UTC$/, 'Z').replace(/^\w+ /, '')), `time ${ours} vs ${theirs}`);
}

function compareImage(ours: WimImageInfo, theirs: Fields): void {
  assert.equal(String(ours.index), theirs.Index);
  assert.equal(ours.name ?? '', theirs.Name);
  assert.equal(ours.description ?? '', theirs.Description);
  assert.equal(ours.displayName ?? undefined, theirs['Display Name']);
  assert.equal(ours.displayDescription ?? undefined, theirs['Display Description']);
  assert.equal(String(ours.dirCount ?? 0), theirs['Directory Count']);
  assert.equal(String(ours.fileCount ?? 0), theirs['File Count']);
  assert.equal(String(ours.totalBytes ?? 0), theirs['Total Bytes']);
  assert.equal(String(ours.hardLinkBytes ?? 0), theirs['Hard Link Bytes']);
  sameSecond(ours.creationTime, theirs['Creation Time']);
  sameSecond(ours.lastModificationTime, theirs['Last Modification Time']);
  assert.equal(ours.flags ?? undefined, theirs.Flags);
  assert.equal(ours.wimboot ? 'yes' : 'no', theirs['WIMBoot compatible']);
  const w = ours.windows;
  assert.equal(w?.arch != null ? (WIMLIB_ARCH[w.arch] ?? 'unknown') : undefined, theirs.Architecture);
  assert.equal(w?.productName ?? undefined, theirs['Product Name']);
  assert.equal(w?.editionId ?? undefined, theirs['Edition ID']);
  assert.equal(w?.installationType ?? undefined, theirs['Installation Type']);
  assert.equal(w?.productType ?? undefined, theirs['Product Type']);
  assert.equal(w?.productSuite ?? undefined, theirs['Product Suite']);
  assert.equal(w?.languages.length ? w.languages.join(' ') : undefined, theirs.Languages?.trim());
  assert.equal(w?.defaultLanguage ?? undefined, theirs['Default Language']);
  assert.equal(w?.systemRoot ?? undefined, theirs['System Root']);
  if (w?.version) {
    assert.equal(String(w.version.major ?? 0), theirs['Major Version']);
    assert.equal(String(w.version.minor ?? 0), theirs['Minor Version']);
    assert.equal(String(w.version.build ?? 0), theirs.Build);
    assert.equal(String(w.version.spBuild ?? 0), theirs['Service Pack Build']);
    assert.equal(String(w.version.spLevel ?? 0), theirs['Service Pack Level']);
  } else {
    assert.equal(theirs['Major Version'], undefined);
  }
}

/** Every fact both tools report, compared; returns the parsed WIM for extra checks. */
async function compareWithWimlib(path: string): Promise<WimFile> {
  const info = parseInfo(await wimlib(['info', path]));
  const dump = parseHeaderDump(await wimlib(['info', '--header', path]));
  const blobs = parseBlobs(await wimlib(['info', '--blobs', path]));
  return withWim(path, async (wim) => {
    const h = wim.header;
    // --header: the raw fields.
    assert.equal(dump['Magic Characters'], `${h.magic}\\0\\0\\0`);
    assert.equal(Number(dump['Header Size']), h.headerSize);
    assert.equal(Number(dump.Version), h.version);
    assert.equal(Number(dump.Flags), h.rawFlags);
    assert.equal(Number(dump['Chunk Size']), h.chunkSize);
    assert.equal(dump.GUID, h.guid);
    assert.equal(Number(dump['Part Number']), h.partNumber);
    assert.equal(Number(dump['Total Parts']), h.totalParts);
    assert.equal(Number(dump['Image Count']), h.imageCount);
    const reshdrs = [
      ['Blob Table', h.blobTable, 'Original_size'],
      ['XML Data', h.xmlData, 'Original Size'],
      ['Boot Metadata', h.bootMetadata, 'Original Size'],
      ['Integrity', h.integrityTable, 'Original_size'],
    ] as const;
    for (const [label, r, orig] of reshdrs) {
      assert.equal(Number(dump[`${label} Size`]), r.sizeInWim, `${label} size`);
      assert.equal(Number(dump[`${label} Flags`]), r.rawFlags, `${label} flags`);
      assert.equal(Number(dump[`${label} Offset`]), r.offset, `${label} offset`);
      assert.equal(Number(dump[`${label} ${orig}`]), r.originalSize, `${label} original size`);
    }
    assert.equal(Number(dump['Boot Index']), h.rawBootIndex);
    assert.equal(h.flags.compression, dump['    WIM_HDR_FLAG_COMPRESSION is set'] !== undefined || (h.rawFlags & 2) !== 0);

    // info: the interpreted facts.
    assert.equal(info.wim.GUID, `0x${h.guid}`);
    assert.equal(Number(info.wim.Version), h.version);
    assert.equal(Number(info.wim['Image Count']), h.imageCount);
    assert.equal(info.wim.Compression, WIMLIB_COMPRESSION[h.compression]);
    if (h.compression !== 'none') assert.equal(info.wim['Chunk Size'], `${h.chunkSize} bytes`);
    assert.equal(info.wim['Part Number'], `${h.partNumber}/${h.totalParts}`);
    assert.equal(Number(info.wim['Boot Index']), h.bootIndex);
    assert.equal(info.wim.Size, `${wim.xml.totalBytes ?? 0} bytes`);
    const attributes = info.wim.Attributes ?? '';
    assert.equal(attributes.includes('Integrity info'), h.hasIntegrity);
    assert.equal(attributes.includes('Relative path junction'), h.flags.rpFix);
    assert.equal(attributes.includes('Readonly'), h.flags.readonly);
    assert.equal(wim.images.length, info.images.length);
    for (const [i, image] of wim.images.entries()) compareImage(image, info.images[i]);

    // --blobs: wimlib lists every blob except the solid resources' own entries. Identical
    // images share a metadata hash, so compare the whole lists rather than a map by hash.
    const flagsText = (f: { metadata: boolean; compressed: boolean }) => `${f.metadata ? 'M' : ''}${f.compressed ? 'C' : ''}`;
    const ours = wim.blobTable.entries
      .filter((e) => e.kind !== 'solid-resource')
      .map((e) => {
        const where = e.solid
          ? (() => {
              const res = wim.blobTable.solidResources[e.solid.resource];
              return `solid ${res.uncompressedSize} => ${res.sizeInWim} bytes @ offset ${res.offset} + ${e.solid.offset} bytes`;
            })()
          : `${e.resource.sizeInWim} bytes at ${e.resource.offset} bytes`;
        return `0x${e.sha1} ${e.size} bytes ${where} part ${e.partNumber} refs ${e.refCount} ${flagsText(e.resource.flags)}`;
      })
      .sort();
    const theirs = blobs
      .map((b) => {
        const where = b['Solid resource'] ? `solid ${b['Solid resource']} + ${b['Solid offset']}` : `${b['Compressed size']} at ${b['Offset in WIM']}`;
        const f = { metadata: b.Flags.includes('METADATA'), compressed: b.Flags.includes('COMPRESSED') };
        return `${b.Hash} ${b['Uncompressed size']} ${where} part ${b['Part Number']} refs ${b['Reference Count']} ${flagsText(f)}`;
      })
      .sort();
    assert.deepEqual(ours, theirs);
    return wim;
  });
}

describe('openWim against wimlib-imagex on the corpus', () => {
  const wims = readdirSync(corpusPath('wim/wimlib')).filter((f) => f.endsWith('.wim'));
  const ppkgs = readdirSync(corpusPath('ppkg')).filter((f) => f.endsWith('.ppkg'));
  assert.ok(wims.length >= 7 && ppkgs.length === 4, 'corpus WIMs and PPKGs are present');

  for (const file of wims.map((f) => `wim/wimlib/${f}`).concat(ppkgs.map((f) => `ppkg/${f}`))) {
    test(`reads ${file} as wimlib-imagex does, or fails where it fails`, async () => {
      const path = corpusPath(file);
      let wimlibOk = true;
      try {
        await wimlib(['info', path]);
      } catch {
        wimlibOk = false;
      }
      if (!wimlibOk) {
        await assert.rejects(
          withWim(path, async () => undefined),
          FormatError,
        );
        return;
      }
      const wim = await compareWithWimlib(path);
      assert.equal(wim.kind, file.endsWith('.ppkg') ? 'ppkg' : 'wim');
    });
  }
});

describe('openWim against wimlib-imagex on WIMs made here', () => {
  let dir = '';
  let cleanup = async () => {};
  const path = (name: string) => join(dir, name);

  before(async () => {
    ({ path: dir, cleanup } = await makeTempDir('deployforge-wim-'));
    const tree = join(dir, 'tree');
    await mkdir(join(tree, 'sub', 'deeper'), { recursive: true });
    await writeFile(join(tree, 'a.txt'), 'hello\n');
    await writeFile(join(tree, 'sub', 'numbers.txt'), Array.from({ length: 4000 }, (_, i) => String(i)).join('\n'));
    // Pseudo-random bytes so the split below really produces several parts.
    const noise = Buffer.alloc(60_000);
    let x = 12345;
    for (let i = 0; i < noise.length; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      noise[i] = x >>> 24;
    }
    await writeFile(join(tree, 'sub', 'deeper', 'noise.bin'), noise);
    for (const kind of ['none', 'xpress', 'lzx', 'lzms']) {
      await wimlib(['capture', tree, path(`${kind}.wim`), `${kind} image`, `captured with ${kind}`, `--compress=${kind}`]);
    }
    await wimlib(['capture', tree, path('xpress4k.wim'), '--compress=xpress', '--chunk-size=4096', '--check']);
    await wimlib([
      'capture',
      tree,
      path('multi.wim'),
      'Pro',
      'Windows Pro',
      '--compress=lzx',
      '--check',
      '--flags=Professional',
      '--image-property',
      'WINDOWS/ARCH=9',
      '--image-property',
      'WINDOWS/EDITIONID=Professional',
      '--image-property',
      'DISPLAYNAME=Windows 11 Pro',
      '--image-property',
      'WINDOWS/PRODUCTNAME=Microsoft® Windows® Operating System',
      '--image-property',
      'WINDOWS/VERSION/MAJOR=10',
      '--image-property',
      'WINDOWS/VERSION/BUILD=22631',
      '--image-property',
      'WINDOWS/VERSION/SPBUILD=2861',
      '--image-property',
      'WINDOWS/LANGUAGES/LANGUAGE=en-US',
      '--image-property',
      'WINDOWS/LANGUAGES/DEFAULT=en-US',
      '--image-property',
      'WINDOWS/SYSTEMROOT=WINDOWS',
      '--image-property',
      'WINDOWS/INSTALLATIONTYPE=Client',
    ]);
    await wimlib([
      'append',
      tree,
      path('multi.wim'),
      'Home',
      '--flags=Core',
      '--image-property',
      'WINDOWS/ARCH=12',
      '--image-property',
      'WINDOWS/EDITIONID=Core',
      '--image-property',
      'WINDOWS/LANGUAGES/LANGUAGE=de-DE',
      '--image-property',
      'WINDOWS/LANGUAGES/LANGUAGE[2]=fr-FR',
      '--image-property',
      'DISPLAYDESCRIPTION=Home edition',
      '--image-property',
      'WINDOWS/PRODUCTTYPE=WinNT',
      '--image-property',
      'WINDOWS/PRODUCTSUITE=Terminal Server',
      '--image-property',
      'WINDOWS/VERSION/SPLEVEL=1',
      '--boot',
    ]);
    await wimlib(['append', tree, path('multi.wim'), 'x86 one', '--image-property', 'WINDOWS/ARCH=0', '--image-property', 'CUSTOM/THING=kept']);
    await wimlib(['export', path('multi.wim'), 'all', path('solid.esd'), '--solid']);
    await wimlib(['split', path('multi.wim'), path('split.swm'), '0.02']);
    await wimlib(['capture', tree, path('pipable.wim'), '--pipable']);
  });
  after(() => cleanup());

  for (const kind of ['none', 'xpress', 'lzx', 'lzms']) {
    test(`reads a ${kind}-compressed WIM as wimlib-imagex does`, async () => {
      const wim = await compareWithWimlib(path(`${kind}.wim`));
      assert.equal(wim.header.compression, kind);
      // wimlib writes LZMS WIMs with the solid version number even without solid resources.
      assert.equal(wim.header.version, kind === 'lzms' ? 0xe00 : 0x10d00);
      assert.equal(wim.kind, 'wim');
      assert.equal(wim.solid, false);
      assert.equal(wim.images[0].description, `captured with ${kind}`);
    });
  }

  test('reads the integrity table of a --check WIM and verifies it as wimlib-imagex verify does', async () => {
    const wim = await compareWithWimlib(path('xpress4k.wim'));
    assert.equal(wim.header.chunkSize, 4096);
    assert.ok(wim.integrity);
    assert.equal(wim.integrity.chunkSize, 10 * 1024 * 1024);
    assert.equal(wim.integrity.checkedBytes, wim.header.blobTable.offset + wim.header.blobTable.sizeInWim - 208);
    await wimlib(['verify', path('xpress4k.wim')]);
    await withWim(path('xpress4k.wim'), async (w, source) => assert.deepEqual(await verifyWimIntegrity(source, w.header), { ok: true, badChunks: [] }));
  });

  test('reads every image property of a multi-image WIM as wimlib-imagex does', async () => {
    const wim = await compareWithWimlib(path('multi.wim'));
    assert.equal(wim.header.imageCount, 3);
    assert.equal(wim.header.bootIndex, 2);
    const [pro, home, x86] = wim.images;
    assert.equal(pro.displayName, 'Windows 11 Pro');
    assert.equal(pro.windows?.archName, 'amd64');
    assert.deepEqual(pro.windows?.version, { major: 10, minor: null, build: 22631, spBuild: 2861, spLevel: null });
    assert.equal(pro.windows?.productName, 'Microsoft® Windows® Operating System');
    assert.deepEqual(home.windows?.languages, ['de-DE', 'fr-FR']);
    assert.equal(home.windows?.archName, 'arm64');
    assert.equal(home.flags, 'Core');
    assert.equal(x86.windows?.archName, 'x86');
    assert.deepEqual(x86.extra, { 'CUSTOM/THING': 'kept' });
  });

  test('metadataEntries finds the images’ metadata resources without building the whole blob table, as a filter of it would', async () => {
    for (const name of ['multi.wim', 'solid.esd', 'none.wim']) {
      const source = await FileSource.open(path(name));
      try {
        const table = (await openWim(source)).blobTable;
        const first = metadataEntries(table);
        const filtered = table.entries.filter((e) => e.resource.flags.metadata && e.kind !== 'solid-resource');
        assert.deepEqual(first, filtered, name);
        assert.deepEqual(metadataEntries(table), filtered, `${name}, table built`);
        assert.equal(first.length, (await openWim(source)).header.imageCount, name);
      } finally {
        await source.close();
      }
    }
  });

  test('a blob table entry with an impossible offset or size fails at open, though the table is built on first use', async () => {
    const { readFile } = await import('node:fs/promises');
    const { BufferSource } = await import('../../util/byte-source.js');
    const bytes = await readFile(path('none.wim'));
    const tableAt = Number(bytes.readBigUInt64LE(0x30 + 8));
    for (const field of [8, 16, 0]) {
      // The top byte of entry 1's offset (8), uncompressed size (16) or 56-bit stored size (0..6).
      const broken = Buffer.from(bytes);
      broken[tableAt + 50 + field + (field === 0 ? 6 : 7)] = 0xff;
      await assert.rejects(openWim(new BufferSource(broken, 'broken.wim')), (e: DeployForgeError) => e instanceof FormatError && e.code === 'DF_BAD_NUMBER', `field at +${field}`);
    }
  });

  test('reads an ESD made by wimlib-imagex export --solid, including its solid resource', async () => {
    const wim = await compareWithWimlib(path('solid.esd'));
    assert.equal(wim.kind, 'esd');
    assert.equal(wim.header.version, 0xe00);
    assert.equal(wim.header.compression, 'lzms');
    assert.ok(wim.blobTable.solidResources.length >= 1);
    assert.equal(wim.blobTable.solidResources[0].compression, 'lzms');
  });

  test('reads every part of a split WIM as wimlib-imagex does', async () => {
    const parts = readdirSync(dir)
      .filter((f) => f.startsWith('split') && f.endsWith('.swm'))
      .sort();
    assert.ok(parts.length >= 2, `split made ${parts.length} parts`);
    const guids = new Set<string>();
    for (const part of parts) {
      const wim = await compareWithWimlib(path(part));
      assert.equal(wim.kind, 'swm');
      assert.equal(wim.header.totalParts, parts.length);
      assert.ok(wim.header.flags.spanned);
      guids.add(wim.header.guid);
    }
    assert.equal(guids.size, 1, 'all parts share the GUID');
  });

  test('reads a wimlib pipable WIM from its trailing header as wimlib-imagex does', async () => {
    const wim = await compareWithWimlib(path('pipable.wim'));
    assert.ok(wim.header.pipable);
  });

  test('refuses a file that is not a WIM with DF_WIM_BAD_MAGIC', async () => {
    await assert.rejects(
      withWim(corpusPath('ppkg/customizations/clean_setup_customizations.xml'), async () => undefined),
      (e: unknown) => {
        assert.ok(e instanceof DeployForgeError);
        assert.equal(e.code, 'DF_WIM_BAD_MAGIC');
        return true;
      },
    );
  });
});
