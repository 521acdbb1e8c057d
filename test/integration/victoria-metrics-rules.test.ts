/**
 * The Victoria Metrics rules that decide what happens to data, checked directly: which version a
 * backup goes to (volume marker and folder identity), which versions retention keeps (daily and
 * weekly tiers, the version in use), how vmbackup is called (no credential on its command line), and
 * how its summary lines are read. Real files on disk for the volume rules.
 */
import assert from 'node:assert/strict';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DateTime, Duration } from 'luxon';
import { Readable } from 'node:stream';
import {
  parseVictoriaMetricsKey,
  victoriaMetricsCompleteKey,
  victoriaMetricsRemoteUrl,
} from '../../src/storage/layout.js';
import { openStore } from '../../src/storage/open.js';
import { confirmCompletion } from '../../src/stores/victoria-metrics/backup.js';
import { planVersionRetention, type TierPolicy } from '../../src/stores/victoria-metrics/retention.js';
import type { VersionInfo } from '../../src/stores/victoria-metrics/versions.js';
import {
  decideVersion,
  folderIdentities,
  readMarker,
  restoredMarker,
  writeMarker,
} from '../../src/stores/victoria-metrics/volume.js';
import {
  parseBackupSummary,
  parseRestoreSummary,
  remoteAccess,
  vmbackupArgs,
} from '../../src/stores/victoria-metrics/vmtools.js';
import { validateBackup, validateRestore } from '../../src/stores/victoria-metrics/index.js';
import { tempDir } from '../servers/harness.js';

const I = 'victoria-metrics-0';
const NOW = DateTime.fromISO('2026-03-18T10:30:00Z', { zone: 'utc' }); // a Wednesday

function version(started: string, completed: string | undefined): VersionInfo {
  const startedAt = DateTime.fromISO(started, { zone: 'utc' });
  const completedAt = completed === undefined ? undefined : DateTime.fromISO(completed, { zone: 'utc' });
  return {
    instance: I,
    version: `${I}-${startedAt.toFormat('yyyyMMddHHmmss')}`,
    startedAt,
    complete: completedAt !== undefined,
    completedAt,
    lastWrite: completedAt ?? startedAt,
    objects: 10,
    bytes: 1000,
  };
}
const policy = (keepDaily: number, keepWeekly: number): TierPolicy => ({
  keepDaily,
  keepWeekly,
  incompleteGrace: Duration.fromObject({ hours: 24 }),
});

describe('retention of versions: daily and weekly tiers', () => {
  const versions = [
    version('2026-01-01T00:00:00Z', '2026-01-20T08:00:00Z'), // week 4 of January: too old
    version('2026-01-21T00:00:00Z', '2026-03-02T09:00:00Z'), // week 10
    version('2026-03-02T10:00:00Z', '2026-03-04T09:00:00Z'), // week 10, completed later: the week's newest
    version('2026-03-04T10:00:00Z', '2026-03-12T23:00:00Z'), // week 11
    version('2026-03-13T00:00:00Z', '2026-03-16T12:00:00Z'), // completed Monday 03-16: within the last 3 days (16, 17, 18)
    version('2026-03-16T13:00:00Z', '2026-03-17T12:00:00Z'), // yesterday, before a wipe
    version('2026-03-17T13:00:00Z', '2026-03-18T10:25:00Z'), // today: the newest, in use
  ];
  it('keeps every version completed in the last N days, the newest of each of the last M weeks, deletes the rest', () => {
    const plan = planVersionRetention(versions, policy(3, 3), new Set(), NOW);
    const byVersion = new Map(plan.map((d) => [d.version.slice(-14, -6), d]));
    assert.equal(plan.length, 7);
    assert.match(byVersion.get('20260317')?.reason ?? '', /^in use: newest version/);
    assert.equal(byVersion.get('20260316')?.action, 'keep');
    assert.match(plan.find((d) => d.version.endsWith('20260313000000'))?.reason ?? '', /^daily: completed 2026-03-16/);
    assert.match(
      plan.find((d) => d.version.endsWith('20260304100000'))?.reason ?? '',
      /^weekly: newest of week 2026-W11/,
    );
    assert.match(
      plan.find((d) => d.version.endsWith('20260302100000'))?.reason ?? '',
      /^weekly: newest of week 2026-W10/,
    );
    assert.equal(plan.find((d) => d.version.endsWith('20260121000000'))?.action, 'delete', 'not the newest of week 10');
    assert.equal(plan.find((d) => d.version.endsWith('20260101000000'))?.action, 'delete', 'beyond 3 weeks');
  });
  it('two versions completed on the same day (before and after a wipe) both survive the daily tier', () => {
    const plan = planVersionRetention(
      [
        version('2026-03-10T00:00:00Z', '2026-03-18T08:00:00Z'),
        version('2026-03-18T08:30:00Z', '2026-03-18T09:00:00Z'),
      ],
      policy(1, 0),
      new Set(),
      NOW,
    );
    assert.deepEqual(
      plan.map((d) => d.action),
      ['keep', 'keep'],
    );
  });
  it('with no tiers at all, only the version in use is kept: the newest, and the one the marker names', () => {
    const plan = planVersionRetention(versions, policy(0, 0), new Set([versions[2]?.version ?? '']), NOW);
    assert.deepEqual(
      plan.filter((d) => d.action === 'keep').map((d) => d.reason),
      ['in use: newest version, the next backup continues it', 'in use: the volume marker names it'],
    );
  });
  it('incomplete versions: kept while they may still be uploading, deleted after the grace period; the newest never', () => {
    const v = [
      version('2026-03-01T00:00:00Z', undefined),
      version('2026-03-18T09:00:00Z', undefined),
      version('2026-03-18T10:00:00Z', undefined),
    ];
    const plan = planVersionRetention(v, policy(7, 4), new Set(), NOW);
    assert.deepEqual(
      plan.map((d) => d.action),
      ['keep', 'keep', 'delete'],
    );
    assert.match(plan[0]?.reason ?? '', /in use: newest/);
    assert.match(plan[1]?.reason ?? '', /may still be running/);
    assert.match(plan[2]?.reason ?? '', /incomplete leftover/);
  });
});

