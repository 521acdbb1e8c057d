/**
 * `stackgraph list`: the complete StackGraph backups in the bucket, newest first, with size and age.
 * Objects without a published checksum (cut-off runs) are never offered for restore: they are only
 * counted, so that the operator knows they exist.
 */
import type { DateTime } from 'luxon';
import { listBackups } from '../../storage/publish.js';
import { STACKGRAPH_BACKUP_PREFIX, parseStackGraphBackupName } from '../../storage/layout.js';
import { derivedOnce } from '../../storage/shared-listings.js';
import type { ObjectStore } from '../../storage/types.js';
import type { StoreContext } from '../types.js';
import { shrunkBackups } from '../records.js';
import { STACKGRAPH_TARGET } from './report.js';
import { openBucket, parseBucket } from './settings.js';

export interface StackGraphBackup {
  name: string;
  size: number;
  /** When the export was taken (UTC, from the name). */
  takenAt: DateTime;
  lastModified: Date;
  /** Why this backup is flagged as much smaller than the previous one (list only; null when not). */
  shrunk?: string | null;
}

export interface ListOptions {
  bucket: string;
}

export interface ListResult {
  bucket: string;
  location: string;
  /** Complete backups, newest first. */
  backups: StackGraphBackup[];
  /** Names of objects that look like backups but have no published checksum. */
  incomplete: string[];
}

export function validateList(raw: { bucket?: unknown }): ListOptions {
  return { bucket: parseBucket(raw.bucket) };
}

/**
 * Complete and incomplete StackGraph backups in an open bucket, newest first. Within a read-only scan
 * (status: list, then the retention preview) it is worked out once; callers must not change it.
 */
export function scanBackups(
  store: ObjectStore,
): Promise<{ complete: StackGraphBackup[]; incomplete: StackGraphBackup[] }> {
  return derivedOnce(store, 'stackgraph-backups', () => scan(store));
}

async function scan(store: ObjectStore): Promise<{ complete: StackGraphBackup[]; incomplete: StackGraphBackup[] }> {
  const complete: StackGraphBackup[] = [];
  const incomplete: StackGraphBackup[] = [];
  for (const object of await listBackups(store, STACKGRAPH_BACKUP_PREFIX)) {
    const takenAt = parseStackGraphBackupName(object.key);
    if (takenAt === undefined) continue; // not ours: never listed, never deleted
    (object.complete ? complete : incomplete).push({
      name: object.key,
      size: object.size,
      takenAt,
      lastModified: object.lastModified,
    });
  }
  const newestFirst = (a: StackGraphBackup, b: StackGraphBackup) =>
    b.takenAt.toMillis() - a.takenAt.toMillis() || b.name.localeCompare(a.name);
  return { complete: complete.sort(newestFirst), incomplete: incomplete.sort(newestFirst) };
}

export async function runList(options: ListOptions, ctx: StoreContext): Promise<ListResult> {
  const store = await openBucket(ctx.storage, options.bucket, false);
  const { complete, incomplete } = await scanBackups(store);
  const flagged = await shrunkBackups(store, STACKGRAPH_TARGET);
  const backups = complete.map((b) => ({ ...b, shrunk: flagged.get(b.name) ?? null }));
  return {
    bucket: options.bucket,
    location: store.location,
    backups,
    incomplete: incomplete.map((b) => b.name),
  };
}
