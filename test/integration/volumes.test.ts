/**
 * Volume backups with the real restic against a real MinIO: two claims (folders), backed up, changed
 * and backed up again; deduplication (an unchanged re-backup grows the repository by under 1 %);
 * retention per claim; byte-identical restores with modes and mtimes, into the same or another claim;
 * `latest` and snapshot IDs never crossing claims; non-empty targets; a wrong password; and the plain
 * restic CLI reading the same repository with the tags. No credential shows up in any output.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createHash } from 'node:crypto';
import { chmod, lstat, mkdir, readFile, readdir, readlink, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DateTime } from 'luxon';
import type { S3Config } from '../../src/config/storage.js';
import { openStore } from '../../src/storage/open.js';
import type { StoreContext } from '../../src/stores/types.js';
import {
  runBackup,
  runList,
  runPrune,
  runRestore,
  runCheck,
  validateBackup,
  validateCheck,
  validateList,
  validatePrune,
  validateRestore,
  type BackupResult,
} from '../../src/stores/volumes/index.js';
import { ExitCode, StackbackupError } from '../../src/util/errors.js';
import { setLogSink } from '../../src/util/log.js';
import { TOOLS_DIR, tempDir } from '../servers/harness.js';
import { type MinioServer, minioStorage, startMinio } from '../servers/minio.js';
import { runCli } from '../support/cli.js';
import { writeRandomFile } from '../support/files.js';
import type { BackupList } from '../../src/stores/types.js';

const BUCKET = 'volume-test';
const PASSWORD = 'correct-horse-battery-staple-42';

let minio: MinioServer;
let work: string;
let storage: S3Config;
let passwordFile: string;
const logs: string[] = [];
let restoreSink: (() => void) | undefined;

function ctxAt(at: DateTime): StoreContext {
  return { storage, now: () => at };
}
const T0 = DateTime.fromISO('2024-03-01T03:00:00Z', { zone: 'utc' });

function repo(prefix = 'volumes'): Record<string, unknown> {
  return { bucket: BUCKET, prefix, passwordFile, host: 'test-ns' };
}

async function backup(
  claim: string,
  path: string,
  at: DateTime,
  extra: Record<string, unknown> = {},
): Promise<BackupResult> {
  return runBackup(
    validateBackup({ ...repo(), claim, path, keepLast: 100, keepDaily: 0, keepWeekly: 0, keepMonthly: 0, ...extra }),
    ctxAt(at),
  );
}

async function repositorySize(prefix = 'volumes/'): Promise<number> {
  const objects = await openStore(storage, BUCKET).list(prefix);
  return objects.reduce((sum, o) => sum + o.size, 0);
}

interface Entry {
  type: 'file' | 'dir' | 'link';
  mode: number;
  mtimeNs: bigint;
  sha256?: string;
  target?: string;
}

/** Every entry under root: type, mode, mtime (ns) and content hash or link target. */
async function tree(root: string): Promise<Map<string, Entry>> {
  const out = new Map<string, Entry>();
  const walk = async (dir: string, rel: string): Promise<void> => {
    for (const name of (await readdir(dir)).sort()) {
      if (name === 'lost+found') continue;
      const full = join(dir, name);
      const path = rel === '' ? name : `${rel}/${name}`;
      const st = await lstat(full, { bigint: true });
      const mode = Number(st.mode & 0o7777n);
      if (st.isSymbolicLink()) out.set(path, { type: 'link', mode: 0, mtimeNs: 0n, target: await readlink(full) });
      else if (st.isDirectory()) {
        await walk(full, path);
        out.set(path, { type: 'dir', mode, mtimeNs: st.mtimeNs });
      } else
        out.set(path, {
          type: 'file',
          mode,
          mtimeNs: st.mtimeNs,
          sha256: createHash('sha256')
            .update(await readFile(full))
            .digest('hex'),
        });
    }
  };
  await walk(root, '');
  return out;
}

