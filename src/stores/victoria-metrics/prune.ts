/**
 * `prune`: applies the daily/weekly tiers of retention.ts to the versions in a bucket; `--dry-run`
 * only returns the plan. A version is deleted completion marker first, so a prune cut off half-way
 * leaves an incomplete version (never offered for restore), never a complete-looking partial one.
 */
import { listOption } from '../../config/options.js';
import { ensureBucket, openStore } from '../../storage/open.js';
import { victoriaMetricsCompleteKey, victoriaMetricsVersionPrefix } from '../../storage/layout.js';
import { log, section } from '../../util/log.js';
import type { StoreContext } from '../types.js';
import { dropBackupRecords } from '../records.js';
import { bucketName, dataPath, instanceName, tierPolicy } from './options.js';
import { planVersionRetention, type TierPolicy, type VersionDecision } from './retention.js';
import { listVersions } from './versions.js';
import { readMarker } from './volume.js';

export interface PruneOptions {
  bucket: string;
  /** Instances to prune; empty: every instance in the bucket. */
  instances: string[];
  policy: TierPolicy;
  dryRun: boolean;
  /** Versions known to be in use (the caller's own backup). */
  inUse: string[];
  /** A mounted data folder whose volume marker names a version in use. */
  storageDataPath: string | undefined;
}

export interface PruneRaw {
  bucket?: unknown;
  instance?: unknown;
  keepDaily?: unknown;
  keepWeekly?: unknown;
  dryRun?: unknown;
  storageDataPath?: unknown;
}

export function validatePrune(raw: PruneRaw): PruneOptions {
  return {
    bucket: bucketName(raw.bucket, '--bucket'),
    instances: listOption(raw.instance, '--instance').map((i) => instanceName(i, '--instance')),
    policy: tierPolicy(raw),
    dryRun: raw.dryRun === true,
    inUse: [],
    storageDataPath:
      raw.storageDataPath === undefined ? undefined : dataPath(raw.storageDataPath, '--storage-data-path'),
  };
}

export interface PruneResult {
  dryRun: boolean;
  bucket: string;
  /** The tiers, for people: `daily 7, weekly 4`. */
  policy: string;
  decisions: VersionDecision[];
  deletedObjects: number;
}

export async function runPrune(options: PruneOptions, ctx: StoreContext): Promise<PruneResult> {
  const store = openStore(ctx.storage, options.bucket);
  await ensureBucket(store, {
    create: false,
    bucketValue: 'victoria-metrics-N.backup.bucketName',
    scheduleValue: 'victoria-metrics-N.backup.enabled',
  });
  const versions = await listVersions(store, options.instances);
  const inUse = new Set(options.inUse);
  if (options.storageDataPath !== undefined) {
    const state = await readMarker(options.storageDataPath);
    if (state.kind === 'ok' && state.marker.version !== null) inUse.add(state.marker.version);
  }
  const decisions = planVersionRetention(versions, options.policy, inUse, ctx.now());
  let deletedObjects = 0;
  const doomed = decisions.filter((d) => d.action === 'delete');
  if (doomed.length > 0)
    section(`${options.dryRun ? 'Would delete' : 'Deleting'} ${doomed.length} version(s) of ${options.bucket}`);
  for (const d of doomed) {
    log(`${options.dryRun ? 'would delete' : 'deleting'} ${d.version}: ${d.reason}`);
    if (options.dryRun) continue;
    const prefix = victoriaMetricsVersionPrefix(d.instance, d.version);
    const keys = (await store.list(prefix)).map((o) => o.key);
    const marker = victoriaMetricsCompleteKey(d.instance, d.version);
    if (keys.includes(marker)) await store.delete([marker]);
    const rest = keys.filter((k) => k !== marker);
    for (let i = 0; i < rest.length; i += 1000) await store.delete(rest.slice(i, i + 1000));
    await store.cleanupIncomplete(prefix, ctx.now().toJSDate());
    await dropBackupRecords(store, d.instance, [d.version]);
    deletedObjects += keys.length;
  }
  return {
    dryRun: options.dryRun,
    bucket: options.bucket,
    policy: `daily ${options.policy.keepDaily}, weekly ${options.policy.keepWeekly}`,
    decisions,
    deletedObjects,
  };
}
