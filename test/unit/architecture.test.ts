/**
 * Imports flow one way: cli/jobs -> health (status, metrics) -> stores -> storage/kube/config -> util. Stores never import each
 * other. This test reads the sources and fails on an import against the flow (static or dynamic).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, dirname, sep } from 'node:path';
import { it } from 'node:test';
import { REPO_ROOT } from '../servers/harness.js';

const LAYERS: Record<string, number> = {
  util: 0,
  config: 1,
  storage: 2,
  kube: 2,
  stores: 3,
  health: 3.5,
  cli: 4,
  demo: 4,
  jobs: 4,
};

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = join(dir, name);
    return statSync(full).isDirectory() ? files(full) : full.endsWith('.ts') ? [full] : [];
  });
}

function layerOf(path: string): { layer: string; store?: string } | undefined {
  const parts = relative(REPO_ROOT, path).split(sep);
  if (parts[0] === 'jobs') return { layer: 'jobs' };
  if (parts[0] !== 'src' || parts[1] === undefined) return undefined;
  return parts[1] === 'stores' && parts.length > 3 ? { layer: 'stores', store: parts[2] } : { layer: parts[1] };
}

it('imports flow one way and stores do not import each other', () => {
  const violations: string[] = [];
  const sources = [
    ...files(join(REPO_ROOT, 'src')),
    ...files(join(REPO_ROOT, 'jobs')).filter((f) => !f.endsWith('.d.ts')),
  ];
  assert.ok(sources.length > 10, 'found the sources');
  for (const file of sources) {
    const from = layerOf(file);
    if (!from) continue;
    for (const match of readFileSync(file, 'utf8').matchAll(/(?:from |import\()'(\.[^']+)'/g)) {
      const target = layerOf(resolve(dirname(file), match[1] ?? ''));
      if (!target) continue;
      const a = LAYERS[from.layer] ?? 0;
      const b = LAYERS[target.layer] ?? 0;
      if (b > a) violations.push(`${relative(REPO_ROOT, file)} (${from.layer}) imports ${match[1]} (${target.layer})`);
      if (from.store && target.store && from.store !== target.store)
        violations.push(`${relative(REPO_ROOT, file)}: store ${from.store} imports store ${target.store}`);
    }
  }
  assert.deepEqual(violations, []);
});
