/**
 * The restore scripts' shared library (restore/lib) end to end, with only kubectl, against the test
 * Kubernetes API server: templates found by label, Jobs created with arguments as data, the real
 * `stackbackup` CLI run against a real MinIO, logs streamed, exit codes propagated, timeouts explained,
 * Ctrl-C cleaned up, replica counts recorded and restored, and "restricted" Pod Security accepted.
 * Every test checks that nothing the script created is left behind.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from 'minio';
import { loadStorageConfig } from '../../src/config/storage.js';
import { openStore } from '../../src/storage/open.js';
import { uploadFile } from '../../src/storage/publish.js';
import { parse, stringify } from 'yaml';
import { render, type Manifest, minioValues } from '../chart/helm.js';
import { REPO_ROOT, tempDir, toolPath } from '../servers/harness.js';
import { startKubernetes, type KubernetesCluster } from '../servers/kubernetes.js';
import { startMinio, type MinioServer } from '../servers/minio.js';

const BUCKET = 'sts-stackgraph-backup';
/** The in-cluster S3 address a chart would render; the pod runner maps it to the test MinIO. */
const IN_CLUSTER_S3 = 'http://stackbackup-minio:9000';

let cluster: KubernetesCluster;
let minio: MinioServer;
let work: string;
let namespaces = 0;

/** Scripts shaped like restore/list-*.sh and restore-*.sh, built only from the library. */
const SCRIPTS: Record<string, string> = {
  'run-job.sh': `#!/usr/bin/env bash
SB_USAGE="Usage: run-job.sh TEMPLATE [BUCKET] [BACKUP_NAME] [-force]"
source "${REPO_ROOT}/restore/lib/common.sh"
sb_parse_options "$@"
force=false
args=()
for a in "\${SB_ARGS[@]}"; do if [[ "$a" == -force ]]; then force=true; else args+=("$a"); fi; done
(( \${#args[@]} >= 1 && \${#args[@]} <= 3 )) || sb_die "expected 1 to 3 arguments" "$(sb_usage)" 2
template="\${args[0]}"
bucket="\${args[1]:-${BUCKET}}"
name="\${args[2]:-sts-backup-20210216-0300.graph}"
sb_validate k8s-name "$template" "template name"
sb_validate bucket "$bucket" "bucket name"
sb_validate backup-name "$name" "backup name"
sb_run_job "$template" "$template" "backup.enabled=true backup.stackGraph.restore.enabled=true" \\
  "BUCKET=$bucket" "BACKUP_NAME=$name" "FORCE=$force"
sb_info "=== next: nothing to do"
`,
  'scale-down.sh': `#!/usr/bin/env bash
SB_USAGE="Usage: scale-down.sh WORKLOAD..."
source "${REPO_ROOT}/restore/lib/common.sh"
sb_parse_options "$@"
sb_scale_down "\${SB_ARGS[@]}"
`,
};

before(async () => {
  [cluster, minio] = await Promise.all([startKubernetes(), startMinio()]);
  cluster.alias(IN_CLUSTER_S3, minio.endpoint);
  const client = new Client({
    endPoint: '127.0.0.1',
    port: Number(new URL(minio.endpoint).port),
    useSSL: false,
    accessKey: minio.accessKey,
    secretKey: minio.secretKey,
  });
  await client.makeBucket(BUCKET);
  work = await tempDir('restore-lib');
  for (const [name, text] of Object.entries(SCRIPTS)) {
    await writeFile(join(work, name), text);
    await chmod(join(work, name), 0o755);
  }
});
after(async () => {
  await Promise.all([cluster?.stop(), minio?.stop()]);
  if (work) await rm(work, { recursive: true, force: true });
});

interface TemplateOptions {
  template?: string;
  release?: string;
  image?: string;
  command?: string[];
  args?: string[];
  securityContext?: boolean;
  nodeSelector?: Record<string, string>;
}

