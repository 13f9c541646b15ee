// The one place DeployForge runs other programs: execFile with an argument array (never a shell
// string), a bounded output buffer, and typed errors: a missing program is an EnvironmentError
// that names the Debian package, a failing one a ToolError with its exit code and stderr tail.
import { execFile } from 'node:child_process';
import { EnvironmentError, ToolError } from '../errors.js';

/** Debian packages that provide the programs we run, for "install X" hints. */
export const PACKAGE_OF: Readonly<Record<string, string>> = {
  'wimlib-imagex': 'wimtools',
  xorriso: 'xorriso',
  '7zz': '7zip',
  udfinfo: 'udftools',
  mformat: 'mtools',
  mcopy: 'mtools',
  mmd: 'mtools',
  mdir: 'mtools',
  'mkfs.fat': 'dosfstools',
  'qemu-system-x86_64': 'qemu-system-x86',
  'qemu-img': 'qemu-utils',
  hivexsh: 'libhivex-bin',
  hivexregedit: 'libwin-hivex-perl',
  hivexget: 'libhivex-bin',
  regfinfo: 'libregf-utils',
  regfexport: 'libregf-utils',
  xmllint: 'libxml2-utils',
  genisoimage: 'genisoimage',
  gcab: 'gcab',
  cabextract: 'cabextract',
};

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Milliseconds before the program is killed; 0 = no limit. */
  timeoutMs?: number;
  /** Largest stdout/stderr kept, in bytes (default 64 MiB). */
  maxBuffer?: number;
  input?: string | Uint8Array;
  /** Return stdout as a Buffer rather than a string. */
  binary?: boolean;
  /** Kills the program when aborted; the promise then rejects with the signal's reason. */
  signal?: AbortSignal;
}

export interface RunResult<T extends string | Buffer = string> {
  stdout: T;
  stderr: string;
}

function tail(text: string, lines = 5): string {
  return text.trim().split('\n').slice(-lines).join('\n');
}

/** Runs `program args…`, resolves with its output when it exits 0, throws otherwise. */
export function runTool(program: string, args: readonly string[], options: RunOptions & { binary: true }): Promise<RunResult<Buffer>>;
export function runTool(program: string, args: readonly string[], options?: RunOptions): Promise<RunResult<string>>;
export function runTool(program: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult<string | Buffer>> {
  return new Promise((resolvePromise, reject) => {
    const child = execFile(
      program,
      [...args],
      {
        cwd: options.cwd,
        env: options.env,
        timeout: options.timeoutMs ?? 0,
        maxBuffer: options.maxBuffer ?? 64 * 1024 * 1024,
        encoding: options.binary ? 'buffer' : 'utf8',
        signal: options.signal,
      },
      (error, stdout, stderr) => {
        const errText = Buffer.isBuffer(stderr) ? stderr.toString('utf8') : String(stderr);
        if (!error) {
          resolvePromise({ stdout: stdout as string | Buffer, stderr: errText });
          return;
        }
        if (options.signal?.aborted) {
          // Node calls back as soon as it sends the kill; callers clean up after a rejection,
          // so it waits until the program has really gone.
          const reason = options.signal.reason;
          if (child.exitCode === null && child.signalCode === null) child.once('exit', () => reject(reason));
          else reject(reason);
          return;
        }
        const sys = error as NodeJS.ErrnoException & { killed?: boolean; signal?: string };
        if (sys.code === 'ENOENT') {
          const pkg = PACKAGE_OF[program];
          reject(
            new EnvironmentError('DF_TOOL_MISSING', `${program} is not installed: run 'apt-get install ${pkg ?? program}'${pkg ? '' : ' (or install it another way)'}`, {
              program,
              package: pkg,
            }),
          );
          return;
        }
        const status = typeof error.code === 'number' ? error.code : null;
        const how = sys.killed ? `was stopped after ${options.timeoutMs} ms` : status !== null ? `exited with ${status}` : `died (${sys.signal ?? 'unknown'})`;
        const command = [program, ...args].join(' ');
        const detail = tail(errText) || tail(String(stdout ?? ''));
        reject(new ToolError('DF_TOOL_FAILED', `${program} ${how}: ${detail.split('\n').pop() ?? ''}`.trim(), command, status, detail));
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

/** True when `program` can be found on PATH. */
export async function hasTool(program: string): Promise<boolean> {
  const { access, constants } = await import('node:fs/promises');
  const { delimiter, join } = await import('node:path');
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    try {
      await access(join(dir, program), constants.X_OK);
      return true;
    } catch {}
  }
  return false;
}
