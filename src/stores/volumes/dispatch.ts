/**
 * `volumes dispatch`: what the chart's volume CronJob runs at the start of each backup window. It finds
 * the claims to back up (names and/or a label selector), reads each claim's owner from a label or
 * annotation of the claim (no change to users' pods), and creates one backup Job per claim from the
 * chart's Job template at the claim's staggered time (schedule.ts). Each Job mounts its claim read-only;
 * a ReadWriteOnce claim that a pod is using is backed up on that pod's node (required node affinity), so
 * both can mount it. A claim whose Job already ran in this window (a rerun of the dispatcher) is skipped.
 */
import { claimsMatching, labelSelector } from '../../kube/claims.js';
import type { DateTime } from 'luxon';
import { listOption, optionalText, text } from '../../config/options.js';
import { volumeBackupJobName, volumeMountPath } from '../../storage/layout.js';
import { ExitCode, StackbackupError, usageError } from '../../util/errors.js';
import { log, section, warn } from '../../util/log.js';
import type { StoreContext } from '../types.js';
import {
  KubeRequestError,
  kubeRequest,
  loadKubeAccess,
  type Claim,
  type KubeAccess,
  type PodSummary,
} from '../../kube/client.js';
import { claimHash, parseWindow, planWindow } from './schedule.js';
import { DEFAULT_OWNER_KEY, VALUES, claimName, ownerTagValue } from './settings.js';
import { validateRepository, type RepositoryRaw } from './backup.js';
import { openRepository, repositoryOf, type RepositoryOptions } from './restic.js';

/** Labels and annotations of the Jobs the dispatcher creates. */
export const JOB_LABEL = 'stackbackup.io/volume-backup';
export const CLAIM_HASH_LABEL = 'stackbackup.io/claim-hash';
export const CLAIM_ANNOTATION = 'stackbackup.io/claim';
export const OWNER_ANNOTATION = 'stackbackup.io/owner';
/** Environment of the template's backup container that the dispatcher fills per claim. */
export const ENV = {
  claim: 'STACKBACKUP_VOLUME_CLAIM',
  owner: 'STACKBACKUP_VOLUME_OWNER',
  path: 'STACKBACKUP_VOLUME_PATH',
} as const;
/** The template's volume (and mount) for the claim. */
export const CLAIM_VOLUME = 'claim';

export interface DispatchOptions {
  namespace: string | undefined;
  claims: string[];
  selector: string | undefined;
  ownerKey: string;
  windowSeconds: number;
  /** ConfigMap holding the backup Job template (data key job.json). */
  templateConfigMap: string;
  jobPrefix: string;
  /** Plan only: print the times, create nothing. */
  dryRun: boolean;
  /** The repository, created here before any Job when missing (so that two first backups never race to init it). */
  repository: RepositoryOptions | undefined;
}

export function validateDispatch(
  raw: RepositoryRaw & {
    namespace?: unknown;
    claim?: unknown;
    selector?: unknown;
    ownerKey?: unknown;
    window?: unknown;
    templateConfigMap?: unknown;
    jobPrefix?: unknown;
    dryRun?: unknown;
  },
): DispatchOptions {
  const claims = listOption(raw.claim, `--claim (${VALUES.claims})`).map((c) => claimName(c, '--claim'));
  const selector = optionalText(raw.selector, `--selector (${VALUES.selector})`);
  if (selector !== undefined) labelSelector(selector, '--selector', `Check ${VALUES.selector}.`);
  if (claims.length === 0 && selector === undefined)
    throw usageError(
      'name the claims to back up: --claim NAME (repeatable) and/or --selector LABELS',
      `Set ${VALUES.claims} and/or ${VALUES.selector}.`,
    );
  const ownerKey = text(raw.ownerKey, '--owner-key', DEFAULT_OWNER_KEY);
  if (!/^([a-z0-9.-]{1,253}\/)?[A-Za-z0-9._-]{0,63}$/.test(ownerKey))
    throw usageError(`--owner-key ${JSON.stringify(ownerKey)} is not a label or annotation key`);
  const namespace = optionalText(raw.namespace, '--namespace');
  if (namespace !== undefined && !/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(namespace))
    throw usageError(`--namespace ${JSON.stringify(namespace)} is not a namespace name`);
  const templateConfigMap = text(raw.templateConfigMap, '--template-config-map', '');
  if (!/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(templateConfigMap))
    throw usageError(
      `--template-config-map ${JSON.stringify(templateConfigMap)} must name the ConfigMap of the backup Job template`,
    );
  const jobPrefix = text(raw.jobPrefix, '--job-prefix', 'volume-backup');
  if (!/^[a-z0-9]([-a-z0-9]{0,39}[a-z0-9])?$/.test(jobPrefix))
    throw usageError(
      `--job-prefix ${JSON.stringify(jobPrefix)}: lower-case letters, digits and hyphens, at most 41 characters`,
    );
  return {
    namespace,
    claims,
    selector,
    ownerKey,
    windowSeconds: parseWindow(text(raw.window, '--window (backup.volumes.scheduled.window)', '2h')),
    templateConfigMap,
    jobPrefix,
    dryRun: raw.dryRun === true,
    repository:
      raw.passwordFile === undefined && process.env.STACKBACKUP_RESTIC_PASSWORD_FILE === undefined
        ? undefined
        : validateRepository(raw),
  };
}

