/**
 * Volume restore drills with the real restic against a real MinIO: each backup records the claim's
 * files and bytes (restic's summary); drills restore a rotating sample of claims (all of them over a
 * cycle) into a scratch folder, compare files and bytes, and run restic check on a subset of the data,
 * while the claims' own files stay byte-equal; a smaller snapshot is flagged; a corrupted repository
 * fails the drill with the reason; no scratch space fails clearly and writes nothing.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { DateTime } from 'luxon';
import type { S3Config } from '../../src/config/storage.js';
import { openStore } from '../../src/storage/open.js';
import { readBackupRecord, readLatestDrill } from '../../src/stores/records.js';
import type { StoreContext } from '../../src/stores/types.js';
import {
  rotateSample,
  runBackup,
  runDrill,
  runList,
  validateBackup,
  validateDrill,
  validateList,
} from '../../src/stores/volumes/index.js';
import { ExitCode, StackbackupError } from '../../src/util/errors.js';
import { setLogSink } from '../../src/util/log.js';
import { TOOLS_DIR, tempDir } from '../servers/harness.js';
import { type MinioServer, minioStorage, startMinio } from '../servers/minio.js';
import { writeRandomFile } from '../support/files.js';

const BUCKET = 'volume-drill';
let minio: MinioServer;
let storage: S3Config;
let work: string;
let passwordFile: string;
const logs: string[] = [];

before(async () => {
  process.env.PATH = `${join(TOOLS_DIR, 'bin')}:${process.env.PATH ?? ''}`;
  minio = await startMinio();
  work = await tempDir('volumes-drill');
  process.env.RESTIC_CACHE_DIR = join(work, 'restic-cache');
  storage = minioStorage(minio);
  passwordFile = join(work, 'password');
  await writeFile(passwordFile, 'drill-password-0123456789\n', { mode: 0o600 });
  setLogSink((l) => logs.push(l));
});
after(async () => {
  await minio?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

const T0 = DateTime.fromISO('2026-03-01T03:00:00Z', { zone: 'utc' });
const ctx = (at: DateTime): StoreContext => ({ storage, now: () => at });
const repo = (prefix: string) => ({ bucket: BUCKET, prefix, passwordFile, host: 'drill-ns' });

/** A claim folder: `files` random files (some in a subfolder), sizes varied. */
async function makeClaim(name: string, files: number): Promise<string> {
  const dir = join(work, 'claims', name);
  await mkdir(join(dir, 'sub'), { recursive: true });
  for (let i = 0; i < files; i += 1)
    await writeRandomFile(join(dir, i % 2 === 0 ? 'sub' : '', `f${i}.bin`), 3000 + i * 1111);
  return dir;
}

/** Every file of a folder with its SHA-256, sorted by path. */
async function digest(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const full = join(d, e.name);
      if (e.isDirectory()) await walk(full);
      else
        out.push(
          `${relative(dir, full)} ${createHash('sha256')
            .update(await readFile(full))
            .digest('hex')}`,
        );
    }
  };
  await walk(dir);
  return out.sort();
}

const backup = (prefix: string, claim: string, path: string, at: DateTime) =>
  runBackup(validateBackup({ ...repo(prefix), claim, path, prune: false }), ctx(at));
let drills = 0;
const drill = (prefix: string, scratchDir: string) =>
  runDrill(validateDrill({ ...repo(prefix), scratchDir, sample: 2 }), ctx(T0.plus({ days: 1, minutes: ++drills })));

