/**
 * Volume backups on the test Kubernetes API, end to end: the chart's own objects (rendered by real
 * Helm) in a namespace enforcing "restricted"; two user claims, one named in the values (owner in an
 * annotation, mounted by a running "user server" pod) and one found by label selector (owner in a
 * label); the dispatcher Job from the chart's CronJob creating one backup Job per claim (read-only mount,
 * node affinity for the claim in use) that runs the real restic against a real MinIO; then only kubectl
 * and the operator scripts: list-volume-backups.sh and restore-volume-backup.sh (into another claim,
 * non-empty refused, -force, a claim in use refused, another claim's snapshot refused), and status.sh
 * with a row for each claim, the one found by the selector included.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, stat, writeFile, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FULLNAME, NAMESPACE, render, type Manifest, minioValues } from '../chart/helm.js';
import { TOOLS_DIR } from '../servers/harness.js';
import { kubectlOk, runScript, type ScriptRun } from '../support/operator.js';
import { NODE_NAME, startKubernetes, type KubernetesCluster } from '../servers/kubernetes.js';
import { startMinio, type MinioServer } from '../servers/minio.js';

let cluster: KubernetesCluster;
let minio: MinioServer;
const kubectl = (args: string[], input?: string): Promise<string> => kubectlOk(cluster, args, input);
const script = (name: string, args: string[]): Promise<ScriptRun> => runScript(cluster, name, args);

/** Where the pod runner keeps a claim's files (the test kubelet's volume folder). */
function claimDir(claim: string): string {
  const workDir = (cluster.runner as unknown as { options: { workDir: string } }).options.workDir;
  return join(workDir, 'claims', NAMESPACE, claim);
}

/** Path -> sha256 and mode of every file under a folder. */
async function files(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (d: string, rel: string): Promise<void> => {
    for (const name of (await readdir(d)).sort()) {
      const full = join(d, name);
      const st = await stat(full);
      const path = rel ? `${rel}/${name}` : name;
      if (st.isDirectory()) await walk(full, path);
      else
        out[path] = `${(st.mode & 0o7777).toString(8)} ${createHash('sha256')
          .update(await readFile(full))
          .digest('hex')}`;
    }
  };
  await walk(dir, '');
  return out;
}

function claimObjects(
  name: string,
  meta: { labels?: Record<string, string>; annotations?: Record<string, string> },
): object[] {
  return [
    {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: `${NAMESPACE}-${name}` },
      spec: {
        capacity: { storage: '1Gi' },
        accessModes: ['ReadWriteOnce'],
        storageClassName: 'manual',
        hostPath: { path: '/tmp/unused' },
        claimRef: { namespace: NAMESPACE, name },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name, namespace: NAMESPACE, ...meta },
      spec: {
        accessModes: ['ReadWriteOnce'],
        storageClassName: 'manual',
        volumeName: `${NAMESPACE}-${name}`,
        resources: { requests: { storage: '1Gi' } },
      },
    },
  ];
}

/** A running "user server" that mounts claim-alice (it idles: only Job pods run commands). */
const userPod = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'jupyter-alice', namespace: NAMESPACE },
  spec: {
    securityContext: { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } },
    containers: [
      {
        name: 'notebook',
        image: 'quay.io/jupyter/base-notebook:2024-01-01',
        volumeMounts: [{ name: 'home', mountPath: '/home/jovyan' }],
        securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
      },
    ],
    volumes: [{ name: 'home', persistentVolumeClaim: { claimName: 'claim-alice' } }],
  },
};

function chartObjects(docs: Manifest[]): Manifest[] {
  return docs.filter((d) => {
    const name = d.metadata.name;
    if (d.kind === 'Secret') return name === `${FULLNAME}-minio` || name === `${FULLNAME}-volumes-restic`;
    if (d.kind === 'ServiceAccount' || d.kind === 'Role' || d.kind === 'RoleBinding')
      return ['backup', 'restore', 'volume-dispatch', 'status'].some((k) => name === `${FULLNAME}-${k}`);
    if (d.kind === 'CronJob') return name.includes('volume');
    if (d.kind === 'ConfigMap')
      return (d.metadata.labels ?? {})['stackbackup.io/store'] === 'volumes' || name.includes('status');
    return false;
  });
}

