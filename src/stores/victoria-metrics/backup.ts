/**
 * `backup`: one incremental vmbackup of a running instance into its current version (or a new
 * version when the volume was emptied or replaced: volume.ts), then retention of the instance's
 * versions. vmbackup asks the instance for an instant snapshot (-snapshot.createURL), uploads only the
 * parts the version lacks, deletes the parts the snapshot no longer has, writes its completion marker
 * last, and deletes the snapshot.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { DateTime } from 'luxon';
import { wholeNumber } from '../../config/options.js';
import { ensureBucket, openStore } from '../../storage/open.js';
import { victoriaMetricsCompleteKey } from '../../storage/layout.js';
import { ExitCode, StackbackupError, codeOf, fileError, messageOf } from '../../util/errors.js';
import { log, section } from '../../util/log.js';
import type { StoreContext } from '../types.js';
import { endpoint, parseInstanceUrl, seriesCount, waitHealthy } from './instance.js';
import { countedBetween, parseShare, recordBackup, type BackupRecord, type Counted } from '../records.js';
import { bucketName, dataPath, instanceName, tierPolicy } from './options.js';
import { runPrune, type PruneResult } from './prune.js';
import type { TierPolicy } from './retention.js';
import { listVersions, newestComplete } from './versions.js';
import { decideVersion, folderIdentities, readMarker, writeMarker } from './volume.js';
import {
  parseBackupSummary,
  remoteAccess,
  remoteUrl,
  runVmbackup,
  vmbackupArgs,
  type BackupSummary,
} from './vmtools.js';

export interface BackupOptions {
  instance: string;
  bucket: string;
  url: URL;
  storageDataPath: string;
  maxBytesPerSecond: number | undefined;
  /** Retention after the backup (once a UTC day, and when a new version starts); undefined: no pruning. */
  prune: TierPolicy | undefined;
  /** How long to wait for the instance to answer before giving up. */
  waitMs: number;
  /** A backup under this share of the previous one's series is flagged (default 0.5). */
  shrinkShare?: number;
}

export interface BackupRaw {
  instance?: unknown;
  bucket?: unknown;
  url?: unknown;
  storageDataPath?: unknown;
  maxBytesPerSecond?: unknown;
  prune?: unknown;
  keepDaily?: unknown;
  keepWeekly?: unknown;
  waitSeconds?: unknown;
  shrinkShare?: unknown;
}

export function validateBackup(raw: BackupRaw): BackupOptions {
  const instance = instanceName(raw.instance, '--instance');
  return {
    instance,
    bucket: bucketName(raw.bucket, '--bucket'),
    url: parseInstanceUrl(String(raw.url ?? ''), '--url'),
    storageDataPath: dataPath(raw.storageDataPath, '--storage-data-path'),
    maxBytesPerSecond:
      raw.maxBytesPerSecond === undefined
        ? undefined
        : wholeNumber(raw.maxBytesPerSecond, '--max-bytes-per-second', 1024, Number.MAX_SAFE_INTEGER),
    prune: raw.prune === false ? undefined : tierPolicy(raw),
    waitMs: wholeNumber(raw.waitSeconds, '--wait-seconds', 0, 3600, 60) * 1000,
    shrinkShare: parseShare(raw.shrinkShare),
  };
}

export interface BackupResult extends BackupSummary {
  instance: string;
  bucket: string;
  version: string;
  newVersion: boolean;
  reason: string;
  origin: string | null;
  completedAt: string;
  wallSeconds: number;
  prune: PruneResult | null;
  /** What the version holds after this backup, as recorded for drills. */
  record: BackupRecord;
}

/** The instance's series count for the record, or why it is unknown. */
async function seriesNow(url: URL): Promise<Counted> {
  try {
    return { value: await seriesCount(url) };
  } catch (err) {
    return { unknown: `the instance did not tell its series count: ${messageOf(err)}` };
  }
}

