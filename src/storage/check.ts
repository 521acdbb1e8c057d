/**
 * `storage check`: can the jobs reach the endpoint, are the credentials accepted, are the buckets
 * there? Each failure has its own exit code and message (see util/errors ExitCode).
 */
import { StackbackupError } from '../util/errors.js';
import type { ObjectStore } from './types.js';

export interface BucketCheck {
  bucket: string;
  location: string;
  exists: boolean;
}

export async function checkBuckets(stores: readonly ObjectStore[]): Promise<BucketCheck[]> {
  const results: BucketCheck[] = [];
  for (const store of stores) {
    // bucketExists() reaches the endpoint and signs the request, so it proves reachability and credentials.
    results.push({ bucket: store.bucket, location: store.location, exists: await store.bucketExists() });
  }
  return results;
}

export function assertAllExist(results: readonly BucketCheck[]): void {
  const missing = results.filter((r) => !r.exists);
  if (missing.length > 0) {
    throw new StackbackupError(`missing bucket(s): ${missing.map((m) => m.bucket).join(', ')}`, {
      exitCode: 6,
      hint: 'Run "stackbackup storage init --bucket NAME" (the chart does this in its init Job) or check the bucketName Helm values.',
    });
  }
}
