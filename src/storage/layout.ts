/**
 * Every object key and backup name format, in one place, in UTC (luxon). No other module builds a
 * key: stores ask here for names and parse them back here.
 */
import { DateTime } from 'luxon';

/** The checksum published next to each object we upload (sha256sum format: `<hex>  <name>`). */
export const CHECKSUM_SUFFIX = '.sha256';

export function checksumKey(key: string): string {
  return `${key}${CHECKSUM_SUFFIX}`;
}

export function isChecksumKey(key: string): boolean {
  return key.endsWith(CHECKSUM_SUFFIX);
}

export function dataKeyOf(checksum: string): string {
  return checksum.slice(0, -CHECKSUM_SUFFIX.length);
}

/**
 * The UTC time of a `yyyyMMddHHmm[ss]` stamp, or undefined when it names no real time (month 13,
 * 31 February, hour 24, years before 1000). For every stamp this module writes, the answer luxon's
 * fromFormat gives, at a fraction of the cost: a status scan parses every backup name in the bucket.
 */
function parseUtcStamp(digits: string): DateTime | undefined {
  const part = (from: number, to: number): number => Number(digits.slice(from, to));
  const [year, month, day, hour, minute] = [part(0, 4), part(4, 6), part(6, 8), part(8, 10), part(10, 12)];
  const second = digits.length >= 14 ? part(12, 14) : 0;
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  const back = new Date(ms);
  if (
    year < 1000 ||
    back.getUTCFullYear() !== year ||
    back.getUTCMonth() !== month - 1 ||
    back.getUTCDate() !== day ||
    back.getUTCHours() !== hour ||
    back.getUTCMinutes() !== minute ||
    back.getUTCSeconds() !== second
  )
    return undefined;
  return DateTime.fromMillis(ms, { zone: 'utc' });
}

// StackGraph: sts-backup-YYYYMMDD-HHMM.graph, one full export each.
const STACKGRAPH_PATTERN = /^sts-backup-([0-9]{8})-([0-9]{4})\.graph$/;

/** The file a StackGraph export is written to before its upload (local, never an object key). */
export const STACKGRAPH_EXPORT_FILE = 'stackgraph-export.graph';

/** Every StackGraph backup key starts with this (list them by prefix). */
export const STACKGRAPH_BACKUP_PREFIX = 'sts-backup-';

export function stackGraphBackupName(at: DateTime): string {
  return `sts-backup-${at.toUTC().toFormat('yyyyMMdd-HHmm')}.graph`;
}

/** The time a StackGraph backup was taken, or undefined when the name is not ours. */
export function parseStackGraphBackupName(name: string): DateTime | undefined {
  const match = STACKGRAPH_PATTERN.exec(name);
  if (!match) return undefined;
  return parseUtcStamp(`${match[1]}${match[2]}`);
}

// Victoria Metrics: <instance>/<instance>-YYYYMMDDHHMMSS/ per version.
export function victoriaMetricsPrefix(instance: string): string {
  return `${instance}/`;
}

export function victoriaMetricsVersion(instance: string, at: DateTime): string {
  return `${instance}-${at.toUTC().toFormat('yyyyMMddHHmmss')}`;
}

export function victoriaMetricsVersionPrefix(instance: string, version: string): string {
  return `${victoriaMetricsPrefix(instance)}${version}/`;
}

export function parseVictoriaMetricsVersion(instance: string, version: string): DateTime | undefined {
  if (!version.startsWith(`${instance}-`)) return undefined;
  const stamp = version.slice(instance.length + 1);
  if (!/^[0-9]{14}$/.test(stamp)) return undefined;
  return parseUtcStamp(stamp);
}

/** The marker vmbackup writes last into a version's folder; its time is the last completed backup. */
export const VICTORIA_METRICS_COMPLETE_MARKER = 'backup_complete.ignore';

/** The volume marker stackbackup keeps in an instance's -storageDataPath (see stores/victoria-metrics/volume.ts). */
export const VICTORIA_METRICS_VOLUME_MARKER = 'stackbackup-volume.json';

export function victoriaMetricsCompleteKey(instance: string, version: string): string {
  return `${victoriaMetricsVersionPrefix(instance, version)}${VICTORIA_METRICS_COMPLETE_MARKER}`;
}

/** Splits a key of the Victoria Metrics bucket into instance, version and the path inside the version. */
export function parseVictoriaMetricsKey(
  key: string,
): { instance: string; version: string; path: string; takenAt: DateTime } | undefined {
  const [instance = '', version = '', ...rest] = key.split('/');
  if (instance === '' || rest.length === 0) return undefined;
  const takenAt = parseVictoriaMetricsVersion(instance, version);
  return takenAt === undefined ? undefined : { instance, version, path: rest.join('/'), takenAt };
}

