// A typed driver for wimlib-imagex, for the work that needs wimlib's compressors: export
// (ESD ↔ WIM, choose editions), capture/append, apply (folder or NTFS volume image), split,
// optimize, verify and XML property edits. Every run is spawn() with an argument array (never a
// shell); stdout/stderr are read as they come so wimlib's "\r…: N MiB of M MiB (P%) done" lines
// become ProgressEvents in bytes, and wimlib's "Exiting with error code N" becomes a typed error.
// This is the one module besides util/exec.ts that starts programs: runTool buffers output until
// exit, and progress must stream.
import { spawn } from 'node:child_process';
import { readdir, rm, stat } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { type DeployForgeError, EnvironmentError, FormatError, InputError, OperationError, ToolError } from '../../errors.js';
import type { ProgressEvent, ProgressSink } from '../../progress.js';
import { FileSource } from '../../util/byte-source.js';
import { PACKAGE_OF } from '../../util/exec.js';
import { readWimHeader } from './header.js';
import { openWimImage } from './image.js';
import { openWim } from './wim-file.js';

export const WIMLIB_PROGRAM = 'wimlib-imagex';

/** Compression types wimlib-imagex writes that Microsoft's software also reads. */
export type WimlibCompression = 'none' | 'xpress' | 'lzx' | 'lzms';

/** The chunk sizes Microsoft's own tools write, per compression (non-solid resources):
 *  XPRESS and LZX 32 KiB (DISM "fast"/"maximum"), LZMS 128 KiB (the non-solid resources of an
 *  ESD: its metadata). wimcapture(1): "their software has limited support for non-default chunk
 *  sizes"; Windows Setup rejects other sizes (wimlib issue #16). */
export const MICROSOFT_CHUNK_SIZES: Readonly<Record<Exclude<WimlibCompression, 'none'>, number>> = { xpress: 32768, lzx: 32768, lzms: 131072 };
/** ESD solid resources: LZMS in 64 MiB chunks; "Microsoft's WIM software is not compatible with
 *  LZMS chunk sizes larger than 64MiB" (wimcapture(1)). */
export const MICROSOFT_SOLID_CHUNK_SIZE = 64 * 1024 * 1024;
/** Chunk sizes wimlib itself accepts (wimcapture(1) --chunk-size). */
const WIMLIB_CHUNK_RANGE: Readonly<Record<Exclude<WimlibCompression, 'none'>, [number, number]>> = {
  xpress: [4096, 65536],
  lzx: [32768, 2 * 1024 * 1024],
  lzms: [32768, 1024 * 1024 * 1024],
};

export interface WimlibRunOptions {
  progress?: ProgressSink;
  signal?: AbortSignal;
  /** Milliseconds before wimlib-imagex is stopped; 0 or undefined = no limit. */
  timeoutMs?: number;
  /** Environment for wimlib-imagex (default process.env); its PATH is where the program is looked up. */
  env?: NodeJS.ProcessEnv;
}

export interface WimlibCompressionOptions {
  /** Compression of non-solid resources. Default: 'lzms' when solid, else 'lzx'. */
  compress?: WimlibCompression;
  /** Write a solid WIM (an ESD): file data in LZMS solid resources. */
  solid?: boolean;
  chunkSize?: number;
  solidChunkSize?: number;
  /** Allow chunk sizes other than Microsoft's defaults (Windows Setup cannot read such WIMs). */
  allowNonStandardChunks?: boolean;
  /** Compressor threads (default: wimlib's choice, one per CPU). A solid LZMS thread needs ~640 MiB. */
  threads?: number;
  /** Write an integrity table (--include-integrity). */
  integrity?: boolean;
}

/** Anything a run reports that does not stop it ("[WARNING] …" messages, one per entry). */
export interface WimlibResult {
  warnings: string[];
}

// ---------------------------------------------------------------------------------------------
// Progress lines

export interface WimlibProgressLine {
  /** wimlib's label, normalized: lower case, quoted file names and trailing "of"/"for WIM" removed. */
  label: string;
  done: number;
  total?: number;
}

const UNIT_BYTES: Readonly<Record<string, number>> = { byte: 1, bytes: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3, TiB: 1024 ** 4 };
const BYTES_LINE = /^([A-Za-z][^:]*?):\s+(\d+) (bytes?|[KMGT]iB) of (\d+) (bytes?|[KMGT]iB) \(\d+%\) (?:done|written)/;
const SCANNED_LINE = /^(\d+) (bytes?|[KMGT]iB) scanned \(\d+ files?, \d+ director(?:y|ies)\)/;

function normalizeLabel(label: string): string {
  return label
    .replace(/"[^"]*"/g, '')
    .replace(/\s+(?:of|for WIM)\s*$/i, '')
    .replace(/\s+/g, ' ')
    .trim()
    .toLowerCase();
}

/** Parses one progress line of wimlib-imagex (one "\r"-separated piece of its output), or null.
 *  wimlib prints sizes in whole KiB/MiB/GiB (rounded down), so byte counts are that precise. */
export function parseWimlibProgressLine(line: string): WimlibProgressLine | null {
  const text = line.trim();
  const m = BYTES_LINE.exec(text);
  if (m) {
    return { label: normalizeLabel(m[1]), done: Number(m[2]) * UNIT_BYTES[m[3]], total: Number(m[4]) * UNIT_BYTES[m[5]] };
  }
  const s = SCANNED_LINE.exec(text);
  if (s) return { label: 'scanning', done: Number(s[1]) * UNIT_BYTES[s[2]] };
  return null;
}

