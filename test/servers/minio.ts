/** A real MinIO server on loopback for tests and benchmarks. */
import { readFileSync } from 'node:fs';
import { get as httpsGet } from 'node:https';
import { join } from 'node:path';
import type { S3Config } from '../../src/config/storage.js';
import { freePort, httpReady, startProcess, tempDir, toolPath, type RunningProcess } from './harness.js';

export interface MinioServer {
  endpoint: string;
  accessKey: string;
  secretKey: string;
  dataDir: string;
  process: RunningProcess;
  stop(): Promise<void>;
}

/** The storage configuration of the CLI's stores for a test MinIO (what the job environment gives). */
export function minioStorage(minio: MinioServer): S3Config {
  return {
    kind: 's3',
    endpoint: new URL(minio.endpoint),
    accessKey: minio.accessKey,
    secretKey: minio.secretKey,
    region: 'us-east-1',
  };
}

export interface MinioOptions {
  /**
   * Serve https with the certificate in this folder (public.crt, private.key; MinIO's --certs-dir).
   * The ready check trusts that certificate; clients must too (NODE_EXTRA_CA_CERTS for a child).
   */
  certsDir?: string;
}

/** Answers once MinIO's health check answers over https, trusting only the test certificate. */
function httpsReady(url: string, ca: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = httpsGet(url, { ca, timeout: 2000 }, (res) => {
      res.resume();
      resolve((res.statusCode ?? 500) < 500);
    });
    req.once('error', () => resolve(false));
    req.once('timeout', () => req.destroy());
  });
}

export async function startMinio(options: MinioOptions = {}): Promise<MinioServer> {
  const binary = toolPath('minio', 'minio');
  const port = await freePort();
  const consolePort = await freePort();
  const dataDir = await tempDir('minio-data');
  const accessKey = 'testadmin';
  const secretKey = 'testsecret123';
  const endpoint = `${options.certsDir === undefined ? 'http' : 'https'}://127.0.0.1:${port}`;
  const ca = options.certsDir === undefined ? undefined : readFileSync(join(options.certsDir, 'public.crt'), 'utf8');
  const proc = await startProcess({
    name: 'minio',
    command: binary,
    args: [
      'server',
      '--quiet',
      '--address',
      `127.0.0.1:${port}`,
      '--console-address',
      `127.0.0.1:${consolePort}`,
      ...(options.certsDir === undefined ? [] : ['--certs-dir', options.certsDir]),
      join(dataDir, 'data'),
    ],
    env: {
      MINIO_ROOT_USER: accessKey,
      MINIO_ROOT_PASSWORD: secretKey,
      MINIO_BROWSER: 'off',
      MINIO_UPDATE: 'off',
      GOMAXPROCS: '2',
    },
    ready: () =>
      ca === undefined ? httpReady(`${endpoint}/minio/health/ready`) : httpsReady(`${endpoint}/minio/health/ready`, ca),
    cleanup: [dataDir],
  });
  return { endpoint, accessKey, secretKey, dataDir, process: proc, stop: () => proc.stop() };
}
