// The `drivers` step: checks folders of driver packages against the edition (every INF installs on
// its architecture, the files it copies and its catalog are there) and stages them the ways
// Windows Setup installs drivers: a folder in the image named in the offlineServicing pass,
// `$WinPEDriver$` on the media, and boot-critical packages in boot.wim named in the windowsPE pass.
// It installs nothing offline: there is no driver store here, so Setup does it during installation.
import type { Dirent } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { basename, join, posix, resolve } from 'node:path';
import { z } from 'zod';
import { InputError } from '../../errors.js';
import { type DriverArchitecture, type DriverFinding, type OsVersion, validateDriverFolder } from '../../formats/inf/index.js';
import { decodeValueData } from '../../formats/regf/value.js';
import type { WindowsImage } from '../../image/windows-image.js';
import { InputPath } from '../../recipe/schema.js';
import { shortSize } from '../../util/size-text.js';
import { defineStep, type StepPlan } from '../define-step.js';
import { hiveIfPresent } from '../registry/step.js';

export const DRIVER_INJECTIONS = ['winpe-driver-folder', 'image', 'boot-wim'] as const;
export type DriverInjection = (typeof DRIVER_INJECTIONS)[number];

export const DriversStepSchema = z
  .object({
    type: z.literal('drivers'),
    description: z.string().optional(),
    folders: z.array(InputPath).min(1).describe('folders of driver packages (.inf with its .sys, .cat and other files), one package or many per folder'),
    inject: z
      .array(z.enum(DRIVER_INJECTIONS))
      .min(1)
      .optional()
      .describe(
        'image: copy into the image and name the folder in the offlineServicing pass; winpe-driver-folder: $WinPEDriver$ on the media, which Setup loads by itself; boot-wim: boot-critical (storage, network) packages into boot.wim for Setup. Default [image]',
      ),
    allowWarnings: z.boolean().optional().describe('accept driver packages with warnings (no catalog: unsigned) instead of failing the plan'),
  })
  .strict()
  .describe('validate driver packages and stage them for Windows Setup: in the image, on the media ($WinPEDriver$) and in boot.wim');
export type DriversStep = z.infer<typeof DriversStepSchema>;

// ── where things go ──────────────────────────────────────────────────────────────────────────

/** In install.wim: a folder at the root of the Windows volume, as MDT's C:\Drivers (its offline
 *  servicing entry, "BDD 2007 – driver injection", blogs.msdn.microsoft.com/steverac, 2007-04-27). */
export const IMAGE_DRIVER_ROOT = '/Drivers/DeployForge';
/** The same folder as Setup names it in offlineServicing. Setup runs that pass from Windows PE,
 *  where the new Windows volume is normally C: (Microsoft's PnpCustomizationsNonWinPE example uses
 *  C:\Drivers); %SystemDrive% would be Windows PE's own X: there, so it cannot be used. */
export const IMAGE_DRIVER_SETUP_PATH = 'C:\\Drivers\\DeployForge';
/** In boot.wim index 2, which Windows PE runs from the X: RAM disk. */
export const BOOT_DRIVER_ROOT = '/Drivers/DeployForge';
export const BOOT_DRIVER_SETUP_PATH = 'X:\\Drivers\\DeployForge';
/** On the media: Setup looks for this folder at the root of every drive (Microsoft Learn,
 *  troubleshoot/windows-client/setup-upgrade-and-drivers/limitations-dollar-sign-winpedriver-dollar-sign). */
export const MEDIA_DRIVER_ROOT = '$WinPEDriver$';
/** Specialize runs in the installed Windows, whose volume is C: by then: pnputil stages and
 *  installs whatever offlineServicing missed (PnPUtil command syntax, /add-driver /subdirs /install,
 *  Windows 10 1607 and later). Output goes beside the other setup logs. */
export const PNPUTIL_COMMAND = `cmd.exe /c pnputil.exe /add-driver "${IMAGE_DRIVER_SETUP_PATH}\\*.inf" /subdirs /install >> "C:\\Windows\\Setup\\Scripts\\drivers.log" 2>&1`;

// ── changes ──────────────────────────────────────────────────────────────────────────────────

export interface DriverInfSummary {
  inf: string;
  class?: string;
  provider?: string;
  driverVer?: string;
  bootCritical: boolean;
  bootCriticalReason?: string;
  catalogPresent: boolean;
}

export type DriversChange =
  | {
      kind: 'package';
      when: 'windows-setup';
      /** The local folder (absolute). */
      folder: string;
      /** Its name in every destination: NN-<folder name>. */
      name: string;
      architecture: DriverArchitecture;
      infs: DriverInfSummary[];
      files: number;
      bytes: number;
    }
  | {
      kind: 'copy';
      when: 'windows-setup';
      target: 'image' | 'media' | 'boot-wim';
      folder: string;
      /** Image path (leading /) or media path (no leading /) the files go under. */
      destination: string;
      /** '/'-separated paths relative to `folder`. */
      files: string[];
    }
  | { kind: 'driver-path'; when: 'windows-setup'; pass: 'offlineServicing' | 'windowsPE'; path: string }
  | { kind: 'specialize-command'; when: 'windows-setup'; commandLine: string; description: string };

