/**
 * The versions in a bucket, read from the objects vmbackup wrote: `<instance>/<version>/...`. A version
 * is complete when vmbackup's completion marker is there; the marker's time is the version's last
 * completed backup. vmbackup removes the marker when a backup into the version starts and writes it
 * last, so a version whose latest backup was cut off shows as incomplete and is never restored.
 */
import { DateTime } from 'luxon';
import {
  VICTORIA_METRICS_COMPLETE_MARKER,
  parseVictoriaMetricsKey,
  victoriaMetricsPrefix,
} from '../../storage/layout.js';
import type { ObjectStore } from '../../storage/types.js';

export interface VersionInfo {
  instance: string;
  version: string;
  /** When the version was started (from its name). */
  startedAt: DateTime;
  complete: boolean;
  /** The last completed backup into this version (the completion marker's time). */
  completedAt: DateTime | undefined;
  /** The newest object of the version: how recently a (possibly cut-off) backup wrote to it. */
  lastWrite: DateTime;
  objects: number;
  bytes: number;
}

/** Versions of the given instances (all instances when empty), oldest first per instance. */
export async function listVersions(store: ObjectStore, instances: readonly string[] = []): Promise<VersionInfo[]> {
  const prefixes = instances.length === 0 ? [''] : instances.map(victoriaMetricsPrefix);
  const byVersion = new Map<string, VersionInfo>();
  for (const prefix of prefixes) {
    for (const object of await store.list(prefix)) {
      const parsed = parseVictoriaMetricsKey(object.key);
      if (parsed === undefined) continue;
      const modified = DateTime.fromJSDate(object.lastModified, { zone: 'utc' });
      const id = `${parsed.instance}/${parsed.version}`;
      let info = byVersion.get(id);
      if (info === undefined) {
        info = {
          instance: parsed.instance,
          version: parsed.version,
          startedAt: parsed.takenAt,
          complete: false,
          completedAt: undefined,
          lastWrite: modified,
          objects: 0,
          bytes: 0,
        };
        byVersion.set(id, info);
      }
      info.objects += 1;
      info.bytes += object.size;
      if (modified > info.lastWrite) info.lastWrite = modified;
      if (parsed.path === VICTORIA_METRICS_COMPLETE_MARKER) {
        info.complete = true;
        info.completedAt = modified;
      }
    }
  }
  return [...byVersion.values()].sort((a, b) =>
    a.instance === b.instance ? a.startedAt.toMillis() - b.startedAt.toMillis() : a.instance < b.instance ? -1 : 1,
  );
}

/** The newest complete version of an instance, if any. */
export function newestComplete(versions: readonly VersionInfo[], instance: string): VersionInfo | undefined {
  return versions
    .filter((v) => v.instance === instance && v.complete)
    .sort((a, b) => b.startedAt.toMillis() - a.startedAt.toMillis())[0];
}
