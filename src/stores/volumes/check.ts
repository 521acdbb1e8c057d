/**
 * `volumes check`: removes stale locks (restic unlock: only locks of runs that died), then
 * `restic check --read-data-subset`, which verifies the repository's structure and downloads and
 * verifies the given part of the data (for example 5%, or n/t: the n-th of t parts), so that a scheduled
 * check reads all the data over a number of runs without reading everything each time.
 */
import { optionalText } from '../../config/options.js';
import { section } from '../../util/log.js';
import { ExitCode, StackbackupError, isStackbackupError, usageError } from '../../util/errors.js';
import type { StoreContext } from '../types.js';
import { validateRepository, type RepositoryRaw } from './backup.js';
import {
  openRepository,
  plainResticCommand,
  repositoryOf,
  restic,
  unlockStale,
  type RepositoryOptions,
} from './restic.js';

export interface CheckOptions {
  repository: RepositoryOptions;
  /** restic's --read-data-subset (`5%`, `1/10`), or undefined for a structure-only check. */
  readDataSubset: string | undefined;
}

/** restic's --read-data-subset: a percentage or n/t; undefined (or `0`) for none. */
export function parseReadDataSubset(raw: unknown, source: string): string | undefined {
  const given = optionalText(raw, source);
  const subset = given === undefined || given === '0' ? undefined : given;
  if (subset !== undefined) {
    const pct = /^([0-9]+(?:\.[0-9]+)?)%$/.exec(subset);
    const part = /^([1-9][0-9]*)\/([1-9][0-9]*)$/.exec(subset);
    const ok = pct ? Number(pct[1]) > 0 && Number(pct[1]) <= 100 : part ? Number(part[1]) <= Number(part[2]) : false;
    if (!ok)
      throw usageError(
        `${source} ${JSON.stringify(subset)} must be a percentage (0.1% to 100%) or n/t (for example 1/10)`,
      );
  }
  return subset;
}

export function validateCheck(raw: RepositoryRaw & { readDataSubset?: unknown }): CheckOptions {
  return {
    repository: validateRepository(raw),
    readDataSubset: parseReadDataSubset(
      raw.readDataSubset,
      '--read-data-subset (backup.volumes.maintenance.readDataSubset)',
    ),
  };
}

export interface CheckResult {
  repository: string;
  readDataSubset: string | null;
  ok: true;
}

export async function runCheck(o: CheckOptions, ctx: StoreContext): Promise<CheckResult> {
  const repo = repositoryOf(ctx.storage, o.repository);
  await openRepository(repo, false);
  section('Removing stale locks (of runs that died)');
  await unlockStale(repo);
  section(`Checking the repository${o.readDataSubset ? `, reading ${o.readDataSubset} of the data` : ''}`);
  try {
    await restic(repo, ['check', ...(o.readDataSubset ? ['--read-data-subset', o.readDataSubset] : [])], {
      logOutput: true,
    });
  } catch (err) {
    if (!isStackbackupError(err) || err.exitCode !== ExitCode.failure) throw err;
    throw new StackbackupError(`restic check found problems in ${repo.url}: see its output above`, {
      exitCode: ExitCode.integrity,
      hint: `Inspect it with ${plainResticCommand(repo, 'check --read-data')}; restic's documentation describes repairs (rebuild-index, repair snapshots).`,
      cause: err,
    });
  }
  return { repository: repo.url, readDataSubset: o.readDataSubset ?? null, ok: true };
}
