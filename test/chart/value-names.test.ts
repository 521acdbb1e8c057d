/**
 * The Helm values that error messages and hints name (each store's VALUES) exist in the chart's
 * values.yaml: an operator told to "check backup.x.y" must find backup.x.y.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { VALUES as ELASTICSEARCH } from '../../src/stores/elasticsearch/settings.js';
import { VALUES as STACKGRAPH } from '../../src/stores/stackgraph/settings.js';
import { VALUES as VOLUMES } from '../../src/stores/volumes/settings.js';
import { CHART_DIR } from './helm.js';

describe('value names in messages', () => {
  it("every value a store's messages name is a key of the chart's values.yaml", async () => {
    const values = parse(await readFile(join(CHART_DIR, 'values.yaml'), 'utf8')) as Record<string, unknown>;
    const missing: string[] = [];
    for (const [store, names] of Object.entries({ ELASTICSEARCH, STACKGRAPH, VOLUMES })) {
      for (const path of Object.values(names)) {
        let node: unknown = values;
        for (const key of path.split('.')) node = (node as Record<string, unknown> | undefined)?.[key];
        if (node === undefined) missing.push(`${store}: ${path}`);
      }
    }
    assert.deepEqual(missing, []);
  });
});
