/**
 * `elasticsearch drill`: proves the newest successful snapshot restores. Its indices are restored
 * renamed (`drill-<index>`, no aliases, no replicas), so that no live index is ever opened, closed or
 * replaced; each drill index's documents are counted and compared with the snapshot's record; the drill
 * indices are deleted whatever happens. A `drill-<index>` that exists already is never overwritten: the
 * drill refuses before it changes anything (an earlier drill's leftover, or someone's index).
 */
import { elasticsearchDrillIndex } from '../../storage/layout.js';
import { openStore } from '../../storage/open.js';
import { ExitCode, StackbackupError } from '../../util/errors.js';
import { log, section } from '../../util/log.js';
import { countCheck, runDrillSteps } from '../drill.js';
import { documentsKey, readBackupRecord, readLatestDrill, type DrillRecord } from '../records.js';
import type { StoreContext } from '../types.js';
import { connect, esError, longRequest } from './connection.js';
import { documentCounts } from './documents.js';
import { scanSnapshots, validateList } from './list.js';
import { drillRestoreRequest } from './requests.js';
import { nameGroups } from './restore.js';
import { VALUES, parseBucket, parseConnection, parseRepository, parseTimeout, type Connection } from './settings.js';

export interface DrillOptions {
  connection: Connection;
  repository: string;
  /** Bucket of the snapshots' records, where the drill result is kept too. */
  bucket: string;
  timeoutSeconds: number;
}

export function validateDrill(raw: {
  url?: unknown;
  repository?: unknown;
  bucket?: unknown;
  timeoutSeconds?: unknown;
}): DrillOptions {
  return {
    connection: parseConnection(raw.url),
    repository: parseRepository(raw.repository),
    bucket: parseBucket(raw.bucket),
    timeoutSeconds: parseTimeout(raw.timeoutSeconds),
  };
}

export async function runDrill(options: DrillOptions, ctx: StoreContext): Promise<DrillRecord> {
  const startedAt = ctx.now();
  const { connection, repository } = options;
  const client = await connect(connection);
  try {
    const snapshot = (await scanSnapshots(client, connection, repository)).find((s) => s.state === 'SUCCESS');
    if (snapshot === undefined)
      throw new StackbackupError(`repository "${repository}" holds no successful snapshot to drill`, {
        exitCode: ExitCode.notFound,
        hint: `Drills start after the first scheduled snapshot (${VALUES.schedule}).`,
      });
    // System and hidden indices (a leading dot) are not ours to rename.
    const indices = snapshot.indices.filter((i) => !i.startsWith('.'));
    if (indices.length === 0)
      throw new StackbackupError(`snapshot ${snapshot.name} holds no index to drill`, {
        exitCode: ExitCode.notFound,
        hint: `Check ${VALUES.indices}: the snapshot selected no index.`,
      });
    const drillNames = new Map(indices.map((i) => [i, elasticsearchDrillIndex(i)]));
    let taken: string[];
    try {
      const all = await client.cat.indices({
        index: elasticsearchDrillIndex('*'),
        format: 'json',
        h: 'index',
        expand_wildcards: 'all',
      });
      const existing = new Set(all.map((row) => row.index));
      taken = [...drillNames.values()].filter((n) => existing.has(n));
    } catch (err) {
      throw esError(err, connection, 'reading which drill indices exist');
    }
    if (taken.length > 0)
      throw new StackbackupError(
        `the drill indices ${taken.join(', ')} exist already; a drill never overwrites an index, nothing was restored`,
        {
          exitCode: ExitCode.conflict,
          hint: `If they are a failed drill's leftovers, delete them (DELETE ${taken.join(',')}) and run the drill again; otherwise rename them.`,
        },
      );
    const store = openStore(ctx.storage, options.bucket);
    const recorded = await readBackupRecord(store, repository, snapshot.name);
    const spec = {
      store: 'elasticsearch',
      target: repository,
      backup: snapshot.name,
      bucket: store,
      startedAt,
      scratchDir: undefined,
    } as const;
    return await runDrillSteps(spec, async (steps) => {
      const created = [...drillNames.values()];
      steps.onCleanup(`the drill indices ${created.join(', ')}`, async () => {
        for (const group of nameGroups(created))
          await client.indices.delete({ index: group, expand_wildcards: 'none', ignore_unavailable: true });
        log(`deleted the drill indices ${created.join(', ')}`);
      });
      section(
        `Drill: restoring ${indices.length} ${indices.length === 1 ? 'index' : 'indices'} of ${snapshot.name} as ${created.join(', ')}`,
      );
      let answer;
      try {
        answer = await client.snapshot.restore(
          drillRestoreRequest(repository, snapshot.name, indices),
          longRequest(options.timeoutSeconds),
        );
      } catch (err) {
        throw esError(err, connection, `restoring ${snapshot.name} as drill indices`);
      }
      const shards = answer.snapshot?.shards;
      if (shards === undefined || shards.failed > 0)
        throw new StackbackupError(
          `the restore of ${snapshot.name} into drill indices had failed shards: total ${shards?.total ?? '?'}, failed ${shards?.failed ?? '?'}, successful ${shards?.successful ?? '?'}`,
        );
      steps.restored();
      for (const index of indices) steps.addBytes(snapshot.details[index]?.sizeBytes ?? 0);
      const counts = await documentCounts(client, created);
      for (const index of indices) {
        const drillIndex = elasticsearchDrillIndex(index);
        const found = counts.get(drillIndex) ?? 0;
        const { check, reason } = countCheck(
          documentsKey(index),
          recorded?.counts[documentsKey(index)],
          found,
          `the drill index ${drillIndex}`,
        );
        steps.check(check, reason);
      }
    });
  } finally {
    await client.close();
  }
}

/** The newest drill result of the repository, when the list options name the records' bucket (status and metrics). */
export async function latestDrill(
  raw: { url?: unknown; repository?: unknown; bucket?: unknown },
  _target: string,
  ctx: StoreContext,
): Promise<DrillRecord | undefined> {
  const options = validateList(raw);
  if (options.bucket === undefined) return undefined;
  return readLatestDrill(openStore(ctx.storage, options.bucket), options.repository);
}
