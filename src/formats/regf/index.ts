// Public entry of the regf (registry hive) format module: reading hives, summarising them and
// their transaction logs, and editing them in place (hive-edit.ts). Writing new hives lives in
// build-hive.ts; log replay is not implemented here yet.
export { type BaseBlock, computeBaseBlockChecksum, isDirty, parseBaseBlock } from './base-block.js';
export { type HiveBin, HiveCells } from './cells.js';
export { CHECK_CODES, checkHive, formatCheckReport, type HiveCheckReport } from './check.js';
export * from './constants.js';
export type { HiveEditor } from './edit-types.js';
export { Hive, openHive, RegistryKey, RegistryValue, readHiveFile } from './hive.js';
export { createEmptyHive, type EditHiveOptions, editHive, HiveEdit, openHiveForEdit } from './hive-edit.js';
export { type KeyNodeRecord, parseKeyNode } from './key-node.js';
export { type AppliedLog, type ReplayResult, replayLogs } from './log-replay.js';
export { decodeName, lhHash, namesEqual, upcaseName } from './names.js';
export { findTransactionLogs, recoverHiveFile } from './recover.js';
export { diffHives } from './reg-diff.js';
export { exportHive } from './reg-export.js';
export { parseRegFile, type RegEntry, type RegFile, writeRegFile } from './reg-file.js';
export { importRegFile } from './reg-import.js';
export { HIVE_FILES, readCurrentControlSet, resolveRegPath, splitRegFileByHive } from './reg-roots.js';
export { parseSecurity, type SecurityRecord } from './security.js';
export { readSubkeyList, type SubkeyListEntry, type SubkeyListKind } from './subkey-list.js';
export { type HiveSummary, summarizeHive } from './summary.js';
export { isTransactionLog, type LogEntrySummary, summarizeTransactionLog, type TransactionLogSummary } from './transaction-log.js';
export { decodeRegMultiString, decodeRegString, decodeValueData, parseValueKey, type RegistryData, readValueData, type ValueKeyRecord } from './value.js';
export { walkKeys } from './walk.js';
