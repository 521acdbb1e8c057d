/**
 * notifications.webhook against a real HTTP receiver: a failed backup sends one JSON event (or a
 * Slack-compatible one), the headers from the Secret file are sent but never appear in the payload
 * or the output, 5xx answers are retried a bounded number of times without changing the command's
 * exit code, and the exporter sends target_stale for a target that is stale.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DateTime } from 'luxon';
import { after, before, describe, it } from 'node:test';
import { freePort, tempDir } from '../servers/harness.js';
import { runCli, spawnCli } from '../support/cli.js';

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

let root: string;
let work: string;
let server: Server;
let received: Received[] = [];
/** Status codes to answer with, in order; then 200. */
let answers: number[] = [];
const TOKEN = 'tok-very-secret-9876';
const PATH_SECRET = 'hook-path-secret-5555';

before(async () => {
  root = await tempDir('notify-fs');
  work = await tempDir('notify-work');
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      received.push({ path: req.url ?? '', headers: req.headers, body });
      res.writeHead(answers.shift() ?? 200);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const init = await runCli(['storage', 'init', '--bucket', 'sts-stackgraph-backup'], { STACKBACKUP_FS_ROOT: root });
  assert.equal(init.code, 0, init.stderr);
});
after(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await rm(root, { recursive: true, force: true });
  await rm(work, { recursive: true, force: true });
});

async function hookEnv(format?: string): Promise<Record<string, string>> {
  const port = (server.address() as AddressInfo).port;
  await writeFile(join(work, 'url'), `http://127.0.0.1:${port}/${PATH_SECRET}\n`);
  await writeFile(join(work, 'headers'), JSON.stringify({ Authorization: `Bearer ${TOKEN}` }));
  return {
    STACKBACKUP_FS_ROOT: root,
    STACKBACKUP_WEBHOOK_URL_FILE: join(work, 'url'),
    STACKBACKUP_WEBHOOK_HEADERS_FILE: join(work, 'headers'),
    ...(format === undefined ? {} : { STACKBACKUP_WEBHOOK_FORMAT: format }),
  };
}

const failingBackup = ['stackgraph', 'backup', '--from-file', '/nonexistent/stackgraph-export.graph'];

describe('notifications webhook', () => {
  it('a failed backup sends one JSON event with the headers, and no credential in it', async () => {
    received = [];
    const res = await runCli(failingBackup, await hookEnv());
    assert.equal(res.code, 1, res.stderr);
    assert.equal(received.length, 1);
    const r = received[0] as Received;
    assert.equal(r.path, `/${PATH_SECRET}`);
    assert.equal(r.headers.authorization, `Bearer ${TOKEN}`);
    assert.equal(r.headers['content-type'], 'application/json');
    const event = JSON.parse(r.body) as Record<string, unknown>;
    assert.equal(event.source, 'stackbackup');
    assert.equal(event.kind, 'backup_failed');
    assert.equal(event.store, 'stackgraph');
    assert.equal(event.target, 'stackgraph');
    assert.equal(event.exitCode, 1);
    assert.match(String(event.message), /does not exist/);
    assert.match(String(event.runbook), /status\.sh/);
    assert.ok(!r.body.includes(TOKEN) && !r.body.includes(PATH_SECRET), 'no credential in the payload');
    assert.ok(!res.stderr.includes(TOKEN) && !res.stderr.includes(PATH_SECRET), 'no credential in the output');
  });

  it('a failed restore drill sends a drill_failed event', async () => {
    received = [];
    const drill = [
      'stackgraph',
      'drill',
      '--import-command',
      '["true","{scratch}"]',
      '--count-command',
      '["echo","{scratch}"]',
      '--scratch-dir',
      work,
    ];
    const res = await runCli(drill, await hookEnv());
    assert.equal(res.code, 3, res.stderr);
    assert.equal(received.length, 1);
    const event = JSON.parse(received[0]?.body ?? '{}') as Record<string, unknown>;
    assert.equal(event.kind, 'drill_failed');
    assert.equal(event.store, 'stackgraph');
    assert.match(String(event.message), /holds no complete StackGraph backup to drill/);
    assert.match(String(event.runbook), /drill Job logs/);
  });

  it('Slack-compatible format: {text}', async () => {
    received = [];
    const res = await runCli(failingBackup, await hookEnv('slack'));
    assert.equal(res.code, 1);
    const body = JSON.parse(received[0]?.body ?? '{}') as { text?: string };
    assert.deepEqual(Object.keys(body), ['text']);
    assert.match(body.text ?? '', /^\*Backup failed\*: stackgraph\/stackgraph\n/);
  });

  it("retries 5xx answers a bounded number of times; the exit code stays the backup's", async () => {
    received = [];
    answers = [503, 502];
    const ok = await runCli(failingBackup, await hookEnv());
    assert.equal(ok.code, 1);
    assert.equal(received.length, 3, 'two retries, then delivered');
    received = [];
    answers = [500, 500, 500, 500, 500];
    const lost = await runCli(failingBackup, await hookEnv());
    assert.equal(lost.code, 1);
    assert.equal(received.length, 3, 'three attempts at most');
    assert.match(lost.stderr, /notification backup_failed was not delivered/);
    assert.ok(!lost.stderr.includes(PATH_SECRET));
    answers = [];
  });

  it('a usage error sends nothing (nothing ran); a bad format is refused', async () => {
    received = [];
    const res = await runCli(['stackgraph', 'backup', '--bucket', ''], await hookEnv());
    assert.equal(res.code, 2);
    assert.equal(received.length, 0);
    const bad = await runCli(failingBackup, await hookEnv('teams'));
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /STACKBACKUP_WEBHOOK_FORMAT must be "json" or "slack"/);
  });

  it('the exporter sends target_stale for a stale target', async () => {
    received = [];
    const taken = DateTime.utc().minus({ days: 4 });
    const name = `sts-backup-${taken.toFormat('yyyyMMdd-HHmm')}.graph`;
    await writeFile(join(work, name), 'export');
    const env = await hookEnv();
    assert.equal(
      (await runCli(['storage', 'upload', '--bucket', 'sts-stackgraph-backup', join(work, name), name], env)).code,
      0,
    );
    const targets = join(work, 'targets.json');
    await writeFile(
      targets,
      JSON.stringify({
        targets: [
          {
            store: 'stackgraph',
            target: 'stackgraph',
            list: { bucket: 'sts-stackgraph-backup' },
            schedule: '0 3 * * *',
          },
        ],
      }),
    );
    const port = await freePort();
    const child = spawnCli(
      ['metrics', 'serve', '--targets', targets, '--listen', '127.0.0.1', '--port', String(port)],
      env,
    );
    try {
      for (let i = 0; i < 100 && received.length === 0; i++) await new Promise((r) => setTimeout(r, 100));
      assert.equal(received.length, 1);
      const event = JSON.parse(received[0]?.body ?? '{}') as Record<string, unknown>;
      assert.equal(event.kind, 'target_stale');
      assert.equal(event.target, 'stackgraph');
      assert.equal(event.subject, name);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('close', r));
    }
  });
});
