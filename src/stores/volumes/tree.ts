/**
 * What a folder holds, counted as restic's backup summary counts it: regular files and their bytes,
 * and the other entries that are not folders (symlinks, devices, sockets) beside them.
 */
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';

export interface TreeCount {
  /** Regular files (what restic's summary calls files). */
  regularFiles: number;
  /** Entries that are neither folders nor regular files. */
  otherEntries: number;
  /** Bytes of the regular files. */
  bytes: number;
}

export async function measureTree(path: string): Promise<TreeCount> {
  const count: TreeCount = { regularFiles: 0, otherEntries: 0, bytes: 0 };
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (entry.isFile()) {
        count.regularFiles += 1;
        count.bytes += (await lstat(full)).size;
      } else count.otherEntries += 1;
    }
  };
  await walk(path);
  return count;
}