async function seed(claim: string, who: string): Promise<void> {
  const dir = claimDir(claim);
  await mkdir(join(dir, 'notebooks'), { recursive: true });
  await writeFile(join(dir, 'notebooks', 'analysis.ipynb'), `{"cells": ["${who}'s analysis"]}\n`);
  await writeFile(join(dir, '.bashrc'), `export WHO=${who}\n`);
  await writeFile(join(dir, 'data.bin'), Buffer.alloc(256 * 1024, who));
  await chmod(join(dir, '.bashrc'), 0o600);
}

before(async () => {
  process.env.PATH = `${join(TOOLS_DIR, 'bin')}:${process.env.PATH ?? ''}`;
  [cluster, minio] = await Promise.all([startKubernetes(), startMinio()]);
  cluster.alias(`http://${FULLNAME}-minio:9000`, minio.endpoint);
  await cluster.createNamespace(NAMESPACE, { 'pod-security.kubernetes.io/enforce': 'restricted' });
  const docs = await render({
    set: {
      ...minioValues(minio),
      'backup.stackGraph.enabled': 'false',
      'backup.elasticsearch.enabled': 'false',
      'backup.volumes.enabled': 'true',
      'backup.volumes.repository.password': 'jupyterhub-restic-password',
      'backup.volumes.claims': '{claim-alice}',
      'backup.volumes.scheduled.window': '20s',
      'backup.volumes.drill.enabled': 'true',
      'backup.volumes.drill.sample': '2',
    },
    setString: { 'backup.volumes.claimSelector': 'component=singleuser-storage' },
  });
  const objects = [
    ...chartObjects(docs),
    ...claimObjects('claim-alice', { annotations: { 'hub.jupyter.org/username': 'alice' } }),
    ...claimObjects('claim-bob', { labels: { component: 'singleuser-storage', 'hub.jupyter.org/username': 'bob' } }),
    ...claimObjects('claim-spare', {}),
    userPod,
  ];
  await kubectl(['apply', '--filename', '-'], objects.map((o) => JSON.stringify(o)).join('\n'));
  await kubectl(['wait', '--for=jsonpath={.status.phase}=Bound', 'persistentvolumeclaim', '--all', '--timeout=120s']);
  await kubectl(['wait', '--for=jsonpath={.spec.nodeName}=' + NODE_NAME, 'pod/jupyter-alice', '--timeout=120s']);
  await seed('claim-alice', 'alice');
  await seed('claim-bob', 'bob');
  await mkdir(claimDir('claim-spare'), { recursive: true });
});
after(async () => {
  await Promise.all([cluster?.stop(), minio?.stop()]);
});

