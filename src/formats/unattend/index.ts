// Public entry of the answer-file format: parse, write, summarize and generate unattend.xml.
export { encodeUnattendPassword, generateUnattend } from './generate.js';
export * from './model.js';
export { parseUnattend } from './parse.js';
export { summarizeUnattend, type UnattendSummary } from './summary.js';
export { writeUnattend } from './write.js';
