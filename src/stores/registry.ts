/**
 * The one list of data stores: name, aliases, what it backs up, and how to load it. The CLI builds its
 * command groups from here (src/cli/main.ts) and status walks it; a store is loaded only when used, so a
 * job running `stackbackup volumes backup` never loads the Elasticsearch client.
 */
import type { DrillRecord } from './records.js';
import type { BackupList, DataStore, PruneReport, StoreContext, StoreName } from './types.js';

/** Raw options of a verb as a generic caller has them (the keys the CLI would pass, camelCase). */
export type RawOptions = Readonly<Record<string, unknown>>;

export interface StoreEntry {
  name: StoreName;
  /** Other names of its command group (`vm`, `es`). */
  aliases: readonly string[];
  /** One line for --help. */
  summary: string;
  load: () => Promise<LoadedStore>;
}

/** A loaded store with its result types erased: what generic callers (status, metrics) use. */
export interface LoadedStore {
  readonly name: StoreName;
  backupList(result: never): BackupList;
  pruneReport(result: never): PruneReport;
  /** The list verb (validate, then run) seen through backupList(). */
  listBackups(raw: RawOptions, ctx: StoreContext): Promise<BackupList>;
  /** The prune verb as a dry run (nothing deleted) seen through pruneReport(). */
  dryRunPrune(raw: RawOptions, ctx: StoreContext): Promise<PruneReport>;
  /** The newest drill result covering a target, from the bucket the list options name. */
  latestDrill(listRaw: RawOptions, target: string, ctx: StoreContext): Promise<DrillRecord | undefined>;
}

function erase<L, P>(store: DataStore<L, P>): LoadedStore {
  return {
    ...store,
    listBackups: async (raw, ctx) => store.backupList(await store.list.run(store.list.validate(raw as never), ctx)),
    dryRunPrune: async (raw, ctx) =>
      store.pruneReport(await store.prune.run(store.prune.validate({ ...raw, dryRun: true } as never), ctx)),
    latestDrill: (raw, target, ctx) => store.latestDrill(raw as never, target, ctx),
  };
}

export const STORES: readonly StoreEntry[] = [
  {
    name: 'stackgraph',
    aliases: [],
    summary: 'StackGraph: full exports, list, restore, retention',
    load: async () => erase((await import('./stackgraph/store.js')).stackGraphStore),
  },
  {
    name: 'victoria-metrics',
    aliases: ['vm'],
    summary: 'Victoria Metrics: incremental vmbackup per instance and version, list, restore, prune',
    load: async () => erase((await import('./victoria-metrics/store.js')).victoriaMetricsStore),
  },
  {
    name: 'elasticsearch',
    aliases: ['es'],
    summary: 'Elasticsearch: snapshot repository and SLM policy, snapshots, list, restore of chosen indices, prune',
    load: async () => erase((await import('./elasticsearch/store.js')).elasticsearchStore),
  },
  {
    name: 'volumes',
    aliases: [],
    summary: 'back up and restore PersistentVolumeClaims with restic (per-claim tags and retention)',
    load: async () => erase((await import('./volumes/store.js')).volumesStore),
  },
];

export function storeEntry(name: StoreName): StoreEntry {
  const entry = STORES.find((s) => s.name === name);
  if (entry === undefined) throw new Error(`internal: store ${name} is not in src/stores/registry.ts`);
  return entry;
}
