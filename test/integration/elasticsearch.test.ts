/**
 * Elasticsearch snapshots against a real Elasticsearch 8.19.2 (the integration-test distribution,
 * test/servers/elasticsearch.ts) with an fs repository in its path.repo: configure, the cronjob
 * engine's backup and retention with a pinned clock, list in three forms, and restores of chosen
 * indices (documents equal, refusal over open indices, -force in both modes, unknown names). The
 * store verbs are called directly (validate then run) and the real CLI is run as jobs run it.
 * This distribution has no repository-s3 and no SLM: the tests check that both are refused with a
 * clear message; their request bodies are checked in test/unit/elasticsearch-requests.test.ts.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from '@elastic/elasticsearch';
import { DateTime } from 'luxon';
import {
  runBackup,
  runConfigure,
  runList,
  runPrune,
  runRestore,
  validateBackup,
  validateConfigure,
  validateList,
  validatePrune,
  validateRestore,
} from '../../src/stores/elasticsearch/index.js';
import type { StoreContext } from '../../src/stores/types.js';
import { ExitCode, StackbackupError } from '../../src/util/errors.js';
import { setLogSink } from '../../src/util/log.js';
import { startElasticsearch, type ElasticsearchServer } from '../servers/elasticsearch.js';
import { runCli } from '../support/cli.js';
import type { BackupList } from '../../src/stores/types.js';

let es: ElasticsearchServer;
let client: Client;
let repos = 0;
const logs: string[] = [];

before(async () => {
  es = await startElasticsearch();
  client = new Client({ node: es.url });
  setLogSink((line) => logs.push(line));
});
after(async () => {
  await client?.close();
  await es?.stop();
});

const at = (iso: string): StoreContext => ({
  storage: { kind: 'filesystem', root: '/nonexistent' },
  now: () => DateTime.fromISO(iso, { zone: 'utc' }),
});
const now = at(DateTime.utc().toISO() ?? '');
const env = (): Record<string, string> => ({ STACKBACKUP_ES_URL: es.url, STACKBACKUP_PROGRESS_INTERVAL_MS: '200' });

/** A fresh fs repository (registered and verified through `configure`, engine cronjob). */
async function newRepository(): Promise<string> {
  const name = `it-repo-${++repos}`;
  const options = validateConfigure({
    url: es.url,
    repository: name,
    repositoryType: 'fs',
    location: join(es.repoDir, name),
    engine: 'cronjob',
  });
  const result = await runConfigure(options, now);
  assert.deepEqual(result.verifiedBy, ['node-0']);
  return name;
}

interface Doc {
  id: string;
  source: unknown;
}

/** Indexes `count` documents into a new index (one primary shard, no replica), refreshed. */
async function seed(index: string, count: number, tag = 'original'): Promise<void> {
  await client.indices.create({ index, settings: { number_of_shards: 1, number_of_replicas: 0 } });
  const operations = Array.from({ length: count }, (_, i) => [
    { index: { _index: index, _id: `${index}-${i}` } },
    { n: i, tag, text: `event ${i} of ${index}`, at: `2024-01-0${(i % 9) + 1}T03:00:00Z` },
  ]).flat();
  const answer = await client.bulk({ operations, refresh: true });
  assert.equal(answer.errors, false);
}

/** Every document of an index, sorted by id. */
async function documents(index: string): Promise<Doc[]> {
  const answer = await client.search({ index, size: 10_000, query: { match_all: {} } });
  return answer.hits.hits.map((h) => ({ id: h._id ?? '', source: h._source })).sort((a, b) => a.id.localeCompare(b.id));
}

async function exists(index: string): Promise<boolean> {
  return client.indices.exists({ index, expand_wildcards: 'all' });
}

async function backup(
  repository: string,
  iso: string,
  indices = 'sts*',
  retention: { expireAfter?: string; minCount?: number; maxCount?: number } = {},
) {
  return runBackup(
    validateBackup({
      url: es.url,
      repository,
      indices,
      expireAfter: retention.expireAfter ?? '3650d',
      minCount: retention.minCount ?? 1,
      maxCount: retention.maxCount ?? 1000,
    }),
    at(iso),
  );
}

