// Transaction-log replay: turns a dirty primary hive plus its .LOG1/.LOG2 (or .LOG) bytes into a
// clean hive, the way Windows does at load time (Suhanov, "Windows registry file format
// specification", §Format of transaction log files, §Dirty state of a hive, §Multiple transaction
// log files). Pure bytes in, bytes out: it never touches files (recover.ts does), never edits
// keys, and does not "heal" damaged hive bins — a replay that would leave broken bins is refused.
import { DeployForgeError, FormatError, InputError } from '../../errors.js';
import { startsWith, u32le, u64leBig } from '../../util/binary.js';
import { type BaseBlock, computeBaseBlockChecksum, isDirty, parseBaseBlock } from './base-block.js';
import { HiveCells } from './cells.js';
import { BASE_BLOCK_CHECKSUM_OFFSET, BASE_BLOCK_PARTIAL_SIZE, BASE_BLOCK_SIZE, FILE_TYPE, HBIN_ALIGNMENT, SIGNATURE } from './constants.js';
import { type LogEntrySummary, summarizeTransactionLog, type TransactionLogSummary } from './transaction-log.js';

const SECTOR = 512;
const LOG_ENTRY_HEADER_SIZE = 40;
/** Base block offsets we rewrite (Suhanov §Base block). */
const OFFSET = { primarySequence: 4, secondarySequence: 8, fileType: 28, hiveBinsDataSize: 40, flags: 144 } as const;

export interface AppliedLog {
  /** Index of the log in the `logs` argument. */
  log: number;
  format: 'old' | 'new';
  /** New format: the HvLE sequence numbers applied from this log, ascending. Old format: the
   *  log's own (equal) sequence number. */
  sequences: number[];
  /** Dirty pages written: HvLE page references (any size), or 512-byte DIRT pages. */
  pages: number;
}

export interface ReplayResult {
  /** The clean hive; the input array itself when the primary was already clean. */
  bytes: Uint8Array;
  applied: AppliedLog[];
  wasDirty: boolean;
  /** Logs (or the tail of the entry chain) that were not used, and why; for messages and tests. */
  ignored: { log: number; reason: string }[];
}

export interface ReplayOptions {
  /** Used in error messages. */
  name?: string;
}

interface ParsedLog {
  index: number;
  bytes: Uint8Array;
  summary: TransactionLogSummary;
}

interface Candidate {
  log: ParsedLog;
  entry: LogEntrySummary;
}

/** Growable copy of the hive-bins data (everything after the 4 KiB base block). */
class BinsBuffer {
  data: Uint8Array;
  size: number;
  constructor(primary: Uint8Array, size: number) {
    this.data = new Uint8Array(size);
    this.data.set(primary.subarray(BASE_BLOCK_SIZE, BASE_BLOCK_SIZE + size));
    this.size = size;
  }
  /** Sets the hive-bins data size; new space is zero-filled, bytes past a smaller size dropped. */
  resize(size: number): void {
    if (size > this.data.length) {
      const grown = new Uint8Array(size);
      grown.set(this.data.subarray(0, this.size));
      this.data = grown;
    } else if (size > this.size) {
      this.data.fill(0, this.size, size);
    }
    this.size = size;
  }
}

/**
 * Replays transaction logs into a dirty primary hive and returns a clean hive (seq1 = seq2, valid
 * checksum, hive-bins size matching the bins). `logs` are given in Windows' order: .LOG1, then
 * .LOG2 (or a single .LOG). A clean primary is returned unchanged: Windows ignores logs then
 * (Suhanov §Dirty state of a hive). Throws InputError DF_HIVE_LOGS_MISSING when the hive is dirty
 * and no log can repair it, FormatError when the primary is not a usable hive or the replay would
 * produce broken hive bins.
 */
