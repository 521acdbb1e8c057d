/** Opens the configured backend for a bucket, and makes sure the bucket is there. */
import type { StorageConfig } from '../config/storage.js';
import { checkName } from '../config/names.js';
import { ExitCode, StackbackupError } from '../util/errors.js';
import { log } from '../util/log.js';
import { FilesystemStore } from './filesystem.js';
import { S3Store, type S3StoreOptions } from './s3.js';
import { sharingListings } from './shared-listings.js';
import type { ObjectStore } from './types.js';

export function openStore(config: StorageConfig, bucket: string, options: S3StoreOptions = {}): ObjectStore {
  checkName('bucket', bucket, 'bucket');
  return sharingListings(
    config.kind === 's3' ? new S3Store(config, bucket, options) : new FilesystemStore(config.root, bucket),
  );
}

export interface EnsureBucketOptions {
  /** Scheduled backups are on: create the bucket when it is missing. */
  create: boolean;
  /** The Helm value that names this bucket, for the message when it is missing. */
  bucketValue: string;
  /** The Helm value that turns scheduled backups on, for the message when it is missing. */
  scheduleValue: string;
}

/**
 * Scheduled backups create a missing bucket. A restore-only setup must not invent an empty one
 * (that would hide a wrong bucket name behind "no backups"): it fails and names the values to check.
 */
export async function ensureBucket(store: ObjectStore, options: EnsureBucketOptions): Promise<void> {
  if (await store.bucketExists()) return;
  if (options.create) {
    await store.createBucket();
    log(`created bucket ${store.location}`);
    return;
  }
  throw new StackbackupError(`bucket "${store.bucket}" does not exist (${store.location})`, {
    exitCode: ExitCode.bucketMissing,
    hint: `Check ${options.bucketValue} (it must name the bucket your backups are in). Only scheduled backups create buckets; set ${options.scheduleValue}=true, or create the bucket, if this is a new install.`,
  });
}
