/**
 * StackGraph backup, list, restore and prune against a real MinIO and the real stand-in store
 * (sts-graph-standin, SQLite): the CLI as operators and jobs run it, and the store verbs with a pinned
 * clock for retention.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { DateTime } from 'luxon';
import { loadStorageConfig } from '../../src/config/storage.js';
import { openStore } from '../../src/storage/open.js';
import { listBackups } from '../../src/storage/publish.js';
import type { ObjectStore } from '../../src/storage/types.js';
import { runBackup, runPrune, validateBackup, validatePrune } from '../../src/stores/stackgraph/index.js';
import type { StoreContext } from '../../src/stores/types.js';
import { setLogSink } from '../../src/util/log.js';
import { tempDir, toolPath } from '../servers/harness.js';
import { startMinio, type MinioServer } from '../servers/minio.js';
import { runCli } from '../support/cli.js';
import type { BackupList } from '../../src/stores/types.js';

const STANDIN = toolPath('sts-graph-standin', 'stackgraph-standin');
let minio: MinioServer;
let work: string;
let buckets = 0;

before(async () => {
  minio = await startMinio();
  work = await tempDir('stackgraph-it');
  setLogSink(() => undefined);
});
after(async () => {
  await minio?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

const env = (): Record<string, string> => ({
  STACKBACKUP_S3_ENDPOINT: minio.endpoint,
  STACKBACKUP_S3_ACCESS_KEY: minio.accessKey,
  STACKBACKUP_S3_SECRET_KEY: minio.secretKey,
  STACKBACKUP_PROGRESS_INTERVAL_MS: '100',
});
const storage = () => loadStorageConfig(env());
const at = (iso: string): StoreContext => ({ storage: storage(), now: () => DateTime.fromISO(iso, { zone: 'utc' }) });

/** A fresh bucket (created) and its store. */
async function newBucket(): Promise<{ bucket: string; store: ObjectStore }> {
  const bucket = `sg-it-${++buckets}-${process.pid}`;
  const store = openStore(storage(), bucket);
  await store.createBucket();
  return { bucket, store };
}

/** A stand-in graph store in its own folder. */
async function graph(name: string, seed = 0): Promise<string> {
  const dir = join(work, name);
  await mkdir(dir, { recursive: true });
  const db = join(dir, 'graph.db');
  if (seed > 0) execFileSync(STANDIN, ['-db', db, '-seed', String(seed), '-payload', '256']);
  return db;
}
const standin = (db: string, ...args: string[]) =>
  execFileSync(STANDIN, ['-db', db, ...args], { encoding: 'utf8' }).trim();
const digest = (db: string) => standin(db, '-digest');
const count = (db: string) => Number(standin(db, '-count'));
const exportCommand = (db: string) => JSON.stringify([STANDIN, '-db', db, '-export']);
const countCommand = (db: string) => JSON.stringify([STANDIN, '-db', db, '-count']);
const importCommand = (db: string) => JSON.stringify([STANDIN, '-db', db, '-import']);

async function keys(store: ObjectStore): Promise<string[]> {
  // Backup records (stackbackup-records/, drills) are asserted by records(); the rest is exact here.
  return (await store.list(''))
    .map((o) => o.key)
    .filter((k) => !k.startsWith('stackbackup-records/'))
    .sort();
}

async function records(store: ObjectStore): Promise<string[]> {
  return (await store.list('stackbackup-records/')).map((o) => o.key).sort();
}