/** A claim's folder: a large random file, small files, a sub-folder, odd modes, a symlink, old mtimes. */
async function makeClaim(dir: string, seed: string): Promise<void> {
  await mkdir(join(dir, 'notebooks', 'data'), { recursive: true });
  await writeRandomFile(join(dir, 'notebooks', 'data', 'big.bin'), 6 * 1024 * 1024);
  for (let i = 0; i < 40; i += 1)
    await writeFile(join(dir, 'notebooks', `nb-${i}.ipynb`), `{"cells": ["${seed} ${i}"]}\n`);
  await writeFile(join(dir, 'private.key'), `${seed} private\n`);
  await chmod(join(dir, 'private.key'), 0o600);
  await writeFile(join(dir, 'run.sh'), '#!/bin/sh\necho hi\n');
  await chmod(join(dir, 'run.sh'), 0o750);
  await symlink('notebooks/nb-1.ipynb', join(dir, 'latest.ipynb'));
  await utimes(join(dir, 'private.key'), new Date('2020-01-02T03:04:05.678Z'), new Date('2020-01-02T03:04:05.678Z'));
  await utimes(join(dir, 'notebooks'), new Date('2021-06-07T08:09:10Z'), new Date('2021-06-07T08:09:10Z'));
}

function plainRestic(
  args: string[],
  password = passwordFile,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      join(TOOLS_DIR, 'bin', 'restic'),
      ['-r', `s3:${minio.endpoint}/${BUCKET}/volumes`, ...args],
      {
        env: {
          PATH: process.env.PATH ?? '',
          HOME: work,
          AWS_ACCESS_KEY_ID: minio.accessKey,
          AWS_SECRET_ACCESS_KEY: minio.secretKey,
          RESTIC_PASSWORD_FILE: password,
        },
      },
      (err, stdout, stderr) =>
        resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr }),
    );
  });
}

let claimA: string;
let claimB: string;

