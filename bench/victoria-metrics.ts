/**
 * Victoria Metrics backup: `stackbackup victoria-metrics backup` (the job image's bundled CLI, as the
 * CronJob runs it: volume marker, version decision, vmbackup, completion, retention) against plain
 * `vmbackup` with the same flags, on the same instance and data, to the same local MinIO, in the same
 * run. Each timed run is a full backup into an empty destination for both; the order alternates
 * between rounds, and each round gets a new, empty MinIO (deleting gigabytes between runs left MinIO
 * emptying its trash during the next timed runs). Two paths of ours: the scheduled run (the instance's
 * volume marker names its version: vmbackup starts at once; its exit and summary line prove
 * completion, no S3 client is loaded), which is what the CronJob does every hour, and the first backup
 * of an instance (a new version: bucket check and listing first). Then the fixed cost: an hourly run
 * with nothing new to upload, ours against plain vmbackup into a complete destination (seconds, not a
 * ratio: it is start-up, not transfer).
 * Prints the wall times and the ratios ours/plain (target <= 1.05 for the scheduled run).
 * Tune with BENCH_VM_SERIES (default 80000: ~1.8 GiB, imported in ~7 min on 2 cores) and
 * BENCH_VM_SAMPLES (per series, default 3000), BENCH_ROUNDS (default 5), BENCH_VM_TMPDIR (below).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { DateTime } from 'luxon';
import { startMinio, type MinioServer } from '../test/servers/minio.js';
import { flush, startVictoriaMetrics, victoriaMetricsTools } from '../test/servers/victoria-metrics.js';
import { CLI } from '../test/support/cli.js';
import { median } from './stats.js';

const seriesCount = Number(process.env.BENCH_VM_SERIES ?? 80_000);
const samples = Number(process.env.BENCH_VM_SAMPLES ?? 3000);
const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
const bucket = 'bench-vm';

// The servers keep their data in memory (tmpfs) when the machine has one, set by BENCH_VM_TMPDIR
// (default /dev/shm; "disk" for the temp folder): the ratio is about what our process adds to a
// vmbackup run, and on this shared 2-core VM the disk's write-back made single runs vary by 30 %.
// At most the instance and two copies of it are held at a time (~5.5 GiB at the default size).
const memoryDir = process.env.BENCH_VM_TMPDIR ?? (existsSync('/dev/shm') ? '/dev/shm' : 'disk');
if (memoryDir !== 'disk') process.env.TMPDIR = memoryDir;

const tools = victoriaMetricsTools();
const vm = await startVictoriaMetrics();

interface Timed {
  seconds: number;
  out: string;
  stdout: string;
}

function time(command: string, args: string[], env: NodeJS.ProcessEnv): Timed {
  const t = process.hrtime.bigint();
  const r = spawnSync(command, args, { env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const seconds = Number(process.hrtime.bigint() - t) / 1e9;
  if (r.status !== 0) throw new Error(`${command} failed: ${r.stderr}`);
  return { seconds, out: `${r.stdout}\n${r.stderr}`, stdout: r.stdout };
}

interface PlainRun {
  seconds: number;
  bytes: number;
  own: number;
}

interface OurRun {
  seconds: number;
  inProcess: number;
  own: number;
  newVersion: boolean;
  version: string;
  uploaded: number;
}

/** A MinIO with the bench bucket, and the two ways of backing up into it. */
class Target {
  private constructor(readonly minio: MinioServer) {}

  static async start(): Promise<Target> {
    const target = new Target(await startMinio());
    const init = spawnSync(process.execPath, [CLI, 'storage', 'init', '--bucket', bucket], {
      env: target.ourEnv(),
      encoding: 'utf8',
    });
    if (init.status !== 0) throw new Error(`storage init failed: ${init.stderr}`);
    return target;
  }

  private ourEnv(): NodeJS.ProcessEnv {
    return {
      ...process.env,
      STACKBACKUP_S3_ENDPOINT: this.minio.endpoint,
      STACKBACKUP_S3_ACCESS_KEY: this.minio.accessKey,
      STACKBACKUP_S3_SECRET_KEY: this.minio.secretKey,
      STACKBACKUP_VMBACKUP: tools.vmbackup,
    };
  }

