/**
 * Victoria Metrics on the test Kubernetes API, end to end, as an operator meets it: the chart's own
 * CronJob and Job templates (rendered by real Helm) next to a VictoriaMetrics StatefulSet whose pod runs
 * the real victoria-metrics on its claim; a backup Job created from the CronJob; then only kubectl and
 * the operator scripts: restore/list-victoria-metrics-backups.sh and
 * restore/restore-victoria-metrics-backup.sh (scale to 0, vmrestore, scale back, check), with real
 * vmbackup/vmrestore against a real MinIO. Every sample reads back equal after the restore.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DateTime } from 'luxon';
import { FULLNAME, NAMESPACE, render, type Manifest, minioValues } from '../chart/helm.js';
import { TOOLS_DIR, freePort } from '../servers/harness.js';
import { kubectlOk, runScript, until, type ScriptRun } from '../support/operator.js';
import { startKubernetes, type KubernetesCluster } from '../servers/kubernetes.js';
import { startMinio, type MinioServer } from '../servers/minio.js';
import { exportAll, importSeries, makeSeries, samplesOf, victoriaMetricsTools } from '../servers/victoria-metrics.js';

const I0 = 'victoria-metrics-0';
const STS = 'vm0';
const CLAIM = 'vm0-data';
const VM_SERVICE = 'http://vm0-service:8428';

let cluster: KubernetesCluster;
let minio: MinioServer;
let port: number;
const vmUrl = (): string => `http://127.0.0.1:${port}`;
const kubectl = (args: string[], input?: string): Promise<string> => kubectlOk(cluster, args, input);
const script = (name: string, args: string[]): Promise<ScriptRun> => runScript(cluster, name, args);

const answers = async (): Promise<boolean> =>
  (await fetch(`${vmUrl()}/health`, { signal: AbortSignal.timeout(1000) })).ok;

/** The instance: a StatefulSet whose pod runs the real victoria-metrics on its claim (a static PV). */
function instanceObjects(): object[] {
  const labels = { app: 'vm0' };
  return [
    {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: `${NAMESPACE}-${CLAIM}` },
      spec: {
        capacity: { storage: '1Gi' },
        accessModes: ['ReadWriteOnce'],
        storageClassName: 'manual',
        hostPath: { path: '/tmp/unused' },
        claimRef: { namespace: NAMESPACE, name: CLAIM },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: CLAIM, namespace: NAMESPACE },
      spec: {
        accessModes: ['ReadWriteOnce'],
        storageClassName: 'manual',
        volumeName: `${NAMESPACE}-${CLAIM}`,
        resources: { requests: { storage: '1Gi' } },
      },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: STS, namespace: NAMESPACE },
      spec: {
        replicas: 1,
        serviceName: 'vm0',
        selector: { matchLabels: labels },
        template: {
          metadata: { labels, annotations: { 'stackbackup.test/run': 'true' } },
          spec: {
            securityContext: { runAsNonRoot: true, runAsUser: 65532, seccompProfile: { type: 'RuntimeDefault' } },
            containers: [
              {
                name: 'vm',
                image: 'victoriametrics/victoria-metrics:v1.79.5',
                command: [
                  victoriaMetricsTools().server,
                  '-storageDataPath=/storage',
                  `-httpListenAddr=127.0.0.1:${port}`,
                  '-retentionPeriod=100y',
                  '-search.disableCache',
                ],
                volumeMounts: [{ name: 'data', mountPath: '/storage' }],
                securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
              },
            ],
            volumes: [{ name: 'data', persistentVolumeClaim: { claimName: CLAIM } }],
          },
        },
      },
    },
  ];
}

/** The chart's Victoria Metrics objects, plus the Secret and ServiceAccounts they use. */
function chartObjects(docs: Manifest[]): Manifest[] {
  return docs.filter((d) => {
    const name = d.metadata.name;
    if (d.kind === 'Secret') return name === `${FULLNAME}-minio`;
    if (d.kind === 'ServiceAccount') return name === `${FULLNAME}-backup` || name === `${FULLNAME}-restore`;
    if (d.kind === 'CronJob') return name.includes('victoria-metrics');
    if (d.kind === 'ConfigMap') return (d.metadata.labels ?? {})['stackbackup.io/store'] === 'victoria-metrics';
    return false;
  });
}

const OLD = DateTime.utc().startOf('month').minus({ months: 1 }).plus({ days: 2 }).toMillis();
const backedUp = makeSeries(200, 120, OLD, 11);
const later = makeSeries(20, 10, DateTime.utc().minus({ hours: 2 }).toMillis(), 12, 'written_after_the_backup');

