/** StackGraph's list and prune results in the shape every store shares (`--json`, status). */
import type { DateTime } from 'luxon';
import { parseStackGraphBackupName } from '../../storage/layout.js';
import type { BackupList, PruneReport } from '../types.js';
import type { ListResult } from './list.js';
import type { PruneResult } from './prune.js';

/**
 * `2026-12-04T03:00:00.000Z`: what luxon's toUTC().toISO() writes, through Date (a status scan formats
 * every backup's time, twice).
 */
function isoUtc(at: DateTime): string {
  return new Date(at.toMillis()).toISOString();
}

/** What StackGraph backups are of: the one graph. */
export const STACKGRAPH_TARGET = 'stackgraph';

export function stackGraphBackupList(r: ListResult): BackupList {
  return {
    store: 'stackgraph',
    location: r.location,
    backups: r.backups.map((b) => ({
      target: STACKGRAPH_TARGET,
      name: b.name,
      takenAt: isoUtc(b.takenAt),
      sizeBytes: b.size,
      complete: true,
      details: { lastModified: b.lastModified.toISOString(), shrunk: b.shrunk ?? null },
    })),
    incomplete: r.incomplete.map((name) => ({
      target: STACKGRAPH_TARGET,
      name,
      takenAt: ((at) => (at === undefined ? null : isoUtc(at)))(parseStackGraphBackupName(name)),
      sizeBytes: null,
      complete: false,
      details: {},
    })),
  };
}

export function stackGraphPruneReport(r: PruneResult): PruneReport {
  return {
    store: 'stackgraph',
    dryRun: r.dryRun,
    policy: `${r.retention}, at least ${r.minCount} kept`,
    decisions: r.decisions.map((d) => ({
      target: STACKGRAPH_TARGET,
      name: d.name,
      takenAt: isoUtc(d.takenAt),
      action: d.action,
      rule: d.rule,
      reason: d.reason,
    })),
    deleted: r.deleted,
    details: { retention: r.retention, minCount: r.minCount, leftovers: r.leftovers },
  };
}