describe('which version a backup goes to', () => {
  let dir: string;
  before(async () => {
    dir = await tempDir('vm-volume');
    await mkdir(join(dir, 'data'));
    await mkdir(join(dir, 'indexdb'));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it('no marker: a new version; the marker written then makes the next backup continue it', async () => {
    const first = decideVersion(I, await readMarker(dir), await folderIdentities(dir), NOW);
    assert.equal(first.newVersion, true);
    assert.equal(first.version, 'victoria-metrics-0-20260318103000');
    await writeMarker(dir, first.marker);
    const next = decideVersion(I, await readMarker(dir), await folderIdentities(dir), NOW.plus({ hours: 1 }));
    assert.equal(next.newVersion, false);
    assert.equal(next.version, first.version);
  });
  it('a marker of another instance, an unreadable marker, or a recreated data folder: a new version', async () => {
    const folders = await folderIdentities(dir);
    const state = await readMarker(dir);
    assert.equal(state.kind, 'ok');
    assert.match(
      decideVersion('victoria-metrics-1', state, folders, NOW).reason,
      /belongs to instance victoria-metrics-0/,
    );
    await rm(join(dir, 'indexdb'), { recursive: true });
    await writeFile(join(dir, 'placeholder'), 'takes the old inode, if any');
    await mkdir(join(dir, 'indexdb'));
    const after = decideVersion(I, state, await folderIdentities(dir), NOW);
    assert.equal(after.newVersion, true);
    assert.match(after.reason, /indexdb folder was deleted and created again/);
    await writeFile(join(dir, 'stackbackup-volume.json'), '{"format":1,');
    const broken = decideVersion(I, await readMarker(dir), await folderIdentities(dir), NOW);
    assert.equal(broken.newVersion, true);
    assert.match(broken.reason, /unreadable/);
  });
  it('after a restore: a new version whose parts are copied from the restored one', async () => {
    await writeMarker(dir, restoredMarker(I, 'victoria-metrics-0-20260101000000', await folderIdentities(dir), NOW));
    const d = decideVersion(I, await readMarker(dir), await folderIdentities(dir), NOW.plus({ minutes: 5 }));
    assert.equal(d.newVersion, true);
    assert.equal(d.originHint, 'victoria-metrics-0-20260101000000');
    assert.match(d.reason, /first backup after restoring victoria-metrics-0-20260101000000/);
  });
});

describe('vmbackup calls and names', () => {
  it('puts credentials only in the environment, never in the arguments', () => {
    const storage = {
      kind: 's3' as const,
      endpoint: new URL('http://minio:9000'),
      accessKey: 'AKIAEXAMPLE1',
      secretKey: 'verysecretkey123',
      region: 'us-east-1',
    };
    const access = remoteAccess(storage);
    const args = vmbackupArgs(
      {
        storageDataPath: '/storage',
        snapshotCreateUrl: 'http://vm:8428/snapshot/create',
        dst: 's3://b/victoria-metrics-0/v/',
      },
      access,
    );
    assert.ok(args.every((a) => !a.includes('verysecretkey123') && !a.includes('AKIAEXAMPLE1')));
    assert.ok(args.includes('-customS3Endpoint=http://minio:9000'));
    assert.equal(access.env.AWS_SECRET_ACCESS_KEY, 'verysecretkey123');
  });
  it('reads vmbackup and vmrestore summary lines', () => {
    const b = parseBackupSummary(
      'x\n2026-01-01T00:00:00Z info backup.go:171 backup from src fslocal "/s" to dst s3 "b" with origin fsnil is complete; backed up 1086 bytes in 0.017 seconds; deleted 5 bytes; server-side copied 7 bytes; uploaded 1079 bytes\n',
    );
    assert.deepEqual(b, { backedUpBytes: 1086, seconds: 0.017, deletedBytes: 5, copiedBytes: 7, uploadedBytes: 1079 });
    const r = parseRestoreSummary(
      'restore.go:194 restored 1086 bytes from backup in 0.005 seconds; deleted 35501 bytes; downloaded 12 bytes',
    );
    assert.deepEqual(r, { restoredBytes: 1086, seconds: 0.005, deletedBytes: 35501, downloadedBytes: 12 });
    assert.equal(parseBackupSummary('no summary'), undefined);
  });
  it('a finished vmbackup is complete by its summary line; without one, only when its marker is in the bucket', async () => {
    const root = await tempDir('vm-complete');
    try {
      const store = openStore({ kind: 'filesystem', root }, 'vm-backups');
      await store.createBucket();
      const version = `${I}-20260318100000`;
      const stat = () => store.stat(victoriaMetricsCompleteKey(I, version));
      const line =
        'backup.go:171 backup from src fslocal "/s" to dst fsremote "/d" with origin fsnil is complete; backed up 10 bytes in 0.1 seconds; deleted 0 bytes; server-side copied 0 bytes; uploaded 10 bytes';
      const byLine = await confirmCompletion(`x\n${line}`, stat, () => NOW);
      assert.deepEqual(byLine, {
        summary: { backedUpBytes: 10, seconds: 0.1, deletedBytes: 0, copiedBytes: 0, uploadedBytes: 10 },
        at: NOW.toISO(),
      });
      // No summary line (a vmbackup that words it differently) and no marker: not complete.
      assert.equal(await confirmCompletion('finished', stat, () => NOW), undefined);
      await store.put(victoriaMetricsCompleteKey(I, version), Readable.from([Buffer.alloc(0)]));
      const marker = await stat();
      const byMarker = await confirmCompletion('finished', stat, () => NOW);
      assert.equal(byMarker?.at, marker?.lastModified.toISOString());
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
  it('names: remote URLs and keys parse back', () => {
    assert.equal(
      victoriaMetricsRemoteUrl({ kind: 's3' }, 'b', I, `${I}-20260101000000`),
      `s3://b/${I}/${I}-20260101000000/`,
    );
    assert.equal(
      victoriaMetricsRemoteUrl({ kind: 'filesystem', root: '/srv/backups/' }, 'b', I, `${I}-20260101000000`),
      `fs:///srv/backups/b/${I}/${I}-20260101000000/`,
    );
    const k = parseVictoriaMetricsKey(`${I}/${I}-20260101000000/data/small/x`);
    assert.equal(k?.version, `${I}-20260101000000`);
    assert.equal(k?.path, 'data/small/x');
    assert.equal(parseVictoriaMetricsKey(`${I}/victoria-metrics-1-20260101000000/x`), undefined);
  });
  it('validation refuses unsafe names, foreign versions and relative paths before anything runs', () => {
    assert.throws(
      () => validateRestore({ instance: I, version: 'victoria-metrics-1-20260101000000', storageDataPath: '/s' }),
      /is not a version of victoria-metrics-0/,
    );
    assert.throws(
      () => validateRestore({ instance: 'vm;rm -rf', version: 'x', storageDataPath: '/s' }),
      /invalid Kubernetes name/,
    );
    assert.throws(
      () => validateBackup({ instance: I, url: 'http://u:p@vm:8428', storageDataPath: '/s' }),
      /must not carry credentials/,
    );
    assert.throws(
      () => validateBackup({ instance: I, url: 'http://vm:8428', storageDataPath: 'storage' }),
      /absolute path/,
    );
    assert.throws(
      () => validateBackup({ instance: I, url: 'http://vm:8428', storageDataPath: '/s', keepDaily: -1 }),
      /--keep-daily/,
    );
  });
});
