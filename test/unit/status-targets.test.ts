/**
 * The targets file's claimSelector entries (backup.volumes.claimSelector) and how status turns them
 * into one target per selected claim.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DateTime } from 'luxon';
import { collectStatus, expandTargets } from '../../src/health/status.js';
import { parseTargets } from '../../src/health/targets.js';

const repo = { bucket: 'sts-volumes-backup', prefix: 'restic', host: 'minio:9000' };
const doc = (targets: unknown[]) => ({ targets });

describe('claimSelector targets', () => {
  it('parses a selector entry apart from the named targets', () => {
    const config = parseTargets(
      doc([
        { store: 'volumes', target: 'claim-alice', list: { ...repo, claim: 'claim-alice' }, claimJobs: true },
        { store: 'volumes', claimSelector: 'component=singleuser-storage', list: repo, claimJobs: true },
      ]),
      'targets.json',
    );
    assert.deepEqual(
      config.targets.map((t) => t.target),
      ['claim-alice'],
    );
    assert.equal(config.claimSelectors.length, 1);
    assert.equal(config.claimSelectors[0]?.selector, 'component=singleuser-storage');
    assert.equal(config.claimSelectors[0]?.claimJobs, true);
  });

  it('refuses a selector on another store, beside a target, twice, or that is not a label selector', () => {
    const bad: [unknown, RegExp][] = [
      [{ store: 'stackgraph', claimSelector: 'a=b' }, /claimSelector is for the volumes store only/],
      [{ store: 'volumes', target: 'claim-x', claimSelector: 'a=b' }, /either target or claimSelector, not both/],
      [{ store: 'volumes', claimSelector: 'a=b;rm -rf /' }, /is not a label selector/],
      [{ store: 'volumes', claimSelector: ' ' }, /claimSelector must be a non-empty string/],
    ];
    for (const [entry, message] of bad) assert.throws(() => parseTargets(doc([entry]), 't.json'), message);
    assert.throws(
      () =>
        parseTargets(
          doc([
            { store: 'volumes', claimSelector: 'a=b' },
            { store: 'volumes', claimSelector: 'a=b' },
          ]),
          't.json',
        ),
      /claimSelector a=b is listed twice/,
    );
  });

  it('expands to the selected claims, sorted, each with its claim; a named claim is reported once', () => {
    const config = parseTargets(
      doc([
        { store: 'volumes', target: 'claim-bob', list: { ...repo, claim: 'claim-bob' }, claimJobs: true },
        { store: 'volumes', claimSelector: 'team=data', list: repo, claimJobs: true, schedule: '0 2 * * *' },
      ]),
      't.json',
    );
    const kube = { jobs: [], cronJobs: [], claims: { 'team=data': ['claim-zoe', 'claim-bob', 'claim-amy'] } };
    const targets = expandTargets(config, kube);
    assert.deepEqual(
      targets.map((t) => [t.target, t.list.claim, t.schedule?.expression ?? null]),
      [
        ['claim-bob', 'claim-bob', null],
        ['claim-amy', 'claim-amy', '0 2 * * *'],
        ['claim-zoe', 'claim-zoe', '0 2 * * *'],
      ],
    );
    assert.ok(targets.every((t) => t.list.bucket === repo.bucket && t.claimJobs));
  });

  it('a selector that picks no claim is a row of its own, never ok', async () => {
    const config = parseTargets(doc([{ store: 'volumes', claimSelector: 'team=none', list: repo }]), 't.json');
    const report = await collectStatus(config, {
      ctx: { storage: { kind: 'filesystem', root: '/nonexistent' }, now: () => DateTime.utc() },
      kube: { jobs: [], cronJobs: [], claims: { 'team=none': [] } },
    });
    assert.equal(report.ok, false);
    assert.deepEqual(
      report.targets.map((t) => [t.target, t.state, t.reason]),
      [['claimSelector team=none', 'never', 'no claim in the namespace matches claimSelector team=none']],
    );
  });
});
