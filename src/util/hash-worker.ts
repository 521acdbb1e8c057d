/**
 * SHA-256 of a stream computed on a worker thread, so that hashing a multi-gigabyte backup overlaps
 * with network and disk I/O on the main thread instead of adding to it. Chunks are copied into a fixed
 * shared ring buffer that the worker hashes in place: memory stays at the ring's size and no garbage
 * is made per chunk. update() waits while the ring is full.
 */
import { Worker } from 'node:worker_threads';

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const hash = require('node:crypto').createHash('sha256');
const ring = new Uint8Array(workerData);
parentPort.on('message', (msg) => {
  if (msg === 'digest') { parentPort.postMessage({ digest: hash.digest('hex') }); return; }
  hash.update(ring.subarray(msg.offset, msg.offset + msg.length));
  parentPort.postMessage({ done: msg.length });
});
`;

export class HashWorker {
  private readonly shared: SharedArrayBuffer;
  private readonly ring: Uint8Array;
  private readonly worker: Worker;
  private writeAt = 0;
  private pending = 0;
  private waiter: (() => void) | undefined;
  private digestWaiter: ((hex: string) => void) | undefined;
  private failure: Error | undefined;

  constructor(private readonly ringBytes = 16 * 1024 * 1024) {
    this.shared = new SharedArrayBuffer(ringBytes);
    this.ring = new Uint8Array(this.shared);
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: this.shared });
    this.worker.on('message', (msg: { done?: number; digest?: string }) => {
      if (msg.done !== undefined) {
        this.pending -= msg.done;
        this.wake();
      } else if (msg.digest !== undefined) {
        this.digestWaiter?.(msg.digest);
      }
    });
    this.worker.on('error', (err) => {
      this.failure = err;
      this.wake();
    });
  }

  private wake(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  }

  private async room(length: number): Promise<void> {
    while (this.pending + length > this.ringBytes && this.failure === undefined) {
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
    if (this.failure) throw this.failure;
  }

  /** Copies chunk into the ring for hashing; waits while the ring is full. */
  async update(chunk: Uint8Array): Promise<void> {
    if (this.failure) throw this.failure;
    const segment = this.ringBytes / 4;
    for (let start = 0; start < chunk.byteLength; ) {
      // A segment never wraps around the ring's end, so the worker always hashes one contiguous view.
      const length = Math.min(segment, chunk.byteLength - start, this.ringBytes - this.writeAt);
      await this.room(length);
      this.ring.set(chunk.subarray(start, start + length), this.writeAt);
      this.worker.postMessage({ offset: this.writeAt, length });
      this.pending += length;
      this.writeAt = (this.writeAt + length) % this.ringBytes;
      start += length;
    }
  }

  /** The hex SHA-256 of everything queued; ends the worker. */
  async digest(): Promise<string> {
    if (this.failure) throw this.failure;
    const hex = await new Promise<string>((resolve) => {
      this.digestWaiter = resolve;
      this.worker.postMessage('digest');
    });
    await this.worker.terminate();
    return hex;
  }

  async abort(): Promise<void> {
    await this.worker.terminate();
  }
}
