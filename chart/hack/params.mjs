#!/usr/bin/env node
/**
 * Keeps the chart's documentation in step with values.yaml, whose `# --` comments are the source:
 *   node chart/hack/params.mjs          rewrite the README parameters table and the schema descriptions
 *   node chart/hack/params.mjs --check  exit 1 when either is out of date (test/chart/docs.test.ts checks too)
 * Keys missing from values.schema.json are listed: their types and constraints are written by hand.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const chart = join(dirname(fileURLToPath(import.meta.url)), '..');
const valuesText = readFileSync(join(chart, 'values.yaml'), 'utf8');
const values = parse(valuesText);

const documented = [];
let stack = [];
let pending;
for (const line of valuesText.split('\n')) {
  const doc = /^\s*# -- (.*)$/.exec(line);
  if (doc) { pending = doc[1]; continue; }
  const key = /^(\s*)([A-Za-z0-9_-]+):/.exec(line);
  if (key) {
    stack = [...stack.slice(0, key[1].length / 2), key[2]];
    if (pending !== undefined) documented.push([stack.join('.'), pending]);
    pending = undefined;
  }
}
const valueAt = (key) => key.split('.').reduce((v, k) => v?.[k], values);
/** JSON on one line with a space after commas and colons. */
const show = (v) => Array.isArray(v) ? `[${v.map(show).join(', ')}]`
  : v !== null && typeof v === 'object' ? `{${Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}: ${show(x)}`).join(', ')}}`
  : JSON.stringify(v);

const table = ['| Key | Default | Description |', '|---|---|---|',
  ...documented.map(([k, d]) => `| \`${k}\` | \`${show(valueAt(k))}\` | ${d} |`)].join('\n');
const readmePath = join(chart, 'README.md');
const readme = readFileSync(readmePath, 'utf8');
const start = readme.indexOf('| Key | Default | Description |');
if (start < 0) throw new Error('README.md has no parameters table');
const end = readme.indexOf('\n\n', start);
const newReadme = `${readme.slice(0, start)}${table}${end < 0 ? '\n' : readme.slice(end)}`;

const schemaPath = join(chart, 'values.schema.json');
const schema = JSON.parse(readFileSync(schemaPath, 'utf8'));
const missing = [];
for (const [key, description] of documented) {
  let node = schema;
  for (const part of key.split('.')) {
    node = node?.properties?.[part]
      ?? Object.entries(node?.patternProperties ?? {}).find(([re]) => new RegExp(re).test(part))?.[1];
  }
  if (!node) { missing.push(key); continue; }
  if (!/^victoria-metrics-[0-9]+\./.test(key) || key.startsWith('victoria-metrics-0.')) {
    node.description = key.startsWith('victoria-metrics-0.') ? description.replaceAll('victoria-metrics-0', 'victoria-metrics-N') : description;
  }
}
const newSchema = `${JSON.stringify(schema, null, 2)}\n`;

const stale = [readme !== newReadme && 'README.md', readFileSync(schemaPath, 'utf8') !== newSchema && 'values.schema.json'].filter(Boolean);
if (missing.length) console.error(`not in values.schema.json (add them with their types): ${missing.join(', ')}`);
if (process.argv.includes('--check')) {
  if (stale.length) console.error(`out of date: ${stale.join(', ')}; run: node chart/hack/params.mjs`);
  process.exit(stale.length || missing.length ? 1 : 0);
}
writeFileSync(readmePath, newReadme);
writeFileSync(schemaPath, newSchema);
console.log(`${documented.length} values: README.md and values.schema.json updated${stale.length ? '' : ' (no change)'}`);
