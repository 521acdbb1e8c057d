/** `helm lint --strict` of the chart, alone and with every value set in chart/ci. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CHART_DIR, CI_DIR, ciValueFiles, helm } from './helm.js';

describe('helm lint', () => {
  it('passes with the default values', async () => {
    const r = await helm(['lint', '--strict', CHART_DIR]);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
  });

  it('passes with every chart/ci value set', async () => {
    const files = await ciValueFiles();
    assert.ok(files.length >= 10, `chart/ci holds the value matrix (found ${files.length})`);
    for (const f of files) {
      const r = await helm(['lint', '--strict', CHART_DIR, '--values', join(CI_DIR, f)]);
      assert.equal(r.code, 0, `${f}:\n${r.stdout}\n${r.stderr}`);
    }
  });

  it('reports the chart metadata Helm 3 and 4 need', async () => {
    const r = await helm(['show', 'chart', CHART_DIR]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^apiVersion: v2$/m);
    assert.match(r.stdout, /^name: stackbackup$/m);
    assert.match(r.stdout, /^kubeVersion: '?>=1\.25\.0-0'?$/m);
  });
});
