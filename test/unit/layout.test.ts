/**
 * storage/layout.ts is the only place that knows a key or name format: a scan of src/ finds no key
 * built elsewhere; each format goes round trip (name -> parse -> same time/parts); and the operator
 * scripts' name patterns (restore/lib/common.sh) accept exactly what the CLI's strict names accept.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { DateTime } from 'luxon';
import { isValidName, type NameKind } from '../../src/config/names.js';
import * as layout from '../../src/storage/layout.js';
import { REPO_ROOT } from '../servers/harness.js';

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = join(dir, name);
    return statSync(full).isDirectory() ? sources(full) : full.endsWith('.ts') ? [full] : [];
  });
}

/** The source without comments (so that documentation may show a format). */
function code(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1');
}

/** String and template literals; a template's `${...}` parts are kept apart from its text. */
function literals(text: string): { text: string; interpolated: string[] }[] {
  const out: { text: string; interpolated: string[] }[] = [];
  for (const m of text.matchAll(/'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"|`(?:[^`\\]|\\.)*`/g)) {
    const raw = m[0];
    const interpolated = [...raw.matchAll(/\$\{([^}]*)\}/g)].map((x) => (x[1] ?? '').trim());
    out.push({ text: raw.slice(1, -1).replace(/\$\{[^}]*\}/g, ''), interpolated });
  }
  return out;
}

/** The pieces of every format, as layout.ts spells them: no other file may put them into a key. */
const FORMAT_PIECES = [
  'sts-backup',
  '.graph',
  '.sha256',
  'backup_complete.ignore',
  'stackbackup-volume.json',
  'claim=',
  'owner=',
  'demo-backup-',
  '/locks/',
];
const LAYOUT_CONSTANTS = Object.entries(layout)
  .filter(([, v]) => typeof v === 'string')
  .map(([k]) => k);

describe('storage/layout.ts owns every key format', () => {
  it('no other file in src/ builds a key (format pieces or layout constants in key-like literals or concatenations)', () => {
    const violations: string[] = [];
    const files = sources(join(REPO_ROOT, 'src')).filter((f) => !f.endsWith(join('storage', 'layout.ts')));
    assert.ok(files.length > 40, 'found the sources');
    assert.ok(
      LAYOUT_CONSTANTS.includes('CHECKSUM_SUFFIX') && LAYOUT_CONSTANTS.includes('VICTORIA_METRICS_COMPLETE_MARKER'),
    );
    for (const file of files) {
      const where = relative(REPO_ROOT, file);
      const text = code(readFileSync(file, 'utf8'));
      for (const lit of literals(text)) {
        // Prose (messages, help) may name a format; a key has no spaces.
        if (/\s/.test(lit.text)) continue;
        for (const piece of FORMAT_PIECES)
          if (lit.text.includes(piece)) violations.push(`${where}: literal ${JSON.stringify(lit.text)} holds ${piece}`);
        for (const name of lit.interpolated)
          if (LAYOUT_CONSTANTS.includes(name)) violations.push(`${where}: \`...\${${name}}...\` builds a key`);
      }
      for (const name of LAYOUT_CONSTANTS) {
        if (new RegExp(`\\b${name}\\s*\\+|\\+\\s*${name}\\b`).test(text))
          violations.push(`${where}: concatenates ${name}`);
      }
    }
    assert.deepEqual(violations, []);
  });

  it('the scan finds a key built by hand (it is not vacuous)', () => {
    const sample = code("const marker = `${prefix}${VICTORIA_METRICS_COMPLETE_MARKER}`; const k = name + '.sha256';");
    const found = literals(sample).flatMap((l) => [
      ...l.interpolated.filter((n) => LAYOUT_CONSTANTS.includes(n)),
      ...FORMAT_PIECES.filter((p) => !/\s/.test(l.text) && l.text.includes(p)),
    ]);
    assert.deepEqual(found, ['VICTORIA_METRICS_COMPLETE_MARKER', '.sha256']);
  });
});

