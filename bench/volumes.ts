/**
 * Volume backup: `stackbackup volumes backup` (the CLI, as a backup Job runs it: repository check,
 * stale-lock removal, parent lookup, restic backup, per-claim retention) against plain `restic backup`
 * of the same folder, to the same local MinIO, in the same run. Each round backs up the claim into a
 * fresh repository for both (a full backup: the work is reading, chunking, encrypting and uploading);
 * the order alternates between rounds. Prints both wall times and the ratio ours/plain (target <= 1.05).
 * Tune with BENCH_VOLUME_MIB (default 256) and BENCH_ROUNDS (3).
 */
import { spawnSync } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TOOLS_DIR, tempDir } from '../test/servers/harness.js';
import { startMinio } from '../test/servers/minio.js';
import { CLI } from '../test/support/cli.js';
import { writeRandomFile } from '../test/support/files.js';

const mib = Number(process.env.BENCH_VOLUME_MIB ?? 256);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const bucket = 'bench-volumes';
const restic = join(TOOLS_DIR, 'bin', 'restic');

const minio = await startMinio();
const work = await tempDir('bench-volumes');
try {
  // A home folder: a few large files and many small ones.
  const claim = join(work, 'claim-bench');
  await mkdir(join(claim, 'small'), { recursive: true });
  for (let i = 0; i < 4; i += 1) await writeRandomFile(join(claim, `big-${i}.bin`), (mib * 1024 * 1024 * 0.9) / 4);
  for (let i = 0; i < 2000; i += 1) await writeFile(join(claim, 'small', `f-${i}.txt`), `${'x'.repeat(i % 4000)}${i}\n`);
  const password = join(work, 'password');
  await writeFile(password, 'bench-password\n');
  const env = {
    ...process.env,
    PATH: `${join(TOOLS_DIR, 'bin')}:${process.env.PATH ?? ''}`,
    AWS_ACCESS_KEY_ID: minio.accessKey,
    AWS_SECRET_ACCESS_KEY: minio.secretKey,
    RESTIC_PASSWORD_FILE: password,
    RESTIC_CACHE_DIR: join(work, 'cache'),
  };
  const ourEnv = { ...env, STACKBACKUP_S3_ENDPOINT: minio.endpoint, STACKBACKUP_S3_ACCESS_KEY: minio.accessKey, STACKBACKUP_S3_SECRET_KEY: minio.secretKey, STACKBACKUP_RESTIC_PASSWORD_FILE: password };
  const time = (command: string, args: string[], e: NodeJS.ProcessEnv, cwd?: string): number => {
    const started = process.hrtime.bigint();
    const r = spawnSync(command, args, { env: e, cwd, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${command} ${args.slice(0, 3).join(' ')} failed: ${r.stderr.slice(-2000)}`);
    return Number(process.hrtime.bigint() - started) / 1e9;
  };
  const ours: number[] = [];
  const plain: number[] = [];
  for (let round = 0; round < rounds; round += 1) {
    const ourPrefix = `ours-${round}`;
    const plainRepo = `s3:${minio.endpoint}/${bucket}/plain-${round}`;
    // The plain repository exists before its backup, as ours does after its first run (init is not timed for either).
    if (round === 0) time(restic, ['-r', `s3:${minio.endpoint}/${bucket}/warmup`, 'init'], env);
    time(restic, ['-r', plainRepo, 'init'], env);
    time(restic, ['-r', `s3:${minio.endpoint}/${bucket}/${ourPrefix}`, 'init'], env);
    const runOurs = () => ours.push(time(process.execPath, [CLI, 'volumes', 'backup', '--quiet', '--bucket', bucket, '--prefix', ourPrefix, '--claim', 'claim-bench', '--path', claim, '--owner', 'bench'], ourEnv));
    const runPlain = () => plain.push(time(restic, ['-r', plainRepo, 'backup', '.', '--host', 'stackbackup', '--tag', 'claim=claim-bench', '--tag', 'owner=bench', '--json'], env, claim));
    if (round % 2 === 0) {
      runOurs();
      runPlain();
    } else {
      runPlain();
      runOurs();
    }
    process.stderr.write(`round ${round + 1}: stackbackup ${ours[round]?.toFixed(2)} s, plain restic ${plain[round]?.toFixed(2)} s\n`);
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
  const ratio = median(ours) / median(plain);
  console.log(`volumes backup of ${mib} MiB (${rounds} rounds, medians): stackbackup ${median(ours).toFixed(2)} s, plain restic ${median(plain).toFixed(2)} s, ratio ${ratio.toFixed(3)} (target <= 1.05)`);
  if (ratio > 1.05) process.exitCode = 1;
} finally {
  await minio.stop();
  await rm(work, { recursive: true, force: true });
}
