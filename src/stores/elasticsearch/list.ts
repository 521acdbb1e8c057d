/**
 * `elasticsearch list`: the snapshots in the repository, newest first, with state, index count, start,
 * end and size (the sum of the indices' sizes Elasticsearch records with each snapshot, i.e. what a
 * restore of the whole snapshot brings back, not what the snapshot added to the bucket).
 */
import { DateTime } from 'luxon';
import { parseElasticsearchSnapshotName } from '../../storage/layout.js';
import { ExitCode, StackbackupError, messageOf } from '../../util/errors.js';
import { log } from '../../util/log.js';
import { openStore } from '../../storage/open.js';
import { shrunkBackups } from '../records.js';
import type { StoreContext } from '../types.js';
import { answerOf, connect, esError, type EsClient } from './connection.js';
import { VALUES, parseBucket, parseConnection, parseRepository, type Connection } from './settings.js';

export type SnapshotState = 'SUCCESS' | 'PARTIAL' | 'FAILED' | 'IN_PROGRESS' | 'INCOMPATIBLE' | string;

export interface Snapshot {
  name: string;
  state: SnapshotState;
  indices: string[];
  startTime: DateTime | undefined;
  endTime: DateTime | undefined;
  /** Sum of the indices' sizes; undefined when Elasticsearch did not record them (snapshots of old versions, in progress). */
  sizeBytes: number | undefined;
  /** Per index, when recorded: primary shards and size. */
  details: Record<string, { shards: number; sizeBytes: number }>;
  shards: { total: number; failed: number; successful: number };
  /** The time in the name (to the minute) when the name is ours (`sts-backup-YYYYMMDD-HHMM-suffix`). */
  takenAt: DateTime | undefined;
  /** Who took it, from the snapshot's metadata: `slm` (its policy), `cronjob`, or undefined (someone else). */
  engine: string | undefined;
  reason: string | undefined;
  /** Why the snapshot is flagged as much smaller than the one before it (list only; null when not). */
  shrunk?: string | null;
}

export interface ListOptions {
  connection: Connection;
  repository: string;
  /** Bucket of the snapshots' records, to show shrunk flags (undefined: none shown). */
  bucket: string | undefined;
}

export interface ListResult {
  url: string;
  repository: string;
  /** Newest first. */
  snapshots: Snapshot[];
}

export function validateList(raw: { url?: unknown; repository?: unknown; bucket?: unknown }): ListOptions {
  return {
    connection: parseConnection(raw.url),
    repository: parseRepository(raw.repository),
    bucket: raw.bucket === undefined || raw.bucket === '' ? undefined : parseBucket(raw.bucket),
  };
}

/** The shrunk flags of the repository's snapshots; none without --bucket or when its records cannot be read. */
async function flags(options: ListOptions, ctx: StoreContext): Promise<Map<string, string>> {
  if (options.bucket === undefined) return new Map();
  try {
    return await shrunkBackups(openStore(ctx.storage, options.bucket), options.repository);
  } catch (err) {
    log(`no shrunk flags: the records in bucket "${options.bucket}" cannot be read (${messageOf(err)})`);
    return new Map();
  }
}

const time = (ms: unknown): DateTime | undefined =>
  typeof ms === 'number' && ms > 0 ? DateTime.fromMillis(ms, { zone: 'utc' }) : undefined;

/** The repository's snapshots, newest first (by the time in the name, then start time, then name). */
export async function scanSnapshots(client: EsClient, connection: Connection, repository: string): Promise<Snapshot[]> {
  let answer;
  try {
    answer = await client.snapshot.get({
      repository,
      snapshot: '_all',
      index_details: true,
      sort: 'start_time',
      order: 'desc',
    });
  } catch (err) {
    const a = answerOf(err);
    if (a?.type === 'repository_missing_exception') {
      throw new StackbackupError(
        `snapshot repository "${repository}" is not registered in Elasticsearch at ${connection.url.origin}`,
        {
          exitCode: ExitCode.notFound,
          hint: `It is registered by the chart's configure Job after each install and upgrade (helm upgrade), or by: stackbackup elasticsearch configure. Check ${VALUES.url} points at the right cluster.`,
          cause: err,
        },
      );
    }
    throw esError(err, connection, `listing the snapshots in repository "${repository}"`);
  }
  const snapshots = (answer.snapshots ?? []).map((s): Snapshot => {
    const details = s.index_details;
    const sizes = details === undefined ? [] : Object.values(details).map((d) => d.size_in_bytes);
    const perIndex = Object.fromEntries(
      Object.entries(details ?? {}).map(([index, d]) => [index, { shards: d.shard_count, sizeBytes: d.size_in_bytes }]),
    );
    const indices = [...(s.indices ?? [])].sort();
    const engine =
      s.metadata?.taken_by === 'stackbackup'
        ? String(s.metadata.engine ?? 'stackbackup')
        : s.metadata?.policy !== undefined
          ? 'slm'
          : undefined;
    return {
      name: s.snapshot,
      state: s.state ?? 'UNKNOWN',
      indices,
      startTime: time(s.start_time_in_millis),
      endTime: time(s.end_time_in_millis),
      sizeBytes:
        details === undefined || (indices.length > 0 && sizes.length < indices.length)
          ? undefined
          : sizes.reduce((a, b) => a + b, 0),
      details: perIndex,
      shards: { total: s.shards?.total ?? 0, failed: s.shards?.failed ?? 0, successful: s.shards?.successful ?? 0 },
      takenAt: parseElasticsearchSnapshotName(s.snapshot),
      engine,
      reason: s.reason ?? undefined,
    };
  });
  const key = (s: Snapshot): number => s.takenAt?.toMillis() ?? s.startTime?.toMillis() ?? 0;
  return snapshots.sort(
    (a, b) =>
      key(b) - key(a) ||
      (b.startTime?.toMillis() ?? 0) - (a.startTime?.toMillis() ?? 0) ||
      b.name.localeCompare(a.name),
  );
}

export async function runList(options: ListOptions, ctx: StoreContext): Promise<ListResult> {
  const client = await connect(options.connection);
  try {
    const snapshots = await scanSnapshots(client, options.connection, options.repository);
    const flagged = await flags(options, ctx);
    return {
      url: options.connection.url.origin,
      repository: options.repository,
      snapshots: snapshots.map((s) => ({ ...s, shrunk: flagged.get(s.name) ?? null })),
    };
  } finally {
    await client.close();
  }
}
