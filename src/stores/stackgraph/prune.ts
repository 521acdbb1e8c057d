/**
 * `stackgraph prune` (and the retention step of every scheduled backup): deletes the StackGraph backups
 * older than backupRetentionTimeDelta, never the newest complete one and never below the minimum count,
 * and incomplete leftovers of cut-off runs. Only objects named like our backups are considered; anything
 * else in the bucket is left alone. The dry run returns the same decisions and deletes nothing.
 */
import { Duration } from 'luxon';
import { deleteBackups } from '../../storage/publish.js';
import { STACKGRAPH_BACKUP_PREFIX } from '../../storage/layout.js';
import { planRetention, type RetentionDecision } from '../../storage/retention.js';
import type { ObjectStore } from '../../storage/types.js';
import { log } from '../../util/log.js';
import type { StoreContext } from '../types.js';
import { dropBackupRecords } from '../records.js';
import { scanBackups } from './list.js';
import { STACKGRAPH_TARGET } from './report.js';
import { openBucket, parseBucket, parseRetention, type RetentionSettings } from './settings.js';

/** Incomplete backups younger than this may belong to a run still uploading. */
export const INCOMPLETE_GRACE = Duration.fromObject({ hours: 12 });

export interface PruneOptions {
  bucket: string;
  retention: RetentionSettings;
  dryRun: boolean;
}

export interface PruneResult {
  dryRun: boolean;
  retention: string;
  minCount: number;
  /** Newest first, one per backup (complete or not). */
  decisions: RetentionDecision[];
  deleted: string[];
  /** Invisible leftovers of cut-off uploads that were removed (S3 multipart uploads, temporary files). */
  leftovers: string[];
}

export function validatePrune(raw: {
  bucket?: unknown;
  retention?: unknown;
  minCount?: unknown;
  dryRun?: unknown;
}): PruneOptions {
  return {
    bucket: parseBucket(raw.bucket),
    retention: parseRetention(raw.retention, raw.minCount),
    dryRun: raw.dryRun === true,
  };
}

/** Applies retention to an open bucket. */
export async function pruneStore(
  store: ObjectStore,
  retention: RetentionSettings,
  dryRun: boolean,
  ctx: StoreContext,
): Promise<PruneResult> {
  const now = ctx.now();
  const { complete, incomplete } = await scanBackups(store);
  const decisions = planRetention(
    [
      ...complete.map((b) => ({ name: b.name, takenAt: b.takenAt, complete: true })),
      ...incomplete.map((b) => ({ name: b.name, takenAt: b.takenAt, complete: false })),
    ],
    { maxAge: retention.maxAge, minCount: retention.minCount, incompleteGrace: INCOMPLETE_GRACE },
    now,
  );
  const doomed = decisions.filter((d) => d.action === 'delete').map((d) => d.name);
  let leftovers: string[] = [];
  if (!dryRun) {
    if (doomed.length > 0) {
      await deleteBackups(store, doomed);
      await dropBackupRecords(store, STACKGRAPH_TARGET, doomed);
    }
    leftovers = await store.cleanupIncomplete(STACKGRAPH_BACKUP_PREFIX, now.minus(INCOMPLETE_GRACE).toJSDate());
    for (const d of decisions) if (d.action === 'delete') log(`retention: deleted ${d.name} (${d.reason})`);
    for (const leftover of leftovers) log(`retention: removed ${leftover}`);
  }
  return {
    dryRun,
    retention: retention.text,
    minCount: retention.minCount,
    decisions,
    deleted: dryRun ? [] : doomed,
    leftovers,
  };
}

export async function runPrune(options: PruneOptions, ctx: StoreContext): Promise<PruneResult> {
  const store = await openBucket(ctx.storage, options.bucket, false);
  return pruneStore(store, options.retention, options.dryRun, ctx);
}
