import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseElasticsearchTime, parseTimedelta } from '../../src/config/durations.js';
import { StackbackupError } from '../../src/util/errors.js';

describe('parseTimedelta (Python timedelta keywords)', () => {
  it('reads StackState default and its spaced variant', () => {
    assert.equal(parseTimedelta('days=30').as('days'), 30);
    assert.equal(parseTimedelta('days = 30').as('days'), 30);
  });
  it('adds several keywords', () => {
    assert.equal(parseTimedelta('weeks=2, hours=12').as('hours'), 14 * 24 + 12);
    assert.equal(parseTimedelta('hours=1,minutes=30,seconds=15').as('seconds'), 5415);
    assert.equal(parseTimedelta('days=1.5').as('hours'), 36);
  });
  for (const [input, fragment] of [
    ['', 'empty'],
    ['30d', 'cannot read "30d"'],
    ['days=30; rm -rf /', 'cannot read'],
    ['fortnights=2', 'unknown unit "fortnights"'],
    ['days=1, days=2', 'given twice'],
    ['days=0', 'zero'],
    ['days=-3', 'cannot read'],
  ] as const) {
    it(`rejects ${JSON.stringify(input)} saying what is wrong`, () => {
      assert.throws(
        () => parseTimedelta(input),
        (err: unknown) => {
          assert.ok(err instanceof StackbackupError);
          assert.match(err.message, new RegExp(fragment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
          assert.match(err.message, /backupRetentionTimeDelta/);
          assert.equal(err.exitCode, 2);
          return true;
        },
      );
    });
  }
});

describe('parseElasticsearchTime', () => {
  it('reads days, hours and minutes', () => {
    assert.equal(parseElasticsearchTime('30d').as('days'), 30);
    assert.equal(parseElasticsearchTime('12h').as('hours'), 12);
    assert.equal(parseElasticsearchTime('90m').as('minutes'), 90);
  });
  it('rejects other shapes', () => {
    assert.throws(() => parseElasticsearchTime('30 days'), /not an Elasticsearch time unit/);
    assert.throws(() => parseElasticsearchTime('days=30'), /snapshotRetentionExpireAfter/);
  });
});

describe('parseTimedelta for messages', () => {
  it('keeps only the units given', () => {
    assert.equal(parseTimedelta('days=30').toHuman(), '30 days');
    assert.equal(parseTimedelta('weeks=2, hours=12').toHuman(), '2 weeks, 12 hours');
  });
});
