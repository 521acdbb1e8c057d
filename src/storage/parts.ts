/**
 * Cuts a stream into parts for multipart uploads. Parts are filled into a small pool of reused
 * buffers, so an upload holds at most `count` parts in memory and makes no garbage per part; a part's
 * buffer goes back to the pool when its upload is done.
 *
 * Part sizes: an upload of known size uses one size throughout, the minimum or larger when the size
 * would not fit in S3's 10,000 parts. An upload of unknown size starts at the minimum and doubles the
 * part size every 2,500 parts, so its memory stays that of a known-size upload up to 2,500 minimum
 * parts (19.5 GiB at 8 MiB) and it can still grow to 293 GiB; only past the first 2,500 parts do its
 * buffers grow (the pool replaces a buffer that is too small when it is next used).
 */
import type { Readable } from 'node:stream';
import { isRecycling } from './file-chunks.js';

/** S3's limit of parts per upload. */
export const MAX_PARTS = 10_000;
/** Parts of one size before an upload of unknown size doubles its part size. */
export const PARTS_PER_STEP = 2_500;

export class PartPool {
  private readonly free: (Buffer | undefined)[] = [];
  private waiters: ((buffer: Buffer | undefined) => void)[] = [];

  /** count buffers at most, each allocated when it is first needed. */
  constructor(count: number) {
    for (let i = 0; i < count; i += 1) this.free.push(undefined);
  }

  /** A buffer of at least size bytes; waits while all of them are in use. */
  async acquire(size: number): Promise<Buffer> {
    const buffer =
      this.free.length > 0
        ? this.free.pop()
        : await new Promise<Buffer | undefined>((resolve) => this.waiters.push(resolve));
    return buffer !== undefined && buffer.length >= size ? buffer : Buffer.allocUnsafeSlow(size);
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

/**
 * Yields full parts (the last one may be shorter, or empty for an empty stream); partSize(n) is the
 * size of part n (1-based).
 */
export async function* readParts(
  body: Readable,
  pool: PartPool,
  partSize: (partNumber: number) => number,
): AsyncGenerator<Part> {
  let number = 1;
  let size = partSize(number);
  let buffer = await pool.acquire(size);
  let filled = 0;
  let yielded = false;
  const recycle = isRecycling(body) ? (chunk: Buffer) => body.recycle(chunk) : undefined;
  for await (const raw of body) {
    const whole: Buffer = Buffer.isBuffer(raw) ? raw : Buffer.from(raw as Uint8Array);
    let chunk = whole;
    while (chunk.length > 0) {
      const take = Math.min(size - filled, chunk.length);
      chunk.copy(buffer, filled, 0, take);
      filled += take;
      chunk = chunk.subarray(take);
      if (filled === size) {
        yield { data: buffer.subarray(0, filled), buffer };
        yielded = true;
        number += 1;
        size = partSize(number);
        buffer = await pool.acquire(size);
        filled = 0;
      }
    }
    // Copied into parts: the source may reuse the chunk's buffer.
    recycle?.(whole);
  }
  if (filled > 0 || !yielded) yield { data: buffer.subarray(0, filled), buffer };
  else pool.release(buffer);
}

/**
 * The size of part n: for a known size, at least minimum and large enough that size fits in 10,000
 * parts; for an unknown size, minimum doubled every PARTS_PER_STEP parts.
 */
export function partSizer(size: number | undefined, minimum: number): (partNumber: number) => number {
  const mib = 1024 * 1024;
  if (size !== undefined) {
    const fixed = Math.max(minimum, Math.ceil(size / MAX_PARTS / mib) * mib);
    return () => fixed;
  }
  return (n) => minimum * 2 ** Math.floor((n - 1) / PARTS_PER_STEP);
}

/** The largest object an upload of unknown size can send with parts of at least minimum bytes. */
export function largestUnknownSize(minimum: number): number {
  let total = 0;
  for (let step = 0; step * PARTS_PER_STEP < MAX_PARTS; step += 1) total += PARTS_PER_STEP * minimum * 2 ** step;
  return total;
}