/**
 * Where vmbackup/vmrestore read and write a version: `s3://bucket/<instance>/<version>/` on S3, or
 * `fs:///<root>/<bucket>/<instance>/<version>/` on the filesystem backend (the same folders
 * FilesystemStore reads).
 */
export function victoriaMetricsRemoteUrl(
  target: { kind: 's3' } | { kind: 'filesystem'; root: string },
  bucket: string,
  instance: string,
  version: string,
): string {
  const prefix = victoriaMetricsVersionPrefix(instance, version);
  if (target.kind === 's3') return `s3://${bucket}/${prefix}`;
  return `fs://${target.root.replace(/\/+$/, '')}/${bucket}/${prefix}`;
}

/** The time column of `victoria-metrics list`: `2024-01-05 11:25:04 UTC`. */
export function victoriaMetricsListTime(at: DateTime): string {
  return at.toUTC().toFormat("yyyy-MM-dd HH:mm:ss 'UTC'");
}

// Elasticsearch: SLM name template; Elasticsearch appends a random suffix.
export const ELASTICSEARCH_REPOSITORY = 'sts-backup';
export const ELASTICSEARCH_SNAPSHOT_TEMPLATE = '<sts-backup-{now{yyyyMMdd-HHmm}}>';
/** The id of the SLM policy `elasticsearch configure` puts (engine slm). */
export const ELASTICSEARCH_SLM_POLICY = 'sts-backup';
/** Every snapshot name of ours starts with this. */
export const ELASTICSEARCH_SNAPSHOT_PREFIX = 'sts-backup-';
// SLM's suffix is a random base64url UUID, lower-cased (22 characters); ours is made the same way.
const ELASTICSEARCH_SNAPSHOT_PATTERN = /^sts-backup-([0-9]{8})-([0-9]{4})-([a-z0-9_-]{1,64})$/;

export function elasticsearchSnapshotName(at: DateTime, suffix: string): string {
  return `sts-backup-${at.toUTC().toFormat('yyyyMMdd-HHmm')}-${suffix}`;
}

/** The suffix the cronjob engine appends, from 16 random bytes, as SLM makes it. */
export function elasticsearchSnapshotSuffix(random: Uint8Array): string {
  return Buffer.from(random).toString('base64url').toLowerCase().slice(0, 22);
}

/** The time (UTC, to the minute) in a snapshot name of ours, or undefined when the name is not ours. */
export function parseElasticsearchSnapshotName(name: string): DateTime | undefined {
  const match = ELASTICSEARCH_SNAPSHOT_PATTERN.exec(name);
  if (!match) return undefined;
  return parseUtcStamp(`${match[1]}${match[2]}`);
}

/** A drill restores a snapshot's indices under this prefix, never over a live index: `drill-<index>`. */
export const ELASTICSEARCH_DRILL_PREFIX = 'drill-';

export function elasticsearchDrillIndex(index: string): string {
  return `${ELASTICSEARCH_DRILL_PREFIX}${index}`;
}

/** The same renaming as Elasticsearch's restore takes it (rename_pattern, rename_replacement). */
export const ELASTICSEARCH_DRILL_RENAME = { pattern: '(.+)', replacement: elasticsearchDrillIndex('$1') } as const;

/** The time columns of `elasticsearch list`: `2024-01-05 03:00:04 UTC`. */
export function elasticsearchListTime(at: DateTime): string {
  return at.toUTC().toFormat("yyyy-MM-dd HH:mm:ss 'UTC'");
}

// Volumes: one restic repository under a prefix of the bucket.
export function resticRepositoryPrefix(prefix = 'volumes'): string {
  return prefix.replace(/\/+$/, '');
}

/** The object restic writes first and that says a repository exists under a prefix. */
export function resticConfigKey(prefix: string): string {
  return `${resticRepositoryPrefix(prefix)}/config`;
}

/** Where restic keeps its lock files: one object per process that holds the repository. */
export function resticLocksPrefix(prefix: string): string {
  return `${resticRepositoryPrefix(prefix)}/locks/`;
}

/**
 * restic's repository address: `s3:<endpoint>/<bucket>/<prefix>` on S3 (what the plain restic CLI takes
 * with -r), or the local folder `<root>/<bucket>/<prefix>` on the filesystem backend.
 */
