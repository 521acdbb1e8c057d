/**
 * The real-node tier, Elasticsearch: an Elasticsearch pod (the integ-test distribution on a JRE, the
 * image of scripts/images/recipes/elasticsearch.sh) with its data and a shared snapshot folder on claims;
 * `helm install` runs the chart's configure hook against it (repository type fs: this distribution has
 * neither repository-s3 nor SLM, so the engine is the chart's CronJob); the CronJob's snapshot, started
 * now; ./restore/list-elasticsearch-snapshots.sh; ./restore/restore-elasticsearch-snapshot.sh of one
 * chosen index (refused while it is open, restored after it was deleted), the other index untouched.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { runScript } from '../support/operator.js';
import {
  NS,
  RELEASE,
  RESTRICTED_POD,
  SECRET_KEY,
  baseValues,
  image,
  startRealNode,
  type RealNode,
} from './real-node.js';

const SERVICE = 'stackstate-elasticsearch-master';
const URL = `http://${SERVICE}:9200`;
const CHOSEN = 'sts_internal_events-2024.01.05';
const OTHER = 'sts_multi_metrics-2024.01.05';

let node: RealNode;

before(async () => {
  node = await startRealNode('real-node-es', ['jobs', 'minio', 'elasticsearch']);
});

after(async () => {
  await node?.stop();
});

/**
 * Node code run in the jobs image against Elasticsearch: waits for it, runs BODY (which may use
 * `es(method, path, json)`), and prints `RESULT <json>` of what BODY returns.
 */
async function esScript(body: string): Promise<unknown> {
  const log = await node.runNode(`
const url = ${JSON.stringify(URL)};
async function es(method, path, json) {
  const r = await fetch(url + path, { method, headers: { 'content-type': 'application/json' }, body: json === undefined ? undefined : (typeof json === 'string' ? json : JSON.stringify(json)) });
  const text = await r.text();
  if (!r.ok) throw new Error(method + ' ' + path + ': ' + r.status + ' ' + text);
  return JSON.parse(text);
}
async function documents(index) {
  const hits = (await es('POST', '/' + index + '/_search', { size: 1000, query: { match_all: {} } })).hits.hits;
  return hits.map((h) => ({ id: h._id, source: h._source })).sort((a, b) => a.id.localeCompare(b.id));
}
(async () => {
  for (let i = 0; ; i++) {
    const ok = await fetch(url + '/_cluster/health?wait_for_status=yellow&timeout=5s').then((r) => r.ok, () => false);
    if (ok) break;
    if (i > 120) throw new Error('Elasticsearch does not answer at ' + url);
    await new Promise((r) => setTimeout(r, 1000));
  }
  const result = await (async () => { ${body} })();
  console.log('RESULT ' + JSON.stringify(result));
})().catch((e) => { console.error(String(e)); process.exit(1); });
`);
  const line = log.split('\n').find((l) => l.startsWith('RESULT ')) ?? '';
  assert.ok(line !== '', `a result printed:\n${log}`);
  return JSON.parse(line.slice('RESULT '.length)) as unknown;
}

const seedBody = (index: string, count: number) => `
  await es('PUT', '/${index}', { settings: { number_of_shards: 1, number_of_replicas: 0 } });
  const lines = [];
  for (let i = 0; i < ${count}; i++) lines.push(JSON.stringify({ index: { _index: '${index}', _id: 'e-' + i } }), JSON.stringify({ n: i, message: 'event ' + i }));
  const answer = await es('POST', '/_bulk?refresh=true', lines.join('\\n') + '\\n');
  if (answer.errors) throw new Error('bulk: ' + JSON.stringify(answer.items.find((i) => i.index.error)));
  return (await documents('${index}')).length;`;

const bothIndices = () =>
  esScript(`return { chosen: await documents('${CHOSEN}'), other: await documents('${OTHER}') };`) as Promise<{
    chosen: unknown[];
    other: unknown[];
  }>;

