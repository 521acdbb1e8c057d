/**
 * One registry of stores (src/stores/registry.ts), each store one DataStore with the same four verbs
 * (validate then run) and the shared views of its list and prune results; the CLI's command groups are
 * built from it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GROUPS } from '../../src/cli/groups.js';
import { STORES } from '../../src/stores/registry.js';
import type { Verb } from '../../src/stores/types.js';
import { isStackbackupError } from '../../src/util/errors.js';

function isVerb(v: unknown): v is Verb<never, unknown, unknown> {
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof (v as Verb<never, unknown, unknown>).validate === 'function' &&
    typeof (v as Verb<never, unknown, unknown>).run === 'function'
  );
}

describe('the store registry', () => {
  it('lists every store once, and the CLI has a command group for each (plus storage)', () => {
    assert.deepEqual(
      STORES.map((s) => s.name),
      ['stackgraph', 'victoria-metrics', 'elasticsearch', 'volumes'],
    );
    assert.deepEqual(
      GROUPS.map((g) => g.names[0]),
      ['storage', ...STORES.map((s) => s.name), 'status'],
    );
    assert.deepEqual(GROUPS.find((g) => g.names[0] === 'victoria-metrics')?.names, ['victoria-metrics', 'vm']);
  });

  for (const entry of STORES) {
    it(`${entry.name}: backup, list, restore and prune verbs, each validate() before run(), and the shared result views`, async () => {
      const store = (await entry.load()) as unknown as Record<string, unknown>;
      assert.equal(store.name, entry.name);
      for (const name of ['backup', 'list', 'restore', 'prune'])
        assert.ok(isVerb(store[name]), `${entry.name}.${name} is a verb`);
      assert.equal(typeof store.backupList, 'function');
      assert.equal(typeof store.pruneReport, 'function');
      // The same option parsing everywhere: an explicitly empty bucket (Elasticsearch: repository) is refused in validate(), before anything runs.
      const prune = store.prune as Verb<Record<string, unknown>, unknown, unknown>;
      assert.throws(
        () => prune.validate({ bucket: '', repository: '', url: 'http://127.0.0.1:1' }),
        (err: unknown) => isStackbackupError(err) && err.exitCode === 2,
      );
    });
  }
});
