/**
 * Invalid values fail at render time with messages that name the value and the --set that fixes it
 * (templates/validate.yaml), or the value's path (values.schema.json). Credentials are never echoed.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { render, renderError, type RenderOptions } from './helm.js';

/** A valid base: MinIO on a PVC, every store on. */
const BASE: RenderOptions = { files: ['minio-persistence-values.yaml'] };

function withBase(extra: RenderOptions): RenderOptions {
  return { files: [...(BASE.files ?? []), ...(extra.files ?? [])], set: extra.set ?? {}, setString: extra.setString ?? {} };
}

interface Case {
  name: string;
  values: RenderOptions;
  expect: (string | RegExp)[];
  /** Strings that must not appear in the error (credentials). */
  secret?: string[];
}

const CASES: Case[] = [
  {
    name: 'two endpoint modes at once',
    values: withBase({ set: { 'minio.s3gateway.enabled': 'true', 'minio.s3gateway.accessKey': 'AKIAX', 'minio.s3gateway.secretKey': 'cloudsecret' } }),
    expect: ['only one of minio.persistence.enabled, minio.s3gateway.enabled and minio.azuregateway.enabled may be true', 'minio.persistence.enabled and minio.s3gateway.enabled', '--set minio.s3gateway.enabled=false'],
    secret: ['cloudsecret'],
  },
  {
    name: 'all three endpoint modes',
    values: withBase({ set: { 'minio.s3gateway.enabled': 'true', 'minio.azuregateway.enabled': 'true' } }),
    expect: ['minio.persistence.enabled and minio.s3gateway.enabled and minio.azuregateway.enabled'],
  },
  {
    name: 'no endpoint mode (no silent emptyDir)',
    values: withBase({ set: { 'minio.persistence.enabled': 'false' } }),
    expect: ['does not fall back to an emptyDir', '--set minio.persistence.enabled=true', '--set minio.s3gateway.enabled=true', '--set minio.azuregateway.enabled=true', '--set minio.persistence.allowEmptyDir=true'],
  },
  {
    name: 'a short access key',
    values: withBase({ setString: { 'minio.accessKey': 'Qz7' } }),
    expect: ['minio.accessKey must be 5 to 20 letters or digits (it has 3 characters)', '--set minio.accessKey='],
    secret: ['Qz7'],
  },
  {
    name: 'a long secret key',
    values: withBase({ setString: { 'minio.secretKey': 'S'.repeat(30) + 'Xy9Wv8Ut7Rs' } }),
    expect: ['minio.secretKey must be 8 to 40 letters or digits (it has 41 characters)', '--set minio.secretKey='],
    secret: ['S'.repeat(30) + 'Xy9Wv8Ut7Rs'],
  },
  {
    name: 'a secret key with symbols',
    values: withBase({ setString: { 'minio.secretKey': 'pass-w0rd!x' } }),
    expect: ['minio.secretKey must be 8 to 40 letters or digits', 'not all letters or digits'],
    secret: ['pass-w0rd!x'],
  },
  {
    name: 'missing credentials',
    values: { set: { 'backup.enabled': 'true', 'minio.persistence.enabled': 'true' } },
    expect: ['minio.accessKey is not set: --set minio.accessKey=', 'minio.secretKey is not set: --set minio.secretKey=', 'minio.existingSecret'],
  },
  {
    name: 'missing cloud credentials of the S3 gateway',
    values: { files: ['s3gateway-values.yaml'], set: { 'minio.s3gateway.accessKey': '', 'minio.s3gateway.secretKey': '' } },
    expect: ['minio.s3gateway.accessKey', 'minio.s3gateway.secretKey', '--set minio.s3gateway.existingSecret='],
  },
  {
    name: 'an Azure account name that is not one',
    values: { files: ['azuregateway-values.yaml'], setString: { 'minio.accessKey': 'My_Account' } },
    expect: ['minio.accessKey must be the Azure storage account name', '--set minio.accessKey=<storage account name>'],
    secret: ['My_Account'],
  },
  {
    name: 'an Azure container name with a dot',
    values: { files: ['azuregateway-values.yaml'], set: { 'backup.stackGraph.bucketName': 'sts.stackgraph' } },
    expect: ['backup.stackGraph.bucketName "sts.stackgraph" is not a valid Azure Blob container name', '--set backup.stackGraph.bucketName='],
  },
  {
    name: 'an existing Secret and literal keys together',
    values: { files: ['minio-existing-values.yaml'], setString: { 'minio.accessKey': 'literal123' } },
    expect: ['minio.existingSecret (backup-credentials) and minio.accessKey/minio.secretKey are both set'],
    secret: ['literal123'],
  },
  {
    name: 'a schedule with four fields',
    values: withBase({ setString: { 'backup.stackGraph.scheduled.schedule': '0 3 * *' } }),
    expect: ['backup.stackGraph.scheduled.schedule "0 3 * *": has 4 fields', '--set-string backup.stackGraph.scheduled.schedule="0 3 * * *"'],
  },
  {
    name: 'a schedule out of range',
    values: withBase({ setString: { 'backup.stackGraph.scheduled.schedule': '61 24 * * *' } }),
    expect: ['"61" is out of range for minute (0-59)', '"24" is out of range for hour (0-23)'],
  },
  {
    name: 'a zero step',
    values: withBase({ setString: { 'backup.volumes.scheduled.schedule': '*/0 * * * *' } }),
    expect: ['backup.volumes.scheduled.schedule "*/0 * * * *"', 'step "0" in minute must be a positive number'],
  },
  {
    name: 'an unknown macro',
    values: withBase({ setString: { 'victoria-metrics-0.backup.scheduled.schedule': '@every 5m' } }),
    expect: ['victoria-metrics-0.backup.scheduled.schedule "@every 5m": has 2 fields', '--set-string victoria-metrics-0.backup.scheduled.schedule='],
  },
  {
    name: 'a bad day name',
    values: withBase({ setString: { 'victoria-metrics-1.backup.scheduled.schedule': '35 * * * MON-FOO' } }),
    expect: ['victoria-metrics-1.backup.scheduled.schedule', '"FOO" is not a valid day of week'],
  },
  {
    name: 'a Kubernetes schedule where Elasticsearch cron is needed',
    values: withBase({ setString: { 'backup.elasticsearch.scheduled.schedule': '0 3 * * *' } }),
    expect: ['backup.elasticsearch.scheduled.schedule "0 3 * * *": has 5 fields; an Elasticsearch cron schedule has 6 or 7', '--set-string backup.elasticsearch.scheduled.schedule="0 0 3 * * ?"'],
  },
  {
    name: 'an Elasticsearch schedule without "?"',
    values: withBase({ setString: { 'backup.elasticsearch.scheduled.schedule': '0 0 3 * * *' } }),
    expect: ['exactly one of day-of-month and day-of-week must be "?"'],
  },
  {
    name: 'a retention in the wrong syntax',
    values: withBase({ setString: { 'backup.stackGraph.scheduled.backupRetentionTimeDelta': 'days=30, fortnights=2' } }),
    expect: ['backup.stackGraph.scheduled.backupRetentionTimeDelta', 'cannot read "fortnights=2"', '--set-string backup.stackGraph.scheduled.backupRetentionTimeDelta=days=30'],
  },
  {
    name: 'a zero retention',
    values: withBase({ setString: { 'backup.stackGraph.scheduled.backupRetentionTimeDelta': 'days=0' } }),
    expect: ['is zero: a retention of nothing would delete every backup'],
  },
  {
    name: 'snapshot counts the wrong way round',
    values: withBase({ set: { 'backup.elasticsearch.scheduled.snapshotRetentionMinCount': '40' } }),
    expect: ['snapshotRetentionMinCount (40) is larger than snapshotRetentionMaxCount (30)', '--set backup.elasticsearch.scheduled.snapshotRetentionMaxCount=40'],
  },
  {
    name: 'Victoria Metrics backups without backup.enabled',
    values: { set: { 'victoria-metrics-0.backup.enabled': 'true' } },
    expect: ['victoria-metrics-0.backup.enabled=true needs backup.enabled=true', '--set backup.enabled=true'],
  },
  {
    name: 'volume backups without backup.enabled',
    values: { set: { 'backup.volumes.enabled': 'true' } },
    expect: ['backup.volumes.enabled=true needs backup.enabled=true'],
  },
  {
    name: 'a claim retention that keeps nothing',
    values: { files: ['volumes-values.yaml'], set: { 'backup.volumes.claimRetention.claim-bob.keepLast': '0', 'backup.volumes.claimRetention.claim-bob.keepDaily': '0', 'backup.volumes.claimRetention.claim-bob.keepMonthly': '0' } },
    expect: ['backup.volumes.claimRetention.claim-bob keeps nothing', '--set backup.volumes.claimRetention.claim-bob.keepLast=1'],
  },
  {
    name: 'an unknown rule in a claim retention (schema)',
    values: { files: ['volumes-values.yaml'], set: { 'backup.volumes.claimRetention.claim-bob.keepForever': '1' } },
    expect: ['/backup/volumes/claimRetention/claim-bob', "additional properties 'keepForever' not allowed"],
  },
  {
    name: 'a bucket name with capitals (schema)',
    values: withBase({ set: { 'backup.stackGraph.bucketName': 'Bad_Bucket' } }),
    expect: ["/backup/stackGraph/bucketName", 'does not match pattern'],
  },
  {
    name: 'a bucket name with two dots in a row',
    values: withBase({ set: { 'backup.elasticsearch.bucketName': 'sts..es' } }),
    expect: ['backup.elasticsearch.bucketName "sts..es" is not a valid bucket name', '--set backup.elasticsearch.bucketName=<bucket>'],
  },
  {
    name: 'an unknown value (schema)',
    values: withBase({ set: { 'minio.persistance.enabled': 'true' } }),
    expect: ["additional properties 'persistance' not allowed"],
  },
  {
    name: 'an unknown gateway provider (schema)',
    values: { files: ['s3gateway-values.yaml'], set: { 'minio.s3gateway.provider': 'gcs' } },
    expect: ['/minio/s3gateway/provider', "'aws-s3', 's3', 'aws-s3-sdk'"],
  },
  {
    name: 'an access key given as a number (schema)',
    values: withBase({ set: { 'minio.accessKey': '1234567' } }),
    expect: ['/minio/accessKey', 'want string'],
  },
  {
    name: 'an Elasticsearch retention that is not a time unit (schema)',
    values: withBase({ set: { 'backup.elasticsearch.scheduled.snapshotRetentionExpireAfter': '30 days' } }),
    expect: ['/backup/elasticsearch/scheduled/snapshotRetentionExpireAfter'],
  },
];

