/**
 * `stackgraph restore NAME [-force]`: checks the name against the complete backups (an unknown one is
 * answered with the available ones), refuses a non-empty StackGraph unless -force (checked here, not
 * only by the store's own import tool), downloads the backup and verifies its SHA-256 before anything
 * is imported, then imports it.
 *
 * How emptiness is learnt: `command` runs the configured count command here (it prints the number of
 * stored elements); `file` reads that number from a file another container wrote (the chart runs the
 * count command in StackGraph's image); `none` means nothing can tell, which only -force overrides.
 *
 * What happens to the verified download: `import` runs the import tool here (util/exec, argument array);
 * `file` leaves it at a path for the next container or Job (the chart's import Job, in StackGraph's image).
 */
import { mkdir, readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { checkName } from '../../config/names.js';
import { optionalText, text as optionText } from '../../config/options.js';
import { downloadFile } from '../../storage/publish.js';
import { ExitCode, StackbackupError, codeOf, fileError, usageError } from '../../util/errors.js';
import { run } from '../../util/exec.js';
import { log, section } from '../../util/log.js';
import type { StoreContext } from '../types.js';
import { scanBackups } from './list.js';
import { DEFAULT_FORCE_FLAG, VALUES, openBucket, parseBucket, parseCommand, withFile } from './settings.js';

export type EmptinessCheck = { kind: 'command'; command: string[] } | { kind: 'file'; path: string } | { kind: 'none' };

export type RestoreTarget =
  { kind: 'import'; command: string[]; forceFlag: string; workDir: string } | { kind: 'file'; path: string };

export interface RestoreOptions {
  bucket: string;
  name: string;
  force: boolean;
  check: EmptinessCheck;
  target: RestoreTarget;
}

export interface RestoreResult {
  name: string;
  bucket: string;
  size: number;
  sha256: string;
  /** Elements StackGraph held before, when known. */
  elementsBefore: number | undefined;
  /** Elements after the import, when known (import mode with a count command). */
  elementsAfter: number | undefined;
  /** Where the verified backup was left (file mode), or undefined once imported. */
  file: string | undefined;
  imported: boolean;
}

/** The commands operators run, for hints: the script from a checkout, else the CLI. */
export function restoreCommand(name: string, force: boolean): string {
  return `./restore/restore-stackgraph-backup.sh ${name}${force ? ' -force' : ''}`;
}

export function validateRestore(raw: {
  bucket?: unknown;
  name?: unknown;
  force?: unknown;
  countCommand?: unknown;
  countFile?: unknown;
  importCommand?: unknown;
  forceFlag?: unknown;
  downloadTo?: unknown;
  workDir?: unknown;
}): RestoreOptions {
  const bucket = parseBucket(raw.bucket);
  const name = checkName('backupName', String(raw.name ?? ''), 'NAME');
  const countCommand = optionalText(raw.countCommand, `--count-command (${VALUES.countCommand})`);
  const countFile = optionalText(raw.countFile, '--count-file');
  if (countCommand !== undefined && countFile !== undefined)
    throw usageError('give at most one of --count-command and --count-file');
  const check: EmptinessCheck =
    countCommand !== undefined
      ? { kind: 'command', command: parseCommand(countCommand, '--count-command') }
      : countFile !== undefined
        ? { kind: 'file', path: countFile }
        : { kind: 'none' };
  const importCommand = optionalText(raw.importCommand, `--import-command (${VALUES.importCommand})`);
  const downloadTo = optionalText(raw.downloadTo, '--download-to');
  if ((importCommand === undefined) === (downloadTo === undefined)) {
    throw usageError(
      'give exactly one of --import-command and --download-to',
      `--import-command runs the import tool here (${VALUES.importCommand}); --download-to leaves the verified backup for another container to import.`,
    );
  }
  const forceFlag = optionText(raw.forceFlag, '--force-flag', DEFAULT_FORCE_FLAG);
  const target: RestoreTarget =
    importCommand !== undefined
      ? {
          kind: 'import',
          command: parseCommand(importCommand, '--import-command'),
          forceFlag,
          workDir: optionText(raw.workDir, '--work-dir', '.'),
        }
      : { kind: 'file', path: downloadTo ?? '' };
  return { bucket, name, force: raw.force === true, check, target };
}

/** Parses what a count command printed: its last non-empty line, a whole number. */
export function parseCount(output: string, source: string): number {
  const last = output.trim().split('\n').pop()?.trim() ?? '';
  if (!/^[0-9]+$/.test(last)) {
    throw new StackbackupError(
      `${source} printed ${JSON.stringify(last.slice(0, 80))} where the number of stored elements was expected`,
      {
        hint: `The count command (${VALUES.countCommand}) must print the number of elements in StackGraph as its last line.`,
      },
    );
  }
  return Number(last);
}

async function countElements(check: EmptinessCheck): Promise<number | undefined> {
  if (check.kind === 'none') return undefined;
  if (check.kind === 'command') {
    const [program = '', ...args] = check.command;
    const result = await run(program, args, {
      logOutput: false,
      hint: `Check the count command (${VALUES.countCommand}) and that StackGraph is reachable.`,
    });
    return parseCount(result.stdout, `the count command (${program})`);
  }
  try {
    return parseCount(await readFile(check.path, 'utf8'), `the count file ${check.path}`);
  } catch (err) {
    if (err instanceof StackbackupError) throw err;
    if (codeOf(err) === 'ENOENT') {
      throw new StackbackupError(`the count file ${check.path} does not exist: the count step did not run or failed`, {
        hint: `Check the count command (${VALUES.countCommand}) in the job's "count" container logs.`,
      });
    }
    throw fileError('reading', check.path, err);
  }
}

export async function runRestore(options: RestoreOptions, ctx: StoreContext): Promise<RestoreResult> {
  const { name, force } = options;
  const store = await openBucket(ctx.storage, options.bucket, false);

  // 1. The name must be a complete backup; otherwise say which ones there are.
  const { complete, incomplete } = await scanBackups(store);
  const backup = complete.find((b) => b.name === name);
  if (backup === undefined) {
    if (incomplete.some((b) => b.name === name)) {
      throw new StackbackupError(
        `backup ${name} is incomplete: its upload was cut off and it has no published checksum`,
        {
          exitCode: ExitCode.integrity,
          hint: 'Pick another backup: ./restore/list-stackgraph-backups.sh. Retention removes incomplete leftovers.',
        },
      );
    }
    const available = complete.map((b) => `  ${b.name}`).join('\n');
    throw new StackbackupError(
      complete.length === 0
        ? `backup ${name} does not exist: bucket "${options.bucket}" holds no StackGraph backups`
        : `backup ${name} does not exist in bucket "${options.bucket}". Available backups, newest first:\n${available}`,
      {
        exitCode: ExitCode.notFound,
        hint:
          complete.length === 0
            ? `Check ${VALUES.bucket}; scheduled backups appear after the first run of the CronJob.`
            : `Restore one of them: ${restoreCommand(complete[0]?.name ?? 'NAME', force)}`,
      },
    );
  }

  // 2. Our own emptiness check, before anything is downloaded or replaced.
  section(`Checking whether StackGraph is empty`);
  const before = await countElements(options.check);
  if (before === undefined) {
    if (!force) {
      throw new StackbackupError(
        `cannot tell whether StackGraph is empty: no count command is configured (${VALUES.countCommand})`,
        {
          exitCode: ExitCode.conflict,
          hint: `Set ${VALUES.countCommand}, or, to replace whatever StackGraph holds, rerun with -force: ${restoreCommand(name, true)}`,
        },
      );
    }
    log('emptiness not checked (no count command); -force given: the backup replaces whatever StackGraph holds');
  } else if (before > 0) {
    if (!force) {
      throw new StackbackupError(
        `StackGraph is not empty: it holds ${before} elements, which restoring ${name} would replace`,
        {
          exitCode: ExitCode.conflict,
          hint: `To replace them, rerun with -force: ${restoreCommand(name, true)}. To keep them, restore into an empty StackGraph instead.`,
        },
      );
    }
    log(`StackGraph holds ${before} elements; -force given: they will be replaced`);
  } else {
    log('StackGraph is empty');
  }

  // 3. Download and verify: the file only appears once its SHA-256 matches the published one.
  const file = options.target.kind === 'file' ? options.target.path : join(options.target.workDir, name);
  try {
    await mkdir(dirname(file), { recursive: true });
  } catch (err) {
    throw fileError('creating the folder of', file, err);
  }
  section(`Downloading ${name} (${backup.size} bytes) from bucket "${options.bucket}" and verifying its checksum`);
  const download = await downloadFile(store, name, file);
  log(`verified ${name}: sha256 ${download.sha256}`);

  if (options.target.kind === 'file') {
    return {
      name,
      bucket: options.bucket,
      size: download.size,
      sha256: download.sha256,
      elementsBefore: before,
      elementsAfter: undefined,
      file,
      imported: false,
    };
  }

  // 4. Import.
  const target = options.target;
  const [program = '', ...args] = [...withFile(target.command, file), ...(force ? [target.forceFlag] : [])];
  section(`Importing ${name}: ${program} ${args.join(' ')}`);
  try {
    await run(program, args, {
      hint: `The backup was verified, so the import tool failed on its own: see its output above. StackGraph may be partly restored; fix the cause and rerun: ${restoreCommand(name, true)}`,
    });
  } finally {
    await rm(file, { force: true });
  }
  const after = options.check.kind === 'command' ? await countElements(options.check) : undefined;
  return {
    name,
    bucket: options.bucket,
    size: download.size,
    sha256: download.sha256,
    elementsBefore: before,
    elementsAfter: after,
    file: undefined,
    imported: true,
  };
}
