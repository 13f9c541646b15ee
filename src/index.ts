// The public library API: what the CLI, the server and plugins import.
export * from './errors.js';
export * from './util/byte-source.js';
