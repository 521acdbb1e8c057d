/**
 * `volumes list [CLAIM]`: the snapshots of every claim (or one), newest first, with their owner and
 * tags, straight from the repository (what `restic snapshots` shows, grouped by claim).
 */
import { parseResticTags } from '../../storage/layout.js';
import type { StoreContext } from '../types.js';
import { shrunkBackups } from '../records.js';
import { validateRepository, type RepositoryRaw } from './backup.js';
import {
  openRepository,
  repositoryOf,
  snapshots,
  snapshotTime,
  type RepositoryOptions,
  type ResticSnapshot,
} from './restic.js';
import { claimName } from './settings.js';

export interface ListOptions {
  repository: RepositoryOptions;
  claim: string | undefined;
}

export function validateList(raw: RepositoryRaw & { claim?: unknown }): ListOptions {
  const claim = raw.claim === undefined || raw.claim === '' ? undefined : claimName(raw.claim, 'CLAIM');
  return { repository: validateRepository(raw), claim };
}

export interface VolumeSnapshot {
  claim: string;
  owner: string | null;
  id: string;
  shortId: string;
  /** ISO time, UTC. */
  time: string;
  host: string;
  paths: string[];
  tags: string[];
  /** Why the snapshot is flagged as much smaller than the claim's previous one (list only; null when not). */
  shrunk?: string | null;
}

export interface ListResult {
  repository: string;
  claim: string | null;
  /** Newest first. */
  snapshots: VolumeSnapshot[];
}

export function toVolumeSnapshot(s: ResticSnapshot): VolumeSnapshot | undefined {
  const { claim, owner } = parseResticTags(s.tags);
  if (claim === undefined) return undefined; // not taken by stackbackup: never listed or restored
  return {
    claim,
    owner: owner ?? null,
    id: s.id,
    shortId: s.id.slice(0, 8),
    time: snapshotTime(s).toISO() ?? s.time,
    host: s.hostname,
    paths: s.paths ?? [],
    tags: s.tags ?? [],
  };
}

export function newestFirst(list: ResticSnapshot[]): ResticSnapshot[] {
  return [...list].sort((a, b) => snapshotTime(b).toMillis() - snapshotTime(a).toMillis() || b.id.localeCompare(a.id));
}

export async function runList(o: ListOptions, ctx: StoreContext): Promise<ListResult> {
  const repo = repositoryOf(ctx.storage, o.repository);
  await openRepository(repo, false);
  const found = newestFirst(await snapshots(repo, o.claim))
    .map(toVolumeSnapshot)
    .filter((s): s is VolumeSnapshot => s !== undefined);
  const { openStore } = await import('../../storage/open.js');
  const store = openStore(repo.storage, repo.bucket);
  const flagged = new Map<string, Map<string, string>>();
  for (const claim of new Set(found.map((s) => s.claim))) flagged.set(claim, await shrunkBackups(store, claim));
  return {
    repository: repo.url,
    claim: o.claim ?? null,
    snapshots: found.map((s) => ({ ...s, shrunk: flagged.get(s.claim)?.get(s.id) ?? null })),
  };
}
