// `deployforge wim info|ls|stat|cat|extract` against wimlib-imagex on WIMs of every compression
// (captured by wimlib), an ESD, a split set and the corpus PPKGs.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runTool } from '../../src/util/exec.js';
import { runCliCaptured } from '../helpers/cli.js';
import { corpusPath, makeTempDir } from '../helpers/corpus.js';

const sha = async (p: string) =>
  createHash('sha256')
    .update(await readFile(p))
    .digest('hex');

async function wimlibFiles(wim: string, index = 1): Promise<string[]> {
  const { stdout } = await runTool('wimlib-imagex', ['dir', wim, String(index)]);
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('/'))
    .sort();
}

describe('deployforge wim', () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let tree: string;
  before(async () => {
    tmp = await makeTempDir();
    tree = join(tmp.path, 'tree');
    await mkdir(join(tree, 'Windows', 'System32', 'config'), { recursive: true });
    await writeFile(join(tree, 'Windows', 'System32', 'config', 'SOFTWARE'), await readFile(corpusPath('registry/python-registry/UNICODE_TESTS')));
    await writeFile(join(tree, 'big.bin'), Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7919) & 0xff)));
    await writeFile(join(tree, 'Ünïcode näme.txt'), 'text\r\n'.repeat(1000));
  });
  after(async () => {
    await tmp.cleanup();
  });

  for (const compress of ['none', 'xpress', 'lzx', 'lzms']) {
    test(`${compress}: ls -r matches wimlib-imagex dir and cat/extract give wimlib's bytes`, async () => {
      const wim = join(tmp.path, `${compress}.wim`);
      await runTool('wimlib-imagex', ['capture', tree, wim, 'Test', `--compress=${compress}`]);
      const ls = await runCliCaptured(['wim', 'ls', '--json', '-r', `${wim}:1`]);
      assert.equal(ls.code, 0, ls.stderr);
      const ours = (JSON.parse(ls.stdout) as { path: string }[]).map((e) => e.path).sort();
      assert.deepEqual(ours, await wimlibFiles(wim));
      // --paths prints the same paths alone, one per line (text) or as a list of strings (--json).
      const bare = await runCliCaptured(['wim', 'ls', '--paths', '-r', `${wim}:1`]);
      assert.deepEqual(
        bare.stdout
          .split('\n')
          .filter((l) => l !== '')
          .sort(),
        ours,
      );
      assert.deepEqual(
        (JSON.parse((await runCliCaptured(['wim', 'ls', '--paths', '--json', `${wim}:1`, '/Windows'])).stdout) as string[]).sort(),
        ours.filter((p) => /^\/Windows\/[^/]+$/.test(p)),
      );
      const out = join(tmp.path, `${compress}-SOFTWARE`);
      assert.equal((await runCliCaptured(['wim', 'cat', wim, 'Windows/System32/config/SOFTWARE', '-o', out])).code, 0);
      assert.equal(await sha(out), await sha(join(tree, 'Windows', 'System32', 'config', 'SOFTWARE')));
      const dest = join(tmp.path, `${compress}-x`);
      assert.equal((await runCliCaptured(['wim', 'extract', `${wim}:1`, dest])).code, 0);
      assert.equal(await sha(join(dest, 'big.bin')), await sha(join(tree, 'big.bin')));
      assert.equal(await sha(join(dest, 'Ünïcode näme.txt')), await sha(join(tree, 'Ünïcode näme.txt')));
    });
  }

  test('an ESD and a split set read through their first part', async () => {
    const wim = join(tmp.path, 'src.wim');
    await runTool('wimlib-imagex', ['capture', tree, wim, 'Test', '--compress=none']);
    const esd = join(tmp.path, 'install.esd');
    await runTool('wimlib-imagex', ['export', wim, 'all', esd, '--solid']);
    const info = JSON.parse((await runCliCaptured(['wim', 'info', '--json', esd])).stdout);
    assert.equal(info.format, 'esd');
    const out = join(tmp.path, 'esd-big.bin');
    assert.equal((await runCliCaptured(['wim', 'cat', esd, 'big.bin', '-o', out])).code, 0);
    assert.equal(await sha(out), await sha(join(tree, 'big.bin')));
    const splitDir = join(tmp.path, 'split');
    await mkdir(splitDir);
    await runTool('wimlib-imagex', ['split', wim, join(splitDir, 'install.swm'), '0.1']);
    const fromSet = join(tmp.path, 'swm-big.bin');
    const run = await runCliCaptured(['wim', 'cat', join(splitDir, 'install.swm'), 'big.bin', '-o', fromSet]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(await sha(fromSet), await sha(join(tree, 'big.bin')));
  });

  test('stat shows a security descriptor wimlib also reports; PPKG files list and read', async () => {
    const stat = JSON.parse((await runCliCaptured(['wim', 'stat', '--json', corpusPath('wim/wimlib/empty_dacl.wim'), '/'])).stdout);
    const detailed = (await runTool('wimlib-imagex', ['dir', corpusPath('wim/wimlib/empty_dacl.wim'), '1', '--detailed'])).stdout;
    assert.equal(stat.securityDescriptor !== null, /Security Descriptor/.test(detailed));
    const ppkg = corpusPath('ppkg/mOSD.ppkg');
    const ls = JSON.parse((await runCliCaptured(['wim', 'ls', '--json', '-r', ppkg])).stdout) as { path: string }[];
    assert.deepEqual(ls.map((e) => e.path).sort(), await wimlibFiles(ppkg));
    const xml = await runCliCaptured(['wim', 'cat', ppkg, '/Multivariant/0/customizations.xml']);
    assert.match(xml.stdout, /<OwnerType>SystemIntegrator<\/OwnerType>/);
    const report = JSON.parse((await runCliCaptured(['inspect', '--json', ppkg])).stdout);
    assert.equal(report.wim.ppkg.ownerSource, 'package-config');
    assert.equal((await runCliCaptured(['wim', 'ls', `${ppkg}:7`])).code, 3);
  });
});

