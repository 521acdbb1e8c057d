/**
 * Shared setup of the real-node tier (test/integration/real-node-*.test.ts): one node cluster
 * (test/servers/node-cluster.ts) with the images built by scripts/images/ imported, a namespace that
 * enforces the restricted Pod Security level, kubectl and Job helpers, and `helm install` of the chart.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { HELM_BUILDS, helm } from '../chart/helm.js';
import { REPO_ROOT, TOOLS_DIR, tempDir } from '../servers/harness.js';
import { BUSYBOX_IMAGE, startNodeCluster, type NodeCluster } from '../servers/node-cluster.js';
import { runScript } from '../support/operator.js';

export const NS = 'stackbackup';
export const RELEASE = 'stackbackup';
export const ACCESS_KEY = 'realnodeaccess';
export const SECRET_KEY = 'realnodesecret0123456789';

interface ImageEntry {
  name: string;
  reference: string;
  archive: string;
}

export interface BuiltImage extends ImageEntry {
  repository: string;
  tag: string;
}

/** The images scripts/images/build.sh made ($STACKBACKUP_TOOLS/images/index.json). */
export function image(name: string): BuiltImage {
  const index = JSON.parse(readFileSync(join(TOOLS_DIR, 'images', 'index.json'), 'utf8')) as { images: ImageEntry[] };
  const found = index.images.find((i) => i.name === name);
  assert.ok(found, `image ${name} is built (scripts/images/build.sh)`);
  const colon = found.reference.lastIndexOf(':');
  return { ...found, repository: found.reference.slice(0, colon), tag: found.reference.slice(colon + 1) };
}

/** The chart's `image:`-style value of a built image, never pulled. */
export function imageValue(name: string): { repository: string; tag: string; pullPolicy: 'Never' } {
  const i = image(name);
  return { repository: i.repository, tag: i.tag, pullPolicy: 'Never' };
}

/**
 * The chart values every real-node test starts from: the job image built here, MinIO (our build) on a
 * claim with the test's credentials, small job resources. BACKUP is merged into `backup`.
 */
export function baseValues(backup: Record<string, unknown>): Record<string, unknown> {
  return {
    image: imageValue('jobs'),
    backup: { enabled: true, ...backup },
    minio: {
      accessKey: ACCESS_KEY,
      secretKey: SECRET_KEY,
      image: imageValue('minio'),
      persistence: { enabled: true, size: '1Gi' },
    },
    jobs: { resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '512Mi' } } },
  };
}

export const RESTRICTED_POD = {
  runAsNonRoot: true,
  runAsUser: 65532,
  runAsGroup: 65532,
  fsGroup: 65532,
  seccompProfile: { type: 'RuntimeDefault' },
};
export const RESTRICTED_CONTAINER = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ['ALL'] },
};

export interface RealNode {
  cluster: NodeCluster;
  work: string;
  helmEnv: Record<string, string>;
  /** kubectl in the test namespace; fails the test on a non-zero exit. */
  kubectl(args: string[], input?: string): Promise<string>;
  /** Waits for a Job to complete (or fails the test with its pods' logs); returns its log without prefixes. */
  waitJob(name: string, seconds?: number): Promise<string>;
  /** `kubectl apply` of one manifest. */
  apply(manifest: Record<string, unknown>): Promise<void>;
  /** Waits for a rollout (`deployment/x`, `statefulset/x`); fails the test with its pods' states and logs. */
  rollout(workload: string, seconds?: number): Promise<void>;
  /** Runs CODE with the job image's node in a restricted Job; returns its log (fails the test on a non-zero exit). */
  runNode(code: string, seconds?: number): Promise<string>;
  /** `helm install` of the chart with VALUES (written to work/values.yaml), waiting for it. */
  install(values: Record<string, unknown>): Promise<string>;
  stop(): Promise<void>;
}