describe('volumes drill', () => {
  it('rotates its sample over every claim by name', () => {
    const claims = ['c', 'a', 'e', 'b', 'd'];
    assert.deepEqual(rotateSample(claims, undefined, 2), ['a', 'b']);
    assert.deepEqual(rotateSample(claims, 'b', 2), ['c', 'd']);
    assert.deepEqual(rotateSample(claims, 'd', 2), ['e', 'a']);
    assert.deepEqual(rotateSample(claims, 'zz', 2), ['a', 'b'], 'after the last name: from the start');
    assert.deepEqual(rotateSample(['a'], 'a', 3), ['a'], 'never a claim twice');
  });

  it('records files and bytes, passes on good snapshots over a cycle, leaves the claims and scratch space as they were', async (t) => {
    const prefix = 'rotation';
    const scratch = await tempDir('volumes-drill-scratch');
    const claims = ['claim-a', 'claim-b', 'claim-c'];
    const dirs = new Map<string, string>();
    for (const [i, claim] of claims.entries()) {
      const dir = await makeClaim(claim, 3 + i);
      dirs.set(claim, dir);
      const result = await backup(prefix, claim, dir, T0.plus({ minutes: i }));
      const bytes = (3 + i) * 3000 + (((2 + i) * (3 + i)) / 2) * 1111;
      assert.deepEqual(result.record.counts, { files: { value: 3 + i }, bytes: { value: bytes } });
      assert.deepEqual((await readBackupRecord(openStore(storage, BUCKET), claim, result.snapshot))?.counts.files, {
        value: 3 + i,
      });
    }
    const before = await Promise.all(claims.map((c) => digest(dirs.get(c) ?? '')));

    const first = await drill(prefix, scratch);
    assert.equal(first.outcome, 'passed', first.reason ?? '');
    assert.deepEqual(first.details?.claims, ['claim-a', 'claim-b']);
    assert.deepEqual(
      first.checks.map((c) => [c.name, c.expected, c.found, c.ok]),
      [
        ['files:claim-a', 3, 3, true],
        ['bytes:claim-a', 12333, 12333, true],
        ['files:claim-b', 4, 4, true],
        ['bytes:claim-b', 18666, 18666, true],
        ['restic check', '1/10', 'no errors', true],
      ],
    );
    assert.equal(first.bytes, 12333 + 18666);
    const second = await drill(prefix, scratch);
    assert.deepEqual(second.details?.claims, ['claim-c', 'claim-a'], 'the next run continues with the next claims');
    assert.equal(second.outcome, 'passed');
    assert.deepEqual(await readLatestDrill(openStore(storage, BUCKET), prefix), second);
    assert.deepEqual(await readdir(scratch), [], 'the scratch folder is removed');
    assert.deepEqual(
      await Promise.all(claims.map((c) => digest(dirs.get(c) ?? ''))),
      before,
      "the claims' files are byte-equal",
    );
    t.diagnostic(`drill of 2 claims: ${first.restoreSeconds.toFixed(2)} s to restore`);
  });

  it('flags a snapshot much smaller than the claim’s previous one; list shows it', async () => {
    const prefix = 'shrink';
    const dir = await makeClaim('claim-shrink', 6);
    const first = await backup(prefix, 'claim-shrink', dir, T0);
    await rm(join(dir, 'sub'), { recursive: true });
    await rm(join(dir, 'f1.bin'));
    const second = await backup(prefix, 'claim-shrink', dir, T0.plus({ hours: 1 }));
    assert.match(
      second.record.shrunk ?? '',
      new RegExp(`^14888 bytes, under 50 % of the 34665 of the previous backup ${first.snapshot}$`),
    );
    assert.ok(logs.some((l) => l.startsWith(`WARNING: backup ${second.snapshot} of claim-shrink is much smaller`)));
    const listed = await runList(validateList({ ...repo(prefix) }), ctx(T0.plus({ hours: 2 })));
    assert.deepEqual(
      listed.snapshots.map((s) => [s.id, s.shrunk === null]),
      [
        [second.snapshot, false],
        [first.snapshot, true],
      ],
    );
  });

  it('fails on a corrupted repository with the reason and cleans up', async (t) => {
    const prefix = 'corrupt';
    const scratch = await tempDir('volumes-drill-corrupt');
    const dir = await makeClaim('claim-corrupt', 4);
    await backup(prefix, 'claim-corrupt', dir, T0);
    const store = openStore(storage, BUCKET);
    const packs = (await store.list(`${prefix}/data/`)).filter((o) => o.size > 0);
    assert.ok(packs.length > 0);
    for (const pack of packs) {
      const garbage = Buffer.alloc(pack.size, 0x42);
      await store.put(pack.key, Readable.from([garbage]));
    }
    await rm(join(work, 'restic-cache'), { recursive: true, force: true });
    const before = await digest(dir);
    await assert.rejects(drill(prefix, scratch), (err: unknown) => {
      assert.ok(err instanceof StackbackupError);
      assert.equal(err.exitCode, ExitCode.integrity);
      assert.match(
        err.message,
        /^the drill of claim-corrupt@[0-9a-f]{8} failed: snapshot [0-9a-f]{8} of claim claim-corrupt did not restore: /,
      );
      assert.match(err.message, /ciphertext verification failed/);
      t.diagnostic(err.message.replace(/\n/g, ' | '));
      return true;
    });
    const kept = await readLatestDrill(store, prefix);
    assert.equal(kept?.outcome, 'failed');
    assert.deepEqual(await readdir(scratch), []);
    assert.deepEqual(await digest(dir), before);
  });

  it('fails clearly without scratch space and writes nothing', async () => {
    const prefix = 'noscratch';
    const dir = await makeClaim('claim-noscratch', 2);
    await backup(prefix, 'claim-noscratch', dir, T0);
    const missing = join(work, 'no-such-scratch');
    await assert.rejects(drill(prefix, missing), (err: unknown) => {
      assert.ok(err instanceof StackbackupError);
      assert.match(err.message, /^no drill scratch folder: .*no-such-scratch does not exist/);
      return true;
    });
    assert.equal(await readLatestDrill(openStore(storage, BUCKET), prefix), undefined);
  });
});