describe('deployforge wim export, split and verify (through wimlib)', () => {
  test('exports one edition to an ESD, splits it and verifies the parts', async () => {
    const tmp = await makeTempDir();
    try {
      const tree = join(tmp.path, 'tree');
      await mkdir(tree);
      await writeFile(join(tree, 'a.bin'), Buffer.from(Array.from({ length: 200_000 }, (_, i) => (i * 31) & 0xff)));
      const wim = join(tmp.path, 'two.wim');
      await runTool('wimlib-imagex', ['capture', tree, wim, 'One']);
      await runTool('wimlib-imagex', ['append', tree, wim, 'Two']);
      const esd = join(tmp.path, 'two.esd');
      const run = await runCliCaptured(['wim', 'export', wim, esd, '--image', 'Two']);
      assert.equal(run.code, 0, run.stderr);
      const info = JSON.parse((await runCliCaptured(['wim', 'info', '--json', esd])).stdout);
      assert.equal(info.format, 'esd');
      assert.deepEqual(
        info.wim.images.map((i: { name: string }) => i.name),
        ['Two'],
      );
      assert.equal((await runCliCaptured(['wim', 'verify', esd])).code, 0);
      const split = await runCliCaptured(['wim', 'split', wim, join(tmp.path, 'install.swm'), '--part-size-mb', '1']);
      assert.equal(split.code, 0, split.stderr);
      const damaged = join(tmp.path, 'damaged.wim');
      const bytes = await readFile(wim);
      bytes[300] ^= 0xff;
      await writeFile(damaged, bytes);
      assert.equal((await runCliCaptured(['wim', 'verify', damaged])).code, 3);
    } finally {
      await tmp.cleanup();
    }
  });
});

