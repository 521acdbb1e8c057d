/**
 * How a backup becomes visible: upload the data (atomic per object), verify what landed, then publish
 * its SHA-256 checksum next to it. A backup counts as complete only when both are there and agree,
 * so a run cut off at any point never looks like a complete backup. Downloads verify the checksum
 * before the file is moved to its final path.
 */
import { createReadStream } from 'node:fs';
import { rename, rm, stat as statFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createWriteStream } from 'node:fs';
import { Readable, Transform } from 'node:stream';
import { ExitCode, StackbackupError, fileError } from '../util/errors.js';
import { HashWorker } from '../util/hash-worker.js';
import { Progress, type ProgressReporter, logProgress } from '../util/progress.js';
import { checksumKey, isChecksumKey, dataKeyOf } from './layout.js';
import type { ObjectInfo, ObjectStore } from './types.js';

export interface TransferResult {
  key: string;
  size: number;
  sha256: string;
  seconds: number;
}

export interface TransferOptions {
  progress?: ProgressReporter;
  progressIntervalMs?: number;
}

const BLOCK = 1024 * 1024;

/**
 * Passes the bytes through in blocks of at least 1 MiB while a worker thread hashes them. Network
 * bodies arrive in 16-64 KiB chunks; gathering them first means far fewer hand-offs to the hashing
 * worker and far fewer write calls on the way to disk.
 */
function hashing(hash: HashWorker): Transform {
  let block: Buffer | undefined;
  let filled = 0;
  const emit = async (stream: Transform, data: Buffer): Promise<void> => {
    await hash.update(data);
    stream.push(data);
  };
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      (async () => {
        if (block === undefined && chunk.length >= BLOCK / 4) return emit(this, chunk);
        let rest = chunk;
        while (rest.length > 0) {
          block ??= Buffer.allocUnsafe(BLOCK);
          const take = Math.min(BLOCK - filled, rest.length);
          rest.copy(block, filled, 0, take);
          filled += take;
          rest = rest.subarray(take);
          if (filled === BLOCK) {
            const full = block;
            block = undefined;
            filled = 0;
            await emit(this, full);
          }
        }
      })().then(() => cb(), cb);
    },
    flush(cb) {
      if (block === undefined || filled === 0) return cb();
      emit(this, block.subarray(0, filled)).then(() => cb(), cb);
    },
  });
}

/** Uploads a local file as key, verifies it, then publishes its checksum. */
export async function uploadFile(
  store: ObjectStore,
  path: string,
  key: string,
  options: TransferOptions = {},
): Promise<TransferResult> {
  let size: number;
  try {
    const info = await statFile(path);
    if (!info.isFile()) throw new StackbackupError(`${path} is not a file`);
    size = info.size;
  } catch (err) {
    if (err instanceof StackbackupError) throw err;
    throw fileError('reading', path, err);
  }
  return uploadStream(store, createReadStream(path, { highWaterMark: 1024 * 1024 }), key, size, options);
}

export async function uploadStream(
  store: ObjectStore,
  source: Readable,
  key: string,
  size: number | undefined,
  options: TransferOptions = {},
): Promise<TransferResult> {
  const started = Date.now();
  const hash = new HashWorker();
  const progress = new Progress(`upload ${key}`, size, options.progress ?? logProgress, options.progressIntervalMs);
  let sent = 0;
  const body = source.pipe(hashing(hash));
  source.on('error', (err) => body.destroy(err));
  try {
    await store.put(key, body, {
      size,
      onBytes: (n) => {
        sent += n;
        progress.add(n);
      },
    });
  } catch (err) {
    await hash.abort();
    throw err;
  }
  const sha256 = await hash.digest();
  const landed = await store.stat(key);
  if (landed === undefined || landed.size !== sent || (size !== undefined && sent !== size)) {
    await store.delete([key]);
    throw new StackbackupError(
      `upload of ${key} did not verify: sent ${sent} bytes${size === undefined ? '' : ` of ${size}`}, store holds ${landed?.size ?? 'nothing'}`,
      {
        exitCode: ExitCode.integrity,
        hint: 'The source changed or the endpoint lost data; run the backup again. Nothing was published.',
      },
    );
  }
  await store.put(checksumKey(key), Readable.from([Buffer.from(`${sha256}  ${basename(key)}\n`)]));
  progress.finish();
  return { key, size: sent, sha256, seconds: (Date.now() - started) / 1000 };
}

/** The published SHA-256 of key, or undefined when the backup was never completed. */
export async function readChecksum(store: ObjectStore, key: string): Promise<string | undefined> {
  if ((await store.stat(checksumKey(key))) === undefined) return undefined;
  const chunks: Buffer[] = [];
  for await (const chunk of await store.get(checksumKey(key))) chunks.push(Buffer.from(chunk as Uint8Array));
  const match = /^([0-9a-f]{64})\s/.exec(Buffer.concat(chunks).toString('utf8'));
  return match?.[1];
}

/** Downloads key to path: checksum verified before path appears; a mismatch leaves nothing behind. */
export async function downloadFile(
  store: ObjectStore,
  key: string,
  path: string,
  options: TransferOptions = {},
): Promise<TransferResult> {
  const started = Date.now();
  const info = await store.stat(key);
  if (info === undefined) {
    throw new StackbackupError(`${key} does not exist in ${store.location}`, { exitCode: ExitCode.notFound });
  }
  const expected = await readChecksum(store, key);
  if (expected === undefined) {
    throw new StackbackupError(
      `${key} is incomplete: it has no published checksum (the run that wrote it was cut off)`,
      {
        exitCode: ExitCode.integrity,
        hint: 'Pick another backup from the list command; retention removes incomplete leftovers.',
      },
    );
  }
  const hash = new HashWorker();
  const progress = new Progress(
    `download ${key}`,
    info.size,
    options.progress ?? logProgress,
    options.progressIntervalMs,
  );
  const partial = `${path}.partial`;
  try {
    await pipeline(await store.get(key), hashing(hash), progress.meter(), createWriteStream(partial));
  } catch (err) {
    await hash.abort();
    await rm(partial, { force: true });
    if (err instanceof StackbackupError) throw err;
    throw fileError('writing', partial, err);
  }
  const actual = await hash.digest();
  if (actual !== expected) {
    await rm(partial, { force: true });
    throw new StackbackupError(`${key} is corrupt: its SHA-256 is ${actual}, the published checksum is ${expected}`, {
      exitCode: ExitCode.integrity,
      hint: 'Do not restore this backup; pick an older one from the list command and check the storage backend.',
    });
  }
  await rename(partial, path);
  const snap = progress.finish();
  return { key, size: snap.bytes, sha256: actual, seconds: (Date.now() - started) / 1000 };
}

export interface BackupObject extends ObjectInfo {
  /** True when the checksum is published: the backup is complete. */
  complete: boolean;
}

/** Data objects under prefix with their completeness; checksum objects themselves are folded in. */
export async function listBackups(store: ObjectStore, prefix = ''): Promise<BackupObject[]> {
  const objects = await store.list(prefix);
  const checksums = new Set(objects.filter((o) => isChecksumKey(o.key)).map((o) => dataKeyOf(o.key)));
  return objects.filter((o) => !isChecksumKey(o.key)).map((o) => ({ ...o, complete: checksums.has(o.key) }));
}

/** Removes backups together with their checksums. */
export async function deleteBackups(store: ObjectStore, keys: readonly string[]): Promise<void> {
  await store.delete(keys.flatMap((k) => [checksumKey(k), k]));
}
