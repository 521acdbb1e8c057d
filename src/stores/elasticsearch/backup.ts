/**
 * `elasticsearch backup`: the cronjob engine's scheduled snapshot, for clusters without SLM. Takes a
 * snapshot named as SLM names them (`sts-backup-YYYYMMDD-HHMM-<random>`, UTC), waits for it, then
 * applies SLM's retention (prune.ts). A snapshot that does not succeed fails the run and deletes nothing.
 */
import { randomBytes } from 'node:crypto';
import { elasticsearchSnapshotName, elasticsearchSnapshotSuffix } from '../../storage/layout.js';
import { ExitCode, StackbackupError, messageOf } from '../../util/errors.js';
import { log, section, warn } from '../../util/log.js';
import { openStore } from '../../storage/open.js';
import {
  countedBetween,
  documentsKey,
  dropBackupRecords,
  newestRecordName,
  parseShare,
  recordBackup,
  sumCounts,
  type BackupRecord,
  type Counted,
} from '../records.js';
import { documentCounts, openIndices } from './documents.js';
import type { StoreContext } from '../types.js';
import { connect, esError, longRequest, type EsClient } from './connection.js';
import { pruneRepository, type PruneResult } from './prune.js';
import { snapshotRequest } from './requests.js';
import {
  DEFAULT_INDICES,
  VALUES,
  parseBucket,
  parseConnection,
  parseFlag,
  parseIndexPatterns,
  parseRepository,
  parseRetention,
  parseTimeout,
  type Connection,
  type RetentionSettings,
} from './settings.js';

export interface BackupOptions {
  connection: Connection;
  repository: string;
  indices: string[];
  retention: RetentionSettings;
  prune: boolean;
  timeoutSeconds: number;
  /** Bucket the record of each snapshot is kept in (the repository's bucket). */
  bucket: string;
  shrinkShare: number;
}

export interface BackupResult {
  repository: string;
  name: string;
  state: string;
  indices: string[];
  shards: { total: number; failed: number; successful: number };
  seconds: number;
  retention: PruneResult | null;
  /** What the snapshot holds (documents per index), as recorded for drills. */
  record: BackupRecord;
}

export function validateBackup(raw: {
  url?: unknown;
  repository?: unknown;
  indices?: unknown;
  expireAfter?: unknown;
  minCount?: unknown;
  maxCount?: unknown;
  prune?: unknown;
  timeoutSeconds?: unknown;
  bucket?: unknown;
  shrinkShare?: unknown;
}): BackupOptions {
  return {
    connection: parseConnection(raw.url),
    repository: parseRepository(raw.repository),
    indices: parseIndexPatterns(raw.indices ?? DEFAULT_INDICES, `--indices (${VALUES.indices})`),
    retention: parseRetention(raw),
    prune: parseFlag(raw.prune, true, '--prune'),
    timeoutSeconds: parseTimeout(raw.timeoutSeconds),
    bucket: parseBucket(raw.bucket),
    shrinkShare: parseShare(raw.shrinkShare),
  };
}

type Counts = Map<string, number> | { unknown: string };

/** Document counts of the indices `which` answers, or why they could not be counted. */
async function countsNow(client: EsClient, which: () => Promise<string[]>): Promise<Counts> {
  try {
    return await documentCounts(client, await which());
  } catch (err) {
    return { unknown: `the documents could not be counted: ${messageOf(err)}` };
  }
}

/**
 * Records what the snapshot holds: per index the documents counted just before and just after it (one
 * value when equal, else the range the snapshot's count is in; an index created meanwhile: up to its
 * count after), their sum as `documents`, and the size Elasticsearch records. Never fails the backup.
 */