describe('stackgraph backup', () => {
  it('exports, uploads sts-backup-YYYYMMDD-HHMM.graph (UTC) with its checksum, and lists it as complete', async () => {
    const { bucket, store } = await newBucket();
    const db = await graph('backup-lands', 40);
    const scratch = join(work, 'backup-lands', 'scratch');
    await mkdir(scratch);
    const result = await runBackup(
      validateBackup({ bucket, exportCommand: exportCommand(db), workDir: scratch, retention: 'days=30', minCount: 1 }),
      at('2025-03-04T03:00:41+01:00'), // 02:00 UTC
    );
    assert.equal(result.name, 'sts-backup-20250304-0200.graph');
    assert.deepEqual(await keys(store), ['sts-backup-20250304-0200.graph', 'sts-backup-20250304-0200.graph.sha256']);
    assert.deepEqual(await records(store), [
      'stackbackup-records/stackgraph/sts-backup-20250304-0200.graph.json',
      'stackbackup-records/stackgraph/sts-backup-20250304-0200.graph.json.sha256',
    ]);
    const listed = await listBackups(store);
    assert.deepEqual(
      listed.map((b) => [b.key, b.complete, b.key.endsWith('.json') ? 0 : b.size]),
      [
        ['stackbackup-records/stackgraph/sts-backup-20250304-0200.graph.json', true, 0],
        ['sts-backup-20250304-0200.graph', true, result.size],
      ],
    );
    assert.ok(result.size > 40 * 256, 'the export holds the payload');
    assert.deepEqual(await readdir(scratch), [], 'the local export is removed once uploaded');
  });

  it('a failed export uploads nothing: non-zero exit, no file, an empty file', async () => {
    const { bucket, store } = await newBucket();
    const missingDb = join(work, 'no-such-folder', 'graph.db');
    const failing = await runCli(
      ['stackgraph', 'backup', '--bucket', bucket, '--export-command', exportCommand(missingDb), '--work-dir', work],
      env(),
    );
    assert.equal(failing.code, 1, failing.stderr);
    assert.match(failing.stderr, /the StackGraph export failed, nothing was uploaded/);
    assert.match(failing.stderr, /no graph store at/, "the tool's own message is shown");

    const silent = await runCli(
      ['stackgraph', 'backup', '--bucket', bucket, '--export-command', '["true"]', '--work-dir', work],
      env(),
    );
    assert.equal(silent.code, 1, silent.stderr);
    assert.match(silent.stderr, /does not exist: the export tool did not write it; nothing was uploaded/);

    const empty = join(work, 'empty.graph');
    await writeFile(empty, '');
    const emptyRun = await runCli(['stackgraph', 'backup', '--bucket', bucket, '--from-file', empty], env());
    assert.equal(emptyRun.code, 1, emptyRun.stderr);
    assert.match(emptyRun.stderr, /is empty; nothing was uploaded/);

    assert.deepEqual(await keys(store), [], 'no object at all, not even a checksum');
  });

  it('uploads an export another container wrote (--from-file) and removes it', async () => {
    const { bucket, store } = await newBucket();
    const db = await graph('from-file', 10);
    const file = join(work, 'from-file', 'export.graph');
    standin(db, '-export', file);
    const res = await runCli(['stackgraph', 'backup', '--bucket', bucket, '--from-file', file, '--json'], env());
    assert.equal(res.code, 0, res.stderr);
    const out = JSON.parse(res.stdout) as { name: string; size: number; sha256: string };
    assert.match(out.name, /^sts-backup-\d{8}-\d{4}\.graph$/);
    assert.deepEqual(await keys(store), [out.name, `${out.name}.sha256`]);
    assert.equal(existsSync(file), false);
  });
});

