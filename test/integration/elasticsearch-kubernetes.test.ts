/**
 * Elasticsearch end to end on the test Kubernetes API with a real Elasticsearch 8.19.2: the chart's
 * own configure Job, engine-cronjob CronJob and list/restore Job templates (rendered by the real Helm,
 * repository type fs because this distribution has no repository-s3), run by the pod runner with the
 * real CLI, in a namespace enforcing "restricted"; and the operator scripts
 * restore/list-elasticsearch-snapshots.sh and restore/restore-elasticsearch-snapshot.sh with only kubectl.
 */
import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from '@elastic/elasticsearch';
import { stringify } from 'yaml';
import { NAMESPACE, render } from '../chart/helm.js';
import { startElasticsearch, type ElasticsearchServer } from '../servers/elasticsearch.js';
import { tempDir } from '../servers/harness.js';
import {
  finishedJob as finishedComponentJob,
  kubectlOk,
  runScript,
  scaleStates,
  scriptLeftovers,
  untouchedStates,
  until,
  type ScriptRun,
} from '../support/operator.js';
import { startKubernetes, type KubernetesCluster } from '../servers/kubernetes.js';

/** The address the chart renders; the pod runner maps it to the test Elasticsearch. */
const IN_CLUSTER_ES = 'http://stackstate-elasticsearch-master:9200';
const SELECTOR = 'stackstate.com/writes-to-elasticsearch=true';
const WRITERS = { 'deployment/e2es': 2, 'deployment/mm2es': 1 } as const;
const INDEX = 'sts_internal_events-2024.01.05';

let cluster: KubernetesCluster;
let es: ElasticsearchServer;
let client: Client;
let work: string;
let scheduled: string;
let original: { id: string; source: unknown }[];
const kubectl = (args: string[], input?: string): Promise<string> => kubectlOk(cluster, args, input);
const script = (name: string, args: string[], namespace?: string): Promise<ScriptRun> =>
  runScript(cluster, name, args, namespace);

async function documents(index: string): Promise<{ id: string; source: unknown }[]> {
  const answer = await client.search({ index, size: 10_000, query: { match_all: {} } });
  return answer.hits.hits.map((h) => ({ id: h._id ?? '', source: h._source })).sort((a, b) => a.id.localeCompare(b.id));
}

async function seed(index: string, count: number): Promise<void> {
  await client.indices.create({ index, settings: { number_of_shards: 1, number_of_replicas: 0 } });
  const operations = Array.from({ length: count }, (_, i) => [
    { index: { _index: index, _id: `e-${i}` } },
    { n: i, message: `event ${i}` },
  ]).flat();
  assert.equal((await client.bulk({ operations, refresh: true })).errors, false);
}

const writers = (): Promise<Record<string, string>> => scaleStates(cluster, WRITERS);
const untouched = untouchedStates(WRITERS);
const leftovers = (): Promise<string> => scriptLeftovers(cluster);

/** Waits for a Job of the given component to finish; fails with its logs when it failed. */
const finishedJob = (component: string, timeoutMs: number): Promise<string> =>
  finishedComponentJob(cluster, component, [component.replace('elasticsearch-', '')], timeoutMs);

async function logOf(job: string, container: string): Promise<string> {
  const pods = (
    await kubectl(['get', 'pods', '--selector', `job-name=${job}`, '--output', 'jsonpath={.items[*].metadata.name}'])
  )
    .trim()
    .split(' ');
  return pods.map((p) => cluster.runner.logOf(NAMESPACE, p, container) ?? '').join('\n');
}

