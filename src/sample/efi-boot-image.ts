// The UEFI boot image of the sample install media: a small FAT file system image (the role of
// Microsoft's efi/microsoft/boot/efisys.bin) holding one x64 UEFI application at the removable-
// media path EFI/BOOT/BOOTX64.EFI, built with mtools and read back to check it.
// It deliberately does not write FAT itself, sign anything for Secure Boot, or add a boot
// manager, BCD or fonts: firmware finds the app by its path alone.

import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { access, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EnvironmentError, InputError, OperationError } from '../errors.js';
import { runTool } from '../util/exec.js';
import { withAtomicOutput } from '../util/fs.js';

/** Debian efitools' test application: prints a "HelloWorld" box with a line of text. */
export const EFITOOLS_HELLO_WORLD_PATH = '/usr/lib/efitools/x86_64-linux-gnu/HelloWorld.efi';

/** Where firmware looks for a bootable app on removable media on x64 (UEFI 2.x §3.5.1.1
 *  "Removable Media Boot Behavior": \EFI\BOOT\BOOT{machine type short name}.EFI, X64 for x64). */
export const EFI_REMOVABLE_BOOT_PATH = 'EFI/BOOT/BOOTX64.EFI';

/** A 1.44 MB floppy geometry (2880 sectors), the size of Microsoft's and ReactOS's efisys.bin. */
export const DEFAULT_EFI_IMAGE_KIB = 1440;
const MIN_EFI_IMAGE_KIB = 64;
// FAT16 with at most 65524 clusters of 4 KiB; larger images would need FAT32, which some
// firmware does not accept in an El Torito image, and no sample needs them.
const MAX_EFI_IMAGE_KIB = 256 * 1024;

export interface EfiBootImageOptions {
  /** Image size in KiB; default 1440, or larger when the app needs it. */
  sizeKiB?: number;
  /** Time stamped on the FAT directory entries (default 2024-07-01T00:00:00Z). */
  timestamp?: Date;
}

export const EFI_IMAGE_DEFAULT_TIME = new Date('2024-07-01T00:00:00Z');

/** PE/COFF (Microsoft PE format, "MS-DOS Stub" and "COFF File Header"): "MZ" at 0, the PE header
 *  offset at 0x3C, "PE\0\0" there, then Machine; 0x8664 is IMAGE_FILE_MACHINE_AMD64. */
function checkX64PeImage(app: Uint8Array, name: string): void {
  const view = new DataView(app.buffer, app.byteOffset, app.byteLength);
  const fail = (why: string): never => {
    throw new InputError('DF_BAD_EFI_APP', `${name} is not an x64 UEFI application (${why}): give a PE32+ file built for x86-64`, { name });
  };
  if (app.byteLength < 0x40 || app[0] !== 0x4d || app[1] !== 0x5a) fail('no MZ header');
  const peOffset = view.getUint32(0x3c, true);
  if (peOffset + 6 > app.byteLength || view.getUint32(peOffset, true) !== 0x00004550) fail('no PE signature');
  const machine = view.getUint16(peOffset + 4, true);
  if (machine !== 0x8664) fail(`machine type 0x${machine.toString(16)}`);
}

async function loadEfiApp(efiApp: Uint8Array | string): Promise<{ bytes: Uint8Array; name: string }> {
  if (typeof efiApp !== 'string') return { bytes: efiApp, name: 'the EFI application' };
  try {
    await access(efiApp, constants.R_OK);
  } catch {
    if (efiApp === EFITOOLS_HELLO_WORLD_PATH) {
      throw new EnvironmentError('DF_EFI_APP_MISSING', `${efiApp} is missing: run 'apt-get install efitools'`, { path: efiApp });
    }
    throw new InputError('DF_NOT_FOUND', `${efiApp} does not exist or is unreadable: check the path`, { path: efiApp });
  }
  return { bytes: await readFile(efiApp), name: efiApp };
}