describe('stackgraph retention', () => {
  it('three backups at chosen times: retention deletes exactly the expired ones, leaves other objects alone', async () => {
    const { bucket, store } = await newBucket();
    const db = await graph('retention', 5);
    // Objects that are not ours: never deleted.
    await store.put('notes.txt', Readable.from([Buffer.from('operator notes')]));
    await store.put('sts-backup-manual.graph', Readable.from([Buffer.from('a hand-made copy')]));
    const backup = (iso: string) =>
      runBackup(
        validateBackup({ bucket, exportCommand: exportCommand(db), workDir: work, retention: 'days=30', minCount: 1 }),
        at(iso),
      );
    const first = await backup('2025-01-01T03:00:00Z');
    const second = await backup('2025-01-20T03:00:00Z');
    assert.deepEqual(first.retention.deleted, []);
    assert.deepEqual(second.retention.deleted, []);
    // 2025-02-10 03:00 minus 30 days is 2025-01-11 03:00: only the first one has expired.
    const third = await backup('2025-02-10T03:00:00Z');
    assert.deepEqual(third.retention.deleted, ['sts-backup-20250101-0300.graph']);
    assert.deepEqual(await keys(store), [
      'notes.txt',
      'sts-backup-20250120-0300.graph',
      'sts-backup-20250120-0300.graph.sha256',
      'sts-backup-20250210-0300.graph',
      'sts-backup-20250210-0300.graph.sha256',
      'sts-backup-manual.graph',
    ]);
  });

  it('never deletes the newest complete backup nor goes below the minimum count; dry run deletes nothing', async () => {
    const { bucket, store } = await newBucket();
    const db = await graph('min-count', 5);
    for (const iso of [
      '2025-01-01T03:00:00Z',
      '2025-01-02T03:00:00Z',
      '2025-01-03T03:00:00Z',
      '2025-01-04T03:00:00Z',
    ]) {
      await runBackup(
        validateBackup({ bucket, exportCommand: exportCommand(db), workDir: work, retention: 'days=1', minCount: 10 }),
        at(iso),
      );
    }
    // An incomplete leftover of a cut-off run (data without checksum), old enough to be removed.
    await store.put('sts-backup-20250101-1200.graph', Readable.from([Buffer.from('cut off')]));
    // A year later, after a year of failed runs: everything is past days=1.
    const later = at('2026-01-04T03:00:00Z');
    const dry = await runPrune(validatePrune({ bucket, retention: 'days=1', minCount: 2, dryRun: true }), later);
    assert.deepEqual(
      dry.decisions.filter((d) => d.action === 'delete').map((d) => d.name),
      ['sts-backup-20250102-0300.graph', 'sts-backup-20250101-1200.graph', 'sts-backup-20250101-0300.graph'],
    );
    assert.equal((await keys(store)).length, 9, 'dry run deleted nothing');
    const real = await runPrune(validatePrune({ bucket, retention: 'days=1', minCount: 2 }), later);
    assert.deepEqual(
      real.deleted,
      dry.decisions.filter((d) => d.action === 'delete').map((d) => d.name),
    );
    assert.deepEqual(await keys(store), [
      'sts-backup-20250103-0300.graph',
      'sts-backup-20250103-0300.graph.sha256',
      'sts-backup-20250104-0300.graph',
      'sts-backup-20250104-0300.graph.sha256',
    ]);
    const newestOnly = await runPrune(validatePrune({ bucket, retention: 'days=1', minCount: 1 }), later);
    assert.deepEqual(newestOnly.deleted, ['sts-backup-20250103-0300.graph']);
    assert.deepEqual(await keys(store), ['sts-backup-20250104-0300.graph', 'sts-backup-20250104-0300.graph.sha256']);
    assert.deepEqual(await records(store), [
      'stackbackup-records/stackgraph/sts-backup-20250104-0300.graph.json',
      'stackbackup-records/stackgraph/sts-backup-20250104-0300.graph.json.sha256',
    ]);
  });

  it('prune --dry-run on the CLI shows the decisions and deletes nothing', async () => {
    const { bucket, store } = await newBucket();
    const db = await graph('prune-cli', 3);
    for (const iso of ['2025-01-01T03:00:00Z', '2025-01-02T03:00:00Z']) {
      await runBackup(
        validateBackup({ bucket, exportCommand: exportCommand(db), workDir: work, retention: 'days=30', minCount: 1 }),
        at(iso),
      );
    }
    const res = await runCli(
      ['stackgraph', 'prune', '--bucket', bucket, '--retention', 'days=1', '--min-count', '1', '--dry-run'],
      env(),
    );
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /sts-backup-20250102-0300\.graph\s+2025-01-02 03:00 UTC\s+keep\s+newest complete backup/);
    assert.match(
      res.stdout,
      /sts-backup-20250101-0300\.graph\s+2025-01-01 03:00 UTC\s+would delete\s+older than 1 day/,
    );
    assert.match(res.stdout, /dry run: 1 of 2 would be deleted/);
    assert.equal((await keys(store)).length, 4);
  });
});

