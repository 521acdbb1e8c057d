/**
 * What every data store module provides: the same verbs (backup, list, restore, prune), each as typed
 * options -> validate() (no side effects) -> run(options, ctx) returning data. Stores never print and
 * never import each other; src/cli/<store>.ts turns a store's verbs into `stackbackup <store> <verb>`
 * and prints their results.
 */
import type { DateTime } from 'luxon';
import type { StorageConfig } from '../config/storage.js';
import type { DrillRecord } from './records.js';

export type StoreName = 'stackgraph' | 'victoria-metrics' | 'elasticsearch' | 'volumes';

/** What a store verb's run() gets: where backups go and a clock (tests pin it). */
export interface StoreContext {
  storage: StorageConfig;
  now: () => DateTime;
}

/** A store verb: validate (raw options -> typed options, no side effects, usage errors) then run. */
export interface Verb<Raw, Options, Result> {
  validate(raw: Raw): Options;
  run(options: Options, ctx: StoreContext): Promise<Result>;
}

export function verb<Raw, Options, Result>(
  validate: (raw: Raw) => Options,
  run: (options: Options, ctx: StoreContext) => Promise<Result>,
): Verb<Raw, Options, Result> {
  return { validate, run };
}

/**
 * What every store module exports (its index.ts `store`): the four verbs every store has, its own
 * extra verbs, and the shared views of its list and prune results (BackupList, PruneReport) that
 * `--json`, status and metrics read. A verb is added to every store by adding it here.
 */
export interface DataStore<ListR, PruneR> {
  readonly name: StoreName;
  readonly backup: Verb<never, unknown, unknown>;
  readonly list: Verb<never, unknown, ListR>;
  readonly restore: Verb<never, unknown, unknown>;
  readonly prune: Verb<never, unknown, PruneR>;
  backupList(result: ListR): BackupList;
  pruneReport(result: PruneR): PruneReport;
  /**
   * The newest drill result that covers TARGET (as list names it), read from the bucket the list
   * options name; undefined when it was never drilled (or the store keeps no records there).
   */
  latestDrill(listRaw: never, target: string, ctx: StoreContext): Promise<DrillRecord | undefined>;
  /** A store's own verbs beside the four (configure, check, dispatch). */
  readonly [ownVerb: string]: unknown;
}

/**
 * One backup as `list --json` shows it, the same fields in every store. `target` is what was backed
 * up (`stackgraph`, a Victoria Metrics instance, the Elasticsearch repository, a claim); `name` is what
 * the restore command takes; `details` holds what only that store knows.
 */
export interface BackupEntry {
  target: string;
  name: string;
  /** ISO time (UTC) the backup was taken or last completed; null when unknown. */
  takenAt: string | null;
  sizeBytes: number | null;
  complete: boolean;
  details: Record<string, unknown>;
}

/** `<store> list --json`: complete backups newest first, and incomplete ones (never restorable). */
export interface BackupList {
  store: StoreName;
  /** Where the backups are: bucket, repository address. */
  location: string;
  backups: BackupEntry[];
  incomplete: BackupEntry[];
}

/** One retention decision, the same in every store: `rule` for machines, `reason` for people. */
export interface PruneDecision {
  target: string;
  name: string;
  takenAt: string | null;
  action: 'keep' | 'delete';
  rule: string;
  reason: string;
}

/** `<store> prune --json` (and the retention part of a backup): the same fields in every store. */
export interface PruneReport {
  store: StoreName;
  dryRun: boolean;
  /** The policy as configured, for people: `days=30, at least 3`, `keep last 3, daily 7`. */
  policy: string;
  decisions: PruneDecision[];
  /** Names deleted (none on a dry run). */
  deleted: string[];
  details: Record<string, unknown>;
}
