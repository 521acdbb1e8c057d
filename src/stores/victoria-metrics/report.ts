/** Victoria Metrics' list and prune results in the shape every store shares (`--json`, status). */
import type { BackupEntry, BackupList, PruneReport } from '../types.js';
import type { ListedVersion } from './list.js';
import type { PruneResult } from './prune.js';

function entry(v: ListedVersion): BackupEntry {
  return {
    target: v.instance,
    name: v.version,
    takenAt: v.lastCompletedBackup,
    sizeBytes: v.bytes,
    complete: v.complete,
    details: { bucket: v.bucket, objects: v.objects, lastWrite: v.lastWrite, shrunk: v.shrunk },
  };
}

/** Versions as backups: a version's time is its last completed backup (vmbackup adds to it hourly). */
export function victoriaMetricsBackupList(versions: readonly ListedVersion[]): BackupList {
  return {
    store: 'victoria-metrics',
    location: [...new Set(versions.map((v) => v.bucket))].sort().join(','),
    backups: versions.filter((v) => v.complete).map(entry),
    incomplete: versions.filter((v) => !v.complete).map(entry),
  };
}

export function victoriaMetricsPruneReport(r: PruneResult): PruneReport {
  return {
    store: 'victoria-metrics',
    dryRun: r.dryRun,
    policy: r.policy,
    decisions: r.decisions.map((d) => ({
      target: d.instance,
      name: d.version,
      takenAt: null,
      action: d.action,
      rule: d.rule,
      reason: d.reason,
    })),
    deleted: r.dryRun ? [] : r.decisions.filter((d) => d.action === 'delete').map((d) => d.version),
    details: { bucket: r.bucket, deletedObjects: r.deletedObjects },
  };
}
