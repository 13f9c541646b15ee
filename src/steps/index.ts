// Every step kind the build knows: their recipe schemas are registered here (the built-in
// registry/files/remove-files schemas live in recipe/schema.ts) and their definitions are
// collected for the planner. Importing this module is what makes a step kind available.
import { registerStepSchema, stepTypes } from '../recipe/schema.js';
import { type BypassStep, BypassStepSchema, bypassStep } from './bypass/step.js';
import type { StepDefinition } from './define-step.js';
import { filesStep } from './files/step.js';
import { registryStep } from './registry/step.js';
import { type RemoveAppsStep, RemoveAppsStepSchema, removeAppsStep } from './remove-apps/step.js';
import { removeFilesStep } from './remove-files/step.js';
import { type TweaksStep, TweaksStepSchema, tweaksStep } from './tweaks/step.js';
import { type UnattendStep, UnattendStepSchema, unattendStep } from './unattend/step.js';

declare module '../recipe/schema.js' {
  interface StepKinds {
    unattend: UnattendStep;
    'remove-apps': RemoveAppsStep;
    tweaks: TweaksStep;
    bypass: BypassStep;
  }
}

const EXTRA_SCHEMAS: [string, Parameters<typeof registerStepSchema>[1]][] = [
  ['unattend', UnattendStepSchema],
  ['remove-apps', RemoveAppsStepSchema],
  ['tweaks', TweaksStepSchema],
  ['bypass', BypassStepSchema],
];
for (const [type, schema] of EXTRA_SCHEMAS) if (!stepTypes().includes(type)) registerStepSchema(type, schema);

export const STEP_DEFINITIONS: Record<string, StepDefinition<unknown, unknown>> = Object.fromEntries(
  [registryStep, filesStep, removeFilesStep, unattendStep, removeAppsStep, tweaksStep, bypassStep].map((s) => [s.id, s as StepDefinition<unknown, unknown>]),
);
