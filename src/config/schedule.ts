/**
 * When a cron schedule fires, in UTC: the next fire times and the schedule's interval (the largest gap
 * among the next several fire times), for status and metrics ("stale" = no complete backup within twice
 * the interval). Kubernetes 5-field schedules and macros, and Elasticsearch (Quartz) schedules with
 * seconds, `?`, `L`, `nW`, `LW`, `d#n` and `dL`. Expressions are validated by cron.ts first.
 */
import { DateTime } from 'luxon';
import { checkElasticsearchCron, checkKubernetesCron } from './cron.js';

export type CronFlavour = 'kubernetes' | 'elasticsearch';

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];
const MACROS: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

/** How many fire times the interval looks at: enough to see a weekend of a weekdays-only schedule. */
const FIRES_FOR_INTERVAL = 32;
/** Days searched for the next fire time (a schedule such as `0 0 29 2 *` fires every four years). */
const SEARCH_DAYS = 366 * 9;

/** A day matcher: one day of the month (luxon DateTime at UTC midnight). */
type DayRule = (day: DateTime) => boolean;

export interface Schedule {
  expression: string;
  flavour: CronFlavour;
  seconds: readonly number[];
  minutes: readonly number[];
  hours: readonly number[];
  months: ReadonlySet<number>;
  years: ReadonlySet<number> | undefined;
  day: DayRule;
}

function valueOf(token: string, names: readonly string[] | undefined, offset: number): number {
  if (/^[0-9]+$/.test(token)) return Number(token);
  const i = names?.indexOf(token.toUpperCase()) ?? -1;
  return i + offset;
}

/** The values of one field (`*`, lists, ranges, steps); `names` index + offset gives a name's number. */
function values(text: string, min: number, max: number, names?: readonly string[], offset = 0): number[] {
  const out = new Set<number>();
  for (const part of text.split(',')) {
    const [range = '*', stepText] = part.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    let lo = min;
    let hi = max;
    if (range !== '*' && range !== '?') {
      const [a = '', b] = range.split('-');
      lo = valueOf(a, names, offset);
      hi = b === undefined ? (stepText === undefined ? lo : max) : valueOf(b, names, offset);
    }
    for (let v = lo; v <= hi; v += step) out.add(v);
  }
  return [...out].sort((a, b) => a - b);
}

const isWild = (f: string): boolean => f === '*' || f === '?' || f.startsWith('*/');

function lastDay(day: DateTime): number {
  return day.daysInMonth ?? 31;
}

/** The weekday (Mon-Fri) nearest to day n of the month, not crossing into another month (Quartz `nW`). */
function nearestWeekday(day: DateTime, n: number): number {
  const target = day.set({ day: Math.min(n, lastDay(day)) });
  const wd = target.weekday; // 1 = Monday ... 7 = Sunday
  if (wd === 6) return target.day === 1 ? 3 : target.day - 1;
  if (wd === 7) return target.day === lastDay(day) ? target.day - 2 : target.day + 1;
  return target.day;
}

/** A day-of-month field (Kubernetes or Quartz). */
function domRule(field: string): DayRule {
  const parts = field.split(',');
  const plainParts = parts.filter((p) => !/[LW]/.test(p));
  const plain = plainParts.length === 0 ? [] : values(plainParts.join(','), 1, 31);
  const rules: DayRule[] = [(d) => plain.includes(d.day)];
  for (const p of parts) {
    if (p === 'L') rules.push((d) => d.day === lastDay(d));
    else if (p === 'LW') rules.push((d) => d.day === nearestWeekday(d, lastDay(d)));
    else if (/^L-[0-9]+$/.test(p)) rules.push((d) => d.day === lastDay(d) - Number(p.slice(2)));
    else if (/^[0-9]+W$/.test(p)) rules.push((d) => d.day === nearestWeekday(d, Number(p.slice(0, -1))));
  }
  return (d) => rules.some((r) => r(d));
}

