/**
 * The behaviour every ObjectStore backend must show, run against real servers (MinIO, s3proxy in
 * front of MinIO or Azurite) and the local filesystem. Each backend's test file calls
 * storageConformance() with a factory that returns a store on a new bucket that does not exist yet.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { ensureBucket } from '../../src/storage/open.js';
import { checksumKey } from '../../src/storage/layout.js';
import { downloadFile, listBackups, uploadFile } from '../../src/storage/publish.js';
import type { ObjectStore } from '../../src/storage/types.js';
import { StackbackupError } from '../../src/util/errors.js';
import { tempDir } from '../servers/harness.js';
import { sha256File, writeRandomFile } from '../support/files.js';

export interface ConformanceTarget {
  /** A store on a new, unique bucket that does not exist yet. */
  store: ObjectStore;
  cleanup(): Promise<void>;
}

export type OpenTarget = () => Promise<ConformanceTarget>;

const MIB = 1024 * 1024;
const quiet = { progress: () => undefined };

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c as Uint8Array));
  return Buffer.concat(chunks);
}

/** A stream that sends `bytes` and then fails, like a source cut off mid-transfer. */
function failingAfter(bytes: number): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= bytes) {
        this.destroy(new Error('source cut off'));
        return;
      }
      const chunk = randomBytes(Math.min(MIB, bytes - sent));
      sent += chunk.length;
      this.push(chunk);
    },
  });
}

