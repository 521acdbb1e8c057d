/**
 * What the Elasticsearch verbs share: defaults (as StackState documents them), the Helm values behind
 * each setting (named in messages), and strict parsing of the connection, index patterns and retention.
 * Nothing here talks to Elasticsearch.
 */
import { readFileSync } from 'node:fs';
import type { Duration } from 'luxon';
import { parseElasticsearchTime } from '../../config/durations.js';
import { checkName } from '../../config/names.js';
import { text as optionText, wholeNumber } from '../../config/options.js';
import { ELASTICSEARCH_REPOSITORY } from '../../storage/layout.js';
import { ExitCode, StackbackupError, usageError } from '../../util/errors.js';
import { registerSecret } from '../../util/redact.js';

export const DEFAULT_BUCKET = 'sts-elasticsearch-backup';
export const DEFAULT_INDICES = 'sts*';
export const DEFAULT_SCHEDULE = '0 0 3 * * ?';
export const DEFAULT_EXPIRE_AFTER = '30d';
export const DEFAULT_MIN_COUNT = 5;
export const DEFAULT_MAX_COUNT = 30;
/** How long a snapshot or restore request may wait for Elasticsearch to finish (the verb's --timeout-seconds). */
export const DEFAULT_TIMEOUT_SECONDS = 6 * 3600;

/** The Helm values behind each setting, named in messages so that the operator knows what to change. */
export const VALUES = {
  url: 'backup.elasticsearch.url',
  auth: 'backup.elasticsearch.auth.existingSecret',
  bucket: 'backup.elasticsearch.bucketName',
  repositoryType: 'backup.elasticsearch.repository.type',
  client: 'backup.elasticsearch.repository.client',
  endpoint: 'backup.elasticsearch.repository.endpoint',
  basePath: 'backup.elasticsearch.repository.basePath',
  pathStyleAccess: 'backup.elasticsearch.repository.pathStyleAccess',
  inlineCredentials: 'backup.elasticsearch.repository.inlineCredentials',
  location: 'backup.elasticsearch.repository.location',
  engine: 'backup.elasticsearch.scheduled.engine',
  schedule: 'backup.elasticsearch.scheduled.schedule',
  indices: 'backup.elasticsearch.scheduled.indices',
  expireAfter: 'backup.elasticsearch.scheduled.snapshotRetentionExpireAfter',
  minCount: 'backup.elasticsearch.scheduled.snapshotRetentionMinCount',
  maxCount: 'backup.elasticsearch.scheduled.snapshotRetentionMaxCount',
  scaleDown: 'backup.elasticsearch.restore.scaleDownLabelSelector',
  forceMode: 'backup.elasticsearch.restore.forceMode',
} as const;

type Env = Record<string, string | undefined>;

/** How to reach Elasticsearch: its HTTP address and, when it has security on, basic credentials. */
export interface Connection {
  url: URL;
  username: string | undefined;
  password: string | undefined;
  /** PEM CA bundle to trust for an https:// address (empty: the system's). */
  caFile: string | undefined;
}

export const CONNECTION_ENV = {
  url: 'STACKBACKUP_ES_URL',
  username: 'STACKBACKUP_ES_USERNAME',
  password: 'STACKBACKUP_ES_PASSWORD',
  caFile: 'STACKBACKUP_ES_CA_FILE',
} as const;

function readSecret(env: Env, name: string): string | undefined {
  const file = env[`${name}_FILE`];
  if (file !== undefined && file !== '') {
    try {
      return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    } catch {
      throw new StackbackupError(`cannot read ${name}_FILE (${file})`, {
        exitCode: ExitCode.credentials,
        hint: `Check that the Elasticsearch credentials Secret (${VALUES.auth}) is mounted into the job.`,
      });
    }
  }
  const literal = env[name];
  return literal === '' ? undefined : literal;
}

/**
 * The connection from --url (else STACKBACKUP_ES_URL) and the credentials from the environment
 * (STACKBACKUP_ES_USERNAME[_FILE], STACKBACKUP_ES_PASSWORD[_FILE]; the chart mounts them from a Secret).
 */
