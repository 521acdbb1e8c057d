/**
 * The one small interface every storage backend implements (S3-compatible, local filesystem). A store
 * is bound to one bucket. Backends are thin: integrity (checksums), publishing and retention live in
 * publish.ts and retention.ts, on top of this interface, once for all backends.
 */
import type { Readable } from 'node:stream';

export interface ObjectInfo {
  key: string;
  size: number;
  lastModified: Date;
}

export interface PutOptions {
  /** Size in bytes when known; lets progress lines show an ETA. */
  size?: number;
  /** Called with each chunk's length as it is sent. */
  onBytes?: (count: number) => void;
}

export interface ObjectStore {
  readonly bucket: string;
  /** Where the bucket lives, for messages: `s3://bucket at http://minio:9000`. Never holds secrets. */
  readonly location: string;

  bucketExists(): Promise<boolean>;
  createBucket(): Promise<void>;

  /**
   * Streams body to key. Atomic: the key shows the complete object or nothing, even when the process
   * dies mid-way (S3 multipart uploads are invisible until completed; the filesystem backend writes a
   * temporary file and renames it).
   */
  put(key: string, body: Readable, options?: PutOptions): Promise<void>;
  get(key: string): Promise<Readable>;
  stat(key: string): Promise<ObjectInfo | undefined>;
  /** Every object whose key starts with prefix, in key order. */
  list(prefix: string): Promise<ObjectInfo[]>;
  /** Deletes keys; keys that do not exist are ignored. */
  delete(keys: readonly string[]): Promise<void>;
  /** Server-side copy inside the bucket. */
  copy(fromKey: string, toKey: string): Promise<void>;
  /**
   * Removes leftovers of cut-off uploads (incomplete multipart uploads, temporary files) under prefix
   * that started before olderThan. Returns a description of each removed leftover.
   */
  cleanupIncomplete(prefix: string, olderThan: Date): Promise<string[]>;
}
