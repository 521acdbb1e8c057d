/**
 * StackGraph end to end on the test Kubernetes API with a real MinIO: the chart's own CronJob and Job
 * templates (rendered by the real Helm), run by the pod runner with the real CLI and the real stand-in
 * store (sts-graph-standin, SQLite) as the "StackGraph image" tool; the operator scripts
 * restore/list-stackgraph-backups.sh and restore/restore-stackgraph-backup.sh with only kubectl.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { delimiter, dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { loadStorageConfig } from '../../src/config/storage.js';
import { openStore } from '../../src/storage/open.js';
import { listBackups } from '../../src/storage/publish.js';
import type { ObjectStore } from '../../src/storage/types.js';
import { NAMESPACE, render } from '../chart/helm.js';
import { REPO_ROOT, toolPath } from '../servers/harness.js';
import {
  finishedJob,
  kubectlOk,
  runScript,
  scaleStates,
  scriptLeftovers,
  untouchedStates,
  until,
  type ScriptRun,
} from '../support/operator.js';
import { startKubernetes, type KubernetesCluster } from '../servers/kubernetes.js';
import { startMinio, type MinioServer } from '../servers/minio.js';

const STANDIN = toolPath('sts-graph-standin', 'stackgraph-standin');
// The tool containers run `sts-graph-standin` by name, as an image would have it on its PATH.
process.env.PATH = `${dirname(STANDIN)}${delimiter}${process.env.PATH ?? ''}`;

const BUCKET = 'sts-stackgraph-backup';
const IN_CLUSTER_S3 = 'http://sb-stackbackup-minio:9000';
const SELECTOR = 'stackstate.com/connects-to-stackgraph=true';
const WORKLOADS = { 'deployment/stackstate-server': 2, 'statefulset/stackstate-sync': 1 } as const;

let cluster: KubernetesCluster;
let minio: MinioServer;
let work: string;
let db: string;
let store: ObjectStore;
let scheduled: string;
let scheduledDigest: string;
const kubectl = (args: string[], input?: string): Promise<string> => kubectlOk(cluster, args, input);
const script = (name: string, args: string[]): Promise<ScriptRun> => runScript(cluster, name, args);

const standin = (...args: string[]) => execFileSync(STANDIN, ['-db', db, ...args], { encoding: 'utf8' }).trim();

const replicas = (): Promise<Record<string, string>> => scaleStates(cluster, WORKLOADS);
const untouched = untouchedStates(WORKLOADS);

/** Nothing a script created is left: no Job, no Job pod, no restore claim. */
async function leftovers(): Promise<string> {
  const jobs = await scriptLeftovers(cluster);
  const claims = (await kubectl(['get', 'pvc', '--output', 'name']))
    .split('\n')
    .filter((c) => c.includes('stackgraph-restore'))
    .join('\n');
  return [jobs, claims].filter((x) => x !== '').join('\n');
}

/** Available PersistentVolumes for the scratch claims (the test cluster has no provisioner). */
async function addVolumes(count: number, from: number): Promise<void> {
  const pvs = Array.from({ length: count }, (_, i) => ({
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name: `scratch-${from + i}` },
    spec: {
      capacity: { storage: '20Gi' },
      accessModes: ['ReadWriteOnce'],
      persistentVolumeReclaimPolicy: 'Retain',
      hostPath: { path: join(work, `pv-${from + i}`) },
    },
  }));
  const r = await cluster.kubectl(['apply', '--filename', '-'], {
    input: pvs.map((p) => JSON.stringify(p)).join('\n'),
  });
  assert.equal(r.code, 0, r.stderr);
}

