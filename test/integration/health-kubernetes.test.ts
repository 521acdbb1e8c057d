/**
 * ./restore/status.sh on the test Kubernetes API with a real MinIO: the chart's status targets
 * ConfigMap, status Job template and read-only Role (rendered by the real Helm), run by the pod runner
 * with the real CLI. A good target (a complete backup in the bucket), a failed one (its CronJob's last
 * Job failed) and a never-run one show the three states, from the bucket and the Jobs.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DateTime } from 'luxon';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { loadStorageConfig } from '../../src/config/storage.js';
import { ensureBucket, openStore } from '../../src/storage/open.js';
import { uploadFile } from '../../src/storage/publish.js';
import type { StatusReport } from '../../src/health/status.js';
import { NAMESPACE, render } from '../chart/helm.js';
import { REPO_ROOT } from '../servers/harness.js';
import { kubectlOk, runScript, scriptLeftovers, until } from '../support/operator.js';
import { startKubernetes, type KubernetesCluster } from '../servers/kubernetes.js';
import { startMinio, type MinioServer } from '../servers/minio.js';

const IN_CLUSTER_S3 = 'http://sb-stackbackup-minio:9000';
const VM_CRONJOB = 'sb-stackbackup-victoria-metrics-0-backup';

let cluster: KubernetesCluster;
let minio: MinioServer;
let work: string;
const kubectl = (args: string[], input?: string): Promise<string> => kubectlOk(cluster, args, input);

before(async () => {
  [cluster, minio] = await Promise.all([startKubernetes(), startMinio()]);
  cluster.alias(IN_CLUSTER_S3, minio.endpoint);
  await mkdir(join(REPO_ROOT, '.cache'), { recursive: true });
  work = await mkdtemp(join(REPO_ROOT, '.cache', 'health-k8s-'));
  const config = loadStorageConfig({
    STACKBACKUP_S3_ENDPOINT: minio.endpoint,
    STACKBACKUP_S3_ACCESS_KEY: minio.accessKey,
    STACKBACKUP_S3_SECRET_KEY: minio.secretKey,
  });
  for (const bucket of ['sts-stackgraph-backup', 'sts-victoria-metrics-backup']) {
    await ensureBucket(openStore(config, bucket), { create: true, bucketValue: 'x', scheduleValue: 'y' });
  }
  // The good target: a complete StackGraph backup taken an hour ago.
  const name = `sts-backup-${DateTime.utc().minus({ hours: 1 }).toFormat('yyyyMMdd-HHmm')}.graph`;
  const file = join(work, name);
  await writeFile(file, 'a StackGraph export');
  await uploadFile(openStore(config, 'sts-stackgraph-backup'), file, name);

  await cluster.createNamespace(NAMESPACE, { 'pod-security.kubernetes.io/enforce': 'restricted' });
  const values = {
    backup: { enabled: true, elasticsearch: { enabled: false } },
    'victoria-metrics-0': { backup: { enabled: true, scheduled: { schedule: '0 3 * * *' } } },
    'victoria-metrics-1': { backup: { enabled: true, scheduled: { schedule: '0 4 * * *' } } },
    minio: { accessKey: minio.accessKey, secretKey: minio.secretKey, persistence: { enabled: true } },
  };
  const valuesFile = join(work, 'values.yaml');
  await writeFile(valuesFile, stringify(values));
  const docs = await render({ files: [valuesFile] });
  const wanted = docs.filter(
    (d) =>
      ['Secret', 'ServiceAccount', 'Role', 'RoleBinding', 'CronJob'].includes(d.kind) ||
      d.metadata.name.includes('status'),
  );
  // CronJobs suspended by the test only through their schedules (03:00, 04:00): none fires in a run.
  await kubectl(['apply', '--filename', '-'], wanted.map((d) => JSON.stringify(d)).join('\n'));

  // The failed target: a Job of victoria-metrics-0's CronJob whose container fails (the bucket check of
  // a bucket that does not exist), as a failed backup run leaves it.
  const uid = (await kubectl(['get', 'cronjob', VM_CRONJOB, '--output', 'jsonpath={.metadata.uid}'])).trim();
  const cron = docs.find((d) => d.kind === 'CronJob' && d.metadata.name === VM_CRONJOB) as unknown as {
    spec: { jobTemplate: { spec: { template: { spec: { containers: { args: string[] }[] } } } } };
  };
  const template = JSON.parse(JSON.stringify(cron.spec.jobTemplate.spec.template)) as {
    spec: {
      containers: { args: string[]; volumeMounts?: { name: string }[] }[];
      volumes?: { name: string }[];
      affinity?: unknown;
    };
  };
  const container = template.spec.containers[0];
  assert.ok(container);
  container.args = ['storage', 'check', '--bucket', 'sts-missing-bucket'];
  container.volumeMounts = (container.volumeMounts ?? []).filter((m) => m.name !== 'data');
  template.spec.volumes = (template.spec.volumes ?? []).filter((v) => v.name !== 'data');
  delete template.spec.affinity;
  await kubectl(
    ['apply', '--filename', '-'],
    JSON.stringify({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: {
        name: `${VM_CRONJOB}-29000000`,
        ownerReferences: [{ apiVersion: 'batch/v1', kind: 'CronJob', name: VM_CRONJOB, uid, controller: true }],
      },
      spec: { backoffLimit: 0, template },
    }),
  );
  await until(
    'the failed backup Job is Failed',
    async () =>
      (
        await kubectl(['get', 'job', `${VM_CRONJOB}-29000000`, '--output', 'jsonpath={.status.conditions[*].type}'])
      ).includes('Failed'),
    120_000,
  );
});

after(async () => {
  await Promise.all([cluster?.stop(), minio?.stop()]);
  if (work) await rm(work, { recursive: true, force: true });
});

describe('./restore/status.sh on the test cluster', () => {
  it('shows ok, failing and never from the bucket and the Jobs, and exits non-zero', async () => {
    const run = await runScript(cluster, 'status.sh', ['--json']);
    assert.equal(run.code, 1, `status.sh --json:\n${run.stdout}\n${run.stderr}`);
    assert.ok(run.stdout.includes('{'), `status.sh --json printed the report:\n${run.stdout}\n${run.stderr}`);
    const start = run.stdout.indexOf('{');
    // The pod's log: the report (pretty-printed, ending with a "}" line), then the error line of exit 1.
    const end = run.stdout.indexOf('\n}', start);
    const report = JSON.parse(run.stdout.slice(start, end + 2)) as StatusReport;
    assert.match(run.stdout.slice(end + 2), /"error":\{"message":"2 of 3 backup targets are not ok"/);
    const states = Object.fromEntries(report.targets.map((t) => [`${t.store}/${t.target}`, t.state]));
    assert.deepEqual(states, {
      'stackgraph/stackgraph': 'ok',
      'victoria-metrics/victoria-metrics-0': 'failing',
      'victoria-metrics/victoria-metrics-1': 'never',
    });
    const failed = report.targets.find((t) => t.target === 'victoria-metrics-0');
    assert.equal(failed?.lastRun?.job, `${VM_CRONJOB}-29000000`);
    assert.equal(failed?.lastRun?.result, 'failed');
    const good = report.targets.find((t) => t.target === 'stackgraph');
    assert.equal(good?.backups, 1);
    assert.match(good?.nextRun ?? '', /T03:00:00Z$/);
    assert.ok(!run.stdout.includes(minio.secretKey) && !run.stderr.includes(minio.secretKey));

    const table = await runScript(cluster, 'status.sh', []);
    assert.equal(table.code, 1);
    assert.match(table.stdout, /stackgraph\/stackgraph\s+ok\s+sts-backup-/);
    assert.match(table.stdout, /victoria-metrics\/victoria-metrics-0\s+failing/);
    assert.equal(await scriptLeftovers(cluster), '', 'the status Job is removed');

    const bad = await runScript(cluster, 'status.sh', ['extra']);
    assert.equal(bad.code, 2);
  });
});
