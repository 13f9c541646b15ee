// Where tests find the shared real-file corpus (../shared/corpus beside the repository) and
// temporary folders. The corpus is read in place at run time and never copied into the project.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Absolute path of a corpus file, e.g. corpusPath('registry/hivex/minimal'). */
export function corpusPath(relativePath: string): string {
  const base = process.env.DEPLOYFORGE_CORPUS ?? resolve(repoRoot, '..', 'shared', 'corpus');
  return join(base, relativePath);
}

export function hasCorpus(): boolean {
  return existsSync(corpusPath('MANIFEST.tsv'));
}

/** A fresh temporary folder; `cleanup` removes it. */
export async function makeTempDir(prefix = 'deployforge-'): Promise<{ path: string; cleanup: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, cleanup: () => rm(path, { recursive: true, force: true }) };
}
