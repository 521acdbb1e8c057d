/** Turns S3 client and network failures into operator-facing errors, without secrets. */
import { ExitCode, StackbackupError, codeOf, messageOf } from '../util/errors.js';

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'ETIMEDOUT',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'EPIPE',
  'UND_ERR_SOCKET',
]);
const CREDENTIAL_CODES = new Set([
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'AccessDenied',
  'InvalidToken',
  'ExpiredToken',
]);

/** Server answers worth another try: busy or failing for a moment (500, 502, 503, 504). */
const TRANSIENT_STATUS = new Set([500, 502, 503, 504]);

export function isTransientS3Error(err: unknown): boolean {
  const status = typeof err === 'object' && err !== null ? (err as { status?: unknown }).status : undefined;
  if (typeof status === 'number' && TRANSIENT_STATUS.has(status)) return true;
  const code = codeOf(err);
  if (code !== undefined && NETWORK_CODES.has(code)) return true;
  if (code === 'SlowDown' || code === 'InternalError' || code === 'ServiceUnavailable' || code === 'RequestTimeout')
    return true;
  return /socket hang up|Retryable HTTP status/i.test(messageOf(err));
}

export function translateS3Error(err: unknown, action: string, location: string): StackbackupError {
  if (err instanceof StackbackupError) return err;
  const code = codeOf(err);
  if ((code !== undefined && NETWORK_CODES.has(code)) || /socket hang up/i.test(messageOf(err))) {
    return new StackbackupError(
      `cannot reach the backup endpoint ${location} while ${action} (${code ?? 'connection failed'})`,
      {
        exitCode: ExitCode.unreachable,
        cause: err,
        hint: 'Check that MinIO (or the S3 gateway) is running and that STACKBACKUP_S3_ENDPOINT points at it: kubectl get pods,svc -l app.kubernetes.io/name=stackbackup',
      },
    );
  }
  if (code !== undefined && CREDENTIAL_CODES.has(code)) {
    return new StackbackupError(`the backup endpoint ${location} refused our credentials while ${action} (${code})`, {
      exitCode: ExitCode.credentials,
      cause: err,
      hint: 'Check minio.accessKey and minio.secretKey (or the existingSecret they come from); the jobs and MinIO must use the same pair.',
    });
  }
  if (code === 'NoSuchBucket') {
    return new StackbackupError(`bucket missing at ${location} while ${action}`, {
      exitCode: ExitCode.bucketMissing,
      cause: err,
      hint: 'Create it with "stackbackup storage init --bucket NAME", or check the bucketName Helm values.',
    });
  }
  if (code === 'NoSuchKey' || code === 'NotFound') {
    return new StackbackupError(`not found at ${location} while ${action}`, {
      exitCode: ExitCode.notFound,
      cause: err,
    });
  }
  if (
    code === 'EntityTooLarge' ||
    code === 'XMinioStorageFull' ||
    code === 'StorageFull' ||
    /storage full|no space/i.test(messageOf(err))
  ) {
    return new StackbackupError(`the backup endpoint ${location} is out of space while ${action}`, {
      exitCode: ExitCode.noSpace,
      cause: err,
      hint: 'Grow the MinIO volume (minio.persistence.size) or delete old backups; nothing was published.',
    });
  }
  return new StackbackupError(
    `S3 request failed while ${action} at ${location}: ${code ?? ''} ${messageOf(err)}`.replace(/\s+/g, ' '),
    { cause: err },
  );
}
