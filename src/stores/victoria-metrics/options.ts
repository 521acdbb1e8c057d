/** Validation shared by the Victoria Metrics verbs: strict names, paths, numbers, tier counts. */
import { isAbsolute } from 'node:path';
import { Duration } from 'luxon';
import { checkName } from '../../config/names.js';
import { usageError } from '../../util/errors.js';
import type { TierPolicy } from './retention.js';

export const DEFAULT_BUCKET = 'sts-victoria-metrics-backup';
export const DEFAULT_KEEP_DAILY = 7;
export const DEFAULT_KEEP_WEEKLY = 4;
/** Incomplete versions younger than this may still be uploading: prune leaves them alone. */
export const INCOMPLETE_GRACE = Duration.fromObject({ hours: 24 });

export function instanceName(value: unknown, source: string): string {
  return checkName('kubernetesName', String(value ?? ''), source);
}

export function versionName(instance: string, value: unknown, source: string): string {
  const version = checkName('backupName', String(value ?? ''), source);
  if (!new RegExp(`^${instance}-[0-9]{14}$`).test(version)) {
    throw usageError(`${source} "${version}" is not a version of ${instance}; versions look like ${instance}-YYYYMMDDHHMMSS`, 'List them with restore/list-victoria-metrics-backups.sh.');
  }
  return version;
}

export function bucketName(value: unknown, source: string): string {
  return checkName('bucket', String(value ?? DEFAULT_BUCKET), source);
}

export function dataPath(value: unknown, source: string): string {
  const path = String(value ?? '');
  if (path === '' || !isAbsolute(path)) throw usageError(`${source} must be an absolute path (the instance's -storageDataPath as mounted here), got "${path}"`);
  return path;
}

export function wholeNumber(value: unknown, source: string, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw usageError(`${source} must be a whole number from ${min} to ${max}, got "${String(value)}"`);
  return n;
}

export function tierPolicy(raw: { keepDaily?: unknown; keepWeekly?: unknown }): TierPolicy {
  const keepDaily = wholeNumber(raw.keepDaily ?? DEFAULT_KEEP_DAILY, '--keep-daily', 0, 3650);
  const keepWeekly = wholeNumber(raw.keepWeekly ?? DEFAULT_KEEP_WEEKLY, '--keep-weekly', 0, 520);
  return { keepDaily, keepWeekly, incompleteGrace: INCOMPLETE_GRACE };
}

/** A list option given once, repeated, or not at all. */
export function list(value: unknown): string[] {
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).map(String);
}
