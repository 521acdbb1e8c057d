/**
 * Staggering inside the backup window: each claim starts at window start + an offset taken from a hash
 * of its name, so a claim keeps its time from day to day (and when claims are added or removed), and
 * claims spread over the window instead of all starting at once.
 */
import { createHash } from 'node:crypto';
import type { DateTime } from 'luxon';
import { usageError } from '../../util/errors.js';

/** SHA-256 of the claim name, hex. */
export function claimHash(claim: string): string {
  return createHash('sha256').update(claim).digest('hex');
}

/** Seconds after the window start at which the claim's backup begins: [0, windowSeconds). */
export function staggerOffsetSeconds(claim: string, windowSeconds: number): number {
  if (windowSeconds <= 0) return 0;
  return Number(BigInt(`0x${claimHash(claim).slice(0, 16)}`) % BigInt(windowSeconds));
}

/** A window length: `2h`, `90m`, `1h30m`, `45s`, or a number of minutes. */
export function parseWindow(text: unknown, source = '--window'): number {
  const value = String(text ?? '').trim();
  if (/^[0-9]+$/.test(value)) return Number(value) * 60;
  const m = /^(?:([0-9]+)h)?(?:([0-9]+)m)?(?:([0-9]+)s)?$/.exec(value);
  if (value === '' || !m)
    throw usageError(
      `${source} ${JSON.stringify(value)} is not a duration: use for example "2h", "90m", "1h30m" (or a number of minutes)`,
    );
  const seconds = Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0);
  if (seconds > 7 * 86_400) throw usageError(`${source} ${value} is longer than a week`);
  return seconds;
}

export interface PlannedBackup {
  claim: string;
  offsetSeconds: number;
  at: DateTime;
}

/** Every claim's start in the window, earliest first. */
export function planWindow(claims: readonly string[], windowStart: DateTime, windowSeconds: number): PlannedBackup[] {
  return [...new Set(claims)]
    .map((claim) => {
      const offsetSeconds = staggerOffsetSeconds(claim, windowSeconds);
      return { claim, offsetSeconds, at: windowStart.plus({ seconds: offsetSeconds }) };
    })
    .sort((a, b) => a.offsetSeconds - b.offsetSeconds || a.claim.localeCompare(b.claim));
}
