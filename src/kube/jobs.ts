/**
 * The CronJobs and Jobs status reads (batch/v1, the release namespace): one list call each, reduced to
 * what status needs. The Jobs' own status (conditions, start and completion times) is the record of a
 * run; a job's log lines are never read.
 */
import { kubeRequest, type KubeAccess, type ObjectMeta } from './client.js';

interface OwnerReference {
  kind: string;
  name: string;
}

export interface CronJobSummary {
  name: string;
  schedule: string;
  suspended: boolean;
  lastScheduleTime: string | null;
}

export type RunResult = 'succeeded' | 'failed' | 'running';

export interface JobRun {
  name: string;
  /** The CronJob that made it, when one did. */
  cronJob: string | null;
  annotations: Record<string, string>;
  labels: Record<string, string>;
  result: RunResult;
  /** ISO times. */
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  durationSeconds: number | null;
}

interface JobObject {
  metadata: ObjectMeta & { ownerReferences?: OwnerReference[] };
  status?: {
    startTime?: string;
    completionTime?: string;
    succeeded?: number;
    failed?: number;
    active?: number;
    conditions?: { type: string; status: string; lastTransitionTime?: string }[];
  };
}

interface CronJobObject {
  metadata: ObjectMeta;
  spec?: { schedule?: string; suspend?: boolean };
  status?: { lastScheduleTime?: string };
}

/** A Job's run as status shows it: finished by its Complete or Failed condition, else running. */
export function jobRun(job: JobObject): JobRun {
  const conditions = job.status?.conditions ?? [];
  const done = (type: string) => conditions.find((c) => c.type === type && c.status === 'True');
  const complete = done('Complete') ?? done('SuccessCriteriaMet');
  const failed = done('Failed') ?? done('FailureTarget');
  const result: RunResult = failed ? 'failed' : complete ? 'succeeded' : 'running';
  const startedAt = job.status?.startTime ?? null;
  const finishedAt =
    result === 'succeeded'
      ? (job.status?.completionTime ?? complete?.lastTransitionTime ?? null)
      : result === 'failed'
        ? (failed?.lastTransitionTime ?? null)
        : null;
  const durationSeconds =
    startedAt !== null && finishedAt !== null
      ? Math.max(0, (Date.parse(finishedAt) - Date.parse(startedAt)) / 1000)
      : null;
  return {
    name: job.metadata.name,
    cronJob: job.metadata.ownerReferences?.find((o) => o.kind === 'CronJob')?.name ?? null,
    annotations: job.metadata.annotations ?? {},
    labels: job.metadata.labels ?? {},
    result,
    createdAt: job.metadata.creationTimestamp ?? startedAt ?? '',
    startedAt,
    finishedAt,
    durationSeconds,
  };
}

export async function listJobRuns(access: KubeAccess): Promise<JobRun[]> {
  const list = await kubeRequest<{ items: JobObject[] }>(
    access,
    'GET',
    `/apis/batch/v1/namespaces/${encodeURIComponent(access.namespace)}/jobs`,
  );
  return list.items.map(jobRun);
}

export async function listCronJobs(access: KubeAccess): Promise<CronJobSummary[]> {
  const list = await kubeRequest<{ items: CronJobObject[] }>(
    access,
    'GET',
    `/apis/batch/v1/namespaces/${encodeURIComponent(access.namespace)}/cronjobs`,
  );
  return list.items.map((c) => ({
    name: c.metadata.name,
    schedule: c.spec?.schedule ?? '',
    suspended: c.spec?.suspend === true,
    lastScheduleTime: c.status?.lastScheduleTime ?? null,
  }));
}
