/**
 * `stackgraph backup`: one full export of StackGraph, uploaded as `sts-backup-YYYYMMDD-HHMM.graph` (UTC)
 * with its SHA-256 published next to it, then retention.
 *
 * Where the export comes from:
 * - `command`: the export tool runs here, through util/exec (argument array, no shell), into a work
 *   folder. For the demo, tests and images that hold both this CLI and the export tool.
 * - `file`: the export was already written by another container of the same pod. This is what the
 *   chart's CronJob does: StackState's export tool lives in StackState's image, so an init container of
 *   that image exports into a scratch volume and this CLI, in the job image, uploads the file. An init
 *   container that fails fails the pod before this step runs, so nothing is uploaded.
 *
 * Either way a missing or empty export is a failure, nothing is uploaded, and the export file is
 * removed once it is uploaded (so a stale export on a reused volume can never be uploaded again).
 */
import { mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { optionalText, text as optionText } from '../../config/options.js';
import { STACKGRAPH_EXPORT_FILE, stackGraphBackupName } from '../../storage/layout.js';
import { uploadFile } from '../../storage/publish.js';
import {
  ExitCode,
  StackbackupError,
  codeOf,
  fileError,
  isStackbackupError,
  messageOf,
  usageError,
} from '../../util/errors.js';
import { run } from '../../util/exec.js';
import { log, section } from '../../util/log.js';
import type { StoreContext } from '../types.js';
import { parseShare, recordBackup, type BackupRecord, type Counted } from '../records.js';
import { scanBackups } from './list.js';
import { STACKGRAPH_TARGET } from './report.js';
import { parseCount } from './restore.js';
import { pruneStore, type PruneResult } from './prune.js';
import {
  VALUES,
  openBucket,
  parseBucket,
  parseCommand,
  parseRetention,
  withFile,
  type RetentionSettings,
} from './settings.js';

export type ExportSource = { kind: 'command'; command: string[]; workDir: string } | { kind: 'file'; path: string };

export interface BackupOptions {
  bucket: string;
  source: ExportSource;
  retention: RetentionSettings;
  /** Prints the number of elements StackGraph holds (recorded with the backup); undefined: not known. */
  countCommand: string[] | undefined;
  /** A backup under this share of the previous one is flagged. */
  shrinkShare: number;
}

export interface BackupResult {
  name: string;
  bucket: string;
  size: number;
  sha256: string;
  exportSeconds: number;
  uploadSeconds: number;
  retention: PruneResult;
  /** What the backup holds, as recorded next to it. */
  record: BackupRecord;
}

/** The file the export command writes when it runs here. */
export const EXPORT_FILE_NAME = STACKGRAPH_EXPORT_FILE;

export function validateBackup(raw: {
  bucket?: unknown;
  fromFile?: unknown;
  exportCommand?: unknown;
  workDir?: unknown;
  retention?: unknown;
  minCount?: unknown;
  countCommand?: unknown;
  shrinkShare?: unknown;
}): BackupOptions {
  const bucket = parseBucket(raw.bucket);
  const retention = parseRetention(raw.retention, raw.minCount);
  const fromFile = optionalText(raw.fromFile, '--from-file');
  const command = optionalText(raw.exportCommand, `--export-command (${VALUES.exportCommand})`);
  if ((fromFile === undefined) === (command === undefined)) {
    throw usageError(
      'give exactly one of --from-file and --export-command',
      `--export-command runs the export tool here (${VALUES.exportCommand}); --from-file uploads an export another container wrote.`,
    );
  }
  const source: ExportSource =
    fromFile !== undefined
      ? { kind: 'file', path: fromFile }
      : {
          kind: 'command',
          command: parseCommand(command, '--export-command'),
          workDir: optionText(raw.workDir, '--work-dir', '.'),
        };
  const count = optionalText(raw.countCommand, `--count-command (${VALUES.countCommand})`);
  return {
    bucket,
    source,
    retention,
    countCommand: count === undefined ? undefined : parseCommand(count, '--count-command'),
    shrinkShare: parseShare(raw.shrinkShare),
  };
}

/** Runs the export tool (command mode); answers the file it wrote. */
async function runExport(source: Extract<ExportSource, { kind: 'command' }>): Promise<string> {
  const file = join(source.workDir, EXPORT_FILE_NAME);
  await mkdir(source.workDir, { recursive: true }).catch((err: unknown) => {
    throw fileError('creating the work folder', source.workDir, err);
  });
  await rm(file, { force: true });
  const [program = '', ...args] = withFile(source.command, file);
  section(`Exporting StackGraph: ${program} ${args.join(' ')}`);
  try {
    await run(program, args, {
      hint: `Check the export command (${VALUES.exportCommand}) and that StackGraph is reachable; nothing was uploaded.`,
    });
  } catch (err) {
    await rm(file, { force: true });
    if (isStackbackupError(err)) {
      throw new StackbackupError(`the StackGraph export failed, nothing was uploaded: ${err.message}`, {
        exitCode: err.exitCode,
        hint: err.hint,
        cause: err,
      });
    }
    throw err;
  }
  return file;
}

/** The element count for the record: the count command's answer, or why it is unknown. */
async function elementsNow(command: string[] | undefined): Promise<Counted> {
  if (command === undefined) return { unknown: `no count command (${VALUES.countCommand})` };
  const [program = '', ...args] = command;
  try {
    const result = await run(program, args, { logOutput: false });
    return { value: parseCount(result.stdout, `the count command (${program})`) };
  } catch (err) {
    return { unknown: `the count command failed: ${messageOf(err)}` };
  }
}

/** A usable export: a regular, non-empty file. */
async function checkExport(path: string): Promise<number> {
  let size: number;
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new StackbackupError(`the StackGraph export ${path} is not a file; nothing was uploaded`);
    size = info.size;
  } catch (err) {
    if (isStackbackupError(err)) throw err;
    if (codeOf(err) === 'ENOENT') {
      throw new StackbackupError(
        `the StackGraph export ${path} does not exist: the export tool did not write it; nothing was uploaded`,
        {
          hint: `Check the export command (${VALUES.exportCommand}) and its output above.`,
        },
      );
    }
    throw fileError('reading', path, err);
  }
  if (size === 0) {
    throw new StackbackupError(`the StackGraph export ${path} is empty; nothing was uploaded`, {
      hint: `Check the export command (${VALUES.exportCommand}) and its output above.`,
    });
  }
  return size;
}

