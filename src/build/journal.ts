// The build journal: one JSON file in the build's workspace that records every stage that has
// finished, with the WIM checkpoints (size + header) taken right after it. A build killed at any
// moment leaves at worst an unfinished append after the last checkpoint or a stray partial file;
// `--resume` rolls the workspace WIMs back to the last recorded checkpoints and carries on from the
// next stage, and `deployforge rollback WORKSPACE --to N` undoes stages explicitly. The journal is
// rewritten atomically after each stage, so it is never half-written either.
import { createHash } from 'node:crypto';
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { FormatError, InputError } from '../errors.js';
import { rollbackWim, takeWimCheckpoint, type WimCheckpoint } from '../formats/wim/index.js';
import { writeFileAtomic } from '../util/fs.js';

export const JOURNAL_FILE = 'journal.json';

const CheckpointSchema = z.object({ file: z.string(), size: z.number().int().nonnegative(), header: z.string(), hadIntegrity: z.boolean(), takenAt: z.number() }).strict();
export type JournalCheckpoint = z.infer<typeof CheckpointSchema>;

const CommandSchema = z.object({ commandLine: z.string(), description: z.string().optional() }).strict();
/** What steps had contributed when a stage finished (media files and answer-file pieces). */
const ContextSnapshotSchema = z
  .object({
    media: z.array(z.object({ path: z.string(), local: z.string().optional(), bytesFile: z.string().optional() }).strict()),
    unattend: z
      .object({
        specializeCommands: z.array(CommandSchema),
        firstLogonCommands: z.array(CommandSchema),
        driverPaths: z.object({ windowsPE: z.array(z.string()), offlineServicing: z.array(z.string()) }).strict(),
        packages: z.array(z.string()),
        bypassRequirements: z.record(z.string(), z.boolean()),
        answerFile: z.unknown().optional(),
      })
      .strict(),
  })
  .strict();
export type ContextSnapshot = z.infer<typeof ContextSnapshotSchema>;

const EntrySchema = z.discriminatedUnion('stage', [
  z.object({ n: z.number().int(), stage: z.literal('extract') }).strict(),
  // patch: install.wim is a patch over the source ISO's install image (exportImagesAsPatch).
  z
    .object({ n: z.number().int(), stage: z.literal('export'), install: CheckpointSchema, patch: z.boolean().optional() })
    .strict(),
  z
    .object({
      n: z.number().int(),
      stage: z.literal('edition'),
      edition: z.number().int(),
      install: CheckpointSchema,
      boot: CheckpointSchema.optional(),
      context: ContextSnapshotSchema,
      hivesWritten: z.array(z.string()),
      changes: z.number().int(),
    })
    .strict(),
  z.object({ n: z.number().int(), stage: z.literal('answer-file'), boot: CheckpointSchema.optional(), context: ContextSnapshotSchema }).strict(),
  // fingerprint: of a folder output (folderFingerprint), whose own size and time say nothing.
  z
    .object({
      n: z.number().int(),
      stage: z.literal('output'),
      kind: z.string(),
      path: z.string(),
      size: z.number().int(),
      modified: z.number().optional(),
      fingerprint: z.string().optional(),
    })
    .strict(),
]);
export type JournalEntry = z.infer<typeof EntrySchema>;
type NewEntry = JournalEntry extends infer E ? (E extends JournalEntry ? Omit<E, 'n'> : never) : never;

const JournalSchema = z.object({ version: z.literal(1), inputDigest: z.string(), entries: z.array(EntrySchema) }).strict();
type JournalData = z.infer<typeof JournalSchema>;

/** A checkpoint of a workspace WIM, with the path made relative to the workspace. */
export async function checkpointOf(workspace: string, file: string): Promise<JournalCheckpoint> {
  const c = await takeWimCheckpoint(join(workspace, file));
  return { file, size: c.size, header: Buffer.from(c.header).toString('base64'), hadIntegrity: c.hadIntegrity, takenAt: c.takenAt };
}

export function toWimCheckpoint(workspace: string, c: JournalCheckpoint): WimCheckpoint {
  return { path: join(workspace, c.file), size: c.size, header: new Uint8Array(Buffer.from(c.header, 'base64')), hadIntegrity: c.hadIntegrity, takenAt: c.takenAt };
}

export class BuildJournal {
  private constructor(
    readonly workspace: string,
    private data: JournalData,
  ) {}

  /** A new, empty journal for `inputDigest` (overwrites any earlier one). */
  static async create(workspace: string, inputDigest: string): Promise<BuildJournal> {
    const journal = new BuildJournal(workspace, { version: 1, inputDigest, entries: [] });
    await journal.save();
    return journal;
  }

