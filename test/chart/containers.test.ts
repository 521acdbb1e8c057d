/**
 * The containers the chart renders, run for real on loopback: the MinIO server with exactly the
 * rendered command, arguments and environment (credentials read from the rendered Secret, written
 * as files where the pod mounts them), the s3proxy gateway from the rendered ConfigMap script and
 * environment, and the bucket-init Job's `stackbackup storage init ...` with the rendered job
 * environment. Only paths and addresses are mapped to this machine.
 */
import assert from 'node:assert/strict';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort, httpReady, startProcess, tempDir, TOOLS_DIR, toolPath, type RunningProcess } from '../servers/harness.js';
import { runCli } from '../support/cli.js';
import { FULLNAME, containerOf, find, render, secretData, type Container, type Manifest } from './helm.js';

let work: string;
const running: RunningProcess[] = [];

before(async () => {
  work = await tempDir('chart-containers');
});
after(async () => {
  for (const p of running.reverse()) await p.stop();
  await rm(work, { recursive: true, force: true });
});

/** Writes a rendered Secret's keys as the files a pod would see, under dir. */
async function mountSecret(secret: Manifest, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const [k, v] of Object.entries(secretData(secret))) await writeFile(join(dir, k), v, { mode: 0o440 });
}

/** The container's literal environment with in-pod paths and addresses mapped to this machine. */
function mappedEnv(c: Container, map: [string, string][]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of c.env ?? []) {
    assert.equal(e.valueFrom, undefined, `${c.name}: ${e.name} is a literal`);
    env[e.name] = mapPath(e.value ?? '', map);
  }
  return env;
}

/** Maps a path or URL by the first entry whose prefix it has (one mapping per value). */
function mapPath(value: string, map: [string, string][]): string {
  for (const [from, to] of map) {
    if (value === from || value.startsWith(`${from}/`)) return to + value.slice(from.length);
  }
  return value;
}

function mapArgs(args: string[], map: [string, string][]): string[] {
  return args.map((a) => mapPath(a, map));
}

async function startRenderedMinio(docs: Manifest[], name: string): Promise<{ endpoint: string; s3Dir: string }> {
  const root = join(work, name);
  const s3Dir = join(root, 's3');
  await mountSecret(find(docs, 'Secret', `${FULLNAME}-minio`), s3Dir);
  await mkdir(join(root, 'data'), { recursive: true });
  await mkdir(join(root, 'tmp'), { recursive: true });
  const port = await freePort();
  const c = containerOf(find(docs, 'Deployment', `${FULLNAME}-minio`), 'minio');
  const map: [string, string][] = [['/var/run/secrets/stackbackup/s3', s3Dir], ['/data', join(root, 'data')], ['/tmp', join(root, 'tmp')]];
  assert.deepEqual(c.command, ['minio']);
  const args = mapArgs(c.args ?? [], map).map((a) => (a === ':9000' ? `127.0.0.1:${port}` : a));
  const consolePort = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  running.push(
    await startProcess({
      name: `rendered-minio-${name}`,
      command: toolPath('minio', 'minio'),
      args: [...args, '--console-address', `127.0.0.1:${consolePort}`],
      env: { ...mappedEnv(c, map), GOMAXPROCS: '2' },
      ready: () => httpReady(`${endpoint}/minio/health/ready`),
    }),
  );
  return { endpoint, s3Dir };
}

/** Runs the rendered bucket-init Job's command against endpoint, as the pod would. */
async function runBucketInit(docs: Manifest[], endpoint: string, s3Dir: string) {
  const c = containerOf(find(docs, 'Job', `${FULLNAME}-bucket-init`), 'bucket-init');
  assert.deepEqual(c.command, ['stackbackup']);
  const env = mappedEnv(c, [['/var/run/secrets/stackbackup/s3', s3Dir], [`http://${FULLNAME}-minio:9000`, endpoint]]);
  const args = c.args ?? [];
  const buckets = args.filter((_, i) => args[i - 1] === '--bucket');
  return { result: await runCli(args, env), env, buckets };
}

