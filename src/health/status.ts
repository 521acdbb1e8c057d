/**
 * The health of every configured backup target, from what is in the bucket (the store's list verb,
 * through the shared BackupList view) and the Jobs and CronJobs of the Kubernetes API; never from a
 * job's log lines. status prints it; the metrics exporter serves it.
 *
 * State, first that applies:
 *   paused   the target is paused (value or suspended CronJob)
 *   failing  the bucket or endpoint could not be read, or the last finished run failed
 *   never    no complete backup
 *   stale    the newest complete backup is older than twice the schedule's interval
 *   ok
 */
import type { DateTime } from 'luxon';
import { nextFireTime, parseSchedule, scheduleIntervalSeconds, type Schedule } from '../config/schedule.js';
import { loadKubeAccess } from '../kube/client.js';
import { listCronJobs, listJobRuns, type CronJobSummary, type JobRun } from '../kube/jobs.js';
import { withSharedListings } from '../storage/shared-listings.js';
import { storeEntry } from '../stores/registry.js';
import type { BackupEntry, StoreContext, StoreName } from '../stores/types.js';
import type { DrillRecord } from '../stores/records.js';
import { ExitCode, isStackbackupError, messageOf, type ExitCodeValue } from '../util/errors.js';
import { claimsMatching } from '../kube/claims.js';
import type { ClaimSelectorConfig, TargetConfig, TargetsConfig } from './targets.js';

export const STATES = ['ok', 'stale', 'failing', 'never', 'paused'] as const;
export type TargetState = (typeof STATES)[number];

/** The annotation the volume dispatcher puts on each claim's backup Job. */
const CLAIM_ANNOTATION = 'stackbackup.io/claim';

export interface LastRun {
  job: string;
  result: 'succeeded' | 'failed' | 'running';
  startedAt: string | null;
  finishedAt: string | null;
  durationSeconds: number | null;
}

export interface TargetStatus {
  store: StoreName;
  target: string;
  state: TargetState;
  /** Why, for people. */
  reason: string;
  location: string | null;
  newest: { name: string; takenAt: string | null; ageSeconds: number | null; sizeBytes: number | null } | null;
  /** Complete backups kept. */
  backups: number;
  /** Incomplete leftovers (never restorable). */
  incomplete: number;
  /** Bytes of the complete backups, where the store knows them. */
  totalBytes: number | null;
  lastRun: LastRun | null;
  /** The newest run that finished successfully (for the metrics). */
  lastSuccessfulRun: LastRun | null;
  nextRun: string | null;
  schedule: string | null;
  intervalSeconds: number | null;
  paused: boolean;
  /** The store could not be read: message and the exit code kind (unreachable, credentials, ...). */
  error: { message: string; exitCode: ExitCodeValue; kind: string } | null;
  /** Retention preview (dry run), when the target configures one. */
  retention: { wouldDelete: number; of: number } | null;
  /** Seconds the list (and preview) took. */
  scanSeconds: number;
  /** The newest restore drill that covered the target (./restore/drill.sh, the drill CronJobs); null: never drilled. */
  drill: DrillStatus | null;
}

export interface DrillStatus {
  backup: string;
  startedAt: string;
  ageSeconds: number | null;
  outcome: 'passed' | 'failed';
  reason: string | null;
  restoreSeconds: number;
  bytes: number;
}

export interface StatusReport {
  generatedAt: string;
  ok: boolean;
  targets: TargetStatus[];
}

export interface StatusInputs {
  ctx: StoreContext;
  /**
   * Jobs, CronJobs and the claims each claimSelector picks (by selector); undefined when no target
   * names a CronJob or a selector (no Kubernetes API needed).
   */
  kube: { jobs: JobRun[]; cronJobs: CronJobSummary[]; claims: Record<string, string[]> } | undefined;
}

const EXIT_KIND: Record<number, string> = {
  [ExitCode.unreachable]: 'unreachable',
  [ExitCode.credentials]: 'credentials',
  [ExitCode.bucketMissing]: 'bucket_missing',
  [ExitCode.notFound]: 'not_found',
  [ExitCode.usage]: 'configuration',
};

function toRun(j: JobRun): LastRun {
  return {
    job: j.name,
    result: j.result,
    startedAt: j.startedAt,
    finishedAt: j.finishedAt,
    durationSeconds: j.durationSeconds,
  };
}