describe('every format goes round trip', () => {
  const at = DateTime.fromISO('2026-02-28T23:59:41Z', { zone: 'utc' });
  const minute = at.startOf('minute');

  it('StackGraph backups: sts-backup-YYYYMMDD-HHMM.graph, UTC, to the minute', () => {
    const name = layout.stackGraphBackupName(at.setZone('Europe/Amsterdam'));
    assert.equal(name, 'sts-backup-20260228-2359.graph');
    assert.ok(name.startsWith(layout.STACKGRAPH_BACKUP_PREFIX));
    assert.equal(layout.parseStackGraphBackupName(name)?.toISO(), minute.toISO());
    for (const other of [
      'sts-backup-20260228-2359.graph.sha256',
      'sts-backup-20261301-0000.graph',
      'x-sts-backup-20260228-2359.graph',
    ])
      assert.equal(layout.parseStackGraphBackupName(other), undefined, other);
  });

  it('checksums: <key>.sha256 and back', () => {
    const key = layout.checksumKey('sts-backup-20260228-2359.graph');
    assert.ok(layout.isChecksumKey(key));
    assert.equal(layout.dataKeyOf(key), 'sts-backup-20260228-2359.graph');
  });

  it('Victoria Metrics: <instance>/<instance>-YYYYMMDDHHMMSS/ and its completion marker', () => {
    const version = layout.victoriaMetricsVersion('victoria-metrics-0', at);
    assert.equal(version, 'victoria-metrics-0-20260228235941');
    assert.equal(layout.parseVictoriaMetricsVersion('victoria-metrics-0', version)?.toISO(), at.toISO());
    assert.equal(layout.parseVictoriaMetricsVersion('victoria-metrics-1', version), undefined);
    const marker = layout.victoriaMetricsCompleteKey('victoria-metrics-0', version);
    assert.equal(marker, `victoria-metrics-0/${version}/backup_complete.ignore`);
    const parsed = layout.parseVictoriaMetricsKey(marker);
    assert.deepEqual(
      { ...parsed, takenAt: parsed?.takenAt.toISO() },
      { instance: 'victoria-metrics-0', version, path: 'backup_complete.ignore', takenAt: at.toISO() },
    );
  });

  it('Elasticsearch snapshots: sts-backup-YYYYMMDD-HHMM-<suffix>, the suffix made as SLM makes it', () => {
    const suffix = layout.elasticsearchSnapshotSuffix(new Uint8Array(16).fill(250));
    assert.match(suffix, /^[a-z0-9_-]{22}$/);
    const name = layout.elasticsearchSnapshotName(at, suffix);
    assert.ok(name.startsWith(layout.ELASTICSEARCH_SNAPSHOT_PREFIX));
    assert.equal(layout.parseElasticsearchSnapshotName(name)?.toISO(), minute.toISO());
    assert.equal(layout.parseElasticsearchSnapshotName('sts-backup-20260228-2359'), undefined);
  });

  it('restic: claim and owner tags, the repository prefix and its keys', () => {
    assert.deepEqual(
      layout.parseResticTags([layout.resticClaimTag('claim-alice'), layout.resticOwnerTag('alice%2Cbob')]),
      { claim: 'claim-alice', owner: 'alice%2Cbob' },
    );
    assert.deepEqual(layout.parseResticTags(null), { claim: undefined, owner: undefined });
    assert.equal(layout.resticConfigKey('volumes/ns//'), 'volumes/ns/config');
    assert.equal(layout.resticLocksPrefix('volumes'), 'volumes/locks/');
    assert.equal(
      layout.resticRepositoryUrl(
        { kind: 's3', endpoint: new URL('http://minio:9000/') },
        'sts-volume-backup',
        'volumes/',
      ),
      's3:http://minio:9000/sts-volume-backup/volumes',
    );
  });

  it('volume backup Jobs: a valid Kubernetes name, stable within a window', () => {
    const name = layout.volumeBackupJobName('volume-backup-'.repeat(6), 'deadbeefcafe', at);
    assert.ok(name.length <= 63 && isValidName('kubernetesName', name), name);
    assert.ok(name.endsWith('-deadbeef-202602282359'));
  });
});

