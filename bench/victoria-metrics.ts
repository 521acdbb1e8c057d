/**
 * Victoria Metrics backup: `stackbackup victoria-metrics backup` (the CLI, as the CronJob runs it:
 * volume marker, version decision, vmbackup, completion check, retention) against plain `vmbackup`
 * with the same flags, on the same instance and data, to the same local MinIO, in the same run. Each
 * round is a full backup into a fresh destination for both; the order alternates between rounds.
 * Prints both wall times and the ratio ours/plain (target <= 1.05).
 * Tune with BENCH_VM_SERIES (default 10000) and BENCH_VM_SAMPLES (per series, default 3000), BENCH_ROUNDS (3).
 */
import { spawnSync } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { DateTime } from 'luxon';
import { startMinio } from '../test/servers/minio.js';
import { flush, startVictoriaMetrics, victoriaMetricsTools } from '../test/servers/victoria-metrics.js';
import { CLI } from '../test/support/cli.js';

const seriesCount = Number(process.env.BENCH_VM_SERIES ?? 10_000);
const samples = Number(process.env.BENCH_VM_SAMPLES ?? 3000);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const bucket = 'bench-vm';

const minio = await startMinio();
const vm = await startVictoriaMetrics();
try {
  const tools = victoriaMetricsTools();
  const s3Env = { AWS_ACCESS_KEY_ID: minio.accessKey, AWS_SECRET_ACCESS_KEY: minio.secretKey };
  const ourEnv = {
    ...process.env,
    STACKBACKUP_S3_ENDPOINT: minio.endpoint,
    STACKBACKUP_S3_ACCESS_KEY: minio.accessKey,
    STACKBACKUP_S3_SECRET_KEY: minio.secretKey,
    STACKBACKUP_VMBACKUP: tools.vmbackup,
  };

  // Data: full-precision random values (little to compress), two months back, imported in parallel.
  const start = DateTime.utc().minus({ days: 60 }).startOf('day').toMillis();
  const importBatch = async (from: number, to: number): Promise<void> => {
    const lines: string[] = [];
    for (let i = from; i < to; i += 1) {
      const timestamps = Array.from({ length: samples }, (_, j) => start + j * 15_000);
      const values = Array.from({ length: samples }, () => Math.random() * 1e6);
      lines.push(JSON.stringify({ metric: { __name__: 'bench_metric', series: String(i), host: `h${i % 100}` }, values, timestamps }));
    }
    const res = await fetch(`${vm.url}/api/v1/import`, { method: 'POST', body: lines.join('\n') });
    if (!res.ok) throw new Error(`import: ${res.status}`);
  };
  const t0 = Date.now();
  const per = 50;
  for (let i = 0; i < seriesCount; i += per * 2) {
    await Promise.all([importBatch(i, Math.min(i + per, seriesCount)), importBatch(i + per, Math.min(i + 2 * per, seriesCount))]);
  }
  await flush(vm.url);
  console.log(`victoria-metrics bench: ${seriesCount} series x ${samples} samples imported in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  spawnSync(process.execPath, [CLI, 'storage', 'init', '--bucket', bucket], { env: ourEnv });

  const time = (command: string, args: string[], env: NodeJS.ProcessEnv): { seconds: number; out: string; stdout: string } => {
    const t = process.hrtime.bigint();
    const r = spawnSync(command, args, { env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    const seconds = Number(process.hrtime.bigint() - t) / 1e9;
    if (r.status !== 0) throw new Error(`${command} failed: ${r.stderr}`);
    return { seconds, out: `${r.stdout}\n${r.stderr}`, stdout: r.stdout };
  };
  const plain: number[] = [];
  const ours: number[] = [];
  const oursInProcess: number[] = [];
  const vmbackupOwn = { plain: [] as number[], ours: [] as number[] };
  let bytes = 0;
  for (let i = 0; i < rounds; i += 1) {
    const order = i % 2 === 0 ? ['plain', 'ours'] : ['ours', 'plain'];
    for (const who of order) {
      if (who === 'plain') {
        const r = time(tools.vmbackup, [
          `-storageDataPath=${vm.dataDir}`, `-snapshot.createURL=${vm.url}/snapshot/create`, `-dst=s3://${bucket}/plain-${i}/`,
          `-customS3Endpoint=${minio.endpoint}`, '-s3ForcePathStyle=true', '-httpListenAddr=127.0.0.1:0',
        ], { ...process.env, ...s3Env });
        plain.push(r.seconds);
        bytes = Number(/uploaded (\d+) bytes/.exec(r.out)?.[1] ?? 0);
        vmbackupOwn.plain.push(Number(/backed up \d+ bytes in ([0-9.]+) seconds/.exec(r.out)?.[1] ?? NaN));
      } else {
        // A fresh instance name each round: its first backup is a full one, like plain vmbackup's.
        const r = time(process.execPath, [CLI, 'victoria-metrics', 'backup', '--json', '--instance', `victoria-metrics-${i}`, '--bucket', bucket, '--url', vm.url, '--storage-data-path', vm.dataDir], ourEnv);
        ours.push(r.seconds);
        const json = JSON.parse(r.stdout) as { wallSeconds: number; seconds: number };
        oursInProcess.push(json.wallSeconds);
        vmbackupOwn.ours.push(json.seconds);
      }
    }
  }
  // Our fixed cost, apart from vmbackup: starting Node and loading the CLI's modules.
  const startup: number[] = [];
  for (let i = 0; i < rounds; i += 1) startup.push(time(process.execPath, [CLI, '--help'], ourEnv).seconds);
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
  const ratio = median(ours) / median(plain);
  console.log(`full backup of ${(bytes / 1024 / 1024).toFixed(0)} MiB, local MinIO, median of ${rounds}: plain vmbackup ${median(plain).toFixed(2)} s, ours ${median(ours).toFixed(2)} s`);
  console.log(`  plain ${plain.map((s) => s.toFixed(2)).join(' ')} | ours ${ours.map((s) => s.toFixed(2)).join(' ')}`);
  console.log(`  vmbackup's own time (its summary line): plain ${median(vmbackupOwn.plain).toFixed(2)} s, under ours ${median(vmbackupOwn.ours).toFixed(2)} s`);
  console.log(`  ours inside the process (marker, version, vmbackup, completion check, retention): ${median(oursInProcess).toFixed(2)} s; starting the CLI (stackbackup --help): ${median(startup).toFixed(2)} s`);
  console.log(`ratio ours in-process/plain ${(median(oursInProcess) / median(plain)).toFixed(3)}`);
  console.log(`ratio ours/plain ${ratio.toFixed(3)} (target <= 1.05)`);
} finally {
  await vm.stop();
  await rm(vm.dataDir, { recursive: true, force: true });
  await minio.stop();
}
