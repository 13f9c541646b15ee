// Every step kind the build knows: their recipe schemas are registered here (the built-in
// registry/files/remove-files schemas live in recipe/schema.ts) and their definitions are
// collected for the planner. Importing this module is what makes a step kind available.
import { registerStepSchema, stepTypes } from '../recipe/schema.js';
import { type BypassStep, BypassStepSchema, bypassStep } from './bypass/step.js';
import type { StepDefinition } from './define-step.js';
import { type DriversStep, DriversStepSchema, driversStep } from './drivers/step.js';
import { filesStep } from './files/step.js';
import { type InstallAppsStep, InstallAppsStepSchema, installAppsStep } from './install-apps/step.js';
import { registryStep } from './registry/step.js';
import { type RemoveAppsStep, RemoveAppsStepSchema, removeAppsStep } from './remove-apps/step.js';
import { removeFilesStep } from './remove-files/step.js';
import { type ScriptsStep, ScriptsStepSchema, scriptsStep } from './scripts/step.js';
import { type StartLayoutStep, StartLayoutStepSchema, startLayoutStep } from './start-layout/step.js';
import { type RemoveTasksStep, RemoveTasksStepSchema, removeTasksStep } from './tasks/step.js';
import { type TweaksStep, TweaksStepSchema, tweaksStep } from './tweaks/step.js';
import { type UnattendStep, UnattendStepSchema, unattendStep } from './unattend/step.js';
import { type UpdatesStep, UpdatesStepSchema, updatesStep } from './updates/step.js';

declare module '../recipe/schema.js' {
  interface StepKinds {
    unattend: UnattendStep;
    'remove-apps': RemoveAppsStep;
    tweaks: TweaksStep;
    bypass: BypassStep;
    drivers: DriversStep;
    updates: UpdatesStep;
    scripts: ScriptsStep;
    'install-apps': InstallAppsStep;
    'remove-tasks': RemoveTasksStep;
    'start-layout': StartLayoutStep;
  }
}

const EXTRA_SCHEMAS: [string, Parameters<typeof registerStepSchema>[1]][] = [
  ['unattend', UnattendStepSchema],
  ['remove-apps', RemoveAppsStepSchema],
  ['tweaks', TweaksStepSchema],
  ['bypass', BypassStepSchema],
  ['drivers', DriversStepSchema],
  ['updates', UpdatesStepSchema],
  ['scripts', ScriptsStepSchema],
  ['install-apps', InstallAppsStepSchema],
  ['remove-tasks', RemoveTasksStepSchema],
  ['start-layout', StartLayoutStepSchema],
];
for (const [type, schema] of EXTRA_SCHEMAS) if (!stepTypes().includes(type)) registerStepSchema(type, schema);

export const STEP_DEFINITIONS: Record<string, StepDefinition<unknown, unknown>> = Object.fromEntries(
  [
    registryStep,
    filesStep,
    removeFilesStep,
    unattendStep,
    removeAppsStep,
    tweaksStep,
    bypassStep,
    driversStep,
    updatesStep,
    scriptsStep,
    installAppsStep,
    removeTasksStep,
    startLayoutStep,
  ].map((s) => [s.id, s as StepDefinition<unknown, unknown>]),
);