/** The target's Jobs, newest first. */
export function runsOf(config: TargetConfig, jobs: readonly JobRun[]): JobRun[] {
  const mine = jobs.filter((j) =>
    config.claimJobs ? j.annotations[CLAIM_ANNOTATION] === config.target : j.cronJob === config.cronJob,
  );
  const when = (j: JobRun) => Date.parse(j.startedAt ?? j.createdAt) || 0;
  return mine.sort((a, b) => when(b) - when(a) || b.name.localeCompare(a.name));
}

/** Derives the state from the facts; pure, so that the rules are tested on their own. */
export function deriveState(facts: {
  paused: boolean;
  error: string | null;
  lastRun: LastRun | null;
  newestAgeSeconds: number | null | undefined;
  intervalSeconds: number | null;
}): { state: TargetState; reason: string } {
  if (facts.paused) return { state: 'paused', reason: 'scheduled backups are paused' };
  if (facts.error !== null) return { state: 'failing', reason: facts.error };
  if (facts.lastRun?.result === 'failed')
    return { state: 'failing', reason: `the last run (${facts.lastRun.job}) failed` };
  if (facts.newestAgeSeconds === undefined) return { state: 'never', reason: 'no complete backup' };
  if (facts.intervalSeconds !== null && facts.newestAgeSeconds !== null) {
    const limit = 2 * facts.intervalSeconds;
    if (facts.newestAgeSeconds > limit)
      return {
        state: 'stale',
        reason: `newest complete backup is ${Math.round(facts.newestAgeSeconds / 3600)} h old, more than twice the schedule's interval (${Math.round(limit / 3600)} h)`,
      };
  }
  return { state: 'ok', reason: 'a recent complete backup' };
}

function ageSeconds(entry: BackupEntry, now: DateTime): number | null {
  if (entry.takenAt === null) return null;
  return Math.max(0, (now.toMillis() - Date.parse(entry.takenAt)) / 1000);
}

export async function targetStatus(config: TargetConfig, inputs: StatusInputs): Promise<TargetStatus> {
  const now = inputs.ctx.now();
  const started = process.hrtime.bigint();
  const cronJob =
    config.cronJob === undefined ? undefined : inputs.kube?.cronJobs.find((c) => c.name === config.cronJob);
  let schedule: Schedule | undefined = config.schedule;
  if (schedule === undefined && cronJob !== undefined && cronJob.schedule !== '') {
    try {
      schedule = parseSchedule(cronJob.schedule, 'kubernetes', `CronJob ${cronJob.name}`);
    } catch {
      schedule = undefined;
    }
  }
  const paused = config.paused || cronJob?.suspended === true;
  const runs = inputs.kube === undefined ? [] : runsOf(config, inputs.kube.jobs);
  const lastRunJob = runs.find((r) => r.result !== 'running') ?? runs[0];
  const lastRun = lastRunJob === undefined ? null : toRun(lastRunJob);
  const lastSuccess = runs.find((r) => r.result === 'succeeded');

  let error: TargetStatus['error'] = null;
  let backups: BackupEntry[] = [];
  let incomplete = 0;
  let location: string | null = null;
  let retention: TargetStatus['retention'] = null;
  let drill: DrillRecord | undefined;
  try {
    const store = await storeEntry(config.store).load();
    // The list and the retention preview read the same objects: one listing serves both.
    await withSharedListings(async () => {
      const list = await store.listBackups(config.list, inputs.ctx);
      location = list.location;
      backups = list.backups.filter((b) => b.target === config.target);
      incomplete = list.incomplete.filter((b) => b.target === config.target).length;
      if (config.prune !== undefined) {
        const report = await store.dryRunPrune(config.prune, inputs.ctx);
        const mine = report.decisions.filter((d) => d.target === config.target);
        retention = { wouldDelete: mine.filter((d) => d.action === 'delete').length, of: mine.length };
      }
      // A drill result that cannot be read leaves the row without one; the backups are what the state is about.
      drill = await store.latestDrill(config.list, config.target, inputs.ctx).catch(() => undefined);
    });
  } catch (err) {
    const exitCode = isStackbackupError(err) ? err.exitCode : ExitCode.failure;
    error = { message: messageOf(err), exitCode, kind: EXIT_KIND[exitCode] ?? 'error' };
  }
  const newestEntry = backups[0];
  const newestAge = newestEntry === undefined ? undefined : ageSeconds(newestEntry, now);
  const interval = schedule === undefined ? undefined : scheduleIntervalSeconds(schedule, now);
  const { state, reason } = deriveState({
    paused,
    error: error === null ? null : `cannot read the backups: ${error.message}`,
    lastRun,
    newestAgeSeconds: newestAge,
    intervalSeconds: interval ?? null,
  });
  const sizes = backups.map((b) => b.sizeBytes);
  const next = schedule === undefined || paused ? undefined : nextFireTime(schedule, now);
  return {
    store: config.store,
    target: config.target,
    state,
    reason,
    location,
    newest:
      newestEntry === undefined
        ? null
        : {
            name: newestEntry.name,
            takenAt: newestEntry.takenAt,
            ageSeconds: newestAge ?? null,
            sizeBytes: newestEntry.sizeBytes,
          },
    backups: backups.length,
    incomplete,
    totalBytes: sizes.length > 0 && sizes.every((s) => s !== null) ? sizes.reduce((a, b) => a + (b ?? 0), 0) : null,
    lastRun,
    lastSuccessfulRun: lastSuccess === undefined ? null : toRun(lastSuccess),
    nextRun: next?.toISO({ suppressMilliseconds: true }) ?? null,
    schedule: schedule?.expression ?? null,
    intervalSeconds: interval ?? null,
    paused,
    error,
    retention,
    scanSeconds: Number(process.hrtime.bigint() - started) / 1e9,
    drill: drill === undefined ? null : drillStatus(drill, now),
  };
}

