/**
 * The demo's Victoria Metrics step: a real victoria-metrics (from PATH, or STACKBACKUP_VICTORIA_METRICS)
 * on a folder of the demo's work dir; samples imported, backed up into a version, more imported and
 * backed up incrementally, then the version restored into an empty folder and every sample read back.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { DateTime } from 'luxon';
import { StackbackupError } from '../util/errors.js';
import { formatBytes } from '../util/format.js';
import { log, section } from '../util/log.js';
import { runBackup, runRestore } from '../stores/victoria-metrics/index.js';
import { isHealthy } from '../stores/victoria-metrics/instance.js';
import type { CommandContext } from '../cli/context.js';
import { freeLoopbackPort } from './ports.js';
import type { DemoOptions, DemoStepResult } from './run.js';

const BUCKET = 'stackbackup-demo';
const INSTANCE = 'victoria-metrics-0';

async function startServer(dataDir: string): Promise<{ url: URL; child: ChildProcess }> {
  const SERVER = process.env.STACKBACKUP_VICTORIA_METRICS || 'victoria-metrics';
  const port = await freeLoopbackPort();
  const url = new URL(`http://127.0.0.1:${port}`);
  const child = spawn(
    SERVER,
    [`-storageDataPath=${dataDir}`, `-httpListenAddr=127.0.0.1:${port}`, '-retentionPeriod=100y', '-loggerLevel=ERROR'],
    { stdio: 'ignore' },
  );
  const failed = new Promise<never>((_, reject) => {
    child.once('error', () =>
      reject(
        new StackbackupError(`cannot start ${SERVER}`, {
          hint: 'Run the demo through scripts/demo.sh, which installs victoria-metrics and puts it on PATH.',
        }),
      ),
    );
    child.once('exit', (code) => reject(new StackbackupError(`${SERVER} exited (code ${code}) before it answered`)));
  });
  failed.catch(() => undefined);
  const deadline = Date.now() + 30_000;
  while (!(await isHealthy(url, 500))) {
    await Promise.race([failed, new Promise((r) => setTimeout(r, 200))]);
    if (Date.now() > deadline) throw new StackbackupError(`${SERVER} did not answer within 30 s`);
  }
  return { url, child };
}

async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  await exited;
}

interface Series {
  metric: Record<string, string>;
  values: number[];
  timestamps: number[];
}

function series(count: number, samples: number, start: number, name: string): Series[] {
  return Array.from({ length: count }, (_, i) => ({
    metric: { __name__: name, host: `host-${i}` },
    timestamps: Array.from({ length: samples }, (_, j) => start + j * 60_000),
    values: Array.from(
      { length: samples },
      (_, j) => Math.round(Math.abs(Math.sin(i * 7919 + j * 104_729)) * 1e6) / 100,
    ),
  }));
}

async function post(url: URL, path: string, body?: string): Promise<string> {
  const res = await fetch(`${url.origin}${path}`, body === undefined ? {} : { method: 'POST', body });
  if (!res.ok) throw new StackbackupError(`${path} answered ${res.status}`);
  return res.text();
}

/** Every sample as sorted `name host ts value` lines. */
async function samples(url: URL): Promise<string[]> {
  const text = await post(
    url,
    `/api/v1/export?${new URLSearchParams({ 'match[]': '{__name__=~"demo_.*"}', start: '0' }).toString()}`,
  );
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .flatMap((l) => {
      const s = JSON.parse(l) as Series;
      return s.timestamps.map((t, i) => `${s.metric.__name__} ${s.metric.host} ${t} ${s.values[i]}`);
    })
    .sort();
}

export async function victoriaMetricsDemoStep(options: DemoOptions, ctx: CommandContext): Promise<DemoStepResult> {
  section('Victoria Metrics: incremental vmbackup into a version, then vmrestore');
  const dataDir = join(options.workDir, 'victoria-metrics-data');
  const restoredDir = join(options.workDir, 'victoria-metrics-restored');
  const start = DateTime.utc().minus({ days: 40 }).startOf('day').toMillis();
  const backupOptions = (url: URL) => ({
    instance: INSTANCE,
    bucket: BUCKET,
    url,
    storageDataPath: dataDir,
    maxBytesPerSecond: undefined,
    prune: undefined,
    waitMs: 30_000,
  });
  let server = await startServer(dataDir);
  let expected: string[];
  let first;
  let second;
  try {
    await post(
      server.url,
      '/api/v1/import',
      series(200, 1440, start, 'demo_temperature')
        .map((s) => JSON.stringify(s))
        .join('\n'),
    );
    await post(server.url, '/internal/force_flush');
    first = await runBackup(backupOptions(server.url), ctx);
    await post(
      server.url,
      '/api/v1/import',
      series(20, 30, Date.now() - 3_600_000, 'demo_recent')
        .map((s) => JSON.stringify(s))
        .join('\n'),
    );
    await post(server.url, '/internal/force_flush');
    second = await runBackup(backupOptions(server.url), ctx);
    expected = await samples(server.url);
  } finally {
    await stopServer(server.child);
  }
  const restored = await runRestore(
    { instance: INSTANCE, version: second.version, bucket: BUCKET, storageDataPath: restoredDir, url: undefined },
    ctx,
  );
  server = await startServer(restoredDir);
  try {
    const got = await samples(server.url);
    if (got.length !== expected.length || got.some((line, i) => line !== expected[i])) {
      throw new StackbackupError(
        `demo: the restored instance holds ${got.length} samples, the original ${expected.length}`,
      );
    }
    log(`restored instance holds all ${got.length} samples`);
  } finally {
    await stopServer(server.child);
  }
  return {
    step: 'victoria-metrics',
    summary:
      `backed up ${INSTANCE} into ${first.version} (${formatBytes(first.uploadedBytes)}), then incrementally (${formatBytes(second.uploadedBytes)} uploaded, ` +
      `${((100 * second.uploadedBytes) / Math.max(first.uploadedBytes, 1)).toFixed(1)}% of the first), restored it into an empty folder ` +
      `(${formatBytes(restored.restoredBytes)}): all ${expected.length} samples read back equal`,
  };
}
