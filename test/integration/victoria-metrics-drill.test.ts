/**
 * Victoria Metrics restore drills with the real programs (victoria-metrics, vmbackup, vmrestore) against
 * a real MinIO: each backup records the instance's series count; a good version passes its drill in a
 * scratch instance while the live instance's samples stay equal; a smaller backup is flagged; a
 * truncated version (its index gone from the bucket) fails with the reason; no scratch space fails
 * clearly and writes nothing. No scratch process or folder outlives a drill.
 */
import assert from 'node:assert/strict';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DateTime } from 'luxon';
import type { S3Config } from '../../src/config/storage.js';
import { openStore } from '../../src/storage/open.js';
import { readBackupRecord, readLatestDrill } from '../../src/stores/records.js';
import type { StoreContext } from '../../src/stores/types.js';
import {
  runBackup,
  runDrill,
  runList,
  validateBackup,
  validateDrill,
  validateList,
} from '../../src/stores/victoria-metrics/index.js';
import { ExitCode, StackbackupError } from '../../src/util/errors.js';
import { setLogSink } from '../../src/util/log.js';
import { tempDir } from '../servers/harness.js';
import { runCli } from '../support/cli.js';
import { type MinioServer, minioStorage, startMinio } from '../servers/minio.js';
import {
  exportAll,
  importSeries,
  makeSeries,
  startVictoriaMetrics,
  victoriaMetricsTools,
  type VictoriaMetricsServer,
} from '../servers/victoria-metrics.js';

const RECENT = DateTime.utc().minus({ hours: 2 }).startOf('minute').toMillis();
let minio: MinioServer;
let storage: S3Config;
let work: string;
let buckets = 0;
const servers: VictoriaMetricsServer[] = [];
const logs: string[] = [];

before(async () => {
  const tools = victoriaMetricsTools();
  process.env.STACKBACKUP_VMBACKUP = tools.vmbackup;
  process.env.STACKBACKUP_VMRESTORE = tools.vmrestore;
  process.env.STACKBACKUP_VICTORIA_METRICS = tools.server;
  minio = await startMinio();
  storage = minioStorage(minio);
  work = await tempDir('vm-drill');
  setLogSink((l) => logs.push(l));
});
after(async () => {
  for (const s of servers) await s.stop();
  for (const s of servers) await rm(s.dataDir, { recursive: true, force: true });
  await minio?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

const cliEnv = (): Record<string, string> => {
  const tools = victoriaMetricsTools();
  return {
    STACKBACKUP_S3_ENDPOINT: minio.endpoint,
    STACKBACKUP_S3_ACCESS_KEY: minio.accessKey,
    STACKBACKUP_S3_SECRET_KEY: minio.secretKey,
    STACKBACKUP_VMRESTORE: tools.vmrestore,
    STACKBACKUP_VICTORIA_METRICS: tools.server,
  };
};
const ctx = (): StoreContext => ({ storage, now: () => DateTime.utc() });

async function live(series: number, seed: number, dataDir?: string): Promise<VictoriaMetricsServer> {
  const server = await startVictoriaMetrics(dataDir === undefined ? {} : { dataDir });
  servers.push(server);
  if (series > 0) await importSeries(server.url, makeSeries(series, 30, RECENT, seed));
  return server;
}

const backup = (bucket: string, server: VictoriaMetricsServer) =>
  runBackup(
    validateBackup({
      instance: 'victoria-metrics-0',
      bucket,
      url: server.url,
      storageDataPath: server.dataDir,
      prune: false,
    }),
    ctx(),
  );

const drill = (bucket: string, scratchDir: string) =>
  runDrill(validateDrill({ instance: 'victoria-metrics-0', bucket, scratchDir, memoryMib: 128 }), ctx());

async function newBucket(): Promise<{ bucket: string; scratch: string }> {
  const bucket = `vm-drill-${++buckets}`;
  const scratch = await tempDir(`vm-drill-scratch-${buckets}`);
  return { bucket, scratch };
}

/** Processes whose command line names the folder (a scratch victoria-metrics left running). */
async function processesUsing(folder: string): Promise<string[]> {
  const found: string[] = [];
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes(folder)) found.push(`${pid}: ${cmdline.replace(/\0/g, ' ')}`);
  }
  return found;
}