async function checkDataFolder(path: string, instance: string): Promise<void> {
  try {
    if (!(await stat(path)).isDirectory()) throw new Error('not a folder');
    await stat(join(path, 'data'));
  } catch (err) {
    const missing = codeOf(err) === 'ENOENT' || (err instanceof Error && err.message === 'not a folder');
    if (!missing) throw fileError('checking', path, err);
    throw new StackbackupError(`${path} is not the data folder of a running VictoriaMetrics (no data/ folder in it)`, {
      exitCode: ExitCode.notFound,
      hint: `Mount ${instance}'s volume at its -storageDataPath (the victoria-metrics-N.backup.persistentVolumeClaim and .storageDataPath Helm values).`,
    });
  }
}

/**
 * How a finished vmbackup run is known to be complete. vmbackup deletes its completion marker first,
 * writes it again as the last step of a backup and exits 0 only when that write succeeded; its "...
 * is complete; backed up N bytes" line comes with the figures. Exit 0 plus that line is the proof, and
 * the hourly run needs no S3 client at all (loading one costs more than a small incremental upload).
 * Without the line (a vmbackup release that words it differently) the marker is looked up instead.
 * A run that hit the shutdown race (vmtools.ts) exited 2 after its work: it counts only with both
 * proofs, the summary line and the marker in the bucket (which that very run wrote, having deleted it
 * at its start).
 */
export async function confirmCompletion(
  output: string,
  statMarker: () => Promise<{ lastModified: Date } | undefined>,
  now: () => DateTime,
  shutdownRace = false,
): Promise<{ summary: BackupSummary; at: string } | undefined> {
  const summary = parseBackupSummary(output);
  if (summary !== undefined && !shutdownRace) return { summary, at: now().toUTC().toISO() ?? new Date().toISOString() };
  if (shutdownRace && summary === undefined) return undefined;
  const marker = await statMarker();
  if (marker === undefined) return undefined;
  if (summary !== undefined) return { summary, at: now().toUTC().toISO() ?? new Date().toISOString() };
  return {
    summary: { backedUpBytes: 0, deletedBytes: 0, copiedBytes: 0, uploadedBytes: 0, seconds: 0 },
    at: marker.lastModified.toISOString(),
  };
}

