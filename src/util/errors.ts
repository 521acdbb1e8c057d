/**
 * The one error type users see. It carries what went wrong, what to do next (a hint, usually the
 * next command to run) and the process exit code. Anything else that escapes is a bug and is shown
 * as such (with the stack only under --debug).
 */

/** Exit codes, one per kind of failure so that scripts can tell them apart. */
export const ExitCode = {
  ok: 0,
  failure: 1,
  usage: 2,
  notFound: 3,
  unreachable: 4,
  credentials: 5,
  bucketMissing: 6,
  integrity: 7,
  conflict: 8,
  noSpace: 9,
  interrupted: 130,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export interface ErrorDetails {
  hint?: string;
  exitCode?: ExitCodeValue;
  cause?: unknown;
}

export class StackbackupError extends Error {
  readonly hint: string | undefined;
  readonly exitCode: ExitCodeValue;

  constructor(message: string, details: ErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'StackbackupError';
    this.hint = details.hint;
    this.exitCode = details.exitCode ?? ExitCode.failure;
  }
}

/** A bad argument or value: raised by validate(), before any side effect. */
export function usageError(message: string, hint?: string): StackbackupError {
  return new StackbackupError(message, { hint, exitCode: ExitCode.usage });
}

export function isStackbackupError(err: unknown): err is StackbackupError {
  return err instanceof StackbackupError;
}

/** The message of anything thrown, for wrapping third-party errors. */
export function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/** The errno-style code of a Node or client error (ECONNREFUSED, ENOSPC, NoSuchKey...). */
export function codeOf(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const code = (err as { code: unknown }).code;
    if (typeof code === 'string') return code;
  }
  if (err instanceof Error && err.cause !== undefined) return codeOf(err.cause);
  return undefined;
}

/** Turns a local filesystem failure into an operator-facing error (full disk, permissions). */
export function fileError(action: string, path: string, err: unknown): StackbackupError {
  const code = codeOf(err);
  if (code === 'ENOSPC') {
    return new StackbackupError(`no space left on the device while ${action} ${path}`, {
      exitCode: ExitCode.noSpace,
      hint: 'Free space or give the job a larger scratch volume; nothing was published.',
      cause: err,
    });
  }
  if (code === 'ENOENT') {
    return new StackbackupError(`${path} does not exist (while ${action})`, {
      exitCode: ExitCode.notFound,
      cause: err,
    });
  }
  if (code === 'EACCES' || code === 'EPERM') {
    return new StackbackupError(`permission denied while ${action} ${path}`, {
      hint: 'Check the file owner and the job securityContext (runAsUser, fsGroup).',
      cause: err,
    });
  }
  return new StackbackupError(`failed while ${action} ${path}: ${messageOf(err)}`, { cause: err });
}
