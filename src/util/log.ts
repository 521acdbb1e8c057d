/**
 * Job and CLI logging. Log lines go to stderr (stdout is reserved for command output such as lists
 * and --json), each through redact().
 */
import { redact } from './redact.js';

export type LogSink = (line: string) => void;

let sink: LogSink = (line) => process.stderr.write(`${line}\n`);
let quiet = false;

export function setLogSink(next: LogSink): LogSink {
  const previous = sink;
  sink = next;
  return previous;
}

export function setQuiet(value: boolean): void {
  quiet = value;
}

export function log(message: string): void {
  if (!quiet) sink(redact(message));
}

/** A section header in the StackState style: `=== Listing StackGraph backups...`. */
export function section(message: string): void {
  log(`=== ${message}`);
}

export function warn(message: string): void {
  sink(redact(`WARNING: ${message}`));
}
