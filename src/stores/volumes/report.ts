/** The volumes store's list and prune results in the shape every store shares (`--json`, status). */
import type { BackupList, PruneDecision, PruneReport } from '../types.js';
import type { ListResult } from './list.js';
import type { PruneResult } from './prune.js';

/** restic's reasons for keeping a snapshot (`daily snapshot`...) as the rule names of --keep-*. */
function keepRule(reasons: readonly string[] | undefined): string {
  const first = reasons?.[0] ?? '';
  const m = /^(last|hourly|daily|weekly|monthly|yearly) snapshot$/.exec(first);
  return m ? `keep-${m[1] ?? ''}` : 'kept';
}

/** Snapshots as backups, one target per claim; restic 0.14 records no snapshot size. */
export function volumesBackupList(r: ListResult): BackupList {
  return {
    store: 'volumes',
    location: r.repository,
    backups: r.snapshots.map((s) => ({
      target: s.claim,
      name: s.shortId,
      takenAt: s.time,
      sizeBytes: null,
      complete: true,
      details: { id: s.id, owner: s.owner, host: s.host, paths: s.paths, tags: s.tags, shrunk: s.shrunk ?? null },
    })),
    incomplete: [],
  };
}

export function volumesPruneReport(r: PruneResult): PruneReport {
  const decisions: PruneDecision[] = r.claims.flatMap((c) => [
    ...c.kept.map((id): PruneDecision => {
      const reasons = c.reasons[id.slice(0, 8)];
      return {
        target: c.claim,
        name: id.slice(0, 8),
        takenAt: null,
        action: 'keep',
        rule: keepRule(reasons),
        reason: reasons?.join(', ') ?? `kept by ${c.policy}`,
      };
    }),
    ...c.removed.map((id): PruneDecision => ({
      target: c.claim,
      name: id.slice(0, 8),
      takenAt: null,
      action: 'delete',
      rule: 'beyond-policy',
      reason: `not kept by ${c.policy}`,
    })),
  ]);
  return {
    store: 'volumes',
    dryRun: r.dryRun,
    policy: r.policy,
    decisions,
    deleted: r.dryRun ? [] : decisions.filter((d) => d.action === 'delete').map((d) => d.name),
    details: {
      repository: r.repository,
      pruned: r.pruned,
      claims: r.claims.map((c) => ({ claim: c.claim, policy: c.policy })),
    },
  };
}