before(async () => {
  [cluster, es] = await Promise.all([startKubernetes(), startElasticsearch()]);
  cluster.alias(IN_CLUSTER_ES, es.url);
  client = new Client({ node: es.url });
  work = await tempDir('elasticsearch-k8s');
  await cluster.createNamespace(NAMESPACE, { 'pod-security.kubernetes.io/enforce': 'restricted' });
  await seed(INDEX, 250);
  await seed('sts_multi_metrics-2024.01.05', 40);
  original = await documents(INDEX);

  // The chart as an operator would configure it for an Elasticsearch without SLM and S3: engine cronjob
  // every minute, a shared fs repository, the writers selected by a label.
  const values = {
    backup: {
      enabled: true,
      stackGraph: { enabled: false },
      volumes: { enabled: false },
      elasticsearch: {
        url: IN_CLUSTER_ES,
        // Relative to the node's path.repo (the pod runner would rewrite a path under /tmp, a mount path).
        repository: { type: 'fs', location: 'sts-backup' },
        scheduled: {
          engine: 'cronjob',
          cronJobSchedule: '* * * * *',
          indices: '["sts*"]',
          snapshotRetentionMinCount: 1,
          snapshotRetentionMaxCount: 10,
        },
        restore: { scaleDownLabelSelector: SELECTOR },
      },
    },
    minio: { accessKey: 'ciaccess01', secretKey: 'cisecretkey0123456789', persistence: { enabled: true } },
  };
  const valuesFile = join(work, 'values.yaml');
  await writeFile(valuesFile, stringify(values));
  const docs = await render({ files: [valuesFile] });
  const mine = docs.filter((d) => d.metadata.name.includes('elasticsearch'));
  assert.deepEqual(mine.map((d) => `${d.kind}/${d.metadata.name}`).sort(), [
    'ConfigMap/sb-stackbackup-elasticsearch-list-job',
    'ConfigMap/sb-stackbackup-elasticsearch-restore-job',
    'CronJob/sb-stackbackup-elasticsearch-backup',
    'Job/sb-stackbackup-elasticsearch-configure',
  ]);
  // The S3 credentials Secret too: the backup and list Jobs reach the bucket for the snapshots' records
  // (this test runs no MinIO, so recording warns and the list shows no flags).
  const accounts = docs.filter(
    (d) =>
      ['ServiceAccount', 'Role', 'RoleBinding'].includes(d.kind) ||
      (d.kind === 'Secret' && d.metadata.name === 'sb-stackbackup-minio'),
  );
  await kubectl(['apply', '--filename', '-'], accounts.map((d) => JSON.stringify(d)).join('\n'));
  // The configure hook first (Helm runs it after install), then the CronJob and the templates.
  await kubectl(['apply', '--filename', '-'], JSON.stringify(mine.find((d) => d.kind === 'Job')));
  const labels = { 'stackstate.com/writes-to-elasticsearch': 'true' };
  const podSpec = (app: string) => ({
    metadata: { labels: { app } },
    spec: {
      securityContext: { runAsNonRoot: true, runAsUser: 65532, seccompProfile: { type: 'RuntimeDefault' } },
      containers: [
        {
          name: 'writer',
          image: 'registry.example/stackstate-correlate:1.0',
          securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
        },
      ],
    },
  });
  await kubectl(
    ['apply', '--filename', '-'],
    [
      ...Object.entries(WRITERS).map(([w, replicas]) => {
        const name = w.split('/')[1] ?? '';
        return {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          metadata: { name, labels },
          spec: { replicas, selector: { matchLabels: { app: name } }, template: podSpec(name) },
        };
      }),
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
  const configure = await finishedJob('elasticsearch-configure', 180_000);
  const log = await logOf(configure, 'configure');
  assert.match(log, /repository "sts-backup" verified by 1 node\(s\): node-0/);
  assert.match(log, /this Elasticsearch has no SLM: nothing to remove/);
  await kubectl(
    ['apply', '--filename', '-'],
    mine
      .filter((d) => d.kind !== 'Job')
      .map((d) => JSON.stringify(d))
      .join('\n'),
  );
});

after(async () => {
  await client?.close();
  await Promise.all([cluster?.stop(), es?.stop()]);
  if (work) await rm(work, { recursive: true, force: true });
});

describe("Elasticsearch on Kubernetes: the chart's Jobs and the operator scripts", () => {
  it('the engine-cronjob CronJob takes a snapshot named as SLM names them and applies retention', async () => {
    const job = await finishedJob('elasticsearch-backup', 240_000);
    await kubectl([
      'patch',
      'cronjob',
      'sb-stackbackup-elasticsearch-backup',
      '--type',
      'merge',
      '--patch',
      '{"spec":{"suspend":true}}',
    ]);
    await until(
      'no active backup Job',
      async () =>
        (
          await kubectl([
            'get',
            'cronjob',
            'sb-stackbackup-elasticsearch-backup',
            '--output',
            'jsonpath={.status.active}',
          ])
        ).trim() === '',
      180_000,
    );
    const log = await logOf(job, 'backup');
    const name = /snapshot (sts-backup-\d{8}-\d{4}-[a-z0-9_-]{22}) complete: 2 indices/.exec(log)?.[1];
    assert.ok(name, log);
    assert.match(log, /retention: nothing to delete/);
    const snapshots =
      (await client.snapshot.get({ repository: 'sts-backup', snapshot: '_all', sort: 'start_time', order: 'desc' }))
        .snapshots ?? [];
    assert.ok(snapshots.some((s) => s.snapshot === name && s.state === 'SUCCESS'));
    assert.ok(
      snapshots.every((s) => /^sts-backup-\d{8}-\d{4}-[a-z0-9_-]{22}$/.test(s.snapshot) && s.state === 'SUCCESS'),
      JSON.stringify(snapshots.map((s) => s.snapshot)),
    );
    // A run the schedule started before the suspension may have added one: restore the newest.
    scheduled = snapshots[0]?.snapshot ?? '';
  });

  it('list-elasticsearch-snapshots.sh prints the names one a line, and a table with -l', async () => {
    const list = await script('list-elasticsearch-snapshots.sh', []);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, new RegExp(`^${scheduled}$`, 'm'));
    assert.match(list.stdout, /=== Listing Elasticsearch snapshots in snapshot repository "sts-backup"/);
    assert.match(list.stderr, /^job\.batch\/elasticsearch-list-snapshots-\d{8}t\d{6}-[a-z0-9]{5} created$/m);
    assert.match(list.stderr, /^job\.batch "elasticsearch-list-snapshots-\S+" deleted$/m);
    const table = await script('list-elasticsearch-snapshots.sh', ['-l']);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^NAME\s+STATE\s+INDICES\s+START\s+END\s+SIZE$/m);
    assert.match(table.stdout, new RegExp(`^${scheduled}\\s+SUCCESS\\s+2\\s`, 'm'));
    assert.equal(await leftovers(), '');
  });

  it('refuses to restore over an open index: the writers come straight back, nothing changes', async () => {
    const run = await script('restore-elasticsearch-snapshot.sh', [scheduled, INDEX]);
    assert.equal(run.code, 8, run.stderr);
    assert.match(
      run.stdout + run.stderr,
      new RegExp(`(exist and are|exists and is) open: ${INDEX.replace(/\./g, '\\.')}`),
    );
    assert.match(run.stderr, /The restore was refused before any index was changed/);
    assert.match(run.stderr, /deployment\.apps\/e2es: recorded 2 replicas/);
    assert.deepEqual(await writers(), untouched);
    assert.deepEqual(await documents(INDEX), original);
    assert.equal(await leftovers(), '');
  });

  it('restores a deleted index with the writers stopped: documents equal, writers back, nothing left', async () => {
    await client.indices.delete({ index: INDEX });
    const run = await script('restore-elasticsearch-snapshot.sh', [scheduled, INDEX]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, new RegExp(`restored 1 index from snapshot ${scheduled}: ${INDEX.replace(/\./g, '\\.')}`));
    assert.match(run.stdout, /shards: total 1, failed 0, successful 1/);
    assert.match(run.stderr, /=== Stopping the workloads that write to Elasticsearch/);
    assert.match(run.stderr, /deployment\/e2es scaled to 2 replicas/);
    assert.match(run.stderr, /^job\.batch\/elasticsearch-restore-snapshot-\d{8}t\d{6}-[a-z0-9]{5} created$/m);
    assert.deepEqual(await documents(INDEX), original);
    assert.deepEqual(await writers(), untouched);
    assert.equal(await leftovers(), '');
  });

  it("-force replaces an open index with the snapshot's documents; the other index stays as it is", async () => {
    await client.index({ index: INDEX, id: 'after-the-snapshot', document: { message: 'new' }, refresh: true });
    await client.index({
      index: 'sts_multi_metrics-2024.01.05',
      id: 'kept',
      document: { message: 'kept' },
      refresh: true,
    });
    const run = await script('restore-elasticsearch-snapshot.sh', [scheduled, 'sts_internal*', '-force']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(
      run.stdout + run.stderr,
      new RegExp(`-force: deleting the existing index ${INDEX.replace(/\./g, '\\.')}`),
    );
    assert.deepEqual(await documents(INDEX), original);
    assert.equal(
      (await documents('sts_multi_metrics-2024.01.05')).length,
      41,
      'an index that was not chosen is untouched',
    );
    assert.deepEqual(await writers(), untouched);
  });

  it('an unknown snapshot: exit 3 with the available ones; bad arguments are refused before anything is created', async () => {
    const run = await script('restore-elasticsearch-snapshot.sh', ['sts-backup-20200101-0000-nothere']);
    assert.equal(run.code, 3, run.stderr);
    assert.match(run.stdout + run.stderr, new RegExp(`Available snapshots, newest first:\\s+${scheduled}`));
    assert.deepEqual(await writers(), untouched);
    const bad = await script('restore-elasticsearch-snapshot.sh', [scheduled, 'sts*;rm -rf /']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /invalid index list/);
    const tooMany = await script('restore-elasticsearch-snapshot.sh', [scheduled, 'a', 'b']);
    assert.equal(tooMany.code, 2);
    assert.equal(await leftovers(), '');
  });

  it("without the chart's templates: says which Helm values to set", async () => {
    await cluster.createNamespace('no-chart');
    const run = await script('list-elasticsearch-snapshots.sh', [], 'no-chart');
    assert.equal(run.code, 3);
    assert.match(run.stderr, /no "elasticsearch-list" job template in namespace "no-chart"/);
    assert.match(
      run.stderr,
      /--set backup\.enabled=true --set backup\.elasticsearch\.enabled=true --set backup\.elasticsearch\.restore\.enabled=true/,
    );
  });
});
