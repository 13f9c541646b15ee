// Builds a Windows-like install ISO for tests, the demo and the benchmarks: BIOS and UEFI boot
// images, boot.wim (WinPE + Setup), install.wim or .esd with K editions whose XML wimlib derives
// from real hives (as for retail media), provisioned-app folders and filler with realistic
// compressibility. Deterministic for a seed. It uses wimlib and xorriso until the project's own
// WIM and ISO writers exist; it is not a Windows image that installs.
import { copyFile, mkdir, mkdtemp, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InputError } from '../errors.js';
import { buildHive } from '../formats/regf/build-hive.js';
import type { ProgressSink } from '../progress.js';
import { silentProgress } from '../progress.js';
import { runTool } from '../util/exec.js';
import { withAtomicOutput } from '../util/fs.js';
import { makeBiosBootImage } from './bios-boot-image.js';
import { SAMPLE_EDITIONS, type SampleEdition } from './editions.js';
import { EFITOOLS_HELLO_WORLD_PATH as DEFAULT_EFI_APP, makeEfiBootImage } from './efi-boot-image.js';
import { writeFillerFile } from './filler.js';
import { makePeStub } from './pe-stub.js';
import { SeededRandom } from './prng.js';
import { SAMPLE_PROVISIONED_APPS } from './windows-apps.js';
import { defaultUserHive, samHive, securityHive, softwareHive, systemHive } from './windows-hives.js';

/** What the BIOS boot image prints on COM1; tests look for it on qemu's serial port. */
export const SAMPLE_BIOS_MARKER = 'DEPLOYFORGE SAMPLE BIOS BOOT OK';

/** All sample files carry this time (2024-07-01T00:00:00Z), so builds are reproducible. */
export const SAMPLE_TIME = new Date('2024-07-01T00:00:00Z');
const SAMPLE_FILETIME = (BigInt(SAMPLE_TIME.getTime()) + 11644473600000n) * 10000n;

export interface SampleMediaOptions {
  /** Approximate size of the ISO in MiB (the filler is sized to reach it with a WIM). */
  sizeMb?: number;
  editions?: number;
  esd?: boolean;
  seed?: number;
  label?: string;
  /** Parent folder for the temporary workspace (default: the OS temp folder). */
  workDir?: string;
  progress?: ProgressSink;
}

export interface SampleMediaResult {
  path: string;
  size: number;
  label: string;
  editions: SampleEdition[];
  installImage: 'sources/install.wim' | 'sources/install.esd';
  biosMarker: string;
}

export const SAMPLE_DEFAULTS = { sizeMb: 48, editions: 3, seed: 1, label: 'DF_SAMPLE_X64FRE_EN-US' } as const;
const MIN_SIZE_MB = 8;
const MIB = 1024 * 1024;

function validate(options: SampleMediaOptions): Required<Omit<SampleMediaOptions, 'workDir' | 'progress'>> {
  const sizeMb = options.sizeMb ?? SAMPLE_DEFAULTS.sizeMb;
  const editions = options.editions ?? SAMPLE_DEFAULTS.editions;
  const seed = options.seed ?? SAMPLE_DEFAULTS.seed;
  const label = options.label ?? SAMPLE_DEFAULTS.label;
  if (!Number.isInteger(sizeMb) || sizeMb < MIN_SIZE_MB || sizeMb > 64 * 1024) {
    throw new InputError('DF_BAD_OPTION', `--size-mb must be a whole number from ${MIN_SIZE_MB} to 65536, got ${sizeMb}`);
  }
  if (!Number.isInteger(editions) || editions < 1 || editions > SAMPLE_EDITIONS.length) {
    throw new InputError('DF_BAD_OPTION', `--editions must be from 1 to ${SAMPLE_EDITIONS.length}, got ${editions}`);
  }
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new InputError('DF_BAD_OPTION', `--seed must be a whole number from 0 to 4294967295, got ${seed}`);
  // ECMA-119 §7.4.1 d-characters; 32 bytes for the volume identifier.
  if (!/^[A-Z0-9_-]{1,32}$/.test(label)) throw new InputError('DF_BAD_OPTION', `--label must be 1-32 characters A-Z, 0-9, _ or -, got '${label}'`);
  return { sizeMb, editions, seed, label, esd: options.esd ?? false };
}

async function writeHive(path: string, tree: Parameters<typeof buildHive>[0], fileName: string): Promise<void> {
  await writeFile(path, buildHive(tree, { lastWritten: SAMPLE_TIME, fileName }));
}

