/**
 * Local filesystem backend: the embedded default when no S3 endpoint is set (demo, single-node use,
 * tests). A bucket is a folder; a key is a path below it. Uploads go to a temporary file in the
 * bucket's `.incomplete/` folder, are flushed to disk, then renamed into place, so a cut-off upload
 * never shows under its key.
 */
import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat, copyFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { checkName } from '../config/names.js';
import { ExitCode, StackbackupError, codeOf, fileError } from '../util/errors.js';
import type { ObjectInfo, ObjectStore, PutOptions } from './types.js';

const INCOMPLETE = '.incomplete';

export class FilesystemStore implements ObjectStore {
  readonly location: string;
  private readonly dir: string;

  constructor(
    root: string,
    readonly bucket: string,
  ) {
    this.dir = join(root, bucket);
    this.location = `folder ${this.dir}`;
  }

  private path(key: string): string {
    checkName('objectKey', key);
    if (key === INCOMPLETE || key.startsWith(`${INCOMPLETE}/`))
      throw new StackbackupError(`object name ${key} is reserved`);
    return join(this.dir, ...key.split('/'));
  }

  async bucketExists(): Promise<boolean> {
    try {
      return (await stat(this.dir)).isDirectory();
    } catch (err) {
      if (codeOf(err) === 'ENOENT') return false;
      throw fileError('checking', this.dir, err);
    }
  }

  async createBucket(): Promise<void> {
    await mkdir(join(this.dir, INCOMPLETE), { recursive: true }).catch((err: unknown) => {
      throw fileError('creating', this.dir, err);
    });
  }

  private async requireBucket(): Promise<void> {
    if (!(await this.bucketExists())) {
      throw new StackbackupError(`bucket missing at ${this.location}`, {
        exitCode: ExitCode.bucketMissing,
        hint: 'Create it with "stackbackup storage init --bucket NAME", or check the bucketName Helm values.',
      });
    }
  }

  async put(key: string, body: Readable, options: PutOptions = {}): Promise<void> {
    const target = this.path(key);
    await this.requireBucket();
    const tmpDir = join(this.dir, INCOMPLETE);
    const tmp = join(tmpDir, `${randomUUID()}.part`);
    try {
      await mkdir(tmpDir, { recursive: true });
      const counter = new Transform({
        transform(chunk: Buffer, _enc, cb) {
          options.onBytes?.(chunk.length);
          cb(null, chunk);
        },
      });
      await pipeline(body, counter, createWriteStream(tmp, { flags: 'wx' }));
      const handle = await open(tmp, 'r');
      await handle.sync().finally(() => handle.close());
      await mkdir(dirname(target), { recursive: true });
      await rename(tmp, target);
    } catch (err) {
      await rm(tmp, { force: true });
      if (err instanceof StackbackupError) throw err;
      throw fileError('writing', target, err);
    }
  }

  async get(key: string): Promise<Readable> {
    const path = this.path(key);
    await this.requireBucket();
    try {
      const handle = await open(path, 'r');
      return handle.createReadStream({ highWaterMark: 1024 * 1024 });
    } catch (err) {
      if (codeOf(err) === 'ENOENT')
        throw new StackbackupError(`${key} not found in ${this.location}`, { exitCode: ExitCode.notFound });
      throw fileError('reading', path, err);
    }
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    const path = this.path(key);
    try {
      const info = await stat(path);
      return info.isFile() ? { key, size: info.size, lastModified: info.mtime } : undefined;
    } catch (err) {
      if (codeOf(err) === 'ENOENT' || codeOf(err) === 'ENOTDIR') return undefined;
      throw fileError('reading', path, err);
    }
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    await this.requireBucket();
    const out: ObjectInfo[] = [];
    const walk = async (dir: string): Promise<void> => {
      for (const entry of await readdir(dir, { withFileTypes: true })) {
        const full = join(dir, entry.name);
        const key = relative(this.dir, full).split(sep).join('/');
        if (key === INCOMPLETE) continue;
        if (entry.isDirectory()) {
          if (prefix.startsWith(`${key}/`) || key.startsWith(prefix) || `${key}/`.startsWith(prefix)) await walk(full);
        } else if (entry.isFile() && key.startsWith(prefix)) {
          const info = await stat(full);
          out.push({ key, size: info.size, lastModified: info.mtime });
        }
      }
    };
    await walk(this.dir);
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async delete(keys: readonly string[]): Promise<void> {
    for (const key of keys) await rm(this.path(key), { force: true });
  }

  async copy(fromKey: string, toKey: string): Promise<void> {
    const from = this.path(fromKey);
    const to = this.path(toKey);
    const tmp = join(this.dir, INCOMPLETE, `${randomUUID()}.part`);
    try {
      await mkdir(dirname(to), { recursive: true });
      await copyFile(from, tmp);
      await rename(tmp, to);
    } catch (err) {
      await rm(tmp, { force: true });
      if (codeOf(err) === 'ENOENT')
        throw new StackbackupError(`${fromKey} not found in ${this.location}`, { exitCode: ExitCode.notFound });
      throw fileError('copying', from, err);
    }
  }

  async cleanupIncomplete(_prefix: string, olderThan: Date): Promise<string[]> {
    const tmpDir = join(this.dir, INCOMPLETE);
    const removed: string[] = [];
    let names: string[];
    try {
      names = await readdir(tmpDir);
    } catch (err) {
      if (codeOf(err) === 'ENOENT') return removed;
      throw fileError('reading', tmpDir, err);
    }
    for (const name of names) {
      const full = join(tmpDir, name);
      const info = await stat(full).catch(() => undefined);
      if (info !== undefined && info.mtime.getTime() < olderThan.getTime()) {
        await rm(full, { force: true });
        removed.push(`temporary file ${name} from ${info.mtime.toISOString()}`);
      }
    }
    return removed;
  }
}

/** For tests and benchmarks: a readable stream of a local file. */
export function readFileStream(path: string): Readable {
  return createReadStream(path, { highWaterMark: 1024 * 1024 });
}