  plain(dst: string): PlainRun {
    const r = time(
      tools.vmbackup,
      [
        `-storageDataPath=${vm.dataDir}`,
        `-snapshot.createURL=${vm.url}/snapshot/create`,
        `-dst=s3://${bucket}/${dst}/`,
        `-customS3Endpoint=${this.minio.endpoint}`,
        '-s3ForcePathStyle=true',
        '-httpListenAddr=127.0.0.1:0',
      ],
      { ...process.env, AWS_ACCESS_KEY_ID: this.minio.accessKey, AWS_SECRET_ACCESS_KEY: this.minio.secretKey },
    );
    return {
      seconds: r.seconds,
      bytes: Number(/uploaded (\d+) bytes/.exec(r.out)?.[1] ?? 0),
      own: Number(/backed up \d+ bytes in ([0-9.]+) seconds/.exec(r.out)?.[1] ?? NaN),
    };
  }

  ours(instance: string): OurRun {
    const r = time(
      process.execPath,
      [
        CLI,
        'victoria-metrics',
        'backup',
        '--json',
        '--instance',
        instance,
        '--bucket',
        bucket,
        '--url',
        vm.url,
        '--storage-data-path',
        vm.dataDir,
      ],
      this.ourEnv(),
    );
    const json = JSON.parse(r.stdout) as {
      wallSeconds: number;
      seconds: number;
      newVersion: boolean;
      version: string;
      uploadedBytes: number;
    };
    return {
      seconds: r.seconds,
      inProcess: json.wallSeconds,
      own: json.seconds,
      newVersion: json.newVersion,
      version: json.version,
      uploaded: json.uploadedBytes,
    };
  }

  stop(): Promise<void> {
    return this.minio.stop();
  }
}

/** One round: a new MinIO, plain and ours in the given order, the MinIO (and its data) gone after. */
async function round(
  order: readonly ('plain' | 'ours')[],
  plain: (t: Target) => PlainRun,
  ours: (t: Target) => OurRun,
): Promise<{ plain: PlainRun; ours: OurRun }> {
  const target = await Target.start();
  try {
    let p: PlainRun | undefined;
    let o: OurRun | undefined;
    for (const who of order) {
      // The previous run's writes reach the disk before the clock starts.
      spawnSync('sync');
      if (who === 'plain') p = plain(target);
      else o = ours(target);
    }
    if (p === undefined || o === undefined) throw new Error('a round needs both runs');
    return { plain: p, ours: o };
  } finally {
    await target.stop();
  }
}

const fmt = (xs: number[]): string => xs.map((x) => x.toFixed(2)).join(' ');
const orderOf = (i: number): ('plain' | 'ours')[] => (i % 2 === 0 ? ['plain', 'ours'] : ['ours', 'plain']);

