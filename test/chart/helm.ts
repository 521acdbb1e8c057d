/**
 * Runs the real Helm binary (scripts/install/helm.sh) on chart/ and parses what it renders. Shared by
 * the chart tests: render a value set, find resources, walk pod specs.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { REPO_ROOT, toolPath } from '../servers/harness.js';

/** The chart under test: chart/ of this checkout, or STACKBACKUP_CHART_DIR (e.g. an unpacked release). */
export const CHART_DIR = process.env.STACKBACKUP_CHART_DIR ?? join(REPO_ROOT, 'chart');
export const CI_DIR = join(CHART_DIR, 'ci');
export const RELEASE = 'sb';
export const NAMESPACE = 'backup-ns';
/** The resource name prefix of release RELEASE. */
export const FULLNAME = 'sb-stackbackup';

/** The values every in-cluster test install shares: backups on, MinIO on a claim, the test MinIO's keys. */
export function minioValues(minio: { accessKey: string; secretKey: string }): Record<string, string> {
  return { 'backup.enabled': 'true', 'minio.persistence.enabled': 'true', 'minio.accessKey': minio.accessKey, 'minio.secretKey': minio.secretKey };
}

export interface HelmResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The Helm builds the chart is tested with (scripts/install/helm.sh): Helm 4 as `helm`, the last approved Helm 3 as `helm3`. */
export const HELM_BUILDS = [
  { binary: 'helm', name: 'Helm 4', version: 'v4.3.2' },
  { binary: 'helm3', name: 'Helm 3', version: 'v3.21.4' },
] as const;
export type HelmBinary = (typeof HELM_BUILDS)[number]['binary'];

export function helm(args: string[], env: Record<string, string> = {}, binary: HelmBinary = 'helm'): Promise<HelmResult> {
  const bin = toolPath(binary, 'helm');
  return new Promise((resolve) => {
    execFile(bin, args, { env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
      resolve({ code, stdout, stderr });
    });
  });
}

export interface RenderOptions {
  /** Value files, relative to chart/ci or absolute. */
  files?: string[];
  set?: Record<string, string>;
  setString?: Record<string, string>;
  chart?: string;
  extraArgs?: string[];
}

function templateArgs(options: RenderOptions): string[] {
  const args = ['template', RELEASE, options.chart ?? CHART_DIR, '--namespace', NAMESPACE];
  for (const f of options.files ?? []) args.push('--values', f.startsWith('/') ? f : join(CI_DIR, f));
  // Commas separate assignments in --set: escape them inside values.
  const esc = (v: string): string => v.replace(/\\/g, '\\\\').replace(/,/g, '\\,');
  for (const [k, v] of Object.entries(options.set ?? {})) args.push('--set', `${k}=${esc(v)}`);
  for (const [k, v] of Object.entries(options.setString ?? {})) args.push('--set-string', `${k}=${esc(v)}`);
  return [...args, ...(options.extraArgs ?? [])];
}

export interface Metadata {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: unknown;
}

export interface VolumeMount {
  name: string;
  mountPath: string;
  readOnly?: boolean;
}

export interface SecurityContext {
  runAsNonRoot?: boolean;
  runAsUser?: number;
  runAsGroup?: number;
  fsGroup?: number;
  privileged?: boolean;
  allowPrivilegeEscalation?: boolean;
  readOnlyRootFilesystem?: boolean;
  capabilities?: { add?: string[]; drop?: string[] };
  seccompProfile?: { type?: string };
}

export interface Container {
  name: string;
  image: string;
  imagePullPolicy?: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  envFrom?: unknown[];
  volumeMounts?: VolumeMount[];
  ports?: { containerPort: number; hostPort?: number }[];
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: SecurityContext;
}

export interface Volume {
  name: string;
  secret?: { secretName: string; defaultMode?: number; items?: { key: string; path: string }[] };
  configMap?: { name: string };
  emptyDir?: { medium?: string; sizeLimit?: string };
  persistentVolumeClaim?: { claimName: string };
  [other: string]: unknown;
}

export interface PodSpec {
  serviceAccountName?: string;
  automountServiceAccountToken?: boolean;
  restartPolicy?: string;
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
  securityContext?: SecurityContext;
  imagePullSecrets?: { name: string }[];
  nodeSelector?: Record<string, string>;
  tolerations?: unknown[];
  affinity?: unknown;
  initContainers?: Container[];
  containers: Container[];
  volumes?: Volume[];
}

export interface PodTemplate {
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: PodSpec;
}

export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: Metadata;
  spec?: {
    template?: PodTemplate;
    jobTemplate?: { spec: { template: PodTemplate } };
    selector?: Record<string, unknown>;
    [other: string]: unknown;
  };
  data?: Record<string, string>;
  stringData?: Record<string, string>;
  [other: string]: unknown;
}

