/**
 * `volumes backup`: one claim's folder (the claim mounted read-only) into the restic repository, tagged
 * claim=<name> and owner=<user>, then the claim's retention. restic backs up `.` in the claim's folder,
 * and picks as parent the newest snapshot of the same host and folder, which in the chart's Jobs
 * (/volumes/<claim>, host = namespace) is the claim's own newest snapshot, so unchanged files are not read
 * again. (Backing up another claim from the same folder by hand at worst makes restic compare against
 * that claim's files: any difference in size, mtime, ctime or inode still reads the file.) Nothing is
 * checked in advance, since every restic run costs a key derivation: the bucket and repository are
 * created when the backup finds them missing (the first one); locks of runs that died are removed
 * (restic unlock: nothing else) only when a lock stops the backup or the retention; the new snapshot's ID
 * comes from restic's summary, not from another listing (restic 0.14 prints only its start, which the
 * retention's output completes; without retention, `restic list snapshots`). A backup is thus one restic
 * run, plus one for retention: what plain restic's backup and forget cost.
 */
import { stat } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import { wholeNumber } from '../../config/options.js';
import { parseResticTags, resticClaimTag, resticOwnerTag, resticTime } from '../../storage/layout.js';
import { ExitCode, StackbackupError, isStackbackupError, messageOf, usageError } from '../../util/errors.js';
import { log, section, warn } from '../../util/log.js';
import type { StoreContext } from '../types.js';
import {
  dropBackupRecords,
  newestRecordName,
  parseShare,
  recordBackup,
  type BackupRecord,
  type Counted,
} from '../records.js';
import { forgetClaim, type ClaimRetention } from './retention.js';
import {
  ResticOutput,
  classify,
  fullSnapshotId,
  openRepository,
  repositoryOf,
  restic,
  snapshots,
  snapshotTime,
  withLockRetry,
  type Repository,
  type RepositoryOptions,
} from './restic.js';
import {
  DEFAULT_LOCK_WAIT_SECONDS,
  bucketName,
  claimName,
  describeRetention,
  excludePatterns,
  hostName,
  ownerTagValue,
  parseClaimRetention,
  parseRetention,
  passwordFile,
  retentionFor,
  repositoryPrefix,
  type RetentionPolicy,
  type RetentionRaw,
} from './settings.js';

export interface RepositoryRaw {
  bucket?: unknown;
  prefix?: unknown;
  passwordFile?: unknown;
  host?: unknown;
}

export function validateRepository(raw: RepositoryRaw): RepositoryOptions {
  return {
    bucket: bucketName(raw.bucket),
    prefix: repositoryPrefix(raw.prefix),
    passwordFile: passwordFile(raw.passwordFile),
    host: hostName(raw.host),
  };
}

export interface BackupOptions {
  repository: RepositoryOptions;
  claim: string;
  /** The folder holding the claim's files (its mount path in the job). */
  path: string;
  owner: string | undefined;
  exclude: string[];
  retention: RetentionPolicy | undefined;
  lockWaitSeconds: number;
  /** A snapshot under this share of the claim's previous one (bytes) is flagged. */
  shrinkShare: number;
}

export interface BackupRaw extends RepositoryRaw, RetentionRaw {
  claim?: unknown;
  path?: unknown;
  owner?: unknown;
  exclude?: unknown;
  prune?: unknown;
  lockWaitSeconds?: unknown;
  shrinkShare?: unknown;
}

export function validateBackup(raw: BackupRaw): BackupOptions {
  const claim = claimName(raw.claim, '--claim');
  const path = String(raw.path ?? '');
  if (path === '' || !isAbsolute(path))
    throw usageError(`--path must be the absolute path where claim ${claim} is mounted, got ${JSON.stringify(path)}`);
  return {
    repository: validateRepository(raw),
    claim,
    path,
    owner: ownerTagValue(raw.owner),
    exclude: excludePatterns(raw.exclude),
    retention:
      raw.prune === false
        ? undefined
        : retentionFor(claim, parseRetention(raw), parseClaimRetention(raw.claimRetention)),
    lockWaitSeconds: wholeNumber(raw.lockWaitSeconds, '--lock-wait-seconds', 0, 86_400, DEFAULT_LOCK_WAIT_SECONDS),
    shrinkShare: parseShare(raw.shrinkShare),
  };
}

