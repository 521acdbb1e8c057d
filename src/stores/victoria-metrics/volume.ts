/**
 * Telling a volume that is still the one we back up from one that was emptied or replaced.
 *
 * vmbackup makes the destination equal to the local snapshot: pointed at a version after the volume
 * was wiped, it would delete every part of that version and upload an empty one. So each backup
 * first decides which version the data belongs to, from a marker file kept in -storageDataPath
 * (VICTORIA_METRICS_VOLUME_MARKER, outside the folders VictoriaMetrics snapshots, so it is never in a
 * backup). The marker names the instance, a random volume id, the version this volume's data goes
 * to, and the identity (inode and birth time) of the volume's `data` and `indexdb` folders.
 *
 * A new version starts when:
 * - there is no marker: an empty volume was mounted, the volume was replaced, the whole folder was
 *   deleted, or vmrestore just wrote the folder (it deletes every file that is not in the backup);
 * - the marker belongs to another instance (a volume cloned from another instance's);
 * - the `data` or `indexdb` folder is not the one the marker recorded: someone deleted the files inside
 *   the folder but not the marker, and VictoriaMetrics created new, empty folders;
 * - the marker is unreadable (a half-written or edited file): never guess which version it meant.
 * Otherwise the backup continues the marker's version, incrementally.
 *
 * Why a marker and not the bucket's contents: comparing the snapshot with the remote version cannot
 * tell "the volume was wiped" from "retention dropped old partitions"; a marker that lives and dies
 * with the volume's files tells exactly that. The folder identity covers deleting files inside the
 * folder, which a marker alone would survive.
 */
import { randomUUID } from 'node:crypto';
import { open, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { DateTime } from 'luxon';
import { VICTORIA_METRICS_VOLUME_MARKER, victoriaMetricsVersion } from '../../storage/layout.js';
import { codeOf, fileError } from '../../util/errors.js';

/** The folders VictoriaMetrics keeps its data in, below -storageDataPath. */
export const DATA_FOLDERS = ['data', 'indexdb'] as const;

export interface FolderIdentity {
  ino: string;
  birthtimeNs: string;
}

export interface VolumeMarker {
  format: 1;
  instance: string;
  volumeId: string;
  /** The version this volume's backups go to; null right after a restore, until the next backup. */
  version: string | null;
  /** The version last restored into this volume: the next version copies its parts server-side. */
  restoredFrom: string | null;
  createdAt: string;
  folders: Record<string, FolderIdentity>;
  /** UTC day (yyyy-MM-dd) retention last ran after a backup of this volume: it runs once a day. */
  prunedOn?: string;
}

export type MarkerState =
  { kind: 'missing' } | { kind: 'unreadable'; problem: string } | { kind: 'ok'; marker: VolumeMarker };

export function markerPath(dataPath: string): string {
  return join(dataPath, VICTORIA_METRICS_VOLUME_MARKER);
}

function isMarker(value: unknown): value is VolumeMarker {
  if (typeof value !== 'object' || value === null) return false;
  const m = value as Record<string, unknown>;
  return (
    m.format === 1 &&
    typeof m.instance === 'string' &&
    typeof m.volumeId === 'string' &&
    (m.version === null || typeof m.version === 'string') &&
    (m.restoredFrom === null || typeof m.restoredFrom === 'string') &&
    typeof m.createdAt === 'string' &&
    typeof m.folders === 'object' &&
    m.folders !== null &&
    (m.prunedOn === undefined || typeof m.prunedOn === 'string')
  );
}

export async function readMarker(dataPath: string): Promise<MarkerState> {
  const path = markerPath(dataPath);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if (codeOf(err) === 'ENOENT') return { kind: 'missing' };
    throw fileError('reading', path, err);
  }
  try {
    const parsed: unknown = JSON.parse(text);
    return isMarker(parsed)
      ? { kind: 'ok', marker: parsed }
      : { kind: 'unreadable', problem: 'not a stackbackup volume marker' };
  } catch (err) {
    return { kind: 'unreadable', problem: err instanceof Error ? err.message : String(err) };
  }
}

/** Writes the marker atomically: a temporary file, flushed, renamed over the old one. */
export async function writeMarker(dataPath: string, marker: VolumeMarker): Promise<void> {
  const path = markerPath(dataPath);
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    const handle = await open(tmp, 'w', 0o644);
    try {
      await handle.writeFile(`${JSON.stringify(marker, null, 2)}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw fileError('writing the volume marker', path, err);
  }
}

/** Inode and birth time of the data folders that exist (a folder VictoriaMetrics has not created yet is left out). */
export async function folderIdentities(dataPath: string): Promise<Record<string, FolderIdentity>> {
  const out: Record<string, FolderIdentity> = {};
  for (const folder of DATA_FOLDERS) {
    try {
      const s = await stat(join(dataPath, folder), { bigint: true });
      out[folder] = { ino: s.ino.toString(), birthtimeNs: s.birthtimeNs.toString() };
    } catch (err) {
      if (codeOf(err) !== 'ENOENT') throw fileError('checking', join(dataPath, folder), err);
    }
  }
  return out;
}

export interface VersionDecision {
  version: string;
  newVersion: boolean;
  /** Why this version: shown in the job log and returned to callers. */
  reason: string;
  /** For a new version: a version whose parts may be copied server-side (vmbackup -origin). */
  originHint: string | null;
  marker: VolumeMarker;
}

/** Which version this backup goes to; pure, so that every rule above has a test. */
export function decideVersion(
  instance: string,
  state: MarkerState,
  folders: Record<string, FolderIdentity>,
  now: DateTime,
): VersionDecision {
  const fresh = (reason: string, restoredFrom: string | null): VersionDecision => {
    const version = victoriaMetricsVersion(instance, now);
    return {
      version,
      newVersion: true,
      reason,
      originHint: restoredFrom,
      marker: {
        format: 1,
        instance,
        volumeId: randomUUID(),
        version,
        restoredFrom,
        createdAt: now.toUTC().toISO() ?? '',
        folders,
      },
    };
  };
  if (state.kind === 'missing')
    return fresh('no volume marker: the volume is new, was emptied, or was just restored', null);
  if (state.kind === 'unreadable') return fresh(`the volume marker is unreadable (${state.problem})`, null);
  const m = state.marker;
  if (m.instance !== instance) return fresh(`the volume marker belongs to instance ${m.instance}`, null);
  for (const [folder, now_] of Object.entries(folders)) {
    const was = m.folders[folder];
    if (was !== undefined && (was.ino !== now_.ino || was.birthtimeNs !== now_.birthtimeNs)) {
      return fresh(`the ${folder} folder was deleted and created again since the last backup`, null);
    }
  }
  if (m.version === null) return fresh(`first backup after restoring ${m.restoredFrom ?? 'a backup'}`, m.restoredFrom);
  // Folders that appeared since (VictoriaMetrics had not created them yet) are recorded from now on.
  return {
    version: m.version,
    newVersion: false,
    reason: 'same volume as the last backup',
    originHint: null,
    marker: { ...m, folders: { ...m.folders, ...folders } },
  };
}

/** After vmrestore: the volume holds `version`'s data; the next backup starts a new version from it. */
export function restoredMarker(
  instance: string,
  version: string,
  folders: Record<string, FolderIdentity>,
  now: DateTime,
): VolumeMarker {
  return {
    format: 1,
    instance,
    volumeId: randomUUID(),
    version: null,
    restoredFrom: version,
    createdAt: now.toUTC().toISO() ?? '',
    folders,
  };
}