function parseManifests(text: string): Manifest[] {
  const docs: Manifest[] = [];
  for (const doc of parseAllDocuments(text)) {
    assert.equal(doc.errors.length, 0, `rendered YAML does not parse: ${doc.errors.map((e) => e.message).join('; ')}`);
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    assert.equal(typeof value, 'object', 'every rendered document is an object');
    const m = value as Manifest;
    assert.equal(typeof m.kind, 'string', 'every rendered document has a kind');
    assert.equal(typeof m.metadata?.name, 'string', `${m.kind} has a name`);
    docs.push(m);
  }
  return docs;
}

/** Renders the chart; fails the test with Helm's message when rendering fails. */
export async function render(options: RenderOptions = {}, binary: HelmBinary = 'helm'): Promise<Manifest[]> {
  const r = await helm(templateArgs(options), {}, binary);
  assert.equal(r.code, 0, `helm template failed:\n${r.stderr}`);
  return parseManifests(r.stdout);
}

/** Renders the chart expecting a failure; returns Helm's error output. */
export async function renderError(options: RenderOptions, binary: HelmBinary = 'helm'): Promise<string> {
  const r = await helm(templateArgs(options), {}, binary);
  assert.notEqual(r.code, 0, `helm template should have failed, but rendered:\n${r.stdout.slice(0, 2000)}`);
  return r.stderr;
}

/**
 * NOTES.txt as `helm install` prints it. `helm template` does not render NOTES and a client-only
 * install still contacts a cluster, so the text (the stackbackup.notes helper) is rendered through a
 * ConfigMap added to a temporary copy of the chart.
 */
export async function renderNotes(options: RenderOptions = {}): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'stackbackup-notes-'));
  try {
    const chart = join(dir, 'chart');
    await cp(CHART_DIR, chart, { recursive: true });
    await writeFile(
      join(chart, 'templates', 'zz-notes-under-test.yaml'),
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes-under-test\ndata:\n  notes: {{ include "stackbackup.notes" . | toJson }}\n',
    );
    const docs = await render({ ...options, chart });
    const notes = docs.find((d) => d.kind === 'ConfigMap' && d.metadata.name === 'notes-under-test');
    assert.ok(notes?.data?.notes !== undefined, 'the notes ConfigMap renders');
    return notes.data.notes;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function ciValueFiles(): Promise<string[]> {
  return (await readdir(CI_DIR)).filter((f) => f.endsWith('-values.yaml')).sort();
}

export function find(docs: Manifest[], kind: string, name: string): Manifest {
  const doc = docs.find((d) => d.kind === kind && d.metadata.name === name);
  assert.ok(doc, `${kind} ${name} renders (got: ${docs.map((d) => `${d.kind}/${d.metadata.name}`).join(', ')})`);
  return doc;
}

export function has(docs: Manifest[], kind: string, name?: string): boolean {
  return docs.some((d) => d.kind === kind && (name === undefined || d.metadata.name === name));
}

export function names(docs: Manifest[], kind: string): string[] {
  return docs.filter((d) => d.kind === kind).map((d) => d.metadata.name).sort();
}

/** Every pod template in the rendered documents, with the resource that owns it. */
export function podTemplates(docs: Manifest[]): { owner: string; template: PodTemplate }[] {
  const out: { owner: string; template: PodTemplate }[] = [];
  for (const d of docs) {
    const owner = `${d.kind}/${d.metadata.name}`;
    if (d.kind === 'Pod') out.push({ owner, template: { metadata: d.metadata, spec: d.spec as unknown as PodSpec } });
    const t = d.spec?.template ?? d.spec?.jobTemplate?.spec.template;
    if (t) out.push({ owner, template: t });
  }
  return out;
}

/** The pod template of a workload (Deployment, Job, CronJob). */
export function podOf(doc: Manifest): PodTemplate {
  const t = doc.spec?.template ?? doc.spec?.jobTemplate?.spec.template;
  assert.ok(t, `${doc.kind}/${doc.metadata.name} has a pod template`);
  return t;
}

export function containerOf(doc: Manifest, name: string): Container {
  const c = podOf(doc).spec.containers.find((x) => x.name === name);
  assert.ok(c, `${doc.kind}/${doc.metadata.name} has container ${name}`);
  return c;
}

export function envOf(c: Container): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of c.env ?? []) if (e.value !== undefined) out[e.name] = e.value;
  return out;
}

export function volumeOf(doc: Manifest, name: string): Volume {
  const v = podOf(doc).spec.volumes?.find((x) => x.name === name);
  assert.ok(v, `${doc.kind}/${doc.metadata.name} has volume ${name}`);
  return v;
}

export function secretData(doc: Manifest): Record<string, string> {
  assert.equal(doc.kind, 'Secret');
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(doc.data ?? {})) out[k] = Buffer.from(v, 'base64').toString('utf8');
  for (const [k, v] of Object.entries(doc.stringData ?? {})) out[k] = v;
  return out;
}
