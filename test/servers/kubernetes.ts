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
import { execFile, spawn } from 'node:child_process';
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, httpReady, startProcess, tempDir, toolPath, type RunningProcess } from './harness.js';
import { KubeApi, type KubeObject } from './kube-api.js';
import { PodRunner } from './pod-runner.js';

const execFileAsync = promisify(execFile);

export const NODE_NAME = 'kwok-node-0';

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface KubernetesCluster {
  /** https://127.0.0.1:PORT */
  apiUrl: string;
  /** Admin kubeconfig (namespace "default"). */
  kubeconfig: string;
  api: KubeApi;
  runner: PodRunner;
  /** Replaces `from` by `to` in the env, command and args of pods from now on (e.g. a service address). */
  alias(from: string, to: string): void;
  /** An admin kubeconfig whose current namespace is `namespace`, as an operator would have. */
  kubeconfigFor(namespace: string): Promise<string>;
  /** Creates a namespace (with labels) and waits for its default service account. */
  createNamespace(name: string, labels?: Record<string, string>): Promise<void>;
  /**
   * Freezes kube-controller-manager (SIGSTOP) until the returned function resumes it: the API server
   * and the pods go on, but no controller acts (a Job is not marked Complete, garbage stays).
   */
  pauseControllers(): () => void;
  /** Runs kubectl (from PATH) against the cluster as admin. */
  kubectl(args: string[], options?: { namespace?: string; input?: string }): Promise<KubectlResult>;
  stop(): Promise<void>;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  await execFileAsync('openssl', args, { cwd });
}

/** A CA, the API server's serving certificate, client certificates and the service account key. */
async function makeCertificates(dir: string): Promise<void> {
  const days = '7';
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await openssl(
    [
      'req',
      '-x509',
      ...ec,
      '-keyout',
      'ca.key',
      '-out',
      'ca.crt',
      '-days',
      days,
      '-subj',
      '/CN=stackbackup-test-ca',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign,digitalSignature',
    ],
    dir,
  );
  const leaf = async (name: string, subject: string, extensions: string[]) => {
    await openssl(
      [
        'req',
        '-x509',
        ...ec,
        '-CA',
        'ca.crt',
        '-CAkey',
        'ca.key',
        '-keyout',
        `${name}.key`,
        '-out',
        `${name}.crt`,
        '-days',
        days,
        '-subj',
        subject,
        '-addext',
        'basicConstraints=critical,CA:FALSE',
        ...extensions.flatMap((e) => ['-addext', e]),
      ],
      dir,
    );
  };
  await leaf('apiserver', '/CN=kube-apiserver', [
    'subjectAltName=IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local',
    'extendedKeyUsage=serverAuth',
  ]);
  await leaf('admin', '/O=system:masters/CN=stackbackup-test-admin', ['extendedKeyUsage=clientAuth']);
  await leaf('apiserver-kubelet-client', '/O=system:masters/CN=kube-apiserver-kubelet-client', [
    'extendedKeyUsage=clientAuth',
  ]);
  await leaf('kubelet', `/CN=${NODE_NAME}`, [
    'subjectAltName=IP:127.0.0.1,DNS:localhost',
    'extendedKeyUsage=serverAuth',
  ]);
  await openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'sa.key'], dir);
  await openssl(['ec', '-in', 'sa.key', '-pubout', '-out', 'sa.pub'], dir);
}

function kubeconfigText(server: string, ca: string, cert: string, key: string, namespace: string): string {
  const b64 = (text: string) => Buffer.from(text).toString('base64');
  return JSON.stringify(
    {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'stackbackup-test', cluster: { server, 'certificate-authority-data': b64(ca) } }],
      users: [{ name: 'admin', user: { 'client-certificate-data': b64(cert), 'client-key-data': b64(key) } }],
      contexts: [
        { name: 'admin@stackbackup-test', context: { cluster: 'stackbackup-test', user: 'admin', namespace } },
      ],
      'current-context': 'admin@stackbackup-test',
    },
    null,
    2,
  );
}