async function rejects(promise: Promise<unknown>, exitCode: number, message: RegExp): Promise<StackbackupError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof StackbackupError, `expected a StackbackupError, got ${String(err)}`);
    assert.equal(err.exitCode, exitCode, err.message);
    assert.match(err.message, message);
    return err;
  }
  assert.fail(`expected a failure matching ${message}`);
}

describe('elasticsearch configure', () => {
  it('registers and verifies an fs repository, and a rerun converges', async () => {
    const name = await newRepository();
    const again = await runConfigure(
      validateConfigure({
        url: es.url,
        repository: name,
        repositoryType: 'fs',
        location: join(es.repoDir, name),
        engine: 'cronjob',
      }),
      now,
    );
    assert.deepEqual(again.verifiedBy, ['node-0']);
    assert.equal(again.removedPolicy, false);
    const repo = await client.snapshot.getRepository({ name });
    assert.equal(repo[name]?.type, 'fs');
  });

  it('engine slm on an Elasticsearch without SLM: a clear error that names the cronjob engine', async () => {
    const location = join(es.repoDir, 'slm-less');
    const err = await rejects(
      runConfigure(
        validateConfigure({ url: es.url, repository: 'slm-less', repositoryType: 'fs', location, engine: 'slm' }),
        now,
      ),
      ExitCode.usage,
      /has no snapshot lifecycle management \(SLM\)/,
    );
    assert.match(err.hint ?? '', /backup\.elasticsearch\.scheduled\.engine=cronjob/);
    // The repository itself was registered before the policy step.
    assert.equal((await client.snapshot.getRepository({ name: 'slm-less' }))['slm-less']?.type, 'fs');
  });

  it('type s3 on an Elasticsearch without S3 support: a clear error, nothing registered', async () => {
    const err = await rejects(
      runConfigure(
        validateConfigure({
          url: es.url,
          repository: 'no-s3',
          bucket: 'sts-elasticsearch-backup',
          s3Endpoint: 'http://stackbackup-minio:9000',
          engine: 'cronjob',
        }),
        now,
      ),
      ExitCode.usage,
      /has no "s3" repository type/,
    );
    assert.match(err.hint ?? '', /repository-s3/);
    await assert.rejects(client.snapshot.getRepository({ name: 'no-s3' }), /repository_missing_exception/);
  });

  it('an unreachable Elasticsearch: exit code 4 and what to check', async () => {
    const err = await rejects(
      runList(validateList({ url: 'http://127.0.0.1:9', repository: 'x' }), now),
      ExitCode.unreachable,
      /cannot reach Elasticsearch at http:\/\/127\.0\.0\.1:9/,
    );
    assert.match(err.hint ?? '', /backup\.elasticsearch\.url/);
  });
});