/** Starts the node cluster (one at a time on a machine), imports IMAGES, creates the restricted namespace. */
export async function startRealNode(label: string, images: string[]): Promise<RealNode> {
  const work = await tempDir(label);
  const cluster = await startNodeCluster().catch(async (err: unknown) => {
    await rm(work, { recursive: true, force: true });
    throw err;
  });
  try {
    for (const name of images) await cluster.importImage(image(name).archive);
    await cluster.createNamespace(NS, {
      'pod-security.kubernetes.io/enforce': 'restricted',
      'pod-security.kubernetes.io/enforce-version': 'latest',
    });
  } catch (err) {
    await cluster.stop();
    await rm(work, { recursive: true, force: true });
    throw err;
  }
  const helmEnv = {
    KUBECONFIG: cluster.kubeconfig,
    HELM_CACHE_HOME: join(work, 'helm-cache'),
    HELM_CONFIG_HOME: join(work, 'helm-config'),
    HELM_DATA_HOME: join(work, 'helm-data'),
  };
  const kubectl = async (args: string[], input?: string): Promise<string> => {
    const r = await cluster.kubectl(args, { namespace: NS, ...(input === undefined ? {} : { input }) });
    assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const waitJob = async (name: string, seconds = 180): Promise<string> => {
    const deadline = Date.now() + seconds * 1000;
    const logs = async () =>
      (await cluster.kubectl(['logs', `job/${name}`, '--all-containers', '--prefix'], { namespace: NS })).stdout;
    for (;;) {
      const status = await kubectl(['get', 'job', name, '--output', 'jsonpath={.status.succeeded}/{.status.failed}']);
      if (status.startsWith('1/')) return (await logs()).replace(/^\[[^\]]*\] /gm, '');
      if (/\/[1-9]/.test(status) || Date.now() > deadline)
        assert.fail(`job ${name} did not succeed (${status}):\n${await logs()}`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  };
  const apply = async (manifest: Record<string, unknown>): Promise<void> => {
    // JSON, not YAML: the API server reads YAML 1.1, where an unquoted off or yes is a boolean.
    await kubectl(['apply', '-f', '-'], JSON.stringify(manifest));
  };
  /** The namespace's pods, its last events and the logs of the pods that are not ready, for a failure message. */
  const diagnose = async (): Promise<string> => {
    const pods = await cluster.kubectl(['get', 'pods', '--output', 'wide'], { namespace: NS });
    const events = await cluster.kubectl(['get', 'events', '--sort-by', '.lastTimestamp'], { namespace: NS });
    const names = await cluster.kubectl(
      [
        'get',
        'pods',
        '--output',
        'jsonpath={range .items[?(@.status.containerStatuses[0].ready==false)]}{.metadata.name}{"\\n"}{end}',
      ],
      { namespace: NS },
    );
    const logs: string[] = [];
    for (const pod of names.stdout.split('\n').filter(Boolean)) {
      const r = await cluster.kubectl(['logs', pod, '--all-containers', '--tail', '40'], { namespace: NS });
      logs.push(`--- ${pod}\n${r.stdout}${r.stderr}`);
    }
    return `${pods.stdout}\n${events.stdout.split('\n').slice(-25).join('\n')}\n${logs.join('\n')}`;
  };
  const rollout = async (workload: string, seconds = 150): Promise<void> => {
    const r = await cluster.kubectl(['rollout', 'status', workload, '--timeout', `${seconds}s`], { namespace: NS });
    if (r.code !== 0) assert.fail(`${workload} did not roll out in ${seconds} s: ${r.stderr}\n${await diagnose()}`);
  };
  let scripts = 0;
  return {
    cluster,
    work,
    helmEnv,
    kubectl,
    waitJob,
    apply,
    rollout,
    runNode: async (code, seconds = 150) => {
      const name = `node-script-${++scripts}`;
      await apply(toolJob(name, image('jobs').reference, ['node', '-e', code]));
      return waitJob(name, seconds);
    },
    install: async (values) => {
      const valuesFile = join(work, 'values.yaml');
      await writeFile(valuesFile, stringify(values));
      const r = await helm(
        [
          'install',
          RELEASE,
          join(REPO_ROOT, 'chart'),
          '--namespace',
          NS,
          '--values',
          valuesFile,
          '--wait',
          '--timeout',
          '300s',
        ],
        helmEnv,
        HELM_BUILDS[0].binary,
      );
      if (r.code !== 0) assert.fail(`helm install failed: ${r.stdout}\n${r.stderr}\n${await diagnose()}`);
      return valuesFile;
    },
    stop: async () => {
      await cluster.stop();
      await rm(work, { recursive: true, force: true });
    },
  };
}

/** The restricted pod securityContext of another user (uid, and gid as the group and fsGroup). */
export function restrictedAs(uid: number, gid: number): typeof RESTRICTED_POD {
  return { ...RESTRICTED_POD, runAsUser: uid, runAsGroup: gid, fsGroup: gid };
}

/**
 * A Job of IMAGE running COMMAND as the restricted user (or POD's user), with CLAIMS mounted
 * (claim → path) and /tmp writable.
 */
export function toolJob(
  name: string,
  reference: string,
  command: string[],
  claims: Record<string, string> = {},
  pod: Partial<typeof RESTRICTED_POD> = RESTRICTED_POD,
): Record<string, unknown> {
  const entries = Object.entries(claims);
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name },
    spec: {
      backoffLimit: 0,
      template: {
        spec: {
          restartPolicy: 'Never',
          securityContext: pod,
          containers: [
            {
              name: 'tool',
              image: reference,
              imagePullPolicy: 'Never',
              command,
              securityContext: RESTRICTED_CONTAINER,
              volumeMounts: [
                { name: 'tmp', mountPath: '/tmp' },
                ...entries.map(([, path], i) => ({ name: `claim-${i}`, mountPath: path })),
              ],
            },
          ],
          volumes: [
            { name: 'tmp', emptyDir: {} },
            ...entries.map(([claim], i) => ({ name: `claim-${i}`, persistentVolumeClaim: { claimName: claim } })),
          ],
        },
      },
    },
  };
}

