/**
 * Starts real servers for tests: on a free loopback port, with data in a temporary folder, stopped
 * (and the folder removed) afterwards. Each server is one small module next to this one that calls
 * startProcess(). A server whose binary is missing fails the run with the install command to use:
 * never a silent skip.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, from dist/test/servers or test/servers. */
export const REPO_ROOT = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return dir;
})();

export const TOOLS_DIR = process.env.STACKBACKUP_TOOLS ?? join(REPO_ROOT, '.cache', 'tools');

/** Path of an installed tool binary; throws with the install script to run when it is missing. */
export function toolPath(name: string, installScript: string): string {
  const path = resolve(TOOLS_DIR, 'bin', name);
  if (!existsSync(path)) {
    throw new Error(
      `test server tool "${name}" is not installed at ${path}; run: bash scripts/install/${installScript}.sh (scripts/setup.sh installs everything)`,
    );
  }
  return path;
}

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

/** Every folder tempDir() made in this process; whatever a test left of them goes when the process exits. */
const made = new Set<string>();
process.once('exit', () => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

/**
 * A fresh folder under the system temp folder. Tests remove their own; the ones they do not (a scratch
 * folder of one case, a run cut short by a failure) are removed when the test process exits, unless
 * OWN_CLEANUP says its owner tears it down itself (the node cluster, whose exit handler stops
 * processes that still use it).
 */
export async function tempDir(prefix: string, options: { ownCleanup?: boolean } = {}): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `stackbackup-${prefix}-`));
  if (options.ownCleanup !== true) made.add(dir);
  return dir;
}

export interface StartOptions {
  name: string;
  command: string;
  args: string[];
  env?: Record<string, string>;
  cwd?: string;
  /** Resolves true once the server answers. Polled until timeoutMs. */
  ready: () => Promise<boolean>;
  timeoutMs?: number;
  /** Folders to remove when the server stops. */
  cleanup?: string[];
}

export interface RunningProcess {
  name: string;
  child: ChildProcess;
  logFile: string;
  stop(): Promise<void>;
}

const running = new Set<RunningProcess>();
process.on('exit', () => {
  for (const proc of running) proc.child.kill('SIGKILL');
});

export async function startProcess(options: StartOptions): Promise<RunningProcess> {
  const logDir = await tempDir(`${options.name}-log`);
  const logFile = join(logDir, `${options.name}.log`);
  const out = createWriteStream(logFile);
  const child = spawn(options.command, options.args, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Both streams feed one log; it is ended once, when the child and its streams are closed.
  child.stdout?.pipe(out, { end: false });
  child.stderr?.pipe(out, { end: false });
  let exited = false;
  child.on('close', () => {
    exited = true;
    out.end();
  });
  const proc: RunningProcess = {
    name: options.name,
    child,
    logFile,
    stop: async () => {
      running.delete(proc);
      if (!exited) {
        const gone = new Promise<void>((r) => child.once('close', () => r()));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await gone;
        clearTimeout(timer);
      }
      for (const dir of [...(options.cleanup ?? []), logDir]) await rm(dir, { recursive: true, force: true });
    },
  };
  running.add(proc);
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  for (;;) {
    if (exited) {
      const { readFile } = await import('node:fs/promises');
      const tail = (await readFile(logFile, 'utf8').catch(() => '')).split('\n').slice(-20).join('\n');
      await proc.stop();
      throw new Error(`${options.name} exited before it was ready:\n${tail}`);
    }
    if (await options.ready().catch(() => false)) return proc;
    if (Date.now() > deadline) {
      await proc.stop();
      throw new Error(
        `${options.name} did not become ready within ${options.timeoutMs ?? 60_000} ms (log: ${logFile})`,
      );
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** True when an HTTP GET of url answers with a status below 500. */
export async function httpReady(url: string): Promise<boolean> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
  return res.status < 500;
}
