/**
 * Schedule validation, before anything is rendered or run:
 * - Kubernetes CronJob schedules: five fields (minute hour day-of-month month day-of-week) or a macro;
 * - Elasticsearch (Quartz-style) cron: seconds minutes hours day-of-month month day-of-week [year],
 *   where exactly one of day-of-month and day-of-week is `?`.
 */
import { usageError } from '../util/errors.js';

interface Field {
  name: string;
  min: number;
  max: number;
  names?: readonly string[];
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];
const MACROS = ['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly'];

function checkValue(token: string, field: Field): boolean {
  if (/^[0-9]+$/.test(token)) {
    const n = Number(token);
    return n >= field.min && n <= field.max;
  }
  return field.names?.includes(token.toUpperCase()) ?? false;
}

function checkField(text: string, field: Field, extra: RegExp | undefined): string | undefined {
  for (const part of text.split(',')) {
    if (part === '') return `empty list item in ${field.name}`;
    if (extra?.test(part)) continue;
    const [range = '', step, ...rest] = part.split('/');
    if (rest.length > 0) return `"${part}" in ${field.name} has two steps`;
    if (step !== undefined && !/^[1-9][0-9]*$/.test(step))
      return `step "${step}" in ${field.name} must be a positive number`;
    if (range === '*') continue;
    const bounds = range.split('-');
    if (bounds.length > 2) return `"${range}" in ${field.name} is not a range`;
    for (const b of bounds) {
      if (!checkValue(b, field)) return `"${b}" is out of range for ${field.name} (${field.min}-${field.max})`;
    }
  }
  return undefined;
}

const K8S_FIELDS: Field[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: MONTHS },
  { name: 'day of week', min: 0, max: 7, names: DAYS },
];

/** Validates a Kubernetes CronJob schedule; throws a usage error naming the value and the problem. */
export function checkKubernetesCron(schedule: string, valueName: string): string {
  const text = schedule.trim();
  if (MACROS.includes(text)) return text;
  const fields = text.split(/\s+/);
  const example = 'for example "0 3 * * *" (03:00 every day)';
  if (fields.length !== 5) {
    throw usageError(
      `${valueName} "${schedule}" has ${fields.length} fields; a Kubernetes cron schedule has 5 (minute hour day-of-month month day-of-week), ${example}`,
    );
  }
  fields.forEach((f, i) => {
    const problem = checkField(f, K8S_FIELDS[i] as Field, undefined);
    if (problem) throw usageError(`${valueName} "${schedule}": ${problem}; ${example}`);
  });
  return text;
}

const ES_FIELDS: Field[] = [
  { name: 'seconds', min: 0, max: 59 },
  { name: 'minutes', min: 0, max: 59 },
  { name: 'hours', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: MONTHS },
  { name: 'day of week', min: 1, max: 7, names: DAYS },
  { name: 'year', min: 1970, max: 2199 },
];

/** Validates an Elasticsearch (SLM) cron schedule such as `0 0 3 * * ?`. */
export function checkElasticsearchCron(schedule: string, valueName: string): string {
  const text = schedule.trim();
  const fields = text.split(/\s+/);
  const example = 'for example "0 0 3 * * ?" (03:00:00 every day)';
  if (fields.length !== 6 && fields.length !== 7) {
    throw usageError(
      `${valueName} "${schedule}" has ${fields.length} fields; an Elasticsearch cron schedule has 6 or 7 (seconds minutes hours day-of-month month day-of-week [year]), ${example}`,
    );
  }
  const dom = fields[3] ?? '';
  const dow = fields[5] ?? '';
  if ((dom === '?') === (dow === '?')) {
    throw usageError(`${valueName} "${schedule}": exactly one of day-of-month and day-of-week must be "?"; ${example}`);
  }
  fields.forEach((f, i) => {
    if (f === '?' && (i === 3 || i === 5)) return;
    const extra = i === 3 ? /^(L|L-[0-9]+|[0-9]+W|LW)$/ : i === 5 ? /^([1-7]|[A-Z]{3})(L|#[1-5])$/i : undefined;
    const problem = checkField(f, ES_FIELDS[i] as Field, extra);
    if (problem) throw usageError(`${valueName} "${schedule}": ${problem}; ${example}`);
  });
  return text;
}
