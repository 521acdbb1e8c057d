/**
 * Running restic: argument arrays through util/exec.ts, the repository password only as
 * RESTIC_PASSWORD_FILE and the S3 keys only as AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY in the child's
 * environment, never on a command line. restic's failures are turned into errors that say what to do:
 * wrong password, no repository, repository locked, endpoint unreachable, credentials refused.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { DateTime } from 'luxon';
import type { StorageConfig } from '../../config/storage.js';
import type { ObjectStore } from '../../storage/types.js';
import {
  parseResticTags,
  resticClaimTag,
  resticConfigKey,
  resticLocksPrefix,
  resticRepositoryUrl,
} from '../../storage/layout.js';
import { ExitCode, StackbackupError, isStackbackupError, messageOf } from '../../util/errors.js';
import { isProgramFailure, run, type OutputStream, type RunResult } from '../../util/exec.js';
import { log, warn } from '../../util/log.js';
import { Progress, logProgress } from '../../util/progress.js';
import { DEFAULT_LOCK_WAIT_SECONDS, VALUES } from './settings.js';

/** The program; overridable for a job image that keeps it elsewhere. */
export const RESTIC = process.env.STACKBACKUP_RESTIC ?? 'restic';

/** Where the repository is and how to open it (no secret values: the password stays in its file). */
export interface RepositoryOptions {
  bucket: string;
  prefix: string;
  passwordFile: string;
  /** restic's host field: snapshots of other hosts are never listed, restored or removed. */
  host: string;
}

export interface Repository extends RepositoryOptions {
  url: string;
  storage: StorageConfig;
}

export function repositoryOf(storage: StorageConfig, options: RepositoryOptions): Repository {
  const url = resticRepositoryUrl(
    storage.kind === 's3' ? { kind: 's3', endpoint: storage.endpoint } : { kind: 'filesystem', root: storage.root },
    options.bucket,
    options.prefix,
  );
  return { ...options, url, storage };
}

/** The plain restic command an operator runs from outside Kubernetes, for hints. */
export function plainResticCommand(repo: Repository, args: string): string {
  return `restic -r ${repo.url} ${args}`;
}

function environment(repo: Repository): Record<string, string> {
  const env: Record<string, string> = {
    RESTIC_PASSWORD_FILE: repo.passwordFile,
    TZ: 'UTC',
    RESTIC_PASSWORD: '',
    RESTIC_PASSWORD_COMMAND: '',
  };
  if (repo.storage.kind === 's3') {
    env.AWS_ACCESS_KEY_ID = repo.storage.accessKey;
    env.AWS_SECRET_ACCESS_KEY = repo.storage.secretKey;
    env.AWS_DEFAULT_REGION = repo.storage.region;
  }
  return env;
}

function globalArgs(repo: Repository): string[] {
  return ['--repo', repo.url, ...(repo.storage.kind === 's3' ? ['--option', `s3.region=${repo.storage.region}`] : [])];
}

export interface ResticRunOptions {
  cwd?: string;
  /** Log every output line (default false: JSON output is parsed, not logged). */
  logOutput?: boolean;
  hint?: string;
  /** Each output line as it arrives (see util/exec.ts: false leaves it out of the result). */
  onLine?: (line: string, stream: OutputStream) => boolean | void;
}

/** restic's failure: from its exit code where restic 0.14 has one (3: some source files unreadable), else from what restic printed. */
export type ResticFailure =
  'password' | 'no-repository' | 'locked' | 'unreachable' | 'credentials' | 'partial' | 'other';

export function classify(err: unknown): ResticFailure {
  if (isProgramFailure(err) && err.programExitCode === 3) return 'partial';
  const message = messageOf(err);
  if (/wrong password or no key found/i.test(message)) return 'password';
  if (
    /unable to open config file|Is there a repository at the following location|repository does not exist/i.test(
      message,
    )
  )
    return 'no-repository';
  if (/repository is already locked|unable to create lock/i.test(message)) return 'locked';
  if (/InvalidAccessKeyId|SignatureDoesNotMatch|Access Denied|AccessDenied/i.test(message)) return 'credentials';
  if (/connection refused|no such host|i\/o timeout|dial tcp|connection reset/i.test(message)) return 'unreachable';
  return 'other';
}

