// The build lockfile (`<recipe>.lock.json`): what went in (the source's SHA-256, the tool and
// catalog versions, the resolved recipe, a digest per step) and what came out (each output's
// size and SHA-256). `deployforge verify` compares an output with it to detect drift, and a
// deterministic build uses the input digest to derive its IDs, so the same inputs give the
// same bytes.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { FormatError, InputError } from '../errors.js';
import type { ProgressSink } from '../progress.js';
import { writeFileAtomic } from '../util/fs.js';

export const LOCKFILE_VERSION = 1;

const Sha256 = z.string().regex(/^[0-9a-f]{64}$/);

export const LockfileSchema = z
  .object({
    lockfileVersion: z.literal(LOCKFILE_VERSION),
    tool: z.object({ name: z.literal('deployforge'), version: z.string() }).strict(),
    catalogs: z.record(z.string(), Sha256),
    deterministic: z.boolean(),
    source: z.object({ path: z.string(), size: z.number().int().nonnegative(), sha256: Sha256 }).strict(),
    recipe: z.object({ file: z.string(), sha256: Sha256, resolved: z.unknown() }).strict(),
    steps: z.array(z.object({ index: z.number().int(), type: z.string(), file: z.string(), line: z.number().int(), sha256: Sha256 }).strict()),
    editions: z.array(z.object({ index: z.number().int(), sourceIndex: z.number().int(), name: z.string().nullable() }).strict()),
    outputs: z.array(z.object({ kind: z.string(), path: z.string(), size: z.number().int().nonnegative(), sha256: Sha256 }).strict()),
  })
  .strict();
export type Lockfile = z.infer<typeof LockfileSchema>;

/** JSON with object keys sorted, so equal values always give equal text (and digests). */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Uint8Array)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v instanceof Uint8Array
        ? Buffer.from(v).toString('hex')
        : v,
  );
}

export const sha256Text = (text: string | Uint8Array): string => createHash('sha256').update(text).digest('hex');

/** SHA-256 of a file, streamed (multi-GB images stay out of memory). */
export async function sha256File(path: string, progress?: ProgressSink, phase = 'hash'): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 4 * 1024 * 1024 })) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
    progress?.emit({ phase, done: size, unit: 'bytes' });
  }
  return { sha256: hash.digest('hex'), size };
}

/** Where a recipe's lockfile goes: beside the recipe, or in the output folder when one is given. */
export function defaultLockPath(recipeFile: string, outDir?: string): string {
  const name = `${basename(recipeFile).replace(/\.(ya?ml|json)$/i, '')}.lock.json`;
  return resolve(outDir ?? dirname(recipeFile), name);
}

/** Writes the lockfile atomically; output paths are stored relative to the lockfile's folder. */
export async function writeLockfile(path: string, lock: Lockfile): Promise<void> {
  const base = dirname(path);
  const portable = { ...lock, outputs: lock.outputs.map((o) => ({ ...o, path: relative(base, o.path) || '.' })) };
  await writeFileAtomic(path, `${JSON.stringify(LockfileSchema.parse(portable), null, 2)}\n`);
}

export async function readLockfile(path: string): Promise<Lockfile> {
  let data: unknown;
  try {
    data = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new InputError('DF_LOCK_MISSING', `${path}: no such lockfile (a build writes one beside the recipe)`);
    throw new FormatError('DF_LOCK_INVALID', `${path} is not JSON: ${(error as Error).message.split('\n')[0]}`);
  }
  const parsed = LockfileSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new FormatError('DF_LOCK_INVALID', `${path}: ${issue.path.join('.') || '(top level)'}: ${issue.message}`);
  }
  return parsed.data;
}

export interface VerifyResult {
  file: string;
  matches: boolean;
  /** The lockfile entry compared with (by path, else by size and digest), or null when none fits. */
  expected: Lockfile['outputs'][number] | null;
  actual: { size: number; sha256: string };
}

/** Compares a file with the lockfile's outputs: the entry with the same path, else the same name. */
export async function verifyAgainstLock(file: string, lockPath: string, progress?: ProgressSink): Promise<VerifyResult> {
  const lock = await readLockfile(lockPath);
  const info = await stat(file);
  const actual = info.isDirectory() ? { sha256: await sha256Folder(file), size: -1 } : await sha256File(file, progress, 'verify');
  const full = resolve(file);
  const entries = lock.outputs.map((o) => ({ entry: o, path: resolve(dirname(lockPath), o.path) }));
  const expected =
    entries.find((e) => e.path === full)?.entry ??
    entries.find((e) => basename(e.path) === basename(full))?.entry ??
    entries.find((e) => e.entry.sha256 === actual.sha256)?.entry ??
    null;
  // A folder's size is the sum of its files' sizes, which the digest already covers.
  if (actual.size === -1 && expected) actual.size = expected.size;
  return { file, matches: expected !== null && expected.sha256 === actual.sha256 && expected.size === actual.size, expected, actual };
}

/** SHA-256 per catalog (tweaks, apps, profiles…) over its files' names and contents, in name order. */
export async function catalogDigests(root: string = fileURLToPath(new URL('../../catalog/', import.meta.url))): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const kinds = await readdir(root, { withFileTypes: true }).catch(() => []);
  for (const kind of kinds.filter((k) => k.isDirectory()).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const hash = createHash('sha256');
    const files = (await readdir(join(root, kind.name), { recursive: true, withFileTypes: true })).filter((f) => f.isFile());
    const paths = files.map((f) => relative(join(root, kind.name), join(f.parentPath, f.name)).split(sep).join('/')).sort();
    for (const path of paths) hash.update(`${path}\0`).update(await readFile(join(root, kind.name, path)));
    out[kind.name] = hash.digest('hex');
  }
  return out;
}

/** SHA-256 over a folder tree: each file's '/'-path and SHA-256, in path order. */
export async function sha256Folder(root: string): Promise<string> {
  const entries = (await readdir(root, { recursive: true, withFileTypes: true })).filter((e) => e.isFile());
  const paths = entries.map((e) => relative(root, join(e.parentPath, e.name)).split(sep).join('/')).sort();
  const hash = createHash('sha256');
  for (const path of paths) hash.update(`${path}\0${(await sha256File(join(root, path))).sha256}\n`);
  return hash.digest('hex');
}
