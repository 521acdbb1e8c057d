/**
 * Victoria Metrics backup: `stackbackup victoria-metrics backup` (the job image's bundled CLI, as the
 * CronJob runs it: volume marker, version decision, vmbackup, completion, retention) against plain
 * `vmbackup` with the same flags, on the same instance and data, to the same local MinIO, in the same
 * run. Each timed run is a full backup into an empty destination for both; the order alternates
 * between rounds. Two paths of ours: the scheduled run (the instance's volume marker names its version:
 * vmbackup starts at once; its exit and summary line prove completion, no S3 client is loaded), which
 * is what the CronJob does every hour, and the first backup of an instance (a new version: bucket check
 * and listing first). Then the fixed cost: an hourly run with nothing new to upload, ours against
 * plain vmbackup into a complete destination (seconds, not a ratio: it is start-up, not transfer).
 * Prints the wall times and the ratios ours/plain (target <= 1.05 for the scheduled run).
 * Tune with BENCH_VM_SERIES (default 80000: ~1.8 GiB, imported in ~6 min on 2 cores) and
 * BENCH_VM_SAMPLES (per series, default 3000), BENCH_ROUNDS (default 5).
 */
import { spawnSync } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { DateTime } from 'luxon';
import { startMinio } from '../test/servers/minio.js';
import { flush, startVictoriaMetrics, victoriaMetricsTools } from '../test/servers/victoria-metrics.js';
import { openStore } from '../src/storage/open.js';
import { CLI } from '../test/support/cli.js';