/** Runs `restic <args>` against the repository; restic's errors come back as StackbackupErrors. */
export async function restic(
  repo: Repository,
  args: readonly string[],
  options: ResticRunOptions = {},
): Promise<RunResult> {
  try {
    return await run(RESTIC, [...globalArgs(repo), ...args], {
      env: environment(repo),
      cwd: options.cwd,
      logOutput: options.logOutput ?? false,
      hint: options.hint,
      onLine: options.onLine,
    });
  } catch (err) {
    if (!isStackbackupError(err)) throw err;
    const message = messageOf(err);
    switch (classify(err)) {
      case 'password':
        throw new StackbackupError(
          `wrong restic repository password for ${repo.url}: restic cannot open any key of the repository with it`,
          {
            exitCode: ExitCode.credentials,
            hint: `Check the Secret of ${VALUES.password} (the same password that initialised the repository); try it by hand with: ${plainResticCommand(repo, 'snapshots')}`,
            cause: err,
          },
        );
      case 'no-repository':
        throw new StackbackupError(`there is no restic repository at ${repo.url}`, {
          exitCode: ExitCode.notFound,
          hint: `Check ${VALUES.bucket} and ${VALUES.prefix}; the first scheduled backup creates the repository.`,
          cause: err,
        });
      case 'credentials':
        throw new StackbackupError(`the S3 endpoint refused the credentials for ${repo.url}`, {
          exitCode: ExitCode.credentials,
          hint: 'Check minio.accessKey/minio.secretKey (or their existingSecret).',
          cause: err,
        });
      case 'unreachable':
        throw new StackbackupError(`cannot reach the repository at ${repo.url}: ${message.split('\n').pop() ?? ''}`, {
          exitCode: ExitCode.unreachable,
          hint: 'Check that the S3 endpoint (MinIO or gateway) is running.',
          cause: err,
        });
      default:
        throw err;
    }
  }
}

/**
 * Runs an operation that needs the repository unlocked by others (backup: no exclusive lock; forget and
 * prune: no lock at all). The first time a lock stops it, the locks of runs that died are removed
 * (restic unlock removes nothing else) and it is retried at once; while live runs hold the repository it
 * waits, up to waitSeconds. So nothing is checked in advance, and restic unlock runs only when locks are
 * actually in the way.
 */
export async function withLockRetry<T>(
  repo: Repository,
  what: string,
  operation: () => Promise<T>,
  waitSeconds = DEFAULT_LOCK_WAIT_SECONDS,
): Promise<T> {
  const deadline = Date.now() + waitSeconds * 1000;
  const locked = (err: unknown): boolean => isStackbackupError(err) && classify(err) === 'locked';
  let delay = 2000;
  let unlocked = false;
  for (;;) {
    try {
      return await operation();
    } catch (err) {
      if (!locked(err)) throw err;
      if (!unlocked) {
        unlocked = true;
        log(`${what}: the repository is locked; removing the locks of runs that died (restic unlock), then retrying`);
        await restic(repo, ['unlock']);
        continue;
      }
      if (Date.now() + delay > deadline) {
        throw new StackbackupError(`${what}: the repository stayed locked by another run for ${waitSeconds} s`, {
          exitCode: ExitCode.conflict,
          hint: 'Another backup, prune or check is running; this one catches up at its next run. Locks of runs that died are removed automatically (restic unlock).',
          cause: err,
        });
      }
      log(`${what}: the repository is locked by another run; retrying in ${Math.round(delay / 1000)} s`);
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 30_000);
    }
  }
}

/**
 * The repository's bucket through the storage layer, which is loaded on first use: the S3 client takes
 * about a second to load, which a backup into an existing repository never needs.
 */
async function bucketOf(
  repo: Repository,
): Promise<{ store: ObjectStore; ensureBucket: typeof import('../../storage/open.js').ensureBucket }> {
  const { openStore, ensureBucket } = await import('../../storage/open.js');
  return { store: openStore(repo.storage, repo.bucket), ensureBucket };
}

/** True once the repository's config object exists. */
export async function repositoryExists(repo: Repository): Promise<boolean> {
  const { store } = await bucketOf(repo);
  return (await store.stat(resticConfigKey(repo.prefix))) !== undefined;
}

/**
 * Opens the repository. Backups create the bucket and initialise the repository when they are missing;
 * everything else (list, restore, prune) fails with the values to check instead of inventing an empty one.
 */
export async function openRepository(repo: Repository, create: boolean): Promise<void> {
  const { store, ensureBucket } = await bucketOf(repo);
  await ensureBucket(store, { create, bucketValue: VALUES.bucket, scheduleValue: VALUES.scheduled });
  if (await repositoryExists(repo)) return;
  if (!create) {
    throw new StackbackupError(
      `there is no restic repository at ${repo.url} (no ${resticConfigKey(repo.prefix)} in bucket "${repo.bucket}")`,
      {
        exitCode: ExitCode.notFound,
        hint: `Check ${VALUES.bucket} and ${VALUES.prefix}; the first scheduled backup creates the repository.`,
      },
    );
  }
  log(`initialising the restic repository ${repo.url}`);
  try {
    await restic(repo, ['init'], { hint: 'restic could not create the repository.' });
  } catch (err) {
    // Two claims' first backups may race: the other one created it.
    if (await repositoryExists(repo)) return;
    throw err;
  }
}

/**
 * Removes stale locks only (of runs that died): restic unlock without --remove-all, and only when the
 * repository holds lock files at all (listing them is one request; restic unlock opens the repository,
 * which costs a key derivation). Returns whether restic unlock ran.
 */