describe('stackgraph list and restore', () => {
  let bucket: string;
  let store: ObjectStore;
  let sourceDb: string;
  let sourceDigest: string;
  const names = ['sts-backup-20250302-0300.graph', 'sts-backup-20250301-0300.graph', 'sts-backup-20250228-0300.graph'];

  before(async () => {
    ({ bucket, store } = await newBucket());
    sourceDb = await graph('restore-source', 200);
    for (const iso of ['2025-02-28T03:00:00Z', '2025-03-01T03:00:00Z', '2025-03-02T03:00:00Z']) {
      if (iso === '2025-03-02T03:00:00Z') sourceDigest = digest(sourceDb);
      await runBackup(
        validateBackup({
          bucket,
          exportCommand: exportCommand(sourceDb),
          workDir: work,
          retention: 'days=3650',
          minCount: 1,
        }),
        at(iso),
      );
      standin(sourceDb, '-seed', '7'); // the graph changes between backups
    }
    // A cut-off upload: data without a checksum. It must never be offered for restore.
    await store.put('sts-backup-20250303-0300.graph', Readable.from([Buffer.from('partial export')]));
  });

  it('lists newest first in three forms (table, names, JSON), never the incomplete upload', async () => {
    const table = await runCli(['stackgraph', 'list', '--bucket', bucket], env());
    assert.equal(table.code, 0, table.stderr);
    const lines = table.stdout.trim().split('\n');
    assert.match(lines[0] ?? '', /^NAME\s+SIZE\s+AGE\s+TAKEN$/);
    assert.deepEqual(
      lines.slice(1).map((l) => l.split(/\s+/)[0]),
      names,
    );
    assert.match(lines[1] ?? '', /^sts-backup-20250302-0300\.graph\s+\d+\.\d KiB\s+\d+d\d+h\s+2025-03-02 03:00 UTC$/);
    assert.match(table.stderr, /=== Listing StackGraph backups in bucket "sg-it-/);
    assert.match(table.stderr, /1 incomplete upload\(s\) not listed .*sts-backup-20250303-0300\.graph/);

    const plain = await runCli(['stackgraph', 'list', '--bucket', bucket, '--format', 'names'], env());
    assert.equal(plain.code, 0, plain.stderr);
    assert.equal(plain.stdout, `${names.join('\n')}\n`, 'one name a line, nothing else on stdout');

    const json = await runCli(['stackgraph', 'list', '--bucket', bucket, '--json'], env());
    assert.equal(json.code, 0, json.stderr);
    const listed = JSON.parse(json.stdout) as BackupList;
    assert.equal(listed.store, 'stackgraph');
    assert.deepEqual(
      listed.backups.map((r) => r.name),
      names,
    );
    assert.equal(listed.backups[0]?.takenAt, '2025-03-02T03:00:00.000Z');
    assert.ok(listed.backups.every((r) => r.target === 'stackgraph' && r.complete && (r.sizeBytes ?? 0) > 200 * 256));
    for (const out of [table, plain, json]) assert.doesNotMatch(out.stdout + out.stderr, new RegExp(minio.secretKey));
  });

  it('restore into an empty store gives the same data', async () => {
    const db = await graph('restore-empty');
    const res = await runCli(
      [
        'stackgraph',
        'restore',
        names[0] ?? '',
        '--bucket',
        bucket,
        '--count-command',
        countCommand(db),
        '--import-command',
        importCommand(db),
        '--work-dir',
        join(work, 'restore-empty'),
      ],
      env(),
    );
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stderr, /StackGraph is empty/);
    assert.match(
      res.stdout,
      /restored StackGraph from sts-backup-20250302-0300\.graph .*sha256 verified before import/,
    );
    assert.equal(digest(db), sourceDigest, 'same vertices, edges and payloads as when the backup was taken');
    assert.deepEqual(
      (await readdir(join(work, 'restore-empty'))).sort(),
      ['graph.db'],
      'the download is removed after the import',
    );
  });

  it('a non-empty store is refused without -force (nothing changes) and replaced with it', async () => {
    const db = await graph('restore-non-empty', 12);
    const before = digest(db);
    const args = [
      'stackgraph',
      'restore',
      names[0] ?? '',
      '--bucket',
      bucket,
      '--count-command',
      countCommand(db),
      '--import-command',
      importCommand(db),
      '--work-dir',
      join(work, 'restore-non-empty'),
    ];
    const refused = await runCli(args, env());
    assert.equal(refused.code, 8, refused.stderr);
    assert.match(refused.stderr, /StackGraph is not empty: it holds 23 elements/);
    assert.match(
      refused.stderr,
      /rerun with -force: \.\/restore\/restore-stackgraph-backup\.sh sts-backup-20250302-0300\.graph -force/,
    );
    assert.doesNotMatch(refused.stderr, /Downloading/, 'refused before anything was downloaded');
    assert.equal(digest(db), before, 'the store is unchanged');

    const forced = await runCli([...args.slice(0, 3), '-force', ...args.slice(3)], env());
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(forced.stderr, /StackGraph holds 23 elements; -force given/);
    assert.equal(digest(db), sourceDigest);
  });

  it('without a count command the emptiness cannot be checked: refused unless -force', async () => {
    const db = await graph('restore-unchecked');
    const args = [
      'stackgraph',
      'restore',
      names[1] ?? '',
      '--bucket',
      bucket,
      '--import-command',
      importCommand(db),
      '--work-dir',
      join(work, 'restore-unchecked'),
    ];
    const refused = await runCli(args, env());
    assert.equal(refused.code, 8, refused.stderr);
    assert.match(
      refused.stderr,
      /cannot tell whether StackGraph is empty: no count command is configured \(backup\.stackGraph\.tool\.countCommand\)/,
    );
    const forced = await runCli([...args, '--force'], env());
    assert.equal(forced.code, 0, forced.stderr);
    assert.ok(count(db) > 0);
  });

  it('--download-to leaves the verified backup for an import container, and reads the count from a file', async () => {
    const countFile = join(work, 'count.txt');
    await writeFile(countFile, '0\n');
    const target = join(work, 'fetched', names[2] ?? '');
    const res = await runCli(
      [
        'stackgraph',
        'restore',
        names[2] ?? '',
        '--bucket',
        bucket,
        '--count-file',
        countFile,
        '--download-to',
        target,
        '--json',
      ],
      env(),
    );
    assert.equal(res.code, 0, res.stderr);
    const out = JSON.parse(res.stdout) as { file: string; imported: boolean; elementsBefore: number };
    assert.deepEqual([out.file, out.imported, out.elementsBefore], [target, false, 0]);
    const db = await graph('restore-two-step');
    standin(db, '-import', target);
    assert.ok(count(db) > 0);
  });

  it('a corrupted object is refused before the import: the store stays untouched', async () => {
    const { bucket: damagedBucket, store: damaged } = await newBucket();
    const db = await graph('corrupt-source', 50);
    const good = await runBackup(
      validateBackup({ bucket: damagedBucket, exportCommand: exportCommand(db), workDir: work }),
      at('2025-04-01T03:00:00Z'),
    );
    // Same size, one byte flipped in the middle: only the checksum can tell.
    const chunks: Buffer[] = [];
    for await (const c of await damaged.get(good.name)) chunks.push(Buffer.from(c as Uint8Array));
    const bytes = Buffer.concat(chunks);
    const middle = Math.floor(bytes.length / 2);
    bytes[middle] = (bytes[middle] ?? 0) ^ 0xff;
    await damaged.put(good.name, Readable.from([bytes]));

    const target = await graph('corrupt-target');
    const dir = join(work, 'corrupt-target');
    const res = await runCli(
      [
        'stackgraph',
        'restore',
        good.name,
        '--bucket',
        damagedBucket,
        '--count-command',
        countCommand(target),
        '--import-command',
        importCommand(target),
        '--work-dir',
        dir,
      ],
      env(),
    );
    assert.equal(res.code, 7, res.stderr);
    assert.match(res.stderr, /is corrupt: its SHA-256 is [0-9a-f]{64}, the published checksum is [0-9a-f]{64}/);
    assert.doesNotMatch(res.stderr, /=== Importing/);
    assert.equal(existsSync(target), false, 'the import never ran: no database was created');
    assert.deepEqual(await readdir(dir), [], 'no downloaded file is left behind');
  });

  it('an unknown name prints the available ones; an incomplete one says so; a hostile one is refused', async () => {
    const db = await graph('restore-unknown');
    const common = ['--bucket', bucket, '--count-command', countCommand(db), '--import-command', importCommand(db)];
    const unknown = await runCli(['stackgraph', 'restore', 'sts-backup-20240101-0300.graph', ...common], env());
    assert.equal(unknown.code, 3, unknown.stderr);
    assert.match(
      unknown.stderr,
      new RegExp(
        `does not exist in bucket "${bucket}"\\. Available backups, newest first:\\n  ${names.join('\\n  ')}\\n`,
      ),
    );
    assert.match(
      unknown.stderr,
      /Restore one of them: \.\/restore\/restore-stackgraph-backup\.sh sts-backup-20250302-0300\.graph/,
    );

    const incomplete = await runCli(['stackgraph', 'restore', 'sts-backup-20250303-0300.graph', ...common], env());
    assert.equal(incomplete.code, 7, incomplete.stderr);
    assert.match(incomplete.stderr, /is incomplete/);

    const hostile = await runCli(['stackgraph', 'restore', 'x;rm -rf $(pwd)', ...common], env());
    assert.equal(hostile.code, 2, hostile.stderr);
    assert.match(hostile.stderr, /invalid backup name \(NAME\)/);
    assert.equal(existsSync(db), false, 'nothing ran');

    const json = await runCli(['stackgraph', 'restore', 'nope.graph', ...common, '--json'], env());
    assert.equal(json.code, 3);
    const error = JSON.parse(json.stderr) as { error: { message: string; exitCode: number } };
    assert.equal(error.error.exitCode, 3);
    assert.match(error.error.message, /sts-backup-20250302-0300\.graph/);
  });
});

