/** Elasticsearch's list and prune results in the shape every store shares (`--json`, status). */
import type { DateTime } from 'luxon';
import type { BackupEntry, BackupList, PruneReport } from '../types.js';
import type { ListResult, Snapshot } from './list.js';
import type { PruneResult } from './prune.js';

const iso = (t: DateTime | undefined): string | null => t?.toUTC().toISO() ?? null;

function entry(repository: string, s: Snapshot): BackupEntry {
  return {
    target: repository,
    name: s.name,
    takenAt: iso(s.takenAt ?? s.startTime),
    sizeBytes: s.sizeBytes ?? null,
    complete: s.state === 'SUCCESS',
    details: {
      state: s.state,
      indexCount: s.indices.length,
      indices: s.indices,
      start: iso(s.startTime),
      end: iso(s.endTime),
      shards: s.shards,
      engine: s.engine ?? null,
      reason: s.reason ?? null,
      shrunk: s.shrunk ?? null,
    },
  };
}

/** Snapshots as backups: only SUCCESS ones are complete (Elasticsearch restores PARTIAL ones only in part). */
export function elasticsearchBackupList(r: ListResult): BackupList {
  return {
    store: 'elasticsearch',
    location: `${r.url} repository ${r.repository}`,
    backups: r.snapshots.filter((s) => s.state === 'SUCCESS').map((s) => entry(r.repository, s)),
    incomplete: r.snapshots.filter((s) => s.state !== 'SUCCESS').map((s) => entry(r.repository, s)),
  };
}

export function elasticsearchPruneReport(r: PruneResult): PruneReport {
  return {
    store: 'elasticsearch',
    dryRun: r.dryRun,
    policy: `expire after ${r.expireAfter}, at least ${r.minCount}, at most ${r.maxCount}`,
    decisions: r.decisions.map((d) => ({
      target: r.repository,
      name: d.name,
      takenAt: d.takenAt.toUTC().toISO(),
      action: d.action,
      rule: d.rule,
      reason: d.reason,
    })),
    deleted: r.deleted,
    details: { repository: r.repository, expireAfter: r.expireAfter, minCount: r.minCount, maxCount: r.maxCount },
  };
}