// ── plan ─────────────────────────────────────────────────────────────────────────────────────

const ARCHITECTURES: Record<string, DriverArchitecture> = { amd64: 'amd64', arm64: 'arm64', x86: 'x86' };

async function editionArchitecture(image: WindowsImage, warnings: string[]): Promise<DriverArchitecture> {
  const arch = await image.architecture();
  if (arch === null) {
    warnings.push(`image ${image.index} does not record its architecture; drivers are checked for amd64`);
    return 'amd64';
  }
  const known = ARCHITECTURES[arch];
  if (!known) throw new InputError('DF_DRIVERS_ARCH', `image ${image.index} is ${arch}; drivers can be checked for amd64, arm64 and x86 only`, { architecture: arch });
  return known;
}

/** The edition's Windows version from SOFTWARE, to pick version-decorated Models sections; undefined when not recorded. */
async function editionVersion(image: WindowsImage): Promise<OsVersion | undefined> {
  const software = await hiveIfPresent(image, 'SOFTWARE');
  if (!software) return undefined;
  const key = software.hive.key('Microsoft\\Windows NT\\CurrentVersion');
  const read = (name: string): number | undefined => {
    const v = key?.value(name);
    if (!v) return undefined;
    const text = String(decodeValueData(v.type, v.raw));
    return /^\d+$/.test(text) ? Number(text) : undefined;
  };
  const build = read('CurrentBuildNumber') ?? read('CurrentBuild');
  const major = read('CurrentMajorVersionNumber');
  const minor = read('CurrentMinorVersionNumber');
  // Windows 10 and 11 both report 10.0; only the build tells them apart.
  if (major === undefined || minor === undefined) return build !== undefined && build >= 10240 ? { major: 10, minor: 0, build } : undefined;
  return { major, minor, build };
}