export function storageConformance(name: string, open: OpenTarget, options: { largeMiB?: number } = {}): void {
  const largeMiB = options.largeMiB ?? 40;
  describe(`ObjectStore conformance: ${name}`, () => {
    let target: ConformanceTarget;
    let store: ObjectStore;
    let work: string;

    before(async () => {
      target = await open();
      store = target.store;
      await store.createBucket();
      work = await tempDir('conformance');
    });
    after(async () => {
      await target.cleanup();
      await rm(work, { recursive: true, force: true });
    });

    it('creates a bucket once and reports it exists; creating it again is harmless', async () => {
      assert.equal(await store.bucketExists(), true);
      await store.createBucket();
      assert.equal(await store.bucketExists(), true);
    });

    it('round-trips small, empty and multipart-sized objects byte for byte', async () => {
      const small = randomBytes(1000);
      await store.put('rt/small.bin', Readable.from([small]));
      assert.deepEqual(await readAll(await store.get('rt/small.bin')), small);
      await store.put('rt/empty.bin', Readable.from([]));
      assert.equal((await readAll(await store.get('rt/empty.bin'))).length, 0);
      const file = join(work, 'large.bin');
      await writeRandomFile(file, largeMiB * MIB);
      const up = await uploadFile(store, file, 'rt/large.bin', quiet);
      assert.equal(up.size, largeMiB * MIB);
      const back = join(work, 'large.back');
      const down = await downloadFile(store, 'rt/large.bin', back, quiet);
      assert.equal(down.sha256, await sha256File(file));
      assert.equal(await sha256File(back), up.sha256);
    });

    it('lists by prefix, in key order, with size and time', async () => {
      const t0 = Date.now() - 60_000;
      await store.put('ls/b/2.txt', Readable.from([Buffer.from('22')]));
      await store.put('ls/a/1.txt', Readable.from([Buffer.from('1')]));
      await store.put('lsx.txt', Readable.from([Buffer.from('x')]));
      const listed = await store.list('ls/');
      assert.deepEqual(
        listed.map((o) => [o.key, o.size]),
        [
          ['ls/a/1.txt', 1],
          ['ls/b/2.txt', 2],
        ],
      );
      for (const o of listed) assert.ok(o.lastModified.getTime() > t0, 'modification time is recent');
      assert.deepEqual(
        (await store.list('ls/b')).map((o) => o.key),
        ['ls/b/2.txt'],
      );
      assert.deepEqual(await store.list('nothing-here/'), []);
    });

    it('stats, copies server-side and deletes; missing keys are handled', async () => {
      await store.put('cp/src.bin', Readable.from([Buffer.from('copy me')]));
      assert.equal((await store.stat('cp/src.bin'))?.size, 7);
      assert.equal(await store.stat('cp/missing.bin'), undefined);
      await store.copy('cp/src.bin', 'cp/dst.bin');
      assert.equal((await readAll(await store.get('cp/dst.bin'))).toString(), 'copy me');
      await store.delete(['cp/src.bin', 'cp/never-existed.bin']);
      assert.equal(await store.stat('cp/src.bin'), undefined);
      assert.equal((await store.stat('cp/dst.bin'))?.size, 7);
      await assert.rejects(store.get('cp/src.bin'), (e: unknown) => e instanceof StackbackupError && e.exitCode === 3);
      await assert.rejects(
        store.copy('cp/src.bin', 'cp/x.bin'),
        (e: unknown) => e instanceof StackbackupError && e.exitCode === 3,
      );
    });

    it('a source cut off mid-upload leaves no object under the final name, and a rerun succeeds', async () => {
      await assert.rejects(
        store.put('cut/obj.bin', failingAfter(largeMiB * MIB - 3 * MIB), { size: largeMiB * MIB }),
        /cut off/,
      );
      assert.equal(await store.stat('cut/obj.bin'), undefined);
      assert.deepEqual(await store.list('cut/'), []);
      await store.cleanupIncomplete('', new Date(Date.now() + 1000));
      await store.put('cut/obj.bin', Readable.from([Buffer.from('whole')]));
      assert.equal((await store.stat('cut/obj.bin'))?.size, 5);
    });

    it('publishes a checksum only for complete uploads; unpublished data is listed as incomplete and refused', async () => {
      await store.put('pub/orphan.graph', Readable.from([Buffer.from('no checksum')]));
      const file = join(work, 'pub.bin');
      await writeFile(file, randomBytes(4096));
      await uploadFile(store, file, 'pub/ok.graph', quiet);
      const listed = await listBackups(store, 'pub/');
      assert.deepEqual(
        listed.map((b) => [b.key, b.complete]),
        [
          ['pub/ok.graph', true],
          ['pub/orphan.graph', false],
        ],
      );
      await assert.rejects(
        downloadFile(store, 'pub/orphan.graph', join(work, 'orphan'), quiet),
        (e: unknown) => e instanceof StackbackupError && e.exitCode === 7 && /incomplete/.test(e.message),
      );
      assert.equal(existsSync(join(work, 'orphan')), false);
    });

    it('refuses a corrupted object on download and leaves no file behind', async () => {
      const file = join(work, 'corrupt.bin');
      await writeFile(file, randomBytes(64 * 1024));
      await uploadFile(store, file, 'bad/backup.graph', quiet);
      const tampered = randomBytes(64 * 1024);
      await store.put('bad/backup.graph', Readable.from([tampered]));
      const dest = join(work, 'restored.graph');
      await assert.rejects(
        downloadFile(store, 'bad/backup.graph', dest, quiet),
        (e: unknown) => e instanceof StackbackupError && e.exitCode === 7 && /corrupt/.test(e.message),
      );
      assert.equal(existsSync(dest), false);
      assert.equal(existsSync(`${dest}.partial`), false);
      assert.ok(await store.stat(checksumKey('bad/backup.graph')));
    });

    it('restore-only with a missing bucket fails naming the Helm values; scheduled backups create it', async () => {
      const missing = await open();
      try {
        const opts = {
          bucketValue: 'backup.stackGraph.bucketName',
          scheduleValue: 'backup.stackGraph.scheduled.enabled',
        };
        await assert.rejects(
          ensureBucket(missing.store, { ...opts, create: false }),
          (e: unknown) =>
            e instanceof StackbackupError &&
            e.exitCode === 6 &&
            /backup\.stackGraph\.bucketName/.test(e.hint ?? '') &&
            /backup\.stackGraph\.scheduled\.enabled/.test(e.hint ?? ''),
        );
        assert.equal(await missing.store.bucketExists(), false, 'restore-only must not create the bucket');
        await ensureBucket(missing.store, { ...opts, create: true });
        assert.equal(await missing.store.bucketExists(), true);
      } finally {
        await missing.cleanup();
      }
    });
  });
}
