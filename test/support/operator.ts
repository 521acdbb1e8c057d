/**
 * What the Kubernetes end-to-end tests do as an operator: kubectl in the test namespace, the restore/
 * scripts with nothing but a kubeconfig (no STACKBACKUP_* variables of the test process), and waiting
 * for the cluster to get somewhere.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { NAMESPACE } from '../chart/helm.js';
import { REPO_ROOT } from '../servers/harness.js';
import type { KubernetesCluster } from '../servers/kubernetes.js';

/** What these helpers need of a cluster: the kwok one (servers/kubernetes.ts) and the real node (servers/node-cluster.ts) both have it. */
export type OperatorCluster = Pick<KubernetesCluster, 'kubectl' | 'kubeconfigFor'>;

export interface ScriptRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** kubectl ARGS in the namespace; fails the test (with kubectl's message) when it exits non-zero. */
export async function kubectlOk(
  cluster: OperatorCluster,
  args: string[],
  input?: string,
  namespace = NAMESPACE,
): Promise<string> {
  const r = await cluster.kubectl(args, { namespace, ...(input === undefined ? {} : { input }) });
  assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** Runs restore/NAME as an operator would: kubectl configured for the namespace, nothing else. */
export async function runScript(
  cluster: OperatorCluster,
  name: string,
  args: string[],
  namespace = NAMESPACE,
): Promise<ScriptRun> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('STACKBACKUP_')) env[k] = v;
  env.KUBECONFIG = await cluster.kubeconfigFor(namespace);
  // As the README says: ./restore/NAME from the checkout, not bash with an absolute path.
  const child = spawn(`./restore/${name}`, args, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const run: ScriptRun = { code: null, stdout: '', stderr: '' };
  child.stdout.setEncoding('utf8').on('data', (c: string) => (run.stdout += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (run.stderr += c));
  run.code = await new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return run;
}

/** Polls probe until it answers true; a probe that throws counts as "not yet" (its last error is reported). */
export async function until(
  what: string,
  probe: () => Promise<boolean>,
  timeoutMs = 60_000,
  intervalMs = 250,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      if (await probe()) return;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${lastError === undefined ? '' : ` (last error: ${String(lastError)})`}`,
      );
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Each workload's `replicas|recorded count` (the scale helpers' annotation): `2|` when untouched. */
export async function scaleStates(
  cluster: KubernetesCluster,
  workloads: Record<string, number>,
): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const w of Object.keys(workloads)) {
    out[w] = (
      await kubectlOk(cluster, [
        'get',
        w,
        '--output',
        'jsonpath={.spec.replicas}|{.metadata.annotations.stackbackup\\.io/replicas-before-restore}',
      ])
    ).trim();
  }
  return out;
}

/** What scaleStates answers for workloads no restore has touched. */
export function untouchedStates(workloads: Record<string, number>): Record<string, string> {
  return Object.fromEntries(Object.entries(workloads).map(([w, n]) => [w, `${n}|`]));
}

/** The Jobs and pods a restore script created that are still there (none after a script exits). */
export async function scriptLeftovers(cluster: KubernetesCluster): Promise<string> {
  return (
    await kubectlOk(cluster, [
      'get',
      'jobs,pods',
      '--selector',
      'stackbackup.io/created-by=restore-script',
      '--output',
      'name',
    ])
  ).trim();
}

interface JobList {
  items: { metadata: { name: string }; status?: { conditions?: { type: string; status: string }[] } }[];
}

const hasCondition = (job: JobList['items'][number], type: string): boolean =>
  job.status?.conditions?.some((c) => c.type === type && c.status === 'True') === true;

/** The logs of the named containers of a Job's pods, one block a pod and container (kwok tier: the pod runner keeps them). */
export async function jobLogs(
  cluster: KubernetesCluster,
  job: string,
  containers: readonly string[],
  namespace = NAMESPACE,
): Promise<string> {
  const pods = (
    await kubectlOk(
      cluster,
      ['get', 'pods', '--selector', `job-name=${job}`, '--output', 'jsonpath={.items[*].metadata.name}'],
      undefined,
      namespace,
    )
  )
    .trim()
    .split(' ')
    .filter((p) => p !== '');
  return pods
    .flatMap((p) => containers.map((c) => `--- ${p}/${c}:\n${cluster.runner.logOf(namespace, p, c) ?? '(no log)'}`))
    .join('\n');
}

/**
 * Waits for a Job of the chart component (label app.kubernetes.io/component) to finish and returns its
 * name. Fails the test at once with the pods' logs (of the given containers) when that Job failed, and
 * with the component's pods and the namespace's events when none finished within timeoutMs.
 */
export async function finishedJob(
  cluster: KubernetesCluster,
  component: string,
  containers: readonly string[],
  timeoutMs: number,
  namespace = NAMESPACE,
): Promise<string> {
  const get = (args: string[]) => kubectlOk(cluster, args, undefined, namespace);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const jobs = JSON.parse(
      await get(['get', 'jobs', '--selector', `app.kubernetes.io/component=${component}`, '--output', 'json']),
    ) as JobList;
    const done = jobs.items.find((j) => hasCondition(j, 'Complete') || hasCondition(j, 'Failed'));
    if (done !== undefined) {
      const name = done.metadata.name;
      if (hasCondition(done, 'Complete')) return name;
      assert.fail(`${component} Job ${name} failed:\n${await jobLogs(cluster, name, containers, namespace)}`);
    }
    if (Date.now() > deadline) {
      const pods = await get([
        'get',
        'pods',
        '--selector',
        `app.kubernetes.io/component=${component}`,
        '--output',
        'jsonpath={range .items[*]}{.metadata.name}{" "}{.status.phase}{"\\n"}{end}',
      ]);
      const events = await get([
        'get',
        'events',
        '--output',
        'jsonpath={range .items[*]}{.involvedObject.name}{": "}{.reason}{": "}{.message}{"\\n"}{end}',
      ]);
      assert.fail(
        `no ${component} Job finished within ${timeoutMs} ms:\npods:\n${pods.trim()}\nevents:\n${events.trim()}`,
      );
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}
