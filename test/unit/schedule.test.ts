import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DateTime } from 'luxon';
import { nextFireTime, nextFireTimes, parseSchedule, scheduleIntervalSeconds } from '../../src/config/schedule.js';

const at = (iso: string): DateTime => DateTime.fromISO(iso, { zone: 'utc' });
const iso = (d: DateTime | undefined): string | null => d?.toUTC().toISO({ suppressMilliseconds: true }) ?? null;
const HOUR = 3600;
const DAY = 24 * HOUR;

describe('next fire times of Kubernetes schedules', () => {
  it('daily at 03:00, strictly after the given time', () => {
    const s = parseSchedule('0 3 * * *', 'kubernetes', 'schedule');
    assert.equal(iso(nextFireTime(s, at('2026-01-01T02:59:59Z'))), '2026-01-01T03:00:00Z');
    assert.equal(iso(nextFireTime(s, at('2026-01-01T03:00:00Z'))), '2026-01-02T03:00:00Z');
  });
  it('hourly at :25', () => {
    const s = parseSchedule('25 * * * *', 'kubernetes', 'schedule');
    assert.deepEqual(nextFireTimes(s, at('2026-01-01T23:30:00Z'), 2).map(iso), [
      '2026-01-02T00:25:00Z',
      '2026-01-02T01:25:00Z',
    ]);
    assert.equal(scheduleIntervalSeconds(s, at('2026-01-01T00:00:00Z')), HOUR);
  });
  it('steps, ranges, names and macros', () => {
    assert.equal(
      scheduleIntervalSeconds(parseSchedule('*/15 * * * *', 'kubernetes', 's'), at('2026-01-01T00:00:00Z')),
      900,
    );
    assert.equal(scheduleIntervalSeconds(parseSchedule('@daily', 'kubernetes', 's'), at('2026-01-01T00:00:00Z')), DAY);
    assert.equal(
      scheduleIntervalSeconds(parseSchedule('@weekly', 'kubernetes', 's'), at('2026-01-01T00:00:00Z')),
      7 * DAY,
    );
    const s = parseSchedule('0 3 * * MON-FRI', 'kubernetes', 's');
    // 2026-01-02 is a Friday: the next run is Monday.
    assert.equal(iso(nextFireTime(s, at('2026-01-02T04:00:00Z'))), '2026-01-05T03:00:00Z');
    assert.equal(scheduleIntervalSeconds(s, at('2026-01-01T00:00:00Z')), 3 * DAY, 'the weekend is the largest gap');
  });
  it('Sunday is 0 and 7', () => {
    const a = parseSchedule('30 2 * * 0', 'kubernetes', 's');
    const b = parseSchedule('30 2 * * 7', 'kubernetes', 's');
    assert.equal(iso(nextFireTime(a, at('2026-01-01T00:00:00Z'))), '2026-01-04T02:30:00Z');
    assert.equal(iso(nextFireTime(b, at('2026-01-01T00:00:00Z'))), '2026-01-04T02:30:00Z');
  });
  it('both day fields restricted: either matches (as Kubernetes does)', () => {
    const s = parseSchedule('0 0 1 * 1', 'kubernetes', 's');
    // 2026-02-01 is a Sunday; Monday 2026-02-02 fires, and so does the 1st.
    assert.deepEqual(nextFireTimes(s, at('2026-01-31T12:00:00Z'), 2).map(iso), [
      '2026-02-01T00:00:00Z',
      '2026-02-02T00:00:00Z',
    ]);
  });
  it('rare schedules: monthly on the 31st, leap days', () => {
    const s = parseSchedule('0 0 31 * *', 'kubernetes', 's');
    assert.equal(iso(nextFireTime(s, at('2026-04-01T00:00:00Z'))), '2026-05-31T00:00:00Z');
    const leap = parseSchedule('0 0 29 2 *', 'kubernetes', 's');
    assert.equal(iso(nextFireTime(leap, at('2026-01-01T00:00:00Z'))), '2028-02-29T00:00:00Z');
    assert.equal(scheduleIntervalSeconds(leap, at('2026-01-01T00:00:00Z')), (366 + 365 * 3) * DAY);
  });
  it('refuses an invalid schedule with the value name', () =>
    assert.throws(
      () => parseSchedule('0 3 * *', 'kubernetes', 'backup.stackGraph.scheduled.schedule'),
      /backup\.stackGraph\.scheduled\.schedule.*4 fields/,
    ));
});

describe('next fire times of Elasticsearch schedules', () => {
  it('daily at 03:00:00', () => {
    const s = parseSchedule('0 0 3 * * ?', 'elasticsearch', 's');
    assert.equal(iso(nextFireTime(s, at('2026-01-01T12:00:00Z'))), '2026-01-02T03:00:00Z');
    assert.equal(scheduleIntervalSeconds(s, at('2026-01-01T00:00:00Z')), DAY);
  });
  it('every 6 hours on weekdays (Quartz day numbers: 1 = Sunday)', () => {
    const s = parseSchedule('0 0 */6 ? * MON-FRI', 'elasticsearch', 's');
    assert.equal(iso(nextFireTime(s, at('2026-01-02T19:00:00Z'))), '2026-01-05T00:00:00Z');
    const n = parseSchedule('0 0 3 ? * 2', 'elasticsearch', 's');
    assert.equal(nextFireTime(n, at('2026-01-01T00:00:00Z'))?.weekday, 1, 'Quartz 2 is Monday');
  });
  it('last day of the month, nearest weekday, nth and last weekday', () => {
    assert.equal(
      iso(nextFireTime(parseSchedule('0 0 3 L * ?', 'elasticsearch', 's'), at('2026-02-01T00:00:00Z'))),
      '2026-02-28T03:00:00Z',
    );
    // 2026-02-15 is a Sunday: 15W fires on Monday the 16th.
    assert.equal(
      iso(nextFireTime(parseSchedule('0 0 3 15W * ?', 'elasticsearch', 's'), at('2026-02-01T00:00:00Z'))),
      '2026-02-16T03:00:00Z',
    );
    // Second Tuesday (Quartz 3) of February 2026: the 10th; last Friday (6L): the 27th.
    assert.equal(
      iso(nextFireTime(parseSchedule('0 0 3 ? * 3#2', 'elasticsearch', 's'), at('2026-02-01T00:00:00Z'))),
      '2026-02-10T03:00:00Z',
    );
    assert.equal(
      iso(nextFireTime(parseSchedule('0 0 3 ? * 6L', 'elasticsearch', 's'), at('2026-02-01T00:00:00Z'))),
      '2026-02-27T03:00:00Z',
    );
    const monthly = parseSchedule('0 0 3 ? * 6L', 'elasticsearch', 's');
    assert.equal(scheduleIntervalSeconds(monthly, at('2026-01-01T00:00:00Z')), 35 * DAY);
  });
  it('a year in the past never fires again', () => {
    const s = parseSchedule('0 0 3 * * ? 2025', 'elasticsearch', 's');
    assert.equal(nextFireTime(s, at('2026-01-01T00:00:00Z')), undefined);
    assert.equal(scheduleIntervalSeconds(s, at('2026-01-01T00:00:00Z')), undefined);
  });
});
