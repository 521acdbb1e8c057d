/**
 * `victoria-metrics drill`: proves the newest complete version of an instance restores. vmrestore
 * writes it into a fresh scratch folder, a scratch `victoria-metrics` process (loopback, a free port,
 * little memory, nothing ever deleted by retention) serves it, its series count is compared with the
 * version's record and one series' samples are read back; then the process is stopped and the folder
 * removed, whatever happens. The live instance and its volume are never touched.
 */
import { join } from 'node:path';
import { wholeNumber } from '../../config/options.js';
import { ensureBucket, openStore } from '../../storage/open.js';
import { ExitCode, StackbackupError, isStackbackupError, messageOf } from '../../util/errors.js';
import { run, startProgram } from '../../util/exec.js';
import { log, section } from '../../util/log.js';
import { DEFAULT_SCRATCH_DIR, countCheck, freeLoopbackPort, runDrillSteps, type DrillSteps } from '../drill.js';
import { readBackupRecord, readLatestDrill, type DrillRecord } from '../records.js';
import { validateList, type ListRaw } from './list.js';
import type { StoreContext } from '../types.js';
import { confirmRestored } from './restore.js';
import { endpoint, seriesCount, waitHealthy } from './instance.js';
import { bucketName, instanceName } from './options.js';
import { listVersions, newestComplete } from './versions.js';
import { parseRestoreSummary, remoteAccess, remoteUrl, runVmrestore, vmrestoreArgs } from './vmtools.js';
import { text as optionText } from '../../config/options.js';

/** The server program; where STACKBACKUP_VICTORIA_METRICS points, else `victoria-metrics` from PATH. */
const server = (): string => process.env.STACKBACKUP_VICTORIA_METRICS || 'victoria-metrics';

export interface DrillOptions {
  instance: string;
  bucket: string;
  scratchDir: string;
  /** Memory the scratch process may use for its caches (-memory.allowedBytes), MiB. */
  memoryMiB: number;
  /** How long the scratch process may take to answer. */
  startSeconds: number;
}

export interface DrillRaw {
  instance?: unknown;
  bucket?: unknown;
  scratchDir?: unknown;
  memoryMib?: unknown;
  startSeconds?: unknown;
}

export function validateDrill(raw: DrillRaw): DrillOptions {
  return {
    instance: instanceName(raw.instance, '--instance'),
    bucket: bucketName(raw.bucket, '--bucket'),
    scratchDir: optionText(raw.scratchDir, '--scratch-dir', DEFAULT_SCRATCH_DIR),
    memoryMiB: wholeNumber(raw.memoryMib, '--memory-mib', 64, 65_536, 256),
    startSeconds: wholeNumber(raw.startSeconds, '--start-seconds', 1, 3600, 120),
  };
}

interface ExportedSeries {
  metric?: Record<string, string>;
  values?: unknown[];
}

async function getJson(url: string): Promise<unknown> {
  const res = await fetch(url, { signal: AbortSignal.timeout(60_000) });
  const body = await res.text();
  if (!res.ok)
    throw new StackbackupError(`the scratch instance answered ${url} with ${res.status}: ${body.slice(0, 200)}`);
  return body;
}

/** A label selector that matches exactly this series. */
function selector(metric: Record<string, string>): string {
  const quote = (v: string) => JSON.stringify(v);
  return `{${Object.entries(metric)
    .map(([k, v]) => `${k}=${quote(v)}`)
    .join(',')}}`;
}

/**
 * Reads one series' samples back from the scratch instance (the first metric name, its first series):
 * proof that the data parts, not only the index, came back.
 */
async function readSamples(base: URL, steps: DrillSteps): Promise<void> {
  const names = JSON.parse(String(await getJson(endpoint(base, '/api/v1/label/__name__/values')))) as {
    data?: unknown;
  };
  const first = Array.isArray(names.data) ? names.data.find((n): n is string => typeof n === 'string') : undefined;
  if (first === undefined) {
    steps.check(
      { name: 'samples', expected: 'readable', found: 'no metric names', ok: false },
      'the scratch instance holds no metric names',
    );
    return;
  }
  const params = new URLSearchParams({ 'match[]': selector({ __name__: first }), start: '0' });
  const series = String(await getJson(`${endpoint(base, '/api/v1/series')}?${params.toString()}`));
  const listed = (JSON.parse(series) as { data?: Record<string, string>[] }).data?.[0];
  if (listed === undefined) {
    steps.check(
      { name: 'samples', expected: 'readable', found: `no series of ${first}`, ok: false },
      `the scratch instance lists no series of ${first}`,
    );
    return;
  }
  const exportParams = new URLSearchParams({ 'match[]': selector(listed), start: '0' });
  const exported = String(await getJson(`${endpoint(base, '/api/v1/export')}?${exportParams.toString()}`));
  let samples = 0;
  for (const line of exported.split('\n')) {
    if (line.trim() === '') continue;
    const s = JSON.parse(line) as ExportedSeries;
    samples += (s.values ?? []).filter((v) => typeof v === 'number' && Number.isFinite(v)).length;
  }
  const name = `samples of ${selector(listed)}`;
  steps.check(
    { name: 'samples', expected: '>0', found: samples, ok: samples > 0 },
    `the scratch instance returns no samples of ${selector(listed)} (its index came back, its data did not)`,
  );
  log(`${name}: ${samples} read back`);
}

