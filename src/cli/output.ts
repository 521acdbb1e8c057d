/**
 * Presentation only: tables for people, one name a line for scripts, JSON under --json. Commands
 * return data; this module prints it. Errors go through here too, so --json errors are JSON.
 */
import { isStackbackupError, ExitCode, usageError, type ExitCodeValue } from '../util/errors.js';
import { logFormat } from '../util/log.js';
import { redact } from '../util/redact.js';

/** An error as one JSON log line (--log-format json without --json). */
function errorLine(message: string, hint: string | null, exitCode: number): string {
  return `${JSON.stringify({ time: new Date().toISOString(), level: 'error', msg: redact(message), hint: hint === null ? null : redact(hint), exitCode })}\n`;
}

/** How list commands print for people: a table, or one name a line (for scripts). */
export type ListFormat = 'table' | 'names';

/** The --format option of list commands (default table). */
export function listFormat(raw: unknown): ListFormat {
  const value = raw === undefined || raw === '' ? 'table' : String(raw);
  if (value !== 'table' && value !== 'names')
    throw usageError(`--format must be "table" or "names", got ${JSON.stringify(value)}`);
  return value;
}

export type Cell = string | number;

export function renderTable(headers: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const text = rows.map((r) => r.map((c) => String(c)));
  const widths = headers.map((h, i) => Math.max(h.length, ...text.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...text.map(line)].join('\n');
}

export interface Printer {
  json: boolean;
  /** Prints data: JSON when --json, else the human text produced by human(). */
  result<T>(data: T, human: (data: T) => string): void;
}

export function makePrinter(json: boolean, write: (text: string) => void = (t) => process.stdout.write(t)): Printer {
  return {
    json,
    result(data, human) {
      const text = json ? JSON.stringify(data, null, 2) : human(data);
      if (text !== '') write(`${redact(text)}\n`);
    },
  };
}

/** Prints an error for a user and returns the exit code to use. */
export function reportError(
  err: unknown,
  options: { json: boolean; debug: boolean },
  write: (text: string) => void = (t) => process.stderr.write(t),
): ExitCodeValue {
  if (isStackbackupError(err)) {
    if (!options.json && logFormat() === 'json') {
      write(errorLine(err.message, err.hint ?? null, err.exitCode));
    } else if (options.json) {
      write(
        `${redact(JSON.stringify({ error: { message: err.message, hint: err.hint ?? null, exitCode: err.exitCode } }))}\n`,
      );
    } else {
      write(redact(`Error: ${err.message}\n${err.hint ? `Next: ${err.hint}\n` : ''}`));
      if (options.debug && err.stack) write(`${redact(err.stack)}\n`);
    }
    return err.exitCode;
  }
  const message = err instanceof Error ? err.message : String(err);
  if (!options.json && logFormat() === 'json') {
    write(errorLine(`unexpected: ${message}`, 'rerun with --debug and report it', ExitCode.failure));
  } else if (options.json) {
    write(
      `${redact(JSON.stringify({ error: { message: `unexpected: ${message}`, hint: 'rerun with --debug and report it', exitCode: 1 } }))}\n`,
    );
  } else {
    write(redact(`Error (unexpected): ${message}\nNext: rerun with --debug for details and report it.\n`));
    if (options.debug && err instanceof Error && err.stack) write(`${redact(err.stack)}\n`);
  }
  return ExitCode.failure;
}
