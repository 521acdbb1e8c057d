/**
 * SHA-256 of a stream computed on a worker thread, so that hashing a multi-gigabyte backup overlaps
 * with network and disk I/O on the main thread instead of adding to it. Bounded: at most
 * maxPendingBytes are queued for the worker; update() resolves once the queue has room again.
 */
import { Worker } from 'node:worker_threads';

const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const hash = require('node:crypto').createHash('sha256');
parentPort.on('message', (msg) => {
  if (msg === 'digest') { parentPort.postMessage({ digest: hash.digest('hex') }); return; }
  hash.update(msg);
  parentPort.postMessage({ done: msg.byteLength });
});
`;

export class HashWorker {
  private readonly worker = new Worker(WORKER_SOURCE, { eval: true });
  private pending = 0;
  private waiters: (() => void)[] = [];
  private digestWaiter: ((hex: string) => void) | undefined;
  private failure: Error | undefined;

  constructor(private readonly maxPendingBytes = 16 * 1024 * 1024) {
    this.worker.on('message', (msg: { done?: number; digest?: string }) => {
      if (msg.done !== undefined) {
        this.pending -= msg.done;
        if (this.pending <= this.maxPendingBytes) this.wake();
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
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** Queues a chunk (copied to the worker); waits while too much is queued. */
  async update(chunk: Uint8Array): Promise<void> {
    if (this.failure) throw this.failure;
    this.pending += chunk.byteLength;
    this.worker.postMessage(chunk);
    while (this.pending > this.maxPendingBytes && !this.failure) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    if (this.failure) throw this.failure;
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