describe('victoria-metrics drill', () => {
  it('records the series count, passes on a good version, leaves the live instance and scratch space as they were', async () => {
    const { bucket, scratch } = await newBucket();
    const server = await live(120, 7);
    const result = await backup(bucket, server);
    assert.deepEqual(result.record.counts.series, { value: 120 });
    assert.equal(result.record.shrunk, null);
    const store = openStore(storage, bucket);
    assert.deepEqual((await readBackupRecord(store, 'victoria-metrics-0', result.version))?.counts.series, {
      value: 120,
    });
    const samplesBefore = await exportAll(server.url);
    assert.equal(samplesBefore.length, 120 * 30);

    const record = await drill(bucket, scratch);
    assert.equal(record.outcome, 'passed', record.reason ?? '');
    assert.equal(record.store, 'victoria-metrics');
    assert.equal(record.backup, result.version);
    assert.deepEqual(
      record.checks.find((c) => c.name === 'series'),
      { name: 'series', expected: 120, found: 120, ok: true },
    );
    const samples = record.checks.find((c) => c.name === 'samples');
    assert.equal(samples?.ok, true);
    assert.equal(samples?.found, 30, 'one series read back with all its samples');
    assert.ok(record.bytes > 0 && record.restoreSeconds > 0);
    assert.deepEqual(await exportAll(server.url), samplesBefore, 'the live instance holds the same samples');
    assert.deepEqual(await readdir(scratch), [], 'the scratch folder is removed');
    assert.deepEqual(await processesUsing(scratch), [], 'the scratch victoria-metrics is stopped');
    assert.deepEqual(await readLatestDrill(store, 'victoria-metrics-0'), record);

    // The same drill through the real CLI, as the drill Job runs it.
    const run = await runCli(
      [
        'victoria-metrics',
        'drill',
        '--json',
        '--instance',
        'victoria-metrics-0',
        '--bucket',
        bucket,
        '--scratch-dir',
        scratch,
      ],
      cliEnv(),
    );
    assert.equal(run.code, 0, run.stderr);
    const shown = JSON.parse(run.stdout) as { outcome: string; checks: { name: string; found: unknown }[] };
    assert.equal(shown.outcome, 'passed');
    assert.deepEqual(
      shown.checks.map((c) => [c.name, c.found]),
      [
        ['series', 120],
        ['samples', 30],
      ],
    );
    assert.ok(!`${run.stdout}${run.stderr}`.includes(minio.secretKey), 'no credential in the output');
    assert.deepEqual(await readdir(scratch), []);
  });

  it('flags a version much smaller than the one it started from; list shows it', async () => {
    const { bucket } = await newBucket();
    const server = await live(200, 11);
    const first = await backup(bucket, server);
    await server.stop();
    await rm(server.dataDir, { recursive: true, force: true });
    const emptied = await live(40, 12, server.dataDir);
    const second = await backup(bucket, emptied);
    assert.notEqual(second.version, first.version, 'a replaced volume starts a new version');
    assert.equal(second.record.shrunk, `40 series, under 50 % of the 200 of the previous backup ${first.version}`);
    assert.ok(
      logs.some((l) => l.startsWith(`WARNING: backup ${second.version} of victoria-metrics-0 is much smaller`)),
    );
    const listed = await runList(validateList({ bucket }), ctx());
    assert.ok(
      logs.includes(`WARNING: victoria-metrics-0 ${second.version} is flagged SHRUNK: ${second.record.shrunk ?? ''}`),
      'list warns beside its StackState-format lines',
    );
    assert.deepEqual(
      listed.map((v) => [v.version, v.shrunk === null]),
      [
        [first.version, true],
        [second.version, false],
      ],
    );
  });

  it('fails on a truncated version (its index gone from the bucket) with the reason, and cleans up', async () => {
    const { bucket, scratch } = await newBucket();
    const server = await live(80, 21);
    const result = await backup(bucket, server);
    const store = openStore(storage, bucket);
    const index = (await store.list(`victoria-metrics-0/${result.version}/indexdb/`)).map((o) => o.key);
    assert.ok(index.length > 0);
    await store.delete(index);
    await assert.rejects(drill(bucket, scratch), (err: unknown) => {
      assert.ok(err instanceof StackbackupError);
      assert.equal(err.exitCode, ExitCode.integrity);
      assert.match(
        err.message,
        new RegExp(
          `^the drill of ${result.version} failed: the scratch instance holds 0 series, the backup's record says 80`,
        ),
      );
      return true;
    });
    const kept = await readLatestDrill(store, 'victoria-metrics-0');
    assert.equal(kept?.outcome, 'failed');
    const run = await runCli(
      ['victoria-metrics', 'drill', '--instance', 'victoria-metrics-0', '--bucket', bucket, '--scratch-dir', scratch],
      cliEnv(),
    );
    assert.equal(run.code, ExitCode.integrity, run.stderr);
    assert.match(run.stderr, /the scratch instance holds 0 series, the backup's record says 80/);
    assert.deepEqual(await readdir(scratch), []);
    assert.deepEqual(await processesUsing(scratch), []);
  });

  it('fails clearly without scratch space and writes nothing', async () => {
    const { bucket, scratch } = await newBucket();
    const server = await live(10, 31);
    await backup(bucket, server);
    const missing = join(scratch, 'no-such-folder');
    await assert.rejects(drill(bucket, missing), (err: unknown) => {
      assert.ok(err instanceof StackbackupError);
      assert.match(err.message, /^no drill scratch folder: .*no-such-folder does not exist/);
      assert.match(err.hint ?? '', /--scratch-dir/);
      return true;
    });
    assert.equal(await readLatestDrill(openStore(storage, bucket), 'victoria-metrics-0'), undefined);
    assert.deepEqual(await readdir(scratch), []);
  });

  it('refuses to start without the scratch server program, before it restores or records anything', async () => {
    const { bucket, scratch } = await newBucket();
    const server = await live(10, 41);
    await backup(bucket, server);
    const saved = process.env.STACKBACKUP_VICTORIA_METRICS;
    process.env.STACKBACKUP_VICTORIA_METRICS = join(scratch, 'no-such-victoria-metrics');
    try {
      await assert.rejects(drill(bucket, scratch), (err: unknown) => {
        assert.ok(err instanceof StackbackupError);
        assert.equal(err.exitCode, ExitCode.notFound);
        assert.match(err.message, /no-such-victoria-metrics" was not found/);
        assert.match(err.hint ?? '', /STACKBACKUP_VICTORIA_METRICS/);
        return true;
      });
    } finally {
      process.env.STACKBACKUP_VICTORIA_METRICS = saved;
    }
    assert.equal(await readLatestDrill(openStore(storage, bucket), 'victoria-metrics-0'), undefined);
    assert.deepEqual(await readdir(scratch), []);
  });
});
