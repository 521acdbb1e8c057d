/**
 * The real-node tier: the chart installed by `helm install` on a real kubelet (test/servers/node-cluster.ts:
 * containerd, runc, CNI, kube-proxy, CoreDNS, inside a network namespace with no route off the machine),
 * every pod in a real container of the images built by scripts/images/ (the job image a user builds),
 * in a namespace that enforces the restricted Pod Security level. What the kwok tier's pod runner
 * cannot show is checked here: the image's contents and user, read-only root filesystems, Secret file
 * modes and fsGroup, Service DNS names, init-container order, claims bound on the node.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse, stringify } from 'yaml';
import { HELM_BUILDS, helm } from '../chart/helm.js';
import { REPO_ROOT } from '../servers/harness.js';
import { runScript } from '../support/operator.js';
import {
  GRAPH_CLAIM,
  NS,
  RELEASE,
  SECRET_KEY,
  baseValues,
  clientsDeployment,
  graphTool,
  standInValues,
  startRealNode,
  type RealNode,
} from './real-node.js';

let node: RealNode;
let valuesFile: string;

const kubectl = (args: string[], input?: string): Promise<string> => node.kubectl(args, input);
const waitJob = (name: string, seconds?: number): Promise<string> => node.waitJob(name, seconds);

before(async () => {
  node = await startRealNode('real-node-chart', ['jobs', 'minio', 'stackgraph-standin']);
});

after(async () => {
  await node?.stop();
});

describe('the chart on a real kubelet (real containers of the images built here)', () => {
  it('installs with Helm 4 into a "restricted" namespace: MinIO on a claim, the bucket-init hook, a scheduled StackGraph backup listed and restored with the operator scripts', async () => {
    // The StackGraph stand-in keeps its store on a claim of its own, which the tool containers mount.
    await node.apply(GRAPH_CLAIM);
    const values = baseValues({ elasticsearch: { enabled: false }, stackGraph: standInValues() });
    valuesFile = await node.install(values);
    const pods = await kubectl([
      'get',
      'pods',
      '--output',
      'jsonpath={range .items[*]}{.metadata.name}={.status.phase}{" "}{end}',
    ]);
    assert.match(pods, /stackbackup-minio-[a-z0-9-]+=Running/, 'MinIO runs in a real container');

    // Seed the stand-in's store through a pod of its own image, then the scheduled backup, started now.
    await graphTool(node, 'graph-seed', ['-seed', '200']);
    const digest = await graphTool(node, 'graph-digest-1', ['-digest']);
    assert.match(digest, /[0-9a-f]{64}/);
    await kubectl(['create', 'job', 'stackgraph-backup-now', '--from', `cronjob/${RELEASE}-stackgraph-backup`]);
    const backupLog = await waitJob('stackgraph-backup-now', 240);
    assert.match(backupLog, /backed up StackGraph as sts-backup-\d{8}-\d{4}\.graph/);
    assert.ok(!backupLog.includes(SECRET_KEY), 'no credential in the job log');

    const list = await runScript(node.cluster, 'list-stackgraph-backups.sh', [], NS);
    assert.equal(list.code, 0, list.stderr);
    // StackState's output: its header line, then one name a line (the pod log holds both streams).
    const [header, ...names] = list.stdout.trim().split('\n');
    assert.match(header ?? '', /^=== Listing StackGraph backups in bucket "sts-stackgraph-backup"\.\.\.$/);
    const name = names[0] ?? '';
    assert.match(name, /^sts-backup-\d{8}-\d{4}\.graph$/);

    // What StackGraph's users look like: a 3-replica Deployment of real pods, scaled down for the import.
    await node.apply(clientsDeployment());
    await kubectl(['rollout', 'status', 'deployment/graph-clients', '--timeout', '120s']);
    await graphTool(node, 'graph-seed-more', ['-seed', '50']);
    const refused = await runScript(node.cluster, 'restore-stackgraph-backup.sh', [name], NS);
    assert.notEqual(refused.code, 0, 'a restore into a non-empty StackGraph is refused without -force');
    assert.match(refused.stdout + refused.stderr, /not empty|-force/);
    const restored = await runScript(node.cluster, 'restore-stackgraph-backup.sh', [name, '-force'], NS);
    assert.equal(restored.code, 0, `${restored.stdout}\n${restored.stderr}`);
    assert.match(restored.stdout + restored.stderr, /StackGraph restored from/);
    const after = await graphTool(node, 'graph-digest-2', ['-digest']);
    assert.equal(after, digest, 'the restored StackGraph holds exactly what was backed up');
    await kubectl(['rollout', 'status', 'deployment/graph-clients', '--timeout', '120s']);
    assert.equal(
      await kubectl([
        'get',
        'deployment',
        'graph-clients',
        '--output',
        'jsonpath={.status.readyReplicas}/{.spec.replicas}',
      ]),
      '3/3',
      'the workloads are back at 3 replicas',
    );
  });

  it('inside a job container of the chart: uid/gid 65532, no capabilities, no new privileges, seccomp, read-only root, the credentials readable by the job user and nobody else', async () => {
    // The chart's own list Job template (ConfigMap), its container's command replaced by a probe.
    const template = JSON.parse(
      await kubectl(['get', 'configmap', `${RELEASE}-stackgraph-list-job`, '--output', 'json']),
    ) as { data: Record<string, string> };
    const job = parse(template.data['job.yaml'] ?? '') as {
      metadata: { name: string };
      spec: { template: { spec: { containers: { command?: string[]; args?: string[] }[] } } };
    };
    job.metadata.name = 'security-probe';
    const container = job.spec.template.spec.containers[0];
    assert.ok(container);
    container.command = ['node', '-e', PROBE];
    container.args = [];
    await kubectl(['apply', '-f', '-'], stringify(job));
    const log = (await waitJob('security-probe')).trim();
    const seen = JSON.parse(log.split('\n').pop() ?? '{}') as Record<string, unknown>;
    assert.deepEqual(seen, {
      uid: '65532\t65532\t65532\t65532',
      gid: '65532\t65532\t65532\t65532',
      capEff: '0000000000000000',
      capPrm: '0000000000000000',
      noNewPrivs: '1',
      seccomp: '2',
      rootWritable: false,
      tmpWritable: true,
      credentials: { mode: '440', uid: 0, gid: 65532, readable: true },
    });
  });

  it("helm upgrade with a changed schedule changes the CronJob; helm uninstall keeps the backups' claim (documented), with the backups in it", async () => {
    const upgraded = await helm(
      [
        'upgrade',
        RELEASE,
        join(REPO_ROOT, 'chart'),
        '--namespace',
        NS,
        '--values',
        valuesFile,
        '--set',
        'backup.stackGraph.scheduled.schedule=15 4 * * *',
        '--wait',
        '--timeout',
        '300s',
      ],
      node.helmEnv,
      HELM_BUILDS[0].binary,
    );
    assert.equal(upgraded.code, 0, `${upgraded.stdout}\n${upgraded.stderr}`);
    assert.equal(
      await kubectl(['get', 'cronjob', `${RELEASE}-stackgraph-backup`, '--output', 'jsonpath={.spec.schedule}']),
      '15 4 * * *',
    );
    const removed = await helm(
      ['uninstall', RELEASE, '--namespace', NS, '--wait', '--timeout', '120s'],
      node.helmEnv,
      HELM_BUILDS[0].binary,
    );
    assert.equal(removed.code, 0, removed.stderr);
    assert.equal(
      await kubectl([
        'get',
        'cronjobs,deployments,services,secrets,configmaps',
        '--selector',
        `app.kubernetes.io/instance=${RELEASE}`,
        '--output',
        'name',
      ]),
      '',
    );
    assert.equal(
      await kubectl(['get', 'pvc', `${RELEASE}-minio`, '--output', 'jsonpath={.status.phase}']),
      'Bound',
      'the MinIO claim stays',
    );
    const folder = await node.cluster.volumePath(NS, `${RELEASE}-minio`);
    assert.ok(folder !== undefined);
    assert.ok(
      readdirSync(join(folder, 'sts-stackgraph-backup')).some((f) => /^sts-backup-\d{8}-\d{4}\.graph/.test(f)),
      'the backups are still in the kept claim',
    );
  });
});

/** What a job container sees of itself, as one JSON line (run with the job image's node). */
const PROBE = `
const fs = require('fs');
const status = fs.readFileSync('/proc/self/status', 'utf8');
const field = (k) => ((status.split('\\n').find((l) => l.startsWith(k + ':')) || '').slice(k.length + 1).trim());
const writable = (p) => { try { fs.writeFileSync(p, 'x'); return true; } catch { return false; } };
const file = '/var/run/secrets/stackbackup/s3/secretKey';
const st = fs.statSync(file);
let readable = false; try { readable = fs.readFileSync(file, 'utf8').length > 0; } catch {}
console.log(JSON.stringify({ uid: field('Uid'), gid: field('Gid'), capEff: field('CapEff'), capPrm: field('CapPrm'), noNewPrivs: field('NoNewPrivs'), seccomp: field('Seccomp'),
  rootWritable: writable('/probe'), tmpWritable: writable('/tmp/probe'), credentials: { mode: (st.mode & 0o777).toString(8), uid: st.uid, gid: st.gid, readable } }));
`;
