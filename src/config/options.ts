/**
 * Reading option values the same way in every store. An option left out (undefined: yargs passes its
 * default, callers in code pass nothing) takes its default; an option given explicitly empty or blank
 * (`--retention ""`, `--keep-daily " "`, `--bucket=`) is refused with exit 2 before anything happens,
 * never read as the default, as 0 or as "no filter".
 */
import { usageError } from '../util/errors.js';

/** True for a value that was given but holds nothing: '' or only whitespace (also inside a repeated option). */
export function isBlank(raw: unknown): boolean {
  if (Array.isArray(raw)) return raw.some(isBlank);
  return typeof raw === 'string' && raw.trim() === '';
}

function blankError(source: string, fallback: string | number | undefined): Error {
  const leave =
    fallback === undefined ? 'leave the option out' : `leave the option out to use the default (${String(fallback)})`;
  return usageError(
    `${source} is empty (an empty value is never read as the default)`,
    `Give it a value, or ${leave}. Nothing was changed.`,
  );
}

/** Refuses an explicitly blank value; returns the value given (undefined when left out). */
export function given(raw: unknown, source: string, fallback?: string | number): unknown {
  if (isBlank(raw)) throw blankError(source, fallback);
  return raw;
}

/** The option as text: the fallback when left out, refused when blank. Not trimmed. */
export function text(raw: unknown, source: string, fallback: string): string {
  const value = given(raw, source, fallback);
  return value === undefined ? fallback : String(value);
}

/** The option as text when given (refused when blank), undefined when left out. */
export function optionalText(raw: unknown, source: string): string | undefined {
  const value = given(raw, source);
  return value === undefined ? undefined : String(value);
}

/**
 * A whole number from min to max: the fallback when left out; refused when blank, fractional or out
 * of range (yargs' number type reads `""` as 0, so count options are declared as strings and read here).
 */
export function wholeNumber(raw: unknown, source: string, min: number, max: number, fallback?: number): number {
  const value = given(raw, source, fallback);
  if (value === undefined) {
    if (fallback === undefined) throw usageError(`${source} is required: give a whole number from ${min} to ${max}`);
    return fallback;
  }
  const shown = String(value).trim();
  const n = /^-?[0-9]+$/.test(shown) ? Number(shown) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max)
    throw usageError(`${source} must be a whole number from ${min} to ${max}, got ${JSON.stringify(String(value))}`);
  return n;
}

/** A list option given once, repeated, comma-separated, or not at all; a blank item is refused. */
export function listOption(raw: unknown, source: string): string[] {
  if (raw === undefined) return [];
  const items = (Array.isArray(raw) ? raw : [raw]).flatMap((v) => String(v).split(',')).map((v) => v.trim());
  if (items.some((v) => v === ''))
    throw usageError(
      `${source} has an empty name (${JSON.stringify((Array.isArray(raw) ? raw : [raw]).map(String).join(','))}); give names separated by commas, or leave the option out`,
    );
  return items;
}