export function replayLogs(primary: Uint8Array, logs: Uint8Array[], options: ReplayOptions = {}): ReplayResult {
  const name = options.name ?? 'hive';
  const header = parseBaseBlock(primary, name);
  if (header.fileType !== FILE_TYPE.primary) {
    throw new FormatError('DF_HIVE_IS_LOG', `${name} is a transaction log (file type ${header.fileType}), not a hive: give the primary hive file`, { name });
  }
  if (primary.length < BASE_BLOCK_SIZE) {
    throw new FormatError('DF_HIVE_TRUNCATED', `${name}: only ${primary.length} bytes, less than one base block; the file is truncated`, { name, size: primary.length });
  }
  if (!isDirty(header)) return { bytes: primary, applied: [], wasDirty: false, ignored: [] };

  const ignored: { log: number; reason: string }[] = [];
  const parsed: ParsedLog[] = [];
  logs.forEach((bytes, index) => {
    try {
      parsed.push({ index, bytes, summary: summarizeTransactionLog(bytes, `${name} log ${index + 1}`) });
    } catch (error) {
      // A damaged or foreign file in the log slot is simply not a usable log; the caller learns
      // why through `ignored` (and the DF_HIVE_LOGS_MISSING message if nothing else works).
      if (!(error instanceof DeployForgeError)) throw error;
      ignored.push({ log: index, reason: error.message });
    }
  });

  // Growth bound: new hive bins only come from dirty pages carried in the logs, so the hive can
  // never legitimately outgrow the primary plus every log byte. This keeps a hostile size field
  // from making us allocate gigabytes.
  const logBytes = logs.reduce((sum, l) => sum + l.length, 0);
  const maxBinsSize = roundUp(Math.max(header.hiveBinsDataSize, primary.length - BASE_BLOCK_SIZE) + logBytes, HBIN_ALIGNMENT);

  const newLogs = parsed.filter((l) => l.summary.format === 'new');
  const oldLogs = parsed.filter((l) => l.summary.format === 'old');
  const context = { primary, header, name, ignored, maxBinsSize };
  // A hive has one log format (8.1+ writes only the new one); try new first, then old.
  const result = (newLogs.length > 0 ? replayNewFormat(context, newLogs) : undefined) ?? (oldLogs.length > 0 ? replayOldFormat(context, oldLogs) : undefined);
  if (!result) {
    const why = ignored.length > 0 ? ` (${ignored.map((i) => `log ${i.log + 1}: ${i.reason}`).join('; ')})` : '';
    throw new InputError(
      'DF_HIVE_LOGS_MISSING',
      logs.length === 0
        ? `${name} is dirty and its transaction logs (.LOG1/.LOG2) are missing; copy them next to it`
        : `${name} is dirty and its transaction logs (.LOG1/.LOG2) are missing or do not match it${why}; copy the matching logs next to it`,
      { name, ignored },
    );
  }
  return { ...result, wasDirty: true, ignored };
}

interface ReplayContext {
  primary: Uint8Array;
  header: BaseBlock;
  name: string;
  ignored: { log: number; reason: string }[];
  maxBinsSize: number;
}

function roundUp(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}

/** New format (Suhanov §New format, §Log entries notes 4-11, §Multiple transaction log files). */
function replayNewFormat(ctx: ReplayContext, logs: ParsedLog[]): Omit<ReplayResult, 'wasDirty' | 'ignored'> | undefined {
  const { primary, header, ignored } = ctx;
  // Entries of LOG1 first, then LOG2 ("the first transaction log file and then the second are
  // used"); the same sequence number in both keeps the first. summarizeTransactionLog already
  // cut each log at its first bad signature, bad hash or sequence gap (notes 7 and 8).
  const bySequence = new Map<number, Candidate>();
  for (const log of logs) {
    for (const entry of log.summary.entries ?? []) if (!bySequence.has(entry.sequence)) bySequence.set(entry.sequence, { log, entry });
  }

  // Note 5: with a valid checksum the primary's own base block says where to start (its
  // secondary sequence number). Note 6: with a bad checksum the base block itself comes from a
  // log; we take the consistent log header whose sequence starts an available entry chain,
  // preferring the newest.
  const base = primary.slice(0, BASE_BLOCK_SIZE);
  let start: number;
  let binsSize: number;
  if (header.checksumValid) {
    start = header.secondarySequence;
    binsSize = header.hiveBinsDataSize;
  } else {
    const donor = logs
      .filter((l) => l.summary.headerConsistent && bySequence.has(l.summary.header.secondarySequence))
      .sort((a, b) => b.summary.header.secondarySequence - a.summary.header.secondarySequence)[0];
    if (!donor) {
      for (const l of logs) ignored.push({ log: l.index, reason: 'the hive header checksum is bad and this log has no consistent header that starts an entry chain' });
      return undefined;
    }
    restoreBaseBlockFrom(base, donor.bytes);
    start = donor.summary.header.secondarySequence;
    binsSize = donor.summary.header.hiveBinsDataSize;
  }
  if (!bySequence.has(start)) {
    // Note 7: "If the first log entry doesn't contain an expected sequence number … recovery stops."
    for (const l of logs) {
      const e = l.summary.entries ?? [];
      const range = e.length > 0 ? `${e[0].sequence}-${e[e.length - 1].sequence}` : 'none';
      ignored.push({
        log: l.index,
        reason: `no log entry with the expected sequence number ${start} (entries: ${range}${l.summary.stoppedBecause ? `; ${l.summary.stoppedBecause}` : ''})`,
      });
    }
    return undefined;
  }

  const bins = new BinsBuffer(primary, Math.min(binsSize, ctx.maxBinsSize));
  const applied: AppliedLog[] = [];
  let flags = u32le(base, OFFSET.flags);
  let last: number | undefined;
  // Each sequence number is looked up once and the chain only moves forward, so this runs at
  // most bySequence.size times even if sequence numbers wrap.
  for (let seq = start, steps = 0; steps < bySequence.size; seq = (seq + 1) >>> 0, steps++) {
    const candidate = bySequence.get(seq);
    if (!candidate) break;
    const problem = applyEntry(candidate, bins, ctx.maxBinsSize);
    if (problem) {
      // Note 8: a bogus entry stops recovery; entries before it stay applied.
      ignored.push({ log: candidate.log.index, reason: `stopped at sequence ${seq}: ${problem}` });
      break;
    }
    // Note 11: the base block's Flags take the value of the entry being applied.
    flags = candidate.entry.flags;
    last = seq;
    const previous = applied.at(-1);
    if (previous && previous.log === candidate.log.index) {
      previous.sequences.push(seq);
      previous.pages += candidate.entry.dirtyPageCount;
    } else {
      applied.push({ log: candidate.log.index, format: 'new', sequences: [seq], pages: candidate.entry.dirtyPageCount });
    }
  }
  if (last === undefined) return undefined;
  // §Log entries: the entry's sequence number "will be written both to the primary sequence
  // number and to the secondary sequence number of the base block when applying" it.
  return { bytes: finishHive(ctx, base, bins, last, flags), applied };
}

