/**
 * StackGraph backup and restore of a 2 GiB export (the stand-in store, SQLite) to a local MinIO, our
 * code in a child process so that its peak RSS is measured alone. Baseline in the same run: the same
 * export and import tools with `mc cp` doing the transfer. Prints both times, the ratios and our peak RSS.
 * Target (issue 18): peak RSS <= 128 MiB for both (issue 5 had < 200 MiB); the restored store holds the same data.
 * BENCH_SIZE_MIB sets the export size (default 2048).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startMinio } from '../test/servers/minio.js';
import { mcEnv } from './mc.js';
import { REPO_ROOT, toolPath } from '../test/servers/harness.js';

const MIB = 1024 * 1024;
const sizeMiB = Number(process.env.BENCH_SIZE_MIB ?? 2048);
const child = fileURLToPath(new URL('./stackgraph-child.js', import.meta.url));
const standin = toolPath('sts-graph-standin', 'stackgraph-standin');
const mc = toolPath('mc', 'minio');

const minio = await startMinio();
// Not under /tmp when it is a small tmpfs: the bench needs about 5 times the export size on disk.
const work = join(REPO_ROOT, '.cache', `bench-stackgraph-${process.pid}`);
await mkdir(work, { recursive: true });
try {
  const env = {
    ...process.env,
    STACKBACKUP_STACKGRAPH_STANDIN: standin,
    STACKBACKUP_S3_ENDPOINT: minio.endpoint,
    STACKBACKUP_S3_ACCESS_KEY: minio.accessKey,
    STACKBACKUP_S3_SECRET_KEY: minio.secretKey,
  };
  const mcHome = mcEnv(minio, work);
  execFileSync(mc, ['mb', '--quiet', 'bench/sts-stackgraph-backup'], { env: mcHome });
  const time = (fn: () => void): number => {
    const t = process.hrtime.bigint();
    fn();
    return Number(process.hrtime.bigint() - t) / 1e9;
  };
  const tool = (db: string, ...args: string[]) =>
    execFileSync(standin, ['-db', db, ...args], { encoding: 'utf8', maxBuffer: 1024 * 1024 }).trim();
  const ours = (args: string[]): { name: string; seconds: number; bytes: number; maxRssMiB: number } => {
    const r = spawnSync(process.execPath, [child, ...args], { env, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`our ${args[0]} failed: ${r.stderr}`);
    return JSON.parse(r.stdout) as { name: string; seconds: number; bytes: number; maxRssMiB: number };
  };

  const source = join(work, 'source.db');
  const payload = 64 * 1024;
  tool(source, '-seed', String(Math.ceil((sizeMiB * MIB) / payload)), '-payload', String(payload));
  const digest = tool(source, '-digest');

  // Baseline: export, mc cp up; mc cp down, import.
  const exportFile = join(work, 'baseline.graph');
  const baseUp = time(() => {
    tool(source, '-export', exportFile);
    execFileSync(mc, ['--quiet', 'cp', exportFile, 'bench/sts-stackgraph-backup/baseline.graph'], { env: mcHome });
  });
  const exportBytes = (await stat(exportFile)).size;
  await rm(exportFile);
  const baseTarget = join(work, 'baseline-restored.db');
  const baseDown = time(() => {
    execFileSync(mc, ['--quiet', 'cp', 'bench/sts-stackgraph-backup/baseline.graph', exportFile], { env: mcHome });
    tool(baseTarget, '-import', exportFile);
  });
  await rm(exportFile);
  await rm(baseTarget);
  execFileSync(mc, ['--quiet', 'rm', 'bench/sts-stackgraph-backup/baseline.graph'], { env: mcHome });

  // Ours: stackgraph backup (export, upload with checksum, retention), then restore into an empty store.
  await mkdir(join(work, 'scratch'));
  const up = ours(['backup', 'sts-stackgraph-backup', source, join(work, 'scratch')]);
  const target = join(work, 'restored.db');
  const down = ours(['restore', 'sts-stackgraph-backup', target, join(work, 'scratch'), up.name]);
  const same = tool(target, '-digest') === digest;
  if (!same) throw new Error('the restored store differs from the source');

  const gib = (exportBytes / 1024 / MIB).toFixed(2);
  console.log(`stackgraph bench: ${gib} GiB export (${exportBytes} bytes), stand-in store, local MinIO`);
  console.log(
    `backup   export + mc cp ${baseUp.toFixed(1)} s  ours ${up.seconds.toFixed(1)} s  ratio ${(baseUp / up.seconds).toFixed(2)}  our peak RSS ${up.maxRssMiB.toFixed(0)} MiB (target <= 128 MiB, issue 18)`,
  );
  console.log(
    `restore  mc cp + import ${baseDown.toFixed(1)} s  ours ${down.seconds.toFixed(1)} s  ratio ${(baseDown / down.seconds).toFixed(2)}  our peak RSS ${down.maxRssMiB.toFixed(0)} MiB (target <= 128 MiB, issue 18)`,
  );
  console.log(`restored store identical to the source: ${same}`);
} finally {
  await minio.stop();
  await rm(work, { recursive: true, force: true });
}
