/**
 * A real Kubernetes control plane on loopback for tests: etcd, kube-apiserver (RBAC, the default
 * admission plugins including PodSecurity), kube-controller-manager (Jobs, Deployments, StatefulSets,
 * namespaces, garbage collection, service accounts), kube-scheduler, and kwok keeping one simulated
 * node Ready. Pods the scheduler binds to that node are run by the PodRunner (pod-runner.ts) inside the
 * test process: their commands run locally, their status and logs go through the real API.
 *
 * Certificates are made with openssl for this run only; the admin user is in system:masters.
 * Built by scripts/install/kubernetes.sh (scripts/setup.sh runs it).
 */
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  apiserverArgs,
  clusterAccess,
  controllerManagerArgs,
  etcdArgs,
  httpsOk,
  kubeconfigText,
  makeCertificates,
  schedulerArgs,
  type ClusterAccess,
  type KubectlResult,
} from './control-plane.js';
import { freePort, httpReady, startProcess, tempDir, toolPath, type RunningProcess } from './harness.js';
import { KubeApi, type KubeObject } from './kube-api.js';
import { PodRunner } from './pod-runner.js';

export const NODE_NAME = 'kwok-node-0';

export type { KubectlResult };

export interface KubernetesCluster extends ClusterAccess {
  /** https://127.0.0.1:PORT */
  apiUrl: string;
  /** Admin kubeconfig (namespace "default"). */
  kubeconfig: string;
  api: KubeApi;
  runner: PodRunner;
  /** Replaces `from` by `to` in the env, command and args of pods from now on (e.g. a service address). */
  alias(from: string, to: string): void;
  stop(): Promise<void>;
}

export interface KubernetesOptions {
  /** Text replaced in pods' env, command and args (see PodRunnerOptions.aliases). */
  aliases?: Record<string, string>;
  /** Images that cannot be pulled. Default: any image from the reserved ".invalid" domain. */
  unpullable?: (image: string) => boolean;
}

