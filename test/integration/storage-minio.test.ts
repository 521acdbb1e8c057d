/**
 * The storage layer against a real MinIO server: conformance, a 1 GiB round trip, an uploader killed
 * mid-way, wrong credentials, an unreachable endpoint, and no secret in any output.
 */
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from 'minio';
import { loadStorageConfig, type S3Config } from '../../src/config/storage.js';
import { openStore } from '../../src/storage/open.js';
import { downloadFile, listBackups, uploadFile } from '../../src/storage/publish.js';
import { freePort, tempDir } from '../servers/harness.js';
import { startMinio, type MinioServer } from '../servers/minio.js';
import { runCli, spawnCli } from '../support/cli.js';
import { sha256File, writeRandomFile } from '../support/files.js';
import { storageConformance } from '../storage/conformance.js';

const MIB = 1024 * 1024;
let minio: MinioServer;
let work: string;

before(async () => {
  minio = await startMinio();
  work = await tempDir('minio-it');
});
after(async () => {
  await minio?.stop();
  await rm(work, { recursive: true, force: true });
});

const env = (overrides: Record<string, string> = {}): Record<string, string> => ({
  STACKBACKUP_S3_ENDPOINT: minio.endpoint,
  STACKBACKUP_S3_ACCESS_KEY: minio.accessKey,
  STACKBACKUP_S3_SECRET_KEY: minio.secretKey,
  STACKBACKUP_PROGRESS_INTERVAL_MS: '100',
  ...overrides,
});
const config = (): S3Config => loadStorageConfig(env()) as S3Config;
const quiet = { progress: () => undefined };
let buckets = 0;
const newBucket = (): string => `it-bucket-${++buckets}-${process.pid}`;

storageConformance('MinIO (S3)', async () => {
  const bucket = newBucket();
  const store = openStore(config(), bucket);
  return {
    store,
    cleanup: async () => {
      if (!(await store.bucketExists())) return;
      await store.delete((await store.list('')).map((o) => o.key));
      await store.cleanupIncomplete('', new Date(Date.now() + 1000));
    },
  };
});

describe('MinIO: large transfers and cut-off uploads', () => {
  it('a 1 GiB file round-trips byte-identical', async () => {
    const store = openStore(config(), newBucket());
    await store.createBucket();
    const source = join(work, '1g.bin');
    await writeRandomFile(source, 1024 * MIB);
    const up = await uploadFile(store, source, 'big/1g.bin', quiet);
    const restored = join(work, '1g.back');
    const down = await downloadFile(store, 'big/1g.bin', restored, quiet);
    assert.equal(up.size, 1024 * MIB);
    assert.equal(down.size, 1024 * MIB);
    assert.equal(await sha256File(restored), await sha256File(source));
    await rm(restored);
  });

  it('killing the uploader mid-way leaves no object under the final name; a rerun succeeds and clears the leftovers', async () => {
    const bucket = newBucket();
    const store = openStore(config(), bucket);
    await store.createBucket();
    const source = join(work, '1g.bin');
    const child = spawnCli(
      ['storage', 'upload', '--bucket', bucket, source, 'cut/sts-backup-20260101-0300.graph'],
      env(),
    );
    let log = '';
    await new Promise<void>((resolve, reject) => {
      child.stderr?.on('data', (d: Buffer) => {
        log += d.toString();
        // Kill once a good share of the parts has been sent, well before the end.
        if (/\((?:[2-9][0-9])\.[0-9]%\)/.test(log)) {
          child.kill('SIGKILL');
          resolve();
        }
      });
      child.on('exit', () => reject(new Error(`uploader ended before it could be killed:\n${log}`)));
    });
    await new Promise((r) => child.once('exit', r));
    assert.equal(await store.stat('cut/sts-backup-20260101-0300.graph'), undefined, 'no object under the final name');
    assert.deepEqual(await store.list('cut/'), [], 'nothing visible at all, not even a checksum');
    const raw = new Client({
      endPoint: '127.0.0.1',
      port: Number(new URL(minio.endpoint).port),
      useSSL: false,
      accessKey: minio.accessKey,
      secretKey: minio.secretKey,
    });
    const pending = await raw.listIncompleteUploadsQuery(bucket, 'cut/sts-backup-20260101-0300.graph', '', '', '');
    assert.equal(pending.uploads.length, 1, 'the killed run left one invisible multipart upload');

    const rerun = await runCli(
      ['storage', 'upload', '--bucket', bucket, source, 'cut/sts-backup-20260101-0300.graph'],
      env(),
    );
    assert.equal(rerun.code, 0, rerun.stderr);
    const listed = await listBackups(store, 'cut/');
    assert.deepEqual(
      listed.map((b) => [b.key, b.size, b.complete]),
      [['cut/sts-backup-20260101-0300.graph', 1024 * MIB, true]],
    );
    const after = await raw.listIncompleteUploadsQuery(bucket, 'cut/', '', '', '');
    assert.equal(after.uploads.length, 0, 'the rerun removed the stale multipart upload');
  });
});