function drillStatus(r: DrillRecord, now: DateTime): DrillStatus {
  const at = Date.parse(r.startedAt);
  return {
    backup: r.backup,
    startedAt: r.startedAt,
    ageSeconds: Number.isNaN(at) ? null : Math.max(0, (now.toMillis() - at) / 1000),
    outcome: r.outcome,
    reason: r.reason,
    restoreSeconds: r.restoreSeconds,
    bytes: r.bytes,
  };
}

/** Reads the Jobs, CronJobs and selected claims when any target needs them (a CronJob, claim Jobs, a selector). */
export async function kubeInputs(config: TargetsConfig, namespace?: string): Promise<StatusInputs['kube']> {
  const needed = config.claimSelectors.length > 0 || config.targets.some((t) => t.cronJob !== undefined || t.claimJobs);
  if (!needed) return undefined;
  const access = await loadKubeAccess(namespace);
  const [jobs, cronJobs, claims] = await Promise.all([
    listJobRuns(access),
    listCronJobs(access),
    Promise.all(
      config.claimSelectors.map(
        async (c) => [c.selector, (await claimsMatching(access, c.selector)).map((x) => x.metadata.name)] as const,
      ),
    ),
  ]);
  return { jobs, cronJobs, claims: Object.fromEntries(claims) };
}

/**
 * The targets to report: those named, then for each claimSelector the claims it picks (sorted) that are
 * not named already, each with the selector's options and its claim.
 */
export function expandTargets(config: TargetsConfig, kube: StatusInputs['kube']): TargetConfig[] {
  const out = [...config.targets];
  const known = new Set(out.map((t) => `${t.store}/${t.target}`));
  for (const sel of config.claimSelectors) {
    for (const claim of [...(kube?.claims[sel.selector] ?? [])].sort()) {
      if (known.has(`volumes/${claim}`)) continue;
      known.add(`volumes/${claim}`);
      const { selector: _selector, ...options } = sel;
      out.push({ ...options, target: claim, list: { ...sel.list, claim } });
    }
  }
  return out;
}

/** The row of a claimSelector that picks no claim: nothing is backed up through it. */
function unmatchedSelector(sel: ClaimSelectorConfig): TargetStatus {
  return {
    store: 'volumes',
    target: `claimSelector ${sel.selector}`,
    state: sel.paused ? 'paused' : 'never',
    reason: `no claim in the namespace matches claimSelector ${sel.selector}`,
    location: null,
    newest: null,
    backups: 0,
    incomplete: 0,
    totalBytes: null,
    lastRun: null,
    lastSuccessfulRun: null,
    nextRun: null,
    schedule: sel.schedule?.expression ?? null,
    intervalSeconds: null,
    paused: sel.paused,
    error: null,
    retention: null,
    scanSeconds: 0,
    drill: null,
  };
}

/** The status of every target (in the order configured); one target's failure never hides another's. */
export async function collectStatus(config: TargetsConfig, inputs: StatusInputs): Promise<StatusReport> {
  const targets = await Promise.all(expandTargets(config, inputs.kube).map((t) => targetStatus(t, inputs)));
  for (const sel of config.claimSelectors)
    if ((inputs.kube?.claims[sel.selector] ?? []).length === 0) targets.push(unmatchedSelector(sel));
  return {
    generatedAt: inputs.ctx.now().toUTC().toISO({ suppressMilliseconds: true }) ?? '',
    ok: targets.every((t) => t.state === 'ok'),
    targets,
  };
}
