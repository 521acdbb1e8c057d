/**
 * `volumes restore CLAIM SNAPSHOT`: restores one of CLAIM's snapshots into a folder (the target claim
 * mounted in the job: the same claim, or another one). SNAPSHOT is an ID as list prints it, or `latest`,
 * which means the newest snapshot of CLAIM, never of another claim; an ID of another claim's snapshot is
 * refused. A target holding anything (other than lost+found) is refused unless -force, which first
 * empties it, so that afterwards it holds exactly the snapshot's files, with their modes and mtimes.
 */
import { measureTree } from './tree.js';
import { readdir, rm } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { optionalText } from '../../config/options.js';
import { parseResticTags } from '../../storage/layout.js';
import { ExitCode, StackbackupError, fileError, usageError } from '../../util/errors.js';
import { log, section } from '../../util/log.js';
import type { StoreContext } from '../types.js';
import { validateRepository, type RepositoryRaw } from './backup.js';
import { newestFirst } from './list.js';
import {
  ResticOutput,
  openRepository,
  repositoryOf,
  restic,
  snapshots,
  snapshotTime,
  type Repository,
  type RepositoryOptions,
  type ResticSnapshot,
} from './restic.js';
import { claimName } from './settings.js';

export interface RestoreOptions {
  repository: RepositoryOptions;
  claim: string;
  /** `latest`, or 8 to 64 hexadecimal characters of a snapshot ID. */
  snapshot: string;
  /** The folder the target claim is mounted at. */
  path: string;
  targetClaim: string;
  force: boolean;
}

export interface RestoreRaw extends RepositoryRaw {
  claim?: unknown;
  snapshot?: unknown;
  path?: unknown;
  targetClaim?: unknown;
  force?: unknown;
}

export function validateRestore(raw: RestoreRaw): RestoreOptions {
  const claim = claimName(raw.claim, 'CLAIM');
  const snapshot = String(raw.snapshot ?? '');
  if (!/^(latest|[0-9a-f]{8,64})$/.test(snapshot)) {
    throw usageError(
      `invalid snapshot ${JSON.stringify(snapshot.slice(0, 80))}: give an ID as the list prints it (8 or 64 hexadecimal characters), or "latest"`,
      `List them with ./restore/list-volume-backups.sh ${claim}`,
    );
  }
  const path = String(raw.path ?? '');
  if (path === '' || !isAbsolute(path))
    throw usageError(`--path must be the absolute path where the target claim is mounted, got ${JSON.stringify(path)}`);
  const target = optionalText(raw.targetClaim, '--target-claim');
  const targetClaim = target === undefined ? claim : claimName(target, '--target-claim');
  return { repository: validateRepository(raw), claim, snapshot, path, targetClaim, force: raw.force === true };
}

export interface RestoreResult {
  claim: string;
  targetClaim: string;
  snapshot: string;
  shortId: string;
  /** ISO time the snapshot was taken. */
  time: string;
  owner: string | null;
  /** Entries removed from the target first (-force). */
  removed: number;
  files: number;
  bytes: number;
}

export function restoreCommand(claim: string, snapshot: string, target: string, force: boolean): string {
  return `./restore/restore-volume-backup.sh ${claim} ${snapshot}${target === claim ? '' : ` ${target}`}${force ? ' -force' : ''}`;
}