describe('MinIO: failures the operator sees', () => {
  it('wrong credentials: exit 5, a clear message, and the secret is never printed', async () => {
    const wrong = 'WrongSecretValue987';
    for (const args of [
      ['storage', 'check', '--bucket', 'sts-stackgraph-backup'],
      ['storage', 'ls', '--bucket', 'sts-stackgraph-backup', '--json'],
    ]) {
      const res = await runCli(args, env({ STACKBACKUP_S3_SECRET_KEY: wrong }));
      assert.equal(res.code, 5, res.stderr);
      assert.match(res.stderr, /refused our credentials/);
      assert.match(res.stderr, /minio\.accessKey and minio\.secretKey/);
      assert.doesNotMatch(res.stdout + res.stderr, new RegExp(wrong));
      assert.doesNotMatch(res.stdout + res.stderr, new RegExp(minio.secretKey));
    }
  });

  it('unreachable endpoint: exit 4 after bounded retries, with what to check', async () => {
    const port = await freePort();
    const started = Date.now();
    const res = await runCli(
      ['storage', 'check', '--bucket', 'sts-stackgraph-backup'],
      env({ STACKBACKUP_S3_ENDPOINT: `http://127.0.0.1:${port}` }),
    );
    assert.equal(res.code, 4, res.stderr);
    assert.match(res.stderr, /cannot reach the backup endpoint .*127\.0\.0\.1/);
    assert.match(res.stderr, /retrying .* \(attempt 3 of 3\)/);
    assert.ok(Date.now() - started < 30_000, 'gives up within the retry budget');
    assert.doesNotMatch(res.stdout + res.stderr, new RegExp(minio.secretKey));
  });

  it('credentials from mounted Secret files work and never show in output', async () => {
    const keyFile = join(work, 'access');
    const secretFile = join(work, 'secret');
    const { writeFile } = await import('node:fs/promises');
    await writeFile(keyFile, `${minio.accessKey}\n`);
    await writeFile(secretFile, `${minio.secretKey}\n`);
    const bucket = newBucket();
    const init = await runCli(['storage', 'init', '--bucket', bucket], {
      STACKBACKUP_S3_ENDPOINT: minio.endpoint,
      STACKBACKUP_S3_ACCESS_KEY_FILE: keyFile,
      STACKBACKUP_S3_SECRET_KEY_FILE: secretFile,
    });
    assert.equal(init.code, 0, init.stderr);
    const check = await runCli(['storage', 'check', '--bucket', bucket, '--json'], env());
    assert.equal(check.code, 0, check.stderr);
    assert.deepEqual(
      JSON.parse(check.stdout).map((r: { bucket: string; exists: boolean }) => [r.bucket, r.exists]),
      [[bucket, true]],
    );
    assert.doesNotMatch(init.stdout + init.stderr + check.stdout + check.stderr, new RegExp(minio.secretKey));
  });

  it('a missing bucket in storage check: exit 6 naming the bucket', async () => {
    const res = await runCli(['storage', 'check', '--bucket', 'no-such-bucket-here'], env());
    assert.equal(res.code, 6);
    assert.match(res.stdout, /no-such-bucket-here\s+MISSING/);
    assert.match(res.stderr, /storage init --bucket/);
  });
});