/** A Job template ConfigMap as the chart installs it: credentials Secret mounted as files, restricted. */
async function installTemplate(ns: string, options: TemplateOptions = {}): Promise<void> {
  const release = options.release ?? 'stackbackup';
  const template = options.template ?? 'test-list';
  const secure = options.securityContext ?? true;
  const job = {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: `${release}-${template}`,
      labels: { 'app.kubernetes.io/instance': release, 'app.kubernetes.io/part-of': 'stackbackup' },
    },
    spec: {
      backoffLimit: 0,
      template: {
        metadata: { labels: { 'app.kubernetes.io/instance': release } },
        spec: {
          restartPolicy: 'Never',
          automountServiceAccountToken: false,
          ...(secure
            ? { securityContext: { runAsNonRoot: true, runAsUser: 65532, seccompProfile: { type: 'RuntimeDefault' } } }
            : {}),
          ...(options.nodeSelector ? { nodeSelector: options.nodeSelector } : {}),
          containers: [
            {
              name: 'job',
              image: options.image ?? 'ghcr.io/example/stackbackup:0.1.0',
              command: options.command ?? ['stackbackup'],
              args: options.args ?? ['storage', 'check', '--bucket', '$(BUCKET)'],
              env: [
                { name: 'RELEASE', value: release },
                { name: 'STACKBACKUP_S3_ENDPOINT', value: IN_CLUSTER_S3 },
                { name: 'STACKBACKUP_S3_ACCESS_KEY_FILE', value: '/var/run/secrets/stackbackup/s3/accessKey' },
                { name: 'STACKBACKUP_S3_SECRET_KEY_FILE', value: '/var/run/secrets/stackbackup/s3/secretKey' },
              ],
              volumeMounts: [{ name: 's3-credentials', mountPath: '/var/run/secrets/stackbackup/s3', readOnly: true }],
              ...(secure
                ? {
                    securityContext: {
                      allowPrivilegeEscalation: false,
                      readOnlyRootFilesystem: true,
                      capabilities: { drop: ['ALL'] },
                    },
                  }
                : {}),
            },
          ],
          volumes: [{ name: 's3-credentials', secret: { secretName: `${release}-minio` } }],
        },
      },
    },
  };
  const objects = [
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: `${release}-minio` },
      stringData: { accessKey: minio.accessKey, secretKey: minio.secretKey },
    },
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: `${release}-${template}-job-template`,
        labels: {
          'app.kubernetes.io/part-of': 'stackbackup',
          'app.kubernetes.io/instance': release,
          'stackbackup.io/job-template': template,
        },
      },
      data: { 'job.yaml': stringify(job) },
    },
  ];
  const r = await cluster.kubectl(['apply', '--filename', '-'], {
    namespace: ns,
    input: objects.map((o) => JSON.stringify(o)).join('\n'),
  });
  assert.equal(r.code, 0, r.stderr);
}

async function newNamespace(labels: Record<string, string> = {}): Promise<string> {
  const ns = `restore-${++namespaces}`;
  await cluster.createNamespace(ns, labels);
  return ns;
}

interface ScriptRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function scriptEnv(kubeconfig: string, extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('STACKBACKUP_')) env[k] = v;
  return { ...env, KUBECONFIG: kubeconfig, ...extra };
}