/** A day-of-week field: Kubernetes 0-7 (0 and 7 Sunday), Quartz 1-7 (1 Sunday), `d#n`, `dL`. */
function dowRule(field: string, flavour: CronFlavour): DayRule {
  // Sunday-based weekday number of a day: 0 = Sunday ... 6 = Saturday.
  const sun0 = (d: DateTime): number => d.weekday % 7;
  const parts = field.split(',');
  const base = flavour === 'kubernetes' ? 0 : 1;
  const plainParts = parts.filter((p) => !/[L#]/.test(p));
  const plain =
    plainParts.length === 0 ? [] : values(plainParts.join(','), base, base + 6, DAYS, base).map((v) => (v - base) % 7);
  const rules: DayRule[] = [(d) => plain.includes(sun0(d))];
  for (const p of parts) {
    const m = /^([0-9]+|[A-Z]{3})(L|#([1-5]))$/i.exec(p);
    if (!m) continue;
    const wd = (valueOf(m[1] ?? '', DAYS, base) - base) % 7;
    if (m[2] === 'L') rules.push((d) => sun0(d) === wd && d.day + 7 > lastDay(d));
    else rules.push((d) => sun0(d) === wd && Math.ceil(d.day / 7) === Number(m[3]));
  }
  return (d) => rules.some((r) => r(d));
}

/** Parses a validated schedule; throws the usage error of cron.ts for an invalid one. */
export function parseSchedule(expression: string, flavour: CronFlavour, valueName: string): Schedule {
  if (flavour === 'kubernetes') {
    const text = checkKubernetesCron(expression, valueName);
    const [minute = '', hour = '', dom = '', month = '', dow = ''] = (MACROS[text] ?? text).split(/\s+/);
    const domR = domRule(dom);
    const dowR = dowRule(dow, flavour);
    // Kubernetes (like Vixie cron): when both day fields are restricted, a day matching either fires.
    const day: DayRule =
      isWild(dom) && isWild(dow) ? () => true : isWild(dom) ? dowR : isWild(dow) ? domR : (d) => domR(d) || dowR(d);
    return {
      expression: text,
      flavour,
      seconds: [0],
      minutes: values(minute, 0, 59),
      hours: values(hour, 0, 23),
      months: new Set(values(month, 1, 12, MONTHS, 1)),
      years: undefined,
      day,
    };
  }
  const text = checkElasticsearchCron(expression, valueName);
  const [second = '', minute = '', hour = '', dom = '', month = '', dow = '', year] = text.split(/\s+/);
  return {
    expression: text,
    flavour,
    seconds: values(second, 0, 59),
    minutes: values(minute, 0, 59),
    hours: values(hour, 0, 23),
    months: new Set(values(month, 1, 12, MONTHS, 1)),
    years: year === undefined || year === '*' ? undefined : new Set(values(year, 1970, 2199)),
    day: dom === '?' ? dowRule(dow, flavour) : domRule(dom),
  };
}

/** The next `count` fire times strictly after `after` (fewer when the schedule stops, e.g. a past year). */
export function nextFireTimes(schedule: Schedule, after: DateTime, count: number): DateTime[] {
  const out: DateTime[] = [];
  const from = after.toUTC();
  let day = from.startOf('day');
  for (let i = 0; i < SEARCH_DAYS && out.length < count; i++, day = day.plus({ days: 1 })) {
    if (!schedule.months.has(day.month)) continue;
    if (schedule.years !== undefined && !schedule.years.has(day.year)) continue;
    if (!schedule.day(day)) continue;
    for (const hour of schedule.hours) {
      for (const minute of schedule.minutes) {
        for (const second of schedule.seconds) {
          const t = day.set({ hour, minute, second });
          if (t > from) out.push(t);
          if (out.length >= count) return out;
        }
      }
    }
  }
  return out;
}

/** The next fire time after `after`, undefined when the schedule never fires again. */
export function nextFireTime(schedule: Schedule, after: DateTime): DateTime | undefined {
  return nextFireTimes(schedule, after, 1)[0];
}

/**
 * The schedule's interval in seconds: the largest gap among the next fire times after `after` (a
 * weekdays-only daily schedule: 3 days; `25 * * * *`: 1 hour). Undefined when it fires fewer than twice.
 */
export function scheduleIntervalSeconds(schedule: Schedule, after: DateTime): number | undefined {
  const times = nextFireTimes(schedule, after, FIRES_FOR_INTERVAL);
  if (times.length < 2) return undefined;
  let largest = 0;
  for (let i = 1; i < times.length; i++) {
    const gap = (times[i] as DateTime).toSeconds() - (times[i - 1] as DateTime).toSeconds();
    largest = Math.max(largest, gap);
  }
  return largest;
}