export async function runDrill(options: DrillOptions, ctx: StoreContext): Promise<DrillRecord> {
  const startedAt = ctx.now();
  const { instance } = options;
  // The scratch server must be there before anything is restored: a missing program is a setup
  // problem, not a failed drill of the backup.
  try {
    await run(server(), ['-version'], { logOutput: false });
  } catch (err) {
    throw new StackbackupError(`the drill's scratch server cannot run: ${messageOf(err)}`, {
      exitCode: isStackbackupError(err) ? err.exitCode : ExitCode.failure,
      hint: 'The job image ships victoria-metrics next to vmrestore; elsewhere put it on PATH or set STACKBACKUP_VICTORIA_METRICS. Nothing was restored.',
      cause: err,
    });
  }
  const store = openStore(ctx.storage, options.bucket);
  await ensureBucket(store, {
    create: false,
    bucketValue: `${instance}.backup.bucketName`,
    scheduleValue: `${instance}.backup.enabled`,
  });
  const version = newestComplete(await listVersions(store, [instance]), instance);
  if (version === undefined)
    throw new StackbackupError(`bucket "${options.bucket}" holds no complete version of ${instance} to drill`, {
      exitCode: ExitCode.notFound,
      hint: `Check ${instance}.backup.bucketName; drills start after the first scheduled backup.`,
    });
  const recorded = await readBackupRecord(store, instance, version.version);
  const spec = {
    store: 'victoria-metrics',
    target: instance,
    backup: version.version,
    bucket: store,
    startedAt,
    scratchDir: options.scratchDir,
  } as const;
  return runDrillSteps(spec, async (steps) => {
    const data = join(steps.scratch, 'data');
    section(`Drill: restoring ${version.version} into the scratch folder ${data}`);
    const access = remoteAccess(ctx.storage);
    const { result, shutdownRace } = await runVmrestore(
      vmrestoreArgs(remoteUrl(ctx.storage, options.bucket, instance, version.version), data, access),
      access,
      'The version could not be restored into the scratch folder: see the output above.',
    );
    const output = `${result.stdout}\n${result.stderr}`;
    if (shutdownRace) await confirmRestored(output, data, version.version);
    const summary = parseRestoreSummary(output);
    steps.addBytes(summary?.restoredBytes ?? version.bytes);
    steps.restored();

    const port = await freeLoopbackPort();
    const base = new URL(`http://127.0.0.1:${port}`);
    section(`Drill: starting a scratch victoria-metrics on ${base.origin}`);
    const scratchServer = await startProgram(
      server(),
      [
        `-storageDataPath=${data}`,
        `-httpListenAddr=127.0.0.1:${port}`,
        // Never drop a restored partition for its age, whatever the live instance's retention.
        '-retentionPeriod=100y',
        `-memory.allowedBytes=${options.memoryMiB * 1024 * 1024}`,
        '-search.disableCache',
        '-loggerLevel=WARN',
      ],
      { env: { GOMAXPROCS: '1' } },
    );
    steps.onCleanup('the scratch victoria-metrics process', () => scratchServer.stop());
    try {
      await waitHealthy(base, options.startSeconds * 1000, () => scratchServer.exited());
    } catch (err) {
      throw new StackbackupError(
        `the scratch victoria-metrics did not start on the restored version: ${scratchServer.exited() ?? messageOf(err)}`,
      );
    }
    const found = await seriesCount(base);
    const { check, reason } = countCheck('series', recorded?.counts.series, found, 'the scratch instance');
    steps.check(check, reason);
    await readSamples(base, steps);
  });
}

/** The newest drill result of instance TARGET, in the bucket the list options give it (status and metrics). */
export function latestDrill(raw: ListRaw, target: string, ctx: StoreContext): Promise<DrillRecord | undefined> {
  const listed = validateList(raw).targets.find((t) => t.instances.length === 0 || t.instances.includes(target));
  return listed === undefined
    ? Promise.resolve(undefined)
    : readLatestDrill(openStore(ctx.storage, listed.bucket), target);
}
