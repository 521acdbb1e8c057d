/**
 * Running vmbackup and vmrestore: argument arrays through util/exec.ts, S3 credentials only in the
 * child's environment (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, which vmbackup's S3 client reads),
 * never on a command line. Their summary lines are parsed into byte counts for results and reports.
 */
import type { StorageConfig } from '../../config/storage.js';
import { victoriaMetricsRemoteUrl } from '../../storage/layout.js';
import { exitFailure, run, type RunResult } from '../../util/exec.js';

/** Programs: from PATH, or where STACKBACKUP_VMBACKUP / STACKBACKUP_VMRESTORE point. */
const vmbackup = (): string => process.env.STACKBACKUP_VMBACKUP || 'vmbackup';
const vmrestore = (): string => process.env.STACKBACKUP_VMRESTORE || 'vmrestore';

export interface RemoteAccess {
  /** Flags that point vmbackup/vmrestore at the endpoint (no secrets). */
  args: string[];
  /** Environment of the child process (holds the credentials). */
  env: Record<string, string>;
}

export function remoteAccess(storage: StorageConfig): RemoteAccess {
  if (storage.kind === 'filesystem') return { args: [], env: {} };
  return {
    args: [`-customS3Endpoint=${storage.endpoint.origin}`, '-s3ForcePathStyle=true'],
    env: {
      AWS_ACCESS_KEY_ID: storage.accessKey,
      AWS_SECRET_ACCESS_KEY: storage.secretKey,
      AWS_REGION: storage.region,
      AWS_DEFAULT_REGION: storage.region,
    },
  };
}

export function remoteUrl(storage: StorageConfig, bucket: string, instance: string, version: string): string {
  return victoriaMetricsRemoteUrl(
    storage.kind === 's3' ? { kind: 's3' } : { kind: 'filesystem', root: storage.root },
    bucket,
    instance,
    version,
  );
}

/** vmbackup's and vmrestore's own metrics listener: loopback, any free port, so runs never collide. */
const QUIET_LISTENER = '-httpListenAddr=127.0.0.1:0';

export interface VmbackupArgs {
  storageDataPath: string;
  snapshotCreateUrl: string;
  dst: string;
  origin?: string | undefined;
  maxBytesPerSecond?: number | undefined;
}

export function vmbackupArgs(a: VmbackupArgs, access: RemoteAccess): string[] {
  return [
    `-storageDataPath=${a.storageDataPath}`,
    `-snapshot.createURL=${a.snapshotCreateUrl}`,
    `-dst=${a.dst}`,
    ...(a.origin !== undefined ? [`-origin=${a.origin}`] : []),
    ...(a.maxBytesPerSecond !== undefined ? [`-maxBytesPerSecond=${a.maxBytesPerSecond}`] : []),
    ...access.args,
    QUIET_LISTENER,
  ];
}

export function vmrestoreArgs(src: string, storageDataPath: string, access: RemoteAccess): string[] {
  return [`-src=${src}`, `-storageDataPath=${storageDataPath}`, ...access.args, QUIET_LISTENER];
}

export interface BackupSummary {
  backedUpBytes: number;
  deletedBytes: number;
  copiedBytes: number;
  uploadedBytes: number;
  seconds: number;
}

export interface RestoreSummary {
  restoredBytes: number;
  deletedBytes: number;
  downloadedBytes: number;
  seconds: number;
}

function number(text: string, pattern: RegExp): number | undefined {
  const m = pattern.exec(text);
  return m?.[1] === undefined ? undefined : Number(m[1]);
}

/** From vmbackup's "... is complete; backed up N bytes in S seconds; deleted N bytes; server-side copied N bytes; uploaded N bytes". */
export function parseBackupSummary(output: string): BackupSummary | undefined {
  const line = output.split('\n').find((l) => / is complete; backed up \d+ bytes/.test(l));
  if (line === undefined) return undefined;
  return {
    backedUpBytes: number(line, /backed up (\d+) bytes/) ?? 0,
    seconds: number(line, /in ([0-9.]+) seconds/) ?? 0,
    deletedBytes: number(line, /deleted (\d+) bytes/) ?? 0,
    copiedBytes: number(line, /server-side copied (\d+) bytes/) ?? 0,
    uploadedBytes: number(line, /uploaded (\d+) bytes/) ?? 0,
  };
}

/** From vmrestore's "restored N bytes from backup in S seconds; deleted N bytes; downloaded N bytes". */
export function parseRestoreSummary(output: string): RestoreSummary | undefined {
  const line = output.split('\n').find((l) => /restored \d+ bytes from backup/.test(l));
  if (line === undefined) return undefined;
  return {
    restoredBytes: number(line, /restored (\d+) bytes/) ?? 0,
    seconds: number(line, /in ([0-9.]+) seconds/) ?? 0,
    deletedBytes: number(line, /deleted (\d+) bytes/) ?? 0,
    downloadedBytes: number(line, /downloaded (\d+) bytes/) ?? 0,
  };
}

/**
 * vmbackup's and vmrestore's shutdown race (1.79.5, which the tests run, and 1.122.8 alike): main()
 * starts the metrics listener with `go httpserver.Serve(...)`, and that goroutine adds the server to
 * the package's registry only after its listen call returns. When the work finishes first (a small or
 * empty incremental run: ~25 ms), main's httpserver.Stop() finds no server, logs
 * `panic: BUG: there is no http server at "127.0.0.1:0"` (1.122: "no server at") and Go exits 2.
 * It happens after the backup or restore returned success, so the work is done, but the exit code
 * alone cannot tell that apart from a real panic: a run that hit it counts as done only when the
 * caller proves completion itself (vmbackup: its summary line and its completion marker in the bucket;
 * vmrestore: its summary line and no restore-in-progress file left in the data folder).
 */
const SHUTDOWN_RACE = /^panic: BUG: there is no (?:http )?server at "[^"]*"$/m;
const STOP_FRAME = /\/lib\/httpserver\.[Ss]top\(/;
/** Go's exit code after an unrecovered panic. */
const GO_PANIC_EXIT = 2;

export interface ToolRun {
  result: RunResult;
  /** The run panicked in the shutdown race after its work: completion must be proven by the caller. */
  shutdownRace: boolean;
}

export function hitShutdownRace(result: RunResult): boolean {
  const output = `${result.stdout}\n${result.stderr}`;
  return result.exitCode === GO_PANIC_EXIT && SHUTDOWN_RACE.test(output) && STOP_FRAME.test(output);
}

async function runTool(program: string, args: string[], access: RemoteAccess, hint: string): Promise<ToolRun> {
  const result = await run(program, args, { env: access.env, hint, returnExitCodes: [GO_PANIC_EXIT] });
  if (result.exitCode === 0) return { result, shutdownRace: false };
  if (hitShutdownRace(result)) return { result, shutdownRace: true };
  throw exitFailure(program, args, result, hint);
}

export async function runVmbackup(args: string[], access: RemoteAccess, hint: string): Promise<ToolRun> {
  return runTool(vmbackup(), args, access, hint);
}

export async function runVmrestore(args: string[], access: RemoteAccess, hint: string): Promise<ToolRun> {
  return runTool(vmrestore(), args, access, hint);
}
