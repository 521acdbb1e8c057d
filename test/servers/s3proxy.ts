/**
 * A real s3proxy (scripts/install/s3proxy.sh) on a free loopback port, in front of a MinIO standing in
 * for AWS S3 or an Azurite standing in for Azure Blob Storage. It is started by the chart's own start
 * script (chart/files/gateway/run-s3proxy.sh) with the environment and credential files the chart's
 * gateway Deployment gives it, so these tests exercise the gateway configuration the chart deploys.
 */
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AzuriteServer } from './azurite.js';
import {
  freePort,
  httpReady,
  REPO_ROOT,
  startProcess,
  tempDir,
  TOOLS_DIR,
  toolPath,
  type RunningProcess,
} from './harness.js';
import type { MinioServer } from './minio.js';

export type S3ProxyBackend =
  | { backend: 'minio'; minio: MinioServer; provider?: 'aws-s3' | 's3' | 'aws-s3-sdk' }
  | { backend: 'azurite'; azurite: AzuriteServer; provider?: 'azureblob-sdk' | 'azureblob' };

export interface S3ProxyServer {
  /** The S3 endpoint jobs talk to. */
  endpoint: string;
  /** minio.accessKey / minio.secretKey of the chart: what clients sign with. */
  accessKey: string;
  secretKey: string;
  provider: string;
  process: RunningProcess;
  stop(): Promise<void>;
}

export const GATEWAY_SCRIPT = join(REPO_ROOT, 'chart', 'files', 'gateway', 'run-s3proxy.sh');

async function secretFile(dir: string, name: string, value: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, value, { mode: 0o600 });
  await chmod(path, 0o600);
  return path;
}

export async function startS3Proxy(options: S3ProxyBackend): Promise<S3ProxyServer> {
  toolPath('s3proxy', 's3proxy');
  const port = await freePort();
  const dir = await tempDir('s3proxy');
  const endpoint = `http://127.0.0.1:${port}`;
  // In azuregateway mode the chart uses the account name and key as minio.accessKey/secretKey too.
  const front =
    options.backend === 'azurite'
      ? { accessKey: options.azurite.account, secretKey: options.azurite.accountKey }
      : { accessKey: 'gatewayadmin', secretKey: 'gatewaysecret123' };
  const provider = options.provider ?? (options.backend === 'azurite' ? 'azureblob-sdk' : 'aws-s3');
  const identityFile = await secretFile(dir, 's3-accessKey', front.accessKey);
  const credentialFile = await secretFile(dir, 's3-secretKey', front.secretKey);
  const env: Record<string, string> = {
    S3PROXY_ENDPOINT: endpoint,
    S3PROXY_AUTHORIZATION: 'aws-v2-or-v4',
    S3PROXY_IDENTITY_FILE: identityFile,
    S3PROXY_CREDENTIAL_FILE: credentialFile,
    JCLOUDS_PROVIDER: provider,
    S3PROXY_CONF_DIR: dir,
    S3PROXY_JAR: join(TOOLS_DIR, 's3proxy', 's3proxy.jar'),
    S3PROXY_JAVA_OPTS: '-Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1',
  };
  if (options.backend === 'minio') {
    env.JCLOUDS_ENDPOINT = options.minio.endpoint;
    env.JCLOUDS_REGION = 'us-east-1';
    env.JCLOUDS_IDENTITY_FILE = await secretFile(dir, 'cloud-accessKey', options.minio.accessKey);
    env.JCLOUDS_CREDENTIAL_FILE = await secretFile(dir, 'cloud-secretKey', options.minio.secretKey);
  } else {
    env.JCLOUDS_ENDPOINT = options.azurite.blobEndpoint;
    env.JCLOUDS_IDENTITY_FILE = identityFile;
    env.JCLOUDS_CREDENTIAL_FILE = credentialFile;
  }
  const proc = await startProcess({
    name: `s3proxy-${options.backend}`,
    command: 'sh',
    args: [GATEWAY_SCRIPT],
    env,
    // s3proxy answers unauthenticated requests with 403 once it listens.
    ready: () => httpReady(`${endpoint}/`),
    timeoutMs: 90_000,
    cleanup: [dir],
  });
  return { endpoint, ...front, provider, process: proc, stop: () => proc.stop() };
}