describe('Elasticsearch on a real kubelet', () => {
  it('the configure hook sets up the repository, the CronJob snapshots, the operator scripts list the snapshot and restore a chosen index', async () => {
    const labels = { app: 'elasticsearch' };
    for (const claim of ['es-data', 'es-snapshots'])
      await node.apply({
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: { name: claim },
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
      });
    await node.apply({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: SERVICE },
      spec: { selector: labels, ports: [{ name: 'http', port: 9200, targetPort: 9200 }] },
    });
    await node.apply({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'elasticsearch' },
      spec: {
        replicas: 1,
        strategy: { type: 'Recreate' },
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            securityContext: RESTRICTED_POD,
            terminationGracePeriodSeconds: 20,
            containers: [
              {
                name: 'elasticsearch',
                image: image('elasticsearch').reference,
                imagePullPolicy: 'Never',
                // Elasticsearch writes its keystore into config/ at start: the root stays writable here
                // (the data platform's pod, not ours; "restricted" does not require a read-only root).
                args: [
                  '-Ediscovery.type=single-node',
                  '-Enetwork.host=0.0.0.0',
                  '-Expack.security.enabled=false',
                  '-Expack.ml.enabled=false',
                  '-Epath.repo=/snapshots',
                  '-Ecluster.routing.allocation.disk.threshold_enabled=false',
                ],
                env: [{ name: 'ES_JAVA_OPTS', value: '-Xms256m -Xmx256m -XX:TieredStopAtLevel=1' }],
                securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
                ports: [{ containerPort: 9200 }],
                // This distribution answers GET / with 405: the probe asks for the cluster's health.
                readinessProbe: { httpGet: { path: '/_cluster/health?local=true', port: 9200 }, periodSeconds: 3 },
                resources: { requests: { cpu: '100m', memory: '512Mi' }, limits: { memory: '1Gi' } },
                volumeMounts: [
                  { name: 'data', mountPath: '/usr/share/elasticsearch/data' },
                  { name: 'snapshots', mountPath: '/snapshots' },
                ],
              },
            ],
            volumes: [
              { name: 'data', persistentVolumeClaim: { claimName: 'es-data' } },
              { name: 'snapshots', persistentVolumeClaim: { claimName: 'es-snapshots' } },
            ],
          },
        },
      },
    });
    await node.rollout('deployment/elasticsearch', 180);
    assert.equal(await esScript(seedBody(CHOSEN, 120)), 120);
    assert.equal(await esScript(seedBody(OTHER, 30)), 30);
    const original = await bothIndices();

    // helm install runs the configure hook (a post-install Job) against the running Elasticsearch.
    await node.install(
      baseValues({
        stackGraph: { enabled: false },
        elasticsearch: {
          url: URL,
          repository: { type: 'fs', location: 'sts-backup' },
          scheduled: { engine: 'cronjob', cronJobSchedule: '0 3 * * *', indices: '["sts*"]' },
        },
      }),
    );
    // The hook Job stays until the next upgrade (hook-delete-policy before-hook-creation): its log is there.
    const configure = await node.kubectl(['logs', `job/${RELEASE}-elasticsearch-configure`, '--all-containers']);
    assert.match(configure, /repository "sts-backup" verified by 1 node\(s\)/);
    assert.match(configure, /this Elasticsearch has no SLM: nothing to remove/);
    const repository = (await esScript(`return await es('GET', '/_snapshot/sts-backup');`)) as Record<
      string,
      { type: string; settings: { location: string } }
    >;
    assert.equal(repository['sts-backup']?.type, 'fs');

    await node.kubectl(['create', 'job', 'es-backup-now', '--from', `cronjob/${RELEASE}-elasticsearch-backup`]);
    const log = await node.waitJob('es-backup-now', 240);
    const snapshot = /snapshot (sts-backup-\d{8}-\d{4}-[a-z0-9_-]{22}) complete: 2 indices/.exec(log)?.[1];
    assert.ok(snapshot, `the backup log names its snapshot:\n${log}`);
    assert.ok(!log.includes(SECRET_KEY), 'no credential in the job log');

    const list = await runScript(node.cluster, 'list-elasticsearch-snapshots.sh', [], NS);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, new RegExp(`^${snapshot}$`, 'm'));
    const table = await runScript(node.cluster, 'list-elasticsearch-snapshots.sh', ['-l'], NS);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, new RegExp(`^${snapshot}\\s+SUCCESS\\s+2\\s`, 'm'));

    // Refused while the chosen index is open; nothing changes.
    const refused = await runScript(node.cluster, 'restore-elasticsearch-snapshot.sh', [snapshot, CHOSEN], NS);
    assert.notEqual(refused.code, 0, 'a restore over an open index is refused without -force');
    assert.match(refused.stdout + refused.stderr, /open: sts_internal_events-2024\.01\.05/);
    assert.deepEqual(await bothIndices(), original);

    // The chosen index lost (deleted, then a stray document written to the other one): restore the chosen one only.
    await esScript(
      `await es('DELETE', '/${CHOSEN}'); await es('PUT', '/${OTHER}/_doc/later?refresh=true', { n: -1 }); return true;`,
    );
    const restored = await runScript(node.cluster, 'restore-elasticsearch-snapshot.sh', [snapshot, CHOSEN], NS);
    assert.equal(restored.code, 0, `${restored.stdout}\n${restored.stderr}`);
    assert.match(
      restored.stdout,
      new RegExp(`restored 1 index from snapshot ${snapshot}: sts_internal_events-2024\\.01\\.05`),
    );
    const now = await bothIndices();
    assert.deepEqual(now.chosen, original.chosen, 'the chosen index holds exactly the documents of the snapshot');
    assert.equal(now.other.length, original.other.length + 1, 'the index not chosen is left as it was');
  });
});
