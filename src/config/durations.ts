/**
 * Retention durations in Python timedelta keyword syntax, as StackState's
 * backup.stackGraph.scheduled.backupRetentionTimeDelta takes them: `days=30`, `weeks=2, hours=12`,
 * `days = 30`. Keywords: weeks, days, hours, minutes, seconds (and milliseconds, microseconds).
 */
import { Duration } from 'luxon';
import { usageError } from '../util/errors.js';

const KEYWORDS = ['weeks', 'days', 'hours', 'minutes', 'seconds', 'milliseconds', 'microseconds'] as const;
type Keyword = (typeof KEYWORDS)[number];

function isKeyword(word: string): word is Keyword {
  return (KEYWORDS as readonly string[]).includes(word);
}

export function parseTimedelta(text: string, valueName = 'backupRetentionTimeDelta'): Duration {
  const example = 'for example "days=30" or "weeks=2, hours=12"';
  const trimmed = text.trim();
  if (trimmed === '') throw usageError(`${valueName} is empty; give a duration ${example}`);
  const parts: Partial<Record<Keyword, number>> = {};
  for (const raw of trimmed.split(',')) {
    const piece = raw.trim();
    const match = /^([a-z]+)\s*=\s*([0-9]+(?:\.[0-9]+)?)$/.exec(piece);
    if (!match) {
      throw usageError(
        `${valueName} "${text}": cannot read "${piece}"; use keyword=number pairs separated by commas, ${example}`,
      );
    }
    const [, keyword = '', amount = ''] = match;
    if (!isKeyword(keyword)) {
      throw usageError(`${valueName} "${text}": unknown unit "${keyword}"; use one of ${KEYWORDS.join(', ')}`);
    }
    if (parts[keyword] !== undefined) throw usageError(`${valueName} "${text}": "${keyword}" is given twice`);
    parts[keyword] = Number(amount);
  }
  const micro = parts.microseconds ?? 0;
  const units: Record<string, number> = {
    weeks: parts.weeks ?? 0,
    days: parts.days ?? 0,
    hours: parts.hours ?? 0,
    minutes: parts.minutes ?? 0,
    seconds: parts.seconds ?? 0,
    milliseconds: (parts.milliseconds ?? 0) + micro / 1000,
  };
  // Only the units given, so that messages read "30 days", not "0 weeks, 30 days, 0 hours...".
  const duration = Duration.fromObject(Object.fromEntries(Object.entries(units).filter(([, v]) => v !== 0)));
  if (duration.as('milliseconds') <= 0)
    throw usageError(`${valueName} "${text}" is zero; a retention of nothing would delete every backup`);
  return duration;
}

/** Elasticsearch time units (`30d`, `12h`, `90m`), used by snapshotRetentionExpireAfter. */
export function parseElasticsearchTime(text: string, valueName = 'snapshotRetentionExpireAfter'): Duration {
  const match = /^([0-9]+)(d|h|m|s|ms|micros|nanos)$/.exec(text.trim());
  if (!match)
    throw usageError(`${valueName} "${text}" is not an Elasticsearch time unit; use for example "30d", "12h" or "90m"`);
  const amount = Number(match[1]);
  const unit = match[2];
  const ms =
    unit === 'd'
      ? amount * 86_400_000
      : unit === 'h'
        ? amount * 3_600_000
        : unit === 'm'
          ? amount * 60_000
          : unit === 's'
            ? amount * 1000
            : unit === 'ms'
              ? amount
              : unit === 'micros'
                ? amount / 1000
                : amount / 1_000_000;
  return Duration.fromObject({ milliseconds: ms });
}
