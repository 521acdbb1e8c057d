/**
 * Time-based retention with the safety StackState's expiry lacks: the newest complete backup is never
 * deleted and at least minCount complete backups stay, so a month of failed runs cannot empty the
 * bucket. Incomplete leftovers older than a grace period are removed. planRetention() only computes
 * (the dry-run preview); the caller deletes what the plan says.
 *
 * With maxCount it has Elasticsearch SLM's retention semantics (expire_after, min_count, max_count):
 * complete backups beyond the newest maxCount are deleted whatever their age (max_count caps), the
 * newest minCount are kept whatever their age (min_count wins over expiry), the rest expire after maxAge.
 */
import type { DateTime, Duration } from 'luxon';

export interface RetentionCandidate {
  name: string;
  takenAt: DateTime;
  complete: boolean;
}

export interface RetentionPolicy {
  maxAge: Duration;
  /** Complete backups always kept, newest first, whatever their age (at least 1). */
  minCount: number;
  /** Complete backups kept at most, newest first, whatever their age (at least minCount); none when undefined. */
  maxCount?: number;
  /** Incomplete leftovers younger than this may still be in progress and are left alone. */
  incompleteGrace: Duration;
}

/** Why a backup is kept or deleted, for machines (`--json`, alerts); `reason` says it for people. */
export type RetentionRule =
  'newest' | 'min-count' | 'max-count' | 'expired' | 'within-time' | 'incomplete-expired' | 'incomplete-recent';

export interface RetentionDecision {
  name: string;
  takenAt: DateTime;
  action: 'keep' | 'delete';
  rule: RetentionRule;
  reason: string;
}

export function planRetention(
  candidates: readonly RetentionCandidate[],
  policy: RetentionPolicy,
  now: DateTime,
): RetentionDecision[] {
  const minCount = Math.max(1, policy.minCount);
  const maxCount = policy.maxCount === undefined ? Infinity : Math.max(minCount, policy.maxCount);
  const cutoff = now.minus(policy.maxAge);
  const graceCutoff = now.minus(policy.incompleteGrace);
  const newestFirst = [...candidates].sort((a, b) => b.takenAt.toMillis() - a.takenAt.toMillis());
  // Formatted once: toHuman() goes through Intl and a scan of 10 000 backups would pay it per backup.
  const expiredReason = `older than ${policy.maxAge.toHuman()}`;
  let completeSeen = 0;
  return newestFirst.map((c): RetentionDecision => {
    const base = { name: c.name, takenAt: c.takenAt };
    if (!c.complete) {
      return c.takenAt < graceCutoff
        ? { ...base, action: 'delete', rule: 'incomplete-expired', reason: 'incomplete leftover of a cut-off run' }
        : { ...base, action: 'keep', rule: 'incomplete-recent', reason: 'incomplete, may still be running' };
    }
    completeSeen += 1;
    if (completeSeen === 1) return { ...base, action: 'keep', rule: 'newest', reason: 'newest complete backup' };
    if (completeSeen > maxCount)
      return { ...base, action: 'delete', rule: 'max-count', reason: `beyond the maximum count of ${maxCount}` };
    if (completeSeen <= minCount)
      return { ...base, action: 'keep', rule: 'min-count', reason: `within the minimum count of ${minCount}` };
    if (c.takenAt < cutoff) return { ...base, action: 'delete', rule: 'expired', reason: expiredReason };
    return { ...base, action: 'keep', rule: 'within-time', reason: 'within the retention time' };
  });
}