/** Writes one HvLE entry's dirty pages; returns why the entry is unusable instead, if it is. */
function applyEntry({ log, entry }: Candidate, bins: BinsBuffer, maxBinsSize: number): string | undefined {
  const bytes = log.bytes.subarray(entry.offset, entry.offset + entry.size);
  const size = entry.hiveBinsDataSize;
  // Note 8: a hive-bins data size that is not a multiple of 4096 makes the entry bogus.
  if (size === 0 || size % HBIN_ALIGNMENT !== 0) return `hive-bins data size ${size} is not a positive multiple of 4096`;
  if (size > maxBinsSize) return `hive-bins data size ${size} is larger than the hive and its logs can account for`;
  const count = entry.dirtyPageCount;
  const refsEnd = LOG_ENTRY_HEADER_SIZE + count * 8;
  if (refsEnd > bytes.length) return `${count} page references do not fit in the ${bytes.length}-byte entry`;
  // Validate every reference before writing any page, so a bad entry leaves the hive as it was.
  const pages: { offset: number; size: number; from: number }[] = [];
  let from = refsEnd;
  for (let i = 0; i < count; i++) {
    const offset = u32le(bytes, LOG_ENTRY_HEADER_SIZE + i * 8);
    const pageSize = u32le(bytes, LOG_ENTRY_HEADER_SIZE + i * 8 + 4);
    // Pages follow the references "without an alignment or gaps".
    if (from + pageSize > bytes.length) return `page ${i} (${pageSize} bytes) runs past the end of the entry`;
    if (offset + pageSize > size) return `page ${i} at hive-bins offset ${offset} (${pageSize} bytes) lies past the hive-bins size ${size}`;
    pages.push({ offset, size: pageSize, from });
    from += pageSize;
  }
  // Note 9: "A primary file is grown according to the Hive bins data size field".
  bins.resize(size);
  for (const p of pages) bins.data.set(bytes.subarray(p.from, p.from + p.size), p.offset);
  return undefined;
}

