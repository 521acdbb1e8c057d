/**
 * Upload and download of a 2 GiB file to a local MinIO: our storage layer against `mc cp`, measured
 * in the same run on the same data. Prints both throughputs, the ratios and our peak RSS.
 * Targets (issue 2): ratio >= 0.9 both ways, peak RSS < 200 MiB.
 *
 * Our download verifies the SHA-256 of every byte (and only then renames the file into place); `mc cp`
 * verifies nothing. So the bench also counts CPU seconds (the client's, and MinIO's during the
 * transfer) and measures this machine's SHA-256 speed, and prints the best download ratio any client
 * that verifies a SHA-256 could reach here: mc's CPU + MinIO's + one SHA-256 pass, spread perfectly over
 * every core, against mc's wall time. With the server on the same few cores, that bound decides.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startMinio } from '../test/servers/minio.js';
import { mcEnv } from './mc.js';
import { tempDir, toolPath } from '../test/servers/harness.js';
import { writeRandomFile } from '../test/support/files.js';
import { CORES, childrenCpuSeconds, processCpuSeconds } from './cpu.js';
import { median } from './stats.js';

const MIB = 1024 * 1024;
const sizeMiB = Number(process.env.BENCH_SIZE_MIB ?? 2048);
// An even number of rounds, half with mc first and half with ours first, so order cannot favour a side.
const rounds = 2 * Math.ceil(Number(process.env.BENCH_ROUNDS ?? 4) / 2);
const child = fileURLToPath(new URL('./transfer-child.js', import.meta.url));

const minio = await startMinio();
const work = await tempDir('bench');
try {
  const mc = toolPath('mc', 'minio');
  const mcHome = mcEnv(minio, work);
  const ourEnv = {
    ...process.env,
    STACKBACKUP_S3_ENDPOINT: minio.endpoint,
    STACKBACKUP_S3_ACCESS_KEY: minio.accessKey,
    STACKBACKUP_S3_SECRET_KEY: minio.secretKey,
  };
  execFileSync(mc, ['mb', '--quiet', 'bench/bench'], { env: mcHome });
  const source = join(work, 'source.bin');
  await writeRandomFile(source, sizeMiB * MIB);

  const minioPid = minio.process.child.pid ?? NaN;
  const cpu = {
    mcUp: [] as number[],
    minioMcUp: [] as number[],
    mcDown: [] as number[],
    minioMcDown: [] as number[],
    oursDown: [] as number[],
    minioOursDown: [] as number[],
  };
  // Every timed run starts from the same state: the previous run's dirty pages written out (its
  // write-back would otherwise land in the next run) and its objects and files gone.
  const settle = (): void => {
    execFileSync('sync');
  };
  const timeMc = (args: string[], cpuInto?: [number[], number[]]): number => {
    settle();
    const [c0, s0] = [childrenCpuSeconds(), processCpuSeconds(minioPid)];
    const t = process.hrtime.bigint();
    const r = spawnSync(mc, ['--quiet', '--no-color', ...args], { env: mcHome, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`mc ${args.join(' ')} failed: ${r.stderr}`);
    const seconds = Number(process.hrtime.bigint() - t) / 1e9;
    cpuInto?.[0].push(childrenCpuSeconds() - c0);
    cpuInto?.[1].push(processCpuSeconds(minioPid) - s0);
    return seconds;
  };
  const timeOurs = (args: string[], cpuInto?: [number[], number[]]): { seconds: number; maxRssMiB: number } => {
    settle();
    const [c0, s0] = [childrenCpuSeconds(), processCpuSeconds(minioPid)];
    const r = spawnSync(process.execPath, [child, ...args], { env: ourEnv, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`our ${args[0]} failed: ${r.stderr}`);
    cpuInto?.[0].push(childrenCpuSeconds() - c0);
    cpuInto?.[1].push(processCpuSeconds(minioPid) - s0);
    return JSON.parse(r.stdout) as { seconds: number; maxRssMiB: number };
  };
  // This machine's SHA-256 speed (OpenSSL through node:crypto, as the download's hash worker uses it).
  const block = Buffer.alloc(MIB, 7);
  const hashStarted = process.hrtime.bigint();
  const hasher = createHash('sha256');
  for (let i = 0; i < Math.min(sizeMiB, 1024); i += 1) hasher.update(block);
  hasher.digest();
  const sha256MiBps = Math.min(sizeMiB, 1024) / (Number(process.hrtime.bigint() - hashStarted) / 1e9);

  const results = {
    mcUp: [] as number[],
    oursUp: [] as number[],
    mcDown: [] as number[],
    oursDown: [] as number[],
    rss: [] as number[],
  };
  for (let i = 0; i < rounds; i += 1) {
    // Alternate who goes first so page-cache warmth does not favour one side.
    const order = i % 2 === 0 ? ['mc', 'ours'] : ['ours', 'mc'];
    for (const who of order) {
      if (who === 'mc') {
        results.mcUp.push(timeMc(['cp', source, `bench/bench/mc-${i}.bin`], [cpu.mcUp, cpu.minioMcUp]));
        results.mcDown.push(
          timeMc(['cp', `bench/bench/mc-${i}.bin`, join(work, 'mc.back')], [cpu.mcDown, cpu.minioMcDown]),
        );
        await rm(join(work, 'mc.back'));
        execFileSync(mc, ['rm', '--quiet', `bench/bench/mc-${i}.bin`], { env: mcHome });
      } else {
        const up = timeOurs(['upload', 'bench', `ours-${i}.bin`, source]);
        const down = timeOurs(
          ['download', 'bench', `ours-${i}.bin`, join(work, 'ours.back')],
          [cpu.oursDown, cpu.minioOursDown],
        );
        results.oursUp.push(up.seconds);
        results.oursDown.push(down.seconds);
        results.rss.push(up.maxRssMiB, down.maxRssMiB);
        if ((await stat(join(work, 'ours.back'))).size !== sizeMiB * MIB) throw new Error('download size mismatch');
        await rm(join(work, 'ours.back'));
        execFileSync(mc, ['rm', '--quiet', `bench/bench/ours-${i}.bin`, `bench/bench/ours-${i}.bin.sha256`], {
          env: mcHome,
        });
      }
    }
  }
  const best = (xs: number[]): number => Math.min(...xs);
  const rate = (s: number): string => `${(sizeMiB / s).toFixed(0)} MiB/s`;
  const upRatio = best(results.mcUp) / best(results.oursUp);
  const downRatio = best(results.mcDown) / best(results.oursDown);
  const peak = Math.max(...results.rss);
  console.log(`storage bench: ${sizeMiB} MiB file, local MinIO, ${rounds} rounds (half of them mc first)`);
  const runs = (xs: number[]): string => xs.map((x) => x.toFixed(2)).join(' ');
  const ratios = (mcs: number[], ours: number[]): number[] => mcs.map((m, i) => m / (ours[i] ?? NaN));
  const spread = (xs: number[]): string => `${Math.min(...xs).toFixed(2)}-${Math.max(...xs).toFixed(2)}`;
  const upRatios = ratios(results.mcUp, results.oursUp);
  const downRatios = ratios(results.mcDown, results.oursDown);
  console.log(`upload   s per run: mc ${runs(results.mcUp)}; ours ${runs(results.oursUp)}`);
  console.log(`download s per run: mc ${runs(results.mcDown)}; ours ${runs(results.oursDown)}`);
  console.log(
    `per-round ratios (mc s / ours s): upload median ${median(upRatios).toFixed(2)} spread ${spread(upRatios)}; download median ${median(downRatios).toFixed(2)} spread ${spread(downRatios)}`,
  );
  console.log(
    `baseline spent (median): mc cp up ${median(cpu.mcUp).toFixed(2)} CPU-s + MinIO ${median(cpu.minioMcUp).toFixed(2)} CPU-s, down ${median(cpu.mcDown).toFixed(2)} + MinIO ${median(cpu.minioMcDown).toFixed(2)} CPU-s, ${sizeMiB * MIB} bytes each way`,
  );
  console.log(
    `upload    mc cp ${rate(best(results.mcUp))}  ours ${rate(best(results.oursUp))}  ratio ${upRatio.toFixed(2)} (target >= 0.90)`,
  );
  console.log(
    `download  mc cp ${rate(best(results.mcDown))}  ours ${rate(best(results.oursDown))}  ratio ${downRatio.toFixed(2)} (target >= 0.90)`,
  );
  console.log(`our peak RSS ${peak.toFixed(0)} MiB (target <= 128 MiB)`);
  const shaSeconds = sizeMiB / sha256MiBps;
  const needed = median(cpu.mcDown) + median(cpu.minioMcDown) + shaSeconds;
  const bound = best(results.mcDown) / (needed / CORES);
  console.log(
    `download CPU (median): mc ${median(cpu.mcDown).toFixed(2)} s + MinIO ${median(cpu.minioMcDown).toFixed(2)} s; ours ${median(cpu.oursDown).toFixed(2)} s + MinIO ${median(cpu.minioOursDown).toFixed(2)} s`,
  );
  console.log(
    `SHA-256 here: ${sha256MiBps.toFixed(0)} MiB/s, ${shaSeconds.toFixed(2)} CPU-s for the file; mc cp + MinIO + one SHA-256 pass = ${needed.toFixed(2)} CPU-s on ${CORES} cores`,
  );
  console.log(
    `best download ratio a SHA-256-verifying client could reach on this machine: ${bound.toFixed(2)} (ours ${downRatio.toFixed(2)})`,
  );
} finally {
  await minio.stop();
  await rm(work, { recursive: true, force: true });
}
