// The `bypass` step: lets Windows 11 Setup continue on hardware that fails its TPM, Secure Boot,
// RAM, CPU or storage checks, each mechanism selectable: LabConfig values written offline into the
// SYSTEM hive of boot.wim index 2 (Rufus' way, no console window in Setup), MoSetup and LabConfig
// in the install image (tiny11's way), the answer-file windowsPE fallback, and an empty
// sources/appraiserres.dll for in-place upgrades. It does not replace setup.exe with a wrapper
// (Rufus does that for build 26000 and later, ANCHORS §2.3 item 5): that ships a binary of theirs.
import { z } from 'zod';
import { decodeValueData } from '../../formats/regf/value.js';
import { LAB_CONFIG_VALUES } from '../../formats/unattend/generate.js';
import type { TrackedHiveEdit, WindowsImage } from '../../image/windows-image.js';
import { defineStep, type StepPlan } from '../define-step.js';
import { encodeSetData, hiveIfPresent, type RegValueView, viewValue } from '../registry/step.js';

export const BYPASS_CHECKS = ['tpm', 'secureBoot', 'ram', 'cpu', 'storage'] as const;
export type BypassCheck = (typeof BYPASS_CHECKS)[number];

export const BypassStepSchema = z
  .object({
    type: z.literal('bypass'),
    description: z.string().optional(),
    checks: z
      .union([z.literal('all'), z.array(z.enum(BYPASS_CHECKS)).min(1)])
      .optional()
      .describe('which Setup checks to bypass: all (default) or a list of tpm, secureBoot, ram, cpu, storage'),
    bootWim: z.boolean().optional().describe('write the LabConfig values into the SYSTEM hive of boot.wim index 2 (default true; needs an ISO source)'),
    installImage: z
      .boolean()
      .optional()
      .describe('write MoSetup AllowUpgradesWithUnsupportedTPMOrCPU and the LabConfig values into each edition, for later in-place upgrades (default true)'),
    unattendFallback: z.boolean().optional().describe('also set the LabConfig values from the answer file’s windowsPE pass with reg.exe (default true)'),
    appraiserres: z.boolean().optional().describe('put an empty sources/appraiserres.dll on the media, for in-place upgrades started from setup.exe (default false)'),
  })
  .strict()
  .superRefine((step, ctx) => {
    if (step.bootWim === false && step.installImage === false && step.unattendFallback === false && !step.appraiserres) {
      ctx.addIssue({ code: 'custom', message: 'every mechanism is off: enable bootWim, installImage, unattendFallback or appraiserres' });
    }
  })
  .describe('let Windows 11 Setup continue on hardware without TPM 2.0, Secure Boot, enough RAM, a supported CPU or enough storage');
export type BypassStep = z.infer<typeof BypassStepSchema>;

/** Where a registry change lands: the edition being built, or boot.wim's Setup image. */
export type BypassTarget = 'install' | 'boot.wim:2';

export type BypassChange =
  | {
      kind: 'set-value';
      target: BypassTarget;
      hive: 'SYSTEM';
      key: string;
      value: string;
      type: number;
      data: Uint8Array;
      /** Read from the install image; absent for boot.wim, which plan() does not open. */
      old?: RegValueView | null;
      new: RegValueView;
      when: 'offline';
    }
  | { kind: 'unattend-bypass'; checks: BypassCheck[]; when: 'windows-setup' }
  | { kind: 'media-file'; path: string; size: 0; when: 'offline' };

// HKLM\SYSTEM\Setup\LabConfig, read by Windows Setup's hardware check (ANCHORS §2.3, §5.3, §5.5).
const LAB_CONFIG = 'Setup\\LabConfig';
// HKLM\SYSTEM\Setup\MoSetup AllowUpgradesWithUnsupportedTPMOrCPU = 1 lets an in-place upgrade
// started from a running Windows proceed with TPM 1.2 or an unlisted CPU (tiny11 and OSDCloud,
// ANCHORS §5.3/§5.5; Microsoft's "Ways to install Windows 11" support page listed it until 2025).
const MO_SETUP = 'Setup\\MoSetup';
const MO_SETUP_VALUE = 'AllowUpgradesWithUnsupportedTPMOrCPU';
const APPRAISERRES = 'sources/appraiserres.dll';
// Rufus adds its setup.exe wrapper from this build on, because the empty appraiserres.dll alone
// no longer gets an upgrade past the check (ANCHORS §2.3 item 5).
const SETUP_WRAPPER_BUILD = 26000;