/** Stages one Windows root (install or WinPE) with hives, kernel32 stub and config folder. */
async function stageWindowsRoot(root: string, software: Parameters<typeof buildHive>[0], system: Parameters<typeof buildHive>[0], full: boolean): Promise<void> {
  const config = join(root, 'Windows', 'System32', 'config');
  await mkdir(config, { recursive: true });
  await writeFile(join(root, 'Windows', 'System32', 'kernel32.dll'), makePeStub());
  await writeHive(join(config, 'SOFTWARE'), software, '\\SystemRoot\\System32\\Config\\SOFTWARE');
  await writeHive(join(config, 'SYSTEM'), system, '\\SystemRoot\\System32\\Config\\SYSTEM');
  if (!full) return;
  await writeHive(join(config, 'DEFAULT'), defaultUserHive(), '\\SystemRoot\\System32\\Config\\DEFAULT');
  await writeHive(join(config, 'SAM'), samHive(), '\\SystemRoot\\System32\\Config\\SAM');
  await writeHive(join(config, 'SECURITY'), securityHive(), '\\SystemRoot\\System32\\Config\\SECURITY');
  await mkdir(join(root, 'Users', 'Default'), { recursive: true });
  await writeHive(join(root, 'Users', 'Default', 'NTUSER.DAT'), defaultUserHive(), '\\??\\C:\\Users\\Default\\ntuser.dat');
  for (const app of SAMPLE_PROVISIONED_APPS) {
    const dir = join(root, 'Program Files', 'WindowsApps', app);
    await mkdir(dir, { recursive: true });
    const [name, version, arch] = app.split('_');
    await writeFile(
      join(dir, 'AppxManifest.xml'),
      `<?xml version="1.0" encoding="utf-8"?>\r\n<Package xmlns="http://schemas.microsoft.com/appx/manifest/foundation/windows10">\r\n  <Identity Name="${name}" Version="${version}" ProcessorArchitecture="${arch || 'neutral'}" Publisher="CN=Microsoft Corporation, O=Microsoft Corporation, L=Redmond, S=Washington, C=US" />\r\n</Package>\r\n`,
    );
  }
}

/** Sets every file and folder below `dir` to SAMPLE_TIME; reading files moves their access
 *  times, so this runs again before each capture. */
async function pinTimes(dir: string): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await pinTimes(path);
    await utimes(path, SAMPLE_TIME, SAMPLE_TIME);
  }
  await utimes(dir, SAMPLE_TIME, SAMPLE_TIME);
}

function hex32(n: bigint): string {
  return `0x${n.toString(16).toUpperCase().padStart(8, '0')}`;
}

/** wimlib stamps the capture time and a random GUID; pin both so the same seed gives the same bytes. */
async function pinWimIdentity(wimPath: string, imageCount: number, random: SeededRandom): Promise<void> {
  const high = hex32(SAMPLE_FILETIME >> 32n);
  const low = hex32(SAMPLE_FILETIME & 0xffffffffn);
  for (let index = 1; index <= imageCount; index++) {
    await runTool('wimlib-imagex', [
      'info',
      wimPath,
      String(index),
      '--image-property',
      `CREATIONTIME/HIGHPART=${high}`,
      '--image-property',
      `CREATIONTIME/LOWPART=${low}`,
      '--image-property',
      `LASTMODIFICATIONTIME/HIGHPART=${high}`,
      '--image-property',
      `LASTMODIFICATIONTIME/LOWPART=${low}`,
    ]);
  }
  // `info` appends the new XML and leaves the old one (with capture times) as a hole; a rebuild
  // drops the holes and copies compressed resources as they are.
  await runTool('wimlib-imagex', ['optimize', wimPath]);
  // wimlib header.h: the GUID is 16 bytes at offset 0x18 of the header; nothing else covers it.
  const guid = new Uint8Array(16);
  random.fill(guid);
  const { open } = await import('node:fs/promises');
  const handle = await open(wimPath, 'r+');
  try {
    await handle.write(guid, 0, 16, 0x18);
  } finally {
    await handle.close();
  }
}

async function captureImages(
  wimPath: string,
  images: { dir: string; name: string; description: string; boot?: boolean; prepare?: () => Promise<void> }[],
  compress: string,
): Promise<void> {
  for (const [i, image] of images.entries()) {
    await image.prepare?.();
    await pinTimes(image.dir);
    const args = [i === 0 ? 'capture' : 'append', image.dir, wimPath, image.name, image.description, `--compress=${compress}`];
    if (image.boot) args.push('--boot');
    await runTool('wimlib-imagex', args);
  }
}

