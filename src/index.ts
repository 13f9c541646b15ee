// The public library API: what the CLI, the server and plugins import.
export * from './errors.js';
export * from './util/byte-source.js';
export * from './config.js';
export * from './progress.js';
export { detectFormat, type DetectedFormat, type Detection } from './formats/detect.js';
export * as iso from './formats/iso/index.js';
export * as wim from './formats/wim/index.js';
export * as ppkg from './formats/ppkg/index.js';
export * as cab from './formats/cab/index.js';
export * as disk from './formats/disk/index.js';
export { inspectPath, inspectSource, type InspectReport } from './inspect/inspect.js';
export { makeSampleMedia, type SampleMediaOptions, type SampleMediaResult } from './sample/sample-media.js';