export function resticRepositoryUrl(
  target: { kind: 's3'; endpoint: URL } | { kind: 'filesystem'; root: string },
  bucket: string,
  prefix: string,
): string {
  const path = `${bucket}/${resticRepositoryPrefix(prefix)}`;
  if (target.kind === 's3') return `s3:${target.endpoint.origin}/${path}`;
  return `${target.root.replace(/\/+$/, '')}/${path}`;
}

/** Tags of a volume snapshot: `claim=<name>` always, `owner=<user>` when the owner is known. */
export const RESTIC_CLAIM_TAG = 'claim=';
export const RESTIC_OWNER_TAG = 'owner=';

export function resticClaimTag(claim: string): string {
  return `${RESTIC_CLAIM_TAG}${claim}`;
}

export function resticOwnerTag(owner: string): string {
  return `${RESTIC_OWNER_TAG}${owner}`;
}

/** The claim and owner a snapshot's tags name (undefined when absent). */
export function parseResticTags(tags: readonly string[] | null | undefined): {
  claim: string | undefined;
  owner: string | undefined;
} {
  const find = (prefix: string) => tags?.find((t) => t.startsWith(prefix))?.slice(prefix.length);
  return { claim: find(RESTIC_CLAIM_TAG), owner: find(RESTIC_OWNER_TAG) };
}

/** restic's --time (read in the zone of the restic process, which stackbackup runs with TZ=UTC). */
export function resticTime(at: DateTime): string {
  return at.toUTC().toFormat('yyyy-MM-dd HH:mm:ss');
}

/** Where a backup Job mounts a claim (read-only); also the path its snapshots record. */
export function volumeMountPath(claim: string): string {
  return `/volumes/${claim}`;
}

/**
 * The Job the volume dispatcher creates for one claim in one backup window:
 * `<prefix>-<8 hex of the claim's hash>-<YYYYMMDDHHMM of the window start>` (at most 63 characters),
 * so that a rerun of the dispatcher in the same window finds the Job it already created.
 */
export function volumeBackupJobName(prefix: string, claimHash: string, windowStart: DateTime): string {
  const stamp = windowStart.toUTC().toFormat('yyyyMMddHHmm');
  return `${prefix.slice(0, 63 - 22).replace(/-+$/, '')}-${claimHash.slice(0, 8)}-${stamp}`;
}

// The demo's own objects.
export function demoBackupName(at: DateTime): string {
  return `demo-backup-${at.toUTC().toFormat('yyyyMMdd-HHmmss')}.tar`;
}

// Drills: what each backup holds (recorded at backup time) and one result per drill, beside the backups.
/** Every backup record key starts with this (outside every store's own prefixes). */
export const BACKUP_RECORD_PREFIX = 'stackbackup-records/';
/** Every drill result key starts with this. */
export const DRILL_RECORD_PREFIX = 'stackbackup-drills/';

/** What a backup holds, recorded when it was taken: `stackbackup-records/<target>/<name>.json`. */
export function backupRecordKey(target: string, name: string): string {
  return `${backupRecordPrefix(target)}${name}.json`;
}

/** The records of one target: `stackbackup-records/<target>/`. */
export function backupRecordPrefix(target: string): string {
  return `${BACKUP_RECORD_PREFIX}${target}/`;
}

/**
 * The flag of a backup that shrank against the previous one: `stackbackup-records/<target>/shrunk/<name>`,
 * a folder of its own, so that one small listing finds the flagged backups without reading, or even
 * listing, every record.
 */
export function shrunkMarkerPrefix(target: string): string {
  return `${backupRecordPrefix(target)}shrunk/`;
}

export function shrunkMarkerKey(target: string, name: string): string {
  return `${shrunkMarkerPrefix(target)}${name}`;
}

/** The backup a shrunk marker key flags, or undefined for any other key. */
export function shrunkMarkerBackup(target: string, key: string): string | undefined {
  const prefix = shrunkMarkerPrefix(target);
  return key.startsWith(prefix) && key.length > prefix.length ? key.slice(prefix.length) : undefined;
}

/** One drill's result: `stackbackup-drills/<target>/<YYYYMMDDHHMMSS>.json` (UTC), sorting by time. */
export function drillRecordKey(target: string, at: DateTime): string {
  return `${DRILL_RECORD_PREFIX}${target}/${at.toUTC().toFormat('yyyyMMddHHmmss')}.json`;
}

export function drillRecordPrefix(target: string): string {
  return `${DRILL_RECORD_PREFIX}${target}/`;
}
