// Small real files of every format inspect reads, made by independent tools (xorriso,
// genisoimage, wimlib, qemu-img, gcab) or taken from the shared corpus, for end-to-end and fuzz
// tests. Everything is written into a caller-owned temporary folder.
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { runTool } from '../../src/util/exec.js';
import { corpusPath } from './corpus.js';

export type FixtureKind = 'iso' | 'iso-udf' | 'wim' | 'esd' | 'swm' | 'ppkg' | 'hive' | 'hive-log' | 'vhd' | 'vhd-fixed' | 'vhdx' | 'cab' | 'msu' | 'unattend' | 'reg';

async function tree(dir: string): Promise<string> {
  await mkdir(join(dir, 'Windows', 'System32', 'config'), { recursive: true });
  await writeFile(join(dir, 'Windows', 'System32', 'config', 'SYSTEM'), await readFile(corpusPath('registry/hivex/minimal')));
  await writeFile(join(dir, 'readme.txt'), 'sample tree for DeployForge tests\r\n'.repeat(20));
  await writeFile(join(dir, 'Windows', 'notes.ini'), '[section]\r\nkey=value\r\n');
  return dir;
}

/** Makes one fixture of `kind` in `dir` and returns its path. */
export async function makeFixture(kind: FixtureKind, dir: string): Promise<string> {
  const work = join(dir, `${kind}-work`);
  await mkdir(work, { recursive: true });
  switch (kind) {
    case 'wim': {
      const out = join(dir, 'small.wim');
      await runTool('wimlib-imagex', ['capture', await tree(join(work, 'src')), out, 'Small', '--compress=xpress']);
      return out;
    }
    case 'esd': {
      const wim = await makeFixture('wim', work);
      const out = join(dir, 'small.esd');
      await runTool('wimlib-imagex', ['export', wim, 'all', out, '--solid']);
      return out;
    }
    case 'swm': {
      const src = await tree(join(work, 'src'));
      await writeFile(
        join(src, 'big.bin'),
        Buffer.alloc(300_000, 7).map((_, i) => (i * 2654435761) >>> 24),
      );
      const wim = join(work, 'big.wim');
      await runTool('wimlib-imagex', ['capture', src, wim, 'Split', '--compress=none']);
      const out = join(dir, 'small.swm');
      await runTool('wimlib-imagex', ['split', wim, out, '0.2']);
      return out;
    }
    case 'ppkg': {
      const out = join(dir, 'small.ppkg');
      await copyFile(corpusPath('ppkg/mOSD.ppkg'), out);
      return out;
    }
    case 'iso':
    case 'iso-udf': {
      const src = join(work, 'iso');
      await mkdir(join(src, 'sources'), { recursive: true });
      await mkdir(join(src, 'boot'), { recursive: true });
      await copyFile(await makeFixture('wim', work), join(src, 'sources', 'install.wim'));
      await writeFile(join(src, 'boot', 'etfsboot.com'), Buffer.alloc(4096, 0x90));
      const out = join(dir, kind === 'iso' ? 'small.iso' : 'small-udf.iso');
      if (kind === 'iso') {
        await runTool('xorriso', ['-as', 'mkisofs', '-J', '-R', '-V', 'SMALL', '-b', 'boot/etfsboot.com', '-no-emul-boot', '-boot-load-size', '8', '-o', out, src]);
      } else {
        await runTool('genisoimage', ['-quiet', '-udf', '-V', 'SMALL_UDF', '-b', 'boot/etfsboot.com', '-no-emul-boot', '-boot-load-size', '8', '-o', out, src]);
      }
      return out;
    }
    case 'hive': {
      const out = join(dir, 'small.hive');
      await copyFile(corpusPath('registry/python-registry/UNICODE_TESTS'), out);
      return out;
    }
    case 'hive-log': {
      const out = join(dir, 'small.LOG1');
      const { stdout } = await runTool('xz', ['-dc', corpusPath('registry/regipy/transactions_ntuser.dat.log1.xz')], { binary: true });
      await writeFile(out, stdout);
      return out;
    }
    case 'vhd': {
      const out = join(dir, 'small.vhd');
      await runTool('qemu-img', ['create', '-q', '-f', 'vpc', '-o', 'subformat=dynamic', out, '8M']);
      return out;
    }
    case 'vhd-fixed': {
      const out = join(dir, 'fixed.vhd');
      await writeFile(out, gunzipSync(await readFile(corpusPath('vhd/dissect/fixed.vhd.gz'))));
      return out;
    }
    case 'vhdx': {
      const out = join(dir, 'small.vhdx');
      await runTool('qemu-img', ['create', '-q', '-f', 'vhdx', out, '8M']);
      return out;
    }
    case 'cab':
    case 'msu': {
      const inner = join(work, 'Windows10.0-KB0000001-x64.cab');
      await writeFile(join(work, 'update.mum'), '<assembly/>\r\n'.repeat(50));
      await runTool('gcab', ['-c', '-z', '-n', inner, join(work, 'update.mum')]);
      if (kind === 'cab') return inner;
      await writeFile(join(work, 'Windows10.0-KB0000001-x64-pkgProperties.txt'), 'ApplicabilityInfo="Windows 10.0"\r\n');
      await writeFile(join(work, 'Windows10.0-KB0000001-x64.xml'), '<?xml version="1.0"?><unattend/>');
      const out = join(dir, 'small.msu');
      await runTool('gcab', ['-c', '-n', out, inner, join(work, 'Windows10.0-KB0000001-x64-pkgProperties.txt'), join(work, 'Windows10.0-KB0000001-x64.xml')]);
      return out;
    }
    case 'unattend': {
      const out = join(dir, 'autounattend.xml');
      await copyFile(corpusPath('unattend/packer-windows/11_Autounattend.xml'), out);
      return out;
    }
    case 'reg': {
      const out = join(dir, 'tweak.reg');
      await copyFile(corpusPath('reg/windeploy-linux/debloat.reg'), out);
      return out;
    }
  }
}

/** Makes a small sample ISO in `dir` and extracts `files` of it into `dir`/iso. */
async function extractSampleIso(dir: string, media: { editions: number; seed?: number }, files: string[]): Promise<void> {
  const { makeSampleMedia } = await import('../../src/sample/sample-media.js');
  const iso = join(dir, 'sample.iso');
  await makeSampleMedia(iso, { sizeMb: 12, editions: media.editions, seed: media.seed, workDir: dir });
  await runTool('7zz', ['x', '-y', `-o${join(dir, 'iso')}`, iso, ...files]);
}

/** sources/install.wim of a fresh sample ISO (real hives, `editions` editions), in `dir`. */
export async function makeSampleInstallWim(dir: string, editions = 2): Promise<string> {
  await extractSampleIso(dir, { editions }, ['sources/install.wim']);
  return join(dir, 'iso', 'sources', 'install.wim');
}

/** sources/install.wim and sources/boot.wim of a fresh sample ISO, in `dir`: for steps that also edit boot.wim. */
export async function makeSampleSetupWims(dir: string, media: { editions: number; seed?: number }): Promise<{ install: string; boot: string }> {
  await extractSampleIso(dir, media, ['sources/install.wim', 'sources/boot.wim']);
  return { install: join(dir, 'iso', 'sources', 'install.wim'), boot: join(dir, 'iso', 'sources', 'boot.wim') };
}