/** Starts a script as an operator would: kubectl configured for the namespace, nothing else. */
async function startScript(script: string, args: string[], ns: string, env: Record<string, string> = {}) {
  // The operator scripts run as the README shows them (./restore/NAME from the checkout); the lib's
  // own test drivers are scripts written into the test's folder.
  const [command, commandArgs, cwd] = script.startsWith('restore/')
    ? [`./${script}`, args, REPO_ROOT]
    : ['bash', [join(work, script), ...args], work];
  const child = spawn(command, commandArgs, {
    cwd,
    env: scriptEnv(await cluster.kubeconfigFor(ns), env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const run: ScriptRun = { code: null, signal: null, stdout: '', stderr: '' };
  child.stdout.setEncoding('utf8').on('data', (c: string) => (run.stdout += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (run.stderr += c));
  const done = new Promise<ScriptRun>((resolve) =>
    child.on('close', (code, signal) => {
      run.code = code;
      run.signal = signal;
      resolve(run);
    }),
  );
  return { child, run, done };
}

async function runScript(
  script: string,
  args: string[],
  ns: string,
  env: Record<string, string> = {},
): Promise<ScriptRun> {
  return (await startScript(script, args, ns, env)).done;
}

/** Jobs and pods in the namespace (everything a script could have left behind). */
async function leftovers(ns: string): Promise<string> {
  const r = await cluster.kubectl(['get', 'jobs,pods', '--output', 'name'], { namespace: ns });
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim();
}

async function until(what: string, probe: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('restore/lib: running a Job from its template', () => {
  it('finds the template, runs the real CLI against MinIO, streams its logs, exits 0 and leaves nothing', async () => {
    const ns = await newNamespace();
    await installTemplate(ns);
    const run = await runScript('run-job.sh', ['test-list'], ns);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /reachable, credentials accepted/);
    assert.match(run.stdout, new RegExp(`${BUCKET}\\s+ok`));
    assert.match(run.stderr, /^job\.batch\/test-list-\d{8}t\d{6}-[a-z0-9]{5} created$/m);
    assert.match(run.stderr, /^Waiting for job to start\.\.\.$/m);
    assert.match(run.stderr, /^job\.batch "test-list-\d{8}t\d{6}-[a-z0-9]{5}" deleted$/m);
    assert.match(run.stderr, /=== next: nothing to do/);
    assert.ok(
      !run.stdout.includes(minio.secretKey) && !run.stderr.includes(minio.secretKey),
      'the secret key never shows',
    );
    assert.equal(await leftovers(ns), '');
  });

  it("passes arguments as data and exits with the job's exit code when it fails", async () => {
    const ns = await newNamespace();
    await installTemplate(ns);
    const run = await runScript('run-job.sh', ['test-list', 'no-such-bucket'], ns);
    assert.equal(run.code, 6, run.stderr);
    assert.match(run.stdout + run.stderr, /missing bucket\(s\): no-such-bucket/);
    assert.match(run.stderr, /ERROR: job test-list-\S+ failed \(exit code 6\)/);
    assert.equal(await leftovers(ns), '');
  });

  it('says which Helm values to set when the template is missing, and creates nothing', async () => {
    const ns = await newNamespace();
    const run = await runScript('run-job.sh', ['test-list'], ns);
    assert.equal(run.code, 3);
    assert.match(run.stderr, new RegExp(`ERROR: no "test-list" job template in namespace "${ns}"`));
    assert.match(run.stderr, /--set backup\.enabled=true --set backup\.stackGraph\.restore\.enabled=true/);
    assert.equal(await leftovers(ns), '');
  });

  it('asks for --release when two releases have the template, and uses the one named', async () => {
    const ns = await newNamespace();
    await installTemplate(ns, { release: 'alpha' });
    await installTemplate(ns, { release: 'beta', command: ['sh', '-c', 'echo "release=$RELEASE"'], args: [] });
    const ambiguous = await runScript('run-job.sh', ['test-list'], ns);
    assert.equal(ambiguous.code, 2);
    assert.match(
      ambiguous.stderr,
      /2 releases in namespace "restore-\d+" have a "test-list" job template: (alpha beta|beta alpha)/,
    );
    assert.match(ambiguous.stderr, /--release NAME/);
    assert.equal(await leftovers(ns), '');

    const chosen = await runScript('run-job.sh', ['--release', 'beta', 'test-list'], ns);
    assert.equal(chosen.code, 0, chosen.stderr);
    assert.equal(chosen.stdout, 'release=beta\n');
    const byEnv = await runScript('run-job.sh', ['test-list'], ns, { STACKBACKUP_RELEASE: 'alpha' });
    assert.equal(byEnv.code, 0, byEnv.stderr);
    assert.match(byEnv.stdout, /reachable, credentials accepted/);
    const unknown = await runScript('run-job.sh', ['--release', 'gamma', 'test-list'], ns);
    assert.equal(unknown.code, 3);
    assert.match(unknown.stderr, /release "gamma" has no "test-list" job template/);
    assert.equal(await leftovers(ns), '');
  });

  it('refuses names carrying ";", "$(", backticks, quotes or spaces before creating anything', async () => {
    const ns = await newNamespace();
    await installTemplate(ns);
    const marker = join(work, 'injected');
    const hostile = [
      `x;touch ${marker}`,
      `$(touch ${marker})`,
      `\`touch ${marker}\``,
      `a'b`,
      'two words',
      '../etc/passwd',
      'name\nnewline',
    ];
    for (const name of hostile) {
      const run = await runScript('run-job.sh', ['test-list', BUCKET, name], ns);
      assert.equal(run.code, 2, `${JSON.stringify(name)}: ${run.stderr}`);
      assert.match(run.stderr, /ERROR: invalid backup name: /);
      assert.match(run.stderr, /Allowed: letters, digits, dots, underscores and hyphens/);
      assert.doesNotMatch(run.stderr, /created/);
    }
    for (const args of [
      ['--release', 'x;y', 'test-list'],
      ['test-list', 'Bad;Bucket'],
      ['--namespace', '$(id)', 'test-list'],
      ['--timeout', '10;', 'test-list'],
    ]) {
      const run = await runScript('run-job.sh', args, ns);
      assert.equal(run.code, 2, `${JSON.stringify(args)}: ${run.stderr}`);
      assert.match(run.stderr, /ERROR: invalid /);
    }
    assert.equal(existsSync(marker), false, 'no injected command ran');
    assert.equal(await leftovers(ns), '');
  });

  it('gives up on a pod that never starts with the reason (ImagePullBackOff) and exit code 124', async () => {
    const ns = await newNamespace();
    await installTemplate(ns, { image: 'registry.invalid/stackbackup:0.1.0' });
    const started = Date.now();
    const run = await runScript('run-job.sh', ['--timeout', '4', 'test-list'], ns);
    assert.equal(run.code, 124, run.stderr);
    assert.ok(Date.now() - started < 60_000);
    assert.match(run.stderr, /ERROR: the pod of job test-list-\S+ did not start within 4s/);
    assert.match(run.stderr, /ImagePullBackOff: Back-off pulling image "registry\.invalid\/stackbackup:0\.1\.0"/);
    assert.match(run.stderr, /The cluster cannot pull the job image/);
    assert.equal(await leftovers(ns), '');
  });

  it('explains an unschedulable pod (the scheduler message) on timeout', async () => {
    const ns = await newNamespace();
    await installTemplate(ns, { nodeSelector: { 'stackbackup.test/disk': 'none' } });
    const run = await runScript('run-job.sh', ['--timeout', '4', 'test-list'], ns);
    assert.equal(run.code, 124, run.stderr);
    assert.match(run.stderr, /Unschedulable/);
    assert.match(run.stderr, /didn't match Pod's node affinity\/selector/);
    assert.match(run.stderr, /No node can run the job's pod/);
    assert.equal(await leftovers(ns), '');
  });

  it('on Ctrl-C while waiting for the pod, deletes the Job and its pod and exits 130', async () => {
    const ns = await newNamespace();
    await installTemplate(ns, { image: 'registry.invalid/stackbackup:0.1.0' });
    const { child, run, done } = await startScript('run-job.sh', ['--timeout', '300', 'test-list'], ns);
    await until('the script to wait for the pod', () => /ImagePullBackOff/.test(run.stderr));
    assert.match(await leftovers(ns), /^job\.batch\/test-list-/m);
    child.kill('SIGINT');
    const result = await done;
    assert.equal(result.code, 130, result.stderr);
    assert.match(result.stderr, /Interrupted: removing what this script created/);
    assert.match(result.stderr, /job\.batch "test-list-\S+" deleted/);
    assert.equal(await leftovers(ns), '');
  });

  it('on Ctrl-C while streaming the logs, stops the running job and removes it', async () => {
    const ns = await newNamespace();
    await installTemplate(ns, { command: ['sh', '-c', 'echo working; exec sleep 300'], args: [] });
    const { child, run, done } = await startScript('run-job.sh', ['test-list'], ns);
    await until('the job to log', () => run.stdout.includes('working'));
    child.kill('SIGINT');
    const result = await done;
    assert.equal(result.code, 130, result.stderr);
    assert.equal(await leftovers(ns), '');
  });

  it('accepts its job pods in a namespace that enforces Pod Security "restricted"', async () => {
    const ns = await newNamespace({
      'pod-security.kubernetes.io/enforce': 'restricted',
      'pod-security.kubernetes.io/enforce-version': 'latest',
    });
    await installTemplate(ns);
    const run = await runScript('run-job.sh', ['test-list'], ns);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /reachable, credentials accepted/);
    assert.equal(await leftovers(ns), '');
  });

  it('reports the admission refusal when a template breaks "restricted"', async () => {
    const ns = await newNamespace({ 'pod-security.kubernetes.io/enforce': 'restricted' });
    await installTemplate(ns, { securityContext: false });
    const run = await runScript('run-job.sh', ['--timeout', '4', 'test-list'], ns);
    assert.equal(run.code, 124, run.stderr);
    assert.match(run.stderr, /FailedCreate: .*violates PodSecurity "restricted:latest"/);
    assert.match(run.stderr, /Pod Security admission/);
    assert.equal(await leftovers(ns), '');
  });

  it('prints usage with --help and refuses unknown options', async () => {
    const ns = await newNamespace();
    const help = await runScript('run-job.sh', ['--help'], ns);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^Usage: run-job\.sh TEMPLATE/);
    assert.match(help.stdout, /--release NAME/);
    const unknown = await runScript('run-job.sh', ['--bogus', 'test-list'], ns);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown option --bogus/);
    const scaleHelp = await runScript('restore/scale-up.sh', ['--help'], ns);
    assert.equal(scaleHelp.code, 0);
    assert.match(scaleHelp.stdout, /recorded before the restore/);
  });
});

/**
 * The job controller lagging (as on a control plane too busy to keep up), against every restore script
 * and the library's own runner: once a Job's pod is on its node, kube-controller-manager is frozen
 * (SIGSTOP). The pod still runs and succeeds, but nothing marks its Job Complete. The controllers come
 * back once the script has taken the pod's success, so that the script's clean-up (foreground deletion),
 * its scale steps and its next Job can go on; each of its Jobs is frozen in turn. The restore scripts
 * run from the chart's own templates (rendered by the real Helm), with the store's work replaced by a
 * stand-in that takes a few seconds, so that what is checked is the scripts' Job lifecycle.
 */
describe("the job controller lags: every script ends with its pods' success", () => {
  const STANDIN = 'sleep 3; echo "stand-in: the work is done"';
  const WRITER = { 'stackbackup.test/frozen': 'writer' };
  const SELECTOR = 'stackbackup.test/frozen=writer';
  let chart: Manifest[] = [];

  before(async () => {
    const docs = await render({
      set: {
        ...minioValues(minio),
        'backup.stackGraph.scheduled.enabled': 'false',
        'backup.stackGraph.restore.scaleDownLabelSelector': SELECTOR,
        'backup.elasticsearch.scheduled.enabled': 'false',
        'backup.elasticsearch.restore.scaleDownLabelSelector': SELECTOR,
        'backup.volumes.enabled': 'true',
        'backup.volumes.scheduled.enabled': 'false',
        'backup.volumes.repository.password': 'frozen-restic-password',
        'victoria-metrics-0.restore.enabled': 'true',
        'victoria-metrics-0.backup.statefulSetName': 'vm0',
        'victoria-metrics-0.backup.persistentVolumeClaim': 'vm0-data',
      },
    });
    // The chart's Job templates, each container running the stand-in; the Secrets and ServiceAccounts they use.
    chart = docs.flatMap((d): Manifest[] => {
      const { namespace: _, ...metadata } = d.metadata;
      if (d.kind === 'Secret' || d.kind === 'ServiceAccount') return [{ ...d, metadata }];
      const jobYaml = d.data?.['job.yaml'];
      if (d.kind !== 'ConfigMap' || jobYaml === undefined) return [];
      const job = parse(jobYaml) as Manifest;
      const pod = job.spec?.template?.spec;
      assert.ok(pod, `${d.metadata.name} holds a Job with a pod template`);
      for (const c of [...(pod.initContainers ?? []), ...pod.containers]) {
        c.command = ['sh', '-c', STANDIN];
        c.args = [];
      }
      return [{ ...d, metadata, data: { ...d.data, 'job.yaml': stringify(job) } }];
    });
  });

  /** A volume reserved for claim NAME of the namespace (the test cluster has no provisioner), and that claim. */
  const volume = (ns: string, name: string, storage: string): object => ({
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name: `${ns}-${name}` },
    spec: {
      capacity: { storage },
      accessModes: ['ReadWriteOnce'],
      hostPath: { path: '/tmp/unused' },
      claimRef: { namespace: ns, name },
    },
  });
  const claim = (ns: string, name: string, storage: string): object[] => [
    volume(ns, name, storage),
    {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name },
      spec: {
        accessModes: ['ReadWriteOnce'],
        storageClassName: '',
        volumeName: `${ns}-${name}`,
        resources: { requests: { storage } },
      },
    },
  ];
  const workload = (
    kind: 'Deployment' | 'StatefulSet',
    name: string,
    replicas: number,
    labels: Record<string, string> = {},
  ) => ({
    apiVersion: 'apps/v1',
    kind,
    metadata: { name, labels },
    spec: {
      replicas,
      ...(kind === 'StatefulSet' ? { serviceName: name } : {}),
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name, image: 'registry.k8s.io/pause:3.10' }] },
      },
    },
  });

  interface Case {
    script: string;
    args: string[];
    /** The Jobs the script runs, each frozen in turn. */
    jobs: number;
    /** What the namespace holds besides the chart's templates: workloads, claims. */
    objects: (ns: string) => object[];
    /** The workloads the script scales down and back up, with their replica counts. */
    workloads: Record<string, number>;
    /** The script's last word. */
    done: RegExp;
  }
  const writers = () => [workload('Deployment', 'writer', 2, WRITER)];
  const cases: Case[] = [
    {
      script: 'run-job.sh',
      args: ['test-list'],
      jobs: 1,
      objects: () => [],
      workloads: {},
      done: /=== next: nothing to do/,
    },
    {
      script: 'restore/restore-stackgraph-backup.sh',
      args: ['sts-backup-20210216-0300.graph'],
      jobs: 2,
      // The restore claim the script creates from the chart's claim.yaml binds to this volume.
      objects: (ns) => [volume(ns, 'sb-stackbackup-stackgraph-restore', '10Gi'), ...writers()],
      workloads: { 'deployment/writer': 2 },
      done: /=== StackGraph restored from sts-backup-20210216-0300\.graph\./,
    },
    {
      script: 'restore/restore-victoria-metrics-backup.sh',
      args: ['victoria-metrics-0', 'victoria-metrics-0-20240105101500'],
      jobs: 2,
      objects: (ns) => [...claim(ns, 'vm0-data', '1Gi'), workload('StatefulSet', 'vm0', 1)],
      workloads: { 'statefulset/vm0': 1 },
      done: /=== victoria-metrics-0 restored from victoria-metrics-0-20240105101500\./,
    },
    {
      script: 'restore/restore-elasticsearch-snapshot.sh',
      args: ['sts-backup-20210223-0300-ppss8nx40ykppss8nx40yk', 'sts_internal*'],
      jobs: 1,
      objects: writers,
      workloads: { 'deployment/writer': 2 },
      done: /=== Elasticsearch snapshot \S+ restored\./,
    },
    {
      script: 'restore/restore-volume-backup.sh',
      args: ['claim-alice', 'latest', 'claim-spare'],
      jobs: 1,
      objects: (ns) => claim(ns, 'claim-spare', '1Gi'),
      workloads: {},
      done: /=== Claim claim-spare restored from snapshot latest of claim claim-alice\./,
    },
  ];

  /** Runs the script, freezing the controllers while each of its Jobs' pods runs; answers its run. */
  async function runFrozen(ns: string, c: Case): Promise<ScriptRun> {
    const started = await startScript(c.script, c.args, ns, { STACKBACKUP_FINISH_TIMEOUT: '3' });
    const warnings = () => (started.run.stderr.match(/is not marked Complete yet/g) ?? []).length;
    const ended = () => started.run.code !== null || started.run.signal !== null;
    const seen = new Set<string>();
    for (let n = 1; n <= c.jobs && !ended(); n++) {
      let pod = '';
      await until(
        `the pod of job ${n} on its node`,
        async () => {
          const r = await cluster.kubectl(
            [
              'get',
              'pods',
              '--selector',
              'stackbackup.io/created-by=restore-script',
              '--output',
              'jsonpath={range .items[*]}{.metadata.name}{"|"}{.spec.nodeName}{"\\n"}{end}',
            ],
            { namespace: ns },
          );
          pod =
            r.stdout.split('\n').find((line) => /^\S+\|\S+$/.test(line) && !seen.has(line.split('|')[0] ?? '')) ?? '';
          return pod !== '' || ended();
        },
        120_000,
      );
      if (pod === '') break;
      seen.add(pod.split('|')[0] ?? '');
      const resume = cluster.pauseControllers();
      try {
        await until(`the script to take the success of job ${n}'s pod`, () => warnings() >= n || ended(), 120_000);
      } finally {
        resume();
      }
    }
    return started.done;
  }

  for (const c of cases) {
    it(`${c.script} ${c.args.join(' ')}: each of its ${c.jobs} Job(s) ends with its pod's success, the script exits 0 and leaves nothing`, async () => {
      const ns = await newNamespace();
      if (c.script === 'run-job.sh') {
        await installTemplate(ns, { command: ['sh', '-c'], args: [STANDIN] });
      } else {
        const r = await cluster.kubectl(['apply', '--filename', '-'], {
          namespace: ns,
          input: chart.map((o) => JSON.stringify(o)).join('\n'),
        });
        assert.equal(r.code, 0, r.stderr);
      }
      const objects = c.objects(ns);
      if (objects.length > 0) {
        const r = await cluster.kubectl(['apply', '--filename', '-'], {
          namespace: ns,
          input: objects.map((o) => JSON.stringify(o)).join('\n'),
        });
        assert.equal(r.code, 0, r.stderr);
      }
      for (const w of Object.keys(c.workloads)) {
        const rolled = await cluster.kubectl(['rollout', 'status', w, '--timeout=90s'], { namespace: ns });
        assert.equal(rolled.code, 0, rolled.stderr);
      }

      const run = await runFrozen(ns, c);
      assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
      assert.equal((run.stdout.match(/^stand-in: the work is done$/gm) ?? []).length, c.jobs, run.stdout);
      assert.equal(
        (run.stderr.match(/^WARNING: pod \S+ succeeded; job \S+ is not marked Complete yet/gm) ?? []).length,
        c.jobs,
        run.stderr,
      );
      assert.doesNotMatch(run.stderr, /did not start/);
      assert.match(run.stderr, c.done);
      for (const [w, replicas] of Object.entries(c.workloads)) {
        const state = await cluster.kubectl(
          [
            'get',
            w,
            '--output',
            'jsonpath={.spec.replicas}|{.metadata.annotations.stackbackup\\.io/replicas-before-restore}',
          ],
          { namespace: ns },
        );
        assert.equal(state.stdout, `${replicas}|`, `${w} is back at its replica count, its record removed`);
      }
      // Nothing the script created is left: its Jobs, their pods, the StackGraph restore claim.
      const workloadPod = new RegExp(
        `^pod/(${
          Object.keys(c.workloads)
            .map((w) => w.split('/')[1])
            .join('|') || '-'
        })-`,
      );
      await until(
        'the jobs and their pods are gone',
        async () => (await leftovers(ns)).split('\n').filter((l) => l !== '' && !workloadPod.test(l)).length === 0,
      );
      const claims = await cluster.kubectl(['get', 'pvc', '--output', 'name'], { namespace: ns });
      assert.doesNotMatch(claims.stdout, /stackgraph-restore/);
    });
  }
});

