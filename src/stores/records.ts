/**
 * Restore drills' shared parts: the record of what a backup holds (written at backup time, next to its
 * checksum), the shrink check against the previous backup of the same target, and the drill result
 * kept in the bucket. Keys come from storage/layout.ts; stores call these and never build keys.
 */
import { Readable } from 'node:stream';
import type { DateTime } from 'luxon';
import {
  backupRecordKey,
  backupRecordPrefix,
  drillRecordKey,
  drillRecordPrefix,
  shrunkMarkerBackup,
  shrunkMarkerKey,
  shrunkMarkerPrefix,
} from '../storage/layout.js';
import { deleteBackups, listBackups, uploadStream } from '../storage/publish.js';
import type { ObjectStore } from '../storage/types.js';
import { messageOf, usageError } from '../util/errors.js';
import { warn } from '../util/log.js';
import type { StoreName } from './types.js';

/**
 * A count a store could or could not tell: the value; a range, when the target was written to while the
 * backup was taken (counted before and after it: the backup holds a count in between); or why it is
 * unknown.
 */
export type Counted = { value: number } | { atLeast: number; atMost: number; why: string } | { unknown: string };

/** The count a shrink check compares: the value, or the lower end of a range (undefined when unknown). */
export function countOf(c: Counted | undefined): number | undefined {
  if (c === undefined) return undefined;
  if ('value' in c) return c.value;
  if ('atLeast' in c) return c.atLeast;
  return undefined;
}

/** What was counted before and after a backup: one value when equal, else the range in between. */
export function countedBetween(before: number, after: number): Counted {
  if (before === after) return { value: before };
  return {
    atLeast: Math.min(before, after),
    atMost: Math.max(before, after),
    why: `written to during the backup: ${before} before it, ${after} after it`,
  };
}

/** Adds counts up: a value when all are values, a range when some are ranges, unknown when any is. */
export function sumCounts(counts: readonly Counted[]): Counted {
  let low = 0;
  let high = 0;
  for (const c of counts) {
    if ('unknown' in c) return { unknown: c.unknown };
    low += 'value' in c ? c.value : c.atLeast;
    high += 'value' in c ? c.value : c.atMost;
  }
  return low === high
    ? { value: low }
    : { atLeast: low, atMost: high, why: 'some parts were written to during the backup' };
}

/** The count key of one Elasticsearch index's documents in a record: `documents:<index>`. */
export function documentsKey(index: string): string {
  return `documents:${index}`;
}

/** What one backup holds, as recorded when it was taken. */
export interface BackupRecord {
  target: string;
  name: string;
  takenAt: string;
  sizeBytes: number;
  sha256: string | null;
  /** Store-specific counts (`elements`, `series`, `documents:<index>`, `files`, `bytes`). */
  counts: Record<string, Counted>;
  /** Set when this backup is much smaller than the previous one (or empty when it was not). */
  shrunk: string | null;
}

/** Default share of the previous backup's size under which a backup is flagged as shrunk. */
export const DEFAULT_SHRINK_SHARE = 0.5;

/** `--shrink-share`: a share between 0 and 1 (`0.5`); backups under it of the previous one are flagged. */
export function parseShare(raw: unknown): number {
  const source = '--shrink-share';
  if (raw === undefined) return DEFAULT_SHRINK_SHARE;
  const text = String(raw).trim();
  const value = Number(text);
  if (text === '' || !/^(0(\.[0-9]+)?|1(\.0+)?)$/.test(text) || !Number.isFinite(value))
    throw usageError(`${source} ${JSON.stringify(String(raw))} is not a share between 0 and 1`, 'Use for example 0.5.');
  return value;
}

/** The reason a backup is flagged (null when not): compares the main count, else the size. */
export function shrinkReason(
  current: { sizeBytes: number; main: number | undefined },
  previous: BackupRecord | undefined,
  mainKey: string,
  share: number,
): string | null {
  if (previous === undefined) return null;
  const before = countOf(previous.counts[mainKey]);
  if (current.main !== undefined && before !== undefined) {
    if (current.main === 0 && before > 0)
      return `empty: 0 ${mainKey}, the previous backup ${previous.name} held ${before}`;
    if (current.main < before * share)
      return `${current.main} ${mainKey}, under ${Math.round(share * 100)} % of the ${before} of the previous backup ${previous.name}`;
    return null;
  }
  if (current.sizeBytes < previous.sizeBytes * share)
    return `${current.sizeBytes} bytes, under ${Math.round(share * 100)} % of the ${previous.sizeBytes} bytes of the previous backup ${previous.name}`;
  return null;
}

async function readJson<T>(store: ObjectStore, key: string): Promise<T | undefined> {
  if ((await store.stat(key)) === undefined) return undefined;
  const chunks: Buffer[] = [];
  for await (const chunk of await store.get(key)) chunks.push(Buffer.from(chunk as Uint8Array));
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as T;
}

/** Published like a backup (verified, checksum beside it), so `storage ls` and cleanup see it complete. */
async function writeJson(store: ObjectStore, key: string, value: unknown): Promise<void> {
  const body = Buffer.from(`${JSON.stringify(value, null, 2)}\n`);
  await uploadStream(store, Readable.from([body]), key, body.length, { progress: () => undefined });
}

