/**
 * Volume backup: `stackbackup volumes backup` (the CLI, as a backup Job runs it: Node start-up, parent
 * lookup and stale-lock check, restic backup, the new snapshot's ID) against plain `restic backup` of the
 * same folder with the same host and tags, to the same local MinIO, in the same run. Two comparisons,
 * each a full backup into a fresh repository for both sides (the work is reading, chunking, encrypting
 * and uploading; creating the repositories is not timed for either):
 *   backup step      ours with --no-prune          against  restic backup
 *   with retention   ours as the Job runs it        against  restic backup, then restic forget with the
 *                    (backup, then the claim's              same per-claim rules (--tag claim=...
 *                    retention)                             --host ... --group-by '')
 * The data is a home folder of mixed files: a few large ones, medium ones and thousands of small ones,
 * all distinct (no accidental deduplication). The order alternates between rounds so that neither side
 * always runs first. On a machine shared with other work, wall times drift by tens of percent over
 * minutes, so the two sides of a round run back to back and the ratio is the median of the rounds'
 * ratios; each side's best wall time (as bench/storage.ts) and median CPU time (of the processes:
 * stackbackup's includes its restic runs; MinIO's is on neither side) are printed next to it. Prints both
 * sides, the ratios ours/plain and the target (<= 1.05, issue 8); exits 1 when the backup step misses it.
 * Tune with BENCH_VOLUME_MIB (default 1024) and BENCH_ROUNDS (5).
 */
import { spawnSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { S3Config } from '../src/config/storage.js';
import { openStore } from '../src/storage/open.js';
import { DEFAULT_RETENTION } from '../src/stores/volumes/index.js';
import { TOOLS_DIR, tempDir } from '../test/servers/harness.js';
import { startMinio } from '../test/servers/minio.js';
import { CLI } from '../test/support/cli.js';
import { childrenCpuSeconds } from './cpu.js';
import { median } from './stats.js';

const MIB = 1024 * 1024;

interface Timing {
  /** Seconds from start to exit. */
  wall: number;
  /** User + system CPU seconds of the process and every process it waited for (restic under stackbackup). */
  cpu: number;
}

/** CPU seconds of this process's waited-for children so far (cutime + cstime of /proc/self/stat, in clock ticks of 1/100 s). */
const mib = Number(process.env.BENCH_VOLUME_MIB ?? 1024);
const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
const bucket = 'bench-volumes';
const restic = join(TOOLS_DIR, 'bin', 'restic');
const claimName = 'claim-bench';
const tags = ['--tag', `claim=${claimName}`, '--tag', 'owner=bench'];
const keep = [
  '--keep-last',
  String(DEFAULT_RETENTION.keepLast),
  '--keep-daily',
  String(DEFAULT_RETENTION.keepDaily),
  '--keep-weekly',
  String(DEFAULT_RETENTION.keepWeekly),
  '--keep-monthly',
  String(DEFAULT_RETENTION.keepMonthly),
];

/** A file of fresh random bytes (every chunk distinct, so restic finds nothing to deduplicate). */
async function randomFile(path: string, bytes: number): Promise<void> {
  const out = createWriteStream(path);
  const chunk = Buffer.alloc(4 * MIB);
  for (let written = 0; written < bytes;) {
    const size = Math.min(chunk.length, bytes - written);
    randomFillSync(chunk, 0, size);
    if (!out.write(Buffer.from(chunk.subarray(0, size)))) await once(out, 'drain');
    written += size;
  }
  out.end();
  await once(out, 'finish');
}

/** A home folder of about `total` bytes: 60 % in six large files, 30 % in 1-4 MiB files, 10 % in small files. */
async function makeHome(dir: string, total: number): Promise<{ files: number }> {
  let files = 0;
  await mkdir(join(dir, 'data'), { recursive: true });
  for (let i = 0; i < 6; i += 1, files += 1)
    await randomFile(join(dir, 'data', `large-${i}.bin`), Math.floor((total * 0.6) / 6));
  await mkdir(join(dir, 'models'), { recursive: true });
  for (let left = total * 0.3, i = 0; left > 0; i += 1, files += 1) {
    const size = Math.min(left, (1 + (i % 4)) * MIB);
    await randomFile(join(dir, 'models', `m-${i}.bin`), size);
    left -= size;
  }
  const filler = Buffer.alloc(64 * 1024);
  for (let left = total * 0.1, i = 0; left > 0; i += 1, files += 1) {
    const sub = join(dir, 'notebooks', `project-${i % 50}`);
    if (i < 50) await mkdir(sub, { recursive: true });
    const size = Math.min(left, 2048 + ((i * 7919) % (60 * 1024)));
    randomFillSync(filler, 0, size);
    // Half notebooks (text), half binary bits: both kinds a home folder holds.
    const body =
      i % 2 === 0
        ? `{"cells": [${JSON.stringify(filler.toString('base64', 0, Math.floor(size * 0.75)))}]}\n`
        : filler.subarray(0, size);
    await writeFile(join(sub, `f-${i}.${i % 2 === 0 ? 'ipynb' : 'dat'}`), body);
    left -= size;
  }
  return { files };
}

const minio = await startMinio();
const work = await tempDir('bench-volumes');
try {
  const claim = join(work, claimName);
  const made = await makeHome(claim, mib * MIB);
  const password = join(work, 'password');
  await writeFile(password, 'bench-password\n');
  const storage: S3Config = {
    kind: 's3',
    endpoint: new URL(minio.endpoint),
    accessKey: minio.accessKey,
    secretKey: minio.secretKey,
    region: 'us-east-1',
  };
  const store = openStore(storage, bucket);
  await store.createBucket();
  const env = {
    ...process.env,
    PATH: `${join(TOOLS_DIR, 'bin')}:${process.env.PATH ?? ''}`,
    TZ: 'UTC',
    AWS_ACCESS_KEY_ID: minio.accessKey,
    AWS_SECRET_ACCESS_KEY: minio.secretKey,
    RESTIC_PASSWORD_FILE: password,
    RESTIC_CACHE_DIR: join(work, 'cache'),
  };
  const ourEnv = {
    ...env,
    STACKBACKUP_S3_ENDPOINT: minio.endpoint,
    STACKBACKUP_S3_ACCESS_KEY: minio.accessKey,
    STACKBACKUP_S3_SECRET_KEY: minio.secretKey,
    STACKBACKUP_RESTIC_PASSWORD_FILE: password,
  };
  const run = (command: string, args: string[], e: NodeJS.ProcessEnv, cwd?: string): Timing => {
    const cpuBefore = childrenCpuSeconds();
    const started = process.hrtime.bigint();
    const r = spawnSync(command, args, {
      env: e,
      cwd,
      stdio: ['ignore', 'ignore', 'pipe'],
      encoding: 'utf8',
      maxBuffer: 64 * MIB,
    });
    if (r.status !== 0)
      throw new Error(`${command} ${args.slice(0, 4).join(' ')} failed (${r.status}): ${r.stderr.slice(-2000)}`);
    return { wall: Number(process.hrtime.bigint() - started) / 1e9, cpu: childrenCpuSeconds() - cpuBefore };
  };
  const add = (a: Timing, b: Timing): Timing => ({ wall: a.wall + b.wall, cpu: a.cpu + b.cpu });
  const repoUrl = (prefix: string) => `s3:${minio.endpoint}/${bucket}/${prefix}`;
  const init = (prefix: string) => run(restic, ['-r', repoUrl(prefix), 'init'], env);
  const ours = (prefix: string, retention: boolean) =>
    run(
      process.execPath,
      [
        CLI,
        'volumes',
        'backup',
        '--quiet',
        '--bucket',
        bucket,
        '--prefix',
        prefix,
        '--claim',
        claimName,
        '--path',
        claim,
        '--owner',
        'bench',
        ...(retention ? [] : ['--no-prune']),
      ],
      ourEnv,
    );
  const plain = (prefix: string, retention: boolean): Timing => {
    const backup = run(
      restic,
      ['-r', repoUrl(prefix), 'backup', '.', '--json', '--host', 'stackbackup', ...tags],
      env,
      claim,
    );
    return retention
      ? add(
          backup,
          run(
            restic,
            [
              '-r',
              repoUrl(prefix),
              'forget',
              '--json',
              '--tag',
              `claim=${claimName}`,
              '--host',
              'stackbackup',
              '--group-by',
              '',
              ...keep,
            ],
            env,
          ),
        )
      : backup;
  };

  // Warm-up (not timed): page cache, restic binary, MinIO.
  init('warmup');
  plain('warmup', false);
  await store.delete((await store.list('warmup/')).map((o) => o.key));

  const times = {
    step: { ours: [] as Timing[], plain: [] as Timing[] },
    retention: { ours: [] as Timing[], plain: [] as Timing[] },
  };
  for (let round = 0; round < rounds; round += 1) {
    for (const kind of ['step', 'retention'] as const) {
      const retention = kind === 'retention';
      const prefixes = { ours: `r${round}-${kind}-ours`, plain: `r${round}-${kind}-plain` };
      init(prefixes.ours);
      init(prefixes.plain);
      const order = round % 2 === 0 ? (['ours', 'plain'] as const) : (['plain', 'ours'] as const);
      for (const who of order)
        times[kind][who].push(who === 'ours' ? ours(prefixes.ours, retention) : plain(prefixes.plain, retention));
      const show = (t: Timing | undefined) => `${t?.wall.toFixed(2)} s (CPU ${t?.cpu.toFixed(2)} s)`;
      process.stderr.write(
        `round ${round + 1} ${kind === 'step' ? 'backup step   ' : 'with retention'}: stackbackup ${show(times[kind].ours[round])}, plain restic ${show(times[kind].plain[round])} (${order.join(' first, ')} second)\n`,
      );
      await store.delete((await store.list(`r${round}-`)).map((o) => o.key));
    }
  }
  const best = (xs: number[]) => Math.min(...xs);
  const line = (label: string, t: { ours: Timing[]; plain: Timing[] }) => {
    const ratio = median(t.ours.map((x, i) => x.wall / (t.plain[i]?.wall ?? Number.NaN)));
    const wall = { ours: best(t.ours.map((x) => x.wall)), plain: best(t.plain.map((x) => x.wall)) };
    const cpu = { ours: median(t.ours.map((x) => x.cpu)), plain: median(t.plain.map((x) => x.cpu)) };
    console.log(
      `${label}: ratio ${ratio.toFixed(3)} (median of the rounds' wall-time ratios; target <= 1.05); ` +
        `best wall time stackbackup ${wall.ours.toFixed(2)} s, plain restic ${wall.plain.toFixed(2)} s (${(wall.ours / wall.plain).toFixed(3)}); ` +
        `median CPU ${cpu.ours.toFixed(2)} s vs ${cpu.plain.toFixed(2)} s (${(cpu.ours / cpu.plain).toFixed(3)})`,
    );
    return ratio;
  };
  console.log(
    `volumes bench: ${mib} MiB in ${made.files} files, full backups into fresh repositories on a local MinIO, ${rounds} rounds`,
  );
  const step = line('backup step    (--no-prune vs restic backup)          ', times.step);
  line('with retention (backup + retention vs backup + forget)', times.retention);
  if (step > 1.05) process.exitCode = 1;
} finally {
  await minio.stop();
  await rm(work, { recursive: true, force: true });
}
