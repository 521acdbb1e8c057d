/**
 * The chart's two gateway modes, end to end on loopback: s3proxy (started by the chart's own start
 * script, chart/files/gateway/run-s3proxy.sh) in front of MinIO standing in for AWS S3
 * (minio.s3gateway) and in front of Azurite standing in for Azure Blob Storage (minio.azuregateway).
 * The shared storage conformance suite runs through each, with the credentials handed over as the
 * chart hands them to jobs: STACKBACKUP_S3_*_FILE paths of mounted Secret files.
 */
import assert from 'node:assert/strict';
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from 'minio';
import { loadStorageConfig, type S3Config } from '../../src/config/storage.js';
import { openStore } from '../../src/storage/open.js';
import type { ObjectStore } from '../../src/storage/types.js';
import { startAzurite, type AzuriteServer } from '../servers/azurite.js';
import { tempDir } from '../servers/harness.js';
import { startMinio, type MinioServer } from '../servers/minio.js';
import { startS3Proxy, type S3ProxyServer } from '../servers/s3proxy.js';
import { runCli } from '../support/cli.js';
import { storageConformance } from '../storage/conformance.js';

let minio: MinioServer;
let azurite: AzuriteServer;
let toMinio: S3ProxyServer;
let toAzurite: S3ProxyServer;
let work: string;

before(async () => {
  work = await tempDir('gateway-it');
  [minio, azurite] = await Promise.all([startMinio(), startAzurite()]);
  [toMinio, toAzurite] = await Promise.all([
    startS3Proxy({ backend: 'minio', minio }),
    startS3Proxy({ backend: 'azurite', azurite }),
  ]);
});
after(async () => {
  await Promise.all([toMinio?.stop(), toAzurite?.stop()]);
  await Promise.all([minio?.stop(), azurite?.stop()]);
  await rm(work, { recursive: true, force: true });
});

let files = 0;
/** The job environment the chart renders, with the credentials as files. */
async function jobEnv(gw: S3ProxyServer, secretKey = gw.secretKey): Promise<Record<string, string>> {
  files += 1;
  const accessFile = join(work, `accessKey-${files}`);
  const secretFile = join(work, `secretKey-${files}`);
  await writeFile(accessFile, gw.accessKey, { mode: 0o440 });
  await writeFile(secretFile, secretKey, { mode: 0o440 });
  return {
    STACKBACKUP_S3_ENDPOINT: gw.endpoint,
    STACKBACKUP_S3_ACCESS_KEY_FILE: accessFile,
    STACKBACKUP_S3_SECRET_KEY_FILE: secretFile,
  };
}

let buckets = 0;
const newBucket = (): string => `gw-bucket-${++buckets}-${process.pid}`;

async function emptied(store: ObjectStore): Promise<void> {
  if (!(await store.bucketExists())) return;
  await store.delete((await store.list('')).map((o) => o.key));
  await store.cleanupIncomplete('', new Date(Date.now() + 1000));
}

function openThrough(gw: () => S3ProxyServer) {
  return async () => {
    const store = openStore(loadStorageConfig(await jobEnv(gw())) as S3Config, newBucket());
    return { store, cleanup: () => emptied(store) };
  };
}

storageConformance(
  's3proxy → MinIO (minio.s3gateway)',
  openThrough(() => toMinio),
);
storageConformance(
  's3proxy → Azurite (minio.azuregateway)',
  openThrough(() => toAzurite),
);