/** Size in KiB: the requested one (checked), or 1440 unless the app needs more. */
function chooseSizeKiB(appBytes: number, requested: number | undefined): number {
  // Room for the boot sector, two FATs, the root directory, two directory clusters and cluster
  // rounding of the app, with margin; an estimate that mcopy's own "disk full" backs up.
  const neededKiB = Math.ceil((appBytes * 1.05) / 1024) + 64;
  if (requested === undefined) return Math.max(DEFAULT_EFI_IMAGE_KIB, Math.ceil(neededKiB / 64) * 64);
  if (!Number.isInteger(requested) || requested < MIN_EFI_IMAGE_KIB || requested > MAX_EFI_IMAGE_KIB) {
    throw new InputError('DF_BAD_EFI_IMAGE_SIZE', `EFI image size must be a whole number of KiB from ${MIN_EFI_IMAGE_KIB} to ${MAX_EFI_IMAGE_KIB}: got ${requested}`, {
      requested,
    });
  }
  if (requested < neededKiB) {
    throw new InputError('DF_EFI_IMAGE_TOO_SMALL', `an EFI image of ${requested} KiB cannot hold a ${appBytes}-byte app: use at least ${neededKiB} KiB or leave the size out`, {
      requested,
      neededKiB,
    });
  }
  return requested;
}

/** Writes a FAT image to `outPath` holding `efiApp` (bytes, or a file path; default efitools'
 *  HelloWorld.efi) as EFI/BOOT/BOOTX64.EFI, and checks the copy inside reads back identical. */
export async function makeEfiBootImage(outPath: string, efiApp: Uint8Array | string = EFITOOLS_HELLO_WORLD_PATH, options: EfiBootImageOptions = {}): Promise<void> {
  const app = await loadEfiApp(efiApp);
  checkX64PeImage(app.bytes, app.name);
  const sizeKiB = chooseSizeKiB(app.bytes.byteLength, options.sizeKiB);

  const staging = await mkdtemp(join(tmpdir(), 'deployforge-efi-'));
  try {
    const appFile = join(staging, 'BOOTX64.EFI');
    await writeFile(appFile, app.bytes);
    await withAtomicOutput(outPath, async (image) => {
      // -C creates the file. The floppy format matches efisys.bin exactly; other sizes use a
      // hard-disk-like geometry (64 heads × 32 sectors), and mformat picks FAT12 or FAT16 by
      // cluster count (Microsoft FAT spec, "FAT Type Determination").
      const geometry = sizeKiB === DEFAULT_EFI_IMAGE_KIB ? ['-f', '1440'] : ['-T', String(sizeKiB * 2), '-h', '64', '-s', '32'];
      // mformat picks a random volume serial and mtools stamps the current time; a serial
      // derived from the app and SOURCE_DATE_EPOCH make the same inputs give the same image.
      const serial = createHash('sha256').update(app.bytes).digest().readUInt32LE(0).toString(16).padStart(8, '0');
      const env = { ...process.env, SOURCE_DATE_EPOCH: String(Math.floor((options.timestamp ?? EFI_IMAGE_DEFAULT_TIME).getTime() / 1000)) };
      await runTool('mformat', ['-i', image, '-C', ...geometry, '-v', 'EFISYS', '-N', serial, '::'], { env });
      await runTool('mmd', ['-i', image, '::/EFI', '::/EFI/BOOT'], { env });
      await runTool('mcopy', ['-i', image, appFile, `::/${EFI_REMOVABLE_BOOT_PATH}`], { env });
      await verifyEfiBootImage(image, app.bytes);
    });
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** Reads the app back with mtools; throws OperationError unless it is byte-for-byte `expected`. */
async function verifyEfiBootImage(image: string, expected: Uint8Array): Promise<void> {
  const listing = await runTool('mdir', ['-i', image, '::/EFI/BOOT']);
  const entry = /^BOOTX64\s+EFI\s+(\d+)\s/m.exec(listing.stdout);
  const copy = await runTool('mcopy', ['-i', image, `::/${EFI_REMOVABLE_BOOT_PATH}`, '-'], { binary: true });
  if (!entry || Number(entry[1]) !== expected.byteLength || !copy.stdout.equals(expected)) {
    throw new OperationError(
      'DF_EFI_IMAGE_MISMATCH',
      `the FAT image does not hold the EFI app intact at ${EFI_REMOVABLE_BOOT_PATH}: check mtools and free space in the output folder`,
      {
        listed: entry?.[1],
        expectedBytes: expected.byteLength,
      },
    );
  }
}
