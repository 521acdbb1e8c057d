/**
 * The chart works the same with Helm 4 (the current major) and the last approved Helm 3: both lint it
 * strictly, render every chart/ci value set to the same manifests, and refuse invalid values. Installs
 * with both run in test/integration/restore-lib.test.ts ("the chart in the test cluster").
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CHART_DIR, CI_DIR, HELM_BUILDS, ciValueFiles, helm, render, renderError } from './helm.js';

describe('Helm 4 and Helm 3', () => {
  for (const build of HELM_BUILDS) {
    it(`${build.binary} is ${build.name} ${build.version}`, async () => {
      const r = await helm(['version', '--short'], {}, build.binary);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`^${build.version.replace(/\./g, '\\.')}\\b`));
    });
  }

  it('Helm 3 lints the chart strictly with every chart/ci value set (Helm 4: lint.test.ts)', async () => {
    for (const f of await ciValueFiles()) {
      const r = await helm(['lint', '--strict', CHART_DIR, '--values', join(CI_DIR, f)], {}, 'helm3');
      assert.equal(r.code, 0, `${f}:\n${r.stdout}\n${r.stderr}`);
    }
  });

  it('both render every chart/ci value set to the same manifests', async () => {
    const files = await ciValueFiles();
    assert.ok(files.length >= 10);
    let documents = 0;
    for (const f of files) {
      const [four, three] = await Promise.all([render({ files: [f] }, 'helm'), render({ files: [f] }, 'helm3')]);
      documents += four.length;
      assert.deepEqual(four, three, `${f}: Helm 4 and Helm 3 render different manifests`);
    }
    assert.ok(documents > 100, `the value sets render ${documents} documents in all`);
  });

  it('both refuse an invalid value at render time, naming it', async () => {
    for (const build of HELM_BUILDS) {
      const err = await renderError({ files: ['minio-persistence-values.yaml'], setString: { 'backup.stackGraph.scheduled.backupRetentionTimeDelta': '' } }, build.binary);
      assert.ok(err.includes('/backup/stackGraph/scheduled/backupRetentionTimeDelta'), `${build.name}:\n${err}`);
      const cron = await renderError({ files: ['minio-persistence-values.yaml'], setString: { 'backup.stackGraph.scheduled.schedule': 'daily' } }, build.binary);
      assert.ok(cron.includes('backup.stackGraph.scheduled.schedule "daily"'), `${build.name}:\n${cron}`);
    }
  });
});