export function readBackupRecord(store: ObjectStore, target: string, name: string): Promise<BackupRecord | undefined> {
  return readJson<BackupRecord>(store, backupRecordKey(target, name));
}

/**
 * Writes a backup's record, flagged (and warned about in the job log) when it shrank against the
 * previous record. A record that cannot be written is a warning: the backup itself is complete.
 */
export async function recordBackup(
  store: ObjectStore,
  record: Omit<BackupRecord, 'shrunk'>,
  previousName: string | undefined,
  mainKey: string,
  share = DEFAULT_SHRINK_SHARE,
): Promise<BackupRecord> {
  let previous: BackupRecord | undefined;
  try {
    previous = previousName === undefined ? undefined : await readBackupRecord(store, record.target, previousName);
  } catch (err) {
    warn(`could not read the record of the previous backup ${previousName ?? ''}: ${messageOf(err)}; no shrink check`);
  }
  const shrunk = shrinkReason(
    { sizeBytes: record.sizeBytes, main: countOf(record.counts[mainKey]) },
    previous,
    mainKey,
    share,
  );
  const full: BackupRecord = { ...record, shrunk };
  if (shrunk !== null)
    warn(`backup ${record.name} of ${record.target} is much smaller than the previous one: ${shrunk}; it is kept`);
  try {
    await writeJson(store, backupRecordKey(record.target, record.name), full);
    if (shrunk !== null) await writeJson(store, shrunkMarkerKey(record.target, record.name), { shrunk });
  } catch (err) {
    warn(`could not write the record of ${record.name}: ${messageOf(err)}; drills will have nothing to compare with`);
  }
  return full;
}

/**
 * The name of a target's newest record (by when it was written: one listing, no record read), for stores
 * whose backup names do not sort by time (restic snapshot IDs).
 */
export async function newestRecordName(store: ObjectStore, target: string): Promise<string | undefined> {
  const prefix = backupRecordPrefix(target);
  const newest = (await listBackups(store, prefix))
    .filter((o) => o.complete && o.key.endsWith('.json') && !o.key.slice(prefix.length).includes('/'))
    .sort((a, b) => a.lastModified.getTime() - b.lastModified.getTime())
    .pop();
  return newest?.key.slice(prefix.length, -'.json'.length);
}

/**
 * The flagged backups of a target and why, from one listing of its markers' folder: a list of
 * thousands of backups reads only the few markers, never every record.
 */
export async function shrunkBackups(store: ObjectStore, target: string): Promise<Map<string, string>> {
  const flagged = new Map<string, string>();
  for (const object of await listBackups(store, shrunkMarkerPrefix(target))) {
    const name = shrunkMarkerBackup(target, object.key);
    if (name === undefined || !object.complete) continue;
    const marker = await readJson<{ shrunk?: unknown }>(store, object.key);
    if (typeof marker?.shrunk === 'string') flagged.set(name, marker.shrunk);
  }
  return flagged;
}

/** Removes the records (and shrunk markers) of backups that retention deleted. */
export async function dropBackupRecords(store: ObjectStore, target: string, names: readonly string[]): Promise<void> {
  if (names.length > 0)
    await deleteBackups(
      store,
      names.flatMap((n) => [backupRecordKey(target, n), shrunkMarkerKey(target, n)]),
    );
}

/** One check of a drill: what the record says and what the scratch restore holds. */
export interface DrillCheck {
  name: string;
  expected: string | number | null;
  found: string | number | null;
  ok: boolean;
}

/** A drill's result as kept in the bucket and printed by `<store> drill --json`. */
export interface DrillRecord {
  store: StoreName;
  target: string;
  backup: string;
  startedAt: string;
  restoreSeconds: number;
  bytes: number;
  checks: DrillCheck[];
  outcome: 'passed' | 'failed';
  /** Why it failed, for people (null when passed). */
  reason: string | null;
  /** What only that store's drill tells (volumes: the claims of this run's sample). */
  details?: Record<string, unknown>;
}

export async function writeDrillRecord(store: ObjectStore, record: DrillRecord, at: DateTime): Promise<string> {
  const key = drillRecordKey(record.target, at);
  await writeJson(store, key, record);
  return key;
}

/** Drill results read back at most, newest first, looking for one that covers a target. */
const DRILLS_SEARCHED = 20;

/**
 * The newest drill result of a target, or undefined when it was never drilled (for status and metrics).
 * COVERS narrows it (volumes: the newest drill whose sample held a claim); only the newest
 * DRILLS_SEARCHED results are read.
 */
export async function readLatestDrill(
  store: ObjectStore,
  target: string,
  covers: (record: DrillRecord) => boolean = () => true,
): Promise<DrillRecord | undefined> {
  const prefix = drillRecordPrefix(target);
  // Only this target's own results: a target named like a folder (`volumes/ns`) may sit below another.
  const keys = (await listBackups(store, prefix))
    .filter((o) => o.complete && !o.key.slice(prefix.length).includes('/'))
    .map((o) => o.key)
    .sort()
    .reverse()
    .slice(0, DRILLS_SEARCHED);
  for (const key of keys) {
    const record = await readJson<DrillRecord>(store, key);
    if (record !== undefined && covers(record)) return record;
  }
  return undefined;
}
