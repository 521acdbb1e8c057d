/**
 * Upload and download of a 2 GiB file to a local MinIO: our storage layer against `mc cp`, measured
 * in the same run on the same data. Prints both throughputs, the ratios and our peak RSS.
 * Targets (issue 2): ratio >= 0.9 both ways, peak RSS < 200 MiB.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startMinio } from '../test/servers/minio.js';
import { tempDir, toolPath } from '../test/servers/harness.js';
import { writeRandomFile } from '../test/support/files.js';

const MIB = 1024 * 1024;
const sizeMiB = Number(process.env.BENCH_SIZE_MIB ?? 2048);
const rounds = Number(process.env.BENCH_ROUNDS ?? 2);
const child = fileURLToPath(new URL('./transfer-child.js', import.meta.url));

const minio = await startMinio();
const work = await tempDir('bench');
try {
  const mc = toolPath('mc', 'minio');
  const url = new URL(minio.endpoint);
  const mcEnv = { ...process.env, MC_HOST_bench: `http://${minio.accessKey}:${minio.secretKey}@${url.host}`, MC_CONFIG_DIR: join(work, 'mc') };
  const ourEnv = { ...process.env, STACKBACKUP_S3_ENDPOINT: minio.endpoint, STACKBACKUP_S3_ACCESS_KEY: minio.accessKey, STACKBACKUP_S3_SECRET_KEY: minio.secretKey };
  execFileSync(mc, ['mb', '--quiet', 'bench/bench'], { env: mcEnv });
  const source = join(work, 'source.bin');
  await writeRandomFile(source, sizeMiB * MIB);

  const timeMc = (args: string[]): number => {
    const t = process.hrtime.bigint();
    const r = spawnSync(mc, ['--quiet', '--no-color', ...args], { env: mcEnv, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`mc ${args.join(' ')} failed: ${r.stderr}`);
    return Number(process.hrtime.bigint() - t) / 1e9;
  };
  const timeOurs = (args: string[]): { seconds: number; maxRssMiB: number } => {
    const r = spawnSync(process.execPath, [child, ...args], { env: ourEnv, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`our ${args[0]} failed: ${r.stderr}`);
    return JSON.parse(r.stdout) as { seconds: number; maxRssMiB: number };
  };

  const results = { mcUp: [] as number[], oursUp: [] as number[], mcDown: [] as number[], oursDown: [] as number[], rss: [] as number[] };
  for (let i = 0; i < rounds; i += 1) {
    // Alternate who goes first so page-cache warmth does not favour one side.
    const order = i % 2 === 0 ? ['mc', 'ours'] : ['ours', 'mc'];
    for (const who of order) {
      if (who === 'mc') {
        results.mcUp.push(timeMc(['cp', source, `bench/bench/mc-${i}.bin`]));
        results.mcDown.push(timeMc(['cp', `bench/bench/mc-${i}.bin`, join(work, 'mc.back')]));
        await rm(join(work, 'mc.back'));
      } else {
        const up = timeOurs(['upload', 'bench', `ours-${i}.bin`, source]);
        const down = timeOurs(['download', 'bench', `ours-${i}.bin`, join(work, 'ours.back')]);
        results.oursUp.push(up.seconds);
        results.oursDown.push(down.seconds);
        results.rss.push(up.maxRssMiB, down.maxRssMiB);
        if ((await stat(join(work, 'ours.back'))).size !== sizeMiB * MIB) throw new Error('download size mismatch');
        await rm(join(work, 'ours.back'));
      }
    }
  }
  const best = (xs: number[]): number => Math.min(...xs);
  const rate = (s: number): string => `${(sizeMiB / s).toFixed(0)} MiB/s`;
  const upRatio = best(results.mcUp) / best(results.oursUp);
  const downRatio = best(results.mcDown) / best(results.oursDown);
  const peak = Math.max(...results.rss);
  console.log(`storage bench: ${sizeMiB} MiB file, local MinIO, best of ${rounds}`);
  console.log(`upload    mc cp ${rate(best(results.mcUp))}  ours ${rate(best(results.oursUp))}  ratio ${upRatio.toFixed(2)} (target >= 0.90)`);
  console.log(`download  mc cp ${rate(best(results.mcDown))}  ours ${rate(best(results.oursDown))}  ratio ${downRatio.toFixed(2)} (target >= 0.90)`);
  console.log(`our peak RSS ${peak.toFixed(0)} MiB (target < 200 MiB)`);
} finally {
  await minio.stop();
  await rm(work, { recursive: true, force: true });
}