describe('the rendered containers run', () => {
  it('minio.persistence: the MinIO server takes its credentials from the Secret files, and bucket-init creates every bucket', async () => {
    const docs = await render({ files: ['minio-persistence-values.yaml'] });
    const { endpoint, s3Dir } = await startRenderedMinio(docs, 'minio-mode');
    const { result, env, buckets } = await runBucketInit(docs, endpoint, s3Dir);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(buckets.length, 4);
    const check = await runCli(['storage', 'check', ...buckets.flatMap((b) => ['--bucket', b])], env);
    assert.equal(check.code, 0, check.stderr);
    // The hook reruns on every upgrade: harmless.
    const again = await runBucketInit(docs, endpoint, s3Dir);
    assert.equal(again.result.code, 0, again.result.stderr);
    assert.ok(!`${result.stdout}${result.stderr}${check.stdout}${check.stderr}`.includes('cisecretkey0123456789'), 'no secret in the job output');
  });

  it('minio.s3gateway: the gateway from the rendered ConfigMap and environment serves bucket-init, storing in the backend', async () => {
    // The "cloud": a MinIO whose credentials are the gateway's cloud credentials.
    const docs = await render({
      files: ['s3gateway-values.yaml'],
      set: { 'minio.s3gateway.provider': 's3', 'minio.s3gateway.region': '', 'minio.region': '' },
      setString: { 'minio.s3gateway.accessKey': 'cloudadmin', 'minio.s3gateway.secretKey': 'cloudsecret123' },
    });
    const cloudDocs = await render({ files: ['minio-emptydir-values.yaml'], setString: { 'minio.accessKey': 'cloudadmin', 'minio.secretKey': 'cloudsecret123' } });
    const cloud = await startRenderedMinio(cloudDocs, 'cloud');

    const root = join(work, 'gateway');
    const s3Dir = join(root, 's3');
    const cloudDir = join(root, 'cloud');
    const scriptDir = join(root, 'script');
    await mountSecret(find(docs, 'Secret', `${FULLNAME}-minio`), s3Dir);
    await mountSecret(find(docs, 'Secret', `${FULLNAME}-s3gateway`), cloudDir);
    await mkdir(scriptDir, { recursive: true });
    await mkdir(join(root, 'tmp'), { recursive: true });
    const script = find(docs, 'ConfigMap', `${FULLNAME}-gateway`).data?.['run-s3proxy.sh'] ?? '';
    await writeFile(join(scriptDir, 'run-s3proxy.sh'), script);
    const c = containerOf(find(docs, 'Deployment', `${FULLNAME}-gateway`), 's3proxy');
    const port = await freePort();
    const map: [string, string][] = [
      ['/var/run/secrets/stackbackup/s3', s3Dir],
      ['/var/run/secrets/stackbackup/cloud', cloudDir],
      ['/tmp', join(root, 'tmp')],
      ['http://0.0.0.0:9000', `http://127.0.0.1:${port}`],
      ['https://s3.amazonaws.com', cloud.endpoint],
    ];
    const env: Record<string, string> = { ...mappedEnv(c, map), S3PROXY_JAR: join(TOOLS_DIR, 's3proxy', 's3proxy.jar') };
    assert.equal(env.JCLOUDS_ENDPOINT, cloud.endpoint);
    toolPath('s3proxy', 's3proxy');
    const endpoint = `http://127.0.0.1:${port}`;
    running.push(
      await startProcess({
        name: 'rendered-gateway',
        command: c.command?.[0] ?? '',
        args: mapArgs(c.command?.slice(1) ?? [], [['/opt/stackbackup', scriptDir]]),
        env,
        ready: () => httpReady(`${endpoint}/`),
        timeoutMs: 90_000,
      }),
    );
    const { result, buckets } = await runBucketInit(docs, endpoint, s3Dir);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(buckets, ['ci-elasticsearch-bucket', 'ci-stackgraph-bucket', 'ci-victoria-metrics-bucket']);
    // The buckets exist in the "cloud", seen with the cloud credentials directly.
    const direct = await runCli(['storage', 'check', ...buckets.flatMap((b) => ['--bucket', b])], {
      STACKBACKUP_S3_ENDPOINT: cloud.endpoint,
      STACKBACKUP_S3_ACCESS_KEY: 'cloudadmin',
      STACKBACKUP_S3_SECRET_KEY: 'cloudsecret123',
    });
    assert.equal(direct.code, 0, direct.stderr);
  });
});