const DWORD_ONE = encodeSetData({ key: LAB_CONFIG, name: 'x', type: 'REG_DWORD', data: 1 });

const CHECK_LABEL: Record<BypassCheck, string> = {
  tpm: 'TPM 2.0',
  secureBoot: 'Secure Boot',
  ram: 'RAM',
  cpu: 'CPU',
  storage: 'storage',
};

function selectedChecks(option: BypassStep['checks']): BypassCheck[] {
  if (option === undefined || option === 'all') return [...BYPASS_CHECKS];
  return BYPASS_CHECKS.filter((c) => option.includes(c));
}

/** The image's Windows build from SOFTWARE CurrentBuildNumber, or undefined. */
async function imageBuild(image: WindowsImage): Promise<number | undefined> {
  const software = await hiveIfPresent(image, 'SOFTWARE');
  if (!software) return undefined;
  const v = software.hive.key('Microsoft\\Windows NT\\CurrentVersion')?.value('CurrentBuildNumber');
  const text = v ? String(decodeValueData(v.type, v.raw)) : '';
  return /^\d+$/.test(text) ? Number(text) : undefined;
}

/** The values one target gets: LabConfig for each check, and MoSetup in the install image. */
function targetValues(target: BypassTarget, checks: BypassCheck[]): { key: string; value: string }[] {
  const out: { key: string; value: string }[] = checks.map((c) => ({ key: LAB_CONFIG, value: LAB_CONFIG_VALUES[c] }));
  // MoSetup is read only by setup.exe upgrading a running Windows; Setup booted from boot.wim
  // installs clean and never reads it, so boot.wim gets LabConfig alone, as Rufus writes it.
  if (target === 'install' && (checks.includes('tpm') || checks.includes('cpu'))) out.push({ key: MO_SETUP, value: MO_SETUP_VALUE });
  return out;
}

async function planBypass(options: BypassStep, image: WindowsImage): Promise<StepPlan<BypassChange>> {
  const checks = selectedChecks(options.checks);
  const changes: BypassChange[] = [];
  const warnings: string[] = [];
  const setupTimeNotes: string[] = [];
  const newView = viewValue(DWORD_ONE.type, DWORD_ONE.data);
  const setValue = (target: BypassTarget, key: string, value: string, old?: RegValueView | null): BypassChange => ({
    kind: 'set-value',
    target,
    hive: 'SYSTEM',
    key,
    value,
    type: DWORD_ONE.type,
    data: DWORD_ONE.data,
    ...(target === 'install' ? { old: old ?? null } : {}),
    new: newView,
    when: 'offline',
  });

  if (options.bootWim !== false) {
    for (const { key, value } of targetValues('boot.wim:2', checks)) changes.push(setValue('boot.wim:2', key, value));
  }
  if (options.installImage !== false) {
    // LabConfig goes into the install image too, as tiny11 and OSDCloud write it (ANCHORS §5.3,
    // §5.5), so the installed system carries the same keys as Setup; outside Setup it is inert.
    const system = (await image.hives.get('SYSTEM')).hive;
    for (const { key, value } of targetValues('install', checks)) {
      const v = system.key(key)?.value(value);
      changes.push(setValue('install', key, value, v ? viewValue(v.type, v.raw) : null));
    }
    if (!checks.includes('tpm') && !checks.includes('cpu'))
      warnings.push(`${MO_SETUP}\\${MO_SETUP_VALUE} is not set: it only covers the TPM and CPU checks, and neither is selected`);
  }
  if (options.unattendFallback !== false) {
    changes.push({ kind: 'unattend-bypass', checks, when: 'windows-setup' });
    setupTimeNotes.push(
      `the answer file's windowsPE pass sets ${checks.map((c) => LAB_CONFIG_VALUES[c]).join(', ')} with reg.exe (RunSynchronous), which shows a console window in Setup` +
        (options.bootWim !== false ? '; boot.wim already carries them, so this only matters if Setup boots another boot image' : ''),
    );
  }
  if (options.appraiserres) {
    changes.push({ kind: 'media-file', path: APPRAISERRES, size: 0, when: 'offline' });
    const build = await imageBuild(image);
    if (build !== undefined && build >= SETUP_WRAPPER_BUILD) {
      warnings.push(
        `the image is build ${build}: from build ${SETUP_WRAPPER_BUILD} an empty appraiserres.dll alone may not get an in-place upgrade past the hardware check (Rufus also wraps setup.exe, which this step does not)`,
      );
    }
  }
  if (options.bootWim === false && options.unattendFallback === false) {
    warnings.push('neither bootWim nor unattendFallback is on: Setup booted from this media still checks the hardware');
  }
  return { changes, warnings, ...(setupTimeNotes.length > 0 ? { setupTimeNotes } : {}) };
}