export interface DispatchedClaim {
  claim: string;
  owner: string | null;
  at: string;
  offsetSeconds: number;
  node: string | null;
  job: string | null;
  /** created, exists (already created in this window), planned (dry run), skipped. */
  status: 'created' | 'exists' | 'planned' | 'skipped';
  reason: string | null;
}

export interface DispatchResult {
  namespace: string;
  windowStart: string;
  windowSeconds: number;
  claims: DispatchedClaim[];
}

/** A Job manifest (loose: only what is filled in is typed). */
interface JobManifest {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name?: string;
    generateName?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [k: string]: unknown;
  };
  spec: {
    template: {
      metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
      spec: {
        containers: {
          name: string;
          env?: { name: string; value?: string }[];
          volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
        }[];
        volumes?: { name: string; persistentVolumeClaim?: { claimName: string; readOnly?: boolean } }[];
        affinity?: {
          nodeAffinity?: {
            requiredDuringSchedulingIgnoredDuringExecution?: { nodeSelectorTerms: Record<string, unknown>[] };
            [k: string]: unknown;
          };
          [k: string]: unknown;
        };
        [k: string]: unknown;
      };
    };
    [k: string]: unknown;
  };
}

export interface ClaimJob {
  claim: string;
  owner: string | undefined;
  node: string | undefined;
  windowStart: DateTime;
  prefix: string;
}

/** The template filled in for one claim: name, labels, env, the claim mounted read-only, node affinity. */
export function fillJob(template: JobManifest, c: ClaimJob): JobManifest {
  const job = JSON.parse(JSON.stringify(template)) as JobManifest;
  const hash = claimHash(c.claim);
  const name = volumeBackupJobName(c.prefix, hash, c.windowStart);
  const labels = { [JOB_LABEL]: 'true', [CLAIM_HASH_LABEL]: hash.slice(0, 16) };
  const annotations = {
    [CLAIM_ANNOTATION]: c.claim,
    ...(c.owner === undefined ? {} : { [OWNER_ANNOTATION]: c.owner }),
  };
  delete job.metadata.generateName;
  job.metadata.name = name;
  job.metadata.labels = { ...job.metadata.labels, ...labels };
  job.metadata.annotations = { ...job.metadata.annotations, ...annotations };
  const pod = job.spec.template;
  pod.metadata = {
    ...pod.metadata,
    labels: { ...pod.metadata?.labels, ...labels },
    annotations: { ...pod.metadata?.annotations, ...annotations },
  };
  const mountPath = volumeMountPath(c.claim);
  const values: Record<string, string> = { [ENV.claim]: c.claim, [ENV.owner]: c.owner ?? '', [ENV.path]: mountPath };
  const container = pod.spec.containers[0];
  if (container === undefined)
    throw new StackbackupError('the volume backup Job template has no container', {
      hint: 'Reinstall or upgrade the chart release.',
    });
  container.env = [
    ...(container.env ?? []).filter((e) => !(e.name in values)),
    ...Object.entries(values).map(([n, value]) => ({ name: n, value })),
  ];
  container.volumeMounts = [
    ...(container.volumeMounts ?? []).filter((m) => m.name !== CLAIM_VOLUME),
    { name: CLAIM_VOLUME, mountPath, readOnly: true },
  ];
  pod.spec.volumes = [
    ...(pod.spec.volumes ?? []).filter((v) => v.name !== CLAIM_VOLUME),
    { name: CLAIM_VOLUME, persistentVolumeClaim: { claimName: c.claim, readOnly: true } },
  ];
  if (c.node !== undefined) {
    const onNode = { key: 'metadata.name', operator: 'In', values: [c.node] };
    const affinity = pod.spec.affinity ?? {};
    const nodeAffinity = affinity.nodeAffinity ?? {};
    const terms = nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
    const merged =
      terms.length === 0
        ? [{ matchFields: [onNode] }]
        : terms.map((t) => ({ ...t, matchFields: [...((t.matchFields as unknown[] | undefined) ?? []), onNode] }));
    pod.spec.affinity = {
      ...affinity,
      nodeAffinity: { ...nodeAffinity, requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: merged } },
    };
  }
  return job;
}

