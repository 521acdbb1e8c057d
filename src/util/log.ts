/**
 * Job and CLI logging. Log lines go to stderr (stdout is reserved for command output such as lists
 * and --json), each through redact(). `--log-format json` (or STACKBACKUP_LOG_FORMAT=json, the chart's
 * logFormat value) makes each line one JSON object {time, level, msg} for log pipelines; the message is
 * redacted before it is encoded.
 */
import { redact } from './redact.js';

export type LogSink = (line: string) => void;
export type LogFormat = 'text' | 'json';
export type LogLevel = 'info' | 'warning' | 'error';

export const LOG_FORMATS: readonly LogFormat[] = ['text', 'json'];

let sink: LogSink = (line) => process.stderr.write(`${line}\n`);
let quiet = false;
let format: LogFormat = 'text';

export function setLogSink(next: LogSink): LogSink {
  const previous = sink;
  sink = next;
  return previous;
}

export function setQuiet(value: boolean): void {
  quiet = value;
}

export function setLogFormat(value: LogFormat): void {
  format = value;
}

export function logFormat(): LogFormat {
  return format;
}

/** One log line in the current format, redacted. */
export function formatLine(level: LogLevel, message: string, now: Date = new Date()): string {
  const text = redact(message);
  if (format === 'text') return level === 'warning' ? `WARNING: ${text}` : text;
  // Redacted before encoding: a pattern run over the encoded line could swallow its closing quote.
  return JSON.stringify({ time: now.toISOString(), level, msg: text });
}

export function log(message: string): void {
  if (!quiet) sink(formatLine('info', message));
}

/** A section header in the StackState style: `=== Listing StackGraph backups...`. */
export function section(message: string): void {
  log(`=== ${message}`);
}

export function warn(message: string): void {
  sink(formatLine('warning', message));
}

/** An error for a person, as a log line (the CLI's error output under --log-format json). */
export function logError(message: string): void {
  sink(formatLine('error', message));
}