const sameBytes = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);

/** Sets a value unless the hive already holds exactly it, so a repeat leaves the hive clean. */
function setIfDifferent(hive: TrackedHiveEdit, key: string, name: string, type: number, data: Uint8Array): boolean {
  const v = hive.hive.key(key)?.value(name);
  if (v && v.type === type && sameBytes(v.raw, data)) return false;
  hive.setValue(key, name, type, data);
  return true;
}

function describeBypass(change: BypassChange): string[] {
  const view = (v: RegValueView | null | undefined) => (v ? `${v.type} ${v.data}` : 'absent');
  switch (change.kind) {
    case 'set-value':
      return change.target === 'install'
        ? [`set    SYSTEM\\${change.key} ${change.value}: ${view(change.old)} → ${view(change.new)}`]
        : [`set    boot.wim:2 SYSTEM\\${change.key} ${change.value} → ${view(change.new)} (Windows Setup's own registry)`];
    case 'unattend-bypass':
      return [
        `answer file windowsPE: reg.exe add HKLM\\SYSTEM\\${LAB_CONFIG} ${change.checks.map((c) => LAB_CONFIG_VALUES[c]).join(', ')} = 1`,
        `(Setup then skips its ${change.checks.map((c) => CHECK_LABEL[c]).join(', ')} check${change.checks.length === 1 ? '' : 's'})`,
      ];
    case 'media-file':
      return [`add    ${change.path} (empty: an in-place upgrade from setup.exe finds no appraiser data to refuse with)`];
  }
}

export const bypassStep = defineStep<BypassStep, BypassChange>({
  id: 'bypass',
  schema: BypassStepSchema,
  plan(options, image) {
    return planBypass(options, image);
  },
  async apply(changes, image, progress, context) {
    // The step runs once per kept edition; boot.wim is shared, so a value already there is left
    // alone and boot.wim stays clean after the first edition.
    let done = 0;
    for (const change of changes) {
      switch (change.kind) {
        case 'set-value': {
          const owner = change.target === 'install' ? image : await context.bootImage();
          setIfDifferent(await owner.hives.get(change.hive), change.key, change.value, change.type, change.data);
          break;
        }
        case 'unattend-bypass':
          for (const check of change.checks) context.unattend.bypassRequirements[check] = true;
          break;
        case 'media-file':
          // setup.exe started from a running Windows (an in-place upgrade) evaluates the hardware
          // with the compatibility appraiser, whose data is sources\appraiserres.dll. An empty file
          // leaves it nothing to refuse with; deleting it would not do, as setup.exe then extracts
          // its own copy (ANCHORS §2.3 item 5). It matters only for such upgrades; a clean install
          // booted from the media relies on LabConfig instead.
          context.media.addFile(change.path, new Uint8Array(0));
          break;
      }
      progress.emit({ phase: 'bypass', done: ++done, total: changes.length, unit: 'items' });
    }
  },
  describe: describeBypass,
});
