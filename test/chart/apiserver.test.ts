/**
 * Every manifest the chart renders for the chart/ci value sets is accepted by a real kube-apiserver
 * (test/servers/kubernetes.ts) with strict field validation, in a namespace that enforces the
 * "restricted" Pod Security Standard; every pod template is admitted as a Pod there. Server-side dry
 * runs, so nothing is scheduled; only the ServiceAccounts are created for real (Pod admission needs them).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { KubeApiError } from '../servers/kube-api.js';
import { startKubernetes, type KubernetesCluster } from '../servers/kubernetes.js';
import { NAMESPACE, ciValueFiles, podTemplates, render, type Manifest } from './helm.js';

const COLLECTIONS: Record<string, string> = {
  'v1/ServiceAccount': 'api/v1/namespaces/NS/serviceaccounts',
  'v1/Secret': 'api/v1/namespaces/NS/secrets',
  'v1/ConfigMap': 'api/v1/namespaces/NS/configmaps',
  'v1/Service': 'api/v1/namespaces/NS/services',
  'v1/PersistentVolumeClaim': 'api/v1/namespaces/NS/persistentvolumeclaims',
  'v1/Pod': 'api/v1/namespaces/NS/pods',
  'apps/v1/Deployment': 'apis/apps/v1/namespaces/NS/deployments',
  'apps/v1/StatefulSet': 'apis/apps/v1/namespaces/NS/statefulsets',
  'batch/v1/Job': 'apis/batch/v1/namespaces/NS/jobs',
  'batch/v1/CronJob': 'apis/batch/v1/namespaces/NS/cronjobs',
  'rbac.authorization.k8s.io/v1/Role': 'apis/rbac.authorization.k8s.io/v1/namespaces/NS/roles',
  'rbac.authorization.k8s.io/v1/RoleBinding': 'apis/rbac.authorization.k8s.io/v1/namespaces/NS/rolebindings',
};

function collection(doc: { apiVersion: string; kind: string }): string {
  const path = COLLECTIONS[`${doc.apiVersion}/${doc.kind}`];
  assert.ok(path, `the test knows where ${doc.apiVersion} ${doc.kind} goes`);
  return `/${path.replace('NS', NAMESPACE)}`;
}

const DRY_RUN = '?dryRun=All&fieldValidation=Strict';

let cluster: KubernetesCluster;

before(async () => {
  cluster = await startKubernetes();
  await cluster.createNamespace(NAMESPACE, {
    'pod-security.kubernetes.io/enforce': 'restricted',
    'pod-security.kubernetes.io/enforce-version': 'latest',
  });
});
after(async () => {
  await cluster?.stop();
});

async function ensureServiceAccount(doc: Manifest): Promise<void> {
  const path = collection(doc);
  if (await cluster.api.find(`${path}/${doc.metadata.name}`)) return;
  await cluster.api.create(`${path}?fieldValidation=Strict`, doc);
}

async function dryRunCreate(doc: unknown, path: string): Promise<string | undefined> {
  try {
    await cluster.api.create(`${path}${DRY_RUN}`, doc);
    return undefined;
  } catch (err) {
    if (err instanceof KubeApiError) return err.body;
    throw err;
  }
}

describe('a real API server accepts what the chart renders', () => {
  it('enforces the restricted profile in the test namespace (a pod without a securityContext is refused)', async () => {
    const refused = await dryRunCreate(
      { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'baseline-probe' }, spec: { containers: [{ name: 'c', image: 'example.invalid/x' }] } },
      collection({ apiVersion: 'v1', kind: 'Pod' }),
    );
    assert.ok(refused?.includes('violates PodSecurity') && refused.includes('restricted:latest'), `the probe pod was not refused: ${refused}`);
  });

  it('validates fields strictly (an unknown field is refused)', async () => {
    const refused = await dryRunCreate(
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'strict-probe' }, data: {}, bogus: true },
      collection({ apiVersion: 'v1', kind: 'ConfigMap' }),
    );
    assert.ok(refused?.includes('unknown field'), `the probe ConfigMap was not refused: ${refused}`);
  });

  it('validates every resource of every chart/ci value set strictly, and admits every pod template', async () => {
    let resources = 0;
    let pods = 0;
    for (const file of await ciValueFiles()) {
      const docs = await render({ files: [file] });
      for (const doc of docs.filter((d) => d.kind === 'ServiceAccount')) await ensureServiceAccount(doc);
      for (const doc of docs.filter((d) => d.kind !== 'ServiceAccount')) {
        resources += 1;
        const problem = await dryRunCreate(doc, collection(doc));
        assert.equal(problem, undefined, `${file}: ${doc.kind}/${doc.metadata.name} refused:\n${problem}`);
      }
      for (const { owner, template } of podTemplates(docs)) {
        pods += 1;
        const name = `${owner.split('/')[1] ?? 'pod'}-probe`.slice(0, 63);
        const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name, labels: template.metadata?.labels ?? {} }, spec: template.spec };
        const problem = await dryRunCreate(pod, collection(pod));
        assert.equal(problem, undefined, `${file}: the pod of ${owner} is not admitted under "restricted":\n${problem}`);
      }
    }
    assert.ok(resources >= 60 && pods >= 12, `checked ${resources} resources and ${pods} pod templates`);
  });
});
