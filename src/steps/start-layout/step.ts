// The `start-layout` step: the default taskbar pins of Windows 10 and 11. It writes a layout XML
// file (LayoutModificationTemplate with a CustomTaskbarLayoutCollection) into the image and points
// the machine "Start Layout" policy at it, which Explorer applies at each user's sign-in
// (Microsoft Learn, "Configure the taskbar pinned applications", windows/configuration/taskbar/
// pinned-apps; policy registry values from StartMenu.admx policy LockedStartLayout).
// Not done, because no offline method is documented: Windows 11 Start pins (ConfigureStartPins is
// MDM-only — "It's not possible to apply the JSON file using group policy", Microsoft Learn,
// "Customize the Start layout"), and the Default-profile LayoutModification.xml that
// Import-StartLayout writes ("deprecated in Windows 11. It has no effect on either Start or Taskbar
// layout", Import-StartLayout reference).
import { z } from 'zod';
import { decodeValueData } from '../../formats/regf/value.js';
import type { WindowsImage } from '../../image/windows-image.js';
import { silentProgress } from '../../progress.js';
import type { RegistryStep } from '../../recipe/schema.js';
import { defineStep, type StepPlan } from '../define-step.js';
import { type RegistryChange, registryStep } from '../registry/step.js';

// ── facts ────────────────────────────────────────────────────────────────────────────────────

export const LAYOUT_IMAGE_PATH = '/Windows/DeployForge/TaskbarLayout.xml';
/** The same file as Windows sees it; the policy value is REG_EXPAND_SZ (ADMX expandableText). */
export const LAYOUT_POLICY_PATH = '%SystemRoot%\\DeployForge\\TaskbarLayout.xml';
/** Computer Configuration > Administrative Templates > Start Menu and Taskbar > Start Layout:
 *  HKLM\Software\Policies\Microsoft\Windows\Explorer, LockedStartLayout (REG_DWORD 1 = enabled)
 *  and StartLayoutFile (REG_EXPAND_SZ, the XML file). */
export const POLICY_KEY = 'Policies\\Microsoft\\Windows\\Explorer';
/** First Windows 11 build; below it the image is Windows 10. */
const WINDOWS_11_BUILD = 22000;

const NS = {
  layout: 'http://schemas.microsoft.com/Start/2014/LayoutModification',
  defaultlayout: 'http://schemas.microsoft.com/Start/2014/FullDefaultLayout',
  start: 'http://schemas.microsoft.com/Start/2014/StartLayout',
  taskbar: 'http://schemas.microsoft.com/Start/2014/TaskbarLayout',
} as const;

// ── schema ───────────────────────────────────────────────────────────────────────────────────

const PinText = z
  .string()
  .min(1)
  .max(1024)
  .refine((s) => !/[\x00-\x1f]/.test(s), { error: 'expected text without control characters' });

/** The three ways the taskbar XML names an app (Taskbar XSD: UWA AppUserModelID, DesktopApp
 *  DesktopApplicationID or DesktopApplicationLinkPath). */
export const TaskbarPinSchema = z.union([
  z.object({ aumid: PinText.describe('a packaged app by Application User Model ID, e.g. Microsoft.WindowsCalculator_8wekyb3d8bbwe!App') }).strict(),
  z.object({ desktopAppId: PinText.describe('a desktop app by its application ID, e.g. Microsoft.Windows.Explorer') }).strict(),
  z
    .object({ desktopAppLink: PinText.describe('a desktop app by its Start menu shortcut, e.g. %ALLUSERSPROFILE%\\Microsoft\\Windows\\Start Menu\\Programs\\Firefox.lnk') })
    .strict(),
]);

export const StartLayoutStepSchema = z
  .object({
    type: z.literal('start-layout'),
    description: z.string().optional(),
    taskbar: z
      .object({
        pins: z.array(TaskbarPinSchema).optional().describe('apps to pin, left to right; apps not installed for the user are skipped by Windows'),
        replaceDefaultPins: z.boolean().optional().describe("true: unpin Windows' default pins and show only these (PinListPlacement Replace); default: add after them"),
      })
      .strict()
      .describe('default taskbar pins'),
  })
  .strict()
  .superRefine((step, ctx) => {
    if (!step.taskbar.pins?.length && !step.taskbar.replaceDefaultPins) {
      ctx.addIssue({ code: 'custom', path: ['taskbar'], message: 'expected pins, or replaceDefaultPins: true to remove the default pins' });
    }
  })
  .describe('default taskbar pins through the Start Layout policy (Windows 10 and 11); Windows 11 Start pins are not set');

export type StartLayoutStep = z.infer<typeof StartLayoutStepSchema>;
export type TaskbarPin = z.infer<typeof TaskbarPinSchema>;

export type StartLayoutChange =
  | { kind: 'taskbar'; when: 'first-logon'; pins: string[]; placement: 'Append' | 'Replace' }
  | { kind: 'write-layout'; when: 'offline'; path: string; xml: string; replaces: boolean }
  | { kind: 'registry'; when: 'offline'; reason: string; change: RegistryChange };

// ── the layout file ──────────────────────────────────────────────────────────────────────────

const escapeAttribute = (text: string) => text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');

function pinElement(pin: TaskbarPin): string {
  if ('aumid' in pin) return `<taskbar:UWA AppUserModelID="${escapeAttribute(pin.aumid)}" />`;
  if ('desktopAppId' in pin) return `<taskbar:DesktopApp DesktopApplicationID="${escapeAttribute(pin.desktopAppId)}" />`;
  return `<taskbar:DesktopApp DesktopApplicationLinkPath="${escapeAttribute(pin.desktopAppLink)}" />`;
}