describe('gateway modes: what the chart relies on', () => {
  it('the bucket-init command creates the buckets through each gateway, and a rerun is harmless', async () => {
    for (const gw of [toMinio, toAzurite]) {
      const env = await jobEnv(gw);
      const args = ['storage', 'init', '--bucket', 'sts-stackgraph-backup', '--bucket', 'sts-victoria-metrics-backup'];
      const first = await runCli(args, env);
      assert.equal(first.code, 0, `${gw.provider}: ${first.stderr}`);
      const again = await runCli(args, env);
      assert.equal(again.code, 0, `${gw.provider} rerun: ${again.stderr}`);
      const check = await runCli(
        ['storage', 'check', '--bucket', 'sts-stackgraph-backup', '--bucket', 'sts-victoria-metrics-backup'],
        env,
      );
      assert.equal(check.code, 0, `${gw.provider} check: ${check.stderr}`);
      for (const out of [first, again, check]) {
        assert.ok(
          !`${out.stdout}${out.stderr}`.includes(gw.secretKey),
          `${gw.provider}: the secret key shows up in the CLI output`,
        );
      }
    }
  });

  it('objects written through the S3 gateway land in the backing S3 service', async () => {
    const store = openStore(loadStorageConfig(await jobEnv(toMinio)) as S3Config, newBucket());
    await store.createBucket();
    const { Readable } = await import('node:stream');
    await store.put('victoria-metrics-0/data.bin', Readable.from([Buffer.from('through the gateway')]));
    const direct = new Client({
      endPoint: '127.0.0.1',
      port: Number(new URL(minio.endpoint).port),
      useSSL: false,
      accessKey: minio.accessKey,
      secretKey: minio.secretKey,
      region: 'us-east-1',
    });
    const body = await direct.getObject(store.bucket, 'victoria-metrics-0/data.bin');
    const chunks: Buffer[] = [];
    for await (const c of body) chunks.push(Buffer.from(c as Uint8Array));
    assert.equal(Buffer.concat(chunks).toString(), 'through the gateway');
    await emptied(store);
  });

  it('jobs must sign with minio.accessKey/secretKey: a wrong secret key is refused', async () => {
    for (const gw of [toMinio, toAzurite]) {
      const out = await runCli(
        ['storage', 'check', '--bucket', 'sts-stackgraph-backup'],
        await jobEnv(gw, 'wrongsecret123'),
      );
      assert.notEqual(out.code, 0, `${gw.provider} accepted a wrong secret key`);
      assert.ok(!`${out.stdout}${out.stderr}`.includes('wrongsecret123'), 'the wrong key is not echoed');
    }
  });

  it('the cloud credentials of MinIO are not accepted at the gateway (jobs never need them)', async () => {
    const out = await runCli(['storage', 'check', '--bucket', 'sts-stackgraph-backup'], {
      ...(await jobEnv(toMinio)),
      STACKBACKUP_S3_ACCESS_KEY: minio.accessKey,
      STACKBACKUP_S3_SECRET_KEY: minio.secretKey,
      STACKBACKUP_S3_ACCESS_KEY_FILE: '',
      STACKBACKUP_S3_SECRET_KEY_FILE: '',
    });
    assert.notEqual(out.code, 0);
  });

  it('the gateway keeps credentials off its command line, in a properties file only its user can read', async () => {
    for (const gw of [toMinio, toAzurite]) {
      const pid = gw.process.child.pid;
      assert.ok(pid !== undefined);
      const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').join(' ');
      assert.match(
        cmdline,
        /java .*-jar .*s3proxy\.jar --properties /,
        'the start script execs java with a properties file',
      );
      assert.ok(!cmdline.includes(gw.secretKey), `${gw.provider}: the secret key is on the command line`);
      const conf = cmdline.split('--properties ')[1]?.trim() ?? '';
      const mode = (await stat(conf)).mode & 0o777;
      assert.equal(mode, 0o600, `${conf} is private`);
      const text = await readFile(conf, 'utf8');
      assert.match(text, new RegExp(`^jclouds\\.provider=${gw.provider}$`, 'm'));
      assert.match(text, /^s3proxy\.authorization=aws-v2-or-v4$/m);
      const log = await readFile(gw.process.logFile, 'utf8');
      assert.ok(!log.includes(gw.secretKey), `${gw.provider}: the gateway log shows the secret key`);
    }
  });
});
