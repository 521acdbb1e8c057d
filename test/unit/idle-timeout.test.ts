/**
 * The S3 client's idle timeout: a connection that moves no byte fails the request (then retried), as
 * a MinIO pod that disappears mid-upload leaves it (no reset, packets dropped). A real loopback server
 * that accepts connections and reads requests but never answers plays that peer.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { idleTimeoutMs } from '../../src/config/storage.js';
import { openStore } from '../../src/storage/open.js';
import { uploadStream } from '../../src/storage/publish.js';
import { StackbackupError } from '../../src/util/errors.js';

const sockets: Socket[] = [];
let server: Server | undefined;
after(() => {
  for (const s of sockets) s.destroy();
  server?.close();
});

describe('the S3 idle timeout', () => {
  it('is 60 s, or STACKBACKUP_S3_IDLE_TIMEOUT_SECONDS; a bad value is refused with what to set', () => {
    assert.equal(idleTimeoutMs({}), 60_000);
    assert.equal(idleTimeoutMs({ STACKBACKUP_S3_IDLE_TIMEOUT_SECONDS: '' }), 60_000);
    assert.equal(idleTimeoutMs({ STACKBACKUP_S3_IDLE_TIMEOUT_SECONDS: '120' }), 120_000);
    for (const bad of ['0', '-5', '1.5', 'ten', '60s'])
      assert.throws(
        () => idleTimeoutMs({ STACKBACKUP_S3_IDLE_TIMEOUT_SECONDS: bad }),
        (err: unknown) =>
          err instanceof StackbackupError &&
          err.message.includes(`"${bad}"`) &&
          /unset it for the default of 60/.test(err.hint ?? ''),
      );
  });

  it('an endpoint that takes the request and goes silent fails the upload after the timeout and its retries, naming the endpoint', async () => {
    server = createServer((socket) => {
      sockets.push(socket);
      socket.on('data', () => undefined); // reads everything, answers nothing
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const endpoint = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    const before = process.env.STACKBACKUP_S3_IDLE_TIMEOUT_SECONDS;
    process.env.STACKBACKUP_S3_IDLE_TIMEOUT_SECONDS = '1';
    const started = Date.now();
    try {
      const store = openStore(
        { kind: 's3', endpoint, accessKey: 'idleaccess', secretKey: 'idlesecret01234', region: 'us-east-1' },
        'idle-bucket',
        { attempts: 2, baseDelayMs: 10 },
      );
      const body = Buffer.alloc(64 * 1024, 7);
      await assert.rejects(
        uploadStream(store, Readable.from([body]), 'object.bin', body.length, { progress: () => undefined }),
        (err: unknown) => {
          assert.ok(err instanceof StackbackupError, String(err));
          assert.match(err.message, new RegExp(`${endpoint.host}.*ETIMEDOUT|ETIMEDOUT.*${endpoint.host}`));
          return true;
        },
      );
    } finally {
      if (before === undefined) delete process.env.STACKBACKUP_S3_IDLE_TIMEOUT_SECONDS;
      else process.env.STACKBACKUP_S3_IDLE_TIMEOUT_SECONDS = before;
    }
    const seconds = (Date.now() - started) / 1000;
    assert.ok(seconds >= 2 && seconds < 20, `two attempts of about 1 s each, not a hang (${seconds} s)`);
  });
});