describe('stackgraph validation: refused before anything happens', () => {
  it('names the option and the Helm value, exits 2, touches nothing', async () => {
    const { bucket, store } = await newBucket();
    const cases: [string[], RegExp][] = [
      [['stackgraph', 'backup', '--bucket', bucket], /give exactly one of --from-file and --export-command/],
      [
        ['stackgraph', 'backup', '--bucket', bucket, '--from-file', 'x', '--export-command', 'true'],
        /give exactly one of --from-file and --export-command/,
      ],
      [
        ['stackgraph', 'backup', '--bucket', bucket, '--export-command', 'true', '--retention', 'days=0'],
        /backupRetentionTimeDelta.*is zero/,
      ],
      [
        ['stackgraph', 'backup', '--bucket', bucket, '--export-command', 'true', '--retention', 'fortnights=2'],
        /backupRetentionTimeDelta.*unknown unit "fortnights"/,
      ],
      [
        ['stackgraph', 'prune', '--bucket', bucket, '--min-count', '0'],
        /--min-count \(backup\.stackGraph\.scheduled\.backupRetentionMinCount\) must be a whole number from 1/,
      ],
      [
        ['stackgraph', 'backup', '--bucket', bucket, '--export-command', '["sts-graph-standin", 3]'],
        /must be a non-empty list of non-empty strings/,
      ],
      [
        ['stackgraph', 'restore', 'sts-backup-20250101-0300.graph', '--bucket', bucket],
        /give exactly one of --import-command and --download-to/,
      ],
      [
        [
          'stackgraph',
          'restore',
          'sts-backup-20250101-0300.graph',
          '--bucket',
          bucket,
          '--download-to',
          'x',
          '--count-file',
          'a',
          '--count-command',
          'b',
        ],
        /at most one of --count-command and --count-file/,
      ],
      [
        ['stackgraph', 'list', '--bucket', 'Bad_Bucket'],
        /invalid bucket name \(--bucket \(backup\.stackGraph\.bucketName\)\)/,
      ],
    ];
    for (const [args, message] of cases) {
      const res = await runCli(args, env());
      assert.equal(res.code, 2, `${args.join(' ')}: ${res.stderr}`);
      assert.match(res.stderr, message, args.join(' '));
    }
    assert.deepEqual(await keys(store), []);
  });
});
