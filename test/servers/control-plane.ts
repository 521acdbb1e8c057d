/**
 * What the two test clusters share: the kwok one on loopback (kubernetes.ts) and the real node inside a
 * network namespace (node-cluster.ts). Certificates made with openssl for one run, kubeconfigs, the
 * command lines of etcd, kube-apiserver, kube-controller-manager and kube-scheduler, and kubectl.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { KubeApi } from './kube-api.js';

const execFileAsync = promisify(execFile);

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  await execFileAsync('openssl', args, { cwd });
}

export interface CertificateOptions {
  /** The kubelet's node name (CN of its serving certificate). */
  nodeName: string;
  /** Extra IP addresses of the API server's serving certificate (127.0.0.1 and 10.0.0.1 are always in). */
  apiserverIps?: string[];
  /** IP addresses of the kubelet's serving certificate (default 127.0.0.1). */
  kubeletIps?: string[];
  /** More client certificates: file name (NAME.crt, NAME.key) to subject, e.g. "/O=system:nodes/CN=system:node:x". */
  clients?: Record<string, string>;
}

/**
 * A CA, the API server's serving certificate, client certificates (admin and the API server's kubelet
 * client, both in system:masters), the kubelet's serving certificate and the service account key.
 */
export async function makeCertificates(dir: string, options: CertificateOptions): Promise<void> {
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
  const apiserverIps = ['127.0.0.1', '10.0.0.1', ...(options.apiserverIps ?? [])].map((ip) => `IP:${ip}`).join(',');
  const kubeletIps = (options.kubeletIps ?? ['127.0.0.1']).map((ip) => `IP:${ip}`).join(',');
  await Promise.all([
    leaf('apiserver', '/CN=kube-apiserver', [
      `subjectAltName=${apiserverIps},DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local`,
      'extendedKeyUsage=serverAuth',
    ]),
    leaf('admin', '/O=system:masters/CN=stackbackup-test-admin', ['extendedKeyUsage=clientAuth']),
    leaf('apiserver-kubelet-client', '/O=system:masters/CN=kube-apiserver-kubelet-client', [
      'extendedKeyUsage=clientAuth',
    ]),
    ...Object.entries(options.clients ?? {}).map(([name, subject]) =>
      leaf(name, subject, ['extendedKeyUsage=clientAuth']),
    ),
    leaf('kubelet', `/CN=${options.nodeName}`, [
      `subjectAltName=${kubeletIps},DNS:localhost,DNS:${options.nodeName}`,
      'extendedKeyUsage=serverAuth',
    ]),
    (async () => {
      await openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'sa.key'], dir);
      await openssl(['ec', '-in', 'sa.key', '-pubout', '-out', 'sa.pub'], dir);
    })(),
  ]);
}

