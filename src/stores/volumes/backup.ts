/**
 * `volumes backup`: one claim's folder (the claim mounted read-only) into the restic repository, tagged
 * claim=<name> and owner=<user>, then the claim's retention. The repository is created on the first
 * backup; stale locks of runs that died are removed first (restic unlock removes nothing else). The
 * claim's newest snapshot is passed as --parent, so unchanged files are not read again whatever the
 * mount path was.
 */
import { stat } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import { parseResticTags, resticClaimTag, resticOwnerTag, resticTime } from '../../storage/layout.js';
import { ExitCode, StackbackupError, isStackbackupError, messageOf, usageError } from '../../util/errors.js';
import { log, section, warn } from '../../util/log.js';
import type { StoreContext } from '../types.js';
import { forgetClaim, type ClaimRetention } from './retention.js';
import { classify, openRepository, repositoryOf, restic, snapshots, unlockStale, snapshotTime, type Repository, type RepositoryOptions, type ResticSnapshot } from './restic.js';
import {
  DEFAULT_LOCK_WAIT_SECONDS,
  bucketName,
  claimName,
  describeRetention,
  excludePatterns,
  hostName,
  ownerTagValue,
  parseRetention,
  passwordFile,
  repositoryPrefix,
  wholeNumber,
  type RetentionPolicy,
} from './settings.js';

export interface RepositoryRaw {
  bucket?: unknown;
  prefix?: unknown;
  passwordFile?: unknown;
  host?: unknown;
}

export function validateRepository(raw: RepositoryRaw): RepositoryOptions {
  return { bucket: bucketName(raw.bucket), prefix: repositoryPrefix(raw.prefix), passwordFile: passwordFile(raw.passwordFile), host: hostName(raw.host) };
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
}

export interface BackupRaw extends RepositoryRaw {
  claim?: unknown;
  path?: unknown;
  owner?: unknown;
  exclude?: unknown;
  prune?: unknown;
  keepLast?: unknown;
  keepHourly?: unknown;
  keepDaily?: unknown;
  keepWeekly?: unknown;
  keepMonthly?: unknown;
  keepYearly?: unknown;
  lockWaitSeconds?: unknown;
}

export function validateBackup(raw: BackupRaw): BackupOptions {
  const claim = claimName(raw.claim, '--claim');
  const path = String(raw.path ?? '');
  if (path === '' || !isAbsolute(path)) throw usageError(`--path must be the absolute path where claim ${claim} is mounted, got ${JSON.stringify(path)}`);
  return {
    repository: validateRepository(raw),
    claim,
    path,
    owner: ownerTagValue(raw.owner),
    exclude: excludePatterns(raw.exclude),
    retention: raw.prune === false ? undefined : parseRetention(raw),
    lockWaitSeconds: wholeNumber(raw.lockWaitSeconds ?? DEFAULT_LOCK_WAIT_SECONDS, '--lock-wait-seconds', 0, 86_400),
  };
}

export interface BackupResult {
  claim: string;
  owner: string | null;
  repository: string;
  snapshot: string;
  shortId: string;
  parent: string | null;
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
}

interface Summary {
  message_type: 'summary';
  files_new: number;
  files_changed: number;
  files_unmodified: number;
  data_added: number;
  total_bytes_processed: number;
  total_duration: number;
  snapshot_id: string;
}

function parseSummary(stdout: string): Summary | undefined {
  for (const line of stdout.split('\n').reverse()) {
    if (!line.startsWith('{')) continue;
    try {
      const msg = JSON.parse(line) as { message_type?: string };
      if (msg.message_type === 'summary') return msg as Summary;
    } catch {
      // restic prints the odd plain line; only its JSON messages count.
    }
  }
  return undefined;
}

export function backupArgs(o: BackupOptions, time: string, parent: ResticSnapshot | undefined): string[] {
  return [
    'backup', '.', '--json',
    '--host', o.repository.host,
    '--tag', resticClaimTag(o.claim),
    ...(o.owner === undefined ? [] : ['--tag', resticOwnerTag(o.owner)]),
    '--time', time,
    ...(parent === undefined ? [] : ['--parent', parent.id]),
    ...o.exclude.flatMap((p) => ['--exclude', p]),
  ];
}

export async function runBackup(o: BackupOptions, ctx: StoreContext): Promise<BackupResult> {
  const info = await stat(o.path).catch(() => undefined);
  if (!info?.isDirectory()) {
    throw new StackbackupError(`claim ${o.claim} is not mounted at ${o.path} (no such folder)`, { exitCode: ExitCode.notFound, hint: 'Check the job\'s volume mount of the claim.' });
  }
  const repo: Repository = repositoryOf(ctx.storage, o.repository);
  section(`Backing up claim ${o.claim}${o.owner ? ` (owner ${o.owner})` : ''} from ${o.path} into ${repo.url}`);
  await openRepository(repo, true);
  await unlockStale(repo);
  const previous = await snapshots(repo, o.claim);
  const parent = previous[previous.length - 1];
  const taken = ctx.now();
  const time = resticTime(taken);
  const started = Date.now();
  let summary: Summary | undefined;
  let partial = false;
  try {
    const out = await restic(repo, backupArgs(o, time, parent), { cwd: o.path, hint: `restic could not back up claim ${o.claim}; nothing was added to the repository.` });
    summary = parseSummary(out.stdout);
  } catch (err) {
    if (!isStackbackupError(err) || classify(messageOf(err)) !== 'partial') throw err;
    // restic 0.14+: exit code 3 means the snapshot was written without the files it could not read.
    partial = true;
    warn(`some files of claim ${o.claim} could not be read; the snapshot holds everything else:\n${messageOf(err)}`);
  }
  const mine = (await snapshots(repo, o.claim)).filter((s) => resticTime(snapshotTime(s)) === time && s.hostname === repo.host);
  const snap = mine[mine.length - 1];
  if (snap === undefined) throw new StackbackupError(`restic reported no snapshot for claim ${o.claim}`, { hint: 'See restic\'s output above.' });
  const seconds = (Date.now() - started) / 1000;
  log(`claim ${o.claim}: snapshot ${snap.id.slice(0, 8)}, ${summary?.total_bytes_processed ?? 0} bytes read, ${summary?.data_added ?? 0} bytes added, in ${seconds.toFixed(1)} s`);

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
  return {
    claim: o.claim,
    owner: parseResticTags(snap.tags).owner ?? null,
    repository: repo.url,
    snapshot: snap.id,
    shortId: snap.id.slice(0, 8),
    parent: parent?.id ?? null,
    time: taken.toUTC().toISO() ?? time,
    tags: snap.tags ?? [],
    filesNew: summary?.files_new ?? 0,
    filesChanged: summary?.files_changed ?? 0,
    filesUnmodified: summary?.files_unmodified ?? 0,
    bytesProcessed: summary?.total_bytes_processed ?? 0,
    bytesAdded: summary?.data_added ?? 0,
    seconds,
    partial,
    retention,
    retentionSkipped,
  };
}
