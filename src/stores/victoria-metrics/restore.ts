/**
 * `restore INSTANCE VERSION`: vmrestore of a complete version into the instance's data folder, which
 * must not be in use (the restore script scales the StatefulSet to 0 first; given --url, a running
 * instance is detected and refused). vmrestore makes the folder equal to the version, deleting what
 * the version does not hold. Afterwards the volume marker records the restored version, so the next
 * scheduled backup starts a new version (copying the restored parts server-side) and the restored
 * version itself is never modified.
 */
import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureBucket, openStore } from '../../storage/open.js';
import { ExitCode, StackbackupError, fileError } from '../../util/errors.js';
import { log, section } from '../../util/log.js';
import type { StoreContext } from '../types.js';
import { isHealthy, parseInstanceUrl } from './instance.js';
import { bucketName, dataPath, instanceName, versionName } from './options.js';
import { listVersions } from './versions.js';
import { folderIdentities, restoredMarker, writeMarker } from './volume.js';
import {
  parseRestoreSummary,
  remoteAccess,
  remoteUrl,
  runVmrestore,
  vmrestoreArgs,
  type RestoreSummary,
} from './vmtools.js';

export interface RestoreOptions {
  instance: string;
  version: string;
  bucket: string;
  storageDataPath: string;
  /** When given, the restore refuses to run while the instance answers there. */
  url: URL | undefined;
}

export interface RestoreRaw {
  instance?: unknown;
  version?: unknown;
  bucket?: unknown;
  storageDataPath?: unknown;
  url?: unknown;
}

export function validateRestore(raw: RestoreRaw): RestoreOptions {
  const instance = instanceName(raw.instance, 'INSTANCE');
  return {
    instance,
    version: versionName(instance, raw.version, 'VERSION'),
    bucket: bucketName(raw.bucket, '--bucket'),
    storageDataPath: dataPath(raw.storageDataPath, '--storage-data-path'),
    url: raw.url === undefined || raw.url === '' ? undefined : parseInstanceUrl(String(raw.url), '--url'),
  };
}

export interface RestoreResult extends RestoreSummary {
  instance: string;
  version: string;
  lastCompletedBackup: string;
  wallSeconds: number;
}

const LIST = 'List the versions with restore/list-victoria-metrics-backups.sh (or stackbackup victoria-metrics list).';

export async function runRestore(options: RestoreOptions, ctx: StoreContext): Promise<RestoreResult> {
  const started = Date.now();
  const { instance, version } = options;
  const store = openStore(ctx.storage, options.bucket);
  await ensureBucket(store, {
    create: false,
    bucketValue: `${instance}.backup.bucketName`,
    scheduleValue: `${instance}.backup.enabled`,
  });
  const found = (await listVersions(store, [instance])).find((v) => v.version === version);
  if (found === undefined) {
    throw new StackbackupError(`version ${version} of ${instance} is not in ${store.location}`, {
      exitCode: ExitCode.notFound,
      hint: LIST,
    });
  }
  if (!found.complete || found.completedAt === undefined) {
    throw new StackbackupError(
      `version ${version} of ${instance} is INCOMPLETE (its last backup was cut off before vmbackup finished); refusing to restore it`,
      {
        exitCode: ExitCode.integrity,
        hint: `Restore a complete version instead. ${LIST}`,
      },
    );
  }
  if (options.url !== undefined && (await isHealthy(options.url))) {
    throw new StackbackupError(
      `${instance} is running (${options.url.origin} answers); vmrestore must not write under a running instance`,
      {
        exitCode: ExitCode.conflict,
        hint: 'Scale its StatefulSet to 0 first; restore/restore-victoria-metrics-backup.sh does that and scales it back afterwards.',
      },
    );
  }
  await mkdir(options.storageDataPath, { recursive: true }).catch((err: unknown) => {
    throw fileError('creating', options.storageDataPath, err);
  });
  section(`Restoring ${instance} from version ${version} (last completed backup ${found.completedAt.toISO()})`);
  const access = remoteAccess(ctx.storage);
  const { result, shutdownRace } = await runVmrestore(
    vmrestoreArgs(remoteUrl(ctx.storage, options.bucket, instance, version), options.storageDataPath, access),
    access,
    'The data folder is incomplete now: rerun the restore before starting the instance (vmrestore resumes).',
  );
  // vmrestore exits 0 only when every part is in place; its summary line only gives figures. After the
  // shutdown race (vmtools.ts) it exited 2: done only with its summary line and its lock file gone.
  const output = `${result.stdout}\n${result.stderr}`;
  if (shutdownRace) await confirmRestored(output, options.storageDataPath, version);
  const summary = parseRestoreSummary(output) ?? { restoredBytes: 0, deletedBytes: 0, downloadedBytes: 0, seconds: 0 };
  await writeMarker(
    options.storageDataPath,
    restoredMarker(instance, version, await folderIdentities(options.storageDataPath), ctx.now()),
  );
  log(
    `restored ${summary.restoredBytes} bytes (${summary.downloadedBytes} downloaded); the next backup of ${instance} starts a new version`,
  );
  return {
    instance,
    version,
    lastCompletedBackup: found.completedAt.toISO() ?? '',
    ...summary,
    wallSeconds: (Date.now() - started) / 1000,
  };
}

/** vmrestore creates this file in the data folder when it starts and removes it as its last step. */
const RESTORE_LOCK = 'restore-in-progress';

/** Proof that a vmrestore which panicked in the shutdown race had restored everything. */
export async function confirmRestored(output: string, storageDataPath: string, version: string): Promise<void> {
  const locked = await stat(join(storageDataPath, RESTORE_LOCK)).then(
    () => true,
    () => false,
  );
  if (parseRestoreSummary(output) === undefined || locked) {
    throw new StackbackupError(
      `vmrestore of ${version} panicked while shutting down (exit 2) before it had finished (${locked ? `${RESTORE_LOCK} is still in ${storageDataPath}` : 'no summary line'})`,
      {
        exitCode: ExitCode.integrity,
        hint: 'The data folder is incomplete: rerun the restore before starting the instance (vmrestore resumes).',
      },
    );
  }
  log(
    `vmrestore hit its known shutdown race after the restore (exit 2, "there is no http server"); completion proven by its summary line and no ${RESTORE_LOCK} file`,
  );
}
