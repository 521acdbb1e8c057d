/**
 * The Kubernetes API client of the jobs (the volume dispatcher reads claims, pods and its Job template
 * and creates Jobs): JSON over HTTPS, no client library at run time. Credentials: KUBECONFIG when set
 * (token, token file or client certificate of its current context), else the pod's service account
 * (in-cluster). Nothing else of a kubeconfig is supported.
 */
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { request as httpRequest } from 'node:http';
import { ExitCode, StackbackupError, messageOf } from '../util/errors.js';
import { registerSecret } from '../util/redact.js';

const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface KubeAccess {
  server: URL;
  namespace: string;
  ca?: string;
  token?: string;
  cert?: string;
  key?: string;
}

export class KubeRequestError extends StackbackupError {
  constructor(
    readonly status: number,
    method: string,
    path: string,
    body: string,
  ) {
    const reason = ((): string => {
      try {
        return (JSON.parse(body) as { message?: string }).message ?? body;
      } catch {
        return body;
      }
    })();
    super(`Kubernetes API ${method} ${path}: HTTP ${status}: ${reason.slice(0, 300)}`, {
      exitCode:
        status === 404 ? ExitCode.notFound : status === 401 || status === 403 ? ExitCode.credentials : ExitCode.failure,
      hint:
        status === 403
          ? "The job's ServiceAccount lacks a permission; the chart's Roles grant what each job needs (rbac.create=true)."
          : undefined,
    });
  }
}

interface KubeconfigFile {
  'current-context'?: string;
  contexts?: { name: string; context: { cluster: string; user: string; namespace?: string } }[];
  clusters?: {
    name: string;
    cluster: { server: string; 'certificate-authority-data'?: string; 'certificate-authority'?: string };
  }[];
  users?: {
    name: string;
    user: {
      token?: string;
      tokenFile?: string;
      'token-file'?: string;
      'client-certificate-data'?: string;
      'client-key-data'?: string;
    };
  }[];
}

async function fromKubeconfig(file: string, namespace: string | undefined): Promise<KubeAccess> {
  const text = readFileSync(file, 'utf8');
  let config: KubeconfigFile;
  try {
    config = JSON.parse(text) as KubeconfigFile;
  } catch {
    // YAML kubeconfigs: the client library's parser, loaded only then (it is large).
    const { loadYaml } = await import('@kubernetes/client-node');
    config = loadYaml<KubeconfigFile>(text);
  }
  const context = config.contexts?.find((c) => c.name === config['current-context'])?.context;
  const cluster = config.clusters?.find((c) => c.name === context?.cluster)?.cluster;
  const user = config.users?.find((u) => u.name === context?.user)?.user ?? {};
  if (context === undefined || cluster === undefined)
    throw new StackbackupError(`KUBECONFIG ${file} has no usable current context`);
  const b64 = (v: string | undefined) => (v === undefined ? undefined : Buffer.from(v, 'base64').toString('utf8'));
  const tokenFile = user.tokenFile ?? user['token-file'];
  const token = user.token ?? (tokenFile === undefined ? undefined : readFileSync(tokenFile, 'utf8').trim());
  registerSecret(token);
  return {
    server: new URL(cluster.server),
    namespace: namespace ?? context.namespace ?? 'default',
    ca:
      b64(cluster['certificate-authority-data']) ??
      (cluster['certificate-authority'] ? readFileSync(cluster['certificate-authority'], 'utf8') : undefined),
    token,
    cert: b64(user['client-certificate-data']),
    key: b64(user['client-key-data']),
  };
}

/** How to reach the API server from here: KUBECONFIG, else in-cluster. */
export async function loadKubeAccess(namespace?: string): Promise<KubeAccess> {
  const file = process.env.KUBECONFIG;
  if (file !== undefined && file !== '') return fromKubeconfig(file.split(':')[0] ?? file, namespace);
  const host = process.env.KUBERNETES_SERVICE_HOST;
  if (host === undefined) {
    throw new StackbackupError('no Kubernetes API configured: neither KUBECONFIG nor an in-cluster service account', {
      exitCode: ExitCode.usage,
      hint: "Run the dispatcher in the cluster (the chart's CronJob), or set KUBECONFIG.",
    });
  }
  const token = readFileSync(`${SA_DIR}/token`, 'utf8').trim();
  registerSecret(token);
  return {
    server: new URL(
      `https://${host.includes(':') ? `[${host}]` : host}:${process.env.KUBERNETES_SERVICE_PORT ?? '443'}`,
    ),
    namespace: namespace ?? readFileSync(`${SA_DIR}/namespace`, 'utf8').trim(),
    ca: readFileSync(`${SA_DIR}/ca.crt`, 'utf8'),
    token,
  };
}

export async function kubeRequest<T>(access: KubeAccess, method: string, path: string, body?: unknown): Promise<T> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const send = access.server.protocol === 'http:' ? httpRequest : request;
  return new Promise<T>((resolve, reject) => {
    const req = send(
      {
        method,
        hostname: access.server.hostname.replace(/^\[|\]$/g, ''),
        port: access.server.port,
        path,
        ca: access.ca,
        cert: access.cert,
        key: access.key,
        timeout: 30_000,
        headers: {
          accept: 'application/json',
          ...(access.token ? { authorization: `Bearer ${access.token}` } : {}),
          ...(payload === undefined
            ? {}
            : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) resolve(JSON.parse(text || '{}') as T);
          else reject(new KubeRequestError(status, method, path, text));
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out after 30 s')));
    req.on('error', (err) =>
      reject(
        new StackbackupError(`cannot reach the Kubernetes API at ${access.server.origin}: ${messageOf(err)}`, {
          exitCode: ExitCode.unreachable,
        }),
      ),
    );
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

/** Loose shapes of the objects read; only the fields used. */
export interface ObjectMeta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  creationTimestamp?: string;
}

export interface Claim {
  metadata: ObjectMeta;
  spec?: { accessModes?: string[] };
  status?: { phase?: string };
}

export interface PodSummary {
  metadata: ObjectMeta;
  spec?: { nodeName?: string; volumes?: { persistentVolumeClaim?: { claimName: string } }[] };
  status?: { phase?: string };
}