describe('restore/lib: scaling down and back up', () => {
  const replicas = async (ns: string, workload: string) =>
    (
      await cluster.kubectl(
        [
          'get',
          workload,
          '--output',
          'jsonpath={.spec.replicas}|{.metadata.annotations.stackbackup\\.io/replicas-before-restore}',
        ],
        { namespace: ns },
      )
    ).stdout;
  const pods = async (ns: string, selector: string) =>
    (await cluster.kubectl(['get', 'pods', '--selector', selector, '--output', 'name'], { namespace: ns })).stdout
      .trim()
      .split('\n')
      .filter(Boolean).length;

  async function workloads(ns: string): Promise<void> {
    const labels = (app: string) => ({ matchLabels: { app } });
    const podTemplate = (app: string) => ({
      metadata: { labels: { app } },
      spec: { containers: [{ name: app, image: 'registry.k8s.io/pause:3.10' }] },
    });
    const objects = [
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'web' },
        spec: { replicas: 3, selector: labels('web'), template: podTemplate('web') },
      },
      {
        apiVersion: 'apps/v1',
        kind: 'StatefulSet',
        metadata: { name: 'db' },
        spec: { replicas: 2, serviceName: 'db', selector: labels('db'), template: podTemplate('db') },
      },
    ];
    const r = await cluster.kubectl(['apply', '--filename', '-'], {
      namespace: ns,
      input: objects.map((o) => JSON.stringify(o)).join('\n'),
    });
    assert.equal(r.code, 0, r.stderr);
    for (const w of ['deployment/web', 'statefulset/db']) {
      const rolled = await cluster.kubectl(['rollout', 'status', w, '--timeout=90s'], { namespace: ns });
      assert.equal(rolled.code, 0, rolled.stderr);
    }
  }

  it('records 3 and 2 replicas, waits until the pods are gone, and scale-up.sh restores exactly those', async () => {
    const ns = await newNamespace();
    await workloads(ns);
    assert.equal(await pods(ns, 'app=web'), 3);
    assert.equal(await pods(ns, 'app=db'), 2);

    const down = await runScript('scale-down.sh', ['deployment/web', 'statefulset/db'], ns);
    assert.equal(down.code, 0, down.stderr);
    assert.equal(await pods(ns, 'app=web'), 0, 'pods are gone when scale-down returns');
    assert.equal(await pods(ns, 'app=db'), 0);
    assert.equal(await replicas(ns, 'deployment/web'), '0|3');
    assert.equal(await replicas(ns, 'statefulset/db'), '0|2');

    // A second run (a restore retried after an interruption) keeps the first record, not 0.
    const again = await runScript('scale-down.sh', ['deployment/web', 'statefulset/db'], ns);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /keeping the replica count recorded earlier \(3\)/);
    assert.equal(await replicas(ns, 'deployment/web'), '0|3');

    const up = await runScript('restore/scale-up.sh', [], ns);
    assert.equal(up.code, 0, up.stderr);
    assert.match(up.stderr, /^deployment\/web scaled to 3 replicas$/m);
    assert.match(up.stderr, /^statefulset\/db scaled to 2 replicas$/m);
    assert.equal(await replicas(ns, 'deployment/web'), '3|');
    assert.equal(await replicas(ns, 'statefulset/db'), '2|');
    for (const w of ['deployment/web', 'statefulset/db']) {
      const rolled = await cluster.kubectl(['rollout', 'status', w, '--timeout=90s'], { namespace: ns });
      assert.equal(rolled.code, 0, rolled.stderr);
    }
    assert.equal(await pods(ns, 'app=web'), 3);
    assert.equal(await pods(ns, 'app=db'), 2);

    const nothing = await runScript('restore/scale-up.sh', [], ns);
    assert.equal(nothing.code, 0);
    assert.match(nothing.stderr, /Nothing to scale up/);
  });

  it('refuses a workload name that is not deployment/NAME or statefulset/NAME', async () => {
    const ns = await newNamespace();
    const run = await runScript('scale-down.sh', ['deployment/web;id'], ns);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /cannot scale/);
    const bad = await runScript('restore/scale-up.sh', ['-l', 'app=$(id)'], ns);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /invalid label selector/);
  });
});