before(async () => {
  process.env.PATH = `${join(TOOLS_DIR, 'bin')}:${process.env.PATH ?? ''}`;
  minio = await startMinio();
  work = await tempDir('volumes');
  process.env.RESTIC_CACHE_DIR = join(work, 'restic-cache');
  storage = minioStorage(minio);
  passwordFile = join(work, 'password');
  await writeFile(passwordFile, `${PASSWORD}\n`, { mode: 0o600 });
  claimA = join(work, 'claims', 'claim-alice');
  claimB = join(work, 'claims', 'claim-bob');
  await makeClaim(claimA, 'alice');
  await makeClaim(claimB, 'bob');
  const previous = setLogSink((line) => logs.push(line));
  restoreSink = () => setLogSink(previous);
});
after(async () => {
  restoreSink?.();
  await minio?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('volumes: restic backups of two claims into MinIO', () => {
  const first: Record<string, BackupResult> = {};
  let second: BackupResult;

  it('backs up two claims with claim and owner tags, creating the repository', async () => {
    first.alice = await backup('claim-alice', claimA, T0, { owner: 'alice' });
    first.bob = await backup('claim-bob', claimB, T0.plus({ minutes: 7 }), { owner: 'bob, the builder' });
    assert.deepEqual(first.alice.tags, ['claim=claim-alice', 'owner=alice']);
    assert.deepEqual(first.bob.tags, ['claim=claim-bob', 'owner=bob%2C%20the%20builder']);
    assert.equal(first.alice.filesNew, 43);
    assert.ok(first.alice.bytesProcessed > 6 * 1024 * 1024);
  });

  it('an unchanged re-backup grows the repository by under 1 %; a changed one stores only the change', async () => {
    const before = await repositorySize();
    const again = await backup('claim-alice', claimA, T0.plus({ hours: 1 }), { owner: 'alice' });
    const grown = (await repositorySize()) - before;
    const percent = (100 * grown) / before;
    process.stdout.write(
      `# unchanged re-backup of claim-alice: repository ${before} -> ${before + grown} bytes (+${grown} bytes, +${percent.toFixed(3)} %)\n`,
    );
    assert.ok(percent < 1, `grew by ${percent} %`);
    const recorded = JSON.parse((await plainRestic(['snapshots', '--json', again.snapshot])).stdout) as {
      parent?: string;
    }[];
    assert.equal(recorded[0]?.parent, first.alice?.snapshot, "restic compared against the claim's newest snapshot");
    assert.equal(again.filesUnmodified, 43);
    assert.equal(again.filesNew + again.filesChanged, 0);

    await writeFile(join(claimA, 'notebooks', 'nb-3.ipynb'), '{"cells": ["changed"]}\n');
    await writeFile(join(claimA, 'new-file.txt'), 'new\n');
    second = await backup('claim-alice', claimA, T0.plus({ hours: 2 }), { owner: 'alice' });
    assert.equal(second.filesNew, 1);
    assert.equal(second.filesChanged, 1);
    assert.ok(second.bytesAdded < 64 * 1024, `added ${second.bytesAdded} bytes for two small files`);
  });

  it('restores byte-identical files with their modes, mtimes and symlinks into an empty claim', async () => {
    const target = join(work, 'restore-1');
    await mkdir(join(target, 'lost+found'), { recursive: true });
    const r = await runRestore(
      validateRestore({ ...repo(), claim: 'claim-alice', snapshot: second.shortId, path: target }),
      ctxAt(T0),
    );
    assert.equal(r.snapshot, second.snapshot);
    assert.deepEqual(await tree(target), await tree(claimA));
  });

  it("latest resolves within the claim: claim-alice's newest, although claim-bob has a newer snapshot", async () => {
    const bobLater = await backup('claim-bob', claimB, T0.plus({ hours: 5 }));
    const target = join(work, 'restore-latest');
    await mkdir(target);
    const r = await runRestore(
      validateRestore({ ...repo(), claim: 'claim-alice', snapshot: 'latest', path: target }),
      ctxAt(T0),
    );
    assert.equal(r.snapshot, second.snapshot);
    assert.notEqual(r.snapshot, bobLater.snapshot);
    assert.equal(await readFile(join(target, 'private.key'), 'utf8'), 'alice private\n');
  });

  it("refuses an ID of another claim's snapshot, naming the claim it belongs to", async () => {
    const target = join(work, 'restore-cross');
    await mkdir(target);
    await assert.rejects(
      runRestore(
        validateRestore({ ...repo(), claim: 'claim-alice', snapshot: first.bob?.shortId, path: target }),
        ctxAt(T0),
      ),
      (err: unknown) =>
        err instanceof StackbackupError &&
        err.exitCode === ExitCode.notFound &&
        /belongs to claim claim-bob/.test(err.message),
    );
    assert.deepEqual(await readdir(target), []);
  });

  it("restores one claim's snapshot into another claim", async () => {
    const other = join(work, 'claims', 'claim-alice-copy');
    await mkdir(other, { recursive: true });
    const r = await runRestore(
      validateRestore({
        ...repo(),
        claim: 'claim-alice',
        snapshot: 'latest',
        path: other,
        targetClaim: 'claim-alice-copy',
      }),
      ctxAt(T0),
    );
    assert.equal(r.targetClaim, 'claim-alice-copy');
    assert.deepEqual(await tree(other), await tree(claimA));
  });

  it('refuses a non-empty target without -force; with -force the target holds exactly the snapshot', async () => {
    const target = join(work, 'restore-force');
    await mkdir(join(target, 'stale-dir'), { recursive: true });
    await writeFile(join(target, 'stale.txt'), 'not in the snapshot\n');
    await assert.rejects(
      runRestore(validateRestore({ ...repo(), claim: 'claim-bob', snapshot: 'latest', path: target }), ctxAt(T0)),
      (err: unknown) =>
        err instanceof StackbackupError && err.exitCode === ExitCode.conflict && /-force/.test(err.hint ?? ''),
    );
    assert.equal(await readFile(join(target, 'stale.txt'), 'utf8'), 'not in the snapshot\n', 'nothing was touched');
    const r = await runRestore(
      validateRestore({ ...repo(), claim: 'claim-bob', snapshot: 'latest', path: target, force: true }),
      ctxAt(T0),
    );
    assert.equal(r.removed, 2);
    assert.deepEqual(await tree(target), await tree(claimB));
  });

  it("lists every claim's snapshots newest first, or one claim's", async () => {
    const all = await runList(validateList(repo()), ctxAt(T0));
    assert.deepEqual(
      all.snapshots.map((s) => s.claim),
      ['claim-bob', 'claim-alice', 'claim-alice', 'claim-bob', 'claim-alice'],
    );
    const bob = await runList(validateList({ ...repo(), claim: 'claim-bob' }), ctxAt(T0));
    assert.deepEqual(
      bob.snapshots.map((s) => s.owner),
      [null, 'bob%2C%20the%20builder'],
    );
  });

  it('the plain restic CLI lists the snapshots with their tags', async () => {
    const r = await plainRestic(['snapshots', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const snaps = JSON.parse(r.stdout) as { tags: string[]; hostname: string; id: string }[];
    assert.equal(snaps.length, 5);
    assert.ok(snaps.every((s) => s.hostname === 'test-ns'));
    assert.deepEqual(
      snaps
        .filter((s) => s.tags.includes('claim=claim-alice'))
        .map((s) => s.id)
        .sort(),
      (await runList(validateList({ ...repo(), claim: 'claim-alice' }), ctxAt(T0))).snapshots.map((s) => s.id).sort(),
    );
    const table = await plainRestic(['snapshots', '--tag', 'claim=claim-alice']);
    assert.match(table.stdout, /claim=claim-alice,owner=alice/);
    assert.match(table.stdout, /3 snapshots/);
  });

  it('a wrong password gives a clear error (exit 5) and never prints the password', async () => {
    const wrong = join(work, 'wrong-password');
    await writeFile(wrong, 'not-the-password-at-all\n');
    await assert.rejects(
      runList(validateList({ ...repo(), passwordFile: wrong }), ctxAt(T0)),
      (err: unknown) =>
        err instanceof StackbackupError &&
        err.exitCode === ExitCode.credentials &&
        /wrong restic repository password/.test(err.message),
    );
    const cli = await runCli(['volumes', 'list', '--bucket', BUCKET, '--password-file', wrong, '--host', 'test-ns'], {
      STACKBACKUP_S3_ENDPOINT: minio.endpoint,
      STACKBACKUP_S3_ACCESS_KEY: minio.accessKey,
      STACKBACKUP_S3_SECRET_KEY: minio.secretKey,
      PATH: process.env.PATH ?? '',
    });
    assert.equal(cli.code, ExitCode.credentials, cli.stderr);
    assert.match(
      cli.stderr,
      /Error: wrong restic repository password for s3:http:\/\/127\.0\.0\.1:\d+\/volume-test\/volumes/,
    );
    assert.match(cli.stderr, /Next: Check the Secret of backup\.volumes\.repository\.passwordSecret/);
    assert.doesNotMatch(cli.stderr + cli.stdout, /not-the-password-at-all|correct-horse|testsecret123/);
  });

  it('the CLI lists the same snapshots as a table and as JSON', async () => {
    const env = {
      STACKBACKUP_S3_ENDPOINT: minio.endpoint,
      STACKBACKUP_S3_ACCESS_KEY_FILE: '',
      STACKBACKUP_S3_ACCESS_KEY: minio.accessKey,
      STACKBACKUP_S3_SECRET_KEY: minio.secretKey,
      STACKBACKUP_RESTIC_PASSWORD_FILE: passwordFile,
      PATH: process.env.PATH ?? '',
    };
    const table = await runCli(['volumes', 'list', 'claim-alice', '--bucket', BUCKET, '--host', 'test-ns'], env);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^CLAIM\s+SNAPSHOT\s+TIME\s+OWNER$/m);
    assert.match(
      table.stdout,
      new RegExp(`^claim-alice\\s+${second.shortId}\\s+2024-03-01 05:00:00 UTC\\s+alice$`, 'm'),
    );
    const json = await runCli(['volumes', 'list', '--json', '--bucket', BUCKET, '--host', 'test-ns'], env);
    const listed = JSON.parse(json.stdout) as BackupList;
    assert.equal(listed.store, 'volumes');
    assert.equal(listed.backups.length, 5);
    assert.ok(
      listed.backups.some(
        (b) => b.target === 'claim-alice' && b.name === second.shortId && b.takenAt === '2024-03-01T05:00:00.000Z',
      ),
    );
  });

  it('retention is applied per claim: each claim keeps its own snapshots', async () => {
    // A repository of its own, with daily snapshots at pinned times: alice 6 days, bob 2 days.
    const ids = { alice: [] as string[], bob: [] as string[] };
    for (let d = 0; d < 6; d += 1) {
      await writeFile(join(claimA, 'day.txt'), `day ${d}\n`);
      ids.alice.push(
        (await backup('claim-alice', claimA, T0.plus({ days: d }), { prefix: 'retention', prune: false })).snapshot,
      );
    }
    for (let d = 0; d < 2; d += 1)
      ids.bob.push(
        (
          await runBackup(
            validateBackup({ ...repo('retention'), claim: 'claim-bob', path: claimB, prune: false }),
            ctxAt(T0.plus({ days: d, hours: 1 })),
          )
        ).snapshot,
      );
    const r = await runPrune(
      validatePrune({ ...repo('retention'), keepLast: 0, keepDaily: 3, keepWeekly: 0, keepMonthly: 0 }),
      ctxAt(T0),
    );
    const byClaim = Object.fromEntries(r.claims.map((c) => [c.claim, c]));
    assert.deepEqual(byClaim['claim-alice']?.kept.sort(), ids.alice.slice(3).sort(), 'alice keeps her 3 newest days');
    assert.deepEqual(byClaim['claim-alice']?.removed.sort(), ids.alice.slice(0, 3).sort());
    assert.deepEqual(
      byClaim['claim-bob']?.kept.sort(),
      [...ids.bob].sort(),
      "bob keeps both of his: alice's days do not count for him",
    );
    assert.deepEqual(byClaim['claim-bob']?.removed, []);
    assert.equal(r.pruned, true);
    const left = await runList(validateList({ ...repo('retention') }), ctxAt(T0));
    assert.deepEqual(left.snapshots.map((s) => s.id).sort(), [...ids.alice.slice(3), ...ids.bob].sort());
    // The backup's own retention touches only its claim.
    const more = await runBackup(
      validateBackup({
        ...repo('retention'),
        claim: 'claim-bob',
        path: claimB,
        keepLast: 1,
        keepDaily: 0,
        keepWeekly: 0,
        keepMonthly: 0,
      }),
      ctxAt(T0.plus({ days: 9 })),
    );
    assert.deepEqual(more.retention?.kept, [more.snapshot]);
    assert.equal(more.retention?.removed.length, 2);
    const after = await runList(validateList({ ...repo('retention'), claim: 'claim-alice' }), ctxAt(T0));
    assert.equal(after.snapshots.length, 3, "alice's snapshots are untouched by bob's retention");
  });

  it("one claim's own retention rules (claimRetention) never affect another claim's snapshots", async () => {
    // A repository of its own; both claims back up four times, a day apart, with the same arguments, as
    // the chart's shared Job template runs them: alice's override keeps 1, the common policy keeps 3.
    const common = {
      keepLast: 3,
      keepDaily: 0,
      keepWeekly: 0,
      keepMonthly: 0,
      claimRetention: ['claim-alice:keepLast=1'],
    };
    const ids: Record<string, string[]> = { 'claim-alice': [], 'claim-bob': [] };
    for (let d = 0; d < 4; d += 1) {
      for (const [claim, path] of [
        ['claim-alice', claimA],
        ['claim-bob', claimB],
      ] as const) {
        const r = await runBackup(
          validateBackup({ ...repo('claim-retention'), claim, path, ...common }),
          ctxAt(T0.plus({ days: d, minutes: claim === 'claim-bob' ? 5 : 0 })),
        );
        ids[claim]?.push(r.snapshot);
        assert.equal(r.retention?.policy, claim === 'claim-alice' ? 'keep last 1' : 'keep last 3');
        assert.ok(r.retention?.kept.includes(r.snapshot));
        const others = Object.entries(ids)
          .filter(([c]) => c !== claim)
          .flatMap(([, list]) => list);
        assert.deepEqual(
          r.retention?.removed.filter((id) => others.includes(id)),
          [],
          `${claim}'s retention removed another claim's snapshot`,
        );
      }
    }
    const left = async (claim: string) =>
      (await runList(validateList({ ...repo('claim-retention'), claim }), ctxAt(T0))).snapshots.map((s) => s.id).sort();
    assert.deepEqual(await left('claim-alice'), [ids['claim-alice']?.[3]], 'alice keeps her newest only');
    assert.deepEqual(
      await left('claim-bob'),
      ids['claim-bob']?.slice(1).sort(),
      "bob keeps his 3 newest: alice's override is not his",
    );

    // The maintenance prune gets every override too: bob's own rule changes bob only.
    const r = await runPrune(
      validatePrune({
        ...repo('claim-retention'),
        ...common,
        claimRetention: ['claim-alice:keepLast=1', 'claim-bob:keepLast=2'],
        prune: false,
      }),
      ctxAt(T0),
    );
    assert.deepEqual(Object.fromEntries(r.claims.map((c) => [c.claim, c.policy])), {
      'claim-alice': 'keep last 1',
      'claim-bob': 'keep last 2',
    });
    assert.deepEqual(r.claims.find((c) => c.claim === 'claim-alice')?.removed, []);
    assert.deepEqual(r.claims.find((c) => c.claim === 'claim-bob')?.removed, [ids['claim-bob']?.[1]]);
    assert.deepEqual(await left('claim-alice'), [ids['claim-alice']?.[3]]);
    assert.deepEqual(await left('claim-bob'), ids['claim-bob']?.slice(2).sort());
  });

  it('a stale exclusive lock (a run that died) is removed when it stops a backup; no unlock runs without one', async () => {
    await backup('claim-bob', claimB, T0, { prefix: 'stale-lock', prune: false });
    const locks = async () => (await openStore(storage, BUCKET).list('stale-lock/locks/')).length;
    assert.equal(await locks(), 0);
    // A restic check (exclusive lock) killed mid-run leaves its lock behind.
    const child = spawn(
      join(TOOLS_DIR, 'bin', 'restic'),
      ['-r', `s3:${minio.endpoint}/${BUCKET}/stale-lock`, 'check', '--read-data'],
      {
        env: {
          PATH: process.env.PATH ?? '',
          HOME: work,
          AWS_ACCESS_KEY_ID: minio.accessKey,
          AWS_SECRET_ACCESS_KEY: minio.secretKey,
          RESTIC_PASSWORD_FILE: passwordFile,
        },
        stdio: 'ignore',
      },
    );
    const exited = once(child, 'exit');
    const deadline = Date.now() + 30_000;
    while ((await locks()) === 0) {
      assert.ok(Date.now() < deadline && child.exitCode === null, 'restic check took its lock');
      await new Promise((r) => setTimeout(r, 20));
    }
    child.kill('SIGKILL');
    await exited;
    assert.equal(await locks(), 1, 'the killed run left its lock');
    const mark = logs.length;
    const r = await backup('claim-bob', claimB, T0.plus({ hours: 1 }), { prefix: 'stale-lock', prune: false });
    assert.ok(
      logs
        .slice(mark)
        .some((l) =>
          /backup of claim claim-bob: the repository is locked; removing the locks of runs that died \(restic unlock\), then retrying/.test(
            l,
          ),
        ),
      logs.slice(mark).join('\n'),
    );
    assert.equal(await locks(), 0);
    assert.equal(
      (await runList(validateList({ ...repo('stale-lock'), claim: 'claim-bob' }), ctxAt(T0))).snapshots[0]?.id,
      r.snapshot,
    );
    // Without lock files, neither a backup nor its retention runs restic unlock.
    const quiet = logs.length;
    await backup('claim-bob', claimB, T0.plus({ hours: 2 }), { prefix: 'stale-lock' });
    assert.ok(!logs.slice(quiet).some((l) => /runs that died/.test(l)));
  });

  it("finds the full ID of the snapshot restic 0.14 names by 8 characters, with restic's cache and without it", async () => {
    const withCache = await backup('claim-bob', claimB, T0, { prefix: 'snapshot-ids', prune: false });
    const saved = { cache: process.env.RESTIC_CACHE_DIR, xdg: process.env.XDG_CACHE_HOME };
    delete process.env.RESTIC_CACHE_DIR;
    process.env.XDG_CACHE_HOME = join(work, 'xdg-cache');
    let withoutCache: BackupResult;
    try {
      withoutCache = await backup('claim-bob', claimB, T0.plus({ hours: 1 }), { prefix: 'snapshot-ids', prune: false });
    } finally {
      process.env.RESTIC_CACHE_DIR = saved.cache;
      if (saved.xdg === undefined) delete process.env.XDG_CACHE_HOME;
      else process.env.XDG_CACHE_HOME = saved.xdg;
    }
    const listed = (
      await runList(validateList({ ...repo('snapshot-ids'), claim: 'claim-bob' }), ctxAt(T0))
    ).snapshots.map((s) => s.id);
    assert.deepEqual(listed, [withoutCache.snapshot, withCache.snapshot]);
    assert.ok(listed.every((id) => /^[0-9a-f]{64}$/.test(id)));
  });

  it('check removes stale locks only and verifies a subset of the data', async () => {
    const r = await runCheck(validateCheck({ ...repo(), readDataSubset: '50%' }), ctxAt(T0));
    assert.equal(r.readDataSubset, '50%');
  });

  it('no credential appeared in any log line', () => {
    const text = logs.join('\n');
    assert.ok(text.includes('Backing up claim claim-alice'), 'logs were captured');
    for (const secret of [PASSWORD, minio.secretKey])
      assert.ok(!text.includes(secret), 'a credential leaked into the logs');
  });
});
