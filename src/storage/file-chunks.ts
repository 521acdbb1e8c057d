/**
 * A local file as a stream of 1 MiB chunks read into a few reused buffers, each chunk hashed before it
 * is handed on. fs.createReadStream allocates a new buffer for every read, and V8 frees those only
 * after some 64 MiB of them pile up: for an upload that pile was a third of the peak RSS (issue 18).
 *
 * Reuse is safe by construction: a buffer goes back to the free list only when the consumer calls
 * recycle(chunk) after it is done with that chunk (readParts does, once it has copied the chunk into a
 * part). A consumer that never recycles still gets correct bytes: the reader then allocates new buffers.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { HashWorker } from '../util/hash-worker.js';

const CHUNK = 1024 * 1024;
/**
 * Buffers kept for reuse: flow control keeps three alive at most (one read into, one buffered, one the
 * consumer copies from); a smaller limit would drop and reallocate buffers on every burst.
 */
const KEEP = 4;

/** A stream whose chunks may be handed back for reuse once consumed. */
export interface RecyclingStream extends Readable {
  recycle(chunk: Buffer): void;
}

export function isRecycling(body: Readable): body is RecyclingStream {
  return typeof (body as Partial<RecyclingStream>).recycle === 'function';
}

export class FileChunks extends Readable implements RecyclingStream {
  private handle: FileHandle | undefined;
  private readonly free: Buffer[] = [];
  private readonly lent = new Set<ArrayBufferLike>();
  private position = 0;

  constructor(
    private readonly path: string,
    private readonly hash: HashWorker,
  ) {
    // One chunk buffered ahead at most: the buffers in use stay at three.
    super({ highWaterMark: 1 });
  }

  override _construct(callback: (err?: Error | null) => void): void {
    open(this.path, 'r').then(
      (handle) => {
        this.handle = handle;
        callback();
      },
      (err: Error) => callback(err),
    );
  }

  override _read(): void {
    const handle = this.handle;
    if (handle === undefined) return;
    const buffer = this.free.pop() ?? Buffer.allocUnsafeSlow(CHUNK);
    (async () => {
      const { bytesRead } = await handle.read(buffer, 0, CHUNK, this.position);
      if (bytesRead === 0) {
        this.push(null);
        return;
      }
      this.position += bytesRead;
      const chunk = buffer.subarray(0, bytesRead);
      await this.hash.update(chunk);
      this.lent.add(buffer.buffer);
      this.push(chunk);
    })().catch((err: Error) => this.destroy(err));
  }

  recycle(chunk: Buffer): void {
    // Only whole buffers this reader lent out come back; anything else is ignored.
    if (!this.lent.delete(chunk.buffer)) return;
    if (this.free.length < KEEP) this.free.push(Buffer.from(chunk.buffer, 0, CHUNK));
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    const handle = this.handle;
    this.handle = undefined;
    if (handle === undefined) return callback(err);
    handle.close().then(
      () => callback(err),
      () => callback(err),
    );
  }
}
