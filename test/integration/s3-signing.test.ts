/**
 * Our own S3 requests (SigV4 in sigv4.ts, sent by s3-http.ts) against real servers: MinIO, and s3proxy
 * in front of MinIO (the chart's S3 gateway). Keys with characters that need encoding round-trip and
 * list as written; presigned GETs return the bytes put; a wrong secret is refused with the server's
 * code; listings page past 1,000 keys; an upload of unknown size round-trips; downloads and file
 * uploads reuse their buffers (what keeps a transfer under 128 MiB, issue 18) and still move exact bytes;
 * and the CLI works against an https endpoint (MinIO with a test certificate).
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { loadStorageConfig, type S3Config } from '../../src/config/storage.js';
import { FileChunks } from '../../src/storage/file-chunks.js';
import { openStore } from '../../src/storage/open.js';
import { PartPool, readParts } from '../../src/storage/parts.js';
import { downloadFile, uploadStream } from '../../src/storage/publish.js';
import { S3Http } from '../../src/storage/s3-http.js';
import { HashWorker } from '../../src/util/hash-worker.js';
import { tempDir } from '../servers/harness.js';
import { startMinio, type MinioServer } from '../servers/minio.js';
import { startS3Proxy, type S3ProxyServer } from '../servers/s3proxy.js';
import { runCli } from '../support/cli.js';
import { sha256File } from '../support/files.js';

const MIB = 1024 * 1024;
const quiet = { progress: () => undefined };
let minio: MinioServer;
let proxy: S3ProxyServer;
let work: string;

before(async () => {
  work = await tempDir('signing-it');
  minio = await startMinio();
  proxy = await startS3Proxy({ backend: 'minio', minio });
});
after(async () => {
  await proxy?.stop();
  await minio?.stop();
  await rm(work, { recursive: true, force: true });
});

const configFor = (server: { endpoint: string; accessKey: string; secretKey: string }, secret = server.secretKey) =>
  loadStorageConfig({
    STACKBACKUP_S3_ENDPOINT: server.endpoint,
    STACKBACKUP_S3_ACCESS_KEY: server.accessKey,
    STACKBACKUP_S3_SECRET_KEY: secret,
  }) as S3Config;

const sha = (data: Buffer): string => createHash('sha256').update(data).digest('hex');
let buckets = 0;

for (const [name, server] of [
  ['MinIO', () => minio],
  ['s3proxy → MinIO', () => proxy],
] as const) {
  describe(`signed requests: ${name}`, () => {
    it('keys that need encoding round-trip through PUT, presigned GET and the listing', async () => {
      const config = configFor(server());
      const bucket = `sign-${++buckets}-${process.pid}`;
      const store = openStore(config, bucket);
      await store.createBucket();
      const http = new S3Http(config);
      const keys = ['plain/a.bin', 'with space/b c.bin', 'plus+sign/x+y.bin', 'ümlaut/ö.bin', 'amp&/q?=#.bin'];
      const bodies = new Map(keys.map((k) => [k, randomBytes(1000 + k.length)]));
      for (const [key, body] of bodies) await http.send({ method: 'PUT', bucket, key, body });
      for (const [key, body] of bodies) {
        const res = await fetch(http.presignGet(bucket, key, 60));
        assert.equal(res.status, 200, key);
        assert.equal(sha(Buffer.from(await res.arrayBuffer())), sha(body), key);
      }
      assert.deepEqual(
        (await store.list('')).map((o) => [o.key, o.size]),
        [...keys].sort().map((k) => [k, bodies.get(k)?.length]),
      );
      await store.delete(keys);
      assert.deepEqual(await store.list(''), []);
    });

    it('a wrong secret key is refused with the server code, and the store names the credentials', async () => {
      const config = configFor(server(), 'not-the-secret-123');
      const http = new S3Http(config);
      await assert.rejects(
        http.send({ method: 'GET', bucket: 'any-bucket', query: [['list-type', '2']] }),
        (e: unknown) =>
          (e as { status?: number }).status === 403 &&
          /SignatureDoesNotMatch|AccessDenied|InvalidAccessKeyId/.test((e as { code?: string }).code ?? ''),
      );
      const store = openStore(config, 'any-bucket');
      await assert.rejects(store.list(''), (e: unknown) => (e as { exitCode?: number }).exitCode === 5);
      await assert.rejects(store.bucketExists(), (e: unknown) => (e as { exitCode?: number }).exitCode === 5);
    });

    it('an upload of unknown size (a stream) round-trips byte for byte in several parts', async () => {
      const config = configFor(server());
      const bucket = `sign-${++buckets}-${process.pid}`;
      const store = openStore(config, bucket);
      await store.createBucket();
      const data = randomBytes(21 * MIB + 5);
      const chunks = Array.from({ length: Math.ceil(data.length / (3 * MIB)) }, (_, i) =>
        data.subarray(i * 3 * MIB, (i + 1) * 3 * MIB),
      );
      const up = await uploadStream(store, Readable.from(chunks), 'stream/obj.bin', undefined, quiet);
      assert.equal(up.sha256, sha(data));
      const back = join(work, `stream-${buckets}.bin`);
      const down = await downloadFile(store, 'stream/obj.bin', back, quiet);
      assert.equal(down.sha256, sha(data));
      assert.equal(await sha256File(back), sha(data));
      await rm(back);
    });
  });
}

describe('listing and buffer reuse against MinIO', () => {
  it('lists past 1,000 keys (continuation tokens), every key once, in order', async () => {
    const store = openStore(configFor(minio), `page-${process.pid}`);
    await store.createBucket();
    const keys = Array.from({ length: 1005 }, (_, i) => `k/${String(i).padStart(5, '0')}.bin`);
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < keys.length) await store.put(keys[next++] as string, Readable.from([Buffer.from('x')]));
      }),
    );
    const listed = await store.list('k/');
    assert.deepEqual(
      listed.map((o) => o.key),
      keys,
    );
    await store.delete(keys);
  });

  it('a download reuses its slabs: a 64 MiB object arrives exact through a handful of buffers', async () => {
    const store = openStore(configFor(minio), `slabs-${process.pid}`);
    await store.createBucket();
    const data = randomBytes(64 * MIB);
    await store.put('big.bin', Readable.from([data]), { size: data.length });
    const body = await store.get('big.bin');
    assert.ok('recycle' in body, 'the http:// download body hands chunks back');
    const seen = new Set<ArrayBufferLike>();
    const hash = createHash('sha256');
    await new Promise<void>((resolve, reject) => {
      body.on('data', (chunk: Buffer) => {
        seen.add(chunk.buffer);
        hash.update(chunk);
        (body as unknown as { recycle(c: Buffer): void }).recycle(chunk);
      });
      body.once('end', resolve);
      body.once('error', reject);
    });
    assert.equal(hash.digest('hex'), sha(data));
    assert.ok(seen.size <= 6, `64 MiB went through ${seen.size} slabs of 1 MiB`);
  });

  it('a file read for upload reuses three buffers when its chunks are recycled, and is hashed exactly', async () => {
    const file = join(work, 'chunks.bin');
    const data = randomBytes(40 * MIB + 123);
    await writeFile(file, data);
    const hash = new HashWorker();
    const reader = new FileChunks(file, hash);
    const seen = new Set<ArrayBufferLike>();
    reader.on('data', (chunk: Buffer) => seen.add(chunk.buffer));
    const pool = new PartPool(3);
    const parts: Buffer[] = [];
    for await (const part of readParts(reader, pool, () => 8 * MIB)) {
      parts.push(Buffer.from(part.data));
      pool.release(part.buffer);
    }
    assert.equal(await hash.digest(), sha(data));
    assert.equal(sha(Buffer.concat(parts)), sha(data));
    assert.ok(seen.size <= 3, `40 MiB went through ${seen.size} read buffers`);
    // A consumer that never recycles still gets exact bytes (the reader allocates new buffers).
    const plain = new HashWorker();
    const all: Buffer[] = [];
    for await (const chunk of new FileChunks(file, plain)) all.push(Buffer.from(chunk as Buffer));
    assert.equal(sha(Buffer.concat(all)), sha(data));
    assert.equal(await plain.digest(), sha(data));
  });
});

describe('https endpoints (AWS S3 and TLS-fronted MinIO are reached this way)', () => {
  it('the CLI uploads, lists and downloads through https with a trusted CA, bytes equal; an untrusted one is refused', async () => {
    const certs = join(work, 'certs');
    await mkdir(certs);
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        join(certs, 'private.key'),
        '-out',
        join(certs, 'public.crt'),
      ],
      { stdio: 'ignore' },
    );
    const tls = await startMinio({ certsDir: certs });
    try {
      assert.match(tls.endpoint, /^https:/);
      const env = {
        STACKBACKUP_S3_ENDPOINT: tls.endpoint,
        STACKBACKUP_S3_ACCESS_KEY: tls.accessKey,
        STACKBACKUP_S3_SECRET_KEY: tls.secretKey,
        NODE_EXTRA_CA_CERTS: join(certs, 'public.crt'),
      };
      const file = join(work, 'tls.bin');
      const data = randomBytes(9 * MIB + 17); // two parts: the multipart path over https
      await writeFile(file, data);
      const bucket = 'tls-bucket';
      for (const args of [
        ['storage', 'init', '--bucket', bucket],
        ['storage', 'upload', '--bucket', bucket, file, 'tls/sts-backup-20260101-0300.graph'],
        ['storage', 'download', '--bucket', bucket, 'tls/sts-backup-20260101-0300.graph', join(work, 'tls.back')],
      ]) {
        const res = await runCli(args, env);
        assert.equal(res.code, 0, `${args.join(' ')}: ${res.stderr}`);
      }
      assert.equal(await sha256File(join(work, 'tls.back')), sha(data));
      const ls = await runCli(['storage', 'ls', '--bucket', bucket, '--json'], env);
      assert.equal(ls.code, 0, ls.stderr);
      assert.match(ls.stdout, /tls\/sts-backup-20260101-0300\.graph/);
      const untrusted = await runCli(['storage', 'check', '--bucket', bucket], { ...env, NODE_EXTRA_CA_CERTS: '' });
      assert.notEqual(untrusted.code, 0, 'a certificate nobody trusts must not be accepted');
      assert.doesNotMatch(untrusted.stdout + untrusted.stderr, new RegExp(tls.secretKey));
    } finally {
      await tls.stop();
    }
  });
});
