/**
 * What the volume verbs share: defaults, the Helm values behind each setting (named in messages), and
 * strict parsing of claim names, owners, retention policies, exclude patterns and the repository.
 */
import { readFileSync } from 'node:fs';
import { checkName } from '../../config/names.js';
import { given, text, wholeNumber } from '../../config/options.js';
import { ExitCode, StackbackupError, usageError } from '../../util/errors.js';
import { registerSecret } from '../../util/redact.js';

export const DEFAULT_BUCKET = 'sts-volume-backup';
export const DEFAULT_PREFIX = 'volumes';
/** restic's host field of every snapshot; the chart sets the release namespace. */
export const DEFAULT_HOST = 'stackbackup';
/** JupyterHub's KubeSpawner puts the user name on each home claim under this key. */
export const DEFAULT_OWNER_KEY = 'hub.jupyter.org/username';
/** How long an operation that needs restic's exclusive lock (forget, prune) waits for other runs. */
export const DEFAULT_LOCK_WAIT_SECONDS = 600;

/** The Helm values behind each setting, for messages. */
export const VALUES = {
  enabled: 'backup.volumes.enabled',
  bucket: 'backup.volumes.bucketName',
  prefix: 'backup.volumes.repository.prefix',
  password: 'backup.volumes.repository.passwordSecret',
  scheduled: 'backup.volumes.scheduled.enabled',
  retention: 'backup.volumes.retention',
  claimRetention: 'backup.volumes.claimRetention',
  claims: 'backup.volumes.claims',
  selector: 'backup.volumes.claimSelector',
  restore: 'backup.volumes.restore.enabled',
} as const;

/** restic's keep rules; each counts for one claim at a time. 0 means "not used". */
export interface RetentionPolicy {
  keepLast: number;
  keepHourly: number;
  keepDaily: number;
  keepWeekly: number;
  keepMonthly: number;
  keepYearly: number;
}

export const DEFAULT_RETENTION: RetentionPolicy = {
  keepLast: 3,
  keepHourly: 0,
  keepDaily: 7,
  keepWeekly: 4,
  keepMonthly: 6,
  keepYearly: 0,
};

const KEEP_FLAGS: Record<keyof RetentionPolicy, string> = {
  keepLast: '--keep-last',
  keepHourly: '--keep-hourly',
  keepDaily: '--keep-daily',
  keepWeekly: '--keep-weekly',
  keepMonthly: '--keep-monthly',
  keepYearly: '--keep-yearly',
};

/** The retention options as given (--keep-*, and the per-claim overrides of backup.volumes.claimRetention). */
export type RetentionRaw = Partial<Record<keyof RetentionPolicy, unknown>> & {
  /** `CLAIM:RULE=N,...` entries (backup.volumes.claimRetention); only the claim's own entry applies. */
  claimRetention?: unknown;
};

export function parseRetention(raw: RetentionRaw): RetentionPolicy {
  const policy = { ...DEFAULT_RETENTION };
  for (const key of Object.keys(KEEP_FLAGS) as (keyof RetentionPolicy)[]) {
    const value = raw[key];
    policy[key] = wholeNumber(
      value,
      `${KEEP_FLAGS[key]} (${VALUES.retention}.${key})`,
      0,
      100_000,
      DEFAULT_RETENTION[key],
    );
  }
  if (Object.values(policy).every((n) => n === 0)) {
    throw usageError(
      `the retention policy keeps nothing (every --keep-* is 0); restic would refuse it and no snapshot would ever be removed`,
      `Set at least one of ${VALUES.retention}.keepLast/keepHourly/keepDaily/keepWeekly/keepMonthly/keepYearly, for example --keep-daily 7.`,
    );
  }
  return policy;
}

/** The keep rules by their values/CLI names (keepLast, ...), in restic's order. */
export const RETENTION_RULES = Object.keys(KEEP_FLAGS) as (keyof RetentionPolicy)[];

/** Per-claim changes to the retention policy: claim -> the rules that differ from the common policy. */
export type ClaimRetentionOverrides = ReadonlyMap<string, Partial<RetentionPolicy>>;

/**
 * `--claim-retention CLAIM:RULE=N[,RULE=N...]` (repeatable), from backup.volumes.claimRetention: the
 * rules named replace the common policy's for that claim only (0 turns a rule off); the others stay.
 */
export function parseClaimRetention(value: unknown): Map<string, Partial<RetentionPolicy>> {
  const out = new Map<string, Partial<RetentionPolicy>>();
  const entries = value === undefined ? [] : (Array.isArray(value) ? value : [value]).map(String);
  given(value, `--claim-retention (${VALUES.claimRetention})`);
  for (const entry of entries) {
    const m = /^([^:]+):(.+)$/.exec(entry.trim());
    const bad = () =>
      usageError(
        `invalid --claim-retention ${JSON.stringify(entry.slice(0, 120))}: give CLAIM:RULE=N[,RULE=N...] with RULE one of ${RETENTION_RULES.join(', ')}, for example claim-alice:keepDaily=30,keepLast=5`,
        `Check ${VALUES.claimRetention}.`,
      );
    if (!m) throw bad();
    const claim = claimName(m[1], `--claim-retention (${VALUES.claimRetention})`);
    if (out.has(claim))
      throw usageError(`--claim-retention names claim ${claim} twice`, `Check ${VALUES.claimRetention}.`);
    const rules: Partial<RetentionPolicy> = {};
    for (const part of (m[2] ?? '').split(',')) {
      const [rule, n, ...rest] = part.trim().split('=');
      if (rest.length > 0 || n === undefined || !(RETENTION_RULES as string[]).includes(rule ?? '')) throw bad();
      rules[rule as keyof RetentionPolicy] = wholeNumber(
        n,
        `--claim-retention ${claim} ${rule} (${VALUES.claimRetention}.${claim}.${rule})`,
        0,
        100_000,
      );
    }
    out.set(claim, rules);
  }
  return out;
}

