// The one shape every customization step has (STYLE.md "A step, shaped like every other step"):
// an id, the recipe schema of its section, a pure plan that reads the image and lists changes and
// warnings, and an apply that carries the changes out through the WindowsImage edit (and, for
// steps that need them, the media overlay, the answer-file contributions and boot.wim). The
// build runner owns opening, committing and rolling back images; steps never do.
import type { z } from 'zod';
import { DeployForgeError } from '../errors.js';
import type { GenerateUnattendOptions } from '../formats/unattend/generate.js';
import type { WindowsImage } from '../image/windows-image.js';
import type { ProgressSink } from '../progress.js';

/** When a change takes effect: now, in the image (offline); by Windows Setup; at a user's first logon. */
export type ChangeTime = 'offline' | 'windows-setup' | 'first-logon';

export interface StepPlan<Change> {
  changes: Change[];
  /** Things the user should know that do not stop the build (a path to remove that is absent). */
  warnings: string[];
  /** Changes Windows Setup applies later rather than this build, and why. */
  setupTimeNotes?: string[];
}

export interface StepContext {
  /** Folder relative local paths in the step are resolved from (the recipe file's folder). */
  baseDir: string;
}

/** Files a step adds to the output media (the ISO root, `sources/$OEM$`, `$WinPEDriver$`). */
export interface MediaOverlay {
  /**
   * Adds a file at `mediaPath` (forward slashes, no leading slash), from a local file or bytes.
   * Adding the same path twice with the same content is fine (steps run once per edition);
   * different content for one path is an error.
   */
  addFile(mediaPath: string, from: string | Uint8Array): void;
}

/** A command Windows runs during setup or at logon, as the answer file lists it. */
export interface SetupCommand {
  commandLine: string;
  description?: string;
}

/**
 * What a step asks the answer file to carry. The build merges every step's contributions with the
 * recipe's `unattend` step and writes one answer file, placed as the unattend step says.
 */
export interface UnattendContributions {
  /** Run as SYSTEM in the specialize pass (Microsoft-Windows-Deployment RunSynchronous). */
  specializeCommands: SetupCommand[];
  /** Run at the first logon of the first user (Microsoft-Windows-Shell-Setup FirstLogonCommands). */
  firstLogonCommands: SetupCommand[];
  /** Driver folders for PnpCustomizationsWinPE (windowsPE) and PnpCustomizationsNonWinPE (offlineServicing). */
  driverPaths: { windowsPE: string[]; offlineServicing: string[] };
  /** .cab/.msu packages in install order; the generator installs bare paths with DISM in specialize (offline `<servicing>` needs each package's identity). */
  packages: string[];
  /** LabConfig keys set from windowsPE RunSynchronous as a fallback to the offline boot.wim edit. */
  bypassRequirements: Partial<Record<'tpm' | 'secureBoot' | 'ram' | 'cpu' | 'storage', boolean>>;
  /** Set by the recipe's `unattend` step: its settings, the answer file it starts from and where it goes. */
  answerFile?: AnswerFileRequest;
}

/** Where the answer file goes: decided from its passes (`auto`) or forced. */
export type AnswerFilePlacement = 'auto' | 'media-root' | 'oem-panther' | 'boot-wim';

export interface AnswerFileRequest {
  /** Generator options; architecture defaults to the edition's. */
  options: Omit<GenerateUnattendOptions, 'architecture'> & { architecture?: GenerateUnattendOptions['architecture'] };
  /** An existing answer file (local path) the settings are merged into. */
  baseFile?: string;
  placement: AnswerFilePlacement;
}

/** Everything apply() may change besides the edition's image. */
export interface StepApplyContext {
  media: MediaOverlay;
  unattend: UnattendContributions;
  /** boot.wim index 2 (Windows Setup), opened for editing on first use; the build commits it once. */
  bootImage(): Promise<WindowsImage>;
}

export interface StepDefinition<Options, Change> {
  readonly id: string;
  readonly schema: z.ZodType<Options>;
  /** Pure: reads the image (and local inputs), never changes either. */
  plan(options: Options, image: WindowsImage, context: StepContext): Promise<StepPlan<Change>>;
  /** Carries out `changes` from plan() through `image` (and `context`); the caller commits. */
  apply(changes: Change[], image: WindowsImage, progress: ProgressSink, context: StepApplyContext): Promise<void>;
  /** Lines `deployforge plan` prints for a change; without it a generic rendering is used. */
  describe?(change: Change): string[];
}

/** When a change takes effect: its own `when` field, else offline (made by the build itself). */
export function changeTime(change: unknown): ChangeTime {
  const when = (change as { when?: unknown })?.when;
  return when === 'windows-setup' || when === 'first-logon' ? when : 'offline';
}

const STEP_ID = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/;

/** Checks the definition once, at module load, and freezes it. */
export function defineStep<Options, Change>(definition: StepDefinition<Options, Change>): StepDefinition<Options, Change> {
  if (!STEP_ID.test(definition.id)) {
    throw new DeployForgeError('internal', 'DF_STEP_INVALID', `step id '${definition.id}' must be kebab-case (a-z, 0-9, -)`, { id: definition.id });
  }
  return Object.freeze({ ...definition });
}

/** Empty contributions, to be filled by steps. */
export function emptyUnattendContributions(): UnattendContributions {
  return { specializeCommands: [], firstLogonCommands: [], driverPaths: { windowsPE: [], offlineServicing: [] }, packages: [], bypassRequirements: {} };
}
