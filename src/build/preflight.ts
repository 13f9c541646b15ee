// Checks a build makes before it writes anything, so it fails in seconds with a precise message
// rather than after an hour: the tools it will run are installed, and the work and output
// folders have room for what the build will write there.
import { statfs } from 'node:fs/promises';
import { dirname } from 'node:path';
import { EnvironmentError } from '../errors.js';
import { PACKAGE_OF, runTool } from '../util/exec.js';

export interface SpaceNeed {
  /** A folder the build writes into (it need not exist yet: its nearest existing parent is checked). */
  folder: string;
  bytes: number;
  what: string;
}

const MiB = 1024 * 1024;

/** Free bytes for unprivileged writes on the file system holding `folder` (or its nearest existing parent). */
export async function freeBytes(folder: string): Promise<{ free: number; device: string }> {
  let at = folder;
  for (;;) {
    try {
      const info = await statfs(at);
      return { free: info.bavail * info.bsize, device: `${info.type}:${at}` };
    } catch (error) {
      const parent = dirname(at);
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || parent === at) throw error;
      at = parent;
    }
  }
}

/**
 * Fails when the needs do not fit. Needs on the same file system add up (statfs's f_fsid is not
 * exposed by Node, so the type and the nearest existing folder's free count stand in: two folders
 * with the same free-byte count and type are taken as one file system). A 64 MiB margin is kept.
 */
export async function checkFreeSpace(needs: SpaceNeed[]): Promise<void> {
  const groups = new Map<string, { free: number; needs: SpaceNeed[] }>();
  for (const need of needs) {
    const { free } = await freeBytes(need.folder);
    const key = String(free);
    const group = groups.get(key) ?? { free, needs: [] };
    group.needs.push(need);
    groups.set(key, group);
  }
  for (const { free, needs: group } of groups.values()) {
    const total = group.reduce((sum, n) => sum + n.bytes, 0) + 64 * MiB;
    if (total > free) {
      const parts = group.map((n) => `${n.what} ~${Math.ceil(n.bytes / MiB)} MiB in ${n.folder}`).join(', ');
      throw new EnvironmentError(
        'DF_NO_SPACE',
        `not enough free space: the build needs ${Math.ceil(total / MiB)} MiB (${parts}) but only ${Math.floor(free / MiB)} MiB is free; free some space or choose another work folder (DEPLOYFORGE_WORK_DIR) or output folder`,
        { needed: total, free },
      );
    }
  }
}

/** Fails when a program the build will run is missing, naming the package to install. */
export async function checkTools(programs: string[]): Promise<void> {
  const missing: string[] = [];
  for (const program of programs) {
    try {
      await runTool(program, ['--version']);
    } catch (error) {
      if ((error as { code?: string }).code === 'DF_TOOL_MISSING') missing.push(program);
      else throw error;
    }
  }
  if (missing.length > 0) {
    const packages = [...new Set(missing.map((p) => PACKAGE_OF[p] ?? p))];
    throw new EnvironmentError('DF_TOOL_MISSING', `the build needs ${missing.join(', ')}: run 'apt-get install ${packages.join(' ')}'`, { missing });
  }
}