const enc = encodeURIComponent;

async function findClaims(access: KubeAccess, o: DispatchOptions): Promise<Map<string, Claim>> {
  const ns = enc(access.namespace);
  const found = new Map<string, Claim>();
  for (const name of o.claims) {
    try {
      found.set(
        name,
        await kubeRequest<Claim>(access, 'GET', `/api/v1/namespaces/${ns}/persistentvolumeclaims/${enc(name)}`),
      );
    } catch (err) {
      if (!(err instanceof KubeRequestError) || err.status !== 404) throw err;
      warn(`claim ${name} (${VALUES.claims}) does not exist in namespace ${access.namespace}; skipped`);
    }
  }
  if (o.selector !== undefined) {
    for (const c of await claimsMatching(access, o.selector)) found.set(c.metadata.name, c);
  }
  return found;
}

/** The node of a running or starting pod that mounts each claim. */
async function claimNodes(access: KubeAccess): Promise<Map<string, string>> {
  const pods = await kubeRequest<{ items: PodSummary[] }>(
    access,
    'GET',
    `/api/v1/namespaces/${enc(access.namespace)}/pods`,
  );
  const nodes = new Map<string, string>();
  for (const pod of pods.items) {
    const phase = pod.status?.phase;
    if (pod.spec?.nodeName === undefined || (phase !== 'Running' && phase !== 'Pending')) continue;
    if (pod.metadata.labels?.[JOB_LABEL] === 'true') continue; // our own backup pods
    for (const v of pod.spec.volumes ?? [])
      if (v.persistentVolumeClaim) nodes.set(v.persistentVolumeClaim.claimName, pod.spec.nodeName);
  }
  return nodes;
}

async function readTemplate(access: KubeAccess, name: string): Promise<JobManifest> {
  let cm: { data?: Record<string, string> };
  try {
    cm = await kubeRequest(access, 'GET', `/api/v1/namespaces/${enc(access.namespace)}/configmaps/${enc(name)}`);
  } catch (err) {
    if (err instanceof KubeRequestError && err.status === 404) {
      throw new StackbackupError(
        `the volume backup Job template (ConfigMap ${name}) does not exist in namespace ${access.namespace}`,
        { exitCode: ExitCode.notFound, hint: 'Reinstall or upgrade the chart release.' },
      );
    }
    throw err;
  }
  const text = cm.data?.['job.json'];
  if (text === undefined)
    throw new StackbackupError(`ConfigMap ${name} has no job.json`, {
      hint: 'Reinstall or upgrade the chart release.',
    });
  return JSON.parse(text) as JobManifest;
}

