/** CPU time accounting for benches: of this process's finished children, and of a running server. */
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';

/** Fields after "pid (comm) ": index 0 is field 3 (state); utime 14, stime 15, cutime 16, cstime 17. */
function statFields(pid: number | 'self'): string[] {
  return readFileSync(`/proc/${pid}/stat`, 'utf8')
    .replace(/^.*\) /s, '')
    .split(' ');
}

/** User + system CPU seconds of every child this process has waited for. */
export function childrenCpuSeconds(): number {
  const fields = statFields('self');
  return (Number(fields[13]) + Number(fields[14])) / 100;
}

/** User + system CPU seconds a running process (a server) has used so far. */
export function processCpuSeconds(pid: number): number {
  const fields = statFields(pid);
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

export const CORES = cpus().length;