// ---------------------------------------------------------------------------------------------
// Errors: wimlib's exit status is its WIMLIB_ERR_* code (include/wimlib.h), printed as
// "ERROR: Exiting with error code N:\n       <wimlib_get_error_string(N)>".

/** Codes that mean the WIM itself is damaged: a FormatError with the file and what is bad. */
const CORRUPTION_CODES: Readonly<Record<number, string>> = {
  2: 'DF_WIM_BAD_CHUNK',
  10: 'DF_WIM_IMAGE_COUNT_MISMATCH',
  13: 'DF_WIM_INTEGRITY_MISMATCH',
  19: 'DF_WIM_BAD_INTEGRITY_TABLE',
  20: 'DF_WIM_BAD_BLOB_TABLE',
  21: 'DF_WIM_BAD_METADATA',
  26: 'DF_WIM_BAD_PIPABLE',
  27: 'DF_WIM_BAD_REPARSE_DATA',
  28: 'DF_WIM_HASH_MISMATCH',
  56: 'DF_WIM_BAD_LAYOUT',
  65: 'DF_TRUNCATED',
  73: 'DF_WIM_XML_MALFORMED',
  84: 'DF_WIM_INCOMPLETE',
};

export interface WimlibFailure {
  /** wimlib's error code (the exit status), or null when it died of a signal. */
  code: number | null;
  /** wimlib's sentence for the code ("Tried to select an image that does not exist in the WIM."). */
  description: string;
  /** The first "[ERROR] …" / "ERROR: …" message, which names the file or image. */
  message: string;
  /** The file wimlib names in a corruption report ("WIM file: …"). */
  file?: string;
  expectedSha1?: string;
  actualSha1?: string;
  resourceOffset?: number;
}

/** Extracts what wimlib said about a failure from its stderr. */
export function parseWimlibFailure(stderr: string, status: number | null): WimlibFailure {
  const exiting = /Exiting with error code (\d+):\s*\n\s*([^\n]+)/.exec(stderr);
  const code = exiting ? Number(exiting[1]) : status;
  const description = exiting ? exiting[2].trim() : '';
  let message = '';
  for (const line of stderr.split('\n')) {
    const m = /^(?:\[ERROR\]|ERROR:)\s+(.*)$/.exec(line);
    if (m && !/^Exiting with error code/.test(m[1]) && !/^errno:/.test(m[1])) {
      message = m[1].trim().replace(/!$/, '');
      break;
    }
  }
  if (!message) message = description || stderr.trim().split('\n').pop()?.trim() || '';
  const failure: WimlibFailure = { code, description, message };
  const file = /^\s*WIM file:\s+"(.*)"\s*$/m.exec(stderr)?.[1];
  if (file !== undefined) failure.file = file;
  const expected = /^\s*Expected SHA-1:\s+([0-9a-f]{40})/m.exec(stderr)?.[1];
  if (expected) failure.expectedSha1 = expected;
  const actual = /^\s*Actual SHA-1:\s+([0-9a-f]{40})/m.exec(stderr)?.[1];
  if (actual) failure.actualSha1 = actual;
  const offset = /^\s*Resource offset in WIM:\s+(\d+)/m.exec(stderr)?.[1];
  if (offset) failure.resourceOffset = Number(offset);
  return failure;
}

function tailLines(text: string, lines = 12): string {
  return text.trim().split('\n').slice(-lines).join('\n');
}

/** Maps a failed run to a typed error: InputError for a wrong image or a file that is not a WIM,
 *  FormatError for a damaged WIM, EnvironmentError for space/memory/permission, else ToolError. */
