/**
 * `volumes prune`: the retention policy applied to every claim of the repository (or the claims named),
 * one claim at a time (see retention.ts), each with its own overrides if it has any, then `restic prune` to free the data no snapshot uses any more.
 * Claims whose PersistentVolumeClaim is gone keep their snapshots by the same rules.
 */
import { listOption, wholeNumber } from '../../config/options.js';
import { parseResticTags } from '../../storage/layout.js';
import { log, section } from '../../util/log.js';
import type { StoreContext } from '../types.js';
import { validateRepository, type RepositoryRaw } from './backup.js';
import { forgetClaim, type ClaimRetention } from './retention.js';
import {
  openRepository,
  repositoryOf,
  restic,
  snapshots,
  unlockStale,
  withLockRetry,
  type RepositoryOptions,
} from './restic.js';
import {
  DEFAULT_LOCK_WAIT_SECONDS,
  claimName,
  describeRetention,
  parseClaimRetention,
  parseRetention,
  retentionFor,
  type ClaimRetentionOverrides,
  type RetentionPolicy,
  type RetentionRaw,
} from './settings.js';

export interface PruneOptions {
  repository: RepositoryOptions;
  claims: string[];
  retention: RetentionPolicy;
  /** Claims whose policy differs (backup.volumes.claimRetention). */
  overrides: ClaimRetentionOverrides;
  dryRun: boolean;
  /** Run `restic prune` after the forgets (not in a dry run). */
  prune: boolean;
  lockWaitSeconds: number;
}

export interface PruneRaw extends RepositoryRaw, RetentionRaw {
  claim?: unknown;
  dryRun?: unknown;
  prune?: unknown;
  lockWaitSeconds?: unknown;
}

export function validatePrune(raw: PruneRaw): PruneOptions {
  const retention = parseRetention(raw);
  const overrides = parseClaimRetention(raw.claimRetention);
  for (const claim of overrides.keys()) retentionFor(claim, retention, overrides);
  return {
    repository: validateRepository(raw),
    claims: listOption(raw.claim, '--claim').map((c) => claimName(c, '--claim')),
    retention,
    overrides,
    dryRun: raw.dryRun === true,
    prune: raw.prune !== false,
    lockWaitSeconds: wholeNumber(raw.lockWaitSeconds, '--lock-wait-seconds', 0, 86_400, DEFAULT_LOCK_WAIT_SECONDS),
  };
}

export interface PruneResult {
  repository: string;
  policy: string;
  dryRun: boolean;
  claims: ClaimRetention[];
  pruned: boolean;
}

export async function runPrune(o: PruneOptions, ctx: StoreContext): Promise<PruneResult> {
  const repo = repositoryOf(ctx.storage, o.repository);
  await openRepository(repo, false);
  await unlockStale(repo);
  const claims =
    o.claims.length > 0
      ? o.claims
      : [
          ...new Set(
            (await snapshots(repo))
              .map((s) => parseResticTags(s.tags).claim)
              .filter((c): c is string => c !== undefined),
          ),
        ].sort();
  const policy = describeRetention(o.retention);
  const results: ClaimRetention[] = [];
  for (const claim of claims) {
    const own = retentionFor(claim, o.retention, o.overrides);
    section(
      `Retention of claim ${claim}: ${describeRetention(own)}${o.overrides.has(claim) ? ' (its own policy)' : ''}${o.dryRun ? ' (dry run)' : ''}`,
    );
    const r = await forgetClaim(repo, claim, own, { dryRun: o.dryRun, lockWaitSeconds: o.lockWaitSeconds });
    log(
      `claim ${claim}: ${o.dryRun ? 'would keep' : 'kept'} ${r.kept.length}, ${o.dryRun ? 'would remove' : 'removed'} ${r.removed.length}`,
    );
    results.push(r);
  }
  let pruned = false;
  if (o.prune && !o.dryRun) {
    section('Pruning: freeing the data no snapshot uses any more');
    await withLockRetry(
      repo,
      'prune',
      () =>
        restic(repo, ['prune'], {
          logOutput: true,
          hint: 'restic prune failed; no snapshot was changed by it. It is safe to rerun.',
        }),
      o.lockWaitSeconds,
    );
    pruned = true;
  }
  return { repository: repo.url, policy, dryRun: o.dryRun, claims: results, pruned };
}