export async function runDispatch(o: DispatchOptions, ctx: StoreContext): Promise<DispatchResult> {
  const access = await loadKubeAccess(o.namespace);
  const windowStart = ctx.now().toUTC().startOf('minute');
  const template = await readTemplate(access, o.templateConfigMap);
  const claims = await findClaims(access, o);
  const plan = planWindow([...claims.keys()], windowStart, o.windowSeconds);
  section(
    `Volume backups in namespace ${access.namespace}: ${plan.length} claim(s) over ${o.windowSeconds} s from ${windowStart.toISO()}`,
  );
  const recent = await kubeRequest<{
    items: { metadata: { name: string; labels?: Record<string, string>; creationTimestamp?: string } }[];
  }>(
    access,
    'GET',
    `/apis/batch/v1/namespaces/${enc(access.namespace)}/jobs?labelSelector=${enc(`${JOB_LABEL}=true`)}`,
  );
  if (o.repository !== undefined && !o.dryRun && plan.length > 0)
    await openRepository(repositoryOf(ctx.storage, o.repository), true);
  const results: DispatchedClaim[] = [];
  for (const p of plan) {
    const pvc = claims.get(p.claim);
    const owner = ownerTagValue(pvc?.metadata.labels?.[o.ownerKey] ?? pvc?.metadata.annotations?.[o.ownerKey]);
    const base = { claim: p.claim, owner: owner ?? null, at: p.at.toISO() ?? '', offsetSeconds: p.offsetSeconds };
    log(`claim ${p.claim}: at ${base.at}${owner ? `, owner ${owner}` : ', owner unknown'}`);
    if (pvc?.status?.phase !== 'Bound') {
      warn(`claim ${p.claim} is ${pvc?.status?.phase ?? 'unknown'}, not Bound; skipped`);
      results.push({
        ...base,
        node: null,
        job: null,
        status: 'skipped',
        reason: `claim is ${pvc?.status?.phase ?? 'unknown'}`,
      });
      continue;
    }
    if (o.dryRun) {
      results.push({ ...base, node: null, job: null, status: 'planned', reason: null });
      continue;
    }
    const hash = claimHash(p.claim).slice(0, 16);
    const since = windowStart.minus({ seconds: o.windowSeconds }).toMillis();
    const done = recent.items.find(
      (j) => j.metadata.labels?.[CLAIM_HASH_LABEL] === hash && Date.parse(j.metadata.creationTimestamp ?? '') >= since,
    );
    if (done !== undefined) {
      log(`claim ${p.claim}: Job ${done.metadata.name} already ran in this window; skipped`);
      results.push({ ...base, node: null, job: done.metadata.name, status: 'exists', reason: null });
      continue;
    }
    for (;;) {
      const wait = p.at.toMillis() - ctx.now().toMillis();
      if (wait <= 0) break;
      await new Promise((r) => setTimeout(r, Math.min(wait, 30_000)));
    }
    // Where the claim is mounted now (a user's server may have started or stopped since the window began).
    const modes = pvc.spec?.accessModes ?? [];
    const shared = modes.includes('ReadWriteMany') || modes.includes('ReadOnlyMany');
    const node = shared ? undefined : (await claimNodes(access)).get(p.claim);
    if (modes.includes('ReadWriteOncePod') && node !== undefined) {
      warn(
        `claim ${p.claim} is ReadWriteOncePod and in use on node ${node}: no second pod can mount it; skipped until it is free`,
      );
      results.push({ ...base, node, job: null, status: 'skipped', reason: 'ReadWriteOncePod claim in use' });
      continue;
    }
    const job = fillJob(template, { claim: p.claim, owner, node, windowStart, prefix: o.jobPrefix });
    try {
      await kubeRequest(access, 'POST', `/apis/batch/v1/namespaces/${enc(access.namespace)}/jobs`, job);
      log(
        `claim ${p.claim}: created Job ${job.metadata.name ?? ''}${node ? ` on node ${node} (where the claim is mounted)` : ''}`,
      );
      results.push({ ...base, node: node ?? null, job: job.metadata.name ?? null, status: 'created', reason: null });
    } catch (err) {
      if (!(err instanceof KubeRequestError) || err.status !== 409) throw err;
      results.push({ ...base, node: node ?? null, job: job.metadata.name ?? null, status: 'exists', reason: null });
    }
  }
  return {
    namespace: access.namespace,
    windowStart: windowStart.toISO() ?? '',
    windowSeconds: o.windowSeconds,
    claims: results,
  };
}
