/**
 * Elasticsearch restore drills against a real Elasticsearch 8.19.2 with fs repositories (records and
 * drill results in a filesystem bucket): each cronjob-engine snapshot records documents per index; a
 * good snapshot passes its drill as drill-<index> indices that are deleted afterwards, while the live
 * indices keep their documents and identity; a smaller snapshot is flagged; a corrupted snapshot fails
 * with the reason and leaves no drill index; an existing drill-<index> is never overwritten.
 */
import assert from 'node:assert/strict';
import { mkdir, open, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from '@elastic/elasticsearch';
import { DateTime } from 'luxon';
import { openStore } from '../../src/storage/open.js';
import {
  runBackup,
  runConfigure,
  runDrill,
  runList,
  validateBackup,
  validateConfigure,
  validateDrill,
  validateList,
} from '../../src/stores/elasticsearch/index.js';
import { readBackupRecord, readLatestDrill } from '../../src/stores/records.js';
import type { StoreContext } from '../../src/stores/types.js';
import { ExitCode, StackbackupError } from '../../src/util/errors.js';
import { setLogSink } from '../../src/util/log.js';
import { startElasticsearch, type ElasticsearchServer } from '../servers/elasticsearch.js';
import { tempDir } from '../servers/harness.js';
import { runCli } from '../support/cli.js';

const BUCKET = 'sts-elasticsearch-backup';
let es: ElasticsearchServer;
let client: Client;
let root: string;
let repos = 0;
const logs: string[] = [];

before(async () => {
  es = await startElasticsearch();
  client = new Client({ node: es.url });
  root = await tempDir('es-drill-storage');
  await mkdir(join(root, BUCKET), { recursive: true });
  setLogSink((line) => logs.push(line));
});
after(async () => {
  await client?.close();
  await es?.stop();
  if (root) await rm(root, { recursive: true, force: true });
});

const at = (iso: string): StoreContext => ({
  storage: { kind: 'filesystem', root },
  now: () => DateTime.fromISO(iso, { zone: 'utc' }),
});
const store = () => openStore({ kind: 'filesystem', root }, BUCKET);

async function newRepository(): Promise<{ name: string; location: string }> {
  const name = `drill-repo-${++repos}`;
  const location = join(es.repoDir, name);
  await runConfigure(
    validateConfigure({ url: es.url, repository: name, repositoryType: 'fs', location, engine: 'cronjob' }),
    at('2026-01-01T00:00:00Z'),
  );
  return { name, location };
}

async function seed(index: string, count: number): Promise<void> {
  await client.indices.create({ index, settings: { number_of_shards: 1, number_of_replicas: 0 } });
  const operations = Array.from({ length: count }, (_, i) => [
    { index: { _index: index, _id: `${index}-${i}` } },
    { n: i, text: `event ${i} of ${index}`, payload: 'x'.repeat(200 + (i % 17)) },
  ]).flat();
  const answer = await client.bulk({ operations, refresh: true });
  assert.equal(answer.errors, false);
}

/** Every document of an index, sorted by id, and the index's UUID (a replaced index has a new one). */
async function liveState(index: string): Promise<{ uuid: string; docs: { id: string; source: unknown }[] }> {
  const answer = await client.search({ index, size: 10_000, query: { match_all: {} } });
  const settings = await client.indices.getSettings({ index });
  return {
    uuid: String(settings[index]?.settings?.index?.uuid ?? ''),
    docs: answer.hits.hits
      .map((h) => ({ id: h._id ?? '', source: h._source }))
      .sort((a, b) => a.id.localeCompare(b.id)),
  };
}

const drillIndices = async (): Promise<string[]> =>
  (await client.cat.indices({ index: 'drill-*', format: 'json', h: 'index', expand_wildcards: 'all' }))
    .map((r) => r.index ?? '')
    .sort();

const backup = (repository: string, iso: string, indices: string) =>
  runBackup(
    validateBackup({ url: es.url, repository, indices, expireAfter: '3650d', minCount: 1, maxCount: 1000 }),
    at(iso),
  );
const drill = (repository: string, iso: string) => runDrill(validateDrill({ url: es.url, repository }), at(iso));

describe('elasticsearch drill', () => {
  it('records documents per index, passes on a good snapshot, leaves the live indices as they were', async () => {
    const { name: repo } = await newRepository();
    await seed('sts_d1_a', 30);
    await seed('sts_d1_b', 12);
    const result = await backup(repo, '2026-02-01T03:00:00Z', 'sts_d1_*');
    assert.deepEqual(result.record.counts, {
      'documents:sts_d1_a': { value: 30 },
      'documents:sts_d1_b': { value: 12 },
      documents: { value: 42 },
    });
    assert.ok(result.record.sizeBytes > 0);
    assert.deepEqual((await readBackupRecord(store(), repo, result.name))?.counts.documents, { value: 42 });
    const liveBefore = [await liveState('sts_d1_a'), await liveState('sts_d1_b')];

    const record = await drill(repo, '2026-02-02T05:00:00Z');
    assert.equal(record.outcome, 'passed', record.reason ?? '');
    assert.equal(record.backup, result.name);
    assert.deepEqual(
      record.checks.map((c) => [c.name, c.expected, c.found, c.ok]),
      [
        ['documents:sts_d1_a', 30, 30, true],
        ['documents:sts_d1_b', 12, 12, true],
      ],
    );
    assert.ok(record.bytes > 0);
    assert.ok(record.restoreSeconds > 0);
    assert.deepEqual(await drillIndices(), [], 'the drill indices are deleted');
    assert.deepEqual(
      [await liveState('sts_d1_a'), await liveState('sts_d1_b')],
      liveBefore,
      'the live indices hold the same documents and are the same indices',
    );
    assert.deepEqual(await readLatestDrill(store(), repo), record);

    // The same drill through the real CLI, as the drill Job runs it: the checks table, then the summary.
    const run = await runCli(['elasticsearch', 'drill', '--repository', repo], {
      STACKBACKUP_ES_URL: es.url,
      STACKBACKUP_FS_ROOT: root,
    });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^documents:sts_d1_a +30 +30 +ok$/m);
    assert.match(run.stdout, /^documents:sts_d1_b +12 +12 +ok$/m);
    assert.match(run.stdout, new RegExp(`^drill of ${repo} from ${result.name}: passed, restored .+ in .+$`, 'm'));
    assert.deepEqual(await drillIndices(), []);
  });

  it('flags a snapshot much smaller than the previous one; list shows it', async () => {
    const { name: repo } = await newRepository();
    await seed('sts_d2_a', 40);
    const first = await backup(repo, '2026-02-01T03:00:00Z', 'sts_d2_*');
    const deletes = Array.from({ length: 30 }, (_, i) => ({
      delete: { _index: 'sts_d2_a', _id: `sts_d2_a-${i + 10}` },
    }));
    assert.equal((await client.bulk({ operations: deletes, refresh: true })).errors, false);
    const second = await backup(repo, '2026-02-02T03:00:00Z', 'sts_d2_*');
    assert.equal(second.record.shrunk, `10 documents, under 50 % of the 40 of the previous backup ${first.name}`);
    assert.ok(logs.some((l) => l.startsWith(`WARNING: backup ${second.name} of ${repo} is much smaller`)));
    const listed = await runList(
      validateList({ url: es.url, repository: repo, bucket: BUCKET }),
      at('2026-02-02T04:00:00Z'),
    );
    assert.deepEqual(
      listed.snapshots.map((s) => [s.name, s.shrunk === null]),
      [
        [second.name, false],
        [first.name, true],
      ],
    );
  });

  it('fails on a corrupted snapshot with the reason, deletes its drill indices, leaves the live index', async (t) => {
    const { name: repo, location } = await newRepository();
    await seed('sts_d3_a', 50);
    const result = await backup(repo, '2026-02-01T03:00:00Z', 'sts_d3_*');
    const live = await liveState('sts_d3_a');
    // Flip bytes in the middle of every data blob of the snapshot (sizes unchanged).
    let corrupted = 0;
    for (const uuid of await readdir(join(location, 'indices'))) {
      const shard = join(location, 'indices', uuid, '0');
      for (const blob of await readdir(shard)) {
        if (!blob.startsWith('__')) continue;
        const path = join(shard, blob);
        const { size } = await stat(path);
        if (size < 64) continue;
        const handle = await open(path, 'r+');
        await handle.write(Buffer.alloc(16, 0x5a), 0, 16, Math.floor(size / 2));
        await handle.close();
        corrupted += 1;
      }
    }
    assert.ok(corrupted > 0);
    await assert.rejects(drill(repo, '2026-02-02T05:00:00Z'), (err: unknown) => {
      assert.ok(err instanceof StackbackupError);
      assert.equal(err.exitCode, ExitCode.integrity);
      assert.match(
        err.message,
        new RegExp(
          `^the drill of ${result.name} failed: the restore of ${result.name} into drill indices had failed shards: total 1, failed 1`,
        ),
      );
      return true;
    });
    const kept = await readLatestDrill(store(), repo);
    assert.equal(kept?.outcome, 'failed');
    assert.ok((kept?.reason ?? '').length > 0);
    t.diagnostic(`reason: ${kept?.reason ?? ''}`);
    assert.deepEqual(await drillIndices(), []);
    assert.deepEqual(await liveState('sts_d3_a'), live);
  });

  it('refuses to overwrite an existing drill index, changes nothing and writes no result', async () => {
    const { name: repo } = await newRepository();
    await seed('sts_d4_a', 8);
    await backup(repo, '2026-02-01T03:00:00Z', 'sts_d4_*');
    await seed('drill-sts_d4_a', 3);
    const existing = await liveState('drill-sts_d4_a');
    await assert.rejects(drill(repo, '2026-02-02T05:00:00Z'), (err: unknown) => {
      assert.ok(err instanceof StackbackupError);
      assert.equal(err.exitCode, ExitCode.conflict);
      assert.match(err.message, /^the drill indices drill-sts_d4_a exist already; a drill never overwrites an index/);
      return true;
    });
    assert.deepEqual(await liveState('drill-sts_d4_a'), existing, 'the existing drill index is untouched');
    assert.equal(await readLatestDrill(store(), repo), undefined);
    await client.indices.delete({ index: 'drill-sts_d4_a' });
  });
});
