/**
 * Where backups go, read from the environment (the chart sets it; Secrets are mounted as files):
 *   STACKBACKUP_S3_ENDPOINT            http(s)://host:port of the in-cluster S3 endpoint (MinIO or gateway)
 *   STACKBACKUP_S3_ACCESS_KEY[_FILE]   minio.accessKey, literally or as a mounted Secret file
 *   STACKBACKUP_S3_SECRET_KEY[_FILE]   minio.secretKey, likewise
 *   STACKBACKUP_S3_REGION              optional, default us-east-1
 *   STACKBACKUP_FS_ROOT                folder of the local filesystem backend, used when no endpoint is set
 *   STACKBACKUP_S3_IDLE_TIMEOUT_SECONDS  a request moving no byte this long fails and is retried (default 60)
 * Credentials are registered with the redactor as soon as they are read.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ExitCode, StackbackupError, usageError } from '../util/errors.js';
import { registerSecret } from '../util/redact.js';

export interface S3Config {
  kind: 's3';
  endpoint: URL;
  accessKey: string;
  secretKey: string;
  region: string;
}

export interface FilesystemConfig {
  kind: 'filesystem';
  root: string;
}

export type StorageConfig = S3Config | FilesystemConfig;

export const DEFAULT_FS_ROOT = '.stackbackup/storage';

type Env = Record<string, string | undefined>;

function readSecret(env: Env, name: string): string | undefined {
  const fileVar = `${name}_FILE`;
  const file = env[fileVar];
  if (file !== undefined && file !== '') {
    try {
      return readFileSync(file, 'utf8').trim();
    } catch {
      throw new StackbackupError(`cannot read ${fileVar} (${file})`, {
        exitCode: ExitCode.credentials,
        hint: 'Check that the credentials Secret is mounted into the job (minio.accessKey/minio.secretKey or their existingSecret).',
      });
    }
  }
  const literal = env[name];
  return literal === '' ? undefined : literal;
}

export function parseEndpoint(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw usageError(
      `STACKBACKUP_S3_ENDPOINT "${text}" is not a URL`,
      'Use the form http://host:port, for example http://stackbackup-minio:9000.',
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw usageError(`STACKBACKUP_S3_ENDPOINT "${text}" must start with http:// or https://`);
  }
  if (url.username !== '' || url.password !== '') {
    registerSecret(url.password);
    throw usageError(
      'STACKBACKUP_S3_ENDPOINT must not carry credentials',
      'Put them in STACKBACKUP_S3_ACCESS_KEY_FILE and STACKBACKUP_S3_SECRET_KEY_FILE.',
    );
  }
  if (url.pathname !== '/' && url.pathname !== '') {
    throw usageError(
      `STACKBACKUP_S3_ENDPOINT "${text}" must not have a path`,
      'Buckets are configured separately (the bucketName Helm values).',
    );
  }
  return url;
}

export function loadStorageConfig(env: Env = process.env): StorageConfig {
  const endpoint = env.STACKBACKUP_S3_ENDPOINT;
  if (endpoint === undefined || endpoint === '') {
    return { kind: 'filesystem', root: resolve(env.STACKBACKUP_FS_ROOT ?? DEFAULT_FS_ROOT) };
  }
  const accessKey = readSecret(env, 'STACKBACKUP_S3_ACCESS_KEY');
  const secretKey = readSecret(env, 'STACKBACKUP_S3_SECRET_KEY');
  registerSecret(secretKey);
  registerSecret(accessKey);
  if (accessKey === undefined || secretKey === undefined) {
    throw new StackbackupError('S3 credentials are missing', {
      exitCode: ExitCode.credentials,
      hint: 'Set STACKBACKUP_S3_ACCESS_KEY_FILE and STACKBACKUP_S3_SECRET_KEY_FILE (the chart mounts them from the minio Secret).',
    });
  }
  return {
    kind: 's3',
    endpoint: parseEndpoint(endpoint),
    accessKey,
    secretKey,
    region: env.STACKBACKUP_S3_REGION || 'us-east-1',
  };
}

export function describeConfig(config: StorageConfig): string {
  return config.kind === 's3' ? config.endpoint.origin : `local folder ${config.root}`;
}

/**
 * A request whose connection moves no byte for this long fails (and is retried like any transient
 * error): a MinIO pod that disappears mid-upload sends no reset, and its packets are dropped, so
 * without it an upload waits for the kernel's TCP timeout (about 15 min; seen on the real node).
 * 60 s, or STACKBACKUP_S3_IDLE_TIMEOUT_SECONDS for an endpoint that is silent longer (a gateway
 * assembling a very large object).
 */
export function idleTimeoutMs(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.STACKBACKUP_S3_IDLE_TIMEOUT_SECONDS;
  if (raw === undefined || raw === '') return 60_000;
  const seconds = Number(raw);
  if (!Number.isInteger(seconds) || seconds < 1)
    throw usageError(
      `STACKBACKUP_S3_IDLE_TIMEOUT_SECONDS is "${raw}", not a whole number of seconds of at least 1`,
      'Set it to, for example, 120, or unset it for the default of 60.',
    );
  return seconds * 1000;
}