const seriesCount = Number(process.env.BENCH_VM_SERIES ?? 80_000);
const samples = Number(process.env.BENCH_VM_SAMPLES ?? 3000);
const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
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
  const store = openStore({ kind: 's3', endpoint: new URL(minio.endpoint), accessKey: minio.accessKey, secretKey: minio.secretKey, region: 'us-east-1' }, bucket);

  const time = (command: string, args: string[], env: NodeJS.ProcessEnv): { seconds: number; out: string; stdout: string } => {
    // The previous run's writes (and the deletes between rounds) reach the disk before the clock starts.
    spawnSync('sync');
    const t = process.hrtime.bigint();
    const r = spawnSync(command, args, { env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    const seconds = Number(process.hrtime.bigint() - t) / 1e9;
    if (r.status !== 0) throw new Error(`${command} failed: ${r.stderr}`);
    return { seconds, out: `${r.stdout}\n${r.stderr}`, stdout: r.stdout };
  };
  const plainRun = (dst: string): { seconds: number; bytes: number; own: number } => {
    const r = time(tools.vmbackup, [
      `-storageDataPath=${vm.dataDir}`, `-snapshot.createURL=${vm.url}/snapshot/create`, `-dst=s3://${bucket}/${dst}/`,
      `-customS3Endpoint=${minio.endpoint}`, '-s3ForcePathStyle=true', '-httpListenAddr=127.0.0.1:0',
    ], { ...process.env, ...s3Env });
    return { seconds: r.seconds, bytes: Number(/uploaded (\d+) bytes/.exec(r.out)?.[1] ?? 0), own: Number(/backed up \d+ bytes in ([0-9.]+) seconds/.exec(r.out)?.[1] ?? NaN) };
  };
  const ourRun = (instance: string): { seconds: number; inProcess: number; own: number; newVersion: boolean; version: string; uploaded: number } => {
    const r = time(process.execPath, [CLI, 'victoria-metrics', 'backup', '--json', '--instance', instance, '--bucket', bucket, '--url', vm.url, '--storage-data-path', vm.dataDir], ourEnv);
    const json = JSON.parse(r.stdout) as { wallSeconds: number; seconds: number; newVersion: boolean; version: string; uploadedBytes: number };
    return { seconds: r.seconds, inProcess: json.wallSeconds, own: json.seconds, newVersion: json.newVersion, version: json.version, uploaded: json.uploadedBytes };
  };
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
  const fmt = (xs: number[]): string => xs.map((x) => x.toFixed(2)).join(' ');
  // Each timed backup's objects go once it is measured: the disk holds one or two copies, not twelve.
  const removePrefix = async (prefix: string): Promise<void> => store.delete((await store.list(prefix)).map((o) => o.key));
  let bytes = 0;

  // 1. The scheduled run (what the CronJob does every hour): the instance's marker names its version, so
  //    vmbackup starts at once. For a full upload like plain vmbackup's, the version's objects are
  //    removed before each timed run (the marker stays).
  const steady = 'victoria-metrics-steady';
  const first = ourRun(steady);
  const versionPrefix = `${steady}/${first.version}/`;
  const scheduled = { plain: [] as number[], ours: [] as number[], ratios: [] as number[] };
  for (let i = 0; i < rounds; i += 1) {
    await removePrefix(versionPrefix);
    const order = i % 2 === 0 ? ['plain', 'ours'] : ['ours', 'plain'];
    let p = NaN;
    let o = NaN;
    for (const who of order) {
      if (who === 'plain') {
        const r = plainRun(`plain-s${i}`);
        p = r.seconds;
        bytes = r.bytes;
        await removePrefix(`plain-s${i}/`);
      } else {
        const r = ourRun(steady);
        if (r.newVersion || r.uploaded < bytes * 0.9) throw new Error(`the scheduled run did not do a full upload into ${first.version}`);
        o = r.seconds;
      }
    }
    scheduled.plain.push(p);
    scheduled.ours.push(o);
    scheduled.ratios.push(o / p);
  }

  // 2. The first backup of an instance (and the run after a wiped volume): a new version, so the bucket
  //    is checked and the instance's versions listed before vmbackup starts.
  const fresh = { plain: [] as number[], ours: [] as number[], ratios: [] as number[], inProcess: [] as number[], ownPlain: [] as number[], ownOurs: [] as number[] };
  for (let i = 0; i < rounds; i += 1) {
    const order = i % 2 === 0 ? ['plain', 'ours'] : ['ours', 'plain'];
    let p = NaN;
    let o = NaN;
    for (const who of order) {
      if (who === 'plain') {
        const r = plainRun(`plain-f${i}`);
        p = r.seconds;
        await removePrefix(`plain-f${i}/`);
        fresh.ownPlain.push(r.own);
      } else {
        // A fresh instance name each round: its first backup is a full one, like plain vmbackup's.
        const r = ourRun(`victoria-metrics-${i}`);
        o = r.seconds;
        await removePrefix(`victoria-metrics-${i}/`);
        fresh.inProcess.push(r.inProcess);
        fresh.ownOurs.push(r.own);
      }
    }
    fresh.plain.push(p);
    fresh.ours.push(o);
    fresh.ratios.push(o / p);
  }
  // 3. The fixed cost: an hourly run with nothing new (both destinations complete and current), so
  //    vmbackup only compares part lists; what remains is start-up and our steps around vmbackup.
  const idle = { plain: [] as number[], ours: [] as number[] };
  plainRun('plain-idle');
  ourRun(steady);
  for (let i = 0; i < rounds; i += 1) {
    idle.plain.push(plainRun('plain-idle').seconds);
    const r = ourRun(steady);
    if (r.uploaded !== 0) throw new Error(`the run with nothing new uploaded ${r.uploaded} bytes`);
    idle.ours.push(r.seconds);
  }
  await removePrefix('plain-idle/');
  // Our fixed cost, apart from vmbackup: starting Node and loading the CLI's modules.
  const startup: number[] = [];
  for (let i = 0; i < rounds; i += 1) startup.push(time(process.execPath, [CLI, '--help'], ourEnv).seconds);
  console.log(`full backups of ${(bytes / 1024 / 1024).toFixed(0)} MiB into an empty destination, local MinIO, ${rounds} rounds; ratio = median of the rounds' ours/plain`);
  console.log(`scheduled run (marker names the version)  plain ${fmt(scheduled.plain)} | ours ${fmt(scheduled.ours)}`);
  console.log(`first backup (new version: bucket check, listing) plain ${fmt(fresh.plain)} | ours ${fmt(fresh.ours)}`);
  console.log(`  vmbackup's own time (its summary line): plain ${median(fresh.ownPlain).toFixed(2)} s, under ours ${median(fresh.ownOurs).toFixed(2)} s; ours inside the process ${median(fresh.inProcess).toFixed(2)} s; starting the CLI (stackbackup --help) ${median(startup).toFixed(2)} s`);
  console.log(`hourly run with nothing new to upload: plain ${fmt(idle.plain)} | ours ${fmt(idle.ours)}; our fixed cost ${(median(idle.ours) - median(idle.plain)).toFixed(2)} s a run`);
  console.log(`ratio scheduled run ours/plain ${median(scheduled.ratios).toFixed(3)} (target <= 1.05)`);
  console.log(`ratio first backup ours/plain ${median(fresh.ratios).toFixed(3)}`);
} finally {
  await vm.stop();
  await rm(vm.dataDir, { recursive: true, force: true });
  await minio.stop();
}