export async function runBackup(options: BackupOptions, ctx: StoreContext): Promise<BackupResult> {
  const started = Date.now();
  const { instance } = options;
  await checkDataFolder(options.storageDataPath, instance);
  await waitHealthy(options.url, options.waitMs);
  const store = openStore(ctx.storage, options.bucket);
  const state = await readMarker(options.storageDataPath);
  const folders = await folderIdentities(options.storageDataPath);
  let now: DateTime = ctx.now();
  let decision = decideVersion(instance, state, folders, now);
  let origin: string | null = null;
  let otherVersions = true;
  // The usual hourly run continues the marker's version: vmbackup starts at once, with no listing
  // first (the bucket and the version were there at the last run). Only a new version looks at the
  // bucket before: to create it when missing, never to reuse a name, and to find parts to copy.
  if (decision.newVersion) {
    await ensureBucket(store, {
      create: true,
      bucketValue: `${instance}.backup.bucketName`,
      scheduleValue: `${instance}.backup.enabled`,
    });
    const versions = await listVersions(store, [instance]);
    otherVersions = versions.length > 0;
    // Version names have second resolution: never start a new version under an existing name.
    while (versions.some((v) => v.version === decision.version)) {
      now = now.plus({ seconds: 1 });
      decision = decideVersion(instance, state, folders, now);
    }
    const hinted =
      decision.originHint === null ? undefined : versions.find((v) => v.version === decision.originHint && v.complete);
    const from = hinted ?? newestComplete(versions, instance);
    if (from !== undefined && from.version !== decision.version) origin = from.version;
  }
  section(
    `Backing up ${instance} into ${decision.newVersion ? 'new ' : ''}version ${decision.version} (${decision.reason})`,
  );
  if (origin !== null) log(`parts already in ${origin} are copied server-side`);
  // Retention works in days: it runs after the first backup of each UTC day, and whenever a new
  // version starts, so the hourly runs in between cost no listing of the bucket. The first version
  // of an instance has nothing to prune: that counts as today's run.
  const today = ctx.now().toUTC().toFormat('yyyy-MM-dd');
  const pruneNow =
    options.prune !== undefined && otherVersions && (decision.newVersion || decision.marker.prunedOn !== today);
  await writeMarker(options.storageDataPath, otherVersions ? decision.marker : { ...decision.marker, prunedOn: today });
  const seriesBefore = await seriesNow(options.url);

  const access = remoteAccess(ctx.storage);
  const args = vmbackupArgs(
    {
      storageDataPath: options.storageDataPath,
      snapshotCreateUrl: endpoint(options.url, '/snapshot/create'),
      dst: remoteUrl(ctx.storage, options.bucket, instance, decision.version),
      origin: origin === null ? undefined : remoteUrl(ctx.storage, options.bucket, instance, origin),
      maxBytesPerSecond: options.maxBytesPerSecond,
    },
    access,
  );
  const hint = `The version stays incomplete until a backup into it completes; the next scheduled run resumes it. Check that ${options.url.origin} is reachable and the bucket is writable.`;
  const { result, shutdownRace } = await runVmbackup(args, access, hint);
  const output = `${result.stdout}\n${result.stderr}`;
  const completed = await confirmCompletion(
    output,
    () => store.stat(victoriaMetricsCompleteKey(instance, decision.version)),
    ctx.now,
    shutdownRace,
  );
  if (completed === undefined) {
    const how = shutdownRace ? 'vmbackup panicked while shutting down (exit 2)' : 'vmbackup finished';
    throw new StackbackupError(`${how} but version ${decision.version} has no completion marker`, {
      exitCode: ExitCode.integrity,
      hint: 'The version is listed as incomplete and is not offered for restore; the next backup retries it.',
    });
  }
  const { summary } = completed;
  if (shutdownRace)
    log(
      `vmbackup hit its known shutdown race after the backup (exit 2, "there is no http server"); completion proven by its summary line and the marker in the bucket`,
    );
  log(
    `version ${decision.version}: ${summary.backedUpBytes} bytes backed up, ${summary.uploadedBytes} uploaded, ${summary.copiedBytes} copied server-side, ${summary.deletedBytes} deleted`,
  );
  // The version is complete: record what it holds (series counted before and after the snapshot, so a
  // range when samples of new series arrived meanwhile). The same version's last record is the previous
  // backup; a new version compares with the one it started from.
  const seriesAfter = await seriesNow(options.url);
  const series: Counted =
    'value' in seriesBefore && 'value' in seriesAfter
      ? countedBetween(seriesBefore.value, seriesAfter.value)
      : 'unknown' in seriesBefore
        ? seriesBefore
        : seriesAfter;
  const record = await recordBackup(
    store,
    {
      target: instance,
      name: decision.version,
      takenAt: completed.at,
      sizeBytes: summary.backedUpBytes,
      sha256: null,
      counts: {
        series,
        samples: { unknown: 'not counted at backup time (the drill reads samples back from the scratch instance)' },
      },
    },
    decision.newVersion ? (origin ?? undefined) : decision.version,
    'series',
    options.shrinkShare,
  );
  let prune: PruneResult | null = null;
  if (pruneNow && options.prune !== undefined) {
    prune = await runPrune(
      {
        bucket: options.bucket,
        instances: [instance],
        policy: options.prune,
        dryRun: false,
        inUse: [decision.version],
        storageDataPath: undefined,
      },
      ctx,
    );
    await writeMarker(options.storageDataPath, { ...decision.marker, prunedOn: today });
  }
  return {
    instance,
    bucket: options.bucket,
    version: decision.version,
    newVersion: decision.newVersion,
    reason: decision.reason,
    origin,
    completedAt: completed.at,
    ...summary,
    wallSeconds: (Date.now() - started) / 1000,
    prune,
    record,
  };
}
