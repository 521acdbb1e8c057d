import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DateTime, Duration } from 'luxon';
import { parseTimedelta } from '../../src/config/durations.js';
import { planRetention, type RetentionCandidate } from '../../src/storage/retention.js';

const now = DateTime.fromISO('2026-03-31T12:00:00Z', { zone: 'utc' });
const daysAgo = (d: number, complete = true): RetentionCandidate => ({
  name: `b-${d}`,
  takenAt: now.minus({ days: d }),
  complete,
});
const policy = { maxAge: parseTimedelta('days=30'), minCount: 3, incompleteGrace: Duration.fromObject({ hours: 24 }) };
const deleted = (cs: RetentionCandidate[], p = policy) =>
  planRetention(cs, p, now)
    .filter((d) => d.action === 'delete')
    .map((d) => d.name)
    .sort();

describe('retention planning', () => {
  it('deletes exactly the backups older than the delta, beyond the minimum count', () => {
    const cs = [1, 2, 3, 10, 29, 31, 45, 60].map((d) => daysAgo(d));
    assert.deepEqual(deleted(cs), ['b-31', 'b-45', 'b-60']);
  });
  it('keeps the minimum count even when all are expired (a month of failed backups)', () => {
    const cs = [40, 41, 42, 43, 44].map((d) => daysAgo(d));
    assert.deepEqual(deleted(cs), ['b-43', 'b-44']);
  });
  it('never deletes the newest complete backup even with minCount 0', () => {
    const cs = [90, 91].map((d) => daysAgo(d));
    assert.deepEqual(deleted(cs, { ...policy, minCount: 0 }), ['b-91']);
  });
  it('does not count incomplete backups towards the minimum and removes old leftovers only', () => {
    const cs = [daysAgo(0.1, false), daysAgo(2, false), daysAgo(40), daysAgo(50), daysAgo(60), daysAgo(70)];
    const plan = planRetention(cs, policy, now);
    assert.deepEqual(deleted(cs), ['b-2', 'b-70']);
    assert.equal(plan.find((d) => d.name === 'b-0.1')?.reason, 'incomplete, may still be running');
    assert.equal(plan.find((d) => d.name === 'b-40')?.reason, 'newest complete backup');
  });
  it('gives a reason for every decision (the dry-run preview)', () => {
    for (const d of planRetention(
      [1, 31, 45, 60].map((x) => daysAgo(x)),
      policy,
      now,
    ))
      assert.ok(d.reason.length > 0);
  });
  it('names the rule of every decision for machines (--json), one rule per case', () => {
    const cs = [
      daysAgo(0.1, false),
      daysAgo(2, false),
      daysAgo(1),
      daysAgo(3),
      daysAgo(5),
      daysAgo(10),
      daysAgo(31),
      daysAgo(32),
      daysAgo(33),
    ];
    const rules = Object.fromEntries(
      planRetention(cs, { ...policy, maxCount: 6 }, now).map((d) => [d.name, `${d.action} ${d.rule}`]),
    );
    assert.deepEqual(rules, {
      'b-0.1': 'keep incomplete-recent',
      'b-2': 'delete incomplete-expired',
      'b-1': 'keep newest',
      'b-3': 'keep min-count',
      'b-5': 'keep min-count',
      'b-10': 'keep within-time',
      'b-31': 'delete expired',
      'b-32': 'delete expired',
      'b-33': 'delete max-count',
    });
  });
});
