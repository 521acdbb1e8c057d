/**
 * The Elasticsearch request bodies the test server cannot take (its distribution has no repository-s3
 * and no SLM): the S3 repository and the SLM policy, checked at compile time against the official
 * client's request types (estypes; the @ts-expect-error lines prove those types reject a misplaced
 * field) and here for their content. Also the parsing every verb shares: connection, index patterns,
 * retention, and the index selection a restore uses.
 */
import assert from 'node:assert/strict';
import { writeFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { estypes } from '@elastic/elasticsearch';
import { DateTime } from 'luxon';
import {
  elasticsearchSnapshotName,
  elasticsearchSnapshotSuffix,
  parseElasticsearchSnapshotName,
  ELASTICSEARCH_SNAPSHOT_TEMPLATE,
} from '../../src/storage/layout.js';
import {
  nameGroups,
  parseConnection,
  parseIndexPatterns,
  parseRetention,
  policyRequest,
  repositoryRequest,
  repositorySpec,
  restoreRequest,
  selectIndices,
  snapshotRequest,
  validateConfigure,
  type S3RepositoryRequest,
} from '../../src/stores/elasticsearch/index.js';
import type { StoreContext } from '../../src/stores/types.js';
import { redact } from '../../src/util/redact.js';
import { tempDir } from '../servers/harness.js';

const s3ctx: StoreContext = {
  storage: {
    kind: 's3',
    endpoint: new URL('http://sb-stackbackup-minio:9000'),
    accessKey: 'minioaccess',
    secretKey: 'miniosecret123',
    region: 'us-east-1',
  },
  now: () => DateTime.utc(),
};
const fsctx: StoreContext = { storage: { kind: 'filesystem', root: '/tmp/x' }, now: () => DateTime.utc() };

// Compile-time: the bodies are the official request types, and those types are strict.
const typedRepository: estypes.SnapshotCreateRepositoryRequest = repositoryRequest('sts-backup', {
  type: 'fs',
  location: '/x',
});
const typedPolicy: estypes.SlmPutLifecycleRequest = policyRequest({
  policyId: 'p',
  repository: 'r',
  schedule: '0 0 3 * * ?',
  indices: ['sts*'],
  expireAfter: '30d',
  minCount: 5,
  maxCount: 30,
});
const typedSnapshot: estypes.SnapshotCreateRequest = snapshotRequest('r', 's', ['sts*']);
const typedRestore: estypes.SnapshotRestoreRequest = restoreRequest('r', 's', ['sts_a']);
// @ts-expect-error retention takes expire_after, min_count and max_count; a camel-cased field is refused
const wrongRetention: estypes.SlmRetention = { expire_after: '30d', min_count: 5, max_count: 30, maxCount: 3 };
// @ts-expect-error an S3 repository needs its bucket
const noBucket: estypes.SnapshotS3Repository = { type: 's3', settings: { client: 'default' } };
// @ts-expect-error the policy's indices belong in config, not at the top
const misplaced: estypes.SlmPutLifecycleRequest = { policy_id: 'p', indices: ['sts*'] };

describe('S3 repository request', () => {
  it('type s3 in the bucket, through the in-cluster endpoint, path-style, keystore credentials', () => {
    const options = validateConfigure({
      url: 'http://es:9200',
      bucket: 'sts-elasticsearch-backup',
      s3Endpoint: 'http://sb-stackbackup-minio.backup.svc.cluster.local:9000',
      basePath: '/cluster-a/',
      engine: 'slm',
    });
    const request = repositoryRequest(options.repository, repositorySpec(options.choice, fsctx)) as S3RepositoryRequest;
    assert.equal(request.name, 'sts-backup');
    assert.equal(request.verify, false);
    const keys = Object.keys(request.repository.settings);
    assert.ok(!keys.includes('access_key') && !keys.includes('secret_key'), 'no inline credentials by default');
    assert.deepEqual(request.repository, {
      type: 's3',
      settings: {
        bucket: 'sts-elasticsearch-backup',
        client: 'default',
        base_path: 'cluster-a',
        endpoint: 'sb-stackbackup-minio.backup.svc.cluster.local:9000',
        protocol: 'http',
        path_style_access: true,
      },
    });
  });

  it("defaults the endpoint to the jobs' S3 endpoint; https becomes protocol https", () => {
    const spec = repositorySpec(validateConfigure({ url: 'http://es:9200' }).choice, s3ctx);
    const settings = (repositoryRequest('sts-backup', spec) as S3RepositoryRequest).repository.settings;
    assert.equal(settings.endpoint, 'sb-stackbackup-minio:9000');
    assert.equal(settings.protocol, 'http');
    assert.equal(settings.base_path, undefined);
    const https = repositorySpec(
      validateConfigure({
        url: 'http://es:9200',
        s3Endpoint: 'https://s3.example.com',
        pathStyleAccess: 'false',
        client: 'sts_backup',
      }).choice,
      s3ctx,
    );
    const s = (repositoryRequest('sts-backup', https) as S3RepositoryRequest).repository.settings;
    assert.deepEqual(
      [s.endpoint, s.protocol, s.path_style_access, s.client],
      ['s3.example.com', 'https', false, 'sts_backup'],
    );
  });

  it("inline credentials only behind the switch, from the jobs' S3 credentials, never shown", () => {
    const spec = repositorySpec(validateConfigure({ url: 'http://es:9200', inlineCredentials: true }).choice, s3ctx);
    const settings = (repositoryRequest('sts-backup', spec) as S3RepositoryRequest).repository.settings;
    assert.equal(settings.access_key, 'minioaccess');
    assert.equal(settings.secret_key, 'miniosecret123');
    assert.throws(
      () => repositorySpec(validateConfigure({ url: 'http://es:9200', inlineCredentials: 'true' }).choice, fsctx),
      /inline repository credentials .* none are configured/,
    );
  });

  it('refuses what Elasticsearch would refuse later', () => {
    assert.throws(
      () => validateConfigure({ url: 'http://es:9200', s3Endpoint: 'http://user:pw@minio:9000' }),
      /without credentials/,
    );
    assert.throws(
      () => validateConfigure({ url: 'http://es:9200', s3Endpoint: 'minio:9000' }),
      /must be http\(s\):\/\/host/,
    );
    assert.throws(() => validateConfigure({ url: 'http://es:9200', client: 'My Client' }), /not an S3 client name/);
    assert.throws(() => validateConfigure({ url: 'http://es:9200', basePath: 'a/../b c' }), /--base-path/);
    assert.throws(
      () => validateConfigure({ url: 'http://es:9200', repositoryType: 'fs', location: '' }),
      /--location \(backup\.elasticsearch\.repository\.location\) is empty/,
    );
    assert.throws(
      () => validateConfigure({ url: 'http://es:9200', repositoryType: 'fs' }),
      /must be a folder in path\.repo/,
    );
    assert.throws(
      () => validateConfigure({ url: 'http://es:9200', repositoryType: 'fs', location: '/repo/../etc' }),
      /must be a folder in path\.repo/,
    );
    assert.deepEqual(
      validateConfigure({ url: 'http://es:9200', repositoryType: 'fs', location: 'sts-backup' }).choice,
      { type: 'fs', location: 'sts-backup' },
    );
    assert.throws(() => validateConfigure({ url: 'http://es:9200', repositoryType: 'gcs' }), /"s3" or "fs"/);
    assert.throws(() => validateConfigure({ url: 'http://es:9200', bucket: 'Bad_Bucket' }), /invalid bucket name/);
  });
});

describe('SLM policy request', () => {
  it('schedule, the name template, indices, no global state, and SLM retention from the values', () => {
    const options = validateConfigure({
      url: 'http://es:9200',
      schedule: '0 30 1 * * ?',
      indices: '["sts*","-sts_tmp*"]',
      expireAfter: '14d',
      minCount: '3',
      maxCount: 20,
    });
    const policy = policyRequest(options.policy);
    assert.deepEqual(policy, {
      policy_id: 'sts-backup',
      schedule: '0 30 1 * * ?',
      name: '<sts-backup-{now{yyyyMMdd-HHmm}}>',
      repository: 'sts-backup',
      config: {
        indices: ['sts*', '-sts_tmp*'],
        ignore_unavailable: true,
        include_global_state: false,
        metadata: { taken_by: 'stackbackup', engine: 'slm' },
      },
      retention: { expire_after: '14d', min_count: 3, max_count: 20 },
    });
    assert.equal(policy.name, ELASTICSEARCH_SNAPSHOT_TEMPLATE);
  });

  it("the defaults are StackState's: daily at 03:00, sts*, 30d, at least 5, at most 30", () => {
    const policy = policyRequest(validateConfigure({ url: 'http://es:9200' }).policy);
    assert.equal(policy.schedule, '0 0 3 * * ?');
    assert.deepEqual(policy.config?.indices, ['sts*']);
    assert.deepEqual(policy.retention, { expire_after: '30d', min_count: 5, max_count: 30 });
  });

  it('refuses a bad schedule, retention or engine before anything runs', () => {
    assert.throws(
      () => validateConfigure({ url: 'http://es:9200', schedule: '0 3 * * *' }),
      /has 5 fields; an Elasticsearch cron schedule has 6 or 7/,
    );
    assert.throws(
      () => validateConfigure({ url: 'http://es:9200', schedule: '0 0 3 * * *' }),
      /exactly one of day-of-month and day-of-week must be "\?"/,
    );
    assert.throws(
      () => validateConfigure({ url: 'http://es:9200', minCount: 10, maxCount: 5 }),
      /--min-count \(10\) is larger than --max-count \(5\)/,
    );
    assert.throws(
      () => validateConfigure({ url: 'http://es:9200', expireAfter: 'days=30' }),
      /not an Elasticsearch time unit/,
    );
    assert.throws(() => validateConfigure({ url: 'http://es:9200', expireAfter: '0d' }), /is zero/);
    assert.throws(() => validateConfigure({ url: 'http://es:9200', engine: 'cron' }), /"slm", "cronjob" or "none"/);
  });
});

describe('snapshot and restore requests', () => {
  it("the cronjob engine's snapshot waits, skips missing patterns, leaves global state out and marks itself", () => {
    assert.deepEqual(snapshotRequest('sts-backup', 'sts-backup-20240105-0300-abc', ['sts*']), {
      repository: 'sts-backup',
      snapshot: 'sts-backup-20240105-0300-abc',
      indices: ['sts*'],
      ignore_unavailable: true,
      include_global_state: false,
      wait_for_completion: true,
      metadata: { taken_by: 'stackbackup', engine: 'cronjob' },
    });
  });

  it('a restore names its concrete indices and never restores cluster state', () => {
    assert.deepEqual(restoreRequest('sts-backup', 'snap', ['sts_a', 'sts_b']), {
      repository: 'sts-backup',
      snapshot: 'snap',
      indices: ['sts_a', 'sts_b'],
      include_global_state: false,
      include_aliases: true,
      wait_for_completion: true,
    });
  });

  it("index names go into request lines in groups below Elasticsearch's 4 KiB limit", () => {
    const names = Array.from({ length: 400 }, (_, i) => `sts_multi_metrics-2024.01.${String(i).padStart(3, '0')}`);
    const groups = nameGroups(names);
    assert.ok(groups.length > 1);
    assert.ok(groups.every((g) => g.length <= 3000));
    assert.deepEqual(groups.join(',').split(','), names);
  });
});

describe('snapshot names (layout)', () => {
  it("are SLM's: sts-backup-YYYYMMDD-HHMM-<22 lower-case base64url characters>, UTC", () => {
    const suffix = elasticsearchSnapshotSuffix(new Uint8Array(16).fill(255));
    assert.match(suffix, /^[a-z0-9_-]{22}$/);
    const name = elasticsearchSnapshotName(DateTime.fromISO('2021-02-23T04:00:00+01:00'), 'ppss8nx40ykppss8nx40yk');
    assert.equal(name, 'sts-backup-20210223-0300-ppss8nx40ykppss8nx40yk');
    assert.equal(parseElasticsearchSnapshotName(name)?.toISO(), '2021-02-23T03:00:00.000Z');
    assert.equal(parseElasticsearchSnapshotName('manual-snapshot'), undefined);
    assert.equal(parseElasticsearchSnapshotName('sts-backup-20211399-0300-x'), undefined);
  });
});

describe('index patterns and selection', () => {
  it('reads comma-separated text and JSON arrays, refuses what is not an index name', () => {
    assert.deepEqual(parseIndexPatterns('sts*, other ,sts*', 'x'), ['sts*', 'other']);
    assert.deepEqual(parseIndexPatterns('["sts*","-sts_tmp*"]', 'x'), ['sts*', '-sts_tmp*']);
    for (const bad of ['', 'STS', 'a b', 'a/b', '$(id)', '"x"', '[1]', '["a",2]', '<logs-{now}>', '--x', '-sts*']) {
      assert.throws(() => parseIndexPatterns(bad, 'INDICES'), /INDICES/, bad);
    }
  });

  it('selects as Elasticsearch does: wildcards, exclusions in order, dot-indices only by dot-patterns, missing plain names reported', () => {
    const available = ['.kibana_1', 'sts_events-1', 'sts_events-2', 'sts_metrics-1', 'other'];
    assert.deepEqual(selectIndices(available, ['sts*']), {
      selected: ['sts_events-1', 'sts_events-2', 'sts_metrics-1'],
      missing: [],
    });
    assert.deepEqual(selectIndices(available, ['sts*', '-sts_events-2']).selected, ['sts_events-1', 'sts_metrics-1']);
    assert.deepEqual(selectIndices(available, ['*']).selected, [
      'sts_events-1',
      'sts_events-2',
      'sts_metrics-1',
      'other',
    ]);
    assert.deepEqual(selectIndices(available, ['.kib*']).selected, ['.kibana_1']);
    assert.deepEqual(selectIndices(available, ['other', 'sts_x', 'zz*']), { selected: ['other'], missing: ['sts_x'] });
    assert.deepEqual(selectIndices(available, ['sts.events-1']).selected, [], 'a dot is not a wildcard');
  });
});

describe('retention settings', () => {
  it('min_count may not exceed max_count; counts are whole numbers', () => {
    assert.deepEqual(
      { ...parseRetention({}), maxAge: undefined },
      { expireAfter: '30d', maxAge: undefined, minCount: 5, maxCount: 30 },
    );
    assert.throws(() => parseRetention({ minCount: 0 }), /from 1 to 10000/);
    assert.throws(() => parseRetention({ maxCount: 2.5 }), /from 1 to 10000/);
  });
});

describe('connection', () => {
  it('takes the address from --url or STACKBACKUP_ES_URL, credentials from files, and never shows the password', async () => {
    const dir = await tempDir('es-unit');
    try {
      await writeFile(join(dir, 'password'), 'S3cr3t-es-password\n');
      const c = parseConnection(undefined, {
        STACKBACKUP_ES_URL: 'https://es.example:9200',
        STACKBACKUP_ES_USERNAME: 'backup',
        STACKBACKUP_ES_PASSWORD_FILE: join(dir, 'password'),
      });
      assert.equal(c.url.origin, 'https://es.example:9200');
      assert.equal(c.username, 'backup');
      assert.equal(c.password, 'S3cr3t-es-password');
      assert.equal(redact('auth failed for S3cr3t-es-password'), 'auth failed for ***');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    assert.throws(() => parseConnection(undefined, {}), /no Elasticsearch address/);
    assert.throws(() => parseConnection('http://u:hunter2pw@es:9200', {}), /must not carry credentials/);
    assert.equal(redact('x hunter2pw y'), 'x *** y');
    assert.throws(() => parseConnection('es:9200', {}), /must start with http/);
    assert.throws(
      () => parseConnection('http://es:9200', { STACKBACKUP_ES_USERNAME: 'u' }),
      /only one of the Elasticsearch username and password/,
    );
  });
});

void [typedRepository, typedPolicy, typedSnapshot, typedRestore, wrongRetention, noBucket, misplaced];