/** True when an HTTPS GET answers 200 (certificates not checked: self-signed component endpoints). */
function httpsOk(url: string, ca?: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = httpsRequest(url, { ca, rejectUnauthorized: ca !== undefined, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
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
  await makeCertificates(pki);
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
        args: [
          '--name=test',
          `--data-dir=${join(dir, 'etcd')}`,
          `--listen-client-urls=${etcdUrl}`,
          `--advertise-client-urls=${etcdUrl}`,
          `--listen-peer-urls=${peerUrl}`,
          `--initial-advertise-peer-urls=${peerUrl}`,
          `--initial-cluster=test=${peerUrl}`,
          '--unsafe-no-fsync',
          '--log-level=warn',
          '--listen-metrics-urls=',
        ],
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
        args: [
          `--etcd-servers=${etcdUrl}`,
          '--bind-address=127.0.0.1',
          `--secure-port=${apiPort}`,
          '--advertise-address=127.0.0.1',
          '--endpoint-reconciler-type=none',
          '--service-cluster-ip-range=10.0.0.0/24',
          `--client-ca-file=${join(pki, 'ca.crt')}`,
          `--tls-cert-file=${join(pki, 'apiserver.crt')}`,
          `--tls-private-key-file=${join(pki, 'apiserver.key')}`,
          `--kubelet-client-certificate=${join(pki, 'apiserver-kubelet-client.crt')}`,
          `--kubelet-client-key=${join(pki, 'apiserver-kubelet-client.key')}`,
          '--kubelet-preferred-address-types=InternalIP',
          '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
          `--service-account-key-file=${join(pki, 'sa.pub')}`,
          `--service-account-signing-key-file=${join(pki, 'sa.key')}`,
          '--api-audiences=https://kubernetes.default.svc.cluster.local',
          '--authorization-mode=RBAC',
          '--allow-privileged=true',
          '--anonymous-auth=true',
          '--profiling=false',
          '--v=1',
        ],
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
      args: [
        `--kubeconfig=${kubeconfig}`,
        `--authentication-kubeconfig=${kubeconfig}`,
        `--authorization-kubeconfig=${kubeconfig}`,
        '--bind-address=127.0.0.1',
        `--secure-port=${cmPort}`,
        `--cert-dir=${join(dir, 'cm-certs')}`,
        '--leader-elect=false',
        `--service-account-private-key-file=${join(pki, 'sa.key')}`,
        `--root-ca-file=${join(pki, 'ca.crt')}`,
        '--use-service-account-credentials=false',
        '--controllers=*,-csrsigning,-nodeipam,-cloud-node-lifecycle,-service-lb-controller,-node-route-controller',
        '--concurrent-job-syncs=5',
        '--profiling=false',
        '--v=1',
      ],
      ready: () => httpsOk(`https://127.0.0.1:${cmPort}/healthz`),
      timeoutMs: 60_000,
    });
    started.push(controllerManager);
    const schedulerPort = await freePort();
    started.push(
      await startProcess({
        name: 'kube-scheduler',
        command: binaries.scheduler,
        args: [
          `--kubeconfig=${kubeconfig}`,
          `--authentication-kubeconfig=${kubeconfig}`,
          `--authorization-kubeconfig=${kubeconfig}`,
          '--bind-address=127.0.0.1',
          `--secure-port=${schedulerPort}`,
          `--cert-dir=${join(dir, 'scheduler-certs')}`,
          '--leader-elect=false',
          '--profiling=false',
          '--v=1',
        ],
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

    const kubeconfigs = new Map<string, string>();
    const cluster: KubernetesCluster = {
      apiUrl,
      kubeconfig,
      api,
      runner,
      alias(from, to) {
        aliases[from] = to;
      },
      pauseControllers() {
        const child = controllerManager?.child;
        child?.kill('SIGSTOP');
        return () => void child?.kill('SIGCONT');
      },
      async kubeconfigFor(namespace) {
        let file = kubeconfigs.get(namespace);
        if (file === undefined) {
          file = join(dir, `kubeconfig-${namespace}`);
          await writeFile(file, kubeconfigText(apiUrl, ca, adminCert, adminKey, namespace), { mode: 0o600 });
          kubeconfigs.set(namespace, file);
        }
        return file;
      },
      async createNamespace(name, labels = {}) {
        await api.create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } });
        const deadline = Date.now() + 30_000;
        while ((await api.find(`/api/v1/namespaces/${name}/serviceaccounts/default`)) === undefined) {
          if (Date.now() > deadline)
            throw new Error(`namespace ${name}: the default service account did not appear within 30 s`);
          await new Promise((r) => setTimeout(r, 100));
        }
      },
      kubectl(args, opts = {}) {
        return new Promise((resolve, reject) => {
          const child = spawn('kubectl', [...(opts.namespace ? ['--namespace', opts.namespace] : []), ...args], {
            env: { ...process.env, KUBECONFIG: kubeconfig },
            stdio: ['pipe', 'pipe', 'pipe'],
          });
          let stdout = '';
          let stderr = '';
          child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
          child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
          child.on('error', reject);
          child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
          child.stdin.end(opts.input ?? '');
        });
      },
      stop: stopAll,
    };
    return cluster;
  } catch (err) {
    await stopAll();
    throw err;
  }
}
