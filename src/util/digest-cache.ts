// SHA-256 digests of large inputs (a source ISO) remembered between builds, so rebuilding from
// the same file does not hash its gigabytes again. An entry is keyed by the file's device, inode,
// size, modification time and change time (nanoseconds): any write to the file changes its
// ctime, which no program can set back, so a changed file never matches an old entry. A digest
// is remembered only when the file's identity was the same before and after it was hashed, and,
// as git does with its index, not when the file changed within two seconds before hashing began
// (a write in the same clock tick as the first look would not show). The cache folder must be
// the user's own and writable by nobody else, or it is not used. Failing to read or write the
// cache never fails the caller; it just hashes again.
import { createHash } from 'node:crypto';
import { lstat, mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from './fs.js';

/** What identifies a file's current contents, cheaply. */
export async function fileIdentity(path: string): Promise<string> {
  const s = await stat(path, { bigint: true });
  return `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
}

const entryPath = (dir: string, identity: string) => join(dir, `${createHash('sha256').update(identity).digest('hex')}.json`);

/** True when `dir` is a folder of this user's that no one else can write to. */
async function trusted(dir: string): Promise<boolean> {
  const info = await lstat(dir).catch(() => undefined);
  if (!info?.isDirectory() || (info.mode & 0o022) !== 0) return false;
  return process.getuid === undefined || info.uid === process.getuid();
}

/** The remembered SHA-256 of a file whose identity (fileIdentity) is `identity`. */
export async function cachedSha256(dir: string, identity: string): Promise<string | undefined> {
  try {
    if (!(await trusted(dir))) return undefined;
    const entry = JSON.parse(await readFile(entryPath(dir, identity), 'utf8')) as { identity?: string; sha256?: string };
    return entry.identity === identity && typeof entry.sha256 === 'string' && /^[0-9a-f]{64}$/.test(entry.sha256) ? entry.sha256 : undefined;
  } catch {
    return undefined;
  }
}

/** Remembers `sha256` for the file at `path`, hashed from `hashStartedAt` (ms since the epoch)
 *  while its identity was `identityBefore`. */
export async function rememberSha256(dir: string, path: string, identityBefore: string, sha256: string, hashStartedAt: number): Promise<void> {
  try {
    if ((await fileIdentity(path)) !== identityBefore) return; // changed while it was hashed
    const ctimeMs = Number(BigInt(identityBefore.slice(identityBefore.lastIndexOf(':') + 1)) / 1_000_000n);
    if (ctimeMs > hashStartedAt - 2000) return; // too recent to be sure
    await mkdir(dir, { recursive: true, mode: 0o700 });
    if (!(await trusted(dir))) return;
    await writeFileAtomic(entryPath(dir, identityBefore), JSON.stringify({ identity: identityBefore, sha256 }));
  } catch {
    // a cache that cannot be written only costs a hash next time
  }
}
