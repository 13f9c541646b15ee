// The one shape every customization step has (STYLE.md "A step, shaped like every other step"):
// an id, the recipe schema of its section, a pure plan that reads the image and lists changes and
// warnings, and an apply that carries the changes out through the WindowsImage edit only. The
// build runner owns opening, committing and rolling back images; steps never do.
import type { z } from 'zod';
import { DeployForgeError } from '../errors.js';
import type { WindowsImage } from '../image/windows-image.js';
import type { ProgressSink } from '../progress.js';

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

export interface StepDefinition<Options, Change> {
  readonly id: string;
  readonly schema: z.ZodType<Options>;
  /** Pure: reads the image (and local inputs), never changes either. */
  plan(options: Options, image: WindowsImage, context: StepContext): Promise<StepPlan<Change>>;
  /** Carries out `changes` from plan() through `image`; the caller commits. */
  apply(changes: Change[], image: WindowsImage, progress: ProgressSink): Promise<void>;
}

const STEP_ID = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/;

/** Checks the definition once, at module load, and freezes it. */
export function defineStep<Options, Change>(definition: StepDefinition<Options, Change>): StepDefinition<Options, Change> {
  if (!STEP_ID.test(definition.id)) {
    throw new DeployForgeError('internal', 'DF_STEP_INVALID', `step id '${definition.id}' must be kebab-case (a-z, 0-9, -)`, { id: definition.id });
  }
  return Object.freeze({ ...definition });
}
