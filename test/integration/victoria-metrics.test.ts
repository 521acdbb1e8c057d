/**
 * Victoria Metrics end to end with the real programs: victoria-metrics, vmbackup and vmrestore against a
 * real MinIO, driven through the real CLI as the chart's jobs run it. Samples are imported, backed up,
 * more are imported and backed up incrementally, the volume is wiped (a new version starts, the old
 * one stays intact), an old version is restored into an empty instance and every sample reads back
 * equal, a backup killed mid-way is listed as incomplete and refused, and retention prunes versions.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DateTime } from 'luxon';
import { loadStorageConfig } from '../../src/config/storage.js';
import { openStore } from '../../src/storage/open.js';
import type { ObjectInfo } from '../../src/storage/types.js';
import { tempDir } from '../servers/harness.js';
import { startMinio, type MinioServer } from '../servers/minio.js';
import {
  exportAll,
  importSeries,
  makeSeries,
  samplesOf,
  startVictoriaMetrics,
  victoriaMetricsTools,
  type Series,
  type VictoriaMetricsServer,
} from '../servers/victoria-metrics.js';
import { CLI, runCli, type CliRun } from '../support/cli.js';
import type { BackupList, PruneReport } from '../../src/stores/types.js';

const BUCKET = 'sts-victoria-metrics-backup';
const I0 = 'victoria-metrics-0';
const I1 = 'victoria-metrics-1';
let minio: MinioServer;
let work: string;
const servers: VictoriaMetricsServer[] = [];
const outputs: CliRun[] = [];

const env = (): Record<string, string> => {
  const tools = victoriaMetricsTools();
  return {
    STACKBACKUP_S3_ENDPOINT: minio.endpoint,
    STACKBACKUP_S3_ACCESS_KEY: minio.accessKey,
    STACKBACKUP_S3_SECRET_KEY: minio.secretKey,
    STACKBACKUP_VMBACKUP: tools.vmbackup,
    STACKBACKUP_VMRESTORE: tools.vmrestore,
  };
};
const cli = async (args: string[]): Promise<CliRun> => {
  const r = await runCli(args, env());
  outputs.push(r);
  return r;
};
const store = () => openStore(loadStorageConfig(env()), BUCKET);
const objectsOf = async (instance: string, version: string): Promise<ObjectInfo[]> =>
  store().list(`${instance}/${version}/`);

async function vm(dataDir?: string): Promise<VictoriaMetricsServer> {
  const server = await startVictoriaMetrics(dataDir === undefined ? {} : { dataDir });
  servers.push(server);
  return server;
}

interface BackupJson {
  instance: string;
  version: string;
  newVersion: boolean;
  reason: string;
  origin: string | null;
  backedUpBytes: number;
  uploadedBytes: number;
  copiedBytes: number;
  deletedBytes: number;
  wallSeconds: number;
  prune: { decisions: { version: string; action: string }[] } | null;
}

async function backup(instance: string, server: VictoriaMetricsServer, extra: string[] = []): Promise<BackupJson> {
  const r = await cli([
    'victoria-metrics',
    'backup',
    '--json',
    '--instance',
    instance,
    '--bucket',
    BUCKET,
    '--url',
    server.url,
    '--storage-data-path',
    server.dataDir,
    ...extra,
  ]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as BackupJson;
}

// Two months ago (a closed monthly partition, as old metrics are) and the last hour.
const OLD = DateTime.utc().startOf('month').minus({ months: 2 }).plus({ days: 3 }).toMillis();
const RECENT = DateTime.utc().minus({ hours: 1 }).startOf('minute').toMillis();
const batch1: Series[] = makeSeries(1000, 600, OLD, 1);
const batch2: Series[] = makeSeries(1000, 10, RECENT, 2);

let source: VictoriaMetricsServer;
let v1 = '';
let first: BackupJson;
const v1Objects: { keys: string[]; marker: number } = { keys: [], marker: 0 };

before(async () => {
  minio = await startMinio();
  work = await tempDir('vm-it');
});
after(async () => {
  for (const s of servers) await s.stop();
  for (const s of servers) await rm(s.dataDir, { recursive: true, force: true });
  await minio?.stop();
  await rm(work, { recursive: true, force: true });
});

describe('Victoria Metrics: incremental backups in versions, list, restore (real vmbackup, vmrestore, MinIO)', () => {
  it('backs up a running instance into a first version, listed with its completion time', async (t) => {
    source = await vm();
    await importSeries(source.url, batch1);
    first = await backup(I0, source);
    assert.equal(first.newVersion, true);
    assert.match(first.version, /^victoria-metrics-0-\d{14}$/);
    assert.match(first.reason, /no volume marker/);
    assert.ok(first.uploadedBytes > 500_000, `first backup uploaded ${first.uploadedBytes} bytes`);
    v1 = first.version;
    assert.equal(first.prune, null, 'the first version of an instance has nothing to prune');
    const list = await cli(['victoria-metrics', 'list', '--bucket', BUCKET]);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout.trim(), new RegExp(`^${I0} ${v1} "\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2} UTC"$`));
    t.diagnostic(
      `first backup: ${first.backedUpBytes} bytes in the version, ${first.uploadedBytes} uploaded, ${first.wallSeconds.toFixed(2)} s`,
    );
  });

  it('the next backup is incremental: same version, a small fraction of the bytes uploaded', async (t) => {
    await importSeries(source.url, batch2);
    const second = await backup(I0, source);
    assert.equal(second.version, v1);
    assert.equal(second.newVersion, false);
    assert.match(second.reason, /same volume/);
    assert.equal(second.prune, null, 'retention runs once a day: not again after the second backup');
    const fraction = second.uploadedBytes / first.uploadedBytes;
    t.diagnostic(
      `incremental backup: ${second.uploadedBytes} bytes uploaded of ${second.backedUpBytes} in the version = ${(100 * fraction).toFixed(2)}% of the first backup's ${first.uploadedBytes}`,
    );
    assert.ok(second.uploadedBytes > 0, 'the new samples were uploaded');
    assert.ok(fraction < 0.1, `incremental upload is ${(100 * fraction).toFixed(1)}% of the first`);
    const objects = await objectsOf(I0, v1);
    v1Objects.keys = objects.map((o) => `${o.key} ${o.size}`).sort();
    v1Objects.marker = objects.find((o) => o.key.endsWith('backup_complete.ignore'))?.lastModified.getTime() ?? 0;
    assert.ok(v1Objects.marker > 0);
  });

  it('wiping the data folder starts a new version; the old version stays intact', async () => {
    await source.stop();
    const dir = source.dataDir;
    await rm(dir, { recursive: true, force: true });
    source = await vm(dir);
    await importSeries(source.url, makeSeries(10, 5, RECENT, 3, 'after_wipe'));
    const r = await backup(I0, source);
    assert.equal(r.newVersion, true);
    assert.notEqual(r.version, v1);
    assert.match(r.reason, /no volume marker/);
    assert.deepEqual(
      r.prune?.decisions.map((d) => d.action),
      ['keep', 'keep'],
      'retention ran when the version started and kept both',
    );
    const objects = await objectsOf(I0, v1);
    assert.deepEqual(
      objects.map((o) => `${o.key} ${o.size}`).sort(),
      v1Objects.keys,
      'every object of the old version is still there, same size',
    );
    assert.equal(
      objects.find((o) => o.key.endsWith('backup_complete.ignore'))?.lastModified.getTime(),
      v1Objects.marker,
    );
    const list = await cli(['victoria-metrics', 'list', '--bucket', BUCKET, '--instance', I0]);
    const lines = list.stdout.trim().split('\n');
    assert.equal(lines.length, 2);
    assert.ok(
      lines.every((l) => /^victoria-metrics-0 victoria-metrics-0-\d{14} "[^"]+ UTC"$/.test(l)),
      list.stdout,
    );
  });

  it('deleting the files inside the folder but not the marker also starts a new version', async () => {
    await source.stop();
    for (const name of await readdir(source.dataDir)) {
      if (name !== 'stackbackup-volume.json') await rm(join(source.dataDir, name), { recursive: true, force: true });
    }
    await stat(join(source.dataDir, 'stackbackup-volume.json'));
    source = await vm(source.dataDir);
    await importSeries(source.url, makeSeries(10, 5, RECENT, 4, 'after_partial_wipe'));
    const r = await backup(I0, source);
    assert.equal(r.newVersion, true);
    assert.match(r.reason, /folder was deleted and created again/);
    assert.deepEqual((await objectsOf(I0, v1)).map((o) => `${o.key} ${o.size}`).sort(), v1Objects.keys);
  });

  let restored: VictoriaMetricsServer;
  it('restores the old version into an empty instance: every sample reads back equal', async () => {
    const dir = join(work, 'restored');
    const r = await cli(['victoria-metrics', 'restore', I0, v1, '--bucket', BUCKET, '--storage-data-path', dir]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`restored ${I0} from ${v1}`));
    restored = await vm(dir);
    const samples = await exportAll(restored.url);
    const expected = samplesOf([...batch1, ...batch2]);
    assert.equal(samples.length, expected.length);
    assert.deepEqual(samples, expected);
    const check = await cli(['victoria-metrics', 'check', '--json', '--url', restored.url, '--timeout-seconds', '30']);
    assert.equal(check.code, 0, check.stderr);
    assert.equal((JSON.parse(check.stdout) as { series: number }).series, 1000);
  });

  it('refuses to restore under a running instance', async () => {
    const r = await cli([
      'victoria-metrics',
      'restore',
      I0,
      v1,
      '--bucket',
      BUCKET,
      '--storage-data-path',
      restored.dataDir,
      '--url',
      restored.url,
    ]);
    assert.equal(r.code, 8, r.stderr);
    assert.match(r.stderr, /is running .* vmrestore must not write under a running instance/);
    assert.match(r.stderr, /Scale its StatefulSet to 0 first/);
  });

  it('the first backup after a restore starts a new version and copies the restored parts server-side', async (t) => {
    const r = await backup(I0, restored);
    assert.equal(r.newVersion, true);
    assert.match(r.reason, new RegExp(`first backup after restoring ${v1}`));
    assert.equal(r.origin, v1);
    t.diagnostic(`after restore: ${r.copiedBytes} bytes copied server-side, ${r.uploadedBytes} uploaded`);
    assert.ok(r.copiedBytes > r.backedUpBytes / 2, `copied ${r.copiedBytes} of ${r.backedUpBytes}`);
  });

  it('a backup killed mid-way is listed as incomplete and refused for restore; the next run completes it', async () => {
    const other = await vm();
    await importSeries(other.url, makeSeries(1000, 600, OLD, 5, 'other'));
    const child = spawn(
      process.execPath,
      [
        CLI,
        'victoria-metrics',
        'backup',
        '--instance',
        I1,
        '--bucket',
        BUCKET,
        '--url',
        other.url,
        '--storage-data-path',
        other.dataDir,
        '--max-bytes-per-second',
        '131072',
      ],
      {
        env: { ...process.env, ...env() },
        stdio: 'ignore',
        detached: true,
      },
    );
    const exited = new Promise((r) => child.once('exit', r));
    const deadline = Date.now() + 60_000;
    while ((await store().list(`${I1}/`)).length < 5) {
      assert.ok(Date.now() < deadline, 'the throttled backup uploaded nothing within 60 s');
      await new Promise((r) => setTimeout(r, 200));
    }
    process.kill(-(child.pid ?? 0), 'SIGKILL');
    await exited;
    const list = await cli(['victoria-metrics', 'list', '--bucket', BUCKET, '--instance', I1]);
    assert.equal(list.code, 0, list.stderr);
    const m =
      /^victoria-metrics-1 (victoria-metrics-1-\d{14}) INCOMPLETE \(last written "[^"]+"; cannot be restored\)$/.exec(
        list.stdout.trim(),
      );
    assert.ok(m, list.stdout);
    const version = m[1] ?? '';
    const json = await cli(['victoria-metrics', 'list', '--json', '--bucket', BUCKET, '--instance', I1]);
    const listed = JSON.parse(json.stdout) as BackupList;
    assert.deepEqual(
      [listed.backups.length, listed.incomplete.map((v) => [v.target, v.name, v.complete])],
      [0, [[I1, version, false]]],
    );
    const dir = join(work, 'refused');
    await mkdir(dir);
    const refused = await cli([
      'victoria-metrics',
      'restore',
      I1,
      version,
      '--bucket',
      BUCKET,
      '--storage-data-path',
      dir,
    ]);
    assert.equal(refused.code, 7, refused.stderr);
    assert.match(refused.stderr, /INCOMPLETE .* refusing to restore it/);
    assert.deepEqual(await readdir(dir), [], 'nothing was written');
    const resumed = await backup(I1, other);
    assert.equal(resumed.version, version, 'the next run continues the cut-off version');
    const after = await cli(['victoria-metrics', 'list', '--bucket', BUCKET, '--instance', I1]);
    assert.match(after.stdout.trim(), new RegExp(`^${I1} ${version} "[^"]+ UTC"$`));
  });

  it('prune: the default tiers keep every version of today; dry-run changes nothing; the version in use is never deleted', async () => {
    const all = await store().list('');
    const kept = await cli(['victoria-metrics', 'prune', '--json', '--bucket', BUCKET, '--instance', I0]);
    assert.equal(kept.code, 0, kept.stderr);
    const defaults = JSON.parse(kept.stdout) as PruneReport;
    assert.equal(defaults.policy, 'daily 7, weekly 4');
    assert.equal(defaults.decisions.length, 4);
    assert.deepEqual(
      defaults.decisions.map((d) => d.action),
      ['keep', 'keep', 'keep', 'keep'],
    );
    assert.match(defaults.decisions[3]?.reason ?? '', /^daily: completed \d{4}-\d{2}-\d{2}, within the last 7 day/);
    assert.deepEqual(
      defaults.decisions.map((d) => d.rule),
      ['newest', 'daily', 'daily', 'daily'],
    );
    const dry = await cli([
      'victoria-metrics',
      'prune',
      '--json',
      '--dry-run',
      '--bucket',
      BUCKET,
      '--instance',
      I0,
      '--keep-daily',
      '0',
      '--keep-weekly',
      '0',
    ]);
    assert.equal(dry.code, 0, dry.stderr);
    const plan = JSON.parse(dry.stdout) as PruneReport;
    assert.deepEqual(plan.deleted, [], 'a dry run deletes nothing');
    const [newest, ...rest] = plan.decisions;
    assert.equal(newest?.action, 'keep');
    assert.match(newest?.reason ?? '', /in use/);
    assert.deepEqual(
      rest.map((d) => d.action),
      ['delete', 'delete', 'delete'],
    );
    assert.ok(rest.some((d) => d.name === v1));
    assert.ok(rest.every((d) => d.rule === 'beyond-tiers' && d.target === I0));
    assert.equal((await store().list('')).length, all.length, 'dry-run deleted nothing');
    const real = await cli([
      'victoria-metrics',
      'prune',
      '--bucket',
      BUCKET,
      '--instance',
      I0,
      '--keep-daily',
      '0',
      '--keep-weekly',
      '0',
    ]);
    assert.equal(real.code, 0, real.stderr);
    assert.match(real.stdout, /deleted/);
    const list = await cli(['victoria-metrics', 'list', '--json', '--bucket', BUCKET]);
    const versions = (JSON.parse(list.stdout) as BackupList).backups.map((v) => v.name);
    assert.deepEqual(
      versions.filter((v) => v.startsWith(`${I0}-`)),
      [newest?.name],
    );
    assert.equal(versions.filter((v) => v.startsWith(`${I1}-`)).length, 1, 'the other instance is untouched');
    assert.equal((await objectsOf(I0, v1)).length, 0);
  });

  it('no credential appears in any output', () => {
    assert.ok(outputs.length > 10);
    for (const o of outputs) {
      assert.ok(!o.stdout.includes(minio.secretKey) && !o.stderr.includes(minio.secretKey));
      assert.ok(!o.stderr.includes(minio.accessKey), 'access key in a log line');
    }
  });
});

describe('Victoria Metrics on the local filesystem backend (the demo step, vmbackup/vmrestore with fs://)', () => {
  it('backs up, backs up incrementally, restores into an empty folder, and every sample reads back equal', async () => {
    const tools = victoriaMetricsTools();
    process.env.STACKBACKUP_VICTORIA_METRICS = tools.server;
    process.env.STACKBACKUP_VMBACKUP = tools.vmbackup;
    process.env.STACKBACKUP_VMRESTORE = tools.vmrestore;
    const { victoriaMetricsDemoStep } = await import('../../src/demo/victoria-metrics.js');
    const { makePrinter } = await import('../../src/cli/output.js');
    const root = join(work, 'fs-storage');
    const ctx = {
      storage: { kind: 'filesystem' as const, root },
      printer: makePrinter(false, () => undefined),
      now: () => DateTime.utc(),
    };
    const result = await victoriaMetricsDemoStep({ workDir: join(work, 'demo'), sizeMiB: 1 }, ctx);
    assert.match(
      result.summary,
      /backed up victoria-metrics-0 into victoria-metrics-0-\d{14} \(.+\), then incrementally \(.+ uploaded, \d+\.\d% of the first\), restored it .*: all 288600 samples read back equal/,
    );
    const versions = await readdir(join(root, 'stackbackup-demo', 'victoria-metrics-0'));
    assert.equal(versions.length, 1);
    await stat(join(root, 'stackbackup-demo', 'victoria-metrics-0', versions[0] ?? '', 'backup_complete.ignore'));
  });
});
