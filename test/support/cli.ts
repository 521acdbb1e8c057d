/**
 * Runs the real built CLI as a child process, as operators and jobs do: the bundle the job image ships
 * (dist/job/stackbackup.mjs, scripts/bundle.mjs), not the per-file tsc output.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from '../servers/harness.js';

export const CLI = join(REPO_ROOT, 'dist', 'job', 'stackbackup.mjs');

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function spawnCli(args: readonly string[], env: Record<string, string>): ChildProcess {
  const base: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith('STACKBACKUP_')) base[k] = v;
  }
  return spawn(process.execPath, [CLI, ...args], { env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
}

export async function runCli(args: readonly string[], env: Record<string, string>): Promise<CliRun> {
  const child = spawnCli(args, env);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  return { code, stdout, stderr };
}
