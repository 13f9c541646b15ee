// The one-screen description of a hive that `deployforge inspect` prints: header facts plus key
// and value counts from a full (bounded, cycle-safe) walk. It counts values without reading
// their data, so damaged data cells do not stop the summary.
import type { Hive } from './hive.js';
import { walkKeys } from './walk.js';

export interface HiveSummary {
  /** "1.5" */
  version: string;
  rootName: string;
  dirty: boolean;
  seq1: number;
  seq2: number;
  lastWritten: string | null;
  checksumValid: boolean;
  keyCount: number;
  valueCount: number;
  fileType: number;
  fileName: string;
  hiveBinsDataSize: number;
}

export function summarizeHive(hive: Hive): HiveSummary {
  const h = hive.header;
  let keyCount = 0;
  let valueCount = 0;
  for (const key of walkKeys(hive)) {
    keyCount++;
    // valueOffsets() checks the list cell, so a key whose count lies is reported, not trusted.
    valueCount += key.valueOffsets().length;
  }
  return {
    version: `${h.majorVersion}.${h.minorVersion}`,
    rootName: hive.root.name,
    dirty: hive.dirty,
    seq1: h.primarySequence,
    seq2: h.secondarySequence,
    lastWritten: h.lastWritten,
    checksumValid: h.checksumValid,
    keyCount,
    valueCount,
    fileType: h.fileType,
    fileName: h.fileName,
    hiveBinsDataSize: h.hiveBinsDataSize,
  };
}