describe('deployforge wim update and rollback', () => {
  test('replacing a file keeps its security descriptor and attributes; rollback restores the exact bytes', async () => {
    const tmp = await makeTempDir();
    try {
      const wim = join(tmp.path, 'sd.wim');
      // The corpus empty_dacl.wim has real security descriptors; export makes a writable copy.
      await runTool('wimlib-imagex', ['export', corpusPath('wim/wimlib/empty_dacl.wim'), '1', wim, '--compress=lzx']);
      const before = await sha(wim);
      const newContent = join(tmp.path, 'new.txt');
      await writeFile(newContent, 'replaced by DeployForge\r\n');
      const statBefore = JSON.parse((await runCliCaptured(['wim', 'stat', '--json', `${wim}:1`, '/file'])).stdout);
      const checkpoint = join(tmp.path, 'cp.json');
      const run = await runCliCaptured(['wim', 'update', `${wim}:1`, '--replace', `/file=${newContent}`, '--mkdir', '/NewDir', '--checkpoint', checkpoint]);
      assert.equal(run.code, 0, run.stderr);
      await runTool('wimlib-imagex', ['verify', wim]);
      const statAfter = JSON.parse((await runCliCaptured(['wim', 'stat', '--json', `${wim}:1`, '/file'])).stdout);
      assert.equal(statAfter.securityDescriptor, statBefore.securityDescriptor);
      assert.equal(statAfter.attributes, statBefore.attributes);
      assert.equal(statAfter.size, 25);
      await runTool('wimlib-imagex', ['extract', wim, '1', '/file', `--dest-dir=${tmp.path}/x`]);
      assert.equal((await readFile(join(tmp.path, 'x', 'file'))).toString(), 'replaced by DeployForge\r\n');
      assert.equal((await runCliCaptured(['wim', 'rollback', checkpoint])).code, 0);
      assert.equal(await sha(wim), before);
    } finally {
      await tmp.cleanup();
    }
  });
});

describe('deployforge wim on a WIM inside an ISO', () => {
  test('lists and reads install.wim through the ISO, without extracting it', async () => {
    const tmp = await makeTempDir();
    try {
      const { makeFixture } = await import('../helpers/fixtures.js');
      const iso = await makeFixture('iso', tmp.path);
      const ls = JSON.parse((await runCliCaptured(['wim', 'ls', '--json', '-r', `${iso}:sources/install.wim:1`])).stdout) as { path: string }[];
      await runTool('7zz', ['x', '-y', `-o${tmp.path}/x`, iso, 'sources/install.wim']);
      assert.deepEqual(ls.map((e) => e.path).sort(), await wimlibFiles(join(tmp.path, 'x', 'sources', 'install.wim')));
      const out = join(tmp.path, 'SYSTEM');
      assert.equal((await runCliCaptured(['wim', 'cat', `${iso}:sources/install.wim`, '/Windows/System32/config/SYSTEM', '-o', out])).code, 0);
      assert.equal(await sha(out), await sha(corpusPath('registry/hivex/minimal')));
    } finally {
      await tmp.cleanup();
    }
  });
});

