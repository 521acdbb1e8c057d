/**
 * The real-node tier, volumes: a user pod (JupyterHub's shape: uid 1000, group 100) holding a
 * ReadWriteOnce claim and writing its home folder; the chart's dispatcher, started now, creates the
 * claim's backup Job on that pod's node, mounting the claim read-only next to the running user pod;
 * ./restore/list-volume-backups.sh lists the snapshot with its owner; ./restore/restore-volume-backup.sh
 * restores it into another claim (files, modes and bytes equal, owned by the user), and refuses that
 * claim once it is not empty.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BUSYBOX_IMAGE } from '../servers/node-cluster.js';
import { runScript } from '../support/operator.js';
import {
  NS,
  RELEASE,
  RESTRICTED_CONTAINER,
  SECRET_KEY,
  baseValues,
  restrictedAs,
  startRealNode,
  toolJob,
  type RealNode,
} from './real-node.js';

const JOVYAN = restrictedAs(1000, 100);
/**
 * The user without an fsGroup: the kubelet's fsGroup change (policy Always) would add group rw to every
 * file of the claim it mounts (600 -> 660, seen here), so the check reads the restored claim untouched.
 */
const { fsGroup: _unused, ...READER } = JOVYAN;
const PASSWORD = 'realnode-restic-password';
/** Path, mode, owner and SHA-256 of every file under /home/jovyan, one a line, sorted. */
const DIGEST =
  'cd /home/jovyan && find . -type f | sort | while read -r f; do echo "$(stat -c \'%a %u\' "$f") $(sha256sum "$f")"; done';

let node: RealNode;

before(async () => {
  node = await startRealNode('real-node-volumes', ['jobs', 'minio']);
});

after(async () => {
  await node?.stop();
});

let jobs = 0;
/** Runs SCRIPT in busybox as the user (no fsGroup), with CLAIM at /home/jovyan; returns its output. */
async function asUser(claim: string, script: string): Promise<string> {
  const name = `jovyan-${++jobs}`;
  await node.apply(toolJob(name, BUSYBOX_IMAGE, ['sh', '-c', script], { [claim]: '/home/jovyan' }, READER));
  return node.waitJob(name);
}

