/**
 * What every store's restore drill shares: the scratch folder (made fresh, removed whatever happens),
 * the clock of the restore, the checks against the backup's record, the cleanup of scratch targets
 * (a scratch Victoria Metrics process, drill indices), the drill result kept in the bucket
 * (records.ts) and the failure every drill ends with. A store's drill only says what to restore where
 * and what to count.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { DateTime } from 'luxon';
import type { ObjectStore } from '../storage/types.js';
import { ExitCode, StackbackupError, fileError, messageOf } from '../util/errors.js';
import { log, warn } from '../util/log.js';
import { writeDrillRecord, type Counted, type DrillCheck, type DrillRecord } from './records.js';
import type { StoreName } from './types.js';

/** Where scratch folders are made unless --scratch-dir says otherwise. */
export const DEFAULT_SCRATCH_DIR = '/tmp';
/** The start of every scratch folder's name (a local folder, never an object key). */
export const SCRATCH_FOLDER_PREFIX = 'stackbackup-drill-';

export interface DrillSpec {
  store: StoreName;
  target: string;
  backup: string;
  /** The bucket the drill result is kept in. */
  bucket: ObjectStore;
  startedAt: DateTime;
  /** Folder the scratch folder is made in; undefined when the drill restores into no local folder. */
  scratchDir: string | undefined;
}

/** What a drill's body gets: its scratch folder and the ways to report what it found. */
export interface DrillSteps {
  /** A fresh, empty folder of this drill ('' when the drill has none). */
  readonly scratch: string;
  /** Adds a check; a failed one fails the drill, with `reason` (the first failure's reason is kept). */
  check(check: DrillCheck, reason?: string): void;
  /** Counts restored bytes. */
  addBytes(bytes: number): void;
  /** The restore is done: stops the restore clock (else it stops when the body ends). */
  restored(): void;
  /** Runs when the drill ends, whatever happens, newest first, before the scratch folder is removed. */
  onCleanup(what: string, cleanup: () => Promise<void>): void;
  /** Store-specific details kept with the result. */
  details: Record<string, unknown>;
}

/** Makes the scratch folder; a drill that cannot says where and writes nothing. */
export async function makeScratch(scratchDir: string): Promise<string> {
  try {
    return await mkdtemp(join(scratchDir, SCRATCH_FOLDER_PREFIX));
  } catch (err) {
    const failure = fileError('creating the drill scratch folder in', scratchDir, err);
    throw new StackbackupError(`no drill scratch folder: ${failure.message}`, {
      exitCode: failure.exitCode,
      hint: `Give --scratch-dir a writable folder with room for one restore (nothing was restored, no result was written).${failure.hint ? ` ${failure.hint}` : ''}`,
      cause: err,
    });
  }
}

/**
 * Runs a drill: makes the scratch folder, runs the body, runs every cleanup and removes the folder
 * whatever happens, keeps the result in the bucket and answers it; a failed drill (a failed check, a
 * failed restore, a failed cleanup) throws exit code 7 after its result is kept.
 */
export async function runDrillSteps(spec: DrillSpec, body: (steps: DrillSteps) => Promise<void>): Promise<DrillRecord> {
  const scratch = spec.scratchDir === undefined ? '' : await makeScratch(spec.scratchDir);
  const checks: DrillCheck[] = [];
  const cleanups: { what: string; cleanup: () => Promise<void> }[] = [];
  const details: Record<string, unknown> = {};
  let reason: string | null = null;
  let bytes = 0;
  const started = Date.now();
  let restoreSeconds: number | undefined;
  const fail = (why: string) => {
    reason ??= why;
  };
  const steps: DrillSteps = {
    scratch,
    check: (check, why) => {
      checks.push(check);
      if (!check.ok) fail(why ?? `check ${check.name} failed: expected ${check.expected}, found ${check.found}`);
    },
    addBytes: (n) => {
      bytes += n;
    },
    restored: () => {
      restoreSeconds ??= (Date.now() - started) / 1000;
    },
    onCleanup: (what, cleanup) => {
      cleanups.push({ what, cleanup });
    },
    details,
  };
  try {
    await body(steps);
  } catch (err) {
    checks.push({ name: 'restore', expected: 'restored', found: 'failed', ok: false });
    fail(messageOf(err));
  } finally {
    steps.restored();
    for (const { what, cleanup } of cleanups.reverse()) {
      try {
        await cleanup();
      } catch (err) {
        warn(`drill cleanup (${what}) failed: ${messageOf(err)}`);
        checks.push({ name: 'cleanup', expected: what, found: 'failed', ok: false });
        fail(`could not clean up ${what}: ${messageOf(err)}; remove it by hand`);
      }
    }
    if (scratch !== '') await rm(scratch, { recursive: true, force: true });
  }
  const record: DrillRecord = {
    store: spec.store,
    target: spec.target,
    backup: spec.backup,
    startedAt: spec.startedAt.toUTC().toISO() ?? '',
    restoreSeconds: restoreSeconds ?? 0,
    bytes,
    checks,
    outcome: reason === null ? 'passed' : 'failed',
    reason,
    ...(Object.keys(details).length > 0 ? { details } : {}),
  };
  const key = await writeDrillRecord(spec.bucket, record, spec.startedAt);
  log(`drill result kept as ${key}`);
  if (reason !== null)
    throw new StackbackupError(`the drill of ${spec.backup} failed: ${reason as string}`, {
      exitCode: ExitCode.integrity,
      hint: 'Do not count on this backup: check the backup job log and the storage, and run the drill again after the next backup.',
    });
  return record;
}

/**
 * Compares what a scratch restore holds with what the backup's record says: equal to a value, inside a
 * range; when the record does not tell (or there is none), the restore must at least not be empty.
 * `where` names the scratch target in the reason.
 */
export function countCheck(
  name: string,
  expected: Counted | undefined,
  found: number,
  where: string,
): { check: DrillCheck; reason: string } {
  if (expected !== undefined && 'value' in expected)
    return {
      check: { name, expected: expected.value, found, ok: expected.value === found },
      reason: `${where} holds ${found} ${name}, the backup's record says ${expected.value}`,
    };
  if (expected !== undefined && 'atLeast' in expected)
    return {
      check: {
        name,
        expected: `${expected.atLeast}..${expected.atMost}`,
        found,
        ok: found >= expected.atLeast && found <= expected.atMost,
      },
      reason: `${where} holds ${found} ${name}, the backup's record says ${expected.atLeast} to ${expected.atMost} (${expected.why})`,
    };
  log(`${name}: not recorded (${expected?.unknown ?? 'no record'}); checked that ${where} is not empty`);
  return { check: { name, expected: null, found, ok: found > 0 }, reason: `${where} holds no ${name}` };
}

/** A free TCP port on loopback for a scratch server (the kernel picks it; released before the server binds). */
export async function freeLoopbackPort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