before(async () => {
  [cluster, minio] = await Promise.all([startKubernetes(), startMinio()]);
  cluster.alias(IN_CLUSTER_S3, minio.endpoint);
  // Outside the temporary folder: pods mount an emptyDir at /tmp, and the pod runner maps mount paths.
  // .cache/ exists only once the tools were installed into the checkout (not with STACKBACKUP_TOOLS).
  await mkdir(join(REPO_ROOT, '.cache'), { recursive: true });
  work = await mkdtemp(join(REPO_ROOT, '.cache', 'stackgraph-k8s-'));
  await mkdir(join(work, 'store'));
  db = join(work, 'store', 'graph.db');
  store = openStore(
    loadStorageConfig({
      STACKBACKUP_S3_ENDPOINT: minio.endpoint,
      STACKBACKUP_S3_ACCESS_KEY: minio.accessKey,
      STACKBACKUP_S3_SECRET_KEY: minio.secretKey,
    }),
    BUCKET,
  );
  await cluster.createNamespace(NAMESPACE, { 'pod-security.kubernetes.io/enforce': 'restricted' });
  await addVolumes(12, 0);

  // The chart as an operator would configure it for this store: the stand-in is the tool image, and
  // the tool reaches the store through its environment (as StackState's server reaches StackGraph).
  const values = {
    backup: {
      enabled: true,
      elasticsearch: { enabled: false },
      stackGraph: {
        scheduled: { schedule: '* * * * *', backupRetentionTimeDelta: 'days=30', backupRetentionMinCount: 1 },
        tool: {
          image: { repository: 'registry.example/sts-graph-standin', tag: '1.0' },
          exportCommand: ['sts-graph-standin', '-export'],
          importCommand: ['sts-graph-standin', '-import'],
          countCommand: ['sts-graph-standin', '-count'],
          env: [{ name: 'STS_GRAPH_DB', value: db }],
          resources: { requests: { cpu: '10m', memory: '64Mi' }, limits: { memory: '256Mi' } },
        },
        scratch: { size: '1Gi' },
      },
    },
    minio: { accessKey: minio.accessKey, secretKey: minio.secretKey, persistence: { enabled: true } },
  };
  const valuesFile = join(work, 'values.yaml');
  await writeFile(valuesFile, stringify(values));
  const docs = await render({ files: [valuesFile] });
  const wanted = docs.filter(
    (d) =>
      ['Secret', 'ServiceAccount', 'Role', 'RoleBinding'].includes(d.kind) || d.metadata.name.includes('stackgraph'),
  );
  assert.deepEqual(
    wanted
      .filter((d) => d.metadata.name.includes('stackgraph'))
      .map((d) => `${d.kind}/${d.metadata.name}`)
      .sort(),
    [
      'ConfigMap/sb-stackbackup-stackgraph-list-job',
      'ConfigMap/sb-stackbackup-stackgraph-restore-fetch-job',
      'ConfigMap/sb-stackbackup-stackgraph-restore-import-job',
      'CronJob/sb-stackbackup-stackgraph-backup',
    ],
  );
  await kubectl(['apply', '--filename', '-'], wanted.map((d) => JSON.stringify(d)).join('\n'));

  // The workloads connected to StackGraph, which a restore stops and starts again.
  const podSpec = (app: string) => ({
    metadata: { labels: { app } },
    spec: {
      securityContext: { runAsNonRoot: true, runAsUser: 65532, seccompProfile: { type: 'RuntimeDefault' } },
      containers: [
        {
          name: 'server',
          image: 'registry.example/stackstate-server:1.0',
          securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
        },
      ],
    },
  });
  const labels = { 'stackstate.com/connects-to-stackgraph': 'true' };
  await kubectl(
    ['apply', '--filename', '-'],
    [
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'stackstate-server', labels },
        spec: { replicas: 2, selector: { matchLabels: { app: 'server' } }, template: podSpec('server') },
      },
      {
        apiVersion: 'apps/v1',
        kind: 'StatefulSet',
        metadata: { name: 'stackstate-sync', labels },
        spec: {
          replicas: 1,
          serviceName: 'sync',
          selector: { matchLabels: { app: 'sync' } },
          template: podSpec('sync'),
        },
      },
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'unrelated' },
        spec: { replicas: 1, selector: { matchLabels: { app: 'unrelated' } }, template: podSpec('unrelated') },
      },
    ]
      .map((o) => JSON.stringify(o))
      .join('\n'),
  );
  standin('-seed', '300', '-payload', '512');
});

after(async () => {
  await Promise.all([cluster?.stop(), minio?.stop()]);
  if (work) await rm(work, { recursive: true, force: true });
});

