/** Test data: large pseudo-random files written in chunks (bounded memory) and their SHA-256. */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { once } from 'node:events';

export async function writeRandomFile(path: string, bytes: number): Promise<void> {
  const out = createWriteStream(path);
  const chunk = 8 * 1024 * 1024;
  // One random block, varied per chunk by a counter so no two chunks are equal (no accidental dedup).
  const block = randomBytes(chunk);
  for (let written = 0, n = 0; written < bytes; n += 1) {
    const size = Math.min(chunk, bytes - written);
    const piece = Buffer.from(block.subarray(0, size));
    piece.writeUInt32LE(n, 0);
    if (!out.write(piece)) await once(out, 'drain');
    written += size;
  }
  out.end();
  await once(out, 'finish');
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
