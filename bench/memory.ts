/**
 * Peak memory of the storage path at several sizes (issue 18: at most 128 MiB whatever the size):
 * upload and download of a file, an upload of unknown size (a generated stream), and StackGraph backup
 * and restore, each in its own process (memory-child.ts) against a local MinIO. Sources are sparse files
 * (truncate), so a 16 GiB run needs 16 GiB of disk for MinIO's copy and 16 GiB for the download; each
 * group of runs gets a MinIO of its own, removed afterwards, and a size that does not fit is skipped. Prints, per run, the peak RSS, the RSS after start-up, and
 * the V8 heap and ArrayBuffer memory at the peak, and, as the baseline measured in the same run, the peak
 * RSS of `mc cp` moving the same file both ways. BENCH_MEMORY_GIB (default "1,4,16") sets the sizes.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdir, rm, stat, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startMinio } from '../test/servers/minio.js';
import { mcEnv } from './mc.js';
import { REPO_ROOT, toolPath } from '../test/servers/harness.js';
import type { MemoryRun } from './memory-child.js';

const GIB = 1024 * 1024 * 1024;
const TARGET_MIB = 128;
const sizes = (process.env.BENCH_MEMORY_GIB ?? '1,4,16').split(',').map(Number);
const child = fileURLToPath(new URL('./memory-child.js', import.meta.url));
const mc = toolPath('mc', 'minio');

const work = join(REPO_ROOT, '.cache', `bench-memory-${process.pid}`);
await mkdir(work, { recursive: true });
const bucket = 'sts-stackgraph-backup';
const rows: { size: number; what: string; run: MemoryRun }[] = [];

/**
 * Runs steps against a MinIO of their own, stopped (and its data removed) afterwards: MinIO empties
 * deleted objects in the background, so a shared one would hold several sizes' worth of disk at once.
 */
type Ours = (args: string[], extra?: Record<string, string>) => MemoryRun;
/** Peak RSS in MiB of one `mc` command (GNU time's %M). */
type Mc = (args: string[]) => number;

async function withMinio(steps: (ours: Ours, mcPeak: Mc) => Promise<void>) {
  const minio = await startMinio();
  try {
    const env = {
      ...process.env,
      STACKBACKUP_S3_ENDPOINT: minio.endpoint,
      STACKBACKUP_S3_ACCESS_KEY: minio.accessKey,
      STACKBACKUP_S3_SECRET_KEY: minio.secretKey,
    };
    const mcHome = mcEnv(minio, work);
    execFileSync(mc, ['mb', '--quiet', `bench/${bucket}`], { env: mcHome });
    await steps(
      (args, extra = {}) => {
        execFileSync('sync');
        const r = spawnSync(process.execPath, [child, ...args], { env: { ...env, ...extra }, encoding: 'utf8' });
        if (r.status !== 0) throw new Error(`our ${args[0]} failed: ${r.stderr}`);
        return JSON.parse(r.stdout) as MemoryRun;
      },
      (args) => {
        execFileSync('sync');
        const r = spawnSync('/usr/bin/time', ['-f', '%M', mc, '--quiet', ...args], { env: mcHome, encoding: 'utf8' });
        if (r.status !== 0) throw new Error(`mc ${args.join(' ')} failed: ${r.stderr}`);
        return Number(r.stderr.trim().split('\n').pop()) / 1024;
      },
    );
  } finally {
    await minio.stop();
  }
}

const show = (size: number, what: string, run: MemoryRun): void => {
  rows.push({ size, what, run });
  const p = run.peak;
  const rate = run.bytes / 1024 / 1024 / run.seconds;
  console.log(
    `${String(size).padStart(2)} GiB  ${what.padEnd(18)} peak RSS ${run.maxRssMiB.toFixed(0).padStart(3)} MiB  ` +
      `(start-up ${run.startupRssMiB.toFixed(0)}; at the peak: heap ${p.heapTotalMiB.toFixed(0)} total / ${p.heapUsedMiB.toFixed(0)} used, ` +
      `ArrayBuffers ${p.arrayBuffersMiB.toFixed(0)})  ${run.seconds.toFixed(1)} s, ${rate.toFixed(0)} MiB/s`,
  );
};

try {
  console.log(`memory bench: local MinIO, sparse sources, sizes ${sizes.join(', ')} GiB, target <= ${TARGET_MIB} MiB`);
  for (const gib of sizes) {
    const bytes = gib * GIB;
    // One copy in MinIO and one downloaded at a time; keep 10 GiB spare for whoever shares the disk.
    const { bavail, bsize } = await statfs(work);
    const freeBytes = bavail * bsize;
    if (freeBytes < 2 * bytes + 10 * GIB) {
      console.log(`${gib} GiB: skipped, ${(freeBytes / GIB).toFixed(0)} GiB free and this size needs ${2 * gib + 10}`);
      continue;
    }
    await withMinio(async (ours, mcPeak) => {
      const source = join(work, 'source.bin');
      execFileSync('truncate', ['-s', String(bytes), source]);
      const back = join(work, 'back.bin');
      // Baseline: `mc cp` of the same file both ways (it verifies nothing; a Go program).
      const mcUp = mcPeak(['cp', source, `bench/${bucket}/mc.bin`]);
      const mcDown = mcPeak(['cp', `bench/${bucket}/mc.bin`, back]);
      await rm(back);
      mcPeak(['rm', `bench/${bucket}/mc.bin`]);
      const up = ours(['upload', bucket, 'plain.bin', source]);
      show(gib, 'upload', up);
      await rm(source);
      const down = ours(['download', bucket, 'plain.bin', back]);
      show(gib, 'download', down);
      if ((await stat(back)).size !== bytes) throw new Error('download size mismatch');
      await rm(back);
      console.log(
        `${String(gib).padStart(2)} GiB  baseline mc cp     peak RSS upload ${mcUp.toFixed(0)} MiB, download ${mcDown.toFixed(0)} MiB; ` +
          `ours / mc: upload ${(up.maxRssMiB / mcUp).toFixed(2)}, download ${(down.maxRssMiB / mcDown).toFixed(2)}`,
      );
    });
    await withMinio(async (ours) => {
      show(gib, 'upload (stream)', ours(['upload-stream', bucket, 'stream.bin', String(bytes)]));
    });
    await withMinio(async (ours) => {
      const scratch = join(work, 'scratch');
      await mkdir(scratch, { recursive: true });
      const backup = ours(['backup', bucket, scratch], { BENCH_EXPORT_BYTES: String(bytes) });
      show(gib, 'stackgraph backup', backup);
      show(gib, 'stackgraph restore', ours(['restore', bucket, scratch, backup.name]));
      await rm(scratch, { recursive: true, force: true });
    });
  }
  const worst = Math.max(...rows.map((r) => r.run.maxRssMiB));
  console.log(
    `highest peak RSS ${worst.toFixed(0)} MiB: target <= ${TARGET_MIB} MiB ${worst <= TARGET_MIB ? 'met' : 'NOT met'}`,
  );
} finally {
  await rm(work, { recursive: true, force: true });
}