describe('the chart in the test cluster', () => {
  // Helm 4 (`helm`) and the last approved Helm 3 (`helm3`): both built by scripts/install/helm.sh.
  for (const [binary, helmName] of [
    ['helm', 'Helm 4'],
    ['helm3', 'Helm 3'],
  ] as const) {
    it(`installs with ${helmName} into a namespace enforcing "restricted": pods admitted, the bucket-init hook and list-stackgraph-backups.sh run the real CLI against MinIO, uninstall leaves nothing`, async () => {
      const ns = await newNamespace({
        'pod-security.kubernetes.io/enforce': 'restricted',
        'pod-security.kubernetes.io/enforce-version': 'latest',
      });
      const helmHome = join(work, `${binary}-home`);
      const helm = (args: string[]) =>
        new Promise<ScriptRun>((resolve) => {
          const child = spawn(toolPath(binary, 'helm'), args, {
            env: scriptEnv(cluster.kubeconfig, {
              HELM_CACHE_HOME: join(helmHome, 'cache'),
              HELM_CONFIG_HOME: join(helmHome, 'config'),
              HELM_DATA_HOME: join(helmHome, 'data'),
            }),
          });
          const run: ScriptRun = { code: null, signal: null, stdout: '', stderr: '' };
          child.stdout.setEncoding('utf8').on('data', (c: string) => (run.stdout += c));
          child.stderr.setEncoding('utf8').on('data', (c: string) => (run.stderr += c));
          child.on('close', (code, signal) => resolve({ ...run, code, signal }));
        });
      // Release "stackbackup": the chart's S3 Service is stackbackup-minio, which the pod runner maps to the test MinIO.
      const installed = await helm([
        'install',
        'stackbackup',
        join(REPO_ROOT, 'chart'),
        '--namespace',
        ns,
        '--wait',
        '--timeout',
        '180s',
        '--values',
        join(REPO_ROOT, 'chart', 'ci', 'minio-emptydir-values.yaml'),
        '--set',
        `minio.accessKey=${minio.accessKey}`,
        '--set',
        `minio.secretKey=${minio.secretKey}`,
        '--set',
        `backup.stackGraph.bucketName=chart-stackgraph-${binary}`,
        '--set',
        `backup.elasticsearch.bucketName=chart-elasticsearch-${binary}`,
        // Elasticsearch's configure hook must reach an Elasticsearch; this test has none, so its store is off.
        '--set',
        'backup.elasticsearch.enabled=false',
      ]);
      assert.equal(installed.code, 0, installed.stderr);
      const client = new Client({
        endPoint: '127.0.0.1',
        port: Number(new URL(minio.endpoint).port),
        useSSL: false,
        accessKey: minio.accessKey,
        secretKey: minio.secretKey,
      });
      assert.equal(
        await client.bucketExists(`chart-stackgraph-${binary}`),
        true,
        'the bucket-init hook created the StackGraph bucket',
      );
      assert.equal(
        await client.bucketExists(`chart-elasticsearch-${binary}`),
        false,
        'a store that is off gets no bucket',
      );
      // list-stackgraph-backups.sh, from the chart's own stackgraph-list template, as an operator runs it.
      const backup = join(work, 'backup.graph');
      await writeFile(backup, 'graph data');
      const config = loadStorageConfig({
        STACKBACKUP_S3_ENDPOINT: minio.endpoint,
        STACKBACKUP_S3_ACCESS_KEY: minio.accessKey,
        STACKBACKUP_S3_SECRET_KEY: minio.secretKey,
      });
      await uploadFile(openStore(config, `chart-stackgraph-${binary}`), backup, 'sts-backup-20210216-0300.graph', {
        progress: () => undefined,
      });
      const list = await runScript('restore/list-stackgraph-backups.sh', [], ns);
      assert.equal(list.code, 0, list.stderr);
      assert.match(list.stdout, /^sts-backup-20210216-0300\.graph$/m);
      assert.match(list.stderr, /^job\.batch\/stackgraph-list-backups-\d{8}t\d{6}-[a-z0-9]{5} created$/m);
      assert.match(list.stderr, /^job\.batch "stackgraph-list-backups-\S+" deleted$/m);
      assert.equal(
        (await leftovers(ns))
          .split('\n')
          .filter((l) => l.includes('stackgraph'))
          .join('\n'),
        '',
        'the list Job and its pod are gone',
      );
      const refused = await cluster.kubectl(
        ['get', 'events', '--field-selector', 'reason=FailedCreate', '--output', 'jsonpath={.items[*].message}'],
        { namespace: ns },
      );
      assert.equal(refused.stdout, '', 'no pod was refused by admission');
      const ready = await cluster.kubectl(
        [
          'get',
          'deployments',
          '--output',
          'jsonpath={range .items[*]}{.metadata.name}={.status.readyReplicas}/{.spec.replicas}{" "}{end}',
        ],
        { namespace: ns },
      );
      assert.match(ready.stdout, /^stackbackup-minio=1\/1 $/);
      const removed = await helm(['uninstall', 'stackbackup', '--namespace', ns, '--wait', '--timeout', '120s']);
      assert.equal(removed.code, 0, removed.stderr);
      // Helm deletes the bucket-init hook Job once it succeeded (hook-succeeded); tolerate it while that deletion is under way.
      const left = (await leftovers(ns))
        .split('\n')
        .filter((line) => line !== '' && !/\/stackbackup-bucket-init(-[a-z0-9]{5})?$/.test(line));
      assert.deepEqual(left, []);
    });
  }
});
