/**
 * `elasticsearch restore NAME [INDICES] [-force]`: restores chosen indices of one snapshot.
 *
 * 1. The name must be a snapshot in the repository; otherwise the error lists the ones there are.
 *    A snapshot in progress, failed or incompatible is refused.
 * 2. The indices (names and patterns; default backup.elasticsearch.scheduled.indices) are resolved
 *    against the snapshot's own index list, so exactly the indices named in the result come back.
 *    A plain name the snapshot does not hold is refused, as is a selection of nothing.
 * 3. Targets that exist and are open are refused, named, unless -force: then they are deleted
 *    (force mode `delete`, the default) or closed (`close`: Elasticsearch restores over a closed index
 *    with the same number of shards). Existing closed indices are restored over, as Elasticsearch does.
 * 4. The restore waits for completion (progress lines from the recovery API) and reports the shards
 *    total/failed/successful; any failed shard fails the command.
 * Stopping the workloads that write to Elasticsearch is the restore script's job (scaleDownLabelSelector).
 */
import { checkName } from '../../config/names.js';
import { text as optionText } from '../../config/options.js';
import { ExitCode, StackbackupError, usageError } from '../../util/errors.js';
import { formatBytes } from '../../util/format.js';
import { log, section, warn } from '../../util/log.js';
import { Progress } from '../../util/progress.js';
import type { StoreContext } from '../types.js';
import { connect, esError, longRequest, type EsClient } from './connection.js';
import { selectIndices } from './indices.js';
import { scanSnapshots, type Snapshot } from './list.js';
import { restoreRequest } from './requests.js';
import {
  DEFAULT_INDICES,
  VALUES,
  parseConnection,
  parseIndexPatterns,
  parseRepository,
  parseTimeout,
  type Connection,
} from './settings.js';

export type ForceMode = 'delete' | 'close';

export interface RestoreOptions {
  connection: Connection;
  repository: string;
  name: string;
  indices: string[];
  force: boolean;
  forceMode: ForceMode;
  timeoutSeconds: number;
}

export interface RestoreResult {
  repository: string;
  snapshot: string;
  /** The indices restored, sorted. */
  indices: string[];
  /** Existing indices deleted (-force, mode delete) or closed (-force, mode close) first. */
  deleted: string[];
  closed: string[];
  /** Indices that existed closed and were restored over. */
  restoredOverClosed: string[];
  shards: { total: number; failed: number; successful: number };
  seconds: number;
}

/** The command operators run, for hints. */
export function restoreCommand(name: string, indices: readonly string[] | undefined, force: boolean): string {
  const list = indices === undefined ? '' : ` "${indices.join(',')}"`;
  return `./restore/restore-elasticsearch-snapshot.sh ${name}${list}${force ? ' -force' : ''}`;
}

export function validateRestore(raw: {
  url?: unknown;
  repository?: unknown;
  name?: unknown;
  indices?: unknown;
  defaultIndices?: unknown;
  force?: unknown;
  forceMode?: unknown;
  timeoutSeconds?: unknown;
}): RestoreOptions {
  const name = checkName('backupName', String(raw.name ?? ''), 'NAME');
  const given = raw.indices === undefined || raw.indices === '' ? undefined : raw.indices;
  const indices =
    given !== undefined
      ? parseIndexPatterns(given, 'INDICES')
      : parseIndexPatterns(raw.defaultIndices ?? DEFAULT_INDICES, `--default-indices (${VALUES.indices})`);
  const mode = optionText(raw.forceMode, `--force-mode (${VALUES.forceMode})`, 'delete');
  if (mode !== 'delete' && mode !== 'close')
    throw usageError(`--force-mode (${VALUES.forceMode}) must be "delete" or "close", got ${JSON.stringify(mode)}`);
  return {
    connection: parseConnection(raw.url),
    repository: parseRepository(raw.repository),
    name,
    indices,
    force: raw.force === true || raw.force === 'true',
    forceMode: mode,
    timeoutSeconds: parseTimeout(raw.timeoutSeconds),
  };
}