  /** The journal in `workspace`, or undefined when it has none. */
  static async open(workspace: string): Promise<BuildJournal | undefined> {
    let text: string;
    try {
      text = await readFile(join(workspace, JOURNAL_FILE), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    let parsed: JournalData;
    try {
      parsed = JournalSchema.parse(JSON.parse(text));
    } catch (error) {
      throw new FormatError(
        'DF_JOURNAL_INVALID',
        `${join(workspace, JOURNAL_FILE)} is not a build journal (${(error as Error).message.split('\n')[0]}); delete the workspace and build again`,
      );
    }
    return new BuildJournal(workspace, parsed);
  }

  get inputDigest(): string {
    return this.data.inputDigest;
  }

  get entries(): readonly JournalEntry[] {
    return this.data.entries;
  }

  async append(entry: NewEntry): Promise<JournalEntry> {
    const full = { ...entry, n: this.data.entries.length + 1 } as JournalEntry;
    this.data = { ...this.data, entries: [...this.data.entries, full] };
    await this.save();
    return full;
  }

  /** The last entry of `stage` at or before entry `upTo`. */
  last<S extends JournalEntry['stage']>(stage: S, upTo = Number.POSITIVE_INFINITY): Extract<JournalEntry, { stage: S }> | undefined {
    return this.data.entries.filter((e) => e.n <= upTo && e.stage === stage).at(-1) as Extract<JournalEntry, { stage: S }> | undefined;
  }

  /** The newest install.wim / boot.wim checkpoints recorded at or before entry `upTo`. */
  checkpoints(upTo = Number.POSITIVE_INFINITY): { install?: JournalCheckpoint; boot?: JournalCheckpoint } {
    let install: JournalCheckpoint | undefined;
    let boot: JournalCheckpoint | undefined;
    for (const e of this.data.entries) {
      if (e.n > upTo) break;
      if ('install' in e && e.install) install = e.install;
      if ('boot' in e && e.boot) boot = e.boot;
    }
    return { install, boot };
  }

  /**
   * Brings the workspace back to entry `upTo` (default: the last one): WIMs rolled back to the
   * checkpoints recorded then, a boot.wim first opened later deleted (it is copied again when
   * needed), and later entries dropped. Returns the entries dropped.
   */
  async rollbackTo(upTo = this.data.entries.length): Promise<JournalEntry[]> {
    if (upTo < 0 || upTo > this.data.entries.length)
      throw new InputError('DF_JOURNAL_RANGE', `the journal has entries 1 to ${this.data.entries.length}; cannot roll back to ${upTo}`);
    const { install, boot } = this.checkpoints(upTo);
    if (install) await rollbackWim(toWimCheckpoint(this.workspace, install));
    else if (upTo < 2) await rm(join(this.workspace, 'install.wim'), { force: true });
    if (boot) await rollbackWim(toWimCheckpoint(this.workspace, boot));
    else await rm(join(this.workspace, 'boot.wim'), { force: true });
    if (upTo < 1) for (const name of await readdir(this.workspace)) if (name.startsWith('source-')) await rm(join(this.workspace, name), { force: true });
    const dropped = this.data.entries.slice(upTo);
    this.data = { ...this.data, entries: this.data.entries.slice(0, upTo) };
    await this.save();
    return dropped;
  }

  private async save(): Promise<void> {
    await writeFileAtomic(join(this.workspace, JOURNAL_FILE), `${JSON.stringify(this.data, null, 1)}\n`);
  }
}

/** True when a journaled output is still the file the build wrote: same size and modification
 *  time (size alone is not enough: ISOs of two recipes often have the same size). */
/** A digest of every file's path, size and modification time below `folder`: what the build
 *  wrote is still there exactly when it is unchanged (no file contents are read). */
export async function folderFingerprint(folder: string): Promise<string> {
  const lines: string[] = [];
  const visit = async (dir: string, rel: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await visit(path, `${rel}${entry.name}/`);
      else {
        const info = await stat(path);
        lines.push(`${rel}${entry.name}\0${info.size}\0${info.mtimeMs}`);
      }
    }
  };
  if (!(await stat(folder)).isDirectory()) throw new Error(`${folder} is not a folder`);
  await visit(folder, '');
  return createHash('sha256').update(lines.sort().join('\n')).digest('hex');
}

export async function outputStillThere(entry: Extract<JournalEntry, { stage: 'output' }>): Promise<boolean> {
  if (entry.fingerprint !== undefined) return (await folderFingerprint(entry.path).catch(() => undefined)) === entry.fingerprint;
  const info = await stat(entry.path).catch(() => undefined);
  return info?.isFile() === true && info.size === entry.size && entry.modified !== undefined && info.mtimeMs === entry.modified;
}
