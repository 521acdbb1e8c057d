/**
 * `helm template` over the value matrix in chart/ci: for each endpoint mode, backups off and on,
 * restore-only, backups-only and stores off, the resources and fields that matter.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import {
  CHART_DIR,
  FULLNAME,
  NAMESPACE,
  containerOf,
  envOf,
  find,
  has,
  names,
  podOf,
  podTemplates,
  render,
  secretData,
  volumeOf,
  type Manifest,
} from './helm.js';

const ENDPOINT = `http://${FULLNAME}-minio:9000`;

function initArgs(docs: Manifest[]): string[] {
  return containerOf(find(docs, 'Job', `${FULLNAME}-bucket-init`), 'bucket-init').args ?? [];
}

function bucketsOf(args: string[]): string[] {
  const out: string[] = [];
  args.forEach((a, i) => {
    if (a === '--bucket') out.push(args[i + 1] ?? '');
  });
  return out;
}

describe('chart rendering: backups off', () => {
  it('renders nothing by default', async () => {
    assert.deepEqual(await render(), []);
    assert.deepEqual(await render({ files: ['backups-off-values.yaml'] }), []);
  });
});

describe('chart rendering: MinIO on a PVC (minio-persistence-values.yaml)', () => {
  it('runs one MinIO server on the claim the chart creates, kept on uninstall', async () => {
    const docs = await render({ files: ['minio-persistence-values.yaml'] });
    const deploy = find(docs, 'Deployment', `${FULLNAME}-minio`);
    assert.equal(deploy.metadata.namespace, NAMESPACE);
    assert.equal(deploy.spec?.replicas, 1);
    assert.deepEqual(deploy.spec?.strategy, { type: 'Recreate' });
    const minio = containerOf(deploy, 'minio');
    assert.equal(minio.image, 'quay.io/minio/minio:RELEASE.2025-09-07T16-13-09Z');
    assert.deepEqual(minio.args?.slice(0, 2), ['server', '/data']);
    const env = envOf(minio);
    assert.equal(env.MINIO_ROOT_USER_FILE, '/var/run/secrets/stackbackup/s3/accessKey');
    assert.equal(env.MINIO_ROOT_PASSWORD_FILE, '/var/run/secrets/stackbackup/s3/secretKey');
    assert.deepEqual(volumeOf(deploy, 'data').persistentVolumeClaim, { claimName: `${FULLNAME}-minio` });
    assert.equal(volumeOf(deploy, 's3-credentials').secret?.secretName, `${FULLNAME}-minio`);

    const pvc = find(docs, 'PersistentVolumeClaim', `${FULLNAME}-minio`);
    assert.equal(pvc.metadata.annotations?.['helm.sh/resource-policy'], 'keep');
    assert.deepEqual(pvc.spec?.resources, { requests: { storage: '20Gi' } });
    assert.equal(pvc.spec?.storageClassName, 'fast');
    assert.deepEqual(pvc.spec?.accessModes, ['ReadWriteOnce']);

    const svc = find(docs, 'Service', `${FULLNAME}-minio`);
    assert.equal((svc.spec?.selector as Record<string, string>)['app.kubernetes.io/component'], 'minio');
    assert.deepEqual((svc.spec?.ports as { port: number; targetPort: string }[]).map((p) => [p.port, p.targetPort]), [[9000, 's3']]);
    assert.equal(has(docs, 'Deployment', `${FULLNAME}-gateway`), false);
    assert.deepEqual(secretData(find(docs, 'Secret', `${FULLNAME}-minio`)), { accessKey: 'ciaccess01', secretKey: 'cisecretkey0123456789' });
  });

  it('creates the bucket of every store with scheduled backups once, in a post-install/upgrade hook', async () => {
    const docs = await render({ files: ['minio-persistence-values.yaml'] });
    const job = find(docs, 'Job', `${FULLNAME}-bucket-init`);
    assert.equal(job.metadata.annotations?.['helm.sh/hook'], 'post-install,post-upgrade');
    assert.equal(job.metadata.annotations?.['helm.sh/hook-delete-policy'], 'before-hook-creation,hook-succeeded');
    assert.equal(job.spec?.backoffLimit, 6);
    const c = containerOf(job, 'bucket-init');
    assert.deepEqual(c.command, ['stackbackup']);
    const args = initArgs(docs);
    assert.deepEqual(args.slice(0, 2), ['storage', 'init']);
    // victoria-metrics-0 and -1 share a bucket: it is created once.
    assert.deepEqual(bucketsOf(args), ['sts-elasticsearch-backup', 'sts-stackgraph-backup', 'sts-victoria-metrics-backup', 'sts-volume-backup']);
    assert.deepEqual(envOf(c), {
      STACKBACKUP_S3_ENDPOINT: ENDPOINT,
      STACKBACKUP_S3_ACCESS_KEY_FILE: '/var/run/secrets/stackbackup/s3/accessKey',
      STACKBACKUP_S3_SECRET_KEY_FILE: '/var/run/secrets/stackbackup/s3/secretKey',
    });
    assert.deepEqual(
      c.volumeMounts?.find((m) => m.name === 's3-credentials'),
      { name: 's3-credentials', mountPath: '/var/run/secrets/stackbackup/s3', readOnly: true },
    );
    assert.equal(volumeOf(job, 's3-credentials').secret?.secretName, `${FULLNAME}-minio`);
    assert.equal(podOf(job).spec.serviceAccountName, `${FULLNAME}-init`);
    assert.equal(podOf(job).spec.restartPolicy, 'Never');
    assert.equal(c.image, 'ghcr.io/stackbackup/stackbackup-jobs:0.1.0');
  });

  it('gives each job kind its own ServiceAccount; only restores, status and the volume dispatcher get a Role, namespaced and narrow', async () => {
    const docs = await render({ files: ['minio-persistence-values.yaml'] });
    assert.deepEqual(names(docs, 'ServiceAccount'), ['backup', 'init', 'restore', 'server', 'status', 'volume-dispatch'].map((k) => `${FULLNAME}-${k}`));
    for (const sa of docs.filter((d) => d.kind === 'ServiceAccount')) {
      // The dispatcher's pod asks for its token itself (automountServiceAccountToken in its pod spec).
      assert.equal(sa.automountServiceAccountToken, sa.metadata.name.endsWith('-restore'), `${sa.metadata.name} token automount`);
    }
    assert.deepEqual(names(docs, 'Role'), [`${FULLNAME}-restore`, `${FULLNAME}-status`, `${FULLNAME}-volume-dispatch`]);
    // status (./restore/status.sh, the metrics exporter) only reads CronJobs and Jobs, and lists the
    // claims that backup.volumes.claimSelector picks (these values set one).
    assert.deepEqual(find(docs, 'Role', `${FULLNAME}-status`).rules, [
      { apiGroups: ['batch'], resources: ['cronjobs', 'jobs'], verbs: ['get', 'list'] },
      { apiGroups: [''], resources: ['persistentvolumeclaims'], verbs: ['list'] },
    ]);
    const noSelector = await render({ files: ['minio-persistence-values.yaml'], set: { 'backup.volumes.claims': '{claim-alice}' }, setString: { 'backup.volumes.claimSelector': '' } });
    assert.deepEqual(find(noSelector, 'Role', `${FULLNAME}-status`).rules, [{ apiGroups: ['batch'], resources: ['cronjobs', 'jobs'], verbs: ['get', 'list'] }]);
    const dispatch = (find(docs, 'Role', `${FULLNAME}-volume-dispatch`).rules as { resources: string[]; verbs: string[] }[]);
    assert.ok(dispatch.every((r) => !r.verbs.includes('*') && !r.resources.includes('*') && !r.resources.includes('secrets')), 'the dispatcher\'s Role: no wildcards, no Secrets');
    assert.equal(has(docs, 'ClusterRole'), false);
    assert.equal(has(docs, 'ClusterRoleBinding'), false);
    const role = find(docs, 'Role', `${FULLNAME}-restore`);
    const rules = role.rules as { apiGroups: string[]; resources: string[]; verbs: string[] }[];
    const resources = rules.flatMap((r) => r.resources);
    assert.ok(!resources.includes('secrets'), 'the restore Role cannot read Secrets');
    assert.ok(!resources.includes('pods/exec'), 'the restore Role cannot exec into pods');
    assert.ok(rules.every((r) => !r.verbs.includes('*') && !r.resources.includes('*')), 'no wildcards');
    assert.ok(resources.includes('statefulsets/scale'));
    const binding = find(docs, 'RoleBinding', `${FULLNAME}-restore`);
    assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: `${FULLNAME}-restore`, namespace: NAMESPACE }]);
  });
});

describe('chart rendering: MinIO variants', () => {
  it('uses an existing claim and an existing Secret without rendering either', async () => {
    const docs = await render({ files: ['minio-existing-values.yaml'] });
    assert.equal(has(docs, 'Secret'), false);
    assert.equal(has(docs, 'PersistentVolumeClaim'), false);
    const deploy = find(docs, 'Deployment', `${FULLNAME}-minio`);
    assert.deepEqual(volumeOf(deploy, 'data').persistentVolumeClaim, { claimName: 'backup-data' });
    assert.equal(volumeOf(deploy, 's3-credentials').secret?.secretName, 'backup-credentials');
    assert.equal(volumeOf(find(docs, 'Job', `${FULLNAME}-bucket-init`), 's3-credentials').secret?.secretName, 'backup-credentials');
  });

  it('runs MinIO on an emptyDir only when minio.persistence.allowEmptyDir says so', async () => {
    const docs = await render({ files: ['minio-emptydir-values.yaml'] });
    const deploy = find(docs, 'Deployment', `${FULLNAME}-minio`);
    assert.deepEqual(volumeOf(deploy, 'data').emptyDir, {});
    assert.equal(has(docs, 'PersistentVolumeClaim'), false);
  });
});

describe('chart rendering: AWS S3 gateway (s3gateway-values.yaml)', () => {
  it('runs s3proxy in front of S3 with the cloud credentials mounted in the gateway only', async () => {
    const docs = await render({ files: ['s3gateway-values.yaml'] });
    assert.equal(has(docs, 'Deployment', `${FULLNAME}-minio`), false);
    assert.equal(has(docs, 'PersistentVolumeClaim'), false);
    const deploy = find(docs, 'Deployment', `${FULLNAME}-gateway`);
    const c = containerOf(deploy, 's3proxy');
    assert.equal(c.image, 'andrewgaul/s3proxy:4.1.0');
    assert.deepEqual(c.command, ['/bin/sh', '/opt/stackbackup/run-s3proxy.sh']);
    const env = envOf(c);
    assert.equal(env.S3PROXY_AUTHORIZATION, 'aws-v2-or-v4');
    assert.equal(env.S3PROXY_ENDPOINT, 'http://0.0.0.0:9000');
    assert.equal(env.JCLOUDS_PROVIDER, 'aws-s3');
    assert.equal(env.JCLOUDS_ENDPOINT, 'https://s3.amazonaws.com');
    assert.equal(env.JCLOUDS_REGION, 'eu-west-1');
    assert.equal(env.S3PROXY_IDENTITY_FILE, '/var/run/secrets/stackbackup/s3/accessKey');
    assert.equal(env.S3PROXY_CREDENTIAL_FILE, '/var/run/secrets/stackbackup/s3/secretKey');
    assert.equal(env.JCLOUDS_IDENTITY_FILE, '/var/run/secrets/stackbackup/cloud/accessKey');
    assert.equal(env.JCLOUDS_CREDENTIAL_FILE, '/var/run/secrets/stackbackup/cloud/secretKey');
    assert.equal(volumeOf(deploy, 'cloud-credentials').secret?.secretName, `${FULLNAME}-s3gateway`);
    assert.deepEqual(secretData(find(docs, 'Secret', `${FULLNAME}-s3gateway`)), {
      accessKey: 'AKIACICLOUDKEY0001',
      secretKey: 'ciCloudSecret/with+chars=0123456789abcdef',
    });
    // Jobs never see the cloud credentials.
    const job = find(docs, 'Job', `${FULLNAME}-bucket-init`);
    assert.ok(!JSON.stringify(podOf(job)).includes('s3gateway'), 'the bucket-init pod does not mount the cloud Secret');
    assert.equal(envOf(containerOf(job, 'bucket-init')).STACKBACKUP_S3_ENDPOINT, ENDPOINT);
    assert.equal(envOf(containerOf(job, 'bucket-init')).STACKBACKUP_S3_REGION, 'eu-west-1');
  });

  it('serves the endpoint Service from the gateway, with the start script from the chart in a ConfigMap', async () => {
    const docs = await render({ files: ['s3gateway-values.yaml'] });
    const svc = find(docs, 'Service', `${FULLNAME}-minio`);
    assert.equal((svc.spec?.selector as Record<string, string>)['app.kubernetes.io/component'], 'gateway');
    const cm = find(docs, 'ConfigMap', `${FULLNAME}-gateway`);
    const script = await readFile(join(CHART_DIR, 'files', 'gateway', 'run-s3proxy.sh'), 'utf8');
    assert.equal(cm.data?.['run-s3proxy.sh'], script);
    assert.equal(volumeOf(find(docs, 'Deployment', `${FULLNAME}-gateway`), 'script').configMap?.name, `${FULLNAME}-gateway`);
    assert.deepEqual(bucketsOf(initArgs(docs)), ['ci-elasticsearch-bucket', 'ci-stackgraph-bucket', 'ci-victoria-metrics-bucket']);
  });

  it('takes both credentials from existing Secrets, for any S3 endpoint', async () => {
    const docs = await render({ files: ['s3gateway-existing-values.yaml'] });
    assert.equal(has(docs, 'Secret'), false);
    const deploy = find(docs, 'Deployment', `${FULLNAME}-gateway`);
    assert.equal(volumeOf(deploy, 'cloud-credentials').secret?.secretName, 'cloud-credentials');
    assert.equal(volumeOf(deploy, 's3-credentials').secret?.secretName, 'backup-credentials');
    const env = envOf(containerOf(deploy, 's3proxy'));
    assert.equal(env.JCLOUDS_PROVIDER, 's3');
    assert.equal(env.JCLOUDS_ENDPOINT, 'https://objects.example.internal:9443');
    assert.equal(env.JCLOUDS_REGION, undefined);
  });
});

describe('chart rendering: Azure gateway (azuregateway-values.yaml)', () => {
  it('runs s3proxy in front of Azure with the account name and key from minio.accessKey/secretKey', async () => {
    const docs = await render({ files: ['azuregateway-values.yaml'] });
    const deploy = find(docs, 'Deployment', `${FULLNAME}-gateway`);
    const env = envOf(containerOf(deploy, 's3proxy'));
    assert.equal(env.JCLOUDS_PROVIDER, 'azureblob-sdk');
    assert.equal(env.JCLOUDS_ENDPOINT, '', 'empty: the start script derives https://<account>.blob.core.windows.net');
    assert.equal(env.JCLOUDS_IDENTITY_FILE, env.S3PROXY_IDENTITY_FILE);
    assert.equal(env.JCLOUDS_CREDENTIAL_FILE, env.S3PROXY_CREDENTIAL_FILE);
    assert.equal(podOf(deploy).spec.volumes?.some((v) => v.name === 'cloud-credentials'), false);
    assert.deepEqual(names(docs, 'Secret'), [`${FULLNAME}-minio`]);
    assert.equal(secretData(find(docs, 'Secret', `${FULLNAME}-minio`)).accessKey, 'ciaccount01');
  });
});

describe('chart rendering: which stores and job kinds render', () => {
  it('restore-only: no bucket is created, the restore ServiceAccount and Role render, no backup account', async () => {
    const docs = await render({ files: ['restore-only-values.yaml'] });
    assert.equal(has(docs, 'Job', `${FULLNAME}-bucket-init`), false);
    // The only Job: Elasticsearch's configure hook, which registers the snapshot repository restores read.
    assert.deepEqual(names(docs, 'Job'), [`${FULLNAME}-elasticsearch-configure`]);
    assert.deepEqual(names(docs, 'ServiceAccount'), [`${FULLNAME}-restore`, `${FULLNAME}-server`, `${FULLNAME}-status`]);
    assert.ok(has(docs, 'Role', `${FULLNAME}-restore`));
  });

  it('backups-only: buckets are created, no restore ServiceAccount or Role (only the read-only status one)', async () => {
    const docs = await render({ files: ['backups-only-values.yaml'] });
    assert.deepEqual(bucketsOf(initArgs(docs)), ['sts-elasticsearch-backup', 'sts-stackgraph-backup', 'sts-victoria-metrics-backup']);
    assert.deepEqual(names(docs, 'ServiceAccount'), ['backup', 'init', 'server', 'status'].map((k) => `${FULLNAME}-${k}`));
    assert.deepEqual(names(docs, 'Role'), [`${FULLNAME}-status`]);
  });

  it('every store off: only the endpoint, its Secret and the server ServiceAccount', async () => {
    const docs = await render({ files: ['stores-off-values.yaml'] });
    assert.deepEqual(
      docs.map((d) => `${d.kind}/${d.metadata.name}`).sort(),
      [
        `Deployment/${FULLNAME}-minio`,
        `PersistentVolumeClaim/${FULLNAME}-minio`,
        `Secret/${FULLNAME}-minio`,
        `Service/${FULLNAME}-minio`,
        `ServiceAccount/${FULLNAME}-server`,
      ],
    );
  });

  it('turns single stores on and off', async () => {
    const base = { files: ['stores-off-values.yaml'] };
    const cases: [Record<string, string>, string[]][] = [
      [{ 'backup.stackGraph.enabled': 'true' }, ['sts-stackgraph-backup']],
      [{ 'backup.elasticsearch.enabled': 'true' }, ['sts-elasticsearch-backup']],
      [{ 'backup.volumes.enabled': 'true', 'backup.volumes.repository.password': 'ci-restic-password-0123', 'backup.volumes.claims[0]': 'claim-alice' }, ['sts-volume-backup']],
      [{ 'victoria-metrics-1.backup.enabled': 'true' }, ['sts-victoria-metrics-backup']],
      [{ 'backup.stackGraph.enabled': 'true', 'backup.stackGraph.scheduled.enabled': 'false' }, []],
    ];
    for (const [set, buckets] of cases) {
      const docs = await render({ ...base, set });
      if (buckets.length === 0) assert.equal(has(docs, 'Job'), false, JSON.stringify(set));
      else assert.deepEqual(bucketsOf(initArgs(docs)), buckets, JSON.stringify(set));
    }
  });

  it('accepts any number of victoria-metrics-N instances', async () => {
    const docs = await render({ files: ['placement-values.yaml'] });
    assert.deepEqual(bucketsOf(initArgs(docs)), ['sts-elasticsearch-backup', 'sts-stackgraph-backup', 'sts-victoria-metrics-backup']);
    const vm2 = await render({
      files: ['stores-off-values.yaml'],
      set: { 'victoria-metrics-7.backup.enabled': 'true', 'victoria-metrics-7.backup.bucketName': 'vm-seven', 'victoria-metrics-7.restore.enabled': 'false' },
      setString: { 'victoria-metrics-7.backup.scheduled.schedule': '5 * * * *' },
    });
    assert.deepEqual(bucketsOf(initArgs(vm2)), ['vm-seven']);
  });
});

describe('chart rendering: placement, images and metadata (placement-values.yaml)', () => {
  it('applies commonLabels and commonAnnotations to every resource and pod', async () => {
    const docs = await render({ files: ['placement-values.yaml'] });
    assert.ok(docs.length >= 10);
    for (const d of docs) {
      assert.equal(d.metadata.labels?.team, 'platform', `${d.kind}/${d.metadata.name} label`);
      assert.equal(d.metadata.annotations?.owner, 'platform-team', `${d.kind}/${d.metadata.name} annotation`);
      assert.equal(d.metadata.labels?.['app.kubernetes.io/instance'], 'sb');
    }
    for (const { owner, template } of podTemplates(docs)) {
      assert.equal(template.metadata?.labels?.team, 'platform', `${owner} pod label`);
      assert.deepEqual(template.spec.imagePullSecrets, [{ name: 'regcred' }, { name: 'mirrorcred' }], owner);
      assert.equal(template.spec.securityContext?.runAsUser, 10001, owner);
      assert.equal(template.spec.securityContext?.fsGroup, 10001, owner);
    }
    for (const sa of docs.filter((d) => d.kind === 'ServiceAccount')) {
      assert.equal(sa.metadata.annotations?.['eks.amazonaws.com/role-arn'], 'arn:aws:iam::123456789012:role/backup');
    }
  });

  it('places job pods and the MinIO pod by their own settings', async () => {
    const docs = await render({ files: ['placement-values.yaml'] });
    const job = podOf(find(docs, 'Job', `${FULLNAME}-bucket-init`));
    assert.deepEqual(job.spec.nodeSelector, { pool: 'batch' });
    assert.deepEqual(job.spec.tolerations, [{ key: 'batch', operator: 'Exists', effect: 'NoSchedule' }]);
    assert.ok(JSON.stringify(job.spec.affinity).includes('kubernetes.io/arch'));
    assert.equal(job.metadata?.labels?.role, 'backup-job');
    assert.equal(job.metadata?.annotations?.['sidecar.istio.io/inject'], 'false');
    const c = job.spec.containers[0];
    assert.equal(c?.image, 'registry.example/stackbackup-jobs:1.2.3');
    assert.equal(c?.imagePullPolicy, 'Always');

    const minio = find(docs, 'Deployment', `${FULLNAME}-minio`);
    const pod = podOf(minio);
    assert.deepEqual(pod.spec.nodeSelector, { pool: 'storage' });
    assert.deepEqual(pod.spec.tolerations, [{ key: 'storage', operator: 'Exists' }]);
    assert.deepEqual(pod.spec.affinity, { podAntiAffinity: {} });
    assert.equal(pod.metadata?.labels?.role, 'backup-store');
    assert.equal(pod.metadata?.annotations?.['backup.velero.io/backup-volumes'], 'data');
    assert.equal(containerOf(minio, 'minio').image, 'registry.example/minio:RELEASE.2025-09-07T16-13-09Z');
    assert.deepEqual(containerOf(minio, 'minio').resources, { requests: { cpu: '250m', memory: '1Gi' }, limits: { memory: '2Gi' } });
    // Selectors stay stable whatever extra labels are set.
    assert.deepEqual((minio.spec?.selector as { matchLabels: Record<string, string> }).matchLabels, {
      'app.kubernetes.io/name': 'stackbackup',
      'app.kubernetes.io/instance': 'sb',
      'app.kubernetes.io/component': 'minio',
    });
  });

  it('names resources after fullnameOverride', async () => {
    const docs = await render({ files: ['minio-emptydir-values.yaml'], set: { fullnameOverride: 'backups' } });
    assert.ok(has(docs, 'Deployment', 'backups-minio'));
    assert.equal(envOf(containerOf(find(docs, 'Job', 'backups-bucket-init'), 'bucket-init')).STACKBACKUP_S3_ENDPOINT, 'http://backups-minio:9000');
  });
});

describe('chart rendering: volume backups (volumes-values.yaml)', () => {
  const jobArgs = (docs: Manifest[], configMap: string, key: string): string[] => {
    const text = find(docs, 'ConfigMap', configMap).data?.[key] ?? '';
    const job = (key === 'job.json' ? JSON.parse(text) : parse(text)) as { spec: { template: { spec: { containers: { args?: string[] }[] } } } };
    return job.spec.template.spec.containers[0]?.args ?? [];
  };
  const after = (args: string[], flag: string): string[] => args.flatMap((a, i) => (a === flag ? [args[i + 1] ?? ''] : []));

  it('dispatches one backup Job per claim by name and by label, in the window, with the owner key', async () => {
    const docs = await render({ files: ['volumes-values.yaml'] });
    const cron = find(docs, 'CronJob', `${FULLNAME}-volume-dispatch`);
    assert.equal(cron.spec?.schedule, '0 3 * * *');
    const args = containerOf(cron, 'volume-dispatch').args ?? [];
    assert.deepEqual(args.slice(0, 2), ['volumes', 'dispatch']);
    assert.deepEqual(after(args, '--claim'), ['claim-alice', 'claim-bob']);
    assert.deepEqual(after(args, '--selector'), ['component=singleuser-storage']);
    assert.deepEqual(after(args, '--window'), ['90m']);
    assert.deepEqual(after(args, '--owner-key'), ['hub.jupyter.org/username']);
    assert.deepEqual(after(args, '--bucket'), ['ci-home-backups']);
    assert.deepEqual(after(args, '--prefix'), ['jupyterhub/homes']);
    assert.deepEqual(after(args, '--host'), [NAMESPACE]);
    assert.equal(podOf(cron).spec.serviceAccountName, `${FULLNAME}-volume-dispatch`);
    assert.equal(podOf(cron).spec.automountServiceAccountToken, true);
  });

  it('the dispatch account may read claims and pods, read its template and create Jobs, nothing more', async () => {
    const docs = await render({ files: ['volumes-values.yaml'] });
    const role = find(docs, 'Role', `${FULLNAME}-volume-dispatch`);
    const rules = (role as unknown as { rules: { apiGroups: string[]; resources: string[]; verbs: string[]; resourceNames?: string[] }[] }).rules;
    assert.deepEqual(rules, [
      { apiGroups: [''], resources: ['persistentvolumeclaims', 'pods'], verbs: ['get', 'list'] },
      { apiGroups: [''], resources: ['configmaps'], resourceNames: [`${FULLNAME}-volume-backup-job`], verbs: ['get'] },
      { apiGroups: ['batch'], resources: ['jobs'], verbs: ['list', 'create'] },
    ]);
    assert.ok(has(docs, 'RoleBinding', `${FULLNAME}-volume-dispatch`));
    assert.equal(find(docs, 'ServiceAccount', `${FULLNAME}-volume-dispatch`).automountServiceAccountToken, false);
  });

  it('gives the backup template and the maintenance prune the common retention and each claim\'s own rules', async () => {
    const docs = await render({ files: ['volumes-values.yaml'] });
    const backup = jobArgs(docs, `${FULLNAME}-volume-backup-job`, 'job.json');
    assert.deepEqual(backup.slice(0, 2), ['volumes', 'backup']);
    const prune = containerOf(find(docs, 'CronJob', `${FULLNAME}-volume-maintenance`), 'volume-check');
    const init = podOf(find(docs, 'CronJob', `${FULLNAME}-volume-maintenance`)).spec.initContainers?.[0]?.args ?? [];
    assert.deepEqual(init.slice(0, 2), ['volumes', 'prune']);
    for (const args of [backup, init]) {
      assert.deepEqual(['--keep-last', '--keep-hourly', '--keep-daily', '--keep-weekly', '--keep-monthly', '--keep-yearly'].map((f) => after(args, f)[0]), ['2', '0', '14', '4', '3', '0']);
      assert.deepEqual(after(args, '--claim-retention'), ['claim-alice:keepDaily=30,keepMonthly=12', 'claim-bob:keepLast=1,keepWeekly=0']);
    }
    assert.deepEqual(after(backup, '--exclude'), ['.cache', '*.tmp']);
    assert.deepEqual(after(prune.args ?? [], '--read-data-subset'), ['1/10']);
    assert.equal(find(docs, 'CronJob', `${FULLNAME}-volume-maintenance`).spec?.schedule, '30 1 * * 6');
  });

  it('keeps the password in its Secret and renders the list and restore templates', async () => {
    const docs = await render({ files: ['volumes-values.yaml'] });
    assert.deepEqual(secretData(find(docs, 'Secret', `${FULLNAME}-volumes-restic`)), { password: 'ci-restic-password-0123456789' });
    assert.deepEqual(jobArgs(docs, `${FULLNAME}-volume-list-job`, 'job.yaml').slice(0, 2), ['volumes', 'list']);
    assert.deepEqual(jobArgs(docs, `${FULLNAME}-volume-restore-job`, 'job.yaml').slice(0, 2), ['volumes', 'restore']);
    const text = JSON.stringify(docs.filter((d) => d.kind !== 'Secret'));
    assert.ok(!text.includes('ci-restic-password-0123456789'), 'the password appears outside its Secret');
  });
});
