/**
 * The real-node tier, Victoria Metrics: a VictoriaMetrics StatefulSet (the image of
 * scripts/images/recipes/victoria-metrics.sh) with data on its claim; the chart's hourly CronJob for
 * it, run now, lands on the instance's node (required pod affinity) and mounts the same ReadWriteOnce
 * claim; the volume wiped and the next backup starting a new version; the first version restored by
 * ./restore/restore-victoria-metrics-backup.sh; the samples read back equal to those written.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { runScript } from '../support/operator.js';
import { BUSYBOX_IMAGE } from '../servers/node-cluster.js';
import {
  NS,
  RELEASE,
  RESTRICTED_CONTAINER,
  RESTRICTED_POD,
  SECRET_KEY,
  baseValues,
  image,
  startRealNode,
  toolJob,
  type RealNode,
} from './real-node.js';

const STS = 'stackstate-victoria-metrics-0';
const CLAIM = `server-volume-${STS}-0`;
const URL = `http://${STS}:8428`;

let node: RealNode;

before(async () => {
  node = await startRealNode('real-node-vm', ['jobs', 'minio', 'victoria-metrics']);
});

after(async () => {
  await node?.stop();
});

/** Node code run in the jobs image: writes (SERIES=...) or exports the test's samples as sorted JSON lines. */
function vmScript(mode: 'write' | 'read', series: string): string {
  return `
const url = ${JSON.stringify(URL)};
(async () => {
  // Wait for the instance's Service to answer (after a restart or a restore).
  for (let i = 0; ; i++) {
    const ok = await fetch(url + '/health').then((r) => r.ok, () => false);
    if (ok) break;
    if (i > 90) throw new Error('instance does not answer at ' + url);
    await new Promise((r) => setTimeout(r, 1000));
  }
  if (${JSON.stringify(mode)} === 'write') {
    const t0 = Date.now() - 3600000;
    const lines = [];
    for (let i = 0; i < 60; i++) lines.push('${series}{run="realnode",n="' + (i % 3) + '"} ' + i * 7 + ' ' + (t0 + i * 60000));
    const r = await fetch(url + '/api/v1/import/prometheus', { method: 'POST', body: lines.join('\\n') + '\\n' });
    if (r.status !== 204) throw new Error('import: ' + r.status + ' ' + await r.text());
    const f = await fetch(url + '/internal/force_flush');
    if (!f.ok) throw new Error('flush: ' + f.status);
  }
  const e = await fetch(url + '/api/v1/export?match[]=' + encodeURIComponent('{run="realnode"}'));
  if (!e.ok) throw new Error('export: ' + e.status);
  const rows = (await e.text()).trim().split('\\n').filter(Boolean).map((l) => JSON.parse(l));
  rows.sort((a, b) => JSON.stringify(a.metric).localeCompare(JSON.stringify(b.metric)));
  console.log('SAMPLES ' + JSON.stringify(rows.map((r) => ({ metric: r.metric, values: r.values, timestamps: r.timestamps }))));
})().catch((e) => { console.error(String(e)); process.exit(1); });
`;
}

async function vm(mode: 'write' | 'read', series: string): Promise<string> {
  const log = await node.runNode(vmScript(mode, series));
  const line = log.split('\n').find((l) => l.startsWith('SAMPLES ')) ?? '';
  assert.ok(line !== '', `samples printed:\n${log}`);
  return line.slice('SAMPLES '.length);
}

async function backupNow(name: string): Promise<{ version: string; fresh: boolean; nodeName: string; log: string }> {
  await node.kubectl(['create', 'job', name, '--from', `cronjob/${RELEASE}-victoria-metrics-0-backup`]);
  const log = await node.waitJob(name, 240);
  const m = /Backing up victoria-metrics-0 into (new )?version (victoria-metrics-0-\d{14})/.exec(log);
  assert.ok(m, `backup log names its version:\n${log}`);
  assert.ok(!log.includes(SECRET_KEY), 'no credential in the job log');
  const nodeName = await node.kubectl([
    'get',
    'pods',
    '--selector',
    `job-name=${name}`,
    '--output',
    'jsonpath={.items[0].spec.nodeName}',
  ]);
  return { version: m[2] ?? '', fresh: m[1] !== undefined, nodeName, log };
}

