/**
 * How a backup becomes visible: upload the data (atomic per object), verify what landed, then publish
 * its SHA-256 checksum next to it. A backup counts as complete only when both are there and agree,
 * so a run cut off at any point never looks like a complete backup. Downloads verify the checksum
 * before the file is moved to its final path.
 */
import { open, rename, rm, stat as statFile, type FileHandle } from 'node:fs/promises';
import { basename } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { ExitCode, StackbackupError, fileError } from '../util/errors.js';
import { HashWorker } from '../util/hash-worker.js';
import { Progress, type ProgressReporter, logProgress } from '../util/progress.js';
import { FileChunks, isRecycling } from './file-chunks.js';
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

/**
 * Writes body to path while the worker hashes it: chunks are gathered into two reused 1 MiB blocks
 * (one being filled while the other is hashed and written), so the write calls stay few and a
 * download makes no garbage; a chunk is handed back to a recycling body (http-get.ts) once copied.
 */
async function receive(body: Readable, hash: HashWorker, path: string, onBytes: (n: number) => void): Promise<void> {
  const out = await open(path, 'w');
  let pending: Promise<unknown> = Promise.resolve();
  try {
    const recycle = isRecycling(body) ? (chunk: Buffer) => body.recycle(chunk) : undefined;
    let block = Buffer.allocUnsafeSlow(BLOCK);
    let spare = Buffer.allocUnsafeSlow(BLOCK);
    let filled = 0;
    const flush = async (): Promise<void> => {
      await pending;
      const full = block.subarray(0, filled);
      pending = Promise.all([hash.update(full), writeAll(out, full)]);
      // Awaited by the next flush or at the end; handled now, so a failed write is never "unhandled".
      pending.catch(() => undefined);
      [block, spare] = [spare, block];
      filled = 0;
    };
    const consume = async (chunk: Buffer): Promise<void> => {
      for (let at = 0; at < chunk.length;) {
        const take = Math.min(BLOCK - filled, chunk.length - at);
        chunk.copy(block, filled, at, at + take);
        filled += take;
        at += take;
        if (filled === BLOCK) await flush();
      }
      recycle?.(chunk);
      onBytes(chunk.length);
    };
    // 'data' events, not for-await: a paused stream's read() joins every buffered chunk into a new
    // buffer, and the chunks themselves would never come back for reuse.
    // 'end' can come while the last chunk is still being consumed: it waits for that chunk.
    await new Promise<void>((resolve, reject) => {
      let current: Promise<void> = Promise.resolve();
      body.once('error', reject);
      body.once('end', () => current.then(resolve, reject));
      body.on('data', (raw: Buffer | Uint8Array) => {
        body.pause();
        current = consume(Buffer.isBuffer(raw) ? raw : Buffer.from(raw)).then(() => {
          body.resume();
        });
        current.catch((err: Error) => body.destroy(err));
      });
    });
    if (filled > 0) await flush();
    await pending;
  } finally {
    body.destroy();
    await pending.catch(() => undefined);
    await out.close();
  }
}

async function writeAll(out: FileHandle, data: Buffer): Promise<void> {
  for (let at = 0; at < data.length;) {
    const { bytesWritten } = await out.write(data, at, data.length - at);
    at += bytesWritten;
  }
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
  // The file is read into a few reused buffers and hashed as it is read (file-chunks.ts).
  const hash = new HashWorker();
  return upload(store, new FileChunks(path, hash), hash, key, size, options);
}

export async function uploadStream(
  store: ObjectStore,
  source: Readable,
  key: string,
  size: number | undefined,
  options: TransferOptions = {},
): Promise<TransferResult> {
  const hash = new HashWorker();
  const body = source.pipe(hashing(hash));
  source.on('error', (err) => body.destroy(err));
  return upload(store, body, hash, key, size, options);
}

/** Uploads body (hashed by hash on its way), verifies what landed, publishes the checksum. */
async function upload(
  store: ObjectStore,
  body: Readable,
  hash: HashWorker,
  key: string,
  size: number | undefined,
  options: TransferOptions,
): Promise<TransferResult> {
  const started = Date.now();
  const progress = new Progress(`upload ${key}`, size, options.progress ?? logProgress, options.progressIntervalMs);
  let sent = 0;
  try {
    await store.put(key, body, {
      size,
      onBytes: (n) => {
        sent += n;
        progress.add(n);
      },
    });
  } catch (err) {
    body.destroy();
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
    await receive(await store.get(key), hash, partial, (n) => progress.add(n));
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
