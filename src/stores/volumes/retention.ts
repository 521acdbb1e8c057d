/**
 * Retention per claim: `restic forget --tag claim=<name> --host <host> --group-by ''` with the claim's
 * keep rules. The tag filter makes restic consider only that claim's snapshots, and grouping by nothing
 * makes them one group, so one claim's rules never count, keep or remove another claim's snapshots
 * (and a changed owner tag does not split a claim into two groups). Only `prune` then frees the data.
 */
import { parseResticTags, resticClaimTag } from '../../storage/layout.js';
import { restic, withLockRetry, type Repository, type ResticSnapshot } from './restic.js';
import { describeRetention, retentionArgs, type RetentionPolicy } from './settings.js';

export interface ClaimRetention {
  claim: string;
  /** The policy applied to this claim (the common one, or with the claim's overrides). */
  policy: string;
  kept: string[];
  removed: string[];
  /** restic's reason per kept snapshot (short id -> "daily snapshot", ...). */
  reasons: Record<string, string[]>;
}

interface ForgetGroup {
  keep: ResticSnapshot[] | null;
  remove: ResticSnapshot[] | null;
  reasons: { snapshot: ResticSnapshot & { id?: string }; matches: string[] }[] | null;
}

export async function forgetClaim(
  repo: Repository,
  claim: string,
  policy: RetentionPolicy,
  options: { dryRun?: boolean; lockWaitSeconds?: number } = {},
): Promise<ClaimRetention> {
  const args = [
    'forget',
    '--json',
    '--tag',
    resticClaimTag(claim),
    '--host',
    repo.host,
    '--group-by',
    '',
    ...retentionArgs(policy),
    ...(options.dryRun ? ['--dry-run'] : []),
  ];
  const out = await withLockRetry(
    repo,
    `retention of claim ${claim}`,
    () => restic(repo, args, { hint: 'restic forget failed; the snapshots are unchanged.' }),
    options.lockWaitSeconds,
  );
  const groups = JSON.parse(out.stdout.split('\n').find((l) => l.startsWith('[')) ?? '[]') as ForgetGroup[] | null;
  const result: ClaimRetention = { claim, policy: describeRetention(policy), kept: [], removed: [], reasons: {} };
  for (const g of groups ?? []) {
    for (const s of g.keep ?? []) if (parseResticTags(s.tags).claim === claim) result.kept.push(s.id);
    for (const s of g.remove ?? []) if (parseResticTags(s.tags).claim === claim) result.removed.push(s.id);
    for (const r of g.reasons ?? []) {
      const kept = (g.keep ?? []).find((s) => s.time === r.snapshot.time && s.tree === r.snapshot.tree);
      if (kept) result.reasons[kept.id.slice(0, 8)] = r.matches;
    }
  }
  return result;
}
