/**
 * `elasticsearch prune` (and the retention step of every cronjob-engine snapshot): SLM's retention
 * semantics applied by stackbackup, for clusters without SLM. Only snapshots named like ours
 * (`sts-backup-YYYYMMDD-HHMM-suffix`) are considered, by the time in their name:
 *   - successful snapshots beyond the newest max_count are deleted, whatever their age (max_count caps);
 *   - the newest min_count successful snapshots are kept, whatever their age (min_count wins over expiry);
 *   - the other successful snapshots are deleted once older than expire_after;
 *   - failed and partial snapshots never count towards min_count/max_count and are deleted once older
 *     than expire_after; snapshots still in progress are never touched.
 * The decisions come from storage/retention.ts (planRetention), the same planner StackGraph uses.
 */
import { planRetention, type RetentionDecision } from '../../storage/retention.js';
import { log } from '../../util/log.js';
import type { StoreContext } from '../types.js';
import { connect, esError, type EsClient } from './connection.js';
import { scanSnapshots } from './list.js';
import {
  parseConnection,
  parseRepository,
  parseRetention,
  type Connection,
  type RetentionSettings,
} from './settings.js';

export interface PruneOptions {
  connection: Connection;
  repository: string;
  retention: RetentionSettings;
  dryRun: boolean;
}

export interface PruneResult {
  dryRun: boolean;
  repository: string;
  expireAfter: string;
  minCount: number;
  maxCount: number;
  /** Newest first, one per snapshot of ours. */
  decisions: RetentionDecision[];
  deleted: string[];
}

export function validatePrune(raw: {
  url?: unknown;
  repository?: unknown;
  expireAfter?: unknown;
  minCount?: unknown;
  maxCount?: unknown;
  dryRun?: unknown;
}): PruneOptions {
  return {
    connection: parseConnection(raw.url),
    repository: parseRepository(raw.repository),
    retention: parseRetention(raw),
    dryRun: raw.dryRun === true,
  };
}

/** Plans and (unless dryRun) applies retention in the repository. */
export async function pruneRepository(
  client: EsClient,
  options: PruneOptions,
  ctx: StoreContext,
): Promise<PruneResult> {
  const { connection, repository, retention, dryRun } = options;
  const snapshots = await scanSnapshots(client, connection, repository);
  const candidates = snapshots.flatMap((s) =>
    s.takenAt === undefined || s.state === 'IN_PROGRESS'
      ? []
      : [{ name: s.name, takenAt: s.takenAt, complete: s.state === 'SUCCESS' }],
  );
  const decisions = planRetention(
    candidates,
    {
      maxAge: retention.maxAge,
      minCount: retention.minCount,
      maxCount: retention.maxCount,
      incompleteGrace: retention.maxAge,
    },
    ctx.now(),
  ).map((d) =>
    // Elasticsearch's failed or partial snapshots are what the planner calls incomplete.
    d.rule === 'incomplete-expired'
      ? { ...d, reason: `failed or partial, older than ${retention.expireAfter}` }
      : d.rule === 'incomplete-recent'
        ? { ...d, reason: `failed or partial, within ${retention.expireAfter}` }
        : d,
  );
  const doomed = decisions.filter((d) => d.action === 'delete').map((d) => d.name);
  if (!dryRun && doomed.length > 0) {
    try {
      await client.snapshot.delete(
        { repository, snapshot: doomed.join(',') },
        { requestTimeout: 30 * 60_000, maxRetries: 0 },
      );
    } catch (err) {
      throw esError(
        err,
        connection,
        `deleting snapshots ${doomed.join(', ')} from repository "${repository}"`,
        'Retention runs again after the next snapshot; check the repository (GET _snapshot/sts-backup/_verify).',
      );
    }
    for (const d of decisions) if (d.action === 'delete') log(`retention: deleted ${d.name} (${d.reason})`);
  }
  return {
    dryRun,
    repository,
    expireAfter: retention.expireAfter,
    minCount: retention.minCount,
    maxCount: retention.maxCount,
    decisions,
    deleted: dryRun ? [] : doomed,
  };
}

export async function runPrune(options: PruneOptions, ctx: StoreContext): Promise<PruneResult> {
  const client = await connect(options.connection);
  try {
    return await pruneRepository(client, options, ctx);
  } finally {
    await client.close();
  }
}