describe('elasticsearch backup (cronjob engine), list and restore', () => {
  let repository: string;
  let first: string;
  let second: string;
  const originals = new Map<string, Doc[]>();

  before(async () => {
    repository = await newRepository();
    await seed('sts_events-2024.01.05', 300);
    await seed('sts_metrics-2024.01.05', 120);
    await seed('other_index', 10);
    for (const index of ['sts_events-2024.01.05', 'sts_metrics-2024.01.05'])
      originals.set(index, await documents(index));
    first = (await backup(repository, '2024-01-05T03:00:00Z')).name;
    await seed('sts_events-2024.01.06', 50);
    second = (await backup(repository, '2024-01-06T03:00:00Z')).name;
  });

  it('names snapshots as SLM does, holds the chosen indices only, and lists them newest first', async () => {
    assert.match(first, /^sts-backup-20240105-0300-[a-z0-9_-]{22}$/);
    assert.match(second, /^sts-backup-20240106-0300-[a-z0-9_-]{22}$/);
    const list = await runList(validateList({ url: es.url, repository }), now);
    assert.deepEqual(
      list.snapshots.map((s) => s.name),
      [second, first],
    );
    const [newest, oldest] = list.snapshots;
    assert.deepEqual(oldest?.indices, ['sts_events-2024.01.05', 'sts_metrics-2024.01.05']);
    assert.deepEqual(newest?.indices, ['sts_events-2024.01.05', 'sts_events-2024.01.06', 'sts_metrics-2024.01.05']);
    assert.equal(oldest?.state, 'SUCCESS');
    assert.ok((oldest?.sizeBytes ?? 0) > 1000, `size ${oldest?.sizeBytes}`);
    assert.ok(oldest?.startTime !== undefined && oldest.endTime !== undefined && oldest.endTime >= oldest.startTime);
    assert.equal(oldest?.engine, 'cronjob');
  });

  it('the CLI lists names one a line, a table, and JSON', async () => {
    const names = await runCli(['elasticsearch', 'list', '--repository', repository, '--format', 'names'], env());
    assert.equal(names.code, 0, names.stderr);
    assert.equal(names.stdout, `${second}\n${first}\n`);
    assert.match(
      names.stderr,
      new RegExp(`=== Listing Elasticsearch snapshots in snapshot repository "${repository}"`),
    );
    const table = await runCli(['es', 'list', '--repository', repository], env());
    assert.equal(table.code, 0, table.stderr);
    const lines = table.stdout.trim().split('\n');
    assert.match(lines[0] ?? '', /^NAME\s+STATE\s+INDICES\s+START\s+END\s+SIZE$/);
    assert.match(
      lines[2] ?? '',
      new RegExp(
        `^${first}\\s+SUCCESS\\s+2\\s+\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d UTC\\s+\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d UTC\\s+\\d+\\.\\d (KiB|MiB)$`,
      ),
    );
    const json = await runCli(['elasticsearch', 'list', '--repository', repository, '--json'], env());
    assert.equal(json.code, 0, json.stderr);
    const parsed = JSON.parse(json.stdout) as BackupList;
    assert.equal(parsed.store, 'elasticsearch');
    assert.deepEqual(parsed.incomplete, []);
    assert.deepEqual(
      parsed.backups.map((s) => [s.target, s.name, s.complete, s.details.state, s.details.indexCount]),
      [
        [repository, second, true, 'SUCCESS', 3],
        [repository, first, true, 'SUCCESS', 2],
      ],
    );
    assert.ok(DateTime.fromISO(String(parsed.backups[0]?.details.start)).isValid);
    assert.ok((parsed.backups[0]?.sizeBytes ?? 0) > 0);
  });

  it('restores a deleted index: the documents are equal', async () => {
    const index = 'sts_events-2024.01.05';
    await client.indices.delete({ index });
    assert.equal(await exists(index), false);
    const result = await runRestore(validateRestore({ url: es.url, repository, name: first, indices: index }), now);
    assert.deepEqual(result.indices, [index]);
    assert.deepEqual(result.shards, { total: 1, failed: 0, successful: 1 });
    assert.deepEqual(await documents(index), originals.get(index));
    assert.equal((await documents(index)).length, 300);
  });

  it('refuses to restore over an existing open index, naming it, and changes nothing', async () => {
    const index = 'sts_metrics-2024.01.05';
    await client.index({ index, id: 'written-after', document: { tag: 'new' }, refresh: true });
    const before = await documents(index);
    const err = await rejects(
      runRestore(validateRestore({ url: es.url, repository, name: first, indices: 'sts_metrics*' }), now),
      ExitCode.conflict,
      new RegExp(`(exist and are|exists and is) open: ${index.replace(/\./g, '\\.')}`),
    );
    assert.match(err.hint ?? '', new RegExp(`restore-elasticsearch-snapshot\\.sh ${first} "sts_metrics\\*" -force`));
    assert.deepEqual(await documents(index), before);
  });

  it("-force deletes the open index first, then restores the snapshot's documents", async () => {
    const index = 'sts_metrics-2024.01.05';
    const result = await runRestore(
      validateRestore({ url: es.url, repository, name: first, indices: 'sts_metrics*', force: true }),
      now,
    );
    assert.deepEqual(result.deleted, [index]);
    assert.deepEqual(result.shards, { total: 1, failed: 0, successful: 1 });
    assert.deepEqual(await documents(index), originals.get(index));
  });

  it('-force in close mode closes the open index and restores over it', async () => {
    const index = 'sts_events-2024.01.05';
    // (This distribution has no _delete_by_query: delete by id.)
    await client.bulk({
      operations: Array.from({ length: 200 }, (_, i) => ({ delete: { _index: index, _id: `${index}-${i + 100}` } })),
      refresh: true,
    });
    assert.equal((await documents(index)).length, 100);
    const result = await runRestore(
      validateRestore({ url: es.url, repository, name: first, indices: index, force: true, forceMode: 'close' }),
      now,
    );
    assert.deepEqual(result.closed, [index]);
    assert.deepEqual(result.deleted, []);
    assert.deepEqual(await documents(index), originals.get(index));
  });

  it('brings back only the chosen indices (default indices from the values when none are named)', async () => {
    for (const index of ['sts_events-2024.01.05', 'sts_events-2024.01.06', 'sts_metrics-2024.01.05'])
      await client.indices.delete({ index });
    const chosen = await runRestore(
      validateRestore({ url: es.url, repository, name: second, indices: 'sts_events*,-sts_events-2024.01.06' }),
      now,
    );
    assert.deepEqual(chosen.indices, ['sts_events-2024.01.05']);
    assert.equal(await exists('sts_events-2024.01.05'), true);
    assert.equal(await exists('sts_events-2024.01.06'), false);
    assert.equal(await exists('sts_metrics-2024.01.05'), false);
    // The CLI, as the restore Job runs it: no indices named, so --default-indices applies.
    const run = await runCli(
      [
        'elasticsearch',
        'restore',
        second,
        '',
        '--repository',
        repository,
        '--default-indices',
        '["sts_metrics*","sts_events-2024.01.06"]',
      ],
      env(),
    );
    assert.equal(run.code, 0, run.stderr);
    assert.match(
      run.stdout,
      /^restored 2 indices from snapshot sts-backup-20240106-0300-\S+: sts_events-2024\.01\.06, sts_metrics-2024\.01\.05$/m,
    );
    assert.match(run.stdout, /^shards: total 2, failed 0, successful 2 /m);
    assert.deepEqual(await documents('sts_metrics-2024.01.05'), originals.get('sts_metrics-2024.01.05'));
    assert.equal((await documents('sts_events-2024.01.06')).length, 50);
    assert.equal((await documents('other_index')).length, 10, 'an index outside the selection is untouched');
  });

  it('an unknown snapshot name: exit 3 and the list of available snapshots', async () => {
    const run = await runCli(
      ['elasticsearch', 'restore', 'sts-backup-20990101-0000-nope', 'sts*', '--repository', repository],
      env(),
    );
    assert.equal(run.code, ExitCode.notFound, run.stderr);
    assert.match(
      run.stderr,
      /Error: snapshot sts-backup-20990101-0000-nope does not exist in repository "it-repo-\d+"\. Available snapshots, newest first:/,
    );
    assert.ok(run.stderr.indexOf(second) < run.stderr.indexOf(first) && run.stderr.indexOf(first) > 0, run.stderr);
    assert.match(
      run.stderr,
      new RegExp(`Next: Restore one of them: \\./restore/restore-elasticsearch-snapshot\\.sh ${second}`),
    );
    const json = await runCli(['elasticsearch', 'restore', 'nope', '--repository', repository, '--json'], env());
    assert.equal(json.code, ExitCode.notFound);
    assert.equal((JSON.parse(json.stderr) as { error: { exitCode: number } }).error.exitCode, ExitCode.notFound);
  });

  it('an index the snapshot does not hold, or a pattern matching none: exit 3 naming what it holds', async () => {
    await rejects(
      runRestore(validateRestore({ url: es.url, repository, name: first, indices: 'sts_nothere' }), now),
      ExitCode.notFound,
      /does not hold index sts_nothere; it holds: sts_events-2024\.01\.05, sts_metrics-2024\.01\.05/,
    );
    await rejects(
      runRestore(validateRestore({ url: es.url, repository, name: first, indices: 'zzz*' }), now),
      ExitCode.notFound,
      /no index of snapshot \S+ matches zzz\*/,
    );
  });

  it('refuses bad names and index lists before connecting', () => {
    assert.throws(() => validateRestore({ url: es.url, name: 'x;rm -rf /' }), /invalid backup name/);
    assert.throws(
      () => validateRestore({ url: es.url, name: first, indices: 'sts*,$(id)' }),
      /invalid index name or pattern/,
    );
    assert.throws(() => validateRestore({ url: es.url, name: first, indices: '-sts*' }), /only excludes/);
    assert.throws(() => validateRestore({ url: es.url, name: first, forceMode: 'drop' }), /--force-mode/);
  });
});

