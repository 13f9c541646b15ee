// Public entry of the cabinet format: read a .cab or .msu directory, extract stored or MSZIP
// files. Decoding LZX and Quantum is deliberately absent; callers get a clear FormatError.

export { cabChecksum, cfdataChecksum } from './checksum.js';
export { dosDateTimeToIso } from './dos-time.js';
export {
  DEFAULT_MAX_EXTRACT,
  type ExtractOptions,
  findCabFile,
  openCabFile,
  readCabFile,
} from './extract.js';
export { CAB_BLOCK_MAX, describeCompression, readCab } from './read-cab.js';
export {
  DEFAULT_MAX_NESTED,
  type MsuEntry,
  type MsuInfo,
  type MsuOptions,
  readMsu,
} from './read-msu.js';
export * from './types.js';
