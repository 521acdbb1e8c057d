/**
 * `list`: every version of the given instances, with the time of its last completed backup (from
 * vmbackup's completion marker). Incomplete versions are returned flagged, so that the operator sees
 * them, and restore refuses them.
 */
import { listOption } from '../../config/options.js';
import { ensureBucket, openStore } from '../../storage/open.js';
import { usageError } from '../../util/errors.js';
import type { StoreContext } from '../types.js';
import { shrunkBackups } from '../records.js';
import { warn } from '../../util/log.js';
import { bucketName, instanceName } from './options.js';
import { listVersions } from './versions.js';

export interface ListTarget {
  bucket: string;
  /** Empty: every instance found in the bucket. */
  instances: string[];
}

export interface ListOptions {
  targets: ListTarget[];
}

export interface ListRaw {
  bucket?: unknown;
  instance?: unknown;
  target?: unknown;
}

/** `--bucket B [--instance I ...]`, or `--target INSTANCE=BUCKET` repeated (instances with their own buckets). */
export function validateList(raw: ListRaw): ListOptions {
  const targets = listOption(raw.target, '--target');
  if (targets.length > 0) {
    if (raw.instance !== undefined) throw usageError('give either --target INSTANCE=BUCKET or --instance, not both');
    const byBucket = new Map<string, string[]>();
    for (const t of targets) {
      const [instance, bucket, ...rest] = t.split('=');
      if (rest.length > 0 || instance === undefined || bucket === undefined)
        throw usageError(`--target "${t}" is not INSTANCE=BUCKET`);
      const b = bucketName(bucket, '--target');
      byBucket.set(b, [...(byBucket.get(b) ?? []), instanceName(instance, '--target')]);
    }
    return { targets: [...byBucket].map(([bucket, instances]) => ({ bucket, instances })) };
  }
  return {
    targets: [
      {
        bucket: bucketName(raw.bucket, '--bucket'),
        instances: listOption(raw.instance, '--instance').map((i) => instanceName(i, '--instance')),
      },
    ],
  };
}

export interface ListedVersion {
  instance: string;
  version: string;
  bucket: string;
  complete: boolean;
  /** ISO time of the last completed backup; null when incomplete. */
  lastCompletedBackup: string | null;
  lastWrite: string;
  objects: number;
  bytes: number;
  /** Why the version's last backup is flagged as much smaller than the one before it (null when not). */
  shrunk: string | null;
}

export async function runList(options: ListOptions, ctx: StoreContext): Promise<ListedVersion[]> {
  const out: ListedVersion[] = [];
  for (const target of options.targets) {
    const store = openStore(ctx.storage, target.bucket);
    await ensureBucket(store, {
      create: false,
      bucketValue: 'victoria-metrics-N.backup.bucketName',
      scheduleValue: 'victoria-metrics-N.backup.enabled',
    });
    const versions = await listVersions(store, target.instances);
    const flagged = new Map<string, Map<string, string>>();
    for (const instance of new Set(versions.map((v) => v.instance)))
      flagged.set(instance, await shrunkBackups(store, instance));
    for (const v of versions) {
      out.push({
        instance: v.instance,
        version: v.version,
        bucket: target.bucket,
        complete: v.complete,
        lastCompletedBackup: v.completedAt?.toISO() ?? null,
        lastWrite: v.lastWrite.toISO() ?? '',
        objects: v.objects,
        bytes: v.bytes,
        shrunk: flagged.get(v.instance)?.get(v.version) ?? null,
      });
      // The list lines keep StackState's format: a flag is a warning beside them (and in --json).
      const shrunk = flagged.get(v.instance)?.get(v.version);
      if (shrunk !== undefined) warn(`${v.instance} ${v.version} is flagged SHRUNK: ${shrunk}`);
    }
  }
  return out;
}