export interface BackupResult {
  claim: string;
  owner: string | null;
  repository: string;
  snapshot: string;
  shortId: string;
  time: string;
  tags: string[];
  filesNew: number;
  filesChanged: number;
  filesUnmodified: number;
  /** Bytes of the claim's files read. */
  bytesProcessed: number;
  /** Bytes added to the repository (after deduplication and compression). */
  bytesAdded: number;
  seconds: number;
  /** Some files could not be read (restic exit code 3): the snapshot holds everything else. */
  partial: boolean;
  retention: ClaimRetention | null;
  /** Why retention did not run this time (it catches up at the next run). */
  retentionSkipped: string | null;
  /** What the snapshot holds (files and bytes, from restic's summary), as recorded for drills. */
  record: BackupRecord;
}

/** The fields of restic's backup summary message that stackbackup reads. */
interface Summary {
  total_files_processed?: number;
  files_new?: number;
  files_changed?: number;
  files_unmodified?: number;
  data_added?: number;
  total_bytes_processed?: number;
  snapshot_id?: string;
}

export function backupArgs(o: BackupOptions, time: string): string[] {
  return [
    'backup',
    '.',
    '--json',
    '--host',
    o.repository.host,
    '--tag',
    resticClaimTag(o.claim),
    ...(o.owner === undefined ? [] : ['--tag', resticOwnerTag(o.owner)]),
    '--time',
    time,
    ...o.exclude.flatMap((p) => ['--exclude', p]),
  ];
}

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

/** restic found no repository (or no bucket): the claim's first backup into this repository. */
function missingRepository(err: unknown): boolean {
  return isStackbackupError(err) && err.exitCode === ExitCode.notFound && /no restic repository/.test(err.message);
}

/**
 * restic backup, waiting while another run holds the repository exclusively; a stale lock (of a prune or
 * forget that died) is removed when it stops the backup (withLockRetry). Returns whether the snapshot is
 * partial (restic exit code 3: written without the files it could not read).
 */
async function runResticBackup(
  repo: Repository,
  o: BackupOptions,
  args: string[],
  onLine: ResticOutput['onLine'],
): Promise<boolean> {
  const attempt = () =>
    restic(repo, args, {
      cwd: o.path,
      onLine,
      hint: `restic could not back up claim ${o.claim}; nothing was added to the repository.`,
    });
  try {
    await withLockRetry(repo, `backup of claim ${o.claim}`, attempt, o.lockWaitSeconds);
    return false;
  } catch (err) {
    if (!isStackbackupError(err) || classify(err) !== 'partial') throw err;
    warn(`some files of claim ${o.claim} could not be read; the snapshot holds everything else:\n${messageOf(err)}`);
    return true;
  }
}

/**
 * The full ID of the snapshot this run wrote. restic 0.15+ prints it in the summary; restic 0.14 prints
 * 8 characters, which the claim's retention (whose output lists full IDs) or `restic list snapshots`
 * completes. Without a summary: by its time among the claim's snapshots.
 */
async function writtenSnapshot(
  repo: Repository,
  claim: string,
  time: string,
  summary: Summary | undefined,
  retention: ClaimRetention | null,
): Promise<string> {
  const id = summary?.snapshot_id;
  if (id !== undefined) {
    const full = /^[0-9a-f]{64}$/.test(id)
      ? id
      : ([...(retention?.kept ?? []), ...(retention?.removed ?? [])].find((k) => k.startsWith(id)) ??
        (await fullSnapshotId(repo, id)));
    if (full !== undefined) return full;
  }
  const mine = (await snapshots(repo, claim)).filter(
    (s) => resticTime(snapshotTime(s)) === time && s.hostname === repo.host,
  );
  const snap = mine[mine.length - 1];
  if (snap === undefined)
    throw new StackbackupError(`restic reported no snapshot for claim ${claim}`, {
      hint: "See restic's output above.",
    });
  return snap.id;
}