describe('the operator scripts accept the names the CLI accepts', () => {
  /** restore/lib/common.sh's pattern kinds and the CLI's strict name kinds they must agree with. */
  const PAIRS: [string, NameKind][] = [
    ['backup-name', 'backupName'],
    ['bucket', 'bucket'],
    ['k8s-name', 'kubernetesName'],
  ];
  const samples = [
    layout.stackGraphBackupName(DateTime.utc()),
    layout.elasticsearchSnapshotName(DateTime.utc(), layout.elasticsearchSnapshotSuffix(new Uint8Array(16).fill(7))),
    layout.victoriaMetricsVersion('victoria-metrics-0', DateTime.utc()),
    'victoria-metrics-0',
    'sts-stackgraph-backup',
    'a',
    'ab',
    'abc',
    'A-b',
    'a..b',
    '-a',
    'a-',
    'x'.repeat(63),
    'x'.repeat(64),
    'xn--abc',
    'a.b-c',
    'a;rm -rf /',
    '$(id)',
    'a b',
    '../etc',
    'a/b',
    '',
    '.hidden',
    'sts-backup-20260101-0300.graph;id',
  ];

  it('for every sample, restore/lib/common.sh and config/names.ts give the same verdict', () => {
    const script = [
      'set -u',
      `source ${JSON.stringify(join(REPO_ROOT, 'restore', 'lib', 'common.sh'))}`,
      'while IFS= read -r kind && IFS= read -r value; do if sb_is_valid "$kind" "$value"; then echo 1; else echo 0; fi; done',
    ].join('\n');
    const input = PAIRS.flatMap(([kind]) => samples.flatMap((s) => [kind, s])).join('\n') + '\n';
    const verdicts = execFileSync('bash', ['-c', script], { input, encoding: 'utf8' }).trim().split('\n');
    const disagreements: string[] = [];
    let i = 0;
    for (const [kind, tsKind] of PAIRS) {
      for (const s of samples) {
        const bash = verdicts[i++] === '1';
        if (bash !== isValidName(tsKind, s))
          disagreements.push(
            `${kind} ${JSON.stringify(s)}: script ${bash ? 'accepts' : 'refuses'}, CLI ${bash ? 'refuses' : 'accepts'}`,
          );
      }
    }
    assert.equal(verdicts.length, PAIRS.length * samples.length);
    assert.deepEqual(disagreements, []);
  });
});

describe('time stamps in names: the fast parse agrees with luxon', () => {
  it('every 7th hour and odd minute of 2023-2025 parses to the time luxon reads; impossible dates are refused', () => {
    const disagreements: string[] = [];
    for (let at = DateTime.utc(2023, 1, 1, 0, 7); at.year < 2026; at = at.plus({ hours: 7, minutes: 13 })) {
      const name = layout.stackGraphBackupName(at);
      const expected = DateTime.fromFormat(at.toFormat('yyyyMMdd-HHmm'), 'yyyyMMdd-HHmm', { zone: 'utc' });
      const parsed = layout.parseStackGraphBackupName(name);
      if (parsed?.toMillis() !== expected.toMillis() || parsed.zoneName !== 'UTC') disagreements.push(name);
      const version = layout.victoriaMetricsVersion('vm', at.plus({ seconds: 59 }));
      if (layout.parseVictoriaMetricsVersion('vm', version)?.toMillis() !== at.plus({ seconds: 59 }).toMillis())
        disagreements.push(version);
    }
    assert.deepEqual(disagreements, []);
    for (const bad of ['20230229-0300', '20241301-0000', '20240431-0000', '20240101-2500', '20240101-0060'])
      assert.equal(layout.parseStackGraphBackupName(`sts-backup-${bad}.graph`), undefined, bad);
    assert.equal(
      layout.parseStackGraphBackupName('sts-backup-20240229-2359.graph')?.toISO(),
      '2024-02-29T23:59:00.000Z',
    );
  });
});
