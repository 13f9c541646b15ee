// The DeployForge error hierarchy and its catalogue of stable codes.
// Every error a user can cause is one of these; the CLI maps `kind` to an exit code in one
// place (exitCodeFor). Messages are one line that says what is wrong and what to do.

export type ErrorKind = 'usage' | 'input' | 'environment' | 'operation' | 'internal';

/** Exit codes by kind: 2 usage, 3 bad input, 4 environment, 5 operation failed, 1 bug. */
export const EXIT_CODES: Readonly<Record<ErrorKind, number>> = {
  usage: 2,
  input: 3,
  environment: 4,
  operation: 5,
  internal: 1,
};

export class DeployForgeError extends Error {
  readonly code: string;
  readonly kind: ErrorKind;
  readonly details: Record<string, unknown>;

  constructor(kind: ErrorKind, code: string, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = new.target.name;
    this.kind = kind;
    this.code = code;
    this.details = details;
  }

  get exitCode(): number {
    return EXIT_CODES[this.kind];
  }
}

/** Wrong command-line use: unknown flag, missing argument. */
export class UsageError extends DeployForgeError {
  constructor(code: string, message: string, details: Record<string, unknown> = {}) {
    super('usage', code, message, details);
  }
}

/** Malformed, truncated or unsupported bytes; the only error parsers throw. */
export class FormatError extends DeployForgeError {
  constructor(code: string, message: string, details: Record<string, unknown> = {}) {
    super('input', code, message, details);
  }
}

/** Input that is not a format problem: a missing file, an unreadable path, a bad option value. */
export class InputError extends DeployForgeError {
  constructor(code: string, message: string, details: Record<string, unknown> = {}) {
    super('input', code, message, details);
  }
}

/** A recipe or configuration problem; carries every issue found, each with file, line and field. */
export interface ConfigIssue {
  file?: string;
  line?: number;
  field: string;
  message: string;
}

export class ConfigError extends DeployForgeError {
  readonly issues: ConfigIssue[];
  constructor(code: string, message: string, issues: ConfigIssue[] = []) {
    super('input', code, message, { issues });
    this.issues = issues;
  }
}

/** The machine lacks something: a tool, disk space, a permission. */
export class EnvironmentError extends DeployForgeError {
  constructor(code: string, message: string, details: Record<string, unknown> = {}) {
    super('environment', code, message, details);
  }
}

/** An external program ran and failed. */
export class ToolError extends DeployForgeError {
  readonly command: string;
  readonly exitStatus: number | null;
  readonly stderrTail: string;
  constructor(code: string, message: string, command: string, exitStatus: number | null, stderrTail: string) {
    super('operation', code, message, { command, exitStatus, stderrTail });
    this.command = command;
    this.exitStatus = exitStatus;
    this.stderrTail = stderrTail;
  }
}

/** A well-formed request that could not be carried out. */
export class OperationError extends DeployForgeError {
  constructor(code: string, message: string, details: Record<string, unknown> = {}) {
    super('operation', code, message, details);
  }
}

/** Maps any thrown value to an exit code: DeployForgeErrors by kind, Node's own fs errors to
 *  input/environment, everything else is a bug (1). */
export function exitCodeFor(error: unknown): number {
  return toDeployForgeError(error).exitCode;
}

/** Turns Node system errors into typed errors so the CLI prints one useful line. */
export function toDeployForgeError(error: unknown): DeployForgeError {
  if (error instanceof DeployForgeError) return error;
  const sys = error as NodeJS.ErrnoException | undefined;
  const code = typeof sys?.code === 'string' ? sys.code : undefined;
  const path = typeof sys?.path === 'string' ? sys.path : undefined;
  switch (code) {
    case 'ENOENT':
      return new InputError('DF_NOT_FOUND', `${path ?? 'file'} does not exist: check the path`, { path });
    case 'EISDIR':
      return new InputError('DF_IS_DIRECTORY', `${path ?? 'path'} is a directory: give a file`, { path });
    case 'ENOTDIR':
      return new InputError('DF_NOT_FOUND', `${path ?? 'path'} is not a valid path: a parent is not a folder`, { path });
    case 'EACCES':
    case 'EPERM':
      return new EnvironmentError('DF_NO_PERMISSION', `no permission to access ${path ?? 'a file'}: fix its permissions or run as a user who can`, { path });
    case 'ENOSPC':
      return new EnvironmentError('DF_NO_SPACE', 'no space left on the device: free space or choose another output folder', { path });
    case 'EROFS':
      return new EnvironmentError('DF_READ_ONLY', `${path ?? 'target'} is on a read-only file system: choose a writable output folder`, { path });
    default: {
      const message = error instanceof Error ? error.message : String(error);
      const internal = new DeployForgeError('internal', 'DF_INTERNAL', `internal error: ${message} (please report this with --verbose output)`);
      if (error instanceof Error) internal.stack = error.stack;
      return internal;
    }
  }
}
