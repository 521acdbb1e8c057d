/**
 * `stackgraph drill`: proves the newest complete backup restores. Downloads it (checksum verified),
 * imports it into a scratch instance of the tool (the drill import command, `{file}` the backup and
 * `{scratch}` a fresh scratch folder), counts the scratch instance's elements and compares them with the
 * backup's record. Live StackGraph is never touched; the scratch folder is removed whatever happens, and
 * the result is kept in the bucket (stackbackup-drills/stackgraph/...).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { optionalText, text as optionText } from '../../config/options.js';
import { downloadFile } from '../../storage/publish.js';
import { ExitCode, StackbackupError, fileError, messageOf, usageError } from '../../util/errors.js';
import { run } from '../../util/exec.js';
import { log, section } from '../../util/log.js';
import { readBackupRecord, writeDrillRecord, type DrillCheck, type DrillRecord } from '../records.js';
import type { StoreContext } from '../types.js';
import { scanBackups } from './list.js';
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
    scratchDir: optionText(raw.scratchDir, '--scratch-dir', '/tmp'),
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
  let scratch: string;
  try {
    scratch = await mkdtemp(join(options.scratchDir, 'stackbackup-drill-'));
  } catch (err) {
    throw fileError('creating the drill scratch folder in', options.scratchDir, err);
  }
  const checks: DrillCheck[] = [];
  let reason: string | null = null;
  let bytes = 0;
  const started = Date.now();
  let restoreSeconds = 0;
  try {
    section(`Drill: restoring ${backup.name} into the scratch instance ${scratch}`);
    const file = join(scratch, backup.name);
    try {
      const download = await downloadFile(store, backup.name, file);
      bytes = download.size;
      checks.push({ name: 'sha256', expected: recorded?.sha256 ?? null, found: download.sha256, ok: true });
      const [program = '', ...args] = withFile(inScratch(options.importCommand, scratch), file);
      await run(program, args, { hint: `The backup verified, so the scratch import failed: see its output above.` });
      restoreSeconds = (Date.now() - started) / 1000;
      const [countProgram = '', ...countArgs] = inScratch(options.countCommand, scratch);
      const counted = await run(countProgram, countArgs, { logOutput: false });
      const found = parseCount(counted.stdout, `the drill count command (${countProgram})`);
      const expected = recorded?.counts.elements;
      if (expected !== undefined && 'value' in expected) {
        const ok = expected.value === found;
        checks.push({ name: 'elements', expected: expected.value, found, ok });
        if (!ok) reason = `the scratch import holds ${found} elements, the backup's record says ${expected.value}`;
      } else {
        checks.push({ name: 'elements', expected: null, found, ok: found > 0 });
        if (found === 0) reason = 'the scratch import holds no elements';
        log(
          `no element count recorded for ${backup.name} (${expected?.unknown ?? 'no record'}); checked it is not empty`,
        );
      }
    } catch (err) {
      restoreSeconds = (Date.now() - started) / 1000;
      reason = messageOf(err);
      checks.push({ name: 'restore', expected: 'restored', found: 'failed', ok: false });
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  const record: DrillRecord = {
    store: 'stackgraph',
    target: STACKGRAPH_TARGET,
    backup: backup.name,
    startedAt: startedAt.toUTC().toISO() ?? '',
    restoreSeconds,
    bytes,
    checks,
    outcome: reason === null ? 'passed' : 'failed',
    reason,
  };
  const key = await writeDrillRecord(store, record, startedAt);
  log(`drill result kept as ${key}`);
  if (reason !== null)
    throw new StackbackupError(`the drill of ${backup.name} failed: ${reason}`, {
      exitCode: ExitCode.integrity,
      hint: 'Do not count on this backup: check the backup job log and the storage, and run the drill again after the next backup.',
    });
  return record;
}