/** A claim's policy: the common one with the claim's overrides; refused when it would keep nothing. */
export function retentionFor(
  claim: string,
  common: RetentionPolicy,
  overrides: ClaimRetentionOverrides,
): RetentionPolicy {
  const own = overrides.get(claim);
  if (own === undefined) return common;
  const policy = { ...common, ...own };
  if (Object.values(policy).every((n) => n === 0)) {
    throw usageError(
      `the retention policy of claim ${claim} keeps nothing (every rule is 0 after ${VALUES.claimRetention}.${claim})`,
      `Give ${VALUES.claimRetention}.${claim} at least one rule above 0, for example keepLast: 1.`,
    );
  }
  return policy;
}

/** restic forget's flags for a policy (rules at 0 are left out). */
export function retentionArgs(policy: RetentionPolicy): string[] {
  return (Object.keys(KEEP_FLAGS) as (keyof RetentionPolicy)[])
    .filter((k) => policy[k] > 0)
    .flatMap((k) => [KEEP_FLAGS[k], String(policy[k])]);
}

export function describeRetention(policy: RetentionPolicy): string {
  const parts = (Object.keys(KEEP_FLAGS) as (keyof RetentionPolicy)[])
    .filter((k) => policy[k] > 0)
    .map((k) => `${k.slice(4).toLowerCase()} ${policy[k]}`);
  return `keep ${parts.join(', ')}`;
}

/** PersistentVolumeClaim names are DNS subdomains: lower-case letters, digits, '-' and '.', at most 253. */
const CLAIM_PATTERN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

export function claimName(value: unknown, source: string): string {
  const claim = String(value ?? '');
  if (!CLAIM_PATTERN.test(claim)) {
    throw usageError(
      `invalid claim name (${source}): ${JSON.stringify(claim.slice(0, 80))}; allowed: lower-case letters, digits, hyphens and dots, at most 253 characters, as kubectl get pvc prints them`,
    );
  }
  return claim;
}

/**
 * An owner as a tag value. restic splits --tag on commas, so commas (and whitespace, which reads badly
 * in `restic snapshots`) are percent-encoded; every other character of a user name is kept.
 */
export function ownerTagValue(value: unknown): string | undefined {
  const owner = String(value ?? '').trim();
  if (owner === '') return undefined;
  if (owner.length > 253)
    throw usageError(`owner ${JSON.stringify(owner.slice(0, 40))}... is longer than 253 characters`);
  return owner.replace(/[%,\s]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
}

/** A restic host name: the namespace in the chart; letters, digits, '.', '_' and '-'. */
export function hostName(value: unknown): string {
  const host = text(value, '--host', DEFAULT_HOST);
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/.test(host))
    throw usageError(
      `invalid --host ${JSON.stringify(host.slice(0, 80))}: letters, digits, dots, underscores and hyphens`,
    );
  return host;
}

export function bucketName(value: unknown): string {
  return checkName('bucket', text(value, `--bucket (${VALUES.bucket})`, DEFAULT_BUCKET), `--bucket (${VALUES.bucket})`);
}

export function repositoryPrefix(value: unknown): string {
  const prefix = text(value, `--prefix (${VALUES.prefix})`, DEFAULT_PREFIX).replace(/\/+$/, '');
  return checkName('objectKey', prefix, `--prefix (${VALUES.prefix})`);
}

/** Exclude patterns (restic --exclude syntax); refuses empty ones and line breaks. */
export function excludePatterns(value: unknown): string[] {
  const list = value === undefined ? [] : (Array.isArray(value) ? value : [value]).map(String);
  for (const p of list) {
    if (p.trim() === '' || /[\n\r\0]/.test(p))
      throw usageError(
        `invalid --exclude pattern ${JSON.stringify(p)}: give a restic pattern such as ".cache" or "*.tmp"`,
      );
  }
  return list;
}

/** The repository password file: checked readable and non-empty, its content registered as a secret. */
export function passwordFile(value: unknown): string {
  const path = String(value ?? process.env.STACKBACKUP_RESTIC_PASSWORD_FILE ?? '');
  if (path === '') {
    throw usageError(
      'the restic repository password is not configured',
      `Give --password-file FILE or set STACKBACKUP_RESTIC_PASSWORD_FILE (the chart mounts ${VALUES.password}).`,
    );
  }
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new StackbackupError(`cannot read the restic password file ${path}`, {
      exitCode: ExitCode.credentials,
      hint: `Check that the Secret of ${VALUES.password} is mounted into the job.`,
    });
  }
  const password = text.replace(/\r?\n$/, '');
  if (password === '')
    throw new StackbackupError(`the restic password file ${path} is empty`, {
      exitCode: ExitCode.credentials,
      hint: `Put the repository password into the Secret of ${VALUES.password}.`,
    });
  registerSecret(password);
  return path;
}
