// Lists a Windows update package (.msu): the outer cabinet's files plus, for each nested .cab,
// that cabinet's own file list. Nested tables are decoded lazily from the outer cabinet, so a
// multi-gigabyte inner cabinet costs only its first blocks. It does not extract payloads, and
// cannot look inside a nested cabinet whose outer folder is LZX or Quantum (it says so instead).
import { DeployForgeError } from '../../errors.js';
import type { ByteSource } from '../../util/byte-source.js';
import { openCabFile } from './extract.js';
import { readCab } from './read-cab.js';
import type { CabInfo } from './types.js';

/** Default ceiling on how much of a nested cabinet is decoded to read its tables. */
export const DEFAULT_MAX_NESTED = 64 * 1024 * 1024;

export interface MsuEntry {
  name: string;
  size: number;
  /** Set for a nested cabinet whose directory could be read. */
  cabinet?: CabInfo;
  /** Why a nested cabinet was not listed, or what it holds that we cannot extract. */
  note?: string;
}

export interface MsuInfo {
  /** The outer cabinet's own directory. */
  cabinet: CabInfo;
  entries: MsuEntry[];
}

export interface MsuOptions {
  /** Decode at most this many bytes of a nested cabinet to read its tables (default 64 MiB). */
  maxNestedBytes?: number;
}

/** Reads the outer cabinet of `source` and the directory of every nested .cab it can reach. */
export async function readMsu(source: ByteSource, options: MsuOptions = {}): Promise<MsuInfo> {
  const cabinet = await readCab(source);
  const maxBytes = options.maxNestedBytes ?? DEFAULT_MAX_NESTED;
  const entries: MsuEntry[] = [];
  for (const file of cabinet.files) {
    const entry: MsuEntry = { name: file.name, size: file.size };
    if (/\.cab$/i.test(file.name)) {
      const folder = cabinet.folders[file.folderIndex];
      if (folder && folder.compression.name !== 'none' && folder.compression.name !== 'mszip') {
        entry.note = `compressed with ${folder.compressionName}; not extracted`;
      } else {
        try {
          entry.cabinet = await readCab(openCabFile(source, cabinet, file.name, { maxBytes }));
          const locked = lockedFolders(entry.cabinet);
          if (locked) entry.note = `files compressed with ${locked}; not extracted`;
        } catch (error) {
          // One damaged or oversized nested cabinet should not hide the rest of the listing.
          if (!(error instanceof DeployForgeError)) throw error;
          entry.note = `not listed: ${error.message} [${error.code}]`;
        }
      }
    }
    entries.push(entry);
  }
  return { cabinet, entries };
}

/** Names the compression of folders we can list but not extract, if any. */
function lockedFolders(info: CabInfo): string | undefined {
  const names = new Set(info.folders.filter((f) => f.compression.name !== 'none' && f.compression.name !== 'mszip').map((f) => f.compressionName.split(' ')[0]));
  return names.size > 0 ? [...names].join(', ') : undefined;
}
