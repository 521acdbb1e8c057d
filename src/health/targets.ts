/**
 * The configured backup targets that status and metrics look at: which stores are enabled, the raw
 * options of each target's list verb (bucket, instance, URL, claim), its schedule, the CronJob whose
 * Jobs are its runs, and whether it is paused. The chart renders this file (a ConfigMap, key
 * targets.json) from its values; tests and operators outside the cluster write it by hand.
 */
import { readFileSync } from 'node:fs';
import { parseSchedule, type CronFlavour, type Schedule } from '../config/schedule.js';
import { STORES } from '../stores/registry.js';
import type { StoreName } from '../stores/types.js';
import { labelSelector } from '../kube/claims.js';
import { ExitCode, StackbackupError, usageError } from '../util/errors.js';

export interface TargetConfig {
  store: StoreName;
  /** What the store's backups name as their target: `stackgraph`, an instance, the repository, a claim. */
  target: string;
  /** Raw options of the store's list verb (camelCase keys as the CLI passes them). */
  list: Record<string, unknown>;
  /** Raw options of the store's prune verb, for the retention preview of the metrics; absent: no preview. */
  prune: Record<string, unknown> | undefined;
  schedule: Schedule | undefined;
  /** The CronJob whose Jobs are the target's runs (its suspend flag pauses the target). */
  cronJob: string | undefined;
  /** Volumes: the runs are the dispatcher's per-claim Jobs (annotation stackbackup.io/claim). */
  claimJobs: boolean;
  paused: boolean;
}

/**
 * Volumes: the claims a label selector picks (backup.volumes.claimSelector), one target each, found
 * when status runs; a claim also named on its own is reported once.
 */
export interface ClaimSelectorConfig extends Omit<TargetConfig, 'store' | 'target'> {
  store: 'volumes';
  selector: string;
}

export interface TargetsConfig {
  targets: TargetConfig[];
  claimSelectors: ClaimSelectorConfig[];
}

const STORE_NAMES = STORES.map((s) => s.name);

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function nonBlank(v: unknown, where: string): string {
  if (typeof v !== 'string' || v.trim() === '') throw usageError(`${where} must be a non-empty string`);
  return v;
}

function rawOptions(v: unknown, where: string): Record<string, unknown> {
  if (!isRecord(v)) throw usageError(`${where} must be an object of the verb's options`);
  for (const [key, value] of Object.entries(v)) {
    const items = Array.isArray(value) ? value : [value];
    for (const item of items) {
      if (typeof item !== 'string' && typeof item !== 'number' && typeof item !== 'boolean')
        throw usageError(`${where}.${key} must be a string, number, boolean or a list of them`);
      if (typeof item === 'string' && item.trim() === '')
        throw usageError(`${where}.${key} is empty (an empty value is never read as the default)`);
    }
  }
  return v;
}

/** Validates a parsed targets document; every problem is a usage error naming the field. */
export function parseTargets(doc: unknown, source: string): TargetsConfig {
  if (!isRecord(doc) || !Array.isArray(doc.targets))
    throw usageError(`${source}: expected an object with a "targets" list`);
  const seen = new Set<string>();
  const targets: TargetConfig[] = [];
  const claimSelectors: ClaimSelectorConfig[] = [];
  doc.targets.forEach((t: unknown, i: number) => {
    const where = `${source}: targets[${i}]`;
    if (!isRecord(t)) throw usageError(`${where} must be an object`);
    const store = nonBlank(t.store, `${where}.store`);
    if (!STORE_NAMES.includes(store as StoreName))
      throw usageError(`${where}.store "${store}" is not one of ${STORE_NAMES.join(', ')}`);
    const flavour =
      t.scheduleFlavour === undefined ? 'kubernetes' : nonBlank(t.scheduleFlavour, `${where}.scheduleFlavour`);
    if (flavour !== 'kubernetes' && flavour !== 'elasticsearch')
      throw usageError(`${where}.scheduleFlavour must be "kubernetes" or "elasticsearch"`);
    const schedule =
      t.schedule === undefined
        ? undefined
        : parseSchedule(nonBlank(t.schedule, `${where}.schedule`), flavour as CronFlavour, `${where}.schedule`);
    if (t.paused !== undefined && typeof t.paused !== 'boolean')
      throw usageError(`${where}.paused must be true or false`);
    if (t.claimJobs !== undefined && typeof t.claimJobs !== 'boolean')
      throw usageError(`${where}.claimJobs must be true or false`);
    const common = {
      list: rawOptions(t.list ?? {}, `${where}.list`),
      prune: t.prune === undefined ? undefined : rawOptions(t.prune, `${where}.prune`),
      schedule,
      cronJob: t.cronJob === undefined ? undefined : nonBlank(t.cronJob, `${where}.cronJob`),
      claimJobs: t.claimJobs === true,
      paused: t.paused === true,
    };
    if (t.claimSelector !== undefined) {
      if (store !== 'volumes') throw usageError(`${where}.claimSelector is for the volumes store only`);
      if (t.target !== undefined) throw usageError(`${where}: give either target or claimSelector, not both`);
      const selector = labelSelector(
        nonBlank(t.claimSelector, `${where}.claimSelector`),
        `${where}.claimSelector`,
        'Check backup.volumes.claimSelector.',
      );
      if (seen.has(`volumes?${selector}`)) throw usageError(`${where}: claimSelector ${selector} is listed twice`);
      seen.add(`volumes?${selector}`);
      claimSelectors.push({ store: 'volumes', selector, ...common });
      return;
    }
    const target = nonBlank(t.target, `${where}.target`);
    const key = `${store}/${target}`;
    if (seen.has(key)) throw usageError(`${where}: target ${key} is listed twice`);
    seen.add(key);
    targets.push({ store: store as StoreName, target, ...common });
  });
  if (targets.length === 0 && claimSelectors.length === 0)
    throw usageError(
      `${source}: no targets`,
      'Enable a store (backup.enabled and its own enabled value), then helm upgrade.',
    );
  return { targets, claimSelectors };
}

/** Reads and validates a targets file. */
export function loadTargets(file: string): TargetsConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new StackbackupError(`cannot read the targets file ${file}`, {
      exitCode: ExitCode.usage,
      hint: 'Give --targets FILE (the chart mounts its status ConfigMap, key targets.json).',
      cause: err,
    });
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw usageError(`the targets file ${file} is not JSON`);
  }
  return parseTargets(doc, file);
}
