/**
 * The test Kubernetes control plane itself (test/servers/kubernetes.ts): Jobs create pods that the
 * real scheduler binds to the kwok node, the pod runner executes them and reports their exit codes,
 * `kubectl logs -f` streams through the API server and ends with the container, pods get their
 * service account's real RBAC, workloads scale, and Pod Security admission enforces "restricted".
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { startKubernetes, type KubernetesCluster } from '../servers/kubernetes.js';
import type { KubeObject } from '../servers/kube-api.js';

let cluster: KubernetesCluster;

before(async () => {
  cluster = await startKubernetes();
});
after(async () => {
  await cluster?.stop();
});

const restricted = {
  pod: { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } },
  container: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
};

function job(name: string, command: string[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name },
    spec: {
      backoffLimit: 0,
      template: {
        spec: {
          restartPolicy: 'Never',
          securityContext: restricted.pod,
          containers: [{ name: 'main', image: 'example.org/tools:1', command, securityContext: restricted.container }],
          ...extra,
        },
      },
    },
  };
}

type JobStatus = KubeObject & { status?: { conditions?: { type: string; status: string }[] } };

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function jobOutcome(ns: string, name: string): Promise<string> {
  return waitFor(`job ${name} to finish`, async () => {
    const j = await cluster.api.get<JobStatus>(`/apis/batch/v1/namespaces/${ns}/jobs/${name}`);
    return j.status?.conditions?.find((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True')
      ?.type;
  });
}

describe('test Kubernetes control plane', () => {
  it('serves the pinned version and has a Ready kwok node', async () => {
    const version = await cluster.api.get<{ gitVersion: string }>('/version');
    assert.equal(version.gitVersion, 'v1.33.13');
    const nodes = await cluster.kubectl([
      'get',
      'nodes',
      '--output',
      'jsonpath={.items[*].status.conditions[?(@.type=="Ready")].status}',
    ]);
    assert.equal(nodes.stdout, 'True', nodes.stderr);
  });

  it("runs a Job's pod: the Job completes and its logs are served through the API server", async () => {
    await cluster.createNamespace('harness-ok');
    await cluster.api.create(
      '/apis/batch/v1/namespaces/harness-ok/jobs',
      job('hello', ['sh', '-c', 'echo "hello from $HOSTNAME"; echo "to stderr" >&2']),
    );
    assert.equal(await jobOutcome('harness-ok', 'hello'), 'Complete');
    const logs = await cluster.kubectl(['logs', 'job/hello'], { namespace: 'harness-ok' });
    assert.equal(logs.code, 0, logs.stderr);
    assert.match(logs.stdout, /^hello from hello-[a-z0-9]{5}$/m);
    assert.match(logs.stdout, /^to stderr$/m);
  });

  it("reports the container's exit code: the Job fails and the pod shows the code", async () => {
    await cluster.createNamespace('harness-fail');
    await cluster.api.create(
      '/apis/batch/v1/namespaces/harness-fail/jobs',
      job('fails', ['sh', '-c', 'echo failing; exit 7']),
    );
    assert.equal(await jobOutcome('harness-fail', 'fails'), 'Failed');
    const code = await cluster.kubectl(
      [
        'get',
        'pods',
        '--selector',
        'job-name=fails',
        '--output',
        'jsonpath={.items[0].status.containerStatuses[0].state.terminated.exitCode}',
      ],
      { namespace: 'harness-fail' },
    );
    assert.equal(code.stdout, '7');
  });

  it('kubectl logs --follow streams lines as they come and ends when the container exits', async () => {
    await cluster.createNamespace('harness-follow');
    await cluster.api.create(
      '/apis/batch/v1/namespaces/harness-follow/jobs',
      job('slow', ['sh', '-c', 'echo first; sleep 2; echo second']),
    );
    await waitFor('the pod to run', async () => {
      const r = await cluster.kubectl(
        ['get', 'pods', '--selector', 'job-name=slow', '--output', 'jsonpath={.items[0].status.phase}'],
        { namespace: 'harness-follow' },
      );
      return r.stdout === 'Running' ? true : undefined;
    });
    const started = Date.now();
    const follow = spawn('kubectl', ['--namespace', 'harness-follow', 'logs', '--follow', 'job/slow'], {
      env: { ...process.env, KUBECONFIG: cluster.kubeconfig },
    });
    const chunks: { at: number; text: string }[] = [];
    follow.stdout.setEncoding('utf8').on('data', (text: string) => chunks.push({ at: Date.now(), text }));
    const code = await new Promise<number | null>((resolve) => follow.on('close', resolve));
    assert.equal(code, 0);
    const all = chunks.map((c) => c.text).join('');
    assert.equal(all, 'first\nsecond\n');
    const firstAt = chunks.find((c) => c.text.includes('first'))?.at ?? 0;
    assert.ok(firstAt - started < 1500, 'the first line arrives before the container ends');
    assert.equal(await jobOutcome('harness-follow', 'slow'), 'Complete');
  });

  it("gives pods their service account's token, so the API server applies the pod's real RBAC", async () => {
    await cluster.createNamespace('harness-rbac');
    const manifest = [
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'reader' } },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'Role',
        metadata: { name: 'reader' },
        rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get'] }],
      },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name: 'reader' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'reader' },
        subjects: [{ kind: 'ServiceAccount', name: 'reader', namespace: 'harness-rbac' }],
      },
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'visible' }, data: { greeting: 'hi' } },
    ];
    const applied = await cluster.kubectl(['apply', '--filename', '-'], {
      namespace: 'harness-rbac',
      input: manifest.map((m) => JSON.stringify(m)).join('\n'),
    });
    assert.equal(applied.code, 0, applied.stderr);
    const script =
      'kubectl get configmap visible -o jsonpath={.data.greeting}; echo; kubectl auth whoami -o jsonpath={.status.userInfo.username}; echo; kubectl get secrets 2>&1 | grep -o Forbidden';
    await cluster.api.create(
      '/apis/batch/v1/namespaces/harness-rbac/jobs',
      job('rbac', ['sh', '-c', script], { serviceAccountName: 'reader' }),
    );
    assert.equal(await jobOutcome('harness-rbac', 'rbac'), 'Complete');
    const logs = await cluster.kubectl(['logs', 'job/rbac'], { namespace: 'harness-rbac' });
    assert.deepEqual(logs.stdout.trim().split('\n'), ['hi', 'system:serviceaccount:harness-rbac:reader', 'Forbidden']);
  });

  it('passes env from Secrets and ConfigMaps and mounts Secret files at rewritten paths', async () => {
    await cluster.createNamespace('harness-env');
    const manifest = [
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'creds' },
        stringData: { user: 'alice', password: 's3cr3t' },
      },
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings' }, data: { region: 'eu-west-1' } },
    ];
    await cluster.kubectl(['apply', '--filename', '-'], {
      namespace: 'harness-env',
      input: manifest.map((m) => JSON.stringify(m)).join('\n'),
    });
    const extra = {
      volumes: [{ name: 'creds', secret: { secretName: 'creds', items: [{ key: 'password', path: 'password' }] } }],
    };
    const spec = job('env', ['sh', '-c', 'echo "$USER_NAME $REGION $GREETING"; cat "$PASSWORD_FILE"; echo'], extra) as {
      spec: { template: { spec: { containers: Record<string, unknown>[] } } };
    };
    Object.assign(spec.spec.template.spec.containers[0] ?? {}, {
      env: [
        { name: 'USER_NAME', valueFrom: { secretKeyRef: { name: 'creds', key: 'user' } } },
        { name: 'REGION', valueFrom: { configMapKeyRef: { name: 'settings', key: 'region' } } },
        { name: 'WHO', value: 'world' },
        { name: 'GREETING', value: 'hello-$(WHO)' },
        { name: 'PASSWORD_FILE', value: '/etc/creds/password' },
      ],
      volumeMounts: [{ name: 'creds', mountPath: '/etc/creds', readOnly: true }],
    });
    await cluster.api.create('/apis/batch/v1/namespaces/harness-env/jobs', spec);
    assert.equal(await jobOutcome('harness-env', 'env'), 'Complete');
    const logs = await cluster.kubectl(['logs', 'job/env'], { namespace: 'harness-env' });
    assert.equal(logs.stdout, 'alice eu-west-1 hello-world\ns3cr3t\n');
  });

  it('runs Deployment and StatefulSet pods (idle containers) and removes them when scaled to 0', async () => {
    await cluster.createNamespace('harness-scale');
    const created = await cluster.kubectl(
      ['create', 'deployment', 'web', '--image=registry.k8s.io/pause:3.10', '--replicas=2'],
      { namespace: 'harness-scale' },
    );
    assert.equal(created.code, 0, created.stderr);
    const rolled = await cluster.kubectl(['rollout', 'status', 'deployment/web', '--timeout=60s'], {
      namespace: 'harness-scale',
    });
    assert.equal(rolled.code, 0, rolled.stderr);
    await cluster.kubectl(['scale', 'deployment/web', '--replicas=0'], { namespace: 'harness-scale' });
    const gone = await cluster.kubectl(['wait', 'pods', '--for=delete', '--selector', 'app=web', '--timeout=60s'], {
      namespace: 'harness-scale',
    });
    assert.equal(gone.code, 0, gone.stderr);
  });

  it('enforces Pod Security "restricted" on a labelled namespace', async () => {
    await cluster.createNamespace('harness-restricted', { 'pod-security.kubernetes.io/enforce': 'restricted' });
    const privileged = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'privileged' },
      spec: { containers: [{ name: 'c', image: 'example.org/tools:1', securityContext: { privileged: true } }] },
    };
    const refused = await cluster.kubectl(['create', '--filename', '-'], {
      namespace: 'harness-restricted',
      input: JSON.stringify(privileged),
    });
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /violates PodSecurity "restricted:latest"/);
    const compliant = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'compliant' },
      spec: {
        securityContext: restricted.pod,
        containers: [{ name: 'c', image: 'example.org/tools:1', securityContext: restricted.container }],
      },
    };
    const accepted = await cluster.kubectl(['create', '--filename', '-'], {
      namespace: 'harness-restricted',
      input: JSON.stringify(compliant),
    });
    assert.equal(accepted.code, 0, accepted.stderr);
  });
});
