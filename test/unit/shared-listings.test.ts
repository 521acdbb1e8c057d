/**
 * A status scan lists each bucket prefix once (src/storage/shared-listings.ts): inside
 * withSharedListings every store of the same location answers from the first listing; outside, every
 * list() reads the bucket again.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { openStore } from '../../src/storage/open.js';
import { withSharedListings } from '../../src/storage/shared-listings.js';

let root: string;
const config = () => ({ kind: 'filesystem' as const, root });
const keys = async (prefix = '') => (await openStore(config(), 'scan-bucket').list(prefix)).map((o) => o.key);
const put = (key: string) => openStore(config(), 'scan-bucket').put(key, Readable.from([Buffer.from(key)]));

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'stackbackup-shared-listings-'));
  await openStore(config(), 'scan-bucket').createBucket();
  await put('a/one');
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('shared listings during a read-only scan', () => {
  it('answers every list of the same prefix in a scan from its first listing, in any store of that bucket', async () => {
    const seen = await withSharedListings(async () => {
      const first = await keys('a/');
      await put('a/two'); // a scan writes nothing; this shows the listing is not read again
      return { first, again: await keys('a/'), otherPrefix: await keys('') };
    });
    assert.deepEqual(seen.first, ['a/one']);
    assert.deepEqual(seen.again, ['a/one']);
    assert.deepEqual(seen.otherPrefix, ['a/one', 'a/two'], 'another prefix is its own listing');
  });

  it('reads the bucket again outside a scan and in each new scan', async () => {
    assert.deepEqual(await keys('a/'), ['a/one', 'a/two']);
    await put('a/three');
    assert.deepEqual(await withSharedListings(() => keys('a/')), ['a/one', 'a/three', 'a/two']);
  });

  it('hands out copies: a caller changing its array does not change what the next one gets', async () => {
    await withSharedListings(async () => {
      const store = openStore(config(), 'scan-bucket');
      (await store.list('a/')).splice(0);
      assert.equal((await store.list('a/')).length, 3);
    });
  });
});
