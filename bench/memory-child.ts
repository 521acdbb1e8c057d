/**
 * One transfer or StackGraph run with our code, in its own process so that its peak RSS is ours alone,
 * with a breakdown of that peak: process.memoryUsage() is sampled every 20 ms and the sample with the
 * highest RSS is kept, next to the RSS right after start-up (Node and our modules, nothing run yet).
 * Prints one JSON line (MemoryRun). The export, import and count tools run as their own processes.
 * Usage (storage from STACKBACKUP_* env):
 *   memory-child.js upload BUCKET KEY FILE | download BUCKET KEY FILE | upload-stream BUCKET KEY BYTES
 *   memory-child.js backup BUCKET WORKDIR | restore BUCKET WORKDIR NAME   (BENCH_EXPORT_BYTES for backup)
 */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { DateTime } from 'luxon';
import { loadStorageConfig } from '../src/config/storage.js';
import { openStore } from '../src/storage/open.js';
import { downloadFile, uploadFile, uploadStream } from '../src/storage/publish.js';
import { runBackup, runRestore, validateBackup, validateRestore } from '../src/stores/stackgraph/index.js';
import { setQuiet } from '../src/util/log.js';

export interface MemorySample {
  rssMiB: number;
  heapTotalMiB: number;
  heapUsedMiB: number;
  externalMiB: number;
  arrayBuffersMiB: number;
}

export interface MemoryRun {
  name: string;
  seconds: number;
  bytes: number;
  maxRssMiB: number;
  startupRssMiB: number;
  peak: MemorySample;
}

const MIB = 1024 * 1024;
const sample = (): MemorySample => {
  const m = process.memoryUsage();
  return {
    rssMiB: m.rss / MIB,
    heapTotalMiB: m.heapTotal / MIB,
    heapUsedMiB: m.heapUsed / MIB,
    externalMiB: m.external / MIB,
    arrayBuffersMiB: m.arrayBuffers / MIB,
  };
};

/** bytes of one 1 MiB random block sent again and again: a source that makes no garbage of its own. */
function generated(bytes: number): Readable {
  const block = randomBytes(MIB);
  let left = bytes;
  return new Readable({
    highWaterMark: MIB,
    read() {
      if (left === 0) {
        this.push(null);
        return;
      }
      const n = Math.min(MIB, left);
      left -= n;
      this.push(n === MIB ? block : block.subarray(0, n));
    },
  });
}

const [verb = '', bucket = '', a = '', b = ''] = process.argv.slice(2);
const startupRssMiB = process.resourceUsage().maxRSS / 1024;
let peak = sample();
const timer = setInterval(() => {
  const now = sample();
  if (now.rssMiB > peak.rssMiB) peak = now;
}, 20);
const storage = loadStorageConfig();
const quiet = { progress: () => undefined };
setQuiet(true);
const started = process.hrtime.bigint();
let name = a;
let bytes: number;
if (verb === 'upload') bytes = (await uploadFile(openStore(storage, bucket), b, a, quiet)).size;
else if (verb === 'download') bytes = (await downloadFile(openStore(storage, bucket), a, b, quiet)).size;
else if (verb === 'upload-stream')
  bytes = (await uploadStream(openStore(storage, bucket), generated(Number(b)), a, undefined, quiet)).size;
else if (verb === 'backup') {
  // The export "tool" writes a sparse file of BENCH_EXPORT_BYTES: any size, no disk used.
  const exportCommand = JSON.stringify(['truncate', '-s', process.env.BENCH_EXPORT_BYTES ?? '0']);
  const ctx = { storage, now: () => DateTime.utc() };
  const result = await runBackup(
    validateBackup({ bucket, exportCommand, workDir: a, retention: 'days=30', minCount: 1 }),
    ctx,
  );
  name = result.name;
  bytes = result.size;
} else if (verb === 'restore') {
  // An empty StackGraph (count 0); the "import" checks the verified file is there, non-empty.
  const ctx = { storage, now: () => DateTime.utc() };
  const result = await runRestore(
    validateRestore({
      bucket,
      name: b,
      countCommand: JSON.stringify(['echo', '0']),
      importCommand: JSON.stringify(['test', '-s']),
      workDir: a,
    }),
    ctx,
  );
  name = result.name;
  bytes = result.size;
} else throw new Error(`unknown verb ${verb}`);
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
clearInterval(timer);
const run: MemoryRun = {
  name,
  seconds,
  bytes,
  maxRssMiB: process.resourceUsage().maxRSS / 1024,
  startupRssMiB,
  peak,
};
process.stdout.write(`${JSON.stringify(run)}\n`);