/** The PersistentVolumeClaim the StackGraph stand-in keeps its store on (the tool containers mount it). */
export const GRAPH_CLAIM = {
  apiVersion: 'v1',
  kind: 'PersistentVolumeClaim',
  metadata: { name: 'graph' },
  spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
};

/** backup.stackGraph values running the stand-in's image (scripts/images/recipes/stackgraph-standin.sh) on GRAPH_CLAIM. */
export function standInValues(): Record<string, unknown> {
  return {
    tool: {
      image: imageValue('stackgraph-standin'),
      exportCommand: ['sts-graph-standin', '-export'],
      importCommand: ['sts-graph-standin', '-import'],
      countCommand: ['sts-graph-standin', '-count'],
      env: [{ name: 'STS_GRAPH_DB', value: '/graph/graph.db' }],
      volumes: [{ name: 'graph', persistentVolumeClaim: { claimName: 'graph' } }],
      volumeMounts: [{ name: 'graph', mountPath: '/graph' }],
      resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '256Mi' } },
    },
    scratch: { size: '1Gi' },
  };
}

/** Runs the stand-in's image on GRAPH_CLAIM with ARGS (`-seed N`, `-digest`) as a Job; returns its last log line. */
export async function graphTool(node: RealNode, name: string, args: string[]): Promise<string> {
  const command = ['sts-graph-standin', '-db', '/graph/graph.db', ...args];
  await node.apply(toolJob(name, image('stackgraph-standin').reference, command, { graph: '/graph' }));
  return (await node.waitJob(name)).trim().split('\n').pop() ?? '';
}

/** Three pods of busybox labelled as StackGraph's clients (the chart's default scale-down selector). */
export function clientsDeployment(): Record<string, unknown> {
  const labels = { app: 'graph-clients', 'stackstate.com/connects-to-stackgraph': 'true' };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'graph-clients', labels },
    spec: {
      replicas: 3,
      selector: { matchLabels: { app: 'graph-clients' } },
      template: {
        metadata: { labels },
        spec: {
          securityContext: RESTRICTED_POD,
          terminationGracePeriodSeconds: 1,
          containers: [
            {
              name: 'client',
              image: BUSYBOX_IMAGE,
              imagePullPolicy: 'Never',
              command: ['sleep', '3600'],
              securityContext: RESTRICTED_CONTAINER,
            },
          ],
        },
      },
    },
  };
}

/**
 * A StackGraph round trip through the installed chart: the stand-in seeded, the scheduled CronJob run
 * now, the backup listed by ./restore/list-stackgraph-backups.sh, more written, the backup restored by
 * ./restore/restore-stackgraph-backup.sh NAME -force with StackGraph's clients (clientsDeployment) running; asserts the store's digest equals the backed-up
 * one. Returns the backup's name. LABEL keeps the Job names of several round trips apart.
 */
export async function stackGraphRoundTrip(node: RealNode, label: string): Promise<string> {
  await graphTool(node, `${label}-seed`, ['-seed', '120']);
  const digest = await graphTool(node, `${label}-digest-1`, ['-digest']);
  assert.match(digest, /[0-9a-f]{64}/);
  await node.kubectl(['create', 'job', `${label}-backup`, '--from', `cronjob/${RELEASE}-stackgraph-backup`]);
  const log = await node.waitJob(`${label}-backup`, 240);
  const name = /backed up StackGraph as (sts-backup-\d{8}-\d{4}\.graph)/.exec(log)?.[1];
  assert.ok(name, `the backup log names the backup:\n${log}`);
  assert.ok(!log.includes(SECRET_KEY), 'no credential in the job log');
  const list = await runScript(node.cluster, 'list-stackgraph-backups.sh', [], NS);
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, new RegExp(`^${name.replace(/\./g, '\\.')}$`, 'm'));
  await graphTool(node, `${label}-seed-more`, ['-seed', '30']);
  await node.apply(clientsDeployment());
  await node.rollout('deployment/graph-clients');
  const restored = await runScript(node.cluster, 'restore-stackgraph-backup.sh', [name, '-force'], NS);
  assert.equal(restored.code, 0, `${restored.stdout}\n${restored.stderr}`);
  assert.equal(await graphTool(node, `${label}-digest-2`, ['-digest']), digest, 'the restored store equals the backup');
  return name;
}