describe('volumes on a real kubelet', () => {
  it('the dispatcher backs up a claim in use on its node, read-only; the operator scripts list it and restore it into another claim, byte-identical, and refuse that claim once it holds files', async () => {
    for (const [claim, annotations] of [
      ['claim-alice', { 'hub.jupyter.org/username': 'alice' }],
      ['claim-spare', {}],
    ] as const)
      await node.apply({
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: { name: claim, annotations },
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
      });
    // The user's server: writes its home folder, then idles holding the claim.
    const seed = [
      'mkdir -p /home/jovyan/notebooks /home/jovyan/.local',
      'echo \'{"cells": ["alice analysis"]}\' > /home/jovyan/notebooks/analysis.ipynb',
      'echo "export WHO=alice" > /home/jovyan/.bashrc && chmod 600 /home/jovyan/.bashrc',
      'head -c 3000000 /dev/urandom > /home/jovyan/data.bin',
      'touch /home/jovyan/ready',
      'exec sleep 3600',
    ].join(' && ');
    await node.apply({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'jupyter-alice' },
      spec: {
        securityContext: JOVYAN,
        terminationGracePeriodSeconds: 1,
        containers: [
          {
            name: 'notebook',
            image: BUSYBOX_IMAGE,
            imagePullPolicy: 'Never',
            command: ['sh', '-c', seed],
            securityContext: RESTRICTED_CONTAINER,
            readinessProbe: { exec: { command: ['test', '-f', '/home/jovyan/ready'] }, periodSeconds: 1 },
            volumeMounts: [{ name: 'home', mountPath: '/home/jovyan' }],
          },
        ],
        volumes: [{ name: 'home', persistentVolumeClaim: { claimName: 'claim-alice' } }],
      },
    });
    await node.kubectl(['wait', '--for=condition=Ready', 'pod/jupyter-alice', '--timeout=120s']);
    const original = (await node.kubectl(['exec', 'jupyter-alice', '--', 'sh', '-c', DIGEST])).trim();
    assert.equal(original.split('\n').length, 4, original);
    assert.match(original, /^600 1000 [0-9a-f]{64} {2}\.\/\.bashrc$/m);

    await node.install({
      ...baseValues({
        stackGraph: { enabled: false },
        elasticsearch: { enabled: false },
        volumes: {
          enabled: true,
          repository: { password: PASSWORD },
          claims: ['claim-alice'],
          scheduled: { window: '20s' },
        },
      }),
    });
    await node.kubectl(['create', 'job', '--from', `cronjob/${RELEASE}-volume-dispatch`, 'dispatch-now']);
    const dispatched = await node.waitJob('dispatch-now');
    const userNode = await node.kubectl(['get', 'pod', 'jupyter-alice', '--output', 'jsonpath={.spec.nodeName}']);
    assert.match(
      dispatched,
      new RegExp(`claim claim-alice: created Job (\\S+) on node ${userNode} \\(where the claim is mounted\\)`),
    );
    const backupJob = /claim claim-alice: created Job (\S+)/.exec(dispatched)?.[1] ?? '';
    const backupLog = await node.waitJob(backupJob, 240);
    const snapshot = /snapshot ([0-9a-f]{8}), tags claim=claim-alice,owner=alice/.exec(backupLog)?.[1];
    assert.ok(snapshot, `the backup log names its snapshot:\n${backupLog}`);
    assert.ok(!backupLog.includes(PASSWORD) && !backupLog.includes(SECRET_KEY), 'no credential in the job log');
    const pod = JSON.parse(
      await node.kubectl(['get', 'pods', '--selector', `job-name=${backupJob}`, '--output', 'json']),
    ) as {
      items: {
        spec: { nodeName: string; volumes: { name: string; persistentVolumeClaim?: { readOnly?: boolean } }[] };
        status: { phase: string };
      }[];
    };
    assert.equal(pod.items[0]?.spec.nodeName, userNode, "the backup pod ran on the user pod's node");
    assert.equal(pod.items[0]?.status.phase, 'Succeeded');
    assert.equal(pod.items[0]?.spec.volumes.find((v) => v.name === 'claim')?.persistentVolumeClaim?.readOnly, true);
    assert.equal(
      (await node.kubectl(['exec', 'jupyter-alice', '--', 'sh', '-c', DIGEST])).trim(),
      original,
      "the user's files are unchanged by the backup",
    );

    const listed = await runScript(node.cluster, 'list-volume-backups.sh', [], NS);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, new RegExp(`^claim-alice\\s+${snapshot}\\s+.*\\s+alice$`, 'm'));

    const restored = await runScript(
      node.cluster,
      'restore-volume-backup.sh',
      ['claim-alice', 'latest', 'claim-spare'],
      NS,
    );
    assert.equal(restored.code, 0, `${restored.stdout}\n${restored.stderr}`);
    assert.match(
      restored.stdout,
      new RegExp(`restored snapshot ${snapshot} .* into claim claim-spare \\(from claim claim-alice\\)`),
    );
    assert.equal((await asUser('claim-spare', DIGEST)).trim(), original, 'files, modes, owner and bytes equal');

    const refused = await runScript(
      node.cluster,
      'restore-volume-backup.sh',
      ['claim-alice', 'latest', 'claim-spare'],
      NS,
    );
    assert.equal(refused.code, 8, `${refused.stdout}\n${refused.stderr}`);
    assert.match(refused.stdout + refused.stderr, /claim claim-spare is not empty/);
    const busy = await runScript(node.cluster, 'restore-volume-backup.sh', ['claim-alice', 'latest', '-force'], NS);
    assert.equal(busy.code, 8, `${busy.stdout}\n${busy.stderr}`);
    assert.match(busy.stderr, /claim claim-alice is in use by pod\(s\) jupyter-alice/);
  });
});