export async function runBackup(options: BackupOptions, ctx: StoreContext): Promise<BackupResult> {
  const name = stackGraphBackupName(ctx.now());
  const store = await openBucket(ctx.storage, options.bucket, true);
  const { complete } = await scanBackups(store);
  if (complete.some((b) => b.name === name)) {
    throw new StackbackupError(`a complete backup named ${name} already exists in bucket ${options.bucket}`, {
      exitCode: ExitCode.conflict,
      hint: 'Backups are named by the minute they are taken; run the backup again in a minute.',
    });
  }

  const exportStarted = Date.now();
  const file = options.source.kind === 'command' ? await runExport(options.source) : options.source.path;
  const exportSeconds = (Date.now() - exportStarted) / 1000;
  try {
    const size = await checkExport(file);
    section(`Uploading the StackGraph export (${size} bytes) as ${name} to bucket "${options.bucket}"`);
    const upload = await uploadFile(store, file, name);
    log(`backup ${name} complete: ${upload.size} bytes, sha256 ${upload.sha256}`);
    const record = await recordBackup(
      store,
      {
        target: STACKGRAPH_TARGET,
        name,
        takenAt: ctx.now().toUTC().toISO() ?? '',
        sizeBytes: upload.size,
        sha256: upload.sha256,
        counts: { elements: await elementsNow(options.countCommand) },
      },
      complete[0]?.name,
      'elements',
      options.shrinkShare,
    );
    await rm(file, { force: true }).catch((err) => log(`could not remove the export ${file}: ${messageOf(err)}`));

    section(`Applying retention (${options.retention.text}, keeping at least ${options.retention.minCount})`);
    let retention: PruneResult;
    try {
      retention = await pruneStore(store, options.retention, false, ctx);
    } catch (err) {
      throw new StackbackupError(`backup ${name} was uploaded, but retention failed: ${messageOf(err)}`, {
        exitCode: isStackbackupError(err) ? err.exitCode : ExitCode.failure,
        hint: 'The new backup is safe. Check the bucket with `stackbackup stackgraph prune --dry-run` and rerun it.',
        cause: err,
      });
    }
    if (retention.deleted.length === 0) log('retention: nothing to delete');
    return {
      name,
      bucket: options.bucket,
      size: upload.size,
      sha256: upload.sha256,
      exportSeconds,
      uploadSeconds: upload.seconds,
      retention,
      record,
    };
  } catch (err) {
    if (options.source.kind === 'command') await rm(file, { force: true });
    throw err;
  }
}