// Characters Windows refuses in a file name (Naming Files, Paths, and Namespaces), and control characters.
const BAD_WINDOWS_NAME = /[<>:"|?*\\\x00-\x1f]|[. ]$/;

/** Every regular file below `folder` ('/'-separated, sorted) with its size; linked folders are not followed (as validateDriverFolder). */
async function listFiles(folder: string): Promise<{ path: string; size: number }[]> {
  const out: { path: string; size: number }[] = [];
  const walk = async (rel: string, depth: number): Promise<void> => {
    const entries: Dirent[] = await readdir(join(folder, rel), { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const path = rel === '' ? entry.name : `${rel}/${entry.name}`;
      if (BAD_WINDOWS_NAME.test(entry.name)) {
        throw new InputError('DF_DRIVERS_BAD_NAME', `${join(folder, path)}: Windows cannot hold a file named "${entry.name}"; rename it`, { folder, path });
      }
      const info = entry.isSymbolicLink() ? await stat(join(folder, path)).catch(() => undefined) : undefined;
      if (entry.isFile() || info?.isFile()) out.push({ path, size: info?.size ?? (await stat(join(folder, path))).size });
      else if (entry.isDirectory() && depth < 16) await walk(path, depth + 1);
    }
  };
  await walk('', 0);
  return out;
}

/** NN-<folder name>, with what Windows, ISO 9660/Joliet and cmd.exe all accept. */
function packageName(index: number, folder: string): string {
  const base =
    basename(folder)
      .replace(/[^A-Za-z0-9._-]+/g, '_')
      .replace(/^[._]+|[._]+$/g, '') || 'drivers';
  return `${String(index + 1).padStart(2, '0')}-${base.slice(0, 48)}`;
}

const describeFinding = (folder: string, f: DriverFinding) => `${basename(folder)}/${f.inf} ${f.code}: ${f.message}`;

async function planDrivers(options: DriversStep, image: WindowsImage, baseDir: string): Promise<StepPlan<DriversChange>> {
  const warnings: string[] = [];
  const setupTimeNotes: string[] = [];
  const inject = [...new Set(options.inject ?? ['image'])] as DriverInjection[];
  const architecture = await editionArchitecture(image, warnings);
  const osVersion = await editionVersion(image);

  const packages: DriversChange[] = [];
  const copies: DriversChange[] = [];
  const problems: string[] = [];
  const blocking: DriverFinding[] = [];
  let bootCriticalCount = 0;
  const seen = new Set<string>();

  for (const [index, given] of options.folders.entries()) {
    const folder = resolve(baseDir, given);
    if (seen.has(folder)) {
      warnings.push(`driver folder ${given} is listed twice; it is added once`);
      continue;
    }
    seen.add(folder);
    const report = await validateDriverFolder(folder, { architecture, osVersion });
    for (const finding of report.findings) {
      if (finding.severity === 'error' || (finding.severity === 'warning' && !options.allowWarnings)) {
        blocking.push(finding);
        problems.push(describeFinding(folder, finding));
      } else if (finding.severity === 'warning') warnings.push(describeFinding(folder, finding));
    }
    if (problems.length > 0) continue;

    const files = await listFiles(folder);
    const name = packageName(index, folder);
    const infs: DriverInfSummary[] = report.infs.map((inf) => ({
      inf: inf.inf,
      class: inf.class,
      provider: inf.provider,
      driverVer: inf.driverVer,
      bootCritical: inf.bootCritical,
      bootCriticalReason: inf.bootCriticalReason,
      catalogPresent: inf.catalogPresent,
    }));
    packages.push({
      kind: 'package',
      when: 'windows-setup',
      folder,
      name,
      architecture,
      infs,
      files: files.length,
      bytes: files.reduce((sum, f) => sum + f.size, 0),
    });
    const all = files.map((f) => f.path);
    if (inject.includes('image')) copies.push({ kind: 'copy', when: 'windows-setup', target: 'image', folder, destination: `${IMAGE_DRIVER_ROOT}/${name}`, files: all });
    if (inject.includes('winpe-driver-folder'))
      copies.push({ kind: 'copy', when: 'windows-setup', target: 'media', folder, destination: `${MEDIA_DRIVER_ROOT}/${name}`, files: all });

    // boot.wim gets only what its boot-critical INFs need: the INF, its catalog and the files it copies.
    const critical = report.infs.filter((inf) => inf.bootCritical && inf.supported);
    bootCriticalCount += critical.length;
    if (inject.includes('boot-wim') && critical.length > 0) {
      const actual = new Map(all.map((p) => [p.toLowerCase(), p]));
      const wanted = new Set<string>();
      for (const inf of critical) {
        wanted.add(inf.inf);
        const dir = posix.dirname(inf.inf) === '.' ? '' : `${posix.dirname(inf.inf)}/`;
        if (inf.catalogFile && inf.catalogPresent) wanted.add(actual.get(`${dir}${inf.catalogFile}`.toLowerCase()) ?? `${dir}${inf.catalogFile}`);
        for (const file of inf.files) if (file.present) wanted.add(actual.get(file.path.toLowerCase()) ?? file.path);
      }
      copies.push({ kind: 'copy', when: 'windows-setup', target: 'boot-wim', folder, destination: `${BOOT_DRIVER_ROOT}/${name}`, files: [...wanted].sort() });
    }
  }

  if (blocking.length > 0) {
    const errors = blocking.filter((f) => f.severity === 'error').length;
    const warned = blocking.length - errors;
    const counts = [errors > 0 ? `${errors} error(s)` : '', warned > 0 ? `${warned} warning(s)` : ''].filter(Boolean).join(' and ');
    const hint = warned > 0 ? '; fix them, or set allowWarnings: true to accept the warnings' : '';
    throw new InputError('DF_DRIVERS_INVALID', `driver packages for ${architecture} have ${counts}: ${problems.join('; ')}${hint}`, {
      architecture,
      findings: blocking,
    });
  }

  const paths: DriversChange[] = [];
  if (inject.includes('image') && packages.length > 0) {
    paths.push({ kind: 'driver-path', when: 'windows-setup', pass: 'offlineServicing', path: IMAGE_DRIVER_SETUP_PATH });
    paths.push({
      kind: 'specialize-command',
      when: 'windows-setup',
      commandLine: PNPUTIL_COMMAND,
      description: 'DeployForge drivers: add and install the driver packages copied into the image',
    });
    setupTimeNotes.push(
      `driver packages are copied to ${IMAGE_DRIVER_SETUP_PATH} in the image; Windows Setup adds them to the driver store in the offlineServicing pass (PnpCustomizationsNonWinPE DriverPaths) and pnputil adds and installs them again in specialize, logged to C:\\Windows\\Setup\\Scripts\\drivers.log. Setup reads the offlineServicing path from Windows PE, where the new Windows volume is normally C:; on a machine with other volumes it may have another letter, and then only the specialize pass adds them, after the first start: use winpe-driver-folder or boot-wim for drivers Windows needs to start`,
    );
  }
  if (inject.includes('boot-wim') && copies.some((c) => c.kind === 'copy' && c.target === 'boot-wim')) {
    paths.push({ kind: 'driver-path', when: 'windows-setup', pass: 'windowsPE', path: BOOT_DRIVER_SETUP_PATH });
    setupTimeNotes.push(
      `boot-critical driver packages are copied into boot.wim (index 2, Windows Setup) at ${BOOT_DRIVER_SETUP_PATH} and named in the windowsPE pass (PnpCustomizationsWinPE DriverPaths): Setup loads them for itself, so it sees the disk or network behind them, and stages them into the installed system`,
    );
  }
  if (inject.includes('winpe-driver-folder') && packages.length > 0) {
    setupTimeNotes.push(
      `driver packages are copied to /${MEDIA_DRIVER_ROOT} on the media: Windows Setup looks for that folder on every drive when setup.exe starts and loads the drivers, with or without an answer file (KB2686316, which also asks for one version of each driver across the media, boot.wim and the image: these are the same files); the folder only exists on an ISO or folder output`,
    );
  }
  if ((inject.includes('image') || inject.includes('boot-wim')) && paths.length > 0) {
    setupTimeNotes.push('the DriverPaths and the specialize command are added to the answer file DeployForge writes; without that answer file on the media they are not used');
  }
  if (inject.includes('boot-wim') && bootCriticalCount === 0 && packages.length > 0) {
    warnings.push('inject lists boot-wim, but no driver package is boot-critical (storage or network class, or a boot-start service): nothing is added to boot.wim');
  }
  if (bootCriticalCount > 0 && !inject.includes('boot-wim') && !inject.includes('winpe-driver-folder')) {
    warnings.push(
      `${bootCriticalCount} boot-critical driver(s) (storage or network) are only in the image: Windows Setup itself cannot use them to find the disk or network; add winpe-driver-folder or boot-wim to inject`,
    );
  }
  return { changes: [...packages, ...copies, ...paths], warnings, setupTimeNotes };
}

// ── apply ────────────────────────────────────────────────────────────────────────────────────

export const driversStep = defineStep<DriversStep, DriversChange>({
  id: 'drivers',
  schema: DriversStepSchema,
  plan(options, image, context) {
    return planDrivers(options, image, context.baseDir);
  },
  async apply(changes, image, progress, context) {
    const work = changes.filter((c) => c.kind !== 'package');
    let done = 0;
    for (const change of work) {
      switch (change.kind) {
        case 'copy': {
          if (change.target === 'image') {
            for (const file of change.files) image.copyFileIn(`${change.destination}/${file}`, join(change.folder, file));
          } else if (change.target === 'media') {
            for (const file of change.files) context.media.addFile(`${change.destination}/${file}`, join(change.folder, file));
          } else {
            const boot = await context.bootImage();
            const bootArch = await boot.architecture();
            const editionArch = await image.architecture();
            if (bootArch !== null && editionArch !== null && bootArch !== editionArch) {
              throw new InputError('DF_DRIVERS_BOOT_ARCH', `boot.wim is ${bootArch} but image ${image.index} is ${editionArch}: its drivers cannot serve both`, {
                bootArch,
                editionArch,
              });
            }
            for (const file of change.files) boot.copyFileIn(`${change.destination}/${file}`, join(change.folder, file));
          }
          break;
        }
        case 'driver-path': {
          // One answer file serves every edition; apply runs once per edition.
          const list = context.unattend.driverPaths[change.pass];
          if (!list.some((p) => p.toLowerCase() === change.path.toLowerCase())) list.push(change.path);
          break;
        }
        case 'specialize-command':
          if (!context.unattend.specializeCommands.some((c) => c.commandLine === change.commandLine)) {
            context.unattend.specializeCommands.push({ commandLine: change.commandLine, description: change.description });
          }
          break;
        default:
          break;
      }
      progress.emit({ phase: 'drivers', done: ++done, total: work.length, unit: 'items' });
    }
  },
  describe(change) {
    switch (change.kind) {
      case 'package':
        return [
          `driver package ${change.name} from ${change.folder} (${change.files} files, ${shortSize(change.bytes)}, checked for ${change.architecture})`,
          ...change.infs.map(
            (inf) =>
              `  ${inf.inf}: ${inf.class ?? 'no class'}${inf.provider ? `, ${inf.provider}` : ''}${inf.driverVer ? `, ${inf.driverVer}` : ''}${inf.bootCritical ? ', boot-critical' : ''}${inf.catalogPresent ? '' : ', unsigned'}`,
          ),
        ];
      case 'copy': {
        const where = change.target === 'image' ? 'the image' : change.target === 'media' ? 'the media' : 'boot.wim index 2';
        const at = change.target === 'media' ? `/${change.destination}` : change.destination;
        return [`copy ${change.files.length} file(s) of ${basename(change.folder)} to ${at} ${change.target === 'media' ? 'on' : 'in'} ${where} (Windows Setup installs them)`];
      }
      case 'driver-path':
        return [`answer file ${change.pass} DriverPaths: ${change.path}`];
      case 'specialize-command':
        return [`specialize command: ${change.commandLine}`];
    }
  },
});