/** Old format (Suhanov §Old format, §Multiple transaction log files → Old format). */
function replayOldFormat(ctx: ReplayContext, logs: ParsedLog[]): Omit<ReplayResult, 'wasDirty' | 'ignored'> | undefined {
  const { primary, header, ignored } = ctx;
  // §Old format → Base block note 3: a log applies when its Last written timestamp equals the
  // primary's, or, when the primary's base block is invalid, the first hive bin's timestamp.
  const primaryTime = header.checksumValid ? header.lastWrittenRaw : primary.length >= BASE_BLOCK_SIZE + 28 ? u64leBig(primary, BASE_BLOCK_SIZE + 20) : undefined;
  const usable: ParsedLog[] = [];
  for (const log of logs) {
    const s = log.summary;
    // Note 2: a log is valid only with an expected base block and equal sequence numbers.
    if (!s.headerConsistent) ignored.push({ log: log.index, reason: `its own sequence numbers differ (${s.seq1}/${s.seq2}) or its checksum is bad` });
    else if (!s.complete) ignored.push({ log: log.index, reason: `it ends before the ${s.dirtyPageCount} dirty pages its DIRT bitmap marks` });
    else if (s.header.lastWrittenRaw !== primaryTime) ignored.push({ log: log.index, reason: 'its last-written timestamp differs from the hive, so it belongs to another write' });
    else if (s.header.hiveBinsDataSize === 0 || s.header.hiveBinsDataSize % HBIN_ALIGNMENT !== 0 || s.header.hiveBinsDataSize > ctx.maxBinsSize) {
      ignored.push({ log: log.index, reason: `its hive-bins data size ${s.header.hiveBinsDataSize} is impossible` });
    } else usable.push(log);
  }
  if (usable.length === 0) return undefined;
  // Several applicable logs (LOG1 and LOG2 of the same write) are not expected; take the one
  // with the larger sequence number, i.e. the later write, and LOG1 on a tie.
  const chosen = usable.reduce((best, l) => (l.summary.seq1 > best.summary.seq1 ? l : best));

  const base = primary.slice(0, BASE_BLOCK_SIZE);
  // Base block note 4: a primary base block with a wrong checksum is recovered from the log.
  if (!header.checksumValid) restoreBaseBlockFrom(base, chosen.bytes);
  const binsSize = chosen.summary.header.hiveBinsDataSize;
  const bins = new BinsBuffer(primary, binsSize);
  // §Dirty vector: "DIRT" at the second sector, one bit per 512-byte page of hive-bins data
  // (bit 0 of byte 0 = first page); §Dirty pages: pages start at the sector after the vector,
  // in bitmap order, and page k goes to 4096 + 512 * (its bit position).
  const bitmapStart = SECTOR + SIGNATURE.dirtyVector.length;
  const pageCount = binsSize / SECTOR;
  let from = roundUp(bitmapStart + Math.ceil(pageCount / 8), SECTOR);
  let pages = 0;
  for (let bit = 0; bit < pageCount; bit++) {
    if ((chosen.bytes[bitmapStart + (bit >> 3)] >> (bit & 7)) & 1) {
      bins.data.set(chosen.bytes.subarray(from, from + SECTOR), bit * SECTOR);
      from += SECTOR;
      pages++;
    }
  }
  // After a finished write both numbers equal the log's; never move them backwards.
  const seq = Math.max(chosen.summary.seq1, header.checksumValid ? header.primarySequence : 0);
  return { bytes: finishHive(ctx, base, bins, seq, u32le(base, OFFSET.flags)), applied: [{ log: chosen.index, format: 'old', sequences: [chosen.summary.seq1], pages }] };
}

/** Copies a log's partial base block (its first sector) over the hive's, as a primary again. */
function restoreBaseBlockFrom(base: Uint8Array, log: Uint8Array): void {
  base.set(log.subarray(0, BASE_BLOCK_PARTIAL_SIZE));
  // "the File type field is set back to 0" (§Old format → Base block note 4).
  writeU32(base, OFFSET.fileType, FILE_TYPE.primary);
}

/** Builds the final file: base block with both sequence numbers, size, flags and checksum set,
 *  followed by exactly the hive-bins data. Refuses results whose bins do not chain. */
function finishHive(ctx: ReplayContext, base: Uint8Array, bins: BinsBuffer, sequence: number, flags: number): Uint8Array {
  const out = new Uint8Array(BASE_BLOCK_SIZE + bins.size);
  out.set(base);
  out.set(bins.data.subarray(0, bins.size), BASE_BLOCK_SIZE);
  writeU32(out, OFFSET.primarySequence, sequence);
  writeU32(out, OFFSET.secondarySequence, sequence);
  writeU32(out, OFFSET.hiveBinsDataSize, bins.size);
  writeU32(out, OFFSET.flags, flags);
  writeU32(out, BASE_BLOCK_CHECKSUM_OFFSET, computeBaseBlockChecksum(out));
  // Windows would heal a bad bin (§Log entries note 10) or stop (§Dirty pages); we have no
  // healing, and a hive whose bins do not chain is unusable, so refuse instead of guessing.
  const binError = new HiveCells(out, bins.size, ctx.name).binError;
  if (binError || !startsWith(out, SIGNATURE.hbin, BASE_BLOCK_SIZE)) {
    throw new FormatError(
      'DF_HIVE_REPLAY_BROKEN',
      `${ctx.name}: replaying its transaction logs gives broken hive bins (${binError?.message ?? 'no first hive bin'}); the logs do not match the hive or are damaged`,
      { name: ctx.name },
    );
  }
  return out;
}

function writeU32(bytes: Uint8Array, offset: number, value: number): void {
  new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).setUint32(offset, value >>> 0, true);
}