describe('deployforge wim update X.iso:install:N -o NEW', () => {
  test('edits install.wim inside the ISO into a new ISO (in place) or a new WIM; the ISO is untouched; replaced files keep their SD', async () => {
    const tmp = await makeTempDir();
    try {
      const { makeSampleMedia } = await import('../../src/sample/sample-media.js');
      const iso = join(tmp.path, 'sample.iso');
      await makeSampleMedia(iso, { sizeMb: 8, editions: 2, seed: 41 });
      const before = await sha(iso);
      const hive = join(tmp.path, 'SOFTWARE');
      await writeFile(hive, Buffer.alloc(16384, 0x33));
      await writeFile(join(tmp.path, 'note.txt'), 'added through the ISO\r\n');
      const args = (out: string) => [
        'wim',
        'update',
        '--json',
        `${iso}:install:2`,
        '--replace',
        `/Windows/System32/config/SOFTWARE=${hive}`,
        '--add',
        `/DeployForge/note.txt=${join(tmp.path, 'note.txt')}`,
        '-o',
        out,
      ];
      for (const out of [join(tmp.path, 'new.iso'), join(tmp.path, 'new.wim')]) {
        const run = await runCliCaptured(args(out));
        assert.equal(run.code, 0, run.stderr);
        assert.equal(JSON.parse(run.stdout).changed, true);
      }
      assert.equal(await sha(iso), before, 'the source ISO is never changed');
      await runTool('7zz', ['x', '-y', `-o${join(tmp.path, 'x')}`, join(tmp.path, 'new.iso'), 'sources/install.wim']);
      for (const wim of [join(tmp.path, 'x', 'sources', 'install.wim'), join(tmp.path, 'new.wim')]) {
        await runTool('wimlib-imagex', ['verify', wim]);
        const dest = join(tmp.path, `e-${wim.length}`);
        await runTool('wimlib-imagex', ['extract', wim, '2', '/DeployForge/note.txt', '/Windows/System32/config/SOFTWARE', `--dest-dir=${dest}`, '--no-acls']);
        assert.equal(await readFile(join(dest, 'note.txt'), 'utf8'), 'added through the ISO\r\n');
        assert.deepEqual(await readFile(join(dest, 'SOFTWARE')), Buffer.alloc(16384, 0x33));
      }
      // The replaced hive keeps its metadata (security descriptor, attributes, creation time).
      const meta = async (spec: string) => {
        const e = JSON.parse((await runCliCaptured(['wim', 'stat', '--json', spec, '/Windows/System32/config/SOFTWARE'])).stdout) as Record<string, unknown>;
        return { sd: e.securityDescriptor, attributes: e.attributes, created: e.created };
      };
      assert.deepEqual(await meta(`${join(tmp.path, 'new.iso')}:install:2`), await meta(`${iso}:install:2`));
      const missingOut = await runCliCaptured(['wim', 'update', `${iso}:install:2`, '--delete', '/DeployForge']);
      assert.equal(missingOut.code, 2);
      assert.match(missingOut.stderr, /DF_IMAGE_NEEDS_OUT/);
    } finally {
      await tmp.cleanup();
    }
  });
});

describe('deployforge wim export --raw', () => {
  test('copies chosen editions out of an ISO as stored, by index and by name; wimlib verifies the result; an ESD is refused', async () => {
    const tmp = await makeTempDir();
    try {
      const { makeSampleMedia } = await import('../../src/sample/sample-media.js');
      const iso = join(tmp.path, 'sample.iso');
      await makeSampleMedia(iso, { sizeMb: 8, editions: 3, seed: 81 });
      // `wim info` reads the WIM inside the ISO in place.
      const info0 = JSON.parse((await runCliCaptured(['wim', 'info', '--json', `${iso}:install`])).stdout) as { wim: { images: { name: string }[] } };
      const names = info0.wim.images.map((i) => i.name);
      assert.equal(names.length, 3);
      const out = join(tmp.path, 'two.wim');
      const run = await runCliCaptured(['wim', 'export', '--raw', `${iso}:install`, out, '--image', '3', '--image', names[0]]);
      assert.equal(run.code, 0, run.stderr);
      await runTool('wimlib-imagex', ['verify', out]);
      const info = (await runTool('wimlib-imagex', ['info', out])).stdout;
      assert.deepEqual(
        [...info.matchAll(/^Name:\s+(.*)$/gm)].map((m) => m[1]),
        [names[2], names[0]],
      );
      const esdIso = join(tmp.path, 'esd.iso');
      await makeSampleMedia(esdIso, { sizeMb: 8, editions: 1, seed: 82, esd: true });
      const refused = await runCliCaptured(['wim', 'export', '--raw', `${esdIso}:install`, join(tmp.path, 'x.wim')]);
      assert.equal(refused.code, 3);
      assert.match(refused.stderr, /solid/);
    } finally {
      await tmp.cleanup();
    }
  });
});
