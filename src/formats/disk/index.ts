// Public entry of the partition-table readers; other folders import from here only.
export { crc32 } from './crc32.js';
export { formatGuid, formatUuidBigEndian, isZeroGuid } from './guid.js';
export { type ReadPartitionTableOptions, readPartitionTable } from './partition-table.js';
export { gptTypeName, mbrTypeName } from './partition-types.js';
export type { Partition, PartitionTable } from './types.js';
