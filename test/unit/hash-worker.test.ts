import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { it } from 'node:test';
import { HashWorker } from '../../src/util/hash-worker.js';

it('hashes like node:crypto across ring wrap-arounds and odd chunk sizes', async () => {
  const data = randomBytes(5 * 1024 * 1024 + 12345);
  const worker = new HashWorker(1024 * 1024);
  for (let i = 0, step = 1; i < data.length; i += step, step = ((step * 7 + 13) % 700_000) + 1) {
    await worker.update(data.subarray(i, Math.min(i + step, data.length)));
  }
  assert.equal(await worker.digest(), createHash('sha256').update(data).digest('hex'));
});

it('hashes the empty input', async () => {
  assert.equal(await new HashWorker().digest(), createHash('sha256').digest('hex'));
});
