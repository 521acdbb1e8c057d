/**
 * StackGraph restore drills against the real stand-in store (sts-graph-standin) and the real filesystem
 * backend: the backup's record (element count), the shrink flag, a good backup passing its drill, a
 * corrupted one failing with the reason, the live store unchanged (by digest), no scratch space; the
 * newest drill in status and the metrics.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { DateTime } from 'luxon';
import { statusText } from '../../src/cli/health.js';
import { renderMetrics } from '../../src/health/metrics.js';
import { collectStatus } from '../../src/health/status.js';
import { parseTargets } from '../../src/health/targets.js';
import { openStore } from '../../src/storage/open.js';
import { readBackupRecord, readLatestDrill } from '../../src/stores/records.js';
import {
  runBackup,
  runDrill,
  runList,
  validateBackup,
  validateDrill,
  validateList,
} from '../../src/stores/stackgraph/index.js';
import type { StoreContext } from '../../src/stores/types.js';
import { ExitCode, StackbackupError } from '../../src/util/errors.js';
import { setLogSink } from '../../src/util/log.js';
import { tempDir, toolPath } from '../servers/harness.js';

const STANDIN = toolPath('sts-graph-standin', 'stackgraph-standin');
const COUNTERS = { refreshes: 1, failures: 0, lastRefreshSeconds: 0, lastRefreshDurationSeconds: 0 };
let work: string;
let buckets = 0;
const logs: string[] = [];

before(async () => {
  work = await tempDir('stackgraph-drill');
  setLogSink((l) => logs.push(l));
});
after(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

const ctx = (iso: string): StoreContext => ({
  storage: { kind: 'filesystem', root: join(work, 'storage') },
  now: () => DateTime.fromISO(iso, { zone: 'utc' }),
});
const standin = (db: string, ...args: string[]) =>
  execFileSync(STANDIN, ['-db', db, ...args], { encoding: 'utf8' }).trim();

async function setup(seed: number): Promise<{ bucket: string; db: string; scratch: string }> {
  const bucket = `sg-drill-${++buckets}`;
  const dir = join(work, bucket);
  const scratch = join(dir, 'scratch');
  await mkdir(scratch, { recursive: true });
  const db = join(dir, 'graph.db');
  standin(db, '-seed', String(seed), '-payload', '128');
  return { bucket, db, scratch };
}

async function backup(bucket: string, db: string, iso: string, workDir: string) {
  return runBackup(
    validateBackup({
      bucket,
      exportCommand: JSON.stringify([STANDIN, '-db', db, '-export']),
      countCommand: JSON.stringify([STANDIN, '-db', db, '-count']),
      workDir,
    }),
    ctx(iso),
  );
}

const drillOptions = (bucket: string, scratchDir: string) =>
  validateDrill({
    bucket,
    importCommand: JSON.stringify([STANDIN, '-db', '{scratch}/graph.db', '-import', '{file}']),
    countCommand: JSON.stringify([STANDIN, '-db', '{scratch}/graph.db', '-count']),
    scratchDir,
  });

describe('stackgraph drill', () => {
  it('records the element count, passes on a good backup, leaves live StackGraph and scratch space as they were', async () => {
    const { bucket, db, scratch } = await setup(300);
    const liveDigest = standin(db, '-digest');
    const result = await backup(bucket, db, '2026-01-01T03:00:00Z', join(work, bucket));
    assert.deepEqual(result.record.counts.elements, { value: 599 });
    assert.equal(result.record.shrunk, null);
    const store = openStore(ctx('2026-01-01T03:00:00Z').storage, bucket);
    assert.deepEqual((await readBackupRecord(store, 'stackgraph', result.name))?.counts.elements, { value: 599 });

    const drill = await runDrill(drillOptions(bucket, scratch), ctx('2026-01-02T05:00:00Z'));
    assert.equal(drill.outcome, 'passed');
    assert.equal(drill.backup, result.name);
    assert.deepEqual(
      drill.checks.find((c) => c.name === 'elements'),
      { name: 'elements', expected: 599, found: 599, ok: true },
    );
    assert.equal(drill.bytes, result.size);
    assert.ok(drill.restoreSeconds > 0);
    assert.equal(standin(db, '-digest'), liveDigest, 'the live store is unchanged');
    assert.deepEqual(await readdir(scratch), [], 'the scratch instance is removed');
    assert.deepEqual(await readLatestDrill(store, 'stackgraph'), drill);
  });

  it('flags a backup much smaller than the previous one and list shows it; it is kept', async () => {
    const { bucket, db } = await setup(400);
    await backup(bucket, db, '2026-01-01T03:00:00Z', join(work, bucket));
    execFileSync('sqlite3', [db, 'DELETE FROM edges; DELETE FROM vertices WHERE id > 50;'], { stdio: 'ignore' });
    const small = await backup(bucket, db, '2026-01-02T03:00:00Z', join(work, bucket));
    assert.match(
      small.record.shrunk ?? '',
      /^50 elements, under 50 % of the 799 of the previous backup sts-backup-20260101-0300\.graph$/,
    );
    assert.ok(
      logs.some((l) => l.startsWith('WARNING: backup sts-backup-20260102-0300.graph of stackgraph is much smaller')),
    );
    const list = await runList(validateList({ bucket }), ctx('2026-01-02T04:00:00Z'));
    assert.deepEqual(
      list.backups.map((b) => [b.name, b.shrunk === null]),
      [
        ['sts-backup-20260102-0300.graph', false],
        ['sts-backup-20260101-0300.graph', true],
      ],
    );
  });

  it('fails on a corrupted backup with the reason, keeps the failed result, and cleans up', async () => {
    const { bucket, db, scratch } = await setup(200);
    const result = await backup(bucket, db, '2026-01-01T03:00:00Z', join(work, bucket));
    const store = openStore(ctx('2026-01-01T03:00:00Z').storage, bucket);
    await store.put(result.name, Readable.from([Buffer.from('not a graph, truncated')]));
    await assert.rejects(runDrill(drillOptions(bucket, scratch), ctx('2026-01-02T05:00:00Z')), (err: unknown) => {
      assert.ok(err instanceof StackbackupError);
      assert.equal(err.exitCode, ExitCode.integrity);
      assert.match(err.message, /^the drill of sts-backup-20260101-0300\.graph failed: .* is corrupt: its SHA-256 is/);
      return true;
    });
    const kept = await readLatestDrill(store, 'stackgraph');
    assert.equal(kept?.outcome, 'failed');
    assert.match(kept?.reason ?? '', /is corrupt/);
    assert.deepEqual(await readdir(scratch), []);
  });

  it('status and the metrics show the newest drill of the target: a failed one with its reason', async () => {
    const { bucket, db, scratch } = await setup(80);
    const result = await backup(bucket, db, '2026-01-01T03:00:00Z', join(work, bucket));
    const targets = parseTargets(
      { targets: [{ store: 'stackgraph', target: 'stackgraph', list: { bucket } }] },
      'test',
    );
    const never = await collectStatus(targets, { ctx: ctx('2026-01-01T04:00:00Z'), kube: undefined });
    assert.equal(never.targets[0]?.drill, null, 'never drilled: no drill, and no drill series');
    assert.doesNotMatch(renderMetrics(never, COUNTERS), /stackbackup_last_drill/);

    await runDrill(drillOptions(bucket, scratch), ctx('2026-01-01T05:00:00Z'));
    const store = openStore(ctx('2026-01-01T05:00:00Z').storage, bucket);
    await store.put(result.name, Readable.from([Buffer.from('cut off')]));
    await assert.rejects(runDrill(drillOptions(bucket, scratch), ctx('2026-01-01T06:00:00Z')));
    const report = await collectStatus(targets, { ctx: ctx('2026-01-01T07:00:00Z'), kube: undefined });
    const drill = report.targets[0]?.drill;
    assert.equal(drill?.outcome, 'failed', 'the newest of the two drills');
    assert.equal(drill?.backup, result.name);
    assert.equal(drill?.startedAt, '2026-01-01T06:00:00.000Z');
    assert.equal(drill?.ageSeconds, 3600);
    assert.match(drill?.reason ?? '', /is corrupt/);
    const metrics = renderMetrics(report, COUNTERS);
    assert.match(metrics, /^stackbackup_last_drill_success\{store="stackgraph",target="stackgraph"\} 0$/m);
    assert.match(
      metrics,
      /^stackbackup_last_drill_timestamp_seconds\{store="stackgraph",target="stackgraph"\} 1767247200$/m,
    );
    const text = statusText(report);
    assert.match(text, /LAST DRILL/);
    assert.match(text, /failed 2026-01-01 06:00/);
    assert.match(
      text,
      /stackgraph\/stackgraph: the last drill \(of sts-backup-20260101-0300\.graph\) failed: .*is corrupt/,
    );
  });

  it('fails clearly without scratch space and leaves nothing behind', async () => {
    const { bucket, db } = await setup(50);
    await backup(bucket, db, '2026-01-01T03:00:00Z', join(work, bucket));
    const missing = join(work, bucket, 'no-such-folder');
    await assert.rejects(runDrill(drillOptions(bucket, missing), ctx('2026-01-02T05:00:00Z')), /drill scratch folder/);
    const store = openStore(ctx('2026-01-01T03:00:00Z').storage, bucket);
    assert.equal(await readLatestDrill(store, 'stackgraph'), undefined);
  });

  it('refuses drill commands that do not name the scratch instance', () => {
    assert.throws(
      () => validateDrill({ importCommand: `${STANDIN} -import`, countCommand: `${STANDIN} -count` }),
      /do not name the scratch instance/,
    );
  });
});
