/**
 * Every value is documented where it is defined (a `# --` comment in values.yaml), listed with its
 * default in the README's parameters table, and described by values.schema.json.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { CHART_DIR } from './helm.js';

interface SchemaNode {
  type?: string | string[];
  description?: string;
  properties?: Record<string, SchemaNode>;
  patternProperties?: Record<string, SchemaNode>;
  additionalProperties?: boolean | SchemaNode;
}

/** Keys of values.yaml with the `# --` comment above them, in file order. */
function documentedKeys(text: string): Map<string, string> {
  const out = new Map<string, string>();
  let stack: string[] = [];
  let pending: string | undefined;
  for (const line of text.split('\n')) {
    const doc = /^\s*# -- (.*)$/.exec(line);
    if (doc) {
      pending = doc[1];
      continue;
    }
    const key = /^(\s*)([A-Za-z0-9_-]+):/.exec(line);
    if (key) {
      const depth = (key[1] ?? '').length / 2;
      stack = [...stack.slice(0, depth), key[2] ?? ''];
      if (pending !== undefined) out.set(stack.join('.'), pending);
      pending = undefined;
    }
  }
  return out;
}

/** Leaves of the values tree; maps that are free-form (labels, resources, affinity) count as leaves. */
function leaves(value: unknown, path: string[] = []): string[] {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || Object.keys(value).length === 0) return [path.join('.')];
  const free = ['resources', 'affinity', 'nodeSelector', 'podLabels', 'podAnnotations', 'annotations', 'commonLabels', 'commonAnnotations', 'serviceAccountAnnotations'];
  if (free.includes(path[path.length - 1] ?? '')) return [path.join('.')];
  return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) => leaves(v, [...path, k]));
}

function schemaAt(schema: SchemaNode, key: string): SchemaNode | undefined {
  let node: SchemaNode | undefined = schema;
  for (const part of key.split('.')) {
    if (!node) return undefined;
    const direct: SchemaNode | undefined = node.properties?.[part];
    if (direct) {
      node = direct;
      continue;
    }
    const pattern: [string, SchemaNode] | undefined = Object.entries(node.patternProperties ?? {}).find(([re]) => new RegExp(re).test(part));
    node = pattern?.[1];
  }
  return node;
}

describe('chart documentation', () => {
  it('documents every value in values.yaml', async () => {
    const text = await readFile(join(CHART_DIR, 'values.yaml'), 'utf8');
    const documented = documentedKeys(text);
    const missing = leaves(parse(text)).filter((k) => !documented.has(k) && !documented.has(k.split('.').slice(0, -1).join('.')));
    assert.deepEqual(missing, [], 'values without a "# --" comment');
    for (const required of ['backup.enabled', 'backup.stackGraph.scheduled.backupRetentionTimeDelta', 'backup.elasticsearch.scheduled.snapshotRetentionMaxCount', 'victoria-metrics-0.backup.scheduled.schedule', 'minio.azuregateway.enabled', 'backup.volumes.enabled']) {
      assert.ok(documented.has(required), `${required} is documented`);
    }
  });

  it('lists every documented value with its default in the README parameters table', async () => {
    const text = await readFile(join(CHART_DIR, 'values.yaml'), 'utf8');
    const values: unknown = parse(text);
    const readme = await readFile(join(CHART_DIR, 'README.md'), 'utf8');
    const rows = new Map<string, string>();
    for (const m of readme.matchAll(/^\| `([^`]+)` \| `(.*)` \| (.*) \|$/gm)) rows.set(m[1] ?? '', m[2] ?? '');
    const documented = documentedKeys(text);
    for (const key of documented.keys()) {
      assert.ok(rows.has(key), `README lists ${key} (regenerate the table: node chart/hack/params.mjs)`);
      let v: unknown = values;
      for (const part of key.split('.')) v = (v as Record<string, unknown>)[part];
      assert.deepEqual(JSON.parse(rows.get(key) ?? 'null'), v, `README default of ${key} (regenerate the table: node chart/hack/params.mjs)`);
    }
    assert.deepEqual([...rows.keys()].filter((k) => !documented.has(k)), [], 'README rows without a value');
  });

  it('describes every value in a strict values.schema.json', async () => {
    const text = await readFile(join(CHART_DIR, 'values.yaml'), 'utf8');
    const schema = JSON.parse(await readFile(join(CHART_DIR, 'values.schema.json'), 'utf8')) as SchemaNode;
    assert.equal(schema.additionalProperties, false);
    for (const key of documentedKeys(text).keys()) {
      const node = schemaAt(schema, key);
      assert.ok(node, `values.schema.json has ${key} (add it with its type and constraints)`);
      assert.ok(node.type !== undefined || key === 'commonLabels', `schema types ${key}`);
      assert.ok(node.description, `schema describes ${key} (node chart/hack/params.mjs copies the values.yaml comments)`);
    }
    // Strict all the way down: every object with fixed properties refuses unknown keys.
    const walk = (node: SchemaNode, path: string): void => {
      if (node.properties) assert.equal(node.additionalProperties, false, `${path || 'root'} refuses unknown keys`);
      for (const [k, child] of Object.entries(node.properties ?? {})) walk(child, path ? `${path}.${k}` : k);
      for (const [k, child] of Object.entries(node.patternProperties ?? {})) walk(child, `${path}[${k}]`);
    };
    walk(schema, '');
  });
});
