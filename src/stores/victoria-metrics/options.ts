/** Validation shared by the Victoria Metrics verbs: strict names, paths, tier counts (numbers and lists: config/options). */
import { isAbsolute } from 'node:path';
import { Duration } from 'luxon';
import { checkName } from '../../config/names.js';
import { given, text, wholeNumber } from '../../config/options.js';
import { usageError } from '../../util/errors.js';
import type { TierPolicy } from './retention.js';

export const DEFAULT_BUCKET = 'sts-victoria-metrics-backup';
export const DEFAULT_KEEP_DAILY = 7;
export const DEFAULT_KEEP_WEEKLY = 4;
/** Incomplete versions younger than this may still be uploading: prune leaves them alone. */
export const INCOMPLETE_GRACE = Duration.fromObject({ hours: 24 });

export function instanceName(value: unknown, source: string): string {
  return checkName('kubernetesName', String(given(value, source) ?? ''), source);
}

export function versionName(instance: string, value: unknown, source: string): string {
  const version = checkName('backupName', String(value ?? ''), source);
  if (!new RegExp(`^${instance}-[0-9]{14}$`).test(version)) {
    throw usageError(
      `${source} "${version}" is not a version of ${instance}; versions look like ${instance}-YYYYMMDDHHMMSS`,
      'List them with restore/list-victoria-metrics-backups.sh.',
    );
  }
  return version;
}

export function bucketName(value: unknown, source: string): string {
  return checkName('bucket', text(value, source, DEFAULT_BUCKET), source);
}

export function dataPath(value: unknown, source: string): string {
  const path = String(value ?? '');
  if (path === '' || !isAbsolute(path))
    throw usageError(
      `${source} must be an absolute path (the instance's -storageDataPath as mounted here), got "${path}"`,
    );
  return path;
}

export function tierPolicy(raw: { keepDaily?: unknown; keepWeekly?: unknown }): TierPolicy {
  const keepDaily = wholeNumber(raw.keepDaily, '--keep-daily', 0, 3650, DEFAULT_KEEP_DAILY);
  const keepWeekly = wholeNumber(raw.keepWeekly, '--keep-weekly', 0, 520, DEFAULT_KEEP_WEEKLY);
  return { keepDaily, keepWeekly, incompleteGrace: INCOMPLETE_GRACE };
}