async function recordSnapshot(
  client: EsClient,
  options: BackupOptions,
  ctx: StoreContext,
  name: string,
  indices: readonly string[],
  before: Counts,
  after: Counts,
): Promise<BackupRecord> {
  const counts: Record<string, Counted> = {};
  for (const index of indices) {
    let counted: Counted;
    if ('unknown' in before) counted = { unknown: String(before.unknown) };
    else if ('unknown' in after) counted = { unknown: String(after.unknown) };
    else {
      const [b, a] = [before.get(index), after.get(index)];
      counted =
        a === undefined
          ? { unknown: 'the index was gone when the snapshot ended' }
          : b === undefined
            ? { atLeast: 0, atMost: a, why: `created during the snapshot: ${a} after it` }
            : countedBetween(b, a);
    }
    counts[documentsKey(index)] = counted;
  }
  counts.documents = sumCounts(Object.values(counts));
  let sizeBytes = 0;
  try {
    const answer = await client.snapshot.get({ repository: options.repository, snapshot: name, index_details: true });
    for (const d of Object.values(answer.snapshots?.[0]?.index_details ?? {})) sizeBytes += d.size_in_bytes ?? 0;
  } catch (err) {
    warn(`could not read the size of snapshot ${name}: ${messageOf(err)}`);
  }
  const store = openStore(ctx.storage, options.bucket);
  let previous: string | undefined;
  try {
    previous = await newestRecordName(store, options.repository);
  } catch (err) {
    warn(`could not list the records in bucket "${options.bucket}" (${VALUES.bucket}): ${messageOf(err)}`);
  }
  return recordBackup(
    store,
    { target: options.repository, name, takenAt: ctx.now().toUTC().toISO() ?? '', sizeBytes, sha256: null, counts },
    previous,
    'documents',
    options.shrinkShare,
  );
}

export async function runBackup(options: BackupOptions, ctx: StoreContext): Promise<BackupResult> {
  const { connection, repository } = options;
  const name = elasticsearchSnapshotName(ctx.now(), elasticsearchSnapshotSuffix(randomBytes(16)));
  const client = await connect(connection);
  try {
    section(`Taking Elasticsearch snapshot ${name} of ${options.indices.join(',')} in repository "${repository}"...`);
    const before = await countsNow(client, () => openIndices(client, options.indices));
    const started = Date.now();
    let info;
    try {
      info = (
        await client.snapshot.create(
          snapshotRequest(repository, name, options.indices),
          longRequest(options.timeoutSeconds),
        )
      ).snapshot;
    } catch (err) {
      throw esError(
        err,
        connection,
        `taking snapshot ${name} in repository "${repository}"`,
        `Check that repository "${repository}" is registered and verified: stackbackup elasticsearch configure (the chart's configure Job).`,
      );
    }
    const seconds = (Date.now() - started) / 1000;
    const state = info?.state ?? 'UNKNOWN';
    const shards = {
      total: info?.shards?.total ?? 0,
      failed: info?.shards?.failed ?? 0,
      successful: info?.shards?.successful ?? 0,
    };
    const indices = [...(info?.indices ?? [])].sort();
    if (state !== 'SUCCESS') {
      const failures = (info?.failures ?? []).map((f) => `${f.index}[${f.shard_id}]: ${f.reason}`).join('; ');
      throw new StackbackupError(
        `snapshot ${name} ended ${state}: ${shards.failed} of ${shards.total} shards failed${failures ? ` (${failures})` : ''}`,
        {
          exitCode: ExitCode.integrity,
          hint: 'Nothing was deleted. Check the cluster health (GET _cluster/health) and the snapshot (GET _snapshot/sts-backup/NAME); the next run tries again.',
        },
      );
    }
    log(
      `snapshot ${name} complete: ${indices.length} ${indices.length === 1 ? 'index' : 'indices'}, ${shards.successful}/${shards.total} shards, in ${seconds.toFixed(1)}s`,
    );
    if (indices.length === 0)
      log(`WARNING: no index matched ${options.indices.join(',')}: the snapshot is empty (check ${VALUES.indices})`);
    const after = await countsNow(client, async () => indices);
    const record = await recordSnapshot(client, options, ctx, name, indices, before, after);
    const retention = options.prune
      ? await pruneRepository(client, { connection, repository, retention: options.retention, dryRun: false }, ctx)
      : null;
    if (retention !== null && retention.deleted.length === 0) log('retention: nothing to delete');
    if (retention !== null && retention.deleted.length > 0)
      await dropBackupRecords(openStore(ctx.storage, options.bucket), repository, retention.deleted).catch(
        (err: unknown) => warn(`could not remove the records of the deleted snapshots: ${messageOf(err)}`),
      );
    return { repository, name, state, indices, shards, seconds, retention, record };
  } finally {
    await client.close();
  }
}
