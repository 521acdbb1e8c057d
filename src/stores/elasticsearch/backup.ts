/**
 * `elasticsearch backup`: the cronjob engine's scheduled snapshot, for clusters without SLM. Takes a
 * snapshot named as SLM names them (`sts-backup-YYYYMMDD-HHMM-<random>`, UTC), waits for it, then
 * applies SLM's retention (prune.ts). A snapshot that does not succeed fails the run and deletes nothing.
 */
import { randomBytes } from 'node:crypto';
import { elasticsearchSnapshotName, elasticsearchSnapshotSuffix } from '../../storage/layout.js';
import { ExitCode, StackbackupError } from '../../util/errors.js';
import { log, section } from '../../util/log.js';
import type { StoreContext } from '../types.js';
import { connect, esError, longRequest } from './connection.js';
import { pruneRepository, type PruneResult } from './prune.js';
import { snapshotRequest } from './requests.js';
import {
  DEFAULT_INDICES,
  VALUES,
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
}

export interface BackupResult {
  repository: string;
  name: string;
  state: string;
  indices: string[];
  shards: { total: number; failed: number; successful: number };
  seconds: number;
  retention: PruneResult | null;
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
}): BackupOptions {
  return {
    connection: parseConnection(raw.url),
    repository: parseRepository(raw.repository),
    indices: parseIndexPatterns(raw.indices ?? DEFAULT_INDICES, `--indices (${VALUES.indices})`),
    retention: parseRetention(raw),
    prune: parseFlag(raw.prune, true, '--prune'),
    timeoutSeconds: parseTimeout(raw.timeoutSeconds),
  };
}

export async function runBackup(options: BackupOptions, ctx: StoreContext): Promise<BackupResult> {
  const { connection, repository } = options;
  const name = elasticsearchSnapshotName(ctx.now(), elasticsearchSnapshotSuffix(randomBytes(16)));
  const client = await connect(connection);
  try {
    section(`Taking Elasticsearch snapshot ${name} of ${options.indices.join(',')} in repository "${repository}"...`);
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
    const retention = options.prune
      ? await pruneRepository(client, { connection, repository, retention: options.retention, dryRun: false }, ctx)
      : null;
    if (retention !== null && retention.deleted.length === 0) log('retention: nothing to delete');
    return { repository, name, state, indices, shards, seconds, retention };
  } finally {
    await client.close();
  }
}