export function wimlibErrorFor(args: readonly string[], status: number | null, stderr: string): DeployForgeError {
  const command = [WIMLIB_PROGRAM, ...args].join(' ');
  const stderrTail = tailLines(stderr);
  const f = parseWimlibFailure(stderr, status);
  const details = { command, wimlibCode: f.code, stderrTail };
  const quoted = /"([^"]*)"/g;
  const names = [...f.message.matchAll(quoted)].map((m) => m[1]);
  if (/No space left on device/i.test(stderr)) {
    return new EnvironmentError('DF_NO_SPACE', `no space left on the device while wimlib wrote: free space or choose another output folder`, details);
  }
  switch (f.code) {
    case 18:
      return new InputError('DF_WIM_NO_SUCH_IMAGE', `${f.message}: give a 1-based index or the name of an image in it`, { ...details, image: names[0], file: names[1] });
    case 43:
      return new InputError('DF_WIM_BAD_MAGIC', `${names[0] ?? 'the file'} is not a WIM file (it does not begin with "MSWIM"): check the path`, { ...details, file: names[0] });
    case 17:
    case 67:
      return new InputError(
        f.code === 17 ? 'DF_WIM_BAD_HEADER' : 'DF_WIM_UNKNOWN_VERSION',
        `${f.message}: ${f.description.replace(/\.$/, '')}; it is not a WIM wimlib can read`,
        details,
      );
    case 74:
      return new InputError('DF_WIM_ENCRYPTED', `${f.message}: encrypted ESDs are not supported; download the decrypted media instead`, details);
    case 11:
      return new InputError('DF_WIM_IMAGE_NAME_IN_USE', `${f.message}: choose another image name`, details);
    case 87:
      return new InputError('DF_WIM_IMAGE_ALREADY_PRESENT', `${f.message}: the destination already holds that image`, details);
    case 55:
      return new InputError('DF_WIM_BLOB_MISSING', `${f.message}: data is in another file; pass the other split parts or reference ESDs as refs`, details);
    case 33:
    case 62:
    case 25:
      return new InputError('DF_WIM_SET_INCOMPLETE', `${f.message}: ${f.description.replace(/\.$/, '')}; pass every part of the split WIM`, details);
    case 12:
      return new EnvironmentError('DF_NO_PERMISSION', `${f.message}: ${f.description.replace(/\.$/, '')}`, details);
    case 39:
      return new EnvironmentError('DF_OUT_OF_MEMORY', `wimlib ran out of memory: use fewer threads (a solid LZMS thread needs about 640 MiB)`, details);
    case 47:
    case 48:
      if (/No such file or directory/.test(f.message)) {
        return new InputError('DF_NOT_FOUND', `${names[0] ?? 'a file'} does not exist: check the path`, { ...details, path: names[0] });
      }
      if (/Permission denied/.test(f.message)) {
        return new EnvironmentError('DF_NO_PERMISSION', `no permission to access ${names[0] ?? 'a file'}: fix its permissions`, { ...details, path: names[0] });
      }
      break;
    case 46:
      if (/Failed to mount/.test(stderr)) {
        return new InputError('DF_NOT_NTFS', `${names[0] ?? 'the target'} is not an NTFS volume libntfs-3g can open: format it with mkntfs first`, details);
      }
      break;
  }
  const corruption = f.code !== null ? CORRUPTION_CODES[f.code] : undefined;
  if (corruption) {
    const where = f.file ?? names[0];
    return new FormatError(corruption, `${where ? `${where}: ` : ''}${f.description.replace(/\.$/, '') || f.message}; the WIM is damaged: get a fresh copy`, {
      ...details,
      file: where,
      expectedSha1: f.expectedSha1,
      actualSha1: f.actualSha1,
      resourceOffset: f.resourceOffset,
    });
  }
  const how = status === null ? 'died' : `exited with ${status}`;
  const why = [f.message, f.description].filter((x, i, all) => x && all.indexOf(x) === i).join(': ');
  return new ToolError('DF_TOOL_FAILED', `${WIMLIB_PROGRAM} ${args[0] ?? ''} ${how}${why ? `: ${why}` : ''}`.replace(/\s+/g, ' ').trim(), command, status, stderrTail);
}

// ---------------------------------------------------------------------------------------------
// The runner

interface RunResult {
  stdout: string;
  stderr: string;
  warnings: string[];
}

/** Keeps the last `limit` characters of message output (progress lines are not kept). */
class Tail {
  text = '';
  constructor(private readonly limit = 1024 * 1024) {}
  push(line: string): void {
    this.text += `${line}\n`;
    if (this.text.length > this.limit) this.text = this.text.slice(this.text.length - this.limit);
  }
}

function collectWarnings(text: string): string[] {
  const out: string[] = [];
  let current: string | null = null;
  for (const line of text.split('\n')) {
    const m = /^\[WARNING\]\s+(.*)$/.exec(line);
    if (m) {
      if (current !== null) out.push(current);
      current = m[1].trim();
    } else if (current !== null && /^\s+\S/.test(line)) {
      current += ` ${line.trim()}`;
    } else if (current !== null) {
      out.push(current);
      current = null;
    }
  }
  if (current !== null) out.push(current);
  return out;
}

/** Runs `wimlib-imagex args…`, turning progress lines into events on `options.progress` under
 *  `phasePrefix: <label>`. Resolves when it exits 0; every phase with a total then ends at 100%. */
