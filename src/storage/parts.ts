/** Cuts a stream into fixed-size parts for multipart uploads, holding one part in memory at a time. */
import type { Readable } from 'node:stream';

export async function* readParts(body: Readable, partSize: number): AsyncGenerator<Buffer> {
  let chunks: Buffer[] = [];
  let held = 0;
  for await (const raw of body) {
    let chunk: Buffer = Buffer.isBuffer(raw) ? raw : Buffer.from(raw as Uint8Array);
    while (held + chunk.length >= partSize) {
      const take = partSize - held;
      chunks.push(chunk.subarray(0, take));
      yield Buffer.concat(chunks, partSize);
      chunks = [];
      held = 0;
      chunk = chunk.subarray(take);
    }
    if (chunk.length > 0) {
      chunks.push(chunk);
      held += chunk.length;
    }
  }
  if (held > 0 || chunks.length > 0) yield Buffer.concat(chunks, held);
}

/** Part size: at least minimum, and large enough that size fits in S3's 10,000 parts. */
export function choosePartSize(size: number | undefined, minimum: number): number {
  const mib = 1024 * 1024;
  const assumed = size ?? 512 * 1024 * mib; // unknown size: allow up to 512 GiB
  const needed = Math.ceil(assumed / 10_000 / mib) * mib;
  return Math.max(minimum, needed);
}