/** Builds the sample ISO at `outPath` (written atomically). */
export async function makeSampleMedia(outPath: string, options: SampleMediaOptions = {}): Promise<SampleMediaResult> {
  const { sizeMb, editions: editionCount, seed, label, esd } = validate(options);
  const progress = options.progress ?? silentProgress;
  const random = new SeededRandom(seed);
  const editions = SAMPLE_EDITIONS.slice(0, editionCount);
  const work = await mkdtemp(join(options.workDir ?? tmpdir(), 'deployforge-sample-'));
  const steps = 6;
  const step = (done: number) => progress.emit({ phase: 'sample media', done, total: steps, unit: 'steps' });
  try {
    const iso = join(work, 'iso');
    const sources = join(iso, 'sources');
    await mkdir(sources, { recursive: true });
    await mkdir(join(iso, 'boot'), { recursive: true });
    await mkdir(join(iso, 'efi', 'microsoft', 'boot'), { recursive: true });
    await mkdir(join(iso, 'efi', 'boot'), { recursive: true });
    step(0);

    // Boot images, as on retail media: BIOS no-emulation loader and the UEFI FAT image.
    await writeFile(join(iso, 'boot', 'etfsboot.com'), makeBiosBootImage(SAMPLE_BIOS_MARKER));
    await makeEfiBootImage(join(iso, 'efi', 'microsoft', 'boot', 'efisys.bin'), DEFAULT_EFI_APP);
    await copyFile(DEFAULT_EFI_APP, join(iso, 'efi', 'boot', 'bootx64.efi'));
    await writeFile(join(iso, 'autorun.inf'), '[AutoRun.Amd64]\r\nopen=setup.exe\r\nicon=setup.exe,0\r\n');
    step(1);

    // boot.wim: index 1 WinPE, index 2 Setup (the boot image, as on retail media).
    const pe: SampleEdition = { name: 'Microsoft Windows PE (amd64)', editionId: 'WindowsPE', description: 'Microsoft Windows PE (amd64)' };
    const setup: SampleEdition = { name: 'Microsoft Windows Setup (amd64)', editionId: 'WindowsPE', description: 'Microsoft Windows Setup (amd64)' };
    const bootPe = join(work, 'boot-pe');
    const bootSetup = join(work, 'boot-setup');
    await stageWindowsRoot(bootPe, softwareHive(pe, 'winpe'), systemHive('winpe'), false);
    await stageWindowsRoot(bootSetup, softwareHive(setup, 'winpe'), systemHive('winpe-setup'), false);
    await mkdir(join(bootSetup, 'sources'), { recursive: true });
    await writeFile(join(bootSetup, 'sources', 'lang.ini'), '[Available UI Languages]\r\nen-us = 3\r\n\r\n[Fallback Languages]\r\nen-us = en-us\r\n');
    const bootWim = join(sources, 'boot.wim');
    await captureImages(
      bootWim,
      [
        { dir: bootPe, name: pe.name, description: pe.description },
        { dir: bootSetup, name: setup.name, description: setup.description, boot: true },
      ],
      'LZX',
    );
    await pinWimIdentity(bootWim, 2, random);
    step(2);

    // install image: shared files plus one SOFTWARE hive per edition.
    const install = join(work, 'install');
    await stageWindowsRoot(install, softwareHive(editions[0]), systemHive('install'), true);
    const fixed = (await stat(bootWim)).size + (await stat(join(iso, 'efi', 'microsoft', 'boot', 'efisys.bin'))).size + 2 * MIB;
    const fillerTotal = Math.max(0, sizeMb * MIB - fixed) * 2;
    const repository = join(install, 'Windows', 'System32', 'DriverStore', 'FileRepository');
    await mkdir(repository, { recursive: true });
    const fileSize = 8 * MIB;
    let written = 0;
    for (let n = 0; written < fillerTotal; n++) {
      const size = Math.min(fileSize, fillerTotal - written);
      const folder = join(repository, `sample${n.toString().padStart(3, '0')}.inf_amd64_${(seed + n).toString(16).padStart(8, '0')}`);
      await mkdir(folder, { recursive: true });
      await writeFillerFile(join(folder, `sample${n}.sys`), size, (seed * 7919 + n) >>> 0);
      written += size;
      progress.emit({ phase: 'sample filler', done: written, total: fillerTotal, unit: 'bytes' });
    }
    step(3);

    const wimPath = join(work, 'install.wim');
    await captureImages(
      wimPath,
      editions.map((edition) => ({
        dir: install,
        name: edition.name,
        description: edition.description,
        prepare: () => writeHive(join(install, 'Windows', 'System32', 'config', 'SOFTWARE'), softwareHive(edition), '\\SystemRoot\\System32\\Config\\SOFTWARE'),
      })),
      esd ? 'none' : 'LZX',
    );
    await pinWimIdentity(wimPath, editions.length, random);
    let installImage: SampleMediaResult['installImage'] = 'sources/install.wim';
    if (esd) {
      const esdPath = join(sources, 'install.esd');
      await runTool('wimlib-imagex', ['export', wimPath, 'all', esdPath, '--solid']);
      await pinWimIdentity(esdPath, editions.length, random);
      installImage = 'sources/install.esd';
    } else {
      await copyFile(wimPath, join(sources, 'install.wim'));
    }
    await rm(wimPath);
    step(4);

    await pinTimes(iso);
    await mkdir(join(outPath, '..'), { recursive: true });
    await withAtomicOutput(outPath, async (partial) => {
      await runTool(
        'xorriso',
        [
          '-as',
          'mkisofs',
          '-iso-level',
          '3',
          '-J',
          '-joliet-long',
          '-V',
          label,
          '-b',
          'boot/etfsboot.com',
          '-no-emul-boot',
          '-boot-load-size',
          '8',
          '-eltorito-alt-boot',
          '-e',
          'efi/microsoft/boot/efisys.bin',
          '-no-emul-boot',
          '--boot-catalog-hide',
          '-o',
          partial,
          iso,
        ],
        { env: { ...process.env, SOURCE_DATE_EPOCH: String(SAMPLE_TIME.getTime() / 1000) } },
      );
    });
    step(6);
    const size = (await stat(outPath)).size;
    return { path: outPath, size, label, editions, installImage, biosMarker: SAMPLE_BIOS_MARKER };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
