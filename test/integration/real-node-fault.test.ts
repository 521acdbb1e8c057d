/**
 * The real-node tier, a fault: the MinIO pod deleted (and kept away) while the scheduled StackGraph
 * backup uploads. The backup Job fails with a message that names the endpoint and what to check; once
 * MinIO is back, ./restore/list-stackgraph-backups.sh lists nothing incomplete; the next run succeeds
 * and its backup restores.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { runScript } from '../support/operator.js';
import {
  GRAPH_CLAIM,
  NS,
  RELEASE,
  SECRET_KEY,
  baseValues,
  graphTool,
  stackGraphRoundTrip,
  standInValues,
  startRealNode,
  type RealNode,
} from './real-node.js';

let node: RealNode;

before(async () => {
  node = await startRealNode('real-node-fault', ['jobs', 'minio', 'stackgraph-standin']);
});

after(async () => {
  await node?.stop();
});

/** The log of a Job's pods so far (all containers), without prefixes; empty while none runs. */
async function logSoFar(job: string): Promise<string> {
  const r = await node.cluster.kubectl(['logs', `job/${job}`, '--all-containers'], { namespace: NS });
  return r.code === 0 ? r.stdout : '';
}

async function jobState(job: string): Promise<string> {
  return node.kubectl(['get', 'job', job, '--output', 'jsonpath={.status.succeeded}/{.status.failed}']);
}

describe('a fault on a real kubelet', () => {
  it('MinIO deleted mid-upload: the backup fails clearly, nothing incomplete is listed, the next run succeeds', async (t) => {
    const started = Date.now();
    const at = (what: string) => t.diagnostic(`${what} at ${((Date.now() - started) / 1000).toFixed(0)} s`);
    await node.apply(GRAPH_CLAIM);
    // No retry of the failed run: one run, one failure (a retry would export and fail again).
    const values = baseValues({
      elasticsearch: { enabled: false },
      stackGraph: { ...standInValues(), scheduled: { backoffLimit: 0 } },
    });
    // A slow upload (a small CPU share for the job containers) leaves time to take MinIO away during it.
    const jobs = values.jobs as { resources: { limits: Record<string, string> } };
    jobs.resources.limits.cpu = '200m';
    await node.install(values);
    // About 200 MB of graph: 1 000 vertices of 200 KB.
    await graphTool(node, 'fault-seed', ['-seed', '1000', '-payload', '200000']);

    at('seeded');
    await node.kubectl(['create', 'job', 'fault-backup', '--from', `cronjob/${RELEASE}-stackgraph-backup`]);
    const deadline = Date.now() + 240_000;
    while (!/=== Uploading the StackGraph export/.test(await logSoFar('fault-backup'))) {
      assert.ok(Date.now() < deadline, `the backup reached its upload:\n${await logSoFar('fault-backup')}`);
      assert.doesNotMatch(
        await jobState('fault-backup'),
        /^1\//,
        'the backup finished before MinIO could be taken away',
      );
      await new Promise((r) => setTimeout(r, 200));
    }
    at('upload started');
    await node.kubectl(['scale', `deployment/${RELEASE}-minio`, '--replicas=0']);
    await node.kubectl(['delete', 'pods', '--selector', 'app.kubernetes.io/component=minio', '--wait=false']);

    // The Job fails (its retries included) while MinIO is away.
    while (!/\/[1-9]/.test(await jobState('fault-backup'))) {
      assert.ok(Date.now() < deadline + 240_000, `the backup failed:\n${await logSoFar('fault-backup')}`);
      assert.doesNotMatch(await jobState('fault-backup'), /^1\//, 'a backup without its endpoint did not succeed');
      await new Promise((r) => setTimeout(r, 1000));
    }
    at('backup failed');
    const failed = (await node.kubectl(['logs', 'job/fault-backup', '--all-containers']).catch(() => '')).concat(
      await logSoFar('fault-backup'),
    );
    t.diagnostic(`the failed run's log ends:\n${failed.trim().split('\n').slice(-12).join('\n')}`);
    assert.match(failed, /stackbackup-minio/, `the failure names the endpoint:\n${failed}`);
    assert.doesNotMatch(failed, /backup sts-backup-\S+ complete/);
    assert.ok(!failed.includes(SECRET_KEY), 'no credential in the job log');

    await node.kubectl(['scale', `deployment/${RELEASE}-minio`, '--replicas=1']);
    await node.rollout(`deployment/${RELEASE}-minio`);
    const listed = await runScript(node.cluster, 'list-stackgraph-backups.sh', [], NS);
    assert.equal(listed.code, 0, listed.stderr);
    assert.deepEqual(
      listed.stdout
        .trim()
        .split('\n')
        .filter((l) => !l.startsWith('===')),
      [],
      'the cut-off backup is not listed',
    );

    at('MinIO back');
    // The next run succeeds, and its backup restores.
    await stackGraphRoundTrip(node, 'after-fault');
    at('round trip done');
  });
});