describe("StackGraph on Kubernetes: the chart's CronJob and the operator scripts", () => {
  it('a scheduled backup lands: the CronJob exports through the tool image and uploads with its checksum', async () => {
    scheduledDigest = standin('-digest');
    const job = await finishedJob(cluster, 'stackgraph-backup', ['export', 'backup'], 180_000);
    await kubectl([
      'patch',
      'cronjob',
      'sb-stackbackup-stackgraph-backup',
      '--type',
      'merge',
      '--patch',
      '{"spec":{"suspend":true}}',
    ]);
    // A run the schedule started before the suspension finishes on its own; wait for it.
    await until(
      'no active backup Job',
      async () =>
        (
          await kubectl(['get', 'cronjob', 'sb-stackbackup-stackgraph-backup', '--output', 'jsonpath={.status.active}'])
        ).trim() === '',
      120_000,
    );
    const backups = (await listBackups(store))
      .filter((b) => b.complete)
      .map((b) => b.key)
      .sort()
      .reverse();
    assert.ok(backups.length >= 1, JSON.stringify(backups));
    scheduled = backups[0] ?? '';
    assert.match(scheduled, /^sts-backup-\d{8}-\d{4}\.graph$/);
    const pods = (
      await kubectl(['get', 'pods', '--selector', `job-name=${job}`, '--output', 'jsonpath={.items[*].metadata.name}'])
    )
      .trim()
      .split(' ');
    const log = cluster.runner.logOf(NAMESPACE, pods[0] ?? '', 'backup') ?? '';
    assert.match(log, new RegExp(`backup ${scheduled.replace(/\./g, '\\.')} complete`));
    assert.match(log, /retention: nothing to delete/);
  });

  it('lists the backups: one name a line as StackState prints them, or a table with -l', async () => {
    // A second backup (as a later night would make) and a cut-off upload, which is never listed.
    await store.put('sts-backup-20200101-0300.graph', Readable.from([Buffer.from('old copy')]));
    await store.put(
      'sts-backup-20200101-0300.graph.sha256',
      Readable.from([Buffer.from(`${'0'.repeat(64)}  sts-backup-20200101-0300.graph\n`)]),
    );
    await store.put('sts-backup-20991231-2359.graph', Readable.from([Buffer.from('cut off')]));
    const names = await script('list-stackgraph-backups.sh', []);
    assert.equal(names.code, 0, names.stderr);
    // The backups only (what the bucket's root holds), not the records beside them (stackbackup-records/).
    const complete = (await listBackups(store, 'sts-backup-'))
      .filter((b) => b.complete)
      .map((b) => b.key)
      .sort()
      .reverse();
    assert.equal(complete.at(-1), 'sts-backup-20200101-0300.graph');
    // The job's log: StackState's header line, then one name a line, newest first.
    const lines = names.stdout.trim().split('\n');
    assert.match(lines[0] ?? '', /^=== Listing StackGraph backups in bucket "sts-stackgraph-backup"\.\.\.$/);
    assert.deepEqual(
      lines.filter((l) => !l.startsWith('=== ')),
      complete,
    );
    assert.match(names.stderr, /job\.batch\/stackgraph-list-backups-\d{8}t\d{6}-\w+ created/);
    assert.match(names.stderr, /To restore a backup: \.\/restore\/restore-stackgraph-backup\.sh NAME \[-force\]/);
    const table = await script('list-stackgraph-backups.sh', ['-l']);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /\nNAME\s+SIZE\s+AGE\s+TAKEN\n/);
    assert.match(table.stdout, new RegExp(`${scheduled.replace(/\./g, '\\.')}\\s+\\d+\\.\\d KiB`));
    const listed = (names.stdout + table.stdout).split('\n').filter((l) => !l.startsWith('=== '));
    assert.ok(
      listed.every((l) => !l.includes('20991231')),
      'the cut-off upload is only mentioned, never listed',
    );
    assert.match(names.stdout, /=== 1 incomplete upload\(s\) not listed .*sts-backup-20991231-2359\.graph/);
    assert.equal(await leftovers(), '');
  });

  it('refuses a non-empty StackGraph without -force before anything is stopped', async () => {
    standin('-seed', '5');
    const before = standin('-digest');
    const run = await script('restore-stackgraph-backup.sh', [scheduled]);
    assert.equal(run.code, 8, run.stderr);
    assert.match(run.stdout, /StackGraph is not empty: it holds \d+ elements/);
    assert.match(
      run.stdout,
      new RegExp(
        `rerun with -force: \\./restore/restore-stackgraph-backup\\.sh ${scheduled.replace(/\./g, '\\.')} -force`,
      ),
    );
    assert.match(run.stderr, /Nothing was changed: no workload was scaled down/);
    assert.equal(standin('-digest'), before);
    assert.deepEqual(await replicas(), untouched);
    assert.equal(await leftovers(), '');
  });

  it('-force replaces the content, stopping the connected workloads and starting them again at their counts', async () => {
    const run = await script('restore-stackgraph-backup.sh', [scheduled, '-force']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /verified .* and left it at .* for the import step/);
    assert.match(run.stdout, /imported \d+ elements from .*, replacing \d+/);
    assert.match(run.stderr, /recorded 2 replicas/);
    assert.match(run.stderr, /deployment\/stackstate-server scaled to 2 replicas/);
    assert.match(run.stderr, /StackGraph restored from/);
    assert.equal(standin('-digest'), scheduledDigest, 'the data of the backup');
    assert.deepEqual(await replicas(), untouched);
    assert.equal((await kubectl(['get', 'deployment/unrelated', '--output', 'jsonpath={.spec.replicas}'])).trim(), '1');
    assert.equal(await leftovers(), '');
  });

  it('restores into an empty StackGraph without -force, with the same data', async () => {
    await rm(db);
    const run = await script('restore-stackgraph-backup.sh', [scheduled]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /StackGraph is empty/);
    assert.equal(standin('-digest'), scheduledDigest);
    assert.deepEqual(await replicas(), untouched);
    assert.equal(await leftovers(), '');
  });

  it('an unknown name prints the available backups; a corrupted object is refused before anything is stopped', async () => {
    const unknown = await script('restore-stackgraph-backup.sh', ['sts-backup-20000101-0000.graph', '-force']);
    assert.equal(unknown.code, 3, unknown.stderr);
    assert.match(
      unknown.stdout,
      new RegExp(
        `Available backups, newest first:\\n  ${scheduled.replace(/\./g, '\\.')}\\n(  \\S+\\n)*  sts-backup-20200101-0300\\.graph`,
      ),
    );
    assert.match(unknown.stderr, /Nothing was changed/);

    // The hand-made old copy's published checksum does not match its bytes.
    const corrupt = await script('restore-stackgraph-backup.sh', ['sts-backup-20200101-0300.graph', '-force']);
    assert.equal(corrupt.code, 7, corrupt.stderr);
    assert.match(corrupt.stdout, /is corrupt: its SHA-256 is [0-9a-f]{64}, the published checksum is 0{64}/);
    assert.doesNotMatch(corrupt.stdout + corrupt.stderr, /Importing/);
    assert.equal(standin('-digest'), scheduledDigest, 'StackGraph untouched');
    assert.deepEqual(await replicas(), untouched);
    assert.equal(await leftovers(), '');
  });

  it('a scale-down selector that matches no workload is refused before anything is downloaded or changed', async () => {
    const labelled = (await kubectl(['get', 'deployments,statefulsets', '--selector', SELECTOR, '--output', 'name']))
      .trim()
      .split('\n');
    const key = SELECTOR.split('=')[0] ?? '';
    await kubectl(['label', ...labelled, `${key}-`]);
    try {
      const run = await script('restore-stackgraph-backup.sh', [scheduled, '-force']);
      assert.equal(run.code, 1, run.stderr);
      assert.match(
        run.stderr,
        /no deployment or statefulset in namespace \S+ matches the scale-down selector stackstate\.com\/connects-to-stackgraph=true/,
      );
      assert.match(run.stderr, /Nothing was changed: no workload was scaled down/);
      assert.doesNotMatch(run.stdout + run.stderr, /Downloading|left scaled down/);
      assert.equal(standin('-digest'), scheduledDigest, 'StackGraph untouched');
    } finally {
      await kubectl(['label', ...labelled, SELECTOR]);
    }
    assert.deepEqual(await replicas(), untouched);
    assert.equal(await leftovers(), '');
  });

  it('a failed import leaves the workloads down and prints the exact commands, which work', async () => {
    // The store's folder is gone: the count says empty, the fetch succeeds, the import tool fails.
    await rm(join(work, 'store'), { recursive: true });
    const run = await script('restore-stackgraph-backup.sh', [scheduled]);
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stdout, /sts-graph-standin: folder .* does not exist/);
    assert.match(
      run.stderr,
      /StackGraph was NOT restored\. The workloads selected by stackstate\.com\/connects-to-stackgraph=true are left scaled down/,
    );
    assert.match(
      run.stderr,
      new RegExp(`\\n    \\./restore/restore-stackgraph-backup\\.sh ${scheduled.replace(/\./g, '\\.')} -force\\n`),
    );
    assert.match(run.stderr, /\n    \.\/restore\/scale-up\.sh -l stackstate\.com\/connects-to-stackgraph=true\n/);
    assert.deepEqual(await replicas(), { 'deployment/stackstate-server': '0|2', 'statefulset/stackstate-sync': '0|1' });
    assert.equal(await leftovers(), '');

    // The printed command to try again, once the cause is fixed.
    await mkdir(join(work, 'store'));
    const again = await script('restore-stackgraph-backup.sh', [scheduled, '-force']);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /keeping the replica count recorded earlier \(2\)/);
    assert.equal(standin('-digest'), scheduledDigest);
    assert.deepEqual(await replicas(), untouched);
    assert.ok(existsSync(db));
    assert.equal(await leftovers(), '');
  });
});
