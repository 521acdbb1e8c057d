/** The environment of `mc` (MinIO's client, the benches' baseline) for a bench's MinIO: alias `bench`. */
import { join } from 'node:path';
import type { MinioServer } from '../test/servers/minio.js';

export function mcEnv(minio: MinioServer, work: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    MC_HOST_bench: `http://${minio.accessKey}:${minio.secretKey}@${new URL(minio.endpoint).host}`,
    MC_CONFIG_DIR: join(work, 'mc'),
  };
}