before(async () => {
  process.env.PATH = `${join(TOOLS_DIR, 'bin')}:${process.env.PATH ?? ''}`;
  port = await freePort();
  [cluster, minio] = await Promise.all([startKubernetes(), startMinio()]);
  cluster.alias(`http://${FULLNAME}-minio:9000`, minio.endpoint);
  cluster.alias(VM_SERVICE, vmUrl());
  await cluster.createNamespace(NAMESPACE, { 'pod-security.kubernetes.io/enforce': 'restricted' });
  const docs = await render({
    set: {
      ...minioValues(minio),
      [`${I0}.backup.enabled`]: 'true',
      [`${I0}.restore.enabled`]: 'true',
      [`${I0}.backup.url`]: VM_SERVICE,
      [`${I0}.backup.statefulSetName`]: STS,
      [`${I0}.backup.persistentVolumeClaim`]: CLAIM,
      [`${I0}.backup.podLabels.statefulset\\.kubernetes\\.io/pod-name`]: `${STS}-0`,
    },
  });
  const objects = [...chartObjects(docs), ...instanceObjects()];
  await kubectl(['apply', '--filename', '-'], objects.map((o) => JSON.stringify(o)).join('\n'));
  await until('the instance to answer', answers);
});
after(async () => {
  await Promise.all([cluster?.stop(), minio?.stop()]);
});

describe("Victoria Metrics on Kubernetes: the chart's CronJob, then the list and restore scripts with only kubectl", () => {
  let version = '';
  it("a Job from the chart's CronJob backs up the running instance from its claim, on its node", async () => {
    await importSeries(vmUrl(), backedUp);
    const cronjob = `${FULLNAME}-${I0}-backup`;
    await kubectl(['create', 'job', '--from', `cronjob/${cronjob}`, 'vm0-backup-now']);
    await kubectl(['wait', '--for=condition=complete', 'job/vm0-backup-now', '--timeout=180s']);
    const logs = await kubectl(['logs', 'job/vm0-backup-now']);
    const m = /backed up into new version (victoria-metrics-0-\d{14}) \(no volume marker/.exec(logs);
    assert.ok(m, logs);
    version = m[1] ?? '';
    await kubectl(['delete', 'job', 'vm0-backup-now', '--wait=true']);
  });

  it('list-victoria-metrics-backups.sh prints `instance version "last completed backup time"` and leaves nothing', async () => {
    const run = await script('list-victoria-metrics-backups.sh', []);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, new RegExp(`^${I0} ${version} "\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2} UTC"$`, 'm'));
    assert.match(run.stderr, /To restore a version: \.\/restore\/restore-victoria-metrics-backup\.sh INSTANCE VERSION/);
    assert.equal((await kubectl(['get', 'jobs', '--output', 'name'])).trim(), '');
  });

  it('restore-victoria-metrics-backup.sh scales to 0, restores, scales back, checks: every sample reads back equal', async () => {
    await importSeries(vmUrl(), later);
    assert.equal((await exportAll(vmUrl())).length, samplesOf([...backedUp, ...later]).length);
    const run = await script('restore-victoria-metrics-backup.sh', [I0, version]);
    assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
    assert.match(run.stderr, /recorded 1 replicas in annotation stackbackup\.io\/replicas-before-restore/);
    assert.match(run.stdout, new RegExp(`restored ${I0} from ${version}`));
    assert.match(run.stdout, /answers: 200 series/);
    assert.match(run.stderr, /Its next scheduled backup starts a new version/);
    await until('the instance to answer again', answers);
    assert.deepEqual(
      await exportAll(vmUrl()),
      samplesOf(backedUp),
      'the samples written after the backup are gone, every backed-up one is back',
    );
    const sts = JSON.parse(await kubectl(['get', `statefulset/${STS}`, '--output', 'json'])) as {
      spec: { replicas: number };
      metadata: { annotations?: Record<string, string> };
    };
    assert.equal(sts.spec.replicas, 1);
    assert.equal(sts.metadata.annotations?.['stackbackup.io/replicas-before-restore'], undefined);
    assert.equal((await kubectl(['get', 'jobs', '--output', 'name'])).trim(), '');
  });

  it('refuses bad arguments before touching anything, and names the Helm values when a template is missing', async () => {
    const bad = await script('restore-victoria-metrics-backup.sh', [I0, 'victoria-metrics-1-20240101000000']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /is not a version of victoria-metrics-0/);
    const missing = await script('restore-victoria-metrics-backup.sh', [
      'victoria-metrics-1',
      'victoria-metrics-1-20240101000000',
    ]);
    assert.equal(missing.code, 3, missing.stderr);
    assert.match(missing.stderr, /--set victoria-metrics-1\.restore\.enabled=true/);
    const sts = JSON.parse(await kubectl(['get', `statefulset/${STS}`, '--output', 'json'])) as {
      spec: { replicas: number };
    };
    assert.equal(sts.spec.replicas, 1);
  });
});