export async function startKubernetes(options: KubernetesOptions = {}): Promise<KubernetesCluster> {
  const binaries = {
    etcd: toolPath('etcd', 'kubernetes'),
    apiserver: toolPath('kube-apiserver', 'kubernetes'),
    controllerManager: toolPath('kube-controller-manager', 'kubernetes'),
    scheduler: toolPath('kube-scheduler', 'kubernetes'),
    kwok: toolPath('kwok', 'kubernetes'),
  };
  const dir = await tempDir('kubernetes');
  const pki = join(dir, 'pki');
  await mkdir(pki);
  await makeCertificates(pki, { nodeName: NODE_NAME });
  const read = (name: string) => readFile(join(pki, name), 'utf8');
  const [ca, adminCert, adminKey] = await Promise.all([read('ca.crt'), read('admin.crt'), read('admin.key')]);

  const started: RunningProcess[] = [];
  let runner: PodRunner | undefined;
  let controllerManager: RunningProcess | undefined;
  const stopAll = async () => {
    controllerManager?.child.kill('SIGCONT');
    await runner?.stop();
    for (const proc of started.reverse()) await proc.stop();
    const { rm } = await import('node:fs/promises');
    await rm(dir, { recursive: true, force: true });
  };

  try {
    // etcd
    const [etcdPort, etcdPeerPort] = [await freePort(), await freePort()];
    const etcdUrl = `http://127.0.0.1:${etcdPort}`;
    const peerUrl = `http://127.0.0.1:${etcdPeerPort}`;
    started.push(
      await startProcess({
        name: 'etcd',
        command: binaries.etcd,
        args: etcdArgs(join(dir, 'etcd'), etcdUrl, peerUrl),
        ready: () => httpReady(`${etcdUrl}/health`),
      }),
    );

    // kube-apiserver
    const apiPort = await freePort();
    const apiUrl = `https://127.0.0.1:${apiPort}`;
    started.push(
      await startProcess({
        name: 'kube-apiserver',
        command: binaries.apiserver,
        args: apiserverArgs({
          etcdUrl,
          pki,
          bindAddress: '127.0.0.1',
          port: apiPort,
          advertiseAddress: '127.0.0.1',
          endpointReconciler: 'none',
        }),
        ready: () => httpsOk(`${apiUrl}/readyz`, ca),
        timeoutMs: 120_000,
      }),
    );
    const kubeconfig = join(dir, 'admin.kubeconfig');
    await writeFile(kubeconfig, kubeconfigText(apiUrl, ca, adminCert, adminKey, 'default'), { mode: 0o600 });
    const api = new KubeApi({ server: apiUrl, ca, cert: adminCert, key: adminKey });

    // kube-controller-manager and kube-scheduler
    const cmPort = await freePort();
    controllerManager = await startProcess({
      name: 'kube-controller-manager',
      command: binaries.controllerManager,
      args: controllerManagerArgs(kubeconfig, pki, join(dir, 'cm-certs'), '127.0.0.1', cmPort),
      ready: () => httpsOk(`https://127.0.0.1:${cmPort}/healthz`),
      timeoutMs: 60_000,
    });
    started.push(controllerManager);
    const schedulerPort = await freePort();
    started.push(
      await startProcess({
        name: 'kube-scheduler',
        command: binaries.scheduler,
        args: schedulerArgs(kubeconfig, join(dir, 'scheduler-certs'), '127.0.0.1', schedulerPort),
        ready: () => httpsOk(`https://127.0.0.1:${schedulerPort}/healthz`),
        timeoutMs: 60_000,
      }),
    );

    // The pod runner (kubelet API on its own port), then kwok for the node, pointing at that port.
    const [tlsKey, tlsCert] = await Promise.all([read('kubelet.key'), read('kubelet.crt')]);
    const aliases = { ...(options.aliases ?? {}) };
    runner = new PodRunner({
      api,
      nodeName: NODE_NAME,
      workDir: join(dir, 'pods'),
      apiUrl,
      caPem: ca,
      tlsKey,
      tlsCert,
      aliases,
      unpullable: options.unpullable ?? ((image) => /^[^/]*\.invalid(:\d+)?\//.test(image)),
    });
    await runner.start();

    await api.create('/api/v1/nodes', {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name: NODE_NAME,
        labels: {
          'kubernetes.io/hostname': NODE_NAME,
          'kubernetes.io/os': 'linux',
          'kubernetes.io/arch': 'amd64',
          type: 'kwok',
        },
        annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
      },
    });
    const kwokConfig = join(dir, 'kwok.yaml');
    // No pod stages of kwok's own: the PodRunner plays the pods. kwok only keeps the node Ready.
    await writeFile(
      kwokConfig,
      [
        'apiVersion: kwok.x-k8s.io/v1alpha1',
        'kind: Stage',
        'metadata:',
        '  name: pods-are-run-by-the-test-harness',
        'spec:',
        '  resourceRef:',
        '    apiGroup: v1',
        '    kind: Pod',
        '  selector:',
        '    matchLabels:',
        '      stackbackup.test/kwok-pod-stage: never',
        '  next: {}',
        '',
      ].join('\n'),
    );
    const kwokPort = await freePort();
    const kwokHome = join(dir, 'kwok-home');
    await mkdir(kwokHome);
    started.push(
      await startProcess({
        name: 'kwok',
        command: binaries.kwok,
        args: [
          `--config=${kwokConfig}`,
          `--kubeconfig=${kubeconfig}`,
          `--manage-single-node=${NODE_NAME}`,
          '--node-ip=127.0.0.1',
          `--node-port=${runner.port}`,
          `--server-address=127.0.0.1:${kwokPort}`,
          '--node-lease-duration-seconds=40',
        ],
        env: { HOME: kwokHome },
        ready: async () => {
          const node = await api.get<KubeObject & { status?: { conditions?: { type: string; status: string }[] } }>(
            `/api/v1/nodes/${NODE_NAME}`,
          );
          return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
        },
        timeoutMs: 60_000,
      }),
    );

    const cluster: KubernetesCluster = {
      apiUrl,
      kubeconfig,
      api,
      runner,
      alias(from, to) {
        aliases[from] = to;
      },
      ...clusterAccess(
        { apiUrl, kubeconfig, ca, cert: adminCert, key: adminKey },
        api,
        dir,
        () => controllerManager?.child,
      ),
      stop: stopAll,
    };
    return cluster;
  } catch (err) {
    await stopAll();
    throw err;
  }
}
