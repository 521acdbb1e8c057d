/**
 * Retention of versions, per instance, in a daily and a weekly tier (like vmbackupmanager's
 * keepLastDaily/keepLastWeekly, adapted to versions: a version is not one snapshot but the latest
 * state of one volume, so two versions completed on the same day hold different data, for example
 * the last backup before a wipe and the first after it; both must survive that day):
 * - daily: every version whose last completed backup falls on one of the last `keepDaily` calendar
 *   days (UTC, today included) is kept;
 * - weekly: of the others, the most recently completed version of each of the last `keepWeekly` ISO
 *   weeks (this week included) is kept;
 * - never deleted, whatever the tiers say: the version in use (the one the volume's marker names, and
 *   the newest version of the instance, which the next scheduled backup continues);
 * - incomplete versions that are not in use are leftovers of cut-off first backups: deleted once their
 *   last write is older than a grace period (a backup may still be uploading).
 * planVersionRetention() only computes (the dry-run); prune deletes.
 */
import type { DateTime, Duration } from 'luxon';
import type { VersionInfo } from './versions.js';

export interface TierPolicy {
  keepDaily: number;
  keepWeekly: number;
  incompleteGrace: Duration;
}

/** Why a version is kept or deleted, for machines; `reason` says it for people. */
export type VersionRule =
  'in-use' | 'newest' | 'incomplete-expired' | 'incomplete-recent' | 'daily' | 'weekly' | 'beyond-tiers';

export interface VersionDecision {
  instance: string;
  version: string;
  action: 'keep' | 'delete';
  rule: VersionRule;
  reason: string;
}

export function planVersionRetention(
  versions: readonly VersionInfo[],
  policy: TierPolicy,
  inUse: ReadonlySet<string>,
  now: DateTime,
): VersionDecision[] {
  const out: VersionDecision[] = [];
  const today = now.toUTC().startOf('day');
  const firstDay = today.minus({ days: Math.max(policy.keepDaily - 1, 0) });
  const firstWeek = today.startOf('week').minus({ weeks: Math.max(policy.keepWeekly - 1, 0) });
  const graceCutoff = now.minus(policy.incompleteGrace);
  const instances = [...new Set(versions.map((v) => v.instance))].sort();
  for (const instance of instances) {
    const newestFirst = versions
      .filter((v) => v.instance === instance)
      .sort((a, b) => b.startedAt.toMillis() - a.startedAt.toMillis());
    const newest = newestFirst[0];
    // Weekly tier: the most recently completed version of each week, among those the daily tier leaves.
    const weekly = new Map<string, VersionInfo>();
    for (const v of newestFirst) {
      const at = v.completedAt?.toUTC();
      if (
        !v.complete ||
        at === undefined ||
        (policy.keepDaily > 0 && at >= firstDay) ||
        policy.keepWeekly === 0 ||
        at < firstWeek
      )
        continue;
      const week = at.toFormat("kkkk-'W'WW");
      const held = weekly.get(week);
      if (held === undefined || (held.completedAt?.toMillis() ?? 0) < at.toMillis()) weekly.set(week, v);
    }
    for (const v of newestFirst) {
      const base = { instance, version: v.version };
      const at = v.completedAt?.toUTC();
      const week = [...weekly].find(([, held]) => held === v)?.[0];
      if (inUse.has(v.version))
        out.push({ ...base, action: 'keep', rule: 'in-use', reason: 'in use: the volume marker names it' });
      else if (v === newest)
        out.push({
          ...base,
          action: 'keep',
          rule: 'newest',
          reason: 'in use: newest version, the next backup continues it',
        });
      else if (!v.complete || at === undefined) {
        out.push(
          v.lastWrite < graceCutoff
            ? {
                ...base,
                action: 'delete',
                rule: 'incomplete-expired',
                reason: 'incomplete leftover of a cut-off backup, not in use',
              }
            : { ...base, action: 'keep', rule: 'incomplete-recent', reason: 'incomplete, may still be running' },
        );
      } else if (policy.keepDaily > 0 && at >= firstDay) {
        out.push({
          ...base,
          action: 'keep',
          rule: 'daily',
          reason: `daily: completed ${at.toFormat('yyyy-MM-dd')}, within the last ${policy.keepDaily} day(s)`,
        });
      } else if (week !== undefined) {
        out.push({
          ...base,
          action: 'keep',
          rule: 'weekly',
          reason: `weekly: newest of week ${week}, within the last ${policy.keepWeekly} week(s)`,
        });
      } else {
        out.push({
          ...base,
          action: 'delete',
          rule: 'beyond-tiers',
          reason: `completed ${at.toFormat('yyyy-MM-dd')}: beyond ${policy.keepDaily} daily and ${policy.keepWeekly} weekly`,
        });
      }
    }
  }
  return out;
}
