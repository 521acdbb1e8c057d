/**
 * One listing of a bucket prefix shared by every read inside a read-only scan: status lists a target's
 * backups and then previews its retention, and both read the same objects. Within
 * withSharedListings(fn), the stores openStore() returns list each (location, prefix) once; outside it,
 * nothing changes. Only for code that writes nothing to the bucket while it runs.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { ObjectInfo, ObjectStore } from './types.js';

const scans = new AsyncLocalStorage<Map<string, Promise<unknown>>>();

export function withSharedListings<T>(fn: () => Promise<T>): Promise<T> {
  return scans.run(new Map(), fn);
}

/** The store, with list() answered from the current scan's listings when there is a scan. */
export function sharingListings(store: ObjectStore): ObjectStore {
  const list = store.list.bind(store);
  store.list = async (prefix: string): Promise<ObjectInfo[]> => {
    const listings = scans.getStore();
    if (listings === undefined) return list(prefix);
    const key = `${store.location}\u0000${prefix}`;
    let listing = listings.get(key) as Promise<ObjectInfo[]> | undefined;
    if (listing === undefined) {
      listing = list(prefix);
      listings.set(key, listing);
      // A failed listing is not kept: the next read tries again and reports its own error.
      listing.catch(() => listings.delete(key));
    }
    return [...(await listing)];
  };
  return store;
}

/**
 * What a store derives from a listing (parsed names, completeness), computed once per scan: status
 * lists a target and then previews its retention, and both derive the same from the same objects.
 * Outside a scan every call computes. The answer is shared: callers must not change it.
 */
export function derivedOnce<T>(store: ObjectStore, name: string, compute: () => Promise<T>): Promise<T> {
  const derived = scans.getStore();
  if (derived === undefined) return compute();
  const key = `${store.location}\u0000derived\u0000${name}`;
  let result = derived.get(key) as Promise<T> | undefined;
  if (result === undefined) {
    result = compute();
    derived.set(key, result);
    result.catch(() => derived.delete(key));
  }
  return result;
}
