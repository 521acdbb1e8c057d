import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkElasticsearchCron, checkKubernetesCron } from '../../src/config/cron.js';

describe('Kubernetes cron schedules', () => {
  for (const ok of ['0 3 * * *', '25 * * * *', '*/15 1-5 * JAN-MAR MON,FRI', '@daily', '0 0 1,15 * 0-7']) {
    it(`accepts ${ok}`, () => assert.equal(checkKubernetesCron(ok, 'backup.stackGraph.scheduled.schedule'), ok));
  }
  for (const [bad, why] of [
    ['0 3 * *', 'has 4 fields'],
    ['0 0 3 * * ?', 'has 6 fields'],
    ['61 * * * *', 'out of range for minute'],
    ['0 24 * * *', 'out of range for hour'],
    ['*/0 * * * *', 'step "0"'],
    ['0 3 * * $(reboot)', 'out of range'],
  ] as const) {
    it(`rejects ${bad}`, () =>
      assert.throws(
        () => checkKubernetesCron(bad, 'backup.stackGraph.scheduled.schedule'),
        (e: Error) => e.message.includes(why) && e.message.includes('backup.stackGraph.scheduled.schedule'),
      ));
  }
});

describe('Elasticsearch cron schedules', () => {
  for (const ok of ['0 0 3 * * ?', '0 30 1 * * ?', '0 0 */6 ? * MON-FRI', '0 0 3 L * ? 2030']) {
    it(`accepts ${ok}`, () => assert.equal(checkElasticsearchCron(ok, 'backup.elasticsearch.scheduled.schedule'), ok));
  }
  for (const [bad, why] of [
    ['0 3 * * *', 'has 5 fields'],
    ['0 0 3 * * *', 'exactly one of day-of-month and day-of-week'],
    ['0 0 3 ? * ?', 'exactly one'],
    ['0 60 3 * * ?', 'out of range for minutes'],
  ] as const) {
    it(`rejects ${bad}`, () =>
      assert.throws(
        () => checkElasticsearchCron(bad, 'backup.elasticsearch.scheduled.schedule'),
        (e: Error) => e.message.includes(why),
      ));
  }
});
