import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, it } from 'node:test';
import { httpGet, UnsupportedResponse } from '../../src/storage/http-get.js';

// A real HTTP server on loopback per case: the plain reader against node:http's framing.
const servers: Server[] = [];
after(async () => {
  for (const s of servers) {
    s.closeAllConnections();
    s.close();
  }
});

async function serve(handler: RequestListener): Promise<URL> {
  const server = createServer(handler);
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/bucket/key?X-Amz-Signature=abc`);
}

async function collect(body: AsyncIterable<unknown>, slow = false): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) {
    chunks.push(chunk as Buffer);
    if (slow && chunks.length % 8 === 0) await sleep(1);
  }
  return Buffer.concat(chunks);
}

describe('plain-socket GET (downloads from http:// endpoints)', () => {
  it('delivers exactly the bytes sent, with the path and query of the URL, to a slow reader', async () => {
    const data = randomBytes(24 * 1024 * 1024 + 7);
    let asked = '';
    const url = await serve((req, res) => {
      asked = req.url ?? '';
      res.writeHead(200, { 'Content-Length': data.length });
      res.end(data);
    });
    const res = await httpGet(url);
    assert.equal(res.status, 200);
    assert.equal(asked, '/bucket/key?X-Amz-Signature=abc');
    const got = await collect(res.body, true);
    assert.equal(got.length, data.length);
    assert.equal(createHash('sha256').update(got).digest('hex'), createHash('sha256').update(data).digest('hex'));
  });

  it('gives the status and error document of a refused request', async () => {
    const xml = '<?xml version="1.0"?><Error><Code>NoSuchKey</Code></Error>';
    const url = await serve((_req, res) => {
      res.writeHead(404, { 'Content-Length': Buffer.byteLength(xml), 'Content-Type': 'application/xml' });
      res.end(xml);
    });
    const res = await httpGet(url);
    assert.equal(res.status, 404);
    assert.equal(res.headers.get('content-type'), 'application/xml');
    assert.equal((await collect(res.body)).toString(), xml);
  });

  it('fails the body when the connection ends before Content-Length bytes', async () => {
    const url = await serve((_req, res) => {
      res.writeHead(200, { 'Content-Length': 1_000_000 });
      res.write(Buffer.alloc(300_000, 1), () => res.socket?.destroy());
    });
    const res = await httpGet(url);
    await assert.rejects(collect(res.body), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'ECONNRESET');
      assert.match(err.message, /closed after \d+ of 1000000 bytes/);
      return true;
    });
  });

  it('refuses chunked bodies and https, so that the caller uses fetch', async () => {
    const url = await serve((_req, res) => {
      res.writeHead(200);
      res.write('chunked ');
      res.end('body');
    });
    await assert.rejects(httpGet(url), UnsupportedResponse);
    await assert.rejects(httpGet(new URL('https://127.0.0.1:1/key')), UnsupportedResponse);
  });

  it('a server that stops sending fails the body after the idle timeout', async () => {
    const url = await serve((_req, res) => {
      res.writeHead(200, { 'Content-Length': 1000 });
      res.write(Buffer.alloc(10));
    });
    const res = await httpGet(url, { idleTimeoutMs: 200 });
    await assert.rejects(
      collect(res.body),
      (err: Error & { code?: string }) => err.code === 'ETIMEDOUT' && /no data from the server/.test(err.message),
    );
  });

  it('an empty object is an empty body', async () => {
    const url = await serve((_req, res) => {
      res.writeHead(200, { 'Content-Length': 0 });
      res.end();
    });
    const res = await httpGet(url);
    assert.equal((await collect(res.body)).length, 0);
  });

  it('an unreachable endpoint is a connection error', async () => {
    const url = await serve((_req, res) => res.end());
    const port = url.port;
    servers[servers.length - 1]?.close();
    await sleep(50);
    await assert.rejects(
      httpGet(new URL(`http://127.0.0.1:${port}/k`)),
      (err: Error & { code?: string }) => err.code === 'ECONNREFUSED',
    );
  });
});