/** The snapshot SNAPSHOT names among CLAIM's snapshots; `latest` never looks at other claims. */
export async function resolveSnapshot(repo: Repository, claim: string, snapshot: string): Promise<ResticSnapshot> {
  const own = newestFirst(await snapshots(repo, claim));
  const listHint = `List them with ./restore/list-volume-backups.sh ${claim}`;
  if (snapshot === 'latest') {
    const newest = own[0];
    if (newest === undefined)
      throw new StackbackupError(`claim ${claim} has no snapshots in ${repo.url}`, {
        exitCode: ExitCode.notFound,
        hint: 'Check the claim name: ./restore/list-volume-backups.sh lists every claim with snapshots.',
      });
    return newest;
  }
  const matches = own.filter((s) => s.id.startsWith(snapshot));
  if (matches.length > 1)
    throw usageError(
      `snapshot ID ${snapshot} is ambiguous: it starts ${matches.length} snapshots of claim ${claim}`,
      'Give more characters of the ID (up to 64).',
    );
  const found = matches[0];
  if (found !== undefined) return found;
  const elsewhere = (await snapshots(repo)).find((s) => s.id.startsWith(snapshot));
  if (elsewhere !== undefined) {
    const other = parseResticTags(elsewhere.tags).claim;
    throw new StackbackupError(
      `snapshot ${snapshot} is not a snapshot of claim ${claim}${other ? `: it belongs to claim ${other}` : ''}`,
      {
        exitCode: ExitCode.notFound,
        hint: other
          ? `To restore ${other}'s files into ${claim}: ${restoreCommand(other, snapshot, claim, false)}`
          : listHint,
      },
    );
  }
  throw new StackbackupError(`claim ${claim} has no snapshot ${snapshot}`, {
    exitCode: ExitCode.notFound,
    hint: listHint,
  });
}

/** Entries of the target other than lost+found (a fresh ext4 volume has it). */
async function contents(path: string): Promise<string[]> {
  try {
    return (await readdir(path)).filter((name) => name !== 'lost+found');
  } catch (err) {
    throw fileError('reading the target folder', path, err);
  }
}

export async function runRestore(o: RestoreOptions, ctx: StoreContext): Promise<RestoreResult> {
  const repo = repositoryOf(ctx.storage, o.repository);
  await openRepository(repo, false);
  const snap = await resolveSnapshot(repo, o.claim, o.snapshot);
  const shortId = snap.id.slice(0, 8);
  const time = snapshotTime(snap).toISO() ?? snap.time;
  log(
    `snapshot ${shortId} of claim ${o.claim}, taken ${time}${o.snapshot === 'latest' ? ' (the newest of this claim)' : ''}`,
  );

  const existing = await contents(o.path);
  if (existing.length > 0 && !o.force) {
    const shown = existing.slice(0, 5).join(', ') + (existing.length > 5 ? `, ... (${existing.length} entries)` : '');
    throw new StackbackupError(
      `claim ${o.targetClaim} is not empty (it holds ${shown}); restoring would mix the snapshot's files with them`,
      {
        exitCode: ExitCode.conflict,
        hint: `To replace its contents with the snapshot, rerun with -force: ${restoreCommand(o.claim, o.snapshot, o.targetClaim, true)}. To keep them, restore into another (empty) claim instead.`,
      },
    );
  }
  if (existing.length > 0) {
    section(`-force: removing the ${existing.length} entries of claim ${o.targetClaim} before the restore`);
    for (const name of existing) {
      await rm(join(o.path, name), { recursive: true, force: true }).catch((err: unknown) => {
        throw fileError('removing', join(o.path, name), err);
      });
    }
  }
  section(`Restoring snapshot ${shortId} of claim ${o.claim} into claim ${o.targetClaim}`);
  // restic 0.16+ prints status messages under --json (0.14 prints none: then only the final line shows).
  const output = new ResticOutput(`claim ${o.targetClaim}: restore`);
  await restic(repo, ['restore', snap.id, '--target', o.path, '--json'], {
    onLine: output.onLine,
    hint: `The restore stopped part-way; claim ${o.targetClaim} may hold part of the snapshot. Fix the cause and rerun with -force: ${restoreCommand(o.claim, shortId, o.targetClaim, true)}`,
  });
  const tree = await measureTree(o.path);
  const files = tree.regularFiles + tree.otherEntries;
  const bytes = tree.bytes;
  output.progress.update(bytes, bytes);
  output.progress.finish();
  return {
    claim: o.claim,
    targetClaim: o.targetClaim,
    snapshot: snap.id,
    shortId,
    time,
    owner: parseResticTags(snap.tags).owner ?? null,
    removed: existing.length,
    files,
    bytes,
  };
}
