/**
 * `stackbackup status` and `stackbackup metrics serve` on the filesystem backend, with only some stores
 * enabled: the state comes from what is in the bucket, "stale" from the schedule's interval, a missing
 * bucket is "failing" with its reason; the exporter's /metrics passes `promtool check metrics`.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DateTime } from 'luxon';
import { after, before, describe, it } from 'node:test';
import { freePort, tempDir, toolPath } from '../servers/harness.js';
import { runCli, spawnCli } from '../support/cli.js';
import type { StatusReport } from '../../src/health/status.js';

let root: string;
let work: string;
const env = (): Record<string, string> => ({ STACKBACKUP_FS_ROOT: root });
const SECRET_LIKE = 'sb-not-a-real-password-1234';

async function backupAt(bucket: string, takenAt: DateTime): Promise<void> {
  const name = `sts-backup-${takenAt.toUTC().toFormat('yyyyMMdd-HHmm')}.graph`;
  const file = join(work, name);
  await writeFile(file, `export of ${name}`);
  const up = await runCli(['storage', 'upload', '--bucket', bucket, file, name], env());
  assert.equal(up.code, 0, up.stderr);
}

async function targetsFile(name: string, targets: unknown[]): Promise<string> {
  const file = join(work, name);
  await writeFile(file, JSON.stringify({ targets }));
  return file;
}

before(async () => {
  root = await tempDir('health-fs');
  work = await tempDir('health-work');
  const init = await runCli(
    ['storage', 'init', '--bucket', 'sts-stackgraph-backup', '--bucket', 'sts-victoria-metrics-backup'],
    env(),
  );
  assert.equal(init.code, 0, init.stderr);
  // StackGraph: the newest complete backup is 3 days old.
  await backupAt('sts-stackgraph-backup', DateTime.utc().minus({ days: 5 }));
  await backupAt('sts-stackgraph-backup', DateTime.utc().minus({ days: 3 }));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
  await rm(work, { recursive: true, force: true });
});

describe('stackbackup status on the filesystem backend', () => {
  it('ok, stale (twice the cron interval), never and failing, with exit 1 when any is not ok', async () => {
    const daily = await targetsFile('daily.json', [
      { store: 'stackgraph', target: 'stackgraph', list: { bucket: 'sts-stackgraph-backup' }, schedule: '0 3 * * *' },
      {
        store: 'victoria-metrics',
        target: 'victoria-metrics-0',
        list: { bucket: 'sts-victoria-metrics-backup', instance: 'victoria-metrics-0' },
        schedule: '25 * * * *',
      },
      {
        store: 'victoria-metrics',
        target: 'victoria-metrics-1',
        list: { bucket: 'sts-missing-bucket', instance: 'victoria-metrics-1' },
        schedule: '35 * * * *',
      },
    ]);
    const res = await runCli(['status', '--targets', daily, '--json'], env());
    assert.equal(res.code, 1, res.stderr);
    const report = JSON.parse(res.stdout) as StatusReport;
    const byTarget = Object.fromEntries(report.targets.map((t) => [t.target, t]));
    assert.equal(report.ok, false);
    assert.equal(byTarget.stackgraph?.state, 'stale');
    assert.equal(byTarget.stackgraph?.backups, 2);
    assert.equal(byTarget.stackgraph?.intervalSeconds, 86400);
    assert.match(byTarget.stackgraph?.newest?.name ?? '', /^sts-backup-\d{8}-\d{4}\.graph$/);
    assert.ok((byTarget.stackgraph?.newest?.ageSeconds ?? 0) > 2 * 86400);
    assert.equal(byTarget['victoria-metrics-0']?.state, 'never');
    assert.equal(byTarget['victoria-metrics-1']?.state, 'failing');
    assert.equal(byTarget['victoria-metrics-1']?.error?.kind, 'bucket_missing');
    assert.match(res.stderr, /3 of 3 backup targets are not ok/);

    // --log-format json: every stderr line is one JSON object.
    const logged = await runCli(['status', '--targets', daily, '--log-format', 'json'], env());
    assert.equal(logged.code, 1);
    const lines = logged.stderr.trim().split('\n');
    for (const line of lines) assert.ok(typeof (JSON.parse(line) as { msg: string }).msg === 'string', line);
    assert.match(lines[lines.length - 1] ?? '', /"level":"error".*3 of 3 backup targets are not ok/);
    for (const bad of [
      ['--log-format', ''],
      ['--log-format', 'xml'],
    ]) {
      const r = await runCli(['status', '--targets', daily, ...bad], env());
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /--log-format/);
    }
    const fromEnv = await runCli(['status', '--targets', daily], { ...env(), STACKBACKUP_LOG_FORMAT: 'json' });
    assert.match(fromEnv.stderr.trim(), /^\{"time":/);

    // A monthly schedule: 3 days is well within twice its interval.
    const monthly = await targetsFile('monthly.json', [
      { store: 'stackgraph', target: 'stackgraph', list: { bucket: 'sts-stackgraph-backup' }, schedule: '0 3 1 * *' },
    ]);
    const ok = await runCli(['status', '--targets', monthly], env());
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(
      ok.stdout,
      /^TARGET\s+STATE\s+NEWEST\s+AGE\s+SIZE\s+KEPT\s+INCOMPLETE\s+LAST RUN\s+NEXT RUN\s+LAST DRILL$/m,
    );
    assert.match(ok.stdout, /^stackgraph\/stackgraph\s+ok\s+sts-backup-/m);

    const paused = await targetsFile('paused.json', [
      { store: 'stackgraph', target: 'stackgraph', list: { bucket: 'sts-stackgraph-backup' }, paused: true },
    ]);
    const p = JSON.parse((await runCli(['status', '--targets', paused, '--json'], env())).stdout) as StatusReport;
    assert.equal(p.targets[0]?.state, 'paused');
    assert.equal(p.targets[0]?.nextRun, null);
  });

  it('refuses a bad targets file with exit 2', async () => {
    for (const [targets, why] of [
      [[{ store: 'mysql', target: 'x' }], /store "mysql" is not one of/],
      [[{ store: 'stackgraph', target: ' ' }], /target must be a non-empty string/],
      [[{ store: 'stackgraph', target: 'stackgraph', list: { bucket: '' } }], /list\.bucket is empty/],
      [[{ store: 'stackgraph', target: 'stackgraph', schedule: '0 3 * *' }], /schedule "0 3 \* \*" has 4 fields/],
      [[], /no targets/],
    ] as const) {
      const file = await targetsFile('bad.json', [...targets]);
      const res = await runCli(['status', '--targets', file], env());
      assert.equal(res.code, 2, res.stderr);
      assert.match(res.stderr, why);
    }
    const missing = await runCli(['status', '--targets', join(work, 'nothing.json')], env());
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /cannot read the targets file/);
    const blank = await runCli(['status', '--targets', ''], env());
    assert.equal(blank.code, 2);
  });
});

describe('stackbackup metrics serve on the filesystem backend', () => {
  it('serves every target, the never-succeeded one included, in a format promtool accepts', async () => {
    const promtool = toolPath('promtool', 'promtool');
    const file = await targetsFile('metrics.json', [
      { store: 'stackgraph', target: 'stackgraph', list: { bucket: 'sts-stackgraph-backup' }, schedule: '0 3 * * *' },
      {
        store: 'victoria-metrics',
        target: 'victoria-metrics-0',
        list: { bucket: 'sts-victoria-metrics-backup', instance: 'victoria-metrics-0' },
        schedule: '25 * * * *',
      },
    ]);
    const port = await freePort();
    const child = spawnCli(
      ['metrics', 'serve', '--targets', file, '--listen', '127.0.0.1', '--port', String(port), '--interval', '10'],
      { ...env(), STACKBACKUP_S3_SECRET_KEY: SECRET_LIKE },
    );
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    try {
      let body = '';
      for (let i = 0; i < 100 && body === ''; i++) {
        try {
          const res = await fetch(`http://127.0.0.1:${port}/metrics`);
          assert.equal(res.status, 200);
          assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
          body = await res.text();
        } catch {
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      assert.notEqual(body, '', `the exporter answered: ${stderr}`);
      assert.match(body, /^stackbackup_last_success_timestamp_seconds\{store="stackgraph",target="stackgraph"\} \d+$/m);
      assert.match(
        body,
        /^stackbackup_last_success_timestamp_seconds\{store="victoria-metrics",target="victoria-metrics-0"\} 0$/m,
      );
      assert.match(body, /^stackbackup_target_state\{store="stackgraph",target="stackgraph",state="stale"\} 1$/m);
      assert.match(
        body,
        /^stackbackup_target_state\{store="victoria-metrics",target="victoria-metrics-0",state="never"\} 1$/m,
      );
      assert.match(body, /^stackbackup_backups\{store="stackgraph",target="stackgraph",state="complete"\} 2$/m);
      assert.match(body, /^stackbackup_schedule_interval_seconds\{store="stackgraph",target="stackgraph"\} 86400$/m);
      assert.match(body, /^stackbackup_status\{state="stale"\} 1$/m);
      assert.ok(!body.includes(SECRET_LIKE));
      const check = await new Promise<{ code: number | null; out: string }>((resolve) => {
        const p = execFile(promtool, ['check', 'metrics'], (err, stdout, stderr2) =>
          resolve({ code: err === null ? 0 : ((err as { code?: number }).code ?? 1), out: stdout + stderr2 }),
        );
        p.stdin?.end(body);
      });
      assert.equal(check.code, 0, `promtool check metrics:\n${check.out}`);
      assert.equal(check.out.trim(), '', `promtool check metrics has no complaints:\n${check.out}`);
      const notFound = await fetch(`http://127.0.0.1:${port}/other`);
      assert.equal(notFound.status, 404);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('close', r));
    }
    assert.ok(!stderr.includes(SECRET_LIKE));
  });

  it('refuses bad options with exit 2 before listening', async () => {
    const file = await targetsFile('m.json', [{ store: 'stackgraph', target: 'stackgraph' }]);
    for (const args of [
      ['--port', '70000'],
      ['--interval', '1'],
      ['--listen', 'x;y'],
      ['--port', ''],
    ]) {
      const res = await runCli(['metrics', 'serve', '--targets', file, ...args], env());
      assert.equal(res.code, 2, `${args.join(' ')}: ${res.stderr}`);
    }
  });
});
