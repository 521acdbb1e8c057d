/**
 * The CLI's command groups: `storage`, and one per store of the registry (src/stores/registry.ts), each
 * module loaded only when one of its commands runs, or for --help and unknown commands: a job running
 * `stackbackup volumes backup` does not spend its start-up loading the Elasticsearch client.
 */
import type { Argv } from 'yargs';
import { STORES, storeEntry } from '../stores/registry.js';
import type { StoreName } from '../stores/types.js';
import type { Exec } from './context.js';

export type Register = (yargs: Argv, exec: Exec) => Argv;

export interface Group {
  names: string[];
  load: () => Promise<Register>;
}

/** Each store's command module: a store of the registry without one does not compile. */
const STORE_COMMANDS: Record<StoreName, () => Promise<Register>> = {
  stackgraph: async () => (await import('./stackgraph.js')).registerStackGraph,
  'victoria-metrics': async () => (await import('./victoria-metrics.js')).registerVictoriaMetrics,
  elasticsearch: async () => (await import('./elasticsearch.js')).registerElasticsearch,
  volumes: async () => (await import('./volumes.js')).registerVolumes,
};

/** A store's command group names: its name, then its aliases. */
export function groupNames(name: StoreName): string[] {
  const entry = storeEntry(name);
  return [entry.name, ...entry.aliases];
}

export const GROUPS: readonly Group[] = [
  { names: ['storage'], load: async () => (await import('./storage.js')).registerStorage },
  ...STORES.map((s) => ({ names: groupNames(s.name), load: STORE_COMMANDS[s.name] })),
  { names: ['status', 'metrics'], load: async () => (await import('./health.js')).registerHealth },
];
