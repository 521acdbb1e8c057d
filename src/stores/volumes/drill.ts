/**
 * `volumes drill`: proves a rotating sample of claims restores. Each run takes `--sample N` claims (in
 * name order, starting after the last claim of the previous drill's sample, wrapping around: every
 * claim once per cycle of runs; the rotation is read from the previous drill result), restores each
 * one's newest snapshot into a fresh scratch folder, compares its regular files and bytes with the
 * snapshot's record (restic's backup summary), then runs `restic check --read-data-subset` on the
 * repository. The scratch folder is removed whatever happens; the claims themselves are never touched.
 */
import { measureTree } from './tree.js';
import { join } from 'node:path';
import { text as optionText, wholeNumber } from '../../config/options.js';
import { parseResticTags } from '../../storage/layout.js';
import { ExitCode, StackbackupError, isStackbackupError, messageOf } from '../../util/errors.js';
import { log, section } from '../../util/log.js';
import { DEFAULT_SCRATCH_DIR, countCheck, runDrillSteps } from '../drill.js';
import { readBackupRecord, readLatestDrill, type DrillRecord } from '../records.js';
import type { StoreContext } from '../types.js';
import { validateRepository, type RepositoryRaw } from './backup.js';
import { parseReadDataSubset } from './check.js';
import { newestFirst, validateList } from './list.js';
import {
  ResticOutput,
  openRepository,
  plainResticCommand,
  repositoryOf,
  restic,
  snapshots,
  withLockRetry,
  type RepositoryOptions,
  type ResticSnapshot,
} from './restic.js';
import { DEFAULT_LOCK_WAIT_SECONDS } from './settings.js';

export const DEFAULT_SAMPLE = 3;
export const DEFAULT_DRILL_SUBSET = '1/10';

export interface DrillOptions {
  repository: RepositoryOptions;
  /** Claims restored per run. */
  sample: number;
  /** restic check --read-data-subset; undefined: a structure-only check. */
  readDataSubset: string | undefined;
  scratchDir: string;
  lockWaitSeconds: number;
}

export interface DrillRaw extends RepositoryRaw {
  sample?: unknown;
  readDataSubset?: unknown;
  scratchDir?: unknown;
  lockWaitSeconds?: unknown;
}

export function validateDrill(raw: DrillRaw): DrillOptions {
  return {
    repository: validateRepository(raw),
    sample: wholeNumber(raw.sample, '--sample', 1, 10_000, DEFAULT_SAMPLE),
    readDataSubset: parseReadDataSubset(raw.readDataSubset ?? DEFAULT_DRILL_SUBSET, '--read-data-subset'),
    scratchDir: optionText(raw.scratchDir, '--scratch-dir', DEFAULT_SCRATCH_DIR),
    lockWaitSeconds: wholeNumber(raw.lockWaitSeconds, '--lock-wait-seconds', 0, 86_400, DEFAULT_LOCK_WAIT_SECONDS),
  };
}

/**
 * This run's claims: `size` of them in name order, starting after `last` (the previous sample's last
 * claim), wrapping around, none twice.
 */
export function rotateSample(claims: readonly string[], last: string | undefined, size: number): string[] {
  const sorted = [...new Set(claims)].sort();
  const start = last === undefined ? 0 : sorted.findIndex((c) => c > last);
  const from = start < 0 ? 0 : start;
  return Array.from({ length: Math.min(size, sorted.length) }, (_, i) => sorted[(from + i) % sorted.length] ?? '');
}

