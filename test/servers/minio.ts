/** A real MinIO server on loopback for tests and benchmarks. */
import { join } from 'node:path';
import { freePort, httpReady, startProcess, tempDir, toolPath, type RunningProcess } from './harness.js';

export interface MinioServer {
  endpoint: string;
  accessKey: string;
  secretKey: string;
  dataDir: string;
  process: RunningProcess;
  stop(): Promise<void>;
}

export async function startMinio(): Promise<MinioServer> {
  const binary = toolPath('minio', 'minio');
  const port = await freePort();
  const consolePort = await freePort();
  const dataDir = await tempDir('minio-data');
  const accessKey = 'testadmin';
  const secretKey = 'testsecret123';
  const endpoint = `http://127.0.0.1:${port}`;
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
      join(dataDir, 'data'),
    ],
    env: {
      MINIO_ROOT_USER: accessKey,
      MINIO_ROOT_PASSWORD: secretKey,
      MINIO_BROWSER: 'off',
      MINIO_UPDATE: 'off',
      GOMAXPROCS: '2',
    },
    ready: () => httpReady(`${endpoint}/minio/health/ready`),
    cleanup: [dataDir],
  });
  return { endpoint, accessKey, secretKey, dataDir, process: proc, stop: () => proc.stop() };
}