try {
  // Data: full-precision random values (little to compress), two months back, imported in parallel.
  const start = DateTime.utc().minus({ days: 60 }).startOf('day').toMillis();
  const importBatch = async (from: number, to: number): Promise<void> => {
    const lines: string[] = [];
    for (let i = from; i < to; i += 1) {
      const timestamps = Array.from({ length: samples }, (_, j) => start + j * 15_000);
      const values = Array.from({ length: samples }, () => Math.random() * 1e6);
      lines.push(
        JSON.stringify({
          metric: { __name__: 'bench_metric', series: String(i), host: `h${i % 100}` },
          values,
          timestamps,
        }),
      );
    }
    const res = await fetch(`${vm.url}/api/v1/import`, { method: 'POST', body: lines.join('\n') });
    if (!res.ok) throw new Error(`import: ${res.status}`);
  };
  const t0 = Date.now();
  const per = 50;
  for (let i = 0; i < seriesCount; i += per * 2) {
    await Promise.all([
      importBatch(i, Math.min(i + per, seriesCount)),
      importBatch(i + per, Math.min(i + 2 * per, seriesCount)),
    ]);
  }
  await flush(vm.url);
  console.log(
    `victoria-metrics bench: ${seriesCount} series x ${samples} samples imported in ${((Date.now() - t0) / 1000).toFixed(0)} s`,
  );

  // 1. The scheduled run (what the CronJob does every hour): the instance's marker names its version,
  //    so vmbackup starts at once. The first backup (untimed) writes the marker; in each round's new
  //    MinIO that version is empty, so the scheduled run uploads everything, as plain vmbackup does.
  const steady = 'victoria-metrics-steady';
  const setup = await Target.start();
  const { version } = setup.ours(steady);
  await setup.stop();
  let bytes = 0;
  const scheduled = { plain: [] as number[], ours: [] as number[], ratios: [] as number[] };
  for (let i = 0; i < rounds; i += 1) {
    const r = await round(
      orderOf(i),
      (t) => t.plain('plain'),
      (t) => t.ours(steady),
    );
    if (r.ours.newVersion || r.ours.version !== version || r.ours.uploaded < r.plain.bytes * 0.9) {
      throw new Error(`the scheduled run did not do a full upload into ${version}`);
    }
    bytes = r.plain.bytes;
    scheduled.plain.push(r.plain.seconds);
    scheduled.ours.push(r.ours.seconds);
    scheduled.ratios.push(r.ours.seconds / r.plain.seconds);
  }

  // 2. The first backup of an instance (and the run after a wiped volume): a new version, so the
  //    bucket is checked and the instance's versions listed before vmbackup starts.
  const fresh = {
    plain: [] as number[],
    ours: [] as number[],
    ratios: [] as number[],
    inProcess: [] as number[],
    ownPlain: [] as number[],
    ownOurs: [] as number[],
  };
  for (let i = 0; i < rounds; i += 1) {
    // A fresh instance name each round: its first backup is a full one, like plain vmbackup's.
    const r = await round(
      orderOf(i),
      (t) => t.plain('plain'),
      (t) => t.ours(`victoria-metrics-${i}`),
    );
    if (!r.ours.newVersion) throw new Error('the first backup of an instance did not start a new version');
    fresh.plain.push(r.plain.seconds);
    fresh.ours.push(r.ours.seconds);
    fresh.ratios.push(r.ours.seconds / r.plain.seconds);
    fresh.inProcess.push(r.ours.inProcess);
    fresh.ownPlain.push(r.plain.own);
    fresh.ownOurs.push(r.ours.own);
  }

  // 3. The fixed cost: an hourly run with nothing new (both destinations complete and current), so
  //    vmbackup only compares part lists; what remains is start-up and our steps around vmbackup.
  const idle = { plain: [] as number[], ours: [] as number[] };
  const target = await Target.start();
  try {
    target.plain('plain');
    target.ours(steady);
    for (let i = 0; i < rounds; i += 1) {
      idle.plain.push(target.plain('plain').seconds);
      const r = target.ours(steady);
      if (r.uploaded !== 0) throw new Error(`the run with nothing new uploaded ${r.uploaded} bytes`);
      idle.ours.push(r.seconds);
    }
  } finally {
    await target.stop();
  }
  // Our fixed cost, apart from vmbackup: starting Node and loading the CLI's modules.
  const startup: number[] = [];
  for (let i = 0; i < rounds; i += 1) startup.push(time(process.execPath, [CLI, '--help'], process.env).seconds);

  const where = memoryDir === 'disk' ? 'the temp folder (disk)' : `${memoryDir} (memory)`;
  console.log(
    `full backups of ${(bytes / 1024 / 1024).toFixed(0)} MiB into an empty destination, a new local MinIO each round, data in ${where}, ${rounds} rounds; ratio = median of the rounds' ours/plain`,
  );
  console.log(`scheduled run (marker names the version)  plain ${fmt(scheduled.plain)} | ours ${fmt(scheduled.ours)}`);
  console.log(`first backup (new version: bucket check, listing) plain ${fmt(fresh.plain)} | ours ${fmt(fresh.ours)}`);
  console.log(
    `  vmbackup's own time (its summary line): plain ${median(fresh.ownPlain).toFixed(2)} s, under ours ${median(fresh.ownOurs).toFixed(2)} s; ours inside the process ${median(fresh.inProcess).toFixed(2)} s; starting the CLI (stackbackup --help) ${median(startup).toFixed(2)} s`,
  );
  console.log(
    `hourly run with nothing new to upload: plain ${fmt(idle.plain)} | ours ${fmt(idle.ours)}; our fixed cost ${(median(idle.ours) - median(idle.plain)).toFixed(2)} s a run`,
  );
  console.log(`ratio scheduled run ours/plain ${median(scheduled.ratios).toFixed(3)} (target <= 1.05)`);
  console.log(`ratio first backup ours/plain ${median(fresh.ratios).toFixed(3)}`);
} finally {
  await vm.stop();
  await rm(vm.dataDir, { recursive: true, force: true });
}
