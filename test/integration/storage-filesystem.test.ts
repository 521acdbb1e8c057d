import { rm } from 'node:fs/promises';
import { FilesystemStore } from '../../src/storage/filesystem.js';
import { tempDir } from '../servers/harness.js';
import { storageConformance } from '../storage/conformance.js';

let n = 0;
storageConformance('local filesystem', async () => {
  const root = await tempDir('fs-store');
  n += 1;
  return { store: new FilesystemStore(root, `bucket-${n}`), cleanup: () => rm(root, { recursive: true, force: true }) };
});