describe('volumes on Kubernetes: the dispatcher, then the list and restore scripts with only kubectl', () => {
  const ids: Record<string, string> = {};

  it('the dispatcher creates one read-only backup Job per claim at its staggered time; the claim in use is backed up on its node', async () => {
    const cronjob = `${FULLNAME}-volume-dispatch`;
    await kubectl(['create', 'job', '--from', `cronjob/${cronjob}`, 'dispatch-now']);
    await kubectl(['wait', '--for=condition=complete', 'job/dispatch-now', '--timeout=180s']);
    const logs = await kubectl(['logs', 'job/dispatch-now']);
    assert.match(logs, /claim claim-alice: created Job \S+ on node kwok-node-0 \(where the claim is mounted\)/);
    assert.match(logs, /claim claim-bob: created Job \S+\n/);
    await kubectl([
      'wait',
      '--for=condition=complete',
      'jobs',
      '--selector',
      'stackbackup.io/volume-backup=true',
      '--timeout=300s',
    ]);
    const jobs = JSON.parse(
      await kubectl(['get', 'jobs', '--selector', 'stackbackup.io/volume-backup=true', '--output', 'json']),
    ) as {
      items: {
        metadata: { name: string; annotations: Record<string, string> };
        spec: {
          template: {
            spec: {
              affinity?: unknown;
              volumes: { name: string; persistentVolumeClaim?: { claimName: string; readOnly?: boolean } }[];
            };
          };
        };
      }[];
    };
    assert.equal(jobs.items.length, 2);
    for (const job of jobs.items) {
      const claim = job.metadata.annotations['stackbackup.io/claim'] ?? '';
      const vol = job.spec.template.spec.volumes.find((v) => v.name === 'claim');
      assert.deepEqual(vol?.persistentVolumeClaim, { claimName: claim, readOnly: true });
      if (claim === 'claim-alice') {
        assert.deepEqual(job.spec.template.spec.affinity, {
          nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: {
              nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [NODE_NAME] }] }],
            },
          },
        });
      } else assert.equal(job.spec.template.spec.affinity, undefined);
      const out = await kubectl(['logs', `job/${job.metadata.name}`]);
      const m = /snapshot ([0-9a-f]{8}), tags claim=(claim-\w+)(,owner=(\w+))?/.exec(out);
      assert.ok(m, out);
      assert.equal(m[2], claim);
      assert.equal(m[4], claim.slice(6), "the owner comes from the claim's annotation or label");
      ids[claim] = m[1] ?? '';
    }
    const rerun = await kubectl(['create', 'job', '--from', `cronjob/${cronjob}`, 'dispatch-again']);
    assert.match(rerun, /created/);
    await kubectl(['wait', '--for=condition=complete', 'job/dispatch-again', '--timeout=180s']);
    assert.match(
      await kubectl(['logs', 'job/dispatch-again']),
      /claim claim-bob: Job \S+ already ran in this window; skipped/,
    );
    await kubectl(['delete', 'jobs', '--all', '--wait=true']);
  });

  it('list-volume-backups.sh lists every claim with its owner, or one claim, and leaves nothing', async () => {
    const all = await script('list-volume-backups.sh', []);
    assert.equal(all.code, 0, all.stderr);
    assert.match(
      all.stdout,
      new RegExp(
        `^claim-alice\\s+${ids['claim-alice']}\\s+\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d UTC\\s+alice$`,
        'm',
      ),
    );
    assert.match(all.stdout, new RegExp(`^claim-bob\\s+${ids['claim-bob']}\\s+.*\\s+bob$`, 'm'));
    const bob = await script('list-volume-backups.sh', ['claim-bob']);
    assert.equal(bob.code, 0, bob.stderr);
    assert.doesNotMatch(bob.stdout, /claim-alice/);
    assert.match(bob.stderr, /To restore one: \.\/restore\/restore-volume-backup\.sh CLAIM SNAPSHOT/);
    assert.equal((await kubectl(['get', 'jobs', '--output', 'name'])).trim(), '');
  });

  it('status.sh --json shows one row per claim, the named one and the one the claimSelector picks, both ok', async () => {
    const run = await script('status.sh', ['--json']);
    assert.equal(run.code, 0, `status.sh --json:\n${run.stdout}\n${run.stderr}`);
    const report = JSON.parse(run.stdout.slice(run.stdout.indexOf('{'))) as {
      ok: boolean;
      targets: { store: string; target: string; state: string; newest: { name: string } | null; backups: number }[];
    };
    assert.deepEqual(
      report.targets.map((t) => [t.store, t.target, t.state, t.backups, t.newest?.name]),
      [
        ['volumes', 'claim-alice', 'ok', 1, ids['claim-alice']],
        ['volumes', 'claim-bob', 'ok', 1, ids['claim-bob']],
      ],
      'claim-spare is neither named nor labelled: no row',
    );
    assert.equal(report.ok, true);
    assert.equal((await kubectl(['get', 'jobs', '--output', 'name'])).trim(), '');
  });

  it('drill.sh volumes restores the sample into scratch, checks it and the repository, touches no claim, leaves nothing', async () => {
    const before = [await files(claimDir('claim-alice')), await files(claimDir('claim-bob'))];
    const run = await script('drill.sh', ['volumes']);
    assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
    assert.match(run.stdout, /^files:claim-alice +3 +3 +ok$/m);
    assert.match(run.stdout, /^files:claim-bob +3 +3 +ok$/m);
    assert.match(run.stdout, /^bytes:claim-bob +(\d+) +\1 +ok$/m);
    assert.match(run.stdout, /^restic check +1\/10 +no errors +ok$/m);
    assert.match(
      run.stdout,
      new RegExp(
        `drill of volumes/${NAMESPACE} from claim-alice@${ids['claim-alice']}, claim-bob@${ids['claim-bob']}: passed`,
      ),
    );
    assert.deepEqual([await files(claimDir('claim-alice')), await files(claimDir('claim-bob'))], before);
    assert.equal((await kubectl(['get', 'jobs', '--output', 'name'])).trim(), '');
    const off = await script('drill.sh', ['elasticsearch']);
    assert.notEqual(off.code, 0);
    assert.match(off.stderr, /backup\.elasticsearch\.drill\.enabled=true/);
    const bad = await script('drill.sh', ['volumes', 'claim-alice']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /volumes takes no target/);
  });

  it("restore-volume-backup.sh restores claim-alice's latest into another claim, byte-identical", async () => {
    const run = await script('restore-volume-backup.sh', ['claim-alice', 'latest', 'claim-spare']);
    assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
    assert.match(
      run.stdout,
      new RegExp(`restored snapshot ${ids['claim-alice']} .* into claim claim-spare \\(from claim claim-alice\\)`),
    );
    assert.deepEqual(await files(claimDir('claim-spare')), await files(claimDir('claim-alice')));
    assert.equal((await kubectl(['get', 'jobs', '--output', 'name'])).trim(), '');
  });

  it('refuses a non-empty target without -force (exit 8); -force replaces its contents', async () => {
    await writeFile(join(claimDir('claim-spare'), 'scratch.txt'), 'written after the restore\n');
    const refused = await script('restore-volume-backup.sh', ['claim-bob', ids['claim-bob'] ?? '', 'claim-spare']);
    assert.equal(refused.code, 8, refused.stderr);
    assert.match(refused.stdout + refused.stderr, /claim claim-spare is not empty/);
    const forced = await script('restore-volume-backup.sh', [
      'claim-bob',
      ids['claim-bob'] ?? '',
      'claim-spare',
      '-force',
    ]);
    assert.equal(forced.code, 0, `${forced.stdout}\n${forced.stderr}`);
    assert.deepEqual(await files(claimDir('claim-spare')), await files(claimDir('claim-bob')));
  });

  it("refuses another claim's snapshot ID and a target claim in use, creating nothing for the latter", async () => {
    const cross = await script('restore-volume-backup.sh', [
      'claim-bob',
      ids['claim-alice'] ?? '',
      'claim-spare',
      '-force',
    ]);
    assert.equal(cross.code, 3, cross.stderr);
    assert.match(cross.stdout + cross.stderr, /is not a snapshot of claim claim-bob: it belongs to claim claim-alice/);
    const busy = await script('restore-volume-backup.sh', ['claim-alice', 'latest', '-force']);
    assert.equal(busy.code, 8);
    assert.match(busy.stderr, /claim claim-alice is in use by pod\(s\) jupyter-alice/);
    const bad = await script('restore-volume-backup.sh', ['claim-alice', 'latest;rm']);
    assert.equal(bad.code, 2);
    assert.equal((await kubectl(['get', 'jobs', '--output', 'name'])).trim(), '');
  });
});
