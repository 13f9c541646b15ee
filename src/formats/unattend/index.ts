// Public entry of the answer-file format: parse, write, summarize, generate and validate unattend.xml.
export {
  type ComponentSpec,
  PARTITION_TYPES,
  PROCESSOR_ARCHITECTURES,
  type SettingSpec,
  type SettingTable,
  UNATTEND_COMPONENTS,
  UNATTEND_REFERENCE,
  WINDOWS_VERSIONS,
  type WindowsVersion,
} from './components.js';
export { encodeUnattendPassword, generateUnattend } from './generate.js';
export * from './model.js';
export { parseUnattend } from './parse.js';
export { summarizeUnattend, type UnattendSummary } from './summary.js';
export {
  UNATTEND_FINDING_CODES,
  type UnattendFinding,
  type UnattendFindingCode,
  type UnattendSeverity,
  type ValidateUnattendOptions,
  validateUnattend,
} from './validate.js';
export { writeUnattend } from './write.js';
