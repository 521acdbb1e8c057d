/**
 * Cuts a stream into fixed-size parts for multipart uploads. Parts are filled into a small pool of
 * reused buffers, so an upload of any size holds at most `count` parts in memory and makes no garbage
 * per part; a part's buffer goes back to the pool when its upload is done.
 */
import type { Readable } from 'node:stream';

export class PartPool {
  private readonly free: Buffer[] = [];
  private waiters: ((buffer: Buffer) => void)[] = [];

  constructor(
    readonly partSize: number,
    count: number,
  ) {
    for (let i = 0; i < count; i += 1) this.free.push(Buffer.allocUnsafeSlow(partSize));
  }

  acquire(): Promise<Buffer> {
    const buffer = this.free.pop();
    if (buffer !== undefined) return Promise.resolve(buffer);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  release(buffer: Buffer): void {
    const waiter = this.waiters.shift();
    if (waiter !== undefined) waiter(buffer);
    else this.free.push(buffer);
  }
}

export interface Part {
  /** The part's bytes: a view into a pooled buffer, valid until release(). */
  data: Buffer;
  /** The pooled buffer to give back once the part is uploaded. */
  buffer: Buffer;
}

/** Yields full parts (the last one may be shorter, or empty for an empty stream). */
export async function* readParts(body: Readable, pool: PartPool): AsyncGenerator<Part> {
  let buffer = await pool.acquire();
  let filled = 0;
  let yielded = false;
  for await (const raw of body) {
    let chunk: Buffer = Buffer.isBuffer(raw) ? raw : Buffer.from(raw as Uint8Array);
    while (chunk.length > 0) {
      const take = Math.min(pool.partSize - filled, chunk.length);
      chunk.copy(buffer, filled, 0, take);
      filled += take;
      chunk = chunk.subarray(take);
      if (filled === pool.partSize) {
        yield { data: buffer.subarray(0, filled), buffer };
        yielded = true;
        buffer = await pool.acquire();
        filled = 0;
      }
    }
  }
  if (filled > 0 || !yielded) yield { data: buffer.subarray(0, filled), buffer };
  else pool.release(buffer);
}

/** Part size: at least minimum, and large enough that size fits in S3's 10,000 parts. */
export function choosePartSize(size: number | undefined, minimum: number): number {
  const mib = 1024 * 1024;
  const assumed = size ?? 512 * 1024 * mib; // unknown size: allow up to 512 GiB
  const needed = Math.ceil(assumed / 10_000 / mib) * mib;
  return Math.max(minimum, needed);
}