async function scale(replicas: number): Promise<void> {
  await node.kubectl(['scale', `statefulset/${STS}`, `--replicas=${replicas}`]);
  if (replicas > 0) await node.rollout(`statefulset/${STS}`);
  else await node.kubectl(['wait', '--for=delete', `pod/${STS}-0`, '--timeout', '120s']).catch(() => '');
}

describe('Victoria Metrics on a real kubelet', () => {
  it('the hourly CronJob backs up a StatefulSet on its node; after a wipe a new version starts; the old version is restored by the operator script, the samples equal', async () => {
    const labels = { app: 'victoria-metrics-0' };
    await node.apply({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: STS },
      spec: { selector: labels, ports: [{ name: 'http', port: 8428, targetPort: 8428 }] },
    });
    await node.apply({
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: STS },
      spec: {
        serviceName: STS,
        replicas: 1,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            securityContext: RESTRICTED_POD,
            terminationGracePeriodSeconds: 10,
            containers: [
              {
                name: 'victoria-metrics',
                image: image('victoria-metrics').reference,
                imagePullPolicy: 'Never',
                args: ['-storageDataPath=/storage', '-httpListenAddr=:8428', '-memory.allowedBytes=64MB'],
                securityContext: RESTRICTED_CONTAINER,
                ports: [{ containerPort: 8428 }],
                readinessProbe: { httpGet: { path: '/health', port: 8428 }, periodSeconds: 2 },
                resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '256Mi' } },
                volumeMounts: [{ name: 'server-volume', mountPath: '/storage' }],
              },
            ],
          },
        },
        volumeClaimTemplates: [
          {
            metadata: { name: 'server-volume' },
            spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
          },
        ],
      },
    });
    await node.rollout(`statefulset/${STS}`);
    await node.install({
      ...baseValues({ elasticsearch: { enabled: false }, stackGraph: { enabled: false } }),
      'victoria-metrics-0': { backup: { enabled: true }, restore: { enabled: true } },
    });

    const written = await vm('write', 'realnode_first');
    assert.equal((JSON.parse(written) as unknown[]).length, 3, 'three series written');
    const first = await backupNow('vm-backup-1');
    assert.ok(first.fresh, 'the first backup starts a version');
    const vmNode = await node.kubectl(['get', 'pod', `${STS}-0`, '--output', 'jsonpath={.spec.nodeName}']);
    assert.equal(first.nodeName, vmNode, "the backup Job runs on the instance's node");

    // The volume wiped (the instance stopped), the instance started again with other data.
    await scale(0);
    await node.apply(
      toolJob('vm-wipe', BUSYBOX_IMAGE, ['sh', '-c', 'rm -rf /storage/* /storage/.[!.]* ; ls -A /storage'], {
        [CLAIM]: '/storage',
      }),
    );
    assert.equal((await node.waitJob('vm-wipe')).trim(), '', 'the volume is empty');
    await scale(1);
    const other = await vm('write', 'realnode_second');
    assert.notEqual(other, written);
    const second = await backupNow('vm-backup-2');
    assert.ok(second.fresh, `a wiped volume starts a new version:\n${second.log}`);
    assert.notEqual(second.version, first.version);

    const listed = await runScript(node.cluster, 'list-victoria-metrics-backups.sh', [], NS);
    assert.equal(listed.code, 0, listed.stderr);
    assert.ok(listed.stdout.includes(first.version) && listed.stdout.includes(second.version), listed.stdout);

    const restored = await runScript(
      node.cluster,
      'restore-victoria-metrics-backup.sh',
      ['victoria-metrics-0', first.version],
      NS,
    );
    assert.equal(restored.code, 0, `${restored.stdout}\n${restored.stderr}`);
    assert.match(restored.stdout + restored.stderr, new RegExp(`victoria-metrics-0 restored from ${first.version}`));
    assert.equal(await vm('read', ''), written, 'the restored instance holds exactly the samples of the first version');
  });
});