const pinLabel = (pin: TaskbarPin) => ('aumid' in pin ? pin.aumid : 'desktopAppId' in pin ? pin.desktopAppId : pin.desktopAppLink);

/**
 * The layout XML, in the shape of Microsoft's taskbar examples. No XML declaration: Microsoft Learn
 * ("Customize the Start layout", group policy) says not to put a prolog in a Start layout file.
 */
export function buildTaskbarLayout(pins: TaskbarPin[], replace: boolean): string {
  return [
    `<LayoutModificationTemplate xmlns="${NS.layout}" xmlns:defaultlayout="${NS.defaultlayout}" xmlns:start="${NS.start}" xmlns:taskbar="${NS.taskbar}" Version="1">`,
    `  <CustomTaskbarLayoutCollection${replace ? ' PinListPlacement="Replace"' : ''}>`,
    '    <defaultlayout:TaskbarLayout>',
    '      <taskbar:TaskbarPinList>',
    ...pins.map((p) => `        ${pinElement(p)}`),
    '      </taskbar:TaskbarPinList>',
    '    </defaultlayout:TaskbarLayout>',
    '  </CustomTaskbarLayoutCollection>',
    '</LayoutModificationTemplate>',
    '',
  ].join('\r\n');
}

// ── plan and apply ───────────────────────────────────────────────────────────────────────────

async function imageBuild(image: WindowsImage): Promise<number | undefined> {
  const v = (await image.hives.get('SOFTWARE')).hive.key('Microsoft\\Windows NT\\CurrentVersion')?.value('CurrentBuildNumber');
  const text = v ? String(decodeValueData(v.type, v.raw)) : '';
  return /^\d+$/.test(text) ? Number(text) : undefined;
}

async function planStartLayout(options: StartLayoutStep, image: WindowsImage, baseDir: string): Promise<StepPlan<StartLayoutChange>> {
  const warnings: string[] = [];
  const pins = options.taskbar.pins ?? [];
  const replace = options.taskbar.replaceDefaultPins === true;
  const existing = image.stat(LAYOUT_IMAGE_PATH);
  if (existing) warnings.push(`${LAYOUT_IMAGE_PATH} already exists in image ${image.index} and is replaced`);

  const registry: RegistryStep = registryStep.schema.parse({
    type: 'registry',
    hive: 'SOFTWARE',
    set: [
      { key: POLICY_KEY, name: 'LockedStartLayout', type: 'REG_DWORD', data: 1 },
      { key: POLICY_KEY, name: 'StartLayoutFile', type: 'REG_EXPAND_SZ', data: LAYOUT_POLICY_PATH },
    ],
  });
  const planned = await registryStep.plan(registry, image, { baseDir });
  warnings.push(...planned.warnings);
  for (const c of planned.changes) {
    if (c.kind === 'set-value' && c.value === 'StartLayoutFile' && c.old && c.old.data !== LAYOUT_POLICY_PATH) {
      warnings.push(`the image already points the Start Layout policy at ${c.old.data}; it now points at ${LAYOUT_POLICY_PATH}`);
    }
  }

  const build = await imageBuild(image);
  if (build !== undefined && build < WINDOWS_11_BUILD) {
    // Microsoft Learn, "Configure the taskbar pinned applications" (Windows 10, GPO note).
    warnings.push(
      `image ${image.index} is Windows 10 (build ${build}): with a layout that has only taskbar pins, the policy also applies the default Start tile layout and users cannot change it`,
    );
  }

  return {
    changes: [
      { kind: 'taskbar', when: 'first-logon', pins: pins.map(pinLabel), placement: replace ? 'Replace' : 'Append' },
      { kind: 'write-layout', when: 'offline', path: LAYOUT_IMAGE_PATH, xml: buildTaskbarLayout(pins, replace), replaces: existing !== undefined },
      ...planned.changes.map((change) => ({ kind: 'registry' as const, when: 'offline' as const, reason: 'Start Layout policy', change })),
    ],
    warnings,
    setupTimeNotes: [
      'Explorer applies the taskbar layout when a user signs in; apps that are not installed for that user are not pinned, and users can still pin, unpin and reorder (Microsoft Learn, Configure the taskbar pinned applications)',
    ],
  };
}

export const startLayoutStep = defineStep<StartLayoutStep, StartLayoutChange>({
  id: 'start-layout',
  schema: StartLayoutStepSchema,
  plan(options, image, context) {
    return planStartLayout(options, image, context.baseDir);
  },
  async apply(changes, image, progress, context) {
    const work = changes.filter((c) => c.kind !== 'taskbar');
    let done = 0;
    for (const change of work) {
      if (change.kind === 'write-layout') image.writeFile(change.path, new Uint8Array(Buffer.from(change.xml, 'utf8')));
      else if (change.kind === 'registry') await registryStep.apply([change.change], image, silentProgress, context);
      progress.emit({ phase: 'start-layout', done: ++done, total: work.length, unit: 'items' });
    }
  },
  describe(change) {
    switch (change.kind) {
      case 'taskbar':
        return [`taskbar pins (${change.placement === 'Replace' ? 'replacing the defaults' : 'after the defaults'}): ${change.pins.length > 0 ? change.pins.join(', ') : 'none'}`];
      case 'write-layout':
        return [`${(change.replaces ? 'replace' : 'add').padEnd(8)}${change.path}`];
      case 'registry': {
        const c = change.change;
        return [`set    ${c.hive}\\${c.key} ${'value' in c ? c.value : ''}: ${'old' in c && c.old ? c.old.data : 'absent'} → ${'new' in c ? c.new.data : ''}`];
      }
    }
  },
});