export function kubeconfigText(server: string, ca: string, cert: string, key: string, namespace: string): string {
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

/** True when an HTTPS GET answers 200 (certificates not checked without ca: self-signed component endpoints). */
export function httpsOk(url: string, ca?: string): Promise<boolean> {
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

export function etcdArgs(dataDir: string, clientUrl: string, peerUrl: string): string[] {
  return [
    '--name=test',
    `--data-dir=${dataDir}`,
    `--listen-client-urls=${clientUrl}`,
    `--advertise-client-urls=${clientUrl}`,
    `--listen-peer-urls=${peerUrl}`,
    `--initial-advertise-peer-urls=${peerUrl}`,
    `--initial-cluster=test=${peerUrl}`,
    '--unsafe-no-fsync',
    '--log-level=warn',
    '--listen-metrics-urls=',
  ];
}

export interface ApiserverArgs {
  etcdUrl: string;
  pki: string;
  bindAddress: string;
  port: number;
  advertiseAddress: string;
  /** 'none' keeps the kubernetes Service without endpoints (nothing can reach it); 'lease' publishes advertiseAddress. */
  endpointReconciler: 'none' | 'lease';
  /** Node authorization and the NodeRestriction admission plugin for kubelets with node credentials (default off: RBAC only). */
  nodeAuthorization?: boolean;
}

export function apiserverArgs(a: ApiserverArgs): string[] {
  return [
    `--etcd-servers=${a.etcdUrl}`,
    `--bind-address=${a.bindAddress}`,
    `--secure-port=${a.port}`,
    `--advertise-address=${a.advertiseAddress}`,
    `--endpoint-reconciler-type=${a.endpointReconciler}`,
    '--service-cluster-ip-range=10.0.0.0/24',
    `--client-ca-file=${a.pki}/ca.crt`,
    `--tls-cert-file=${a.pki}/apiserver.crt`,
    `--tls-private-key-file=${a.pki}/apiserver.key`,
    `--kubelet-client-certificate=${a.pki}/apiserver-kubelet-client.crt`,
    `--kubelet-client-key=${a.pki}/apiserver-kubelet-client.key`,
    '--kubelet-preferred-address-types=InternalIP',
    '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
    `--service-account-key-file=${a.pki}/sa.pub`,
    `--service-account-signing-key-file=${a.pki}/sa.key`,
    '--api-audiences=https://kubernetes.default.svc.cluster.local',
    `--authorization-mode=${a.nodeAuthorization ? 'Node,RBAC' : 'RBAC'}`,
    ...(a.nodeAuthorization ? ['--enable-admission-plugins=NodeRestriction'] : []),
    '--allow-privileged=true',
    '--anonymous-auth=true',
    '--profiling=false',
    '--v=1',
  ];
}

export function controllerManagerArgs(
  kubeconfig: string,
  pki: string,
  certDir: string,
  bindAddress: string,
  port: number,
): string[] {
  return [
    `--kubeconfig=${kubeconfig}`,
    `--authentication-kubeconfig=${kubeconfig}`,
    `--authorization-kubeconfig=${kubeconfig}`,
    `--bind-address=${bindAddress}`,
    `--secure-port=${port}`,
    `--cert-dir=${certDir}`,
    '--leader-elect=false',
    `--service-account-private-key-file=${pki}/sa.key`,
    `--root-ca-file=${pki}/ca.crt`,
    '--use-service-account-credentials=false',
    '--controllers=*,-csrsigning,-nodeipam,-cloud-node-lifecycle,-service-lb-controller,-node-route-controller',
    '--concurrent-job-syncs=5',
    '--profiling=false',
    '--v=1',
  ];
}

export function schedulerArgs(kubeconfig: string, certDir: string, bindAddress: string, port: number): string[] {
  return [
    `--kubeconfig=${kubeconfig}`,
    `--authentication-kubeconfig=${kubeconfig}`,
    `--authorization-kubeconfig=${kubeconfig}`,
    `--bind-address=${bindAddress}`,
    `--secure-port=${port}`,
    `--cert-dir=${certDir}`,
    '--leader-elect=false',
    '--profiling=false',
    '--v=1',
  ];
}

/** Runs kubectl (from PATH) with the given kubeconfig. */
export function runKubectl(
  kubeconfig: string,
  args: string[],
  opts: { namespace?: string; input?: string } = {},
): Promise<KubectlResult> {
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
}

/** Polls probe every 100 ms until it gives a value (errors count as not yet); fails after timeoutMs. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** What a test does with either cluster as its admin. */
export interface ClusterAccess {
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
}

export interface AdminCredentials {
  apiUrl: string;
  /** The admin kubeconfig (namespace "default"). */
  kubeconfig: string;
  ca: string;
  cert: string;
  key: string;
}

/** The admin's access to a started control plane; per-namespace kubeconfigs are written into dir. */
export function clusterAccess(
  admin: AdminCredentials,
  api: KubeApi,
  dir: string,
  controllerManager: () => ChildProcess | undefined,
): ClusterAccess {
  const kubeconfigs = new Map<string, string>();
  return {
    async kubeconfigFor(namespace) {
      let file = kubeconfigs.get(namespace);
      if (file === undefined) {
        file = join(dir, `kubeconfig-${namespace}`);
        await writeFile(file, kubeconfigText(admin.apiUrl, admin.ca, admin.cert, admin.key, namespace), {
          mode: 0o600,
        });
        kubeconfigs.set(namespace, file);
      }
      return file;
    },
    async createNamespace(name, labels = {}) {
      await api.create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } });
      await waitFor(
        `namespace ${name}: the default service account`,
        () => api.find(`/api/v1/namespaces/${name}/serviceaccounts/default`),
        30_000,
      );
    },
    pauseControllers() {
      const child = controllerManager();
      child?.kill('SIGSTOP');
      return () => void child?.kill('SIGCONT');
    },
    kubectl(args, opts = {}) {
      return runKubectl(admin.kubeconfig, args, opts);
    },
  };
}
