/** StackGraph's list and prune results in the shape every store shares (`--json`, status). */
import { parseStackGraphBackupName } from '../../storage/layout.js';
import type { BackupList, PruneReport } from '../types.js';
import type { ListResult } from './list.js';
import type { PruneResult } from './prune.js';

/** What StackGraph backups are of: the one graph. */
export const STACKGRAPH_TARGET = 'stackgraph';

export function stackGraphBackupList(r: ListResult): BackupList {
  return {
    store: 'stackgraph',
    location: r.location,
    backups: r.backups.map((b) => ({
      target: STACKGRAPH_TARGET,
      name: b.name,
      takenAt: b.takenAt.toUTC().toISO(),
      sizeBytes: b.size,
      complete: true,
      details: { lastModified: b.lastModified.toISOString(), shrunk: b.shrunk ?? null },
    })),
    incomplete: r.incomplete.map((name) => ({
      target: STACKGRAPH_TARGET,
      name,
      takenAt: parseStackGraphBackupName(name)?.toUTC().toISO() ?? null,
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
      takenAt: d.takenAt.toUTC().toISO(),
      action: d.action,
      rule: d.rule,
      reason: d.reason,
    })),
    deleted: r.deleted,
    details: { retention: r.retention, minCount: r.minCount, leftovers: r.leftovers },
  };
}
