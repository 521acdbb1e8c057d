/**
 * `stackgraph drill`: proves the newest complete backup restores. Downloads it (checksum verified),
 * imports it into a scratch instance of the tool (the drill import command, `{file}` the backup and
 * `{scratch}` a fresh scratch folder), counts the scratch instance's elements and compares them with the
 * backup's record. Live StackGraph is never touched; the scratch folder is removed whatever happens, and
 * the result is kept in the bucket (stackbackup-drills/stackgraph/...).
 */
import { join } from 'node:path';
import { optionalText, text as optionText } from '../../config/options.js';
import { DEFAULT_SCRATCH_DIR, countCheck, runDrillSteps } from '../drill.js';
import { downloadFile } from '../../storage/publish.js';
import { ExitCode, StackbackupError, usageError } from '../../util/errors.js';
import { run } from '../../util/exec.js';
import { section } from '../../util/log.js';
import { openStore } from '../../storage/open.js';
import { readBackupRecord, readLatestDrill, type DrillRecord } from '../records.js';
import type { StoreContext } from '../types.js';
import { scanBackups, validateList } from './list.js';
import { STACKGRAPH_TARGET } from './report.js';
import { parseCount } from './restore.js';
import { VALUES, openBucket, parseBucket, parseCommand, withFile } from './settings.js';

export const SCRATCH_PLACEHOLDER = '{scratch}';

export interface DrillOptions {
  bucket: string;
  importCommand: string[];
  countCommand: string[];
  /** Folder the scratch folders are made in. */
  scratchDir: string;
}

export function validateDrill(raw: {
  bucket?: unknown;
  importCommand?: unknown;
  countCommand?: unknown;
  scratchDir?: unknown;
}): DrillOptions {
  const importText = optionalText(raw.importCommand, '--import-command');
  const countText = optionalText(raw.countCommand, '--count-command');
  if (importText === undefined || countText === undefined)
    throw usageError(
      'a StackGraph drill needs --import-command and --count-command for a scratch instance',
      `Give --import-command and --count-command (the chart has no drill values yet); ${SCRATCH_PLACEHOLDER} marks the scratch folder, {file} the backup. Example: ["sts-graph-standin","-db","{scratch}/graph.db","-import","{file}"].`,
    );
  const importCommand = parseCommand(importText, '--import-command');
  const countCommand = parseCommand(countText, '--count-command');
  if (![...importCommand, ...countCommand].some((w) => w.includes(SCRATCH_PLACEHOLDER)))
    throw usageError(
      `the drill commands do not name the scratch instance (${SCRATCH_PLACEHOLDER})`,
      'A drill must never import into live StackGraph: point both commands at {scratch}.',
    );
  return {
    bucket: parseBucket(raw.bucket),
    importCommand,
    countCommand,
    scratchDir: optionText(raw.scratchDir, '--scratch-dir', DEFAULT_SCRATCH_DIR),
  };
}

const inScratch = (command: readonly string[], scratch: string) =>
  command.map((w) => w.split(SCRATCH_PLACEHOLDER).join(scratch));

export async function runDrill(options: DrillOptions, ctx: StoreContext): Promise<DrillRecord> {
  const startedAt = ctx.now();
  const store = await openBucket(ctx.storage, options.bucket, false);
  const { complete } = await scanBackups(store);
  const backup = complete[0];
  if (backup === undefined)
    throw new StackbackupError(`bucket "${options.bucket}" holds no complete StackGraph backup to drill`, {
      exitCode: ExitCode.notFound,
      hint: `Check ${VALUES.bucket}; drills start after the first scheduled backup.`,
    });
  const recorded = await readBackupRecord(store, STACKGRAPH_TARGET, backup.name);
  const spec = {
    store: 'stackgraph',
    target: STACKGRAPH_TARGET,
    backup: backup.name,
    bucket: store,
    startedAt,
    scratchDir: options.scratchDir,
  } as const;
  return runDrillSteps(spec, async (steps) => {
    section(`Drill: restoring ${backup.name} into the scratch instance ${steps.scratch}`);
    const file = join(steps.scratch, backup.name);
    const download = await downloadFile(store, backup.name, file);
    steps.addBytes(download.size);
    steps.check({ name: 'sha256', expected: recorded?.sha256 ?? null, found: download.sha256, ok: true });
    const [program = '', ...args] = withFile(inScratch(options.importCommand, steps.scratch), file);
    await run(program, args, { hint: `The backup verified, so the scratch import failed: see its output above.` });
    steps.restored();
    const [countProgram = '', ...countArgs] = inScratch(options.countCommand, steps.scratch);
    const counted = await run(countProgram, countArgs, { logOutput: false });
    const found = parseCount(counted.stdout, `the drill count command (${countProgram})`);
    const { check, reason } = countCheck('elements', recorded?.counts.elements, found, 'the scratch import');
    steps.check(check, reason);
  });
}

/** The newest StackGraph drill result in the list options' bucket (status and metrics). */
export function latestDrill(
  raw: { bucket?: unknown },
  _target: string,
  ctx: StoreContext,
): Promise<DrillRecord | undefined> {
  return readLatestDrill(openStore(ctx.storage, validateList(raw).bucket), STACKGRAPH_TARGET);
}