interface ExistingIndex {
  state: 'open' | 'close';
  shards: number | undefined;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

/** Every index in the cluster with its state and primary shard count (names in a body, never a URL). */
async function existingIndices(client: EsClient, connection: Connection): Promise<Map<string, ExistingIndex>> {
  let state: unknown;
  try {
    state = await client.cluster.state({
      metric: 'metadata',
      filter_path: ['metadata.indices.*.state', 'metadata.indices.*.settings.index.number_of_shards'],
    });
  } catch (err) {
    throw esError(err, connection, 'reading which indices exist');
  }
  const out = new Map<string, ExistingIndex>();
  const indices =
    isObject(state) && isObject(state.metadata) && isObject(state.metadata.indices) ? state.metadata.indices : {};
  for (const [name, meta] of Object.entries(indices)) {
    if (!isObject(meta)) continue;
    const settings = isObject(meta.settings) && isObject(meta.settings.index) ? meta.settings.index : {};
    const shards = Number(settings.number_of_shards);
    out.set(name, {
      state: meta.state === 'close' ? 'close' : 'open',
      shards: Number.isInteger(shards) ? shards : undefined,
    });
  }
  return out;
}

/** Splits names into comma-joined groups short enough for a request line (Elasticsearch allows 4 KiB). */
export function nameGroups(names: readonly string[], maxChars = 3000): string[] {
  const groups: string[] = [];
  let current = '';
  for (const name of names) {
    if (current !== '' && current.length + 1 + name.length > maxChars) {
      groups.push(current);
      current = '';
    }
    current = current === '' ? name : `${current},${name}`;
  }
  if (current !== '') groups.push(current);
  return groups;
}

function unknownSnapshot(options: RestoreOptions, snapshots: Snapshot[]): StackbackupError {
  const available = snapshots.map((s) => `  ${s.name}${s.state === 'SUCCESS' ? '' : ` (${s.state})`}`).join('\n');
  const newest = snapshots.find((s) => s.state === 'SUCCESS');
  return new StackbackupError(
    snapshots.length === 0
      ? `snapshot ${options.name} does not exist: repository "${options.repository}" holds no snapshots`
      : `snapshot ${options.name} does not exist in repository "${options.repository}". Available snapshots, newest first:\n${available}`,
    {
      exitCode: ExitCode.notFound,
      hint:
        newest === undefined
          ? `Scheduled snapshots appear after the first run of the schedule (${VALUES.schedule}).`
          : `Restore one of them: ${restoreCommand(newest.name, undefined, options.force)}`,
    },
  );
}

/** Polls the recovery API while the restore runs and feeds the bytes recovered into one Progress. */
function watchRecovery(
  client: EsClient,
  indices: readonly string[],
  total: number | undefined,
): { stop: (done: boolean) => Promise<void> } {
  const groups = nameGroups(indices);
  const progress = new Progress(`restoring ${indices.length} ${indices.length === 1 ? 'index' : 'indices'}`, total);
  let reported = 0;
  let stopped = false;
  const poll = async (): Promise<void> => {
    let recovered = 0;
    for (const group of groups) {
      const answer: unknown = await client.indices.recovery({ index: group }).catch(() => undefined);
      if (!isObject(answer)) continue;
      for (const index of Object.values(answer)) {
        const shards = isObject(index) && Array.isArray(index.shards) ? index.shards : [];
        for (const shard of shards) {
          if (!isObject(shard) || shard.type !== 'SNAPSHOT' || !isObject(shard.index) || !isObject(shard.index.size))
            continue;
          const bytes = Number(shard.index.size.recovered_in_bytes);
          if (Number.isFinite(bytes)) recovered += bytes;
        }
      }
    }
    if (recovered > reported) {
      progress.add(recovered - reported);
      reported = recovered;
    }
  };
  const interval = Math.min(2000, Number(process.env.STACKBACKUP_PROGRESS_INTERVAL_MS) || 2000);
  const timer = setInterval(() => {
    if (!stopped) void poll();
  }, interval);
  return {
    /** Stops polling; after a successful restore, counts once more and logs the final line. */
    stop: async (done: boolean) => {
      stopped = true;
      clearInterval(timer);
      if (done) {
        await poll();
        progress.finish();
      }
    },
  };
}

export async function runRestore(options: RestoreOptions, _ctx: StoreContext): Promise<RestoreResult> {
  const { connection, repository, name } = options;
  const client = await connect(connection);
  try {
    // 1. The snapshot.
    const snapshots = await scanSnapshots(client, connection, repository);
    const snapshot = snapshots.find((s) => s.name === name);
    if (snapshot === undefined) throw unknownSnapshot(options, snapshots);
    if (snapshot.state === 'IN_PROGRESS') {
      throw new StackbackupError(`snapshot ${name} is still being taken`, {
        exitCode: ExitCode.conflict,
        hint: 'Wait until it is done (list the snapshots again), or restore an earlier one.',
      });
    }
    if (snapshot.state !== 'SUCCESS' && snapshot.state !== 'PARTIAL') {
      throw new StackbackupError(
        `snapshot ${name} is ${snapshot.state}${snapshot.reason ? ` (${snapshot.reason})` : ''} and cannot be restored`,
        {
          exitCode: ExitCode.integrity,
          hint: 'Restore another snapshot: ./restore/list-elasticsearch-snapshots.sh',
        },
      );
    }
    if (snapshot.state === 'PARTIAL')
      warn(
        `snapshot ${name} is PARTIAL: ${snapshot.shards.failed} of ${snapshot.shards.total} shards failed when it was taken; indices with failed shards cannot be restored`,
      );

    // 2. Which of its indices.
    const { selected, missing } = selectIndices(snapshot.indices, options.indices);
    if (missing.length > 0 || selected.length === 0) {
      const holds = snapshot.indices.length === 0 ? 'it holds no indices' : `it holds: ${snapshot.indices.join(', ')}`;
      throw new StackbackupError(
        missing.length > 0
          ? `snapshot ${name} does not hold ${missing.length === 1 ? 'index' : 'indices'} ${missing.join(', ')}; ${holds}`
          : `no index of snapshot ${name} matches ${options.indices.join(',')}; ${holds}`,
        {
          exitCode: ExitCode.notFound,
          hint: `Name indices it holds: ${restoreCommand(name, ['INDEX1,INDEX2'], options.force)}`,
        },
      );
    }

    // 3. What exists already.
    const existing = await existingIndices(client, connection);
    const open = selected.filter((i) => existing.get(i)?.state === 'open');
    const closed = selected.filter((i) => existing.get(i)?.state === 'close');
    if (open.length > 0 && !options.force) {
      throw new StackbackupError(
        `${selected.length === 1 ? 'the index' : `${open.length} of the ${selected.length} indices`} to restore ${open.length === 1 ? 'exists and is open' : 'exist and are open'}: ${open.join(', ')}`,
        {
          exitCode: ExitCode.conflict,
          hint: `Restoring replaces them. To ${options.forceMode} them first and restore, rerun with -force: ${restoreCommand(name, options.indices, true)}. To keep them, restore other indices.`,
        },
      );
    }
    const deleted: string[] = [];
    const closedNow: string[] = [];
    if (options.force) {
      const doomed = options.forceMode === 'delete' ? [...open, ...closed] : open;
      if (options.forceMode === 'close') {
        // Elasticsearch restores over a closed index only when the primary shard counts match.
        const mismatched = [...open, ...closed].filter((i) => {
          const have = existing.get(i)?.shards;
          const want = snapshot.details[i]?.shards;
          return have !== undefined && want !== undefined && have !== want;
        });
        if (mismatched.length > 0) {
          throw new StackbackupError(
            `cannot restore over ${mismatched.join(', ')} by closing: the existing and the snapshot's primary shard counts differ`,
            {
              exitCode: ExitCode.conflict,
              hint: `Use force mode "delete" (${VALUES.forceMode}=delete), which deletes them first. Nothing was changed.`,
            },
          );
        }
      }
      for (const group of nameGroups(doomed)) {
        try {
          if (options.forceMode === 'delete') {
            section(`-force: deleting the existing ${group.split(',').length === 1 ? 'index' : 'indices'} ${group}`);
            await client.indices.delete({ index: group, expand_wildcards: 'none' });
          } else {
            section(`-force: closing the existing ${group.split(',').length === 1 ? 'index' : 'indices'} ${group}`);
            await client.indices.close({ index: group, expand_wildcards: 'none', wait_for_active_shards: 0 });
          }
        } catch (err) {
          throw esError(
            err,
            connection,
            `${options.forceMode === 'delete' ? 'deleting' : 'closing'} ${group} before the restore`,
            'Nothing was restored; check the indices (GET _cat/indices) and rerun.',
          );
        }
        (options.forceMode === 'delete' ? deleted : closedNow).push(...group.split(','));
      }
    }
    const restoredOverClosed = options.forceMode === 'delete' && options.force ? [] : [...closed, ...closedNow];
    if (restoredOverClosed.length > 0)
      log(
        `restoring over closed ${restoredOverClosed.length === 1 ? 'index' : 'indices'} ${restoredOverClosed.join(', ')} (a restore replaces a closed index)`,
      );

    // 4. Restore and wait.
    const sizes = selected.map((i) => snapshot.details[i]?.sizeBytes);
    const total = sizes.every((x) => x !== undefined) ? sizes.reduce((a: number, b) => a + (b ?? 0), 0) : undefined;
    section(
      `Restoring ${selected.length} ${selected.length === 1 ? 'index' : 'indices'} from snapshot ${name} (taken ${snapshot.startTime?.toUTC().toFormat("yyyy-MM-dd HH:mm:ss 'UTC'") ?? 'at an unknown time'}): ${selected.join(', ')}`,
    );
    const started = Date.now();
    const watcher = watchRecovery(client, selected, total);
    let answer;
    try {
      answer = await client.snapshot.restore(
        restoreRequest(repository, name, selected),
        longRequest(options.timeoutSeconds),
      );
      await watcher.stop(true);
    } catch (err) {
      await watcher.stop(false);
      const writers = options.force
        ? ` If an index reappeared before the restore, something still writes to Elasticsearch: stop it (${VALUES.scaleDown}) and rerun.`
        : '';
      throw esError(
        err,
        connection,
        `restoring ${selected.join(', ')} from snapshot ${name}`,
        `Check the message above.${writers}`,
      );
    }
    const seconds = (Date.now() - started) / 1000;
    const shards = {
      total: answer.snapshot?.shards.total ?? 0,
      failed: answer.snapshot?.shards.failed ?? 0,
      successful: answer.snapshot?.shards.successful ?? 0,
    };
    if (shards.failed > 0 || answer.snapshot === undefined) {
      throw new StackbackupError(
        `restore of snapshot ${name} finished with failed shards: total ${shards.total}, failed ${shards.failed}, successful ${shards.successful}`,
        {
          exitCode: ExitCode.integrity,
          hint: 'Check the indices (GET _cat/indices, GET _cluster/allocation/explain) and rerun with -force to replace them.',
        },
      );
    }
    log(
      `restored ${selected.length} ${selected.length === 1 ? 'index' : 'indices'} in ${seconds.toFixed(1)}s${total === undefined ? '' : ` (${formatBytes(total)})`}`,
    );
    return {
      repository,
      snapshot: name,
      indices: [...selected].sort(),
      deleted,
      closed: closedNow,
      restoredOverClosed,
      shards,
      seconds,
    };
  } finally {
    await client.close();
  }
}