export async function runDrill(options: DrillOptions, ctx: StoreContext): Promise<DrillRecord> {
  const startedAt = ctx.now();
  const repo = repositoryOf(ctx.storage, options.repository);
  await openRepository(repo, false);
  const newest = new Map<string, ResticSnapshot>();
  for (const s of newestFirst(await snapshots(repo))) {
    const { claim } = parseResticTags(s.tags);
    if (claim !== undefined && !newest.has(claim)) newest.set(claim, s);
  }
  if (newest.size === 0)
    throw new StackbackupError(`${repo.url} holds no volume snapshot of host ${repo.host} to drill`, {
      exitCode: ExitCode.notFound,
      hint: 'Drills start after the first scheduled volume backup.',
    });
  const { openStore } = await import('../../storage/open.js');
  const store = openStore(repo.storage, repo.bucket);
  const target = repo.prefix;
  const previous = await readLatestDrill(store, target);
  const previousClaims = previous?.details?.claims;
  const last = Array.isArray(previousClaims) ? previousClaims.map(String).pop() : undefined;
  const sample = rotateSample([...newest.keys()], last, options.sample);
  const picked = sample.map((claim) => ({ claim, snapshot: newest.get(claim) as ResticSnapshot }));
  log(
    `drill sample: ${sample.join(', ')} (${sample.length} of ${newest.size} claims${last === undefined ? '' : `, after ${last}`})`,
  );
  const spec = {
    store: 'volumes',
    target,
    backup: picked.map((p) => `${p.claim}@${p.snapshot.id.slice(0, 8)}`).join(', '),
    bucket: store,
    startedAt,
    scratchDir: options.scratchDir,
  } as const;
  return runDrillSteps(spec, async (steps) => {
    steps.details.claims = sample;
    steps.details.snapshots = picked.map((p) => p.snapshot.id);
    steps.details.readDataSubset = options.readDataSubset ?? null;
    let index = 0;
    for (const { claim, snapshot } of picked) {
      const folder = join(steps.scratch, String(index++));
      const shortId = snapshot.id.slice(0, 8);
      section(`Drill: restoring snapshot ${shortId} of claim ${claim} into the scratch folder ${folder}`);
      const recorded = await readBackupRecord(store, claim, snapshot.id);
      const output = new ResticOutput(`claim ${claim}: drill restore`);
      try {
        // A prune or check holding the repository makes the restore wait, not fail the drill.
        await withLockRetry(
          repo,
          `drill restore of claim ${claim}`,
          () => restic(repo, ['restore', snapshot.id, '--target', folder, '--json'], { onLine: output.onLine }),
          options.lockWaitSeconds,
        );
      } catch (err) {
        throw new StackbackupError(`snapshot ${shortId} of claim ${claim} did not restore: ${messageOf(err)}`, {
          exitCode: ExitCode.integrity,
          hint: `Check the repository with ${plainResticCommand(repo, 'check --read-data')}.`,
          cause: err,
        });
      }
      const { regularFiles: files, bytes } = await measureTree(folder);
      output.progress.update(bytes, bytes);
      output.progress.finish();
      steps.addBytes(bytes);
      const where = `the scratch restore of ${claim}@${shortId}`;
      const fileCheck = countCheck(`files:${claim}`, recorded?.counts.files, files, where);
      steps.check(fileCheck.check, fileCheck.reason);
      const byteCheck = countCheck(`bytes:${claim}`, recorded?.counts.bytes, bytes, where);
      steps.check(byteCheck.check, byteCheck.reason);
    }
    steps.restored();
    const subset = options.readDataSubset;
    section(`Drill: restic check${subset === undefined ? '' : ` --read-data-subset ${subset}`}`);
    try {
      await withLockRetry(
        repo,
        'drill check',
        () =>
          restic(repo, ['check', ...(subset === undefined ? [] : ['--read-data-subset', subset])], { logOutput: true }),
        options.lockWaitSeconds,
      );
      steps.check({ name: 'restic check', expected: subset ?? 'structure', found: 'no errors', ok: true });
    } catch (err) {
      if (!isStackbackupError(err) || err.exitCode !== ExitCode.failure) throw err;
      steps.check(
        { name: 'restic check', expected: subset ?? 'structure', found: 'errors', ok: false },
        `restic check${subset === undefined ? '' : ` --read-data-subset ${subset}`} found problems in ${repo.url}: see its output above`,
      );
    }
  });
}

/** The newest drill of the repository whose sample held claim TARGET (status and metrics). */
export async function latestDrill(
  raw: Parameters<typeof validateList>[0],
  target: string,
  ctx: StoreContext,
): Promise<DrillRecord | undefined> {
  const repo = repositoryOf(ctx.storage, validateList(raw).repository);
  const { openStore } = await import('../../storage/open.js');
  return readLatestDrill(openStore(repo.storage, repo.bucket), repo.prefix, (r) => {
    const claims = r.details?.claims;
    return Array.isArray(claims) && claims.map(String).includes(target);
  });
}
