// SHA-256 digests of large inputs (a source ISO) remembered between builds, so rebuilding from
// the same file does not hash its gigabytes again. An entry is keyed by the file's device, inode,
// size, modification time and change time (nanoseconds): any write to the file changes its
// ctime, which no program can set back, so a changed file never matches an old entry. A digest
// is remembered only when the file's identity was the same before and after it was hashed.
// Failing to read or write the cache never fails the caller; it just hashes again.
import { createHash } from 'node:crypto';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from './fs.js';

/** What identifies a file's current contents, cheaply. */
export async function fileIdentity(path: string): Promise<string> {
  const s = await stat(path, { bigint: true });
  return `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
}

const entryPath = (dir: string, identity: string) => join(dir, `${createHash('sha256').update(identity).digest('hex')}.json`);

/** The remembered SHA-256 of the file at `path`, if its identity is unchanged since. */
export async function cachedSha256(dir: string, path: string): Promise<string | undefined> {
  try {
    const identity = await fileIdentity(path);
    const entry = JSON.parse(await readFile(entryPath(dir, identity), 'utf8')) as { identity?: string; sha256?: string };
    return entry.identity === identity && typeof entry.sha256 === 'string' && /^[0-9a-f]{64}$/.test(entry.sha256) ? entry.sha256 : undefined;
  } catch {
    return undefined;
  }
}

/** Remembers `sha256` for the file at `path`, hashed while its identity was `identityBefore`. */
export async function rememberSha256(dir: string, path: string, identityBefore: string, sha256: string): Promise<void> {
  try {
    if ((await fileIdentity(path)) !== identityBefore) return; // changed while it was hashed
    await mkdir(dir, { recursive: true });
    await writeFileAtomic(entryPath(dir, identityBefore), JSON.stringify({ identity: identityBefore, sha256 }));
  } catch {
    // a cache that cannot be written only costs a hash next time
  }
}
