/** Summaries the benches report. */

/** The middle value (the upper one of an even count); NaN for no values. */
export function median(xs: readonly number[]): number {
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
}