export function parseConnection(rawUrl: unknown, env: Env = process.env): Connection {
  const text = rawUrl === undefined || rawUrl === '' ? (env[CONNECTION_ENV.url] ?? '') : String(rawUrl);
  if (text === '')
    throw usageError(
      `no Elasticsearch address: give --url or set ${CONNECTION_ENV.url}`,
      `The chart sets it from ${VALUES.url}, for example http://stackstate-elasticsearch-master:9200.`,
    );
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw usageError(`Elasticsearch address "${text}" is not a URL`, `Use the form http://host:9200 (${VALUES.url}).`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw usageError(`Elasticsearch address "${text}" must start with http:// or https://`);
  if (url.username !== '' || url.password !== '') {
    registerSecret(decodeURIComponent(url.password));
    throw usageError(
      'the Elasticsearch address must not carry credentials',
      `Put them in a Secret with keys username and password and name it in ${VALUES.auth}.`,
    );
  }
  if (url.search !== '' || url.hash !== '')
    throw usageError(`Elasticsearch address "${text}" must not have a query or fragment`);
  const username = readSecret(env, CONNECTION_ENV.username);
  const password = readSecret(env, CONNECTION_ENV.password);
  registerSecret(password);
  if ((username === undefined) !== (password === undefined)) {
    throw new StackbackupError('only one of the Elasticsearch username and password is set', {
      exitCode: ExitCode.credentials,
      hint: `The Secret named by ${VALUES.auth} needs both keys: username and password.`,
    });
  }
  const caFile = env[CONNECTION_ENV.caFile] || undefined;
  return { url, username, password, caFile };
}

/** The snapshot repository name: `sts-backup` unless told otherwise. */
export function parseRepository(raw: unknown): string {
  const name = optionText(raw, '--repository', ELASTICSEARCH_REPOSITORY);
  if (!/^[a-z0-9][a-z0-9._-]{0,254}$/.test(name))
    throw usageError(
      `invalid snapshot repository name ${JSON.stringify(name)}; use lower-case letters, digits, dots, underscores and hyphens`,
    );
  return name;
}

export function parseBucket(raw: unknown): string {
  return checkName(
    'bucket',
    optionText(raw, `--bucket (${VALUES.bucket})`, DEFAULT_BUCKET),
    `--bucket (${VALUES.bucket})`,
  );
}

// One index name or pattern: Elasticsearch's rules (lower case; none of \ / ? " < > | space , #), plus
// `*` wildcards and a leading `-` for exclusions. Date math (`<...>`) is not accepted.
const INDEX_PATTERN = /^-?[a-z0-9._*+][a-z0-9._*+-]{0,254}$/;

/**
 * Index names or patterns, as comma-separated text (`sts*,-sts_tmp*`) or a JSON array (`["sts*"]`,
 * StackState's format). Returns them in order, without duplicates.
 */
export function parseIndexPatterns(raw: unknown, source: string): string[] {
  const text = raw === undefined ? '' : String(raw).trim();
  if (text === '')
    throw usageError(`${source} is empty; give index names or patterns, for example "sts*" or '["sts*"]'`);
  let items: unknown[];
  if (text.startsWith('[')) {
    try {
      const parsed: unknown = JSON.parse(text);
      if (!Array.isArray(parsed)) throw new Error('not an array');
      items = parsed;
    } catch {
      throw usageError(
        `${source} ${JSON.stringify(text)} is not a JSON array of strings`,
        'Use for example ["sts*"] or sts*,other*.',
      );
    }
  } else {
    items = text.split(',').map((s) => s.trim());
  }
  const patterns: string[] = [];
  for (const item of items) {
    if (typeof item !== 'string' || !INDEX_PATTERN.test(item)) {
      throw usageError(
        `${source}: invalid index name or pattern ${JSON.stringify(item)}`,
        'Index names are lower case: letters, digits and . _ - +, with * as a wildcard and a leading - to exclude; separated by commas.',
      );
    }
    if (item === '-' || item.startsWith('--')) throw usageError(`${source}: invalid exclusion ${JSON.stringify(item)}`);
    if (!patterns.includes(item)) patterns.push(item);
  }
  if (patterns.every((p) => p.startsWith('-')))
    throw usageError(
      `${source} ${JSON.stringify(text)} only excludes; name what to include first, for example "sts*,-sts_tmp*"`,
    );
  return patterns;
}

export interface RetentionSettings {
  /** As given, for messages and the SLM policy: `30d`. */
  expireAfter: string;
  maxAge: Duration;
  minCount: number;
  maxCount: number;
}

function count(raw: unknown, fallback: number, option: string, value: string): number {
  return wholeNumber(raw, `${option} (${value})`, 1, 10_000, fallback);
}

/** SLM's retention: expire_after (Elasticsearch time unit), min_count, max_count (min_count <= max_count). */
export function parseRetention(raw: {
  expireAfter?: unknown;
  minCount?: unknown;
  maxCount?: unknown;
}): RetentionSettings {
  const expireAfter = optionText(
    raw.expireAfter,
    `--expire-after (${VALUES.expireAfter})`,
    DEFAULT_EXPIRE_AFTER,
  ).trim();
  const maxAge = parseElasticsearchTime(expireAfter, `--expire-after (${VALUES.expireAfter})`);
  if (maxAge.as('milliseconds') <= 0)
    throw usageError(
      `--expire-after (${VALUES.expireAfter}) "${expireAfter}" is zero; it would expire every snapshot at once`,
    );
  const minCount = count(raw.minCount, DEFAULT_MIN_COUNT, '--min-count', VALUES.minCount);
  const maxCount = count(raw.maxCount, DEFAULT_MAX_COUNT, '--max-count', VALUES.maxCount);
  if (minCount > maxCount) {
    throw usageError(
      `--min-count (${minCount}) is larger than --max-count (${maxCount})`,
      `Set ${VALUES.maxCount} to at least ${VALUES.minCount}, as Elasticsearch's SLM requires.`,
    );
  }
  return { expireAfter, maxAge, minCount, maxCount };
}

export function parseTimeout(raw: unknown): number {
  return wholeNumber(raw, '--timeout-seconds', 1, 7 * 86_400, DEFAULT_TIMEOUT_SECONDS);
}

/** A boolean option given as a boolean or as text (the chart renders "true"/"false"). */
export function parseFlag(raw: unknown, fallback: boolean, option: string): boolean {
  if (raw === undefined || raw === '') return fallback;
  if (raw === true || raw === 'true') return true;
  if (raw === false || raw === 'false') return false;
  throw usageError(`${option} must be true or false, got ${JSON.stringify(String(raw))}`);
}
