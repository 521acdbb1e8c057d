/**
 * The one way external programs (vmbackup, restic, export tools) are run: an argument array, never a
 * shell string, output lines passed through redaction into the log (and, redacted, to an optional
 * per-line callback), a clear error when the program is missing or fails.
 */
import { ExitCode, StackbackupError, codeOf } from './errors.js';
import { log } from './log.js';
import { redact } from './redact.js';

export interface RunOptions {
  env?: Record<string, string>;
  cwd?: string;
  /** Stream each output line to the log (default true). */
  logOutput?: boolean;
  /** Data written to the program's standard input. */
  input?: string;
  /** Kill the program after this many milliseconds. */
  timeoutMs?: number;
  /** What to tell the operator when the program exits non-zero. */
  hint?: string;
  /**
   * Called with each output line (redacted) as it arrives, for example to turn a program's JSON status
   * messages into progress lines. Returning false leaves the line out of the result's stdout/stderr, so
   * that hours of status messages do not pile up in memory.
   */
  onLine?: (line: string, stream: OutputStream) => boolean | void;
  /**
   * Exit codes returned as a result instead of thrown, for a caller that proves the outcome itself
   * (vmbackup's shutdown race: see stores/victoria-metrics/vmtools.ts). Throw with exitFailure().
   */
  returnExitCodes?: readonly number[];
}

export type OutputStream = 'stdout' | 'stderr';

export interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export async function run(program: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const logOutput = options.logOutput ?? true;
  const { onLine } = options;
  const lines = (stream: OutputStream) =>
    function* (line: unknown) {
      const text = String(line);
      if (logOutput) log(text);
      if (onLine?.(redact(text), stream) === false) return;
      yield line;
    };
  // Loaded on first use: commands that run no external program start faster.
  const { execa } = await import('execa');
  const child = execa(program, [...args], {
    env: options.env,
    cwd: options.cwd,
    input: options.input,
    timeout: options.timeoutMs,
    reject: false,
    stripFinalNewline: true,
    ...(logOutput || onLine !== undefined
      ? { stdout: ['pipe', lines('stdout')], stderr: ['pipe', lines('stderr')] }
      : {}),
  });
  const result = await child;
  if (result.failed && result.exitCode === undefined) {
    if (codeOf(result.cause) === 'ENOENT') {
      throw new StackbackupError(`program "${program}" was not found`, {
        exitCode: ExitCode.notFound,
        hint: 'It is part of the stackbackup job image; outside the image run scripts/setup.sh and put .cache/tools/bin on PATH.',
      });
    }
    const why = result.timedOut
      ? `timed out after ${options.timeoutMs} ms`
      : redact(result.shortMessage ?? 'unknown error');
    throw new StackbackupError(`${program} could not run: ${why}`, { hint: options.hint });
  }
  const out: RunResult = {
    exitCode: result.exitCode ?? 1,
    stdout: String(result.stdout ?? ''),
    stderr: String(result.stderr ?? ''),
  };
  if (out.exitCode !== 0 && !(options.returnExitCodes ?? []).includes(out.exitCode))
    throw exitFailure(program, args, out, options.hint);
  return out;
}

/**
 * A program that ran and exited non-zero: its name and exit code as fields, so that callers decide on
 * them (restic's 3 = "some files could not be read") instead of reading the message.
 */
export class ProgramFailure extends StackbackupError {
  constructor(
    readonly program: string,
    readonly programExitCode: number,
    message: string,
    hint: string | undefined,
  ) {
    super(message, { hint });
    this.name = 'ProgramFailure';
  }
}

export function isProgramFailure(err: unknown): err is ProgramFailure {
  return err instanceof ProgramFailure;
}

/** The error of a program that exited non-zero: its exit code and the last lines it printed. */
export function exitFailure(
  program: string,
  args: readonly string[],
  result: RunResult,
  hint?: string,
): ProgramFailure {
  const tail = redact((result.stderr || result.stdout).split('\n').slice(-5).join('\n'));
  return new ProgramFailure(
    program,
    result.exitCode,
    `${program} ${args[0] ?? ''} exited with code ${result.exitCode}${tail ? `:\n${tail}` : ''}`,
    hint,
  );
}

/** A program started to keep running (a drill's scratch server) until stop(). */
export interface RunningProgram {
  /** Set once the program has exited (by itself or by stop()), with the last lines it printed. */
  exited(): string | undefined;
  /** Stops it (SIGTERM, then SIGKILL after graceMs) and waits until it has exited. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Starts a program that keeps running: an argument array, its output lines logged (redacted) when
 * logOutput; its exit is noticed (exited()) so that a caller waiting for it to answer can give up.
 */
export async function startProgram(
  program: string,
  args: readonly string[],
  options: { env?: Record<string, string>; logOutput?: boolean } = {},
): Promise<RunningProgram> {
  const { execa } = await import('execa');
  const tail: string[] = [];
  const keep = function* (line: unknown) {
    const text = redact(String(line));
    if (options.logOutput ?? true) log(text);
    tail.push(text);
    if (tail.length > 5) tail.shift();
    yield line;
  };
  const child = execa(program, [...args], {
    env: options.env,
    reject: false,
    stdin: 'ignore',
    stdout: ['pipe', keep],
    stderr: ['pipe', keep],
    buffer: false,
  });
  let exit: string | undefined;
  const done = child.then((result) => {
    const code = result.exitCode === undefined ? (result.signal ?? 'an error') : `code ${result.exitCode}`;
    const notFound = codeOf(result.cause) === 'ENOENT' ? ` (program "${program}" was not found)` : '';
    exit = `${program} exited with ${code}${notFound}${tail.length > 0 ? `:\n${tail.join('\n')}` : ''}`;
  });
  return {
    exited: () => exit,
    stop: async (graceMs = 10_000) => {
      if (exit !== undefined) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await done;
      clearTimeout(timer);
    },
  };
}
