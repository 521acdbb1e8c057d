import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkName } from '../../src/config/names.js';

describe('strict names', () => {
  it('accepts the names the product uses', () => {
    checkName('backupName', 'sts-backup-20210216-0300.graph');
    checkName('bucket', 'sts-stackgraph-backup');
    checkName('kubernetesName', 'victoria-metrics-0');
    checkName('objectKey', 'victoria-metrics-0/victoria-metrics-0-20231128160000/data/x.bin');
  });
  for (const evil of ['a;rm -rf /', '$(reboot)', '`id`', 'a b', '../etc/passwd', 'x|y', "it's", 'a\nb', '']) {
    it(`refuses ${JSON.stringify(evil)} as a backup name, a bucket and a Kubernetes name`, () => {
      for (const kind of ['backupName', 'bucket', 'kubernetesName'] as const) {
        assert.throws(() => checkName(kind, evil), /invalid .*allowed:/);
      }
    });
  }
  it('refuses object keys that escape or are ambiguous', () => {
    for (const key of ['/abs', 'a//b', 'a/../b', './a', 'a/.', 'a;b', 'a$(b)']) {
      assert.throws(() => checkName('objectKey', key), /invalid object name/);
    }
  });
  it('refuses bucket names S3 would refuse', () => {
    for (const b of ['ab', 'Upper', 'a..b', '-lead', 'x'.repeat(64)])
      assert.throws(() => checkName('bucket', b), /invalid bucket name/);
  });
});
