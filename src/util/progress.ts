/**
 * One progress model for every long transfer: bytes done, total (when known), rate and ETA. It
 * reports through a callback at most once per interval, plus once at the end, so job logs show
 * steady lines without flooding.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { formatBytes, formatSeconds } from './format.js';
import { log } from './log.js';

export interface ProgressSnapshot {
  label: string;
  bytes: number;
  total: number | undefined;
  elapsedSeconds: number;
  bytesPerSecond: number;
  etaSeconds: number | undefined;
  done: boolean;
}

export type ProgressReporter = (snapshot: ProgressSnapshot) => void;

export function formatProgress(p: ProgressSnapshot): string {
  const rate = `${formatBytes(p.bytesPerSecond)}/s`;
  if (p.done) return `${p.label}: ${formatBytes(p.bytes)} in ${formatSeconds(p.elapsedSeconds)} (${rate})`;
  const of =
    p.total === undefined
      ? ''
      : ` of ${formatBytes(p.total)} (${((100 * p.bytes) / Math.max(p.total, 1)).toFixed(1)}%)`;
  const eta = p.etaSeconds === undefined ? '' : `, ETA ${formatSeconds(p.etaSeconds)}`;
  return `${p.label}: ${formatBytes(p.bytes)}${of} at ${rate}${eta}`;
}

export const logProgress: ProgressReporter = (p) => log(formatProgress(p));

/** Log interval: 5 s, or STACKBACKUP_PROGRESS_INTERVAL_MS (tests and demos use a shorter one). */
function defaultInterval(): number {
  const fromEnv = Number(process.env.STACKBACKUP_PROGRESS_INTERVAL_MS);
  return Number.isFinite(fromEnv) && fromEnv > 0 ? fromEnv : 5000;
}

export class Progress {
  private bytes = 0;
  private readonly started = Date.now();
  private lastReport = Date.now();
  private finished = false;

  constructor(
    private readonly label: string,
    private total: number | undefined,
    private readonly report: ProgressReporter = logProgress,
    private readonly intervalMs = defaultInterval(),
  ) {}

  add(count: number): void {
    this.update(this.bytes + count, this.total);
  }

  /**
   * Sets the bytes done (and the total, when it changes) from a program that reports running totals
   * rather than increments, such as restic's status messages; reports like add().
   */
  update(bytes: number, total: number | undefined = this.total): void {
    this.bytes = bytes;
    this.total = total;
    const now = Date.now();
    if (now - this.lastReport >= this.intervalMs) {
      this.lastReport = now;
      this.report(this.snapshot(false));
    }
  }

  finish(): ProgressSnapshot {
    const snap = this.snapshot(true);
    if (!this.finished) {
      this.finished = true;
      this.report(snap);
    }
    return snap;
  }

  snapshot(done: boolean): ProgressSnapshot {
    const elapsedSeconds = Math.max((Date.now() - this.started) / 1000, 0.001);
    const bytesPerSecond = this.bytes / elapsedSeconds;
    const etaSeconds =
      this.total !== undefined && bytesPerSecond > 0
        ? Math.max(this.total - this.bytes, 0) / bytesPerSecond
        : undefined;
    return {
      label: this.label,
      bytes: this.bytes,
      total: this.total,
      elapsedSeconds,
      bytesPerSecond,
      etaSeconds,
      done,
    };
  }

  /** A pass-through stream that counts what flows through it. */
  meter(): Transform {
    return new Transform({
      transform: (chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) => {
        this.add(chunk.length);
        cb(null, chunk);
      },
    });
  }
}
