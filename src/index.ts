// The public library API: what the CLI, the server and plugins import.

export * from './config.js';
export * from './errors.js';
export * as cab from './formats/cab/index.js';
export { type DetectedFormat, type Detection, detectFormat } from './formats/detect.js';
export * as disk from './formats/disk/index.js';
export * as inf from './formats/inf/index.js';
export * as iso from './formats/iso/index.js';
export * as ppkg from './formats/ppkg/index.js';
export * as unattend from './formats/unattend/index.js';
export * as wim from './formats/wim/index.js';
export { openWindowsImage, type WindowsImage } from './image/windows-image.js';
export { type InspectReport, inspectPath, inspectSource } from './inspect/inspect.js';
export * from './progress.js';
export * as recipe from './recipe/index.js';
export { makeSampleMedia, type SampleMediaOptions, type SampleMediaResult } from './sample/sample-media.js';
export { defineStep, type StepPlan } from './steps/define-step.js';
export * from './util/byte-source.js';