async function runWimlib(args: readonly string[], options: WimlibRunOptions, phasePrefix: string): Promise<RunResult> {
  if (options.signal?.aborted) throw cancelled(args);
  return new Promise((resolvePromise, reject) => {
    const child = spawn(WIMLIB_PROGRAM, [...args], { env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out = new Tail();
    const err = new Tail();
    const phases = new Map<string, ProgressEvent>();
    let settled = false;
    let timedOut = false;
    let aborted = false;

    const emit = (event: ProgressEvent) => {
      const previous = phases.get(event.phase);
      if (previous && previous.done === event.done && previous.total === event.total) return;
      phases.set(event.phase, event);
      options.progress?.emit(event);
    };
    const handleLine = (line: string, tail: Tail) => {
      if (line.trim() === '') return;
      const p = parseWimlibProgressLine(line);
      if (!p) {
        tail.push(line);
        return;
      }
      const phase = `${phasePrefix}: ${p.label}`;
      const total = p.total;
      emit({ phase, done: total !== undefined ? Math.min(p.done, total) : p.done, total, unit: 'bytes' });
    };
    const reader = (tail: Tail) => {
      const decoder = new StringDecoder('utf8');
      let pending = '';
      return {
        data(chunk: Buffer) {
          pending += decoder.write(chunk);
          const pieces = pending.split(/\r\n|\r|\n/);
          pending = pieces.pop() ?? '';
          for (const piece of pieces) handleLine(piece, tail);
        },
        end() {
          pending += decoder.end();
          if (pending) handleLine(pending, tail);
          pending = '';
        },
      };
    };
    const stdoutReader = reader(out);
    const stderrReader = reader(err);
    child.stdout.on('data', stdoutReader.data);
    child.stderr.on('data', stderrReader.data);

    const timer = options.timeoutMs
      ? setTimeout(() => {
          timedOut = true;
          child.kill('SIGTERM');
        }, options.timeoutMs)
      : undefined;
    const onAbort = () => {
      aborted = true;
      child.kill('SIGTERM');
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const finish = () => {
      settled = true;
      if (timer) clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
    };

    child.on('error', (error: NodeJS.ErrnoException) => {
      if (settled) return;
      finish();
      if (error.code === 'ENOENT') {
        const pkg = PACKAGE_OF[WIMLIB_PROGRAM];
        reject(new EnvironmentError('DF_TOOL_MISSING', `${WIMLIB_PROGRAM} is not installed: run 'apt-get install ${pkg}'`, { program: WIMLIB_PROGRAM, package: pkg }));
      } else if (error.code === 'EACCES') {
        reject(new EnvironmentError('DF_NO_PERMISSION', `${WIMLIB_PROGRAM} cannot be run (permission denied): check the file on PATH`, { program: WIMLIB_PROGRAM }));
      } else {
        reject(new ToolError('DF_TOOL_FAILED', `${WIMLIB_PROGRAM} could not start: ${error.message}`, [WIMLIB_PROGRAM, ...args].join(' '), null, ''));
      }
    });
    child.on('close', (status, signal) => {
      if (settled) return;
      finish();
      stdoutReader.end();
      stderrReader.end();
      if (aborted) {
        reject(cancelled(args));
        return;
      }
      if (timedOut) {
        const command = [WIMLIB_PROGRAM, ...args].join(' ');
        reject(new ToolError('DF_TOOL_FAILED', `${WIMLIB_PROGRAM} ${args[0]} was stopped after ${options.timeoutMs} ms`, command, null, tailLines(err.text || out.text)));
        return;
      }
      if (status !== 0) {
        // wimlib writes messages to stderr; a few programs' failures land on stdout only.
        reject(wimlibErrorFor(args, signal ? null : status, err.text.trim() ? err.text : out.text));
        return;
      }
      for (const event of phases.values()) {
        if (event.total !== undefined && event.done < event.total) emit({ ...event, done: event.total });
      }
      resolvePromise({ stdout: out.text, stderr: err.text, warnings: collectWarnings(`${err.text}\n${out.text}`) });
    });
  });
}

function cancelled(args: readonly string[]): OperationError {
  return new OperationError('DF_CANCELLED', `${WIMLIB_PROGRAM} ${args[0] ?? ''} was cancelled`, { command: [WIMLIB_PROGRAM, ...args].join(' ') });
}

// ---------------------------------------------------------------------------------------------
// Argument helpers

async function statOrNull(path: string) {
  try {
    return await stat(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

async function requireFile(path: string, what: string): Promise<void> {
  const s = await statOrNull(path);
  if (!s) throw new InputError('DF_NOT_FOUND', `${what} ${path} does not exist: check the path`, { path });
  if (s.isDirectory()) throw new InputError('DF_IS_DIRECTORY', `${what} ${path} is a directory: give a file`, { path });
}

function imageArg(image: number | string): string {
  if (typeof image === 'number') {
    if (!Number.isInteger(image) || image < 1) throw new InputError('DF_WIM_NO_SUCH_IMAGE', `image index ${image} is not valid: indexes start at 1`, { image });
    return String(image);
  }
  if (image === '') throw new InputError('DF_WIM_NO_SUCH_IMAGE', 'an empty image name was given: give an index or a name', {});
  return image;
}

function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
}

function sizeText(n: number): string {
  if (n >= 1024 * 1024 && n % (1024 * 1024) === 0) return `${n / (1024 * 1024)} MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} bytes`;
}

function checkChunk(compress: Exclude<WimlibCompression, 'none'>, size: number, option: string, standard: number, allow: boolean, solid: boolean): void {
  const [min, max] = WIMLIB_CHUNK_RANGE[compress];
  if (!isPowerOfTwo(size) || size < min || size > max) {
    throw new InputError(
      'DF_WIM_BAD_CHUNK_SIZE',
      `${option} ${size} is not a ${compress.toUpperCase()} chunk size: give a power of two from ${sizeText(min)} to ${sizeText(max)}`,
      {
        option,
        size,
        compress,
      },
    );
  }
  if (size === standard || allow) return;
  const why =
    solid && size > MICROSOFT_SOLID_CHUNK_SIZE
      ? `Microsoft's WIM software (Windows Setup, DISM) rejects LZMS chunks larger than 64 MiB`
      : `Windows Setup and DISM only read ${compress.toUpperCase()}${solid ? ' solid' : ''} resources in Microsoft's default ${sizeText(standard)} chunks`;
  throw new InputError(
    'DF_WIM_NONSTANDARD_CHUNK_SIZE',
    `${option} ${sizeText(size)} is refused: ${why}; use ${sizeText(standard)}, or pass allowNonStandardChunks if the WIM is only for wimlib`,
    { option, size, standard, compress, solid },
  );
}

/** Checks compression options against Microsoft's defaults and turns them into wimlib options. */
export function compressionArgs(options: WimlibCompressionOptions, defaults: { compress?: WimlibCompression; solid?: boolean } = {}): string[] {
  const solid = options.solid ?? defaults.solid ?? false;
  const compress = options.compress ?? (solid ? 'lzms' : defaults.compress);
  const allow = options.allowNonStandardChunks === true;
  const args: string[] = [];
  if (options.solidChunkSize !== undefined && !solid) {
    throw new InputError('DF_WIM_BAD_OPTION', 'solidChunkSize only applies to solid WIMs (ESDs): pass solid: true or drop it', {});
  }
  if (compress === undefined) {
    if (options.chunkSize !== undefined) throw new InputError('DF_WIM_BAD_OPTION', 'chunkSize needs compress: say which compression the chunks are for', {});
  } else if (compress === 'none') {
    if (solid) throw new InputError('DF_WIM_BAD_OPTION', 'a solid WIM (ESD) must be compressed: use compress: "lzms"', {});
    if (options.chunkSize !== undefined) throw new InputError('DF_WIM_BAD_OPTION', 'an uncompressed WIM has no chunks: drop chunkSize', {});
    args.push('--compress=none');
  } else {
    if (solid && compress !== 'lzms' && !allow) {
      throw new InputError(
        'DF_WIM_NONSTANDARD_COMPRESSION',
        `a solid WIM (ESD) with ${compress.toUpperCase()} resources is refused: Microsoft's ESDs are LZMS throughout; use compress: "lzms"`,
        {
          compress,
        },
      );
    }
    const chunk = options.chunkSize ?? MICROSOFT_CHUNK_SIZES[compress];
    checkChunk(compress, chunk, 'chunkSize', MICROSOFT_CHUNK_SIZES[compress], allow, false);
    args.push(`--compress=${compress}`, `--chunk-size=${chunk}`);
  }
  if (solid) {
    const solidChunk = options.solidChunkSize ?? MICROSOFT_SOLID_CHUNK_SIZE;
    checkChunk('lzms', solidChunk, 'solidChunkSize', MICROSOFT_SOLID_CHUNK_SIZE, allow, true);
    args.push('--solid', '--solid-compress=lzms', `--solid-chunk-size=${solidChunk}`);
  }
  if (options.threads !== undefined) {
    if (!Number.isInteger(options.threads) || options.threads < 1)
      throw new InputError('DF_WIM_BAD_OPTION', `threads ${options.threads} is not valid: give a whole number ≥ 1`, {});
    args.push(`--threads=${options.threads}`);
  }
  if (options.integrity) args.push('--include-integrity');
  return args;
}

/** Microsoft's layout for a file name: an .esd is solid LZMS, anything else LZX 32 KiB. */
function defaultsFor(path: string): { compress: WimlibCompression; solid: boolean } {
  return extname(path).toLowerCase() === '.esd' ? { compress: 'lzms', solid: true } : { compress: 'lzx', solid: false };
}

/** Image property paths as wimlib's --image-property takes them: NAME, WINDOWS/EDITIONID, X[2]. */
const PROPERTY_PATH = /^[A-Za-z_][A-Za-z0-9_.-]*(?:\[\d+\])?(?:\/[A-Za-z_][A-Za-z0-9_.-]*(?:\[\d+\])?)*$/;

function propertyArgs(properties: Readonly<Record<string, string | undefined>>): string[] {
  const args: string[] = [];
  for (const [name, value] of Object.entries(properties)) {
    if (value === undefined) continue;
    if (!PROPERTY_PATH.test(name)) {
      throw new InputError('DF_WIM_BAD_PROPERTY', `"${name}" is not an image property path: use element names separated by "/", e.g. WINDOWS/EDITIONID`, { name });
    }
    if (typeof value !== 'string') throw new InputError('DF_WIM_BAD_PROPERTY', `the value of ${name} must be a string`, { name });
    args.push('--image-property', `${name}=${value}`);
  }
  return args;
}

function refArgs(refs: readonly string[] | undefined): string[] {
  return (refs ?? []).map((r) => `--ref=${r}`);
}

// ---------------------------------------------------------------------------------------------
// Operations

export interface WimlibVersion {
  /** The wimlib-imagex version ("1.13.5"). */
  program: string;
  /** The libwim version it runs with. */
  library: string;
}

/** `wimlib-imagex --version`, parsed. */
export async function wimlibVersion(options: WimlibRunOptions = {}): Promise<WimlibVersion> {
  const { stdout } = await runWimlib(['--version'], options, 'version');
  const m = /wimlib-imagex\s+(\S+)\s+\(using wimlib\s+([^)\s]+)\)/.exec(stdout);
  if (!m) {
    throw new ToolError('DF_TOOL_FAILED', `${WIMLIB_PROGRAM} --version printed no version: ${stdout.split('\n')[0]}`, `${WIMLIB_PROGRAM} --version`, 0, tailLines(stdout));
  }
  return { program: m[1], library: m[2] };
}

export interface ExportOptions extends WimlibRunOptions, WimlibCompressionOptions {
  /** Recompress data even when the destination uses the source's compression (--recompress). */
  recompress?: boolean;
  /** When appending to an existing WIM, rewrite it rather than append (--rebuild). */
  rebuild?: boolean;
  /** Mark the exported image bootable. With 'all', the source's bootable image stays bootable;
   *  with several images listed, give the index or name (as listed) of the one to mark. */
  boot?: boolean | number | string;
  /** Add to an existing destination; without it an existing destination is refused. */
  append?: boolean;
  /** Other WIMs or split parts that hold data (wimlib --ref globs, expanded by wimlib). */
  refs?: string[];
  /** New name/description; only when exporting one image. */
  destName?: string;
  destDescription?: string;
}

/** Exports editions of `src` into `dest`, one wimlib run per listed image (the first creates the
 *  file). Without `compress`/`solid`, a `.esd` destination becomes a solid LZMS ESD with 64 MiB
 *  solid chunks and anything else a non-solid LZX WIM with 32 KiB chunks (install.wim). */
export async function exportImages(src: string, images: readonly (number | string)[] | 'all', dest: string, options: ExportOptions = {}): Promise<WimlibResult> {
  await requireFile(src, 'source WIM');
  const list = images === 'all' ? ['all'] : images.map(imageArg);
  if (list.length === 0) throw new InputError('DF_WIM_NO_IMAGE', 'no images to export: list indexes or names, or pass "all"', {});
  if ((options.destName !== undefined || options.destDescription !== undefined) && list.length !== 1) {
    throw new InputError('DF_WIM_BAD_OPTION', 'destName and destDescription need exactly one image', {});
  }
  if (images === 'all' && options.destName !== undefined) throw new InputError('DF_WIM_BAD_OPTION', 'destName cannot be used with "all"', {});
  let bootIndex = -1;
  if (options.boot === true) {
    if (list.length > 1) throw new InputError('DF_WIM_BAD_OPTION', 'boot: true with several images is ambiguous: give boot the index or name of the bootable one', {});
    bootIndex = 0;
  } else if (typeof options.boot === 'number' || typeof options.boot === 'string') {
    bootIndex = list.indexOf(String(options.boot));
    if (bootIndex < 0) throw new InputError('DF_WIM_BAD_OPTION', `boot ${options.boot} is not one of the exported images ${list.join(', ')}`, {});
  }
  const compression = compressionArgs(options, defaultsFor(dest));
  const existed = (await statOrNull(dest)) !== null;
  if (existed && !options.append) {
    throw new InputError('DF_FILE_EXISTS', `${dest} already exists: choose another name, remove it, or pass append to add the images to it`, { path: dest });
  }
  const warnings: string[] = [];
  try {
    for (const [i, image] of list.entries()) {
      const args = ['export', src, image, dest];
      if (options.destName !== undefined || options.destDescription !== undefined) args.push(options.destName ?? '');
      if (options.destDescription !== undefined) args.push(options.destDescription);
      // An existing WIM keeps its compression (wimlib refuses another type): only pass ours when
      // it was asked for or the file is new.
      const appendingToOld = existed && options.compress === undefined && options.chunkSize === undefined;
      args.push(...(appendingToOld ? compression.filter((a) => !a.startsWith('--compress=') && !a.startsWith('--chunk-size=')) : compression));
      if (options.recompress) args.push('--recompress');
      if (options.rebuild) args.push('--rebuild');
      if (i === bootIndex) args.push('--boot');
      args.push(...refArgs(options.refs));
      const prefix = list.length > 1 ? `export image ${image}` : 'export';
      const result = await runWimlib(args, options, prefix);
      warnings.push(...result.warnings);
    }
  } catch (e) {
    if (!existed) await rm(dest, { force: true });
    throw e;
  }
  return { warnings };
}

export interface CaptureOptions extends WimlibRunOptions, WimlibCompressionOptions {
  description?: string;
  /** Add the image to an existing WIM (wimlib append); a missing WIM is created. */
  append?: boolean;
  /** Mark the new image bootable. */
  boot?: boolean;
  /** The FLAGS property (the edition ID DISM shows, e.g. "Professional"). */
  flags?: string;
  /** Further XML properties set at capture (NAME=VALUE, e.g. { 'WINDOWS/EDITIONID': 'Professional' }). */
  imageProperties?: Readonly<Record<string, string | undefined>>;
  /** Store UNIX owners, modes and special files (wimlib-only extension; Windows ignores it). */
  unixData?: boolean;
  /** When appending, rewrite the WIM instead of appending (--rebuild). */
  rebuild?: boolean;
  /** A wimlib capture configuration file (exclusions). */
  configFile?: string;
  /** Follow symbolic links instead of storing them. */
  dereference?: boolean;
}

/** Captures folder `dir` as image `name` of `wim` (a new file unless `append`). */
export async function captureImage(dir: string, wim: string, name: string, options: CaptureOptions = {}): Promise<WimlibResult> {
  const s = await statOrNull(dir);
  if (!s) throw new InputError('DF_NOT_FOUND', `${dir} does not exist: give the folder to capture`, { path: dir });
  if (!s.isDirectory()) throw new InputError('DF_NOT_A_DIRECTORY', `${dir} is not a folder: give the folder to capture`, { path: dir });
  const existed = (await statOrNull(wim)) !== null;
  if (existed && !options.append) {
    throw new InputError('DF_FILE_EXISTS', `${wim} already exists: choose another name, remove it, or pass append to add the image`, { path: wim });
  }
  const appending = existed && options.append === true;
  const args = [appending ? 'append' : 'capture', dir, wim, name];
  if (options.description !== undefined) args.push(options.description);
  // An existing WIM keeps its compression; only solid data (new solid resources) can be asked for.
  const compression = compressionArgs(options, defaultsFor(wim));
  args.push(...(appending ? compression.filter((a) => !a.startsWith('--compress=') && !a.startsWith('--chunk-size=')) : compression));
  if (options.boot) args.push('--boot');
  if (options.flags !== undefined) args.push(`--flags=${options.flags}`);
  if (options.imageProperties) args.push(...propertyArgs(options.imageProperties));
  if (options.unixData) args.push('--unix-data');
  if (options.rebuild && appending) args.push('--rebuild');
  if (options.configFile !== undefined) args.push(`--config=${options.configFile}`);
  if (options.dereference) args.push('--dereference');
  try {
    const { warnings } = await runWimlib(args, options, appending ? 'append' : 'capture');
    return { warnings };
  } catch (e) {
    if (!existed) await rm(wim, { force: true });
    throw e;
  }
}

export interface ApplyOptions extends WimlibRunOptions {
  /** Restore UNIX owners/modes stored with unixData (folder targets only). */
  unixData?: boolean;
  /** Do not apply security descriptors (NTFS targets). */
  noAcls?: boolean;
  /** Other WIMs or split parts that hold data (wimlib --ref globs). */
  refs?: string[];
  /** Check the integrity table first, when there is one (--check). */
  check?: boolean;
}

function applyArgs(wim: string, image: number | string, target: string, options: ApplyOptions): string[] {
  const args = ['apply', wim, imageArg(image), target];
  if (options.unixData) args.push('--unix-data');
  if (options.noAcls) args.push('--no-acls');
  if (options.check) args.push('--check');
  args.push(...refArgs(options.refs));
  return args;
}

/** Extracts image `image` of `wim` into folder `target` (created when missing). On Linux this
 *  keeps file data, names and timestamps but not Windows ACLs or attributes. */
export async function applyImage(wim: string, image: number | string, target: string, options: ApplyOptions = {}): Promise<WimlibResult> {
  await requireFile(wim, 'WIM');
  const s = await statOrNull(target);
  // wimlib applies to an NTFS volume when the target is not a folder: never let that happen here.
  if (s && !s.isDirectory()) throw new InputError('DF_NOT_A_DIRECTORY', `${target} is not a folder: give a folder (applyToNtfsImage writes volumes)`, { path: target });
  const { warnings } = await runWimlib(applyArgs(wim, image, target, options), options, 'apply');
  return { warnings };
}

/** Applies image `image` of `wim` to the root of an NTFS volume (an image file made with
 *  `mkntfs -F`, or a block device) through libntfs-3g, keeping Windows metadata: ACLs, attributes,
 *  named streams, reparse points, short names. The volume should be empty and not mounted. */
export async function applyToNtfsImage(wim: string, image: number | string, ntfsImageFile: string, options: ApplyOptions = {}): Promise<WimlibResult> {
  await requireFile(wim, 'WIM');
  const s = await statOrNull(ntfsImageFile);
  if (!s) throw new InputError('DF_NOT_FOUND', `${ntfsImageFile} does not exist: create an NTFS volume image first (mkntfs -F -Q FILE)`, { path: ntfsImageFile });
  if (!s.isFile() && !s.isBlockDevice()) {
    throw new InputError('DF_NOT_NTFS', `${ntfsImageFile} is not a file or block device: give an NTFS volume (applyImage writes folders)`, { path: ntfsImageFile });
  }
  const { warnings } = await runWimlib(applyArgs(wim, image, ntfsImageFile, { ...options, unixData: false }), options, 'apply');
  return { warnings };
}

export interface SplitOptions extends WimlibRunOptions {
  /** Largest part in MiB (default 4000, which fits FAT32's 4 GiB file limit). A part holding a
   *  single resource larger than this is as large as that resource: wimlib never splits one. */
  partSizeMiB?: number;
  integrity?: boolean;
}

export interface SplitResult extends WimlibResult {
  /** The parts in order: dest, then dest's name with 2, 3, … before the extension. */
  parts: string[];
}

/** Splits `wim` into `dest` (e.g. install.swm), install2.swm, …. */
export async function splitWim(wim: string, dest: string, options: SplitOptions = {}): Promise<SplitResult> {
  await requireFile(wim, 'WIM');
  const size = options.partSizeMiB ?? 4000;
  if (!Number.isFinite(size) || size <= 0) throw new InputError('DF_WIM_BAD_OPTION', `partSizeMiB ${size} is not valid: give a size in MiB above 0 (4000 fits FAT32)`, {});
  if (await statOrNull(dest)) throw new InputError('DF_FILE_EXISTS', `${dest} already exists: choose another name or remove it`, { path: dest });
  const args = ['split', wim, dest, String(size)];
  if (options.integrity) args.push('--include-integrity');
  const { warnings } = await runWimlib(args, options, 'split');
  const source = await FileSource.open(dest);
  let total: number;
  try {
    total = (await readWimHeader(source)).totalParts;
  } finally {
    await source.close();
  }
  const ext = extname(dest);
  const stem = join(dirname(dest), basename(dest, ext));
  const parts = [dest];
  for (let n = 2; n <= total; n++) parts.push(`${stem}${n}${ext}`);
  const present = new Set(await readdir(dirname(resolve(dest))));
  const missing = parts.filter((p) => !present.has(basename(p)));
  if (missing.length > 0) throw new OperationError('DF_WIM_SPLIT_FAILED', `wimlib split reported ${total} parts but ${missing.join(', ')} are missing`, { missing });
  return { parts, warnings };
}

export interface OptimizeOptions extends WimlibRunOptions, WimlibCompressionOptions {
  /** Recompress all data, not only the data being moved (--recompress). */
  recompress?: boolean;
}

/** Rewrites `wim` without holes (wimlib optimize writes a new file and renames it over the old,
 *  so it always rebuilds). With `compress`/`solid`, converts the compression too. */
export async function optimizeWim(wim: string, options: OptimizeOptions = {}): Promise<WimlibResult> {
  await requireFile(wim, 'WIM');
  const args = ['optimize', wim, ...compressionArgs(options)];
  if (options.recompress) args.push('--recompress');
  const { warnings } = await runWimlib(args, options, 'optimize');
  return { warnings };
}

export interface VerifyOptions extends WimlibRunOptions {
  /** The other parts of a split WIM (wimlib --ref globs). */
  refs?: string[];
}

export interface VerifyResult extends WimlibResult {
  /** False when the WIM has no integrity table (the data and metadata were still checked). */
  integrityChecked: boolean;
}

/** Finds which files of which images hold a blob, for error messages; [] when unknown. */
async function pathsOfBlob(wimPath: string, sha1: string): Promise<string[]> {
  const found: string[] = [];
  let source: FileSource | undefined;
  try {
    source = await FileSource.open(wimPath);
    const wim = await openWim(source);
    for (let index = 1; index <= wim.header.imageCount; index++) {
      try {
        const image = await openWimImage(wim, index);
        for (const entry of image.walk()) {
          for (const s of entry.streams) {
            if (s.sha1?.toLowerCase() === sha1) found.push(`image ${index}:${entry.path}${s.name ? `:${s.name}` : ''}`);
          }
        }
      } catch {}
    }
  } catch {
  } finally {
    await source?.close().catch(() => {});
  }
  return found;
}

/** Checks the integrity table (when present), every image's metadata and every blob's SHA-1.
 *  A damaged WIM raises a FormatError naming the file (for a split set, the part) and, for a bad
 *  blob, the files in the images that hold it. */
export async function verifyWim(wim: string, options: VerifyOptions = {}): Promise<VerifyResult> {
  await requireFile(wim, 'WIM');
  const args = ['verify', wim, ...refArgs(options.refs)];
  try {
    const { warnings } = await runWimlib(args, options, 'verify');
    return { warnings, integrityChecked: !warnings.some((w) => /does not contain integrity information/.test(w)) };
  } catch (e) {
    if (!(e instanceof FormatError)) throw e;
    const file = typeof e.details.file === 'string' ? e.details.file : wim;
    let part: number | undefined;
    let source: FileSource | undefined;
    try {
      source = await FileSource.open(file);
      const header = await readWimHeader(source);
      if (header.totalParts > 1) part = header.partNumber;
    } catch {
    } finally {
      await source?.close().catch(() => {});
    }
    const sha1 = typeof e.details.expectedSha1 === 'string' ? e.details.expectedSha1 : undefined;
    const paths = sha1 ? await pathsOfBlob(wim, sha1) : [];
    const where = `${file}${part !== undefined ? ` (part ${part})` : ''}`;
    const what = sha1
      ? `the data ${paths.length > 0 ? `of ${paths.slice(0, 5).join(', ')}${paths.length > 5 ? ` and ${paths.length - 5} more` : ''} ` : ''}(blob ${sha1}${
          typeof e.details.resourceOffset === 'number' ? ` in the resource at offset ${e.details.resourceOffset}` : ''
        }) does not match its SHA-1`
      : e.message.replace(/^.*?: /, '').replace(/; the WIM is damaged: get a fresh copy$/, '');
    throw new FormatError(e.code, `${where}: ${what}; the WIM is damaged: get a fresh copy`, { ...e.details, file, part, paths });
  }
}

/** The XML properties wimlib's --image-property sets; any other element path works too. An
 *  empty value removes the property. */
export interface WimImageProperties {
  NAME?: string;
  DESCRIPTION?: string;
  DISPLAYNAME?: string;
  DISPLAYDESCRIPTION?: string;
  FLAGS?: string;
  'WINDOWS/EDITIONID'?: string;
  [path: string]: string | undefined;
}

export interface SetPropertiesOptions extends WimlibRunOptions {
  /** Mark this image bootable too (--boot). */
  boot?: boolean;
}

/** Edits XML properties of one image (wimlib info --image-property); rewrites only the XML. */
export async function setImageProperties(wim: string, image: number | string, properties: WimImageProperties, options: SetPropertiesOptions = {}): Promise<WimlibResult> {
  await requireFile(wim, 'WIM');
  const props = propertyArgs(properties);
  if (props.length === 0 && !options.boot) throw new InputError('DF_WIM_BAD_OPTION', 'no properties given: pass at least one NAME=VALUE', {});
  const args = ['info', wim, imageArg(image), ...props];
  if (options.boot) args.push('--boot');
  const { warnings } = await runWimlib(args, options, 'info');
  return { warnings };
}