export async function runBackup(o: BackupOptions, ctx: StoreContext): Promise<BackupResult> {
  const info = await stat(o.path).catch(() => undefined);
  if (!info?.isDirectory()) {
    throw new StackbackupError(`claim ${o.claim} is not mounted at ${o.path} (no such folder)`, {
      exitCode: ExitCode.notFound,
      hint: "Check the job's volume mount of the claim.",
    });
  }
  const repo: Repository = repositoryOf(ctx.storage, o.repository);
  section(`Backing up claim ${o.claim}${o.owner ? ` (owner ${o.owner})` : ''} from ${o.path} into ${repo.url}`);
  const taken = ctx.now();
  const time = resticTime(taken);
  const started = Date.now();
  const output = new ResticOutput(`claim ${o.claim}: backup`);
  let partial: boolean;
  try {
    partial = await runResticBackup(repo, o, backupArgs(o, time), output.onLine);
  } catch (err) {
    if (!missingRepository(err)) throw err;
    await openRepository(repo, true);
    partial = await runResticBackup(repo, o, backupArgs(o, time), output.onLine);
  }
  const summary = output.summary as Summary | undefined;
  if (summary !== undefined) output.progress.update(num(summary.total_bytes_processed));
  output.progress.finish();
  const tags = [resticClaimTag(o.claim), ...(o.owner === undefined ? [] : [resticOwnerTag(o.owner)])];
  const seconds = (Date.now() - started) / 1000;
  log(
    `claim ${o.claim}: ${summary?.snapshot_id === undefined ? 'snapshot written' : `snapshot ${summary.snapshot_id.slice(0, 8)}`}, ${num(summary?.total_bytes_processed)} bytes read, ${num(summary?.data_added)} bytes added, in ${seconds.toFixed(1)} s`,
  );

  let retention: ClaimRetention | null = null;
  let retentionSkipped: string | null = null;
  if (o.retention !== undefined) {
    section(`Retention of claim ${o.claim}: ${describeRetention(o.retention)}`);
    try {
      retention = await forgetClaim(repo, o.claim, o.retention, { lockWaitSeconds: o.lockWaitSeconds });
      log(`claim ${o.claim}: kept ${retention.kept.length}, removed ${retention.removed.length} snapshot(s)`);
    } catch (err) {
      if (!isStackbackupError(err) || err.exitCode !== ExitCode.conflict) throw err;
      retentionSkipped = err.message;
      warn(`${err.message}; the backup is complete, retention runs again at the next backup`);
    }
  }
  const snapshot = await writtenSnapshot(repo, o.claim, time, summary, retention);
  const record = await recordSnapshot(repo, o, snapshot, taken.toUTC().toISO() ?? time, summary, retention);
  return {
    claim: o.claim,
    owner: parseResticTags(tags).owner ?? null,
    repository: repo.url,
    snapshot,
    shortId: snapshot.slice(0, 8),
    time: taken.toUTC().toISO() ?? time,
    tags,
    filesNew: num(summary?.files_new),
    filesChanged: num(summary?.files_changed),
    filesUnmodified: num(summary?.files_unmodified),
    bytesProcessed: num(summary?.total_bytes_processed),
    bytesAdded: num(summary?.data_added),
    seconds,
    partial,
    retention,
    retentionSkipped,
    record,
  };
}

/**
 * Records what the claim's snapshot holds: its regular files and their bytes as restic's summary counts
 * them (what a restore brings back), compared with the claim's previous record; the records of snapshots
 * the retention removed go. The storage layer is loaded here, after the backup (see restic.ts).
 */
async function recordSnapshot(
  repo: Repository,
  o: BackupOptions,
  snapshot: string,
  takenAt: string,
  summary: Summary | undefined,
  retention: ClaimRetention | null,
): Promise<BackupRecord> {
  const { openStore } = await import('../../storage/open.js');
  const store = openStore(repo.storage, repo.bucket);
  const why = summary === undefined ? 'restic printed no backup summary' : undefined;
  const counts: Record<string, Counted> =
    why === undefined
      ? { files: { value: num(summary?.total_files_processed) }, bytes: { value: num(summary?.total_bytes_processed) } }
      : { files: { unknown: why }, bytes: { unknown: why } };
  let previous: string | undefined;
  try {
    previous = await newestRecordName(store, o.claim);
  } catch (err) {
    warn(`could not list the records of claim ${o.claim}: ${messageOf(err)}`);
  }
  const record = await recordBackup(
    store,
    { target: o.claim, name: snapshot, takenAt, sizeBytes: num(summary?.total_bytes_processed), sha256: null, counts },
    previous,
    'bytes',
    o.shrinkShare,
  );
  const removed = retention?.removed ?? [];
  if (removed.length > 0)
    await dropBackupRecords(store, o.claim, removed).catch((err: unknown) =>
      warn(`could not remove the records of removed snapshots: ${messageOf(err)}`),
    );
  return record;
}
