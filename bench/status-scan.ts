/**
 * The status scan of a bucket holding 10 000 StackGraph backups (issue 17, item 2: under 1 s against
 * the local MinIO). Times collectStatus(), the code path of `stackbackup status` and the metrics
 * exporter (list, completeness from the checksum objects, retention dry run), against a baseline
 * measured in the same run on the same bucket: a bare ListObjectsV2 pagination with the minio client,
 * and, for the breakdown, the same listing through our own store.
 * BENCH_BACKUPS and BENCH_ROUNDS tune it; BENCH_CPU_PROFILE=file writes a CPU profile of the scans alone
 * (then only the scans are timed).
 */
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector';
import { Readable } from 'node:stream';
import { DateTime } from 'luxon';
import { Client } from 'minio';
import { collectStatus } from '../src/health/status.js';
import { parseTargets } from '../src/health/targets.js';
import { checksumKey, stackGraphBackupName } from '../src/storage/layout.js';
import { openStore } from '../src/storage/open.js';
import { startMinio } from '../test/servers/minio.js';
import { median } from './stats.js';

const count = Number(process.env.BENCH_BACKUPS ?? 10000);
const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
const bucket = 'sts-stackgraph-backup';

const minio = await startMinio();
try {
  const url = new URL(minio.endpoint);
  const client = new Client({
    endPoint: url.hostname,
    port: Number(url.port),
    useSSL: false,
    accessKey: minio.accessKey,
    secretKey: minio.secretKey,
  });
  await client.makeBucket(bucket);
  // 10 000 backups, one every 10 minutes back from now, each with its published checksum; every 100th
  // one lacks its checksum (an incomplete leftover). Small bodies, many PUTs in flight.
  const start = DateTime.utc().startOf('minute');
  const keys: string[] = [];
  for (let i = 0; i < count; i += 1) {
    const name = stackGraphBackupName(start.minus({ minutes: 10 * i }));
    keys.push(name);
    if (i % 100 !== 99) keys.push(checksumKey(name));
  }
  const populateStarted = Date.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < keys.length) {
      const key = keys[next++] as string;
      const body = key.endsWith('.sha256') ? `${'0'.repeat(64)}  ${key}\n` : 'x';
      await client.putObject(bucket, key, Readable.from([Buffer.from(body)]), body.length);
    }
  };
  await Promise.all(Array.from({ length: 32 }, worker));
  const populateSeconds = (Date.now() - populateStarted) / 1000;

  const targets = parseTargets(
    {
      targets: [
        {
          store: 'stackgraph',
          target: 'stackgraph',
          list: { bucket },
          prune: { bucket, retention: 'days=30', minCount: '3' },
          schedule: '0 3 * * *',
        },
      ],
    },
    'bench',
  );
  const ctx = {
    storage: {
      kind: 's3' as const,
      endpoint: url,
      accessKey: minio.accessKey,
      secretKey: minio.secretKey,
      region: 'us-east-1',
    },
    now: () => DateTime.utc(),
  };
  const bare = async (): Promise<number> => {
    const t = process.hrtime.bigint();
    let objects = 0;
    for await (const item of client.listObjectsV2(bucket, '', true)) if (item.name !== undefined) objects += 1;
    if (objects !== keys.length) throw new Error(`listed ${objects} objects, expected ${keys.length}`);
    return Number(process.hrtime.bigint() - t) / 1e9;
  };
  // The same listing through our own store (signed ListObjectsV2 GETs, src/storage/s3.ts): what the
  // scan spends on top of it is parsing names, completeness and the retention preview.
  const store = openStore(ctx.storage, bucket);
  const ownList = async (): Promise<number> => {
    const t = process.hrtime.bigint();
    const objects = await store.list('');
    if (objects.length !== keys.length) throw new Error(`listed ${objects.length} objects, expected ${keys.length}`);
    return Number(process.hrtime.bigint() - t) / 1e9;
  };
  const scan = async (): Promise<number> => {
    const t = process.hrtime.bigint();
    const report = await collectStatus(targets, { ctx, kube: undefined });
    const seconds = Number(process.hrtime.bigint() - t) / 1e9;
    const sg = report.targets[0];
    if (sg === undefined || sg.error !== null || sg.backups !== count - count / 100 || sg.incomplete !== count / 100)
      throw new Error(`unexpected scan result: ${JSON.stringify(sg)}`);
    return seconds;
  };
  await bare(); // warm up MinIO's metadata cache and the client
  await scan();
  // BENCH_CPU_PROFILE=file.cpuprofile: a CPU profile of the timed scans only (not of the population).
  const profileTo = process.env.BENCH_CPU_PROFILE;
  const session = profileTo === undefined ? undefined : new Session();
  const post = (method: string, params?: object): Promise<unknown> =>
    new Promise((resolve, reject) =>
      session?.post(method, params, (err, result) => (err ? reject(err) : resolve(result))),
    );
  if (session !== undefined) {
    session.connect();
    await post('Profiler.enable');
    await post('Profiler.setSamplingInterval', { interval: 200 });
    await post('Profiler.start');
  }
  const bareTimes: number[] = [];
  const ownTimes: number[] = [];
  const scanTimes: number[] = [];
  for (let r = 0; r < rounds; r += 1) {
    if (session === undefined) bareTimes.push(await bare());
    if (session === undefined) ownTimes.push(await ownList());
    scanTimes.push(await scan());
  }
  if (session !== undefined && profileTo !== undefined) {
    const { profile } = (await post('Profiler.stop')) as { profile: object };
    await writeFile(profileTo, JSON.stringify(profile));
    session.disconnect();
  }
  const b = median(bareTimes);
  const s = median(scanTimes);
  console.log(
    `status scan, ${count} backups (${keys.length} objects) in MinIO (populated in ${populateSeconds.toFixed(1)} s), median of ${rounds}:`,
  );
  console.log(`  bare ListObjectsV2 pagination  ${b.toFixed(3)} s  (the minio client library)`);
  console.log(
    `  our store's list()              ${median(ownTimes).toFixed(3)} s  (signed GETs of our own, src/storage/s3.ts)`,
  );
  console.log(`  stackbackup status scan         ${s.toFixed(3)} s  (list + retention dry run)`);
  console.log(`  ratio scan / bare: ${(s / b).toFixed(2)}   target: scan < 1 s: ${s < 1 ? 'met' : 'NOT met'}`);
} finally {
  await minio.stop();
}