describe('elasticsearch retention (cronjob engine): SLM semantics', () => {
  let repository: string;
  const names: string[] = [];

  before(async () => {
    repository = await newRepository();
    await seed('sts_retention', 5);
    // Eight daily snapshots, 2024-02-01 .. 2024-02-08 03:00 UTC, and one that is not ours.
    for (let day = 1; day <= 8; day += 1)
      names.push((await backup(repository, `2024-02-0${day}T03:00:00Z`, 'sts_retention')).name);
    await client.snapshot.create({
      repository,
      snapshot: 'manual-before-upgrade',
      indices: 'sts_retention',
      wait_for_completion: true,
    });
  });

  const plan = async (iso: string, retention: { expireAfter: string; minCount: number; maxCount: number }) => {
    const result = await runPrune(validatePrune({ url: es.url, repository, ...retention, dryRun: true }), at(iso));
    return {
      kept: result.decisions.filter((d) => d.action === 'keep').map((d) => d.name),
      deleted: result.decisions.filter((d) => d.action === 'delete').map((d) => d.name),
      result,
    };
  };
  const byDay = (...days: number[]) => days.map((d) => names[d - 1] ?? '');

  it('min_count wins over expiry: everything expired, the newest min_count stay', async () => {
    const { kept, deleted, result } = await plan('2024-03-30T00:00:00Z', {
      expireAfter: '1d',
      minCount: 5,
      maxCount: 30,
    });
    assert.deepEqual(kept, byDay(8, 7, 6, 5, 4));
    assert.deepEqual(deleted, byDay(3, 2, 1));
    assert.deepEqual(result.deleted, [], 'a dry run deletes nothing');
  });

  it('max_count caps: nothing expired, only the newest max_count stay', async () => {
    const { kept, deleted, result } = await plan('2024-02-09T00:00:00Z', {
      expireAfter: '365d',
      minCount: 1,
      maxCount: 3,
    });
    assert.deepEqual(kept, byDay(8, 7, 6));
    assert.deepEqual(deleted, byDay(5, 4, 3, 2, 1));
    assert.match(result.decisions.find((d) => d.name === names[4])?.reason ?? '', /beyond the maximum count of 3/);
  });

  it('expire_after deletes what is older, beyond min_count; snapshots not named like ours are never considered', async () => {
    // now = 02-08 12:00; expire_after 3d: cutoff 02-05 12:00.
    const { kept, deleted } = await plan('2024-02-08T12:00:00Z', { expireAfter: '3d', minCount: 2, maxCount: 30 });
    assert.deepEqual(kept, byDay(8, 7, 6));
    assert.deepEqual(deleted, byDay(5, 4, 3, 2, 1));
    assert.ok(![...kept, ...deleted].includes('manual-before-upgrade'));
  });

  it('a scheduled run applies it: the snapshot lands, then exactly the planned ones are deleted from Elasticsearch', async () => {
    // The next day's run, with max_count 6 and expire_after 5d: 9 snapshots of ours, the newest 6 are
    // within max_count, of which 02-04 is older than 5 days (and beyond min_count 2).
    const run = await runCli(
      [
        'elasticsearch',
        'backup',
        '--repository',
        repository,
        '--indices',
        'sts_retention',
        '--expire-after',
        '5d',
        '--min-count',
        '2',
        '--max-count',
        '6',
        '--json',
      ],
      { ...env() },
    );
    assert.equal(run.code, 0, run.stderr);
    const result = JSON.parse(run.stdout) as { name: string; state: string; retention: { deleted: string[] } };
    assert.equal(result.state, 'SUCCESS');
    // The real clock: the new snapshot is the newest; every 2024 snapshot is older than 5 days.
    assert.deepEqual([...result.retention.deleted].sort(), byDay(1, 2, 3, 4, 5, 6, 7).sort());
    const left = (await runList(validateList({ url: es.url, repository }), now)).snapshots.map((s) => s.name);
    assert.deepEqual(left.sort(), [result.name, names[7] ?? '', 'manual-before-upgrade'].sort());
    assert.match(run.stderr, /retention: deleted sts-backup-20240201-0300-\S+ \(beyond the maximum count of 6\)/);
  });
});