export async function unlockStale(repo: Repository): Promise<boolean> {
  const locks = await (await bucketOf(repo)).store.list(resticLocksPrefix(repo.prefix));
  if (locks.length === 0) return false;
  log(`${locks.length} lock(s) in the repository: removing those of runs that died (restic unlock)`);
  await restic(repo, ['unlock']);
  return true;
}

/**
 * A snapshot's full ID from the start restic 0.14's backup summary prints (8 characters; 0.15+ print all
 * 64). restic keeps the snapshots it writes in its local cache, `<RESTIC_CACHE_DIR>/<repository
 * id>/snapshots/<2 characters>/<full id>` (restic's documented cache layout), so a match there costs no
 * repository access; otherwise `restic list snapshots` names every snapshot by its full ID.
 */
export async function fullSnapshotId(repo: Repository, id: string): Promise<string | undefined> {
  if (/^[0-9a-f]{64}$/.test(id)) return id;
  if (!/^[0-9a-f]{8,63}$/.test(id)) return undefined;
  const cache = process.env.RESTIC_CACHE_DIR;
  if (cache) {
    const repositories = await readdir(cache).catch(() => [] as string[]);
    const cached = (
      await Promise.all(
        repositories.map((r) => readdir(join(cache, r, 'snapshots', id.slice(0, 2))).catch(() => [] as string[])),
      )
    )
      .flat()
      .filter((name) => /^[0-9a-f]{64}$/.test(name) && name.startsWith(id));
    if (cached.length === 1) return cached[0];
  }
  const out = await restic(repo, ['--no-lock', 'list', 'snapshots']);
  const ids = out.stdout
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /^[0-9a-f]{64}$/.test(l) && l.startsWith(id));
  return ids.length === 1 ? ids[0] : undefined;
}

/** The JSON messages of `restic backup --json` and `restic restore --json` that stackbackup reads. */
interface ResticMessage {
  message_type?: string;
  total_bytes?: number;
  /** backup */
  bytes_done?: number;
  /** restore (restic 0.16+; 0.14 prints no restore status) */
  bytes_restored?: number;
  error?: { message?: string };
  during?: string;
  item?: string;
}

/**
 * Reads restic's --json output line by line: status messages drive a progress line (bytes, rate, ETA;
 * at most one per progress interval) and are not kept; restic's error messages are logged as warnings,
 * plain lines as they are; the summary message is kept for the caller.
 */
export class ResticOutput {
  readonly progress: Progress;
  summary: Record<string, unknown> | undefined;

  constructor(label: string, intervalMs?: number) {
    this.progress = new Progress(label, undefined, logProgress, intervalMs);
  }

  readonly onLine = (line: string): boolean => {
    if (!line.startsWith('{')) {
      if (line.trim() !== '') log(line);
      return true;
    }
    let msg: ResticMessage;
    try {
      msg = JSON.parse(line) as ResticMessage;
    } catch {
      log(line);
      return true;
    }
    switch (msg.message_type) {
      case 'status': {
        const done = msg.bytes_done ?? msg.bytes_restored;
        if (typeof done === 'number')
          this.progress.update(
            done,
            typeof msg.total_bytes === 'number' && msg.total_bytes > 0 ? msg.total_bytes : undefined,
          );
        return false;
      }
      case 'summary':
        this.summary = msg as Record<string, unknown>;
        return true;
      case 'error':
        warn(`restic: ${msg.during ?? 'error'}${msg.item ? ` ${msg.item}` : ''}: ${msg.error?.message ?? line}`);
        return true;
      case 'verbose_status':
        return false;
      default:
        return true;
    }
  };
}

/** A snapshot as `restic snapshots --json` prints it. */
export interface ResticSnapshot {
  id: string;
  short_id?: string;
  time: string;
  tree?: string;
  parent?: string;
  paths: string[] | null;
  hostname: string;
  tags: string[] | null;
}

/**
 * The host's snapshots (of one claim when given), oldest first as restic prints them. noLock: read
 * without taking restic's shared lock (two fewer requests; safe for a lookup that changes nothing).
 */
export async function snapshots(
  repo: Repository,
  claim?: string,
  options: { noLock?: boolean } = {},
): Promise<ResticSnapshot[]> {
  const args = [
    ...(options.noLock ? ['--no-lock'] : []),
    'snapshots',
    '--json',
    '--host',
    repo.host,
    ...(claim === undefined ? [] : ['--tag', resticClaimTag(claim)]),
  ];
  const out = await restic(repo, args);
  const parsed = JSON.parse(out.stdout || '[]') as ResticSnapshot[] | null;
  return (parsed ?? []).filter((s) => claim === undefined || parseResticTags(s.tags).claim === claim);
}

/** A snapshot's time (restic prints RFC 3339 with nanoseconds), in UTC. */
export function snapshotTime(s: ResticSnapshot): DateTime {
  return DateTime.fromISO(s.time, { zone: 'utc' });
}