describe('invalid values fail at render time with a message that says what to change', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const err = await renderError(c.values);
      for (const e of c.expect) {
        if (typeof e === 'string') assert.ok(err.includes(e), `expected ${JSON.stringify(e)} in:\n${err}`);
        else assert.match(err, e);
      }
      for (const s of c.secret ?? []) assert.ok(!err.includes(s), `the error output echoes a credential:\n${err}`);
    });
  }

  it('lists every problem at once', async () => {
    const err = await renderError({
      set: { 'backup.enabled': 'true', 'minio.persistence.enabled': 'true', 'minio.azuregateway.enabled': 'true' },
      setString: { 'backup.stackGraph.scheduled.schedule': 'daily', 'minio.accessKey': 'ab' },
    });
    assert.match(err, /the values need 4 change\(s\)/);
    assert.ok(err.includes('only one of'));
    assert.ok(err.includes('minio.accessKey must be the Azure storage account name'));
    assert.ok(err.includes('minio.secretKey must be the Azure storage account key'));
    assert.ok(err.includes('backup.stackGraph.scheduled.schedule "daily"'));
  });
});

describe('valid edge cases render', () => {
  const ok: [string, Record<string, string>][] = [
    ['Kubernetes macros', { 'backup.stackGraph.scheduled.schedule': '@daily', 'victoria-metrics-0.backup.scheduled.schedule': '@hourly' }],
    ['lists, ranges, steps and names', { 'backup.stackGraph.scheduled.schedule': '*/15 0-6 1,15 JAN-JUN 1-5', 'backup.volumes.scheduled.schedule': '0 4 * * sun' }],
    ['Elasticsearch cron with day names, L and #', { 'backup.elasticsearch.scheduled.schedule': '0 30 1 ? * MON-FRI' }],
    ['Elasticsearch cron with a year and last day', { 'backup.elasticsearch.scheduled.schedule': '0 0 2 L * ? 2030' }],
    ['Elasticsearch cron on the third Friday', { 'backup.elasticsearch.scheduled.schedule': '0 0 2 ? * 6#3' }],
    ['a multi-part retention', { 'backup.stackGraph.scheduled.backupRetentionTimeDelta': 'weeks=2, hours = 12' }],
  ];
  for (const [name, setString] of ok) {
    it(name, async () => {
      const docs = await render(withBase({ setString }));
      assert.ok(docs.length > 0);
    });
  }

  it('an Azure account key with base64 symbols', async () => {
    const docs = await render({ files: ['azuregateway-values.yaml'], setString: { 'minio.secretKey': 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==' } });
    assert.ok(docs.some((d) => d.kind === 'Deployment'));
  });

  it('backups off ignores unset credentials and modes', async () => {
    assert.deepEqual(await render({ set: { 'minio.s3gateway.enabled': 'true', 'minio.persistence.enabled': 'true' } }), []);
  });
});

describe('explicitly empty or blank values of durations, schedules, counts and names are refused by the schema', () => {
  /** Every value that the jobs read as a duration, a schedule, a count, a bucket, a prefix or a name. */
  const VALUES = [
    'backup.stackGraph.bucketName',
    'backup.stackGraph.scheduled.schedule',
    'backup.stackGraph.scheduled.backupRetentionTimeDelta',
    'backup.stackGraph.scheduled.backupRetentionMinCount',
    'backup.elasticsearch.bucketName',
    'backup.elasticsearch.scheduled.schedule',
    'backup.elasticsearch.scheduled.indices',
    'backup.elasticsearch.scheduled.snapshotRetentionExpireAfter',
    'backup.elasticsearch.scheduled.snapshotRetentionMinCount',
    'backup.elasticsearch.scheduled.snapshotRetentionMaxCount',
    'backup.volumes.bucketName',
    'backup.volumes.scheduled.schedule',
    'backup.volumes.scheduled.window',
    'backup.volumes.maintenance.schedule',
    'backup.volumes.maintenance.readDataSubset',
    'backup.volumes.retention.keepLast',
    'backup.volumes.retention.keepDaily',
    'backup.volumes.ownerKey',
    'backup.volumes.claims[0]',
    'backup.volumes.exclude[0]',
    'victoria-metrics-0.backup.bucketName',
    'victoria-metrics-0.backup.scheduled.schedule',
    'victoria-metrics-0.backup.scheduled.keepDaily',
    'victoria-metrics-0.backup.scheduled.keepWeekly',
  ];
  for (const value of VALUES) {
    it(`${value}: "" and " "`, async () => {
      const pointer = `/${value.replace(/\[(\d+)\]/g, '/$1').split('.').join('/')}`;
      for (const blank of ['', ' ']) {
        const err = await renderError(withBase({ setString: { [value]: blank } }));
        assert.ok(err.includes(`at '${pointer}'`), `${value}=${JSON.stringify(blank)}: expected the schema to name ${pointer} in:\n${err}`);
      }
    });
  }
  it('the values whose empty form is documented (derived or none) still render empty', async () => {
    await render(withBase({ setString: { 'backup.elasticsearch.scheduled.cronJobSchedule': '', 'backup.volumes.repository.prefix': '', 'backup.volumes.claimSelector': '', 'backup.volumes.claims[0]': 'claim-alice' } }));
    const err = await renderError(withBase({ setString: { 'backup.elasticsearch.scheduled.cronJobSchedule': '  ' } }));
    assert.ok(err.includes("at '/backup/elasticsearch/scheduled/cronJobSchedule'"), err);
  });
});
