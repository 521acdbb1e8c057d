/**
 * The shared parts of restore drills without servers: counts recorded as values or ranges and how the
 * shrink check and the drill checks read them, the Elasticsearch drill's restore body (renamed, no
 * aliases, no replicas) and the volume drill's rotation.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { countCheck } from '../../src/stores/drill.js';
import { drillRestoreRequest } from '../../src/stores/elasticsearch/requests.js';
import { countedBetween, shrinkReason, sumCounts, type BackupRecord } from '../../src/stores/records.js';
import { rotateSample } from '../../src/stores/volumes/drill.js';

const previous = (counts: BackupRecord['counts'], sizeBytes = 1000): BackupRecord => ({
  target: 't',
  name: 'before',
  takenAt: '2026-01-01T00:00:00.000Z',
  sizeBytes,
  sha256: null,
  counts,
  shrunk: null,
});

describe('drill counts', () => {
  it('a count taken before and after a backup is one value when equal, else the range between', () => {
    assert.deepEqual(countedBetween(5, 5), { value: 5 });
    assert.deepEqual(countedBetween(5, 9), {
      atLeast: 5,
      atMost: 9,
      why: 'written to during the backup: 5 before it, 9 after it',
    });
    assert.deepEqual(sumCounts([{ value: 2 }, { value: 3 }]), { value: 5 });
    assert.deepEqual(sumCounts([{ value: 2 }, { atLeast: 1, atMost: 4, why: 'w' }]), {
      atLeast: 3,
      atMost: 6,
      why: 'some parts were written to during the backup',
    });
    assert.deepEqual(sumCounts([{ value: 2 }, { unknown: 'gone' }]), { unknown: 'gone' });
  });

  it('the shrink check compares with the lower end of a previous range', () => {
    const before = previous({ series: { atLeast: 100, atMost: 120, why: 'w' } });
    assert.equal(shrinkReason({ sizeBytes: 1000, main: 60 }, before, 'series', 0.5), null);
    assert.equal(
      shrinkReason({ sizeBytes: 1000, main: 40 }, before, 'series', 0.5),
      '40 series, under 50 % of the 100 of the previous backup before',
    );
    assert.equal(
      shrinkReason({ sizeBytes: 1000, main: 0 }, before, 'series', 0.5),
      'empty: 0 series, the previous backup before held 100',
    );
  });

  it('a drill check passes on the recorded value or inside the range, else says what it found', () => {
    assert.deepEqual(countCheck('files', { value: 3 }, 3, 'x').check, {
      name: 'files',
      expected: 3,
      found: 3,
      ok: true,
    });
    const wrong = countCheck('files', { value: 3 }, 2, 'the scratch restore');
    assert.equal(wrong.check.ok, false);
    assert.equal(wrong.reason, "the scratch restore holds 2 files, the backup's record says 3");
    const range = { atLeast: 10, atMost: 12, why: 'written to' };
    assert.equal(countCheck('docs', range, 11, 'x').check.ok, true);
    assert.deepEqual(countCheck('docs', range, 13, 'x').check, {
      name: 'docs',
      expected: '10..12',
      found: 13,
      ok: false,
    });
    assert.equal(countCheck('docs', { unknown: 'no count' }, 0, 'x').check.ok, false, 'unknown: must not be empty');
    assert.equal(countCheck('docs', undefined, 4, 'x').check.ok, true);
  });
});

describe('drill targets', () => {
  it('the Elasticsearch drill restores renamed drill-<index>, without aliases or global state, without replicas', () => {
    assert.deepEqual(drillRestoreRequest('sts-backup', 'snap', ['sts_a']), {
      repository: 'sts-backup',
      snapshot: 'snap',
      indices: ['sts_a'],
      rename_pattern: '(.+)',
      rename_replacement: 'drill-$1',
      include_global_state: false,
      include_aliases: false,
      index_settings: { 'index.number_of_replicas': 0 },
      wait_for_completion: true,
    });
  });

  it('the volume drill covers every claim over a cycle of runs', () => {
    const claims = ['d', 'a', 'c', 'b', 'e', 'f', 'g'];
    const seen = new Set<string>();
    let last: string | undefined;
    for (let run = 0; run < 3; run += 1) {
      const sample = rotateSample(claims, last, 3);
      for (const c of sample) seen.add(c);
      last = sample[sample.length - 1];
    }
    assert.deepEqual([...seen].sort(), [...claims].sort());
  });
});
