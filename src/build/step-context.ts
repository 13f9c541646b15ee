// What steps may change besides an edition's image during one build: files on the output media,
// contributions to the answer file, and boot.wim's Setup image (index 2). One BuildStepContext
// lives for the whole build, so several editions contributing the same thing add it once.
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError } from '../errors.js';
import { type OpenWindowsImageOptions, openWindowsImage, type WindowsImage } from '../image/windows-image.js';
import { emptyUnattendContributions, type MediaOverlay, type StepApplyContext } from '../steps/define-step.js';
import { writeFileAtomic } from '../util/fs.js';
import type { ContextSnapshot } from './journal.js';

const mediaKey = (path: string) => path.replace(/\\/g, '/').replace(/^\/+/, '').toLowerCase();

/** Media files steps add, keyed case-insensitively like the ISO's trees. */
export class MediaOverlayCollector implements MediaOverlay {
  private readonly entries = new Map<string, { path: string; from: string | Uint8Array }>();

  addFile(mediaPath: string, from: string | Uint8Array): void {
    const path = mediaPath.replace(/\\/g, '/').replace(/^\/+/, '');
    if (path === '' || path.endsWith('/') || path.split('/').includes('..')) {
      throw new InputError('DF_MEDIA_PATH', `media path '${mediaPath}' must name a file below the media root`);
    }
    const key = mediaKey(path);
    const known = this.entries.get(key);
    if (known && !sameSource(known.from, from)) {
      throw new InputError('DF_MEDIA_CONFLICT', `two steps add different contents at ${path} on the media`);
    }
    if (!known) this.entries.set(key, { path, from });
  }

  get size(): number {
    return this.entries.size;
  }

  /** Plain data for the build journal; byte contents are written as files into `dir`. */
  async snapshot(dir: string): Promise<ContextSnapshot['media']> {
    const out: ContextSnapshot['media'] = [];
    for (const [i, { path, from }] of [...this.entries.values()].entries()) {
      if (typeof from === 'string') out.push({ path, local: from });
      else {
        const bytesFile = join(dir, `media-${i}.bin`);
        await writeFileAtomic(bytesFile, from);
        out.push({ path, bytesFile });
      }
    }
    return out;
  }

  async restore(media: ContextSnapshot['media']): Promise<void> {
    this.entries.clear();
    for (const m of media) this.addFile(m.path, m.local ?? new Uint8Array(await readFile(m.bytesFile as string)));
  }

  /** Media path → local file, writing byte contents into `dir` first (for remasterIso's `add`). */
  async materialize(dir: string): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    let n = 0;
    for (const { path, from } of this.entries.values()) {
      if (typeof from === 'string') out[path] = from;
      else {
        const local = join(dir, `media-${++n}`);
        await writeFile(local, from);
        out[path] = local;
      }
    }
    return out;
  }
}

function sameSource(a: string | Uint8Array, b: string | Uint8Array): boolean {
  if (typeof a === 'string' || typeof b === 'string') return a === b;
  return a.length === b.length && createHash('sha256').update(a).digest('hex') === createHash('sha256').update(b).digest('hex');
}

export interface BuildStepContextOptions {
  /** Options for opening boot.wim (a deterministic build's clock). */
  imageOptions?: OpenWindowsImageOptions;
  /** Copies boot.wim out of the source into the workspace and returns its path; undefined when the source has none. */
  extractBootWim?: () => Promise<string | undefined>;
}

/** The StepApplyContext of one build. */
export class BuildStepContext implements StepApplyContext {
  readonly media = new MediaOverlayCollector();
  readonly unattend = emptyUnattendContributions();
  private boot?: Promise<{ path: string; image: WindowsImage }>;
  private bootPath?: string;

  constructor(private readonly options: BuildStepContextOptions = {}) {}

  bootImage(): Promise<WindowsImage> {
    this.boot ??= (async () => {
      const path = await this.options.extractBootWim?.();
      if (!path) throw new InputError('DF_NO_BOOT_WIM', 'this step edits boot.wim, which only an ISO source has: give --source X.iso');
      // Index 2 is Windows Setup; index 1 is plain WinPE (FORMATS.md §1, boot.wim).
      this.bootPath = path;
      return { path, image: await openWindowsImage(path, 2, this.options.imageOptions) };
    })();
    return this.boot.then((b) => b.image);
  }

  /** True once a step has opened boot.wim in this build (it then goes into the output). */
  get bootTouched(): boolean {
    return this.bootPath !== undefined;
  }

  /** Commits staged boot.wim edits (kept open); returns true when boot.wim was ever opened. */
  async commitBootImage(): Promise<boolean> {
    if (!this.boot) return this.bootPath !== undefined;
    const { image } = await this.boot;
    if (image.isDirty()) await image.commit();
    return true;
  }

  /** A resumed build whose boot.wim a step had already edited and committed. */
  adoptBootWim(path: string): void {
    this.bootPath = path;
  }

  async snapshot(dir: string): Promise<ContextSnapshot> {
    const { answerFile, ...rest } = this.unattend;
    return { media: await this.media.snapshot(dir), unattend: { ...structuredClone(rest), ...(answerFile ? { answerFile: structuredClone(answerFile) } : {}) } };
  }

  async restore(snapshot: ContextSnapshot): Promise<void> {
    await this.media.restore(snapshot.media);
    Object.assign(this.unattend, structuredClone(snapshot.unattend));
  }

  /** Commits boot.wim if a step opened it and closes it; returns its workspace path, or undefined. */
  async finishBootImage(): Promise<string | undefined> {
    if (!this.boot) return this.bootPath;
    const { path, image } = await this.boot;
    this.boot = undefined;
    try {
      if (image.isDirty()) await image.commit();
    } finally {
      await image.close();
    }
    return path;
  }

  /** Closes boot.wim without committing (a failed build). */
  async abandon(): Promise<void> {
    if (!this.boot) return;
    const boot = await this.boot.catch(() => undefined);
    await boot?.image.close();
  }
}
