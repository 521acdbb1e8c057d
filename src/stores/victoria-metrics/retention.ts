/**
 * Retention of versions, per instance, in tiers like vmbackupmanager's keepLastDaily/keepLastWeekly:
 * of the complete versions, the newest of each of the last `keepDaily` days (UTC) that have one and
 * the newest of each of the last `keepWeekly` ISO weeks that have one are kept, by the time of their
 * last completed backup. Never deleted, whatever the tiers say: the version in use (the one the
 * volume's marker names, and the newest version of the instance, which the next scheduled backup
 * continues). Incomplete versions that are not in use are leftovers of cut-off first backups: removed
 * once older than a grace period. planVersionRetention() only computes (the dry-run); prune deletes.
 */
import type { DateTime, Duration } from 'luxon';
import type { VersionInfo } from './versions.js';

export interface TierPolicy {
  keepDaily: number;
  keepWeekly: number;
  incompleteGrace: Duration;
}

export interface VersionDecision {
  instance: string;
  version: string;
  action: 'keep' | 'delete';
  reason: string;
}

export function planVersionRetention(versions: readonly VersionInfo[], policy: TierPolicy, inUse: ReadonlySet<string>, now: DateTime): VersionDecision[] {
  const out: VersionDecision[] = [];
  const instances = [...new Set(versions.map((v) => v.instance))].sort();
  const graceCutoff = now.minus(policy.incompleteGrace);
  for (const instance of instances) {
    const mine = versions.filter((v) => v.instance === instance);
    const newest = [...mine].sort((a, b) => b.startedAt.toMillis() - a.startedAt.toMillis())[0];
    const complete = mine.filter((v) => v.complete).sort((a, b) => (b.completedAt?.toMillis() ?? 0) - (a.completedAt?.toMillis() ?? 0));
    const days = new Set<string>();
    const weeks = new Set<string>();
    const tier = new Map<string, string>();
    for (const v of complete) {
      const at = (v.completedAt ?? v.startedAt).toUTC();
      const day = at.toFormat('yyyy-MM-dd');
      const week = at.toFormat("kkkk-'W'WW");
      const reasons: string[] = [];
      if (!days.has(day) && days.size < policy.keepDaily) {
        days.add(day);
        reasons.push(`newest of ${day} (daily, ${days.size} of ${policy.keepDaily})`);
      }
      if (!weeks.has(week) && weeks.size < policy.keepWeekly) {
        weeks.add(week);
        reasons.push(`newest of week ${week} (weekly, ${weeks.size} of ${policy.keepWeekly})`);
      }
      if (reasons.length > 0) tier.set(v.version, reasons.join('; '));
    }
    for (const v of [...mine].sort((a, b) => b.startedAt.toMillis() - a.startedAt.toMillis())) {
      const base = { instance, version: v.version };
      if (inUse.has(v.version)) out.push({ ...base, action: 'keep', reason: 'in use: the volume marker names it' });
      else if (v === newest) out.push({ ...base, action: 'keep', reason: 'in use: newest version, the next backup continues it' });
      else if (!v.complete) {
        out.push(v.lastWrite < graceCutoff
          ? { ...base, action: 'delete', reason: 'incomplete leftover of a cut-off backup, not in use' }
          : { ...base, action: 'keep', reason: 'incomplete, may still be running' });
      } else {
        const why = tier.get(v.version);
        out.push(why !== undefined
          ? { ...base, action: 'keep', reason: why }
          : { ...base, action: 'delete', reason: `beyond ${policy.keepDaily} daily and ${policy.keepWeekly} weekly versions` });
      }
    }
  }
  return out;
}
