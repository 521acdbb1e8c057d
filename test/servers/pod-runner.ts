/**
 * The container runtime and the pod half of the kubelet for the simulated node (kwok keeps the Node
 * itself Ready and its lease renewed). It watches the pods the real scheduler binds to the node and:
 *
 * - runs the first container's command of Job pods locally, as a child process of the test run:
 *   `stackbackup` (or an image whose name contains "stackbackup", without a command) is
 *   `node dist/job/stackbackup.mjs`; any other command runs as it is. Pods of Deployments and StatefulSets
 *   (servers, data stores) and containers without a command just "run" idle until deleted;
 * - gives it what a kubelet would: env (literal, from Secrets, ConfigMaps and the downward API, `$(VAR)`
 *   expansion), volumes (Secret, ConfigMap, projected service account token, emptyDir, PVCs as folders
 *   that outlive the pod) written to a folder per pod, with mount paths in env, command and args
 *   rewritten to those folders, and a kubeconfig for the pod's service account token (KUBECONFIG), so
 *   the job talks to the real API server with its real RBAC;
 * - reports status as the kubelet does: Running, then Succeeded or Failed with the exit code, which
 *   the Job controller turns into the Job's status; ImagePullBackOff for images it was told cannot be
 *   pulled; CreateContainerConfigError for a missing Secret or ConfigMap key;
 * - serves the kubelet's containerLogs API over TLS, so `kubectl logs [-f]` goes through the API server
 *   as usual and a followed stream ends when the process exits;
 * - on deletion stops the process (SIGTERM, then SIGKILL after the grace period) and confirms the
 *   deletion, as the kubelet does.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { KubeApiError, type KubeApi, type KubeObject } from './kube-api.js';
import { REPO_ROOT } from './harness.js';
import { CLI } from '../support/cli.js';

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    secretKeyRef?: { name: string; key: string; optional?: boolean };
    configMapKeyRef?: { name: string; key: string; optional?: boolean };
    fieldRef?: { fieldPath: string };
    resourceFieldRef?: { resource: string };
  };
}
interface EnvFrom {
  prefix?: string;
  secretRef?: { name: string; optional?: boolean };
  configMapRef?: { name: string; optional?: boolean };
}
interface KeyPath {
  key: string;
  path: string;
}
interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  workingDir?: string;
  env?: EnvVar[];
  envFrom?: EnvFrom[];
  volumeMounts?: { name: string; mountPath: string; subPath?: string; readOnly?: boolean }[];
}
interface Volume {
  name: string;
  secret?: { secretName: string; items?: KeyPath[]; optional?: boolean };
  configMap?: { name: string; items?: KeyPath[]; optional?: boolean };
  emptyDir?: object;
  persistentVolumeClaim?: { claimName: string };
  downwardAPI?: { items?: { path: string; fieldRef?: { fieldPath: string } }[] };
  projected?: {
    sources: {
      serviceAccountToken?: { path: string; expirationSeconds?: number; audience?: string };
      configMap?: { name: string; items?: KeyPath[]; optional?: boolean };
      secret?: { name: string; items?: KeyPath[]; optional?: boolean };
      downwardAPI?: { items?: { path: string; fieldRef?: { fieldPath: string } }[] };
    }[];
  };
}
export interface Pod extends KubeObject {
  spec: {
    nodeName?: string;
    serviceAccountName?: string;
    restartPolicy?: string;
    terminationGracePeriodSeconds?: number;
    containers: Container[];
    initContainers?: Container[];
    volumes?: Volume[];
  };
  status?: { phase?: string; conditions?: { type: string; status: string }[] };
}

export interface PodRunnerOptions {
  api: KubeApi;
  nodeName: string;
  /** Folder for the pods' files, volumes and logs. */
  workDir: string;
  /** The API server URL and CA, written into the service account kubeconfig of each pod. */
  apiUrl: string;
  caPem: string;
  /** TLS key and certificate of the kubelet API (containerLogs). */
  tlsKey: string;
  tlsCert: string;
  /** Text replaced in env values, command and args, e.g. in-cluster service addresses by loopback ones. */
  aliases?: Record<string, string>;
  /** Images that "cannot be pulled": their pods stay waiting in ImagePullBackOff. */
  unpullable?: (image: string) => boolean;
}

/** The `stackbackup` CLI of this checkout, as the job image runs it. */
const STACKBACKUP_CLI = [process.execPath, CLI];
const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

interface LogLine {
  time: Date;
  text: string;
}

/** One container's log: lines with their time, and followers waiting for more until it closes. */
class ContainerLog {
  readonly lines: LogLine[] = [];
  closed = false;
  private partial = { stdout: '', stderr: '' };
  private readonly followers = new Set<(line: LogLine | null) => void>();

  write(stream: 'stdout' | 'stderr', chunk: string): void {
    const text = this.partial[stream] + chunk;
    const parts = text.split('\n');
    this.partial[stream] = parts.pop() ?? '';
    for (const part of parts) this.push({ time: new Date(), text: part });
  }

  close(): void {
    for (const stream of ['stdout', 'stderr'] as const) {
      if (this.partial[stream] !== '') this.push({ time: new Date(), text: this.partial[stream] });
      this.partial[stream] = '';
    }
    this.closed = true;
    for (const follower of this.followers) follower(null);
    this.followers.clear();
  }

  private push(line: LogLine): void {
    this.lines.push(line);
    for (const follower of this.followers) follower(line);
  }

  follow(onLine: (line: LogLine | null) => void): () => void {
    this.followers.add(onLine);
    return () => this.followers.delete(onLine);
  }

  text(): string {
    return this.lines.map((l) => `${l.text}\n`).join('');
  }
}

interface PodState {
  pod: Pod;
  dir: string;
  logs: Map<string, ContainerLog>;
  process?: ChildProcess;
  exited?: Promise<void>;
  startedAt?: string;
  /** Serialises the work on one pod. */
  queue: Promise<void>;
  deleting: boolean;
}

class ConfigError extends Error {}

export class PodRunner {
  private readonly pods = new Map<string, PodState>();
  private readonly abort = new AbortController();
  private server?: Server;
  port = 0;
  private watching?: Promise<void>;

  constructor(private readonly options: PodRunnerOptions) {}

  async start(): Promise<void> {
    await mkdir(this.options.workDir, { recursive: true });
    this.server = createServer({ key: this.options.tlsKey, cert: this.options.tlsCert }, (req, res) =>
      this.serveKubeletApi(req, res),
    );
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    this.port = typeof address === 'object' && address !== null ? address.port : 0;
    this.watching = this.options.api.watch<Pod>(
      '/api/v1/pods',
      { fieldSelector: `spec.nodeName=${this.options.nodeName}` },
      (event) => this.onEvent(event.type, event.object),
      this.abort.signal,
    );
  }

  async stop(): Promise<void> {
    this.abort.abort();
    for (const state of this.pods.values()) state.process?.kill('SIGKILL');
    await Promise.all([...this.pods.values()].map((s) => s.exited));
    await new Promise<void>((resolve) => {
      if (this.server === undefined) return resolve();
      this.server.closeAllConnections();
      this.server.close(() => resolve());
    });
    await this.watching;
  }

  /** The log of a pod's container as served to `kubectl logs` (for test assertions). */
  logOf(namespace: string, pod: string, container?: string): string | undefined {
    const state = this.findState(namespace, pod);
    if (state === undefined) return undefined;
    const name = container ?? state.pod.spec.containers[0]?.name ?? '';
    return state.logs.get(name)?.text();
  }

  private findState(namespace: string, name: string): PodState | undefined {
    let found: PodState | undefined;
    for (const state of this.pods.values()) {
      if (state.pod.metadata.namespace === namespace && state.pod.metadata.name === name) found = state;
    }
    return found;
  }

  private onEvent(type: string, pod: Pod): void {
    const uid = pod.metadata.uid ?? '';
    let state = this.pods.get(uid);
    if (type === 'DELETED') {
      if (state === undefined) return;
      state.deleting = true;
      state.process?.kill('SIGKILL');
      const gone = state;
      void gone.queue.then(async () => {
        await gone.exited;
        this.pods.delete(uid);
        await rm(gone.dir, { recursive: true, force: true });
      });
      return;
    }
    if (state === undefined) {
      if (pod.metadata.deletionTimestamp === undefined && ['Succeeded', 'Failed'].includes(pod.status?.phase ?? ''))
        return;
      state = { pod, dir: join(this.options.workDir, uid), logs: new Map(), queue: Promise.resolve(), deleting: false };
      this.pods.set(uid, state);
      const s = state;
      if (pod.metadata.deletionTimestamp === undefined) this.enqueue(s, () => this.run(s));
    }
    state.pod = pod;
    if (pod.metadata.deletionTimestamp !== undefined && !state.deleting) {
      state.deleting = true;
      const s = state;
      void this.terminate(s);
      this.enqueue(s, () => this.confirmDeletion(s));
    }
  }

  private enqueue(state: PodState, work: () => Promise<void>): void {
    state.queue = state.queue.then(work).catch((err: unknown) => {
      if (this.abort.signal.aborted || state.deleting) return;
      if (err instanceof KubeApiError && err.status === 404) return;
      process.stderr.write(`[pod-runner] ${state.pod.metadata.namespace}/${state.pod.metadata.name}: ${String(err)}\n`);
    });
  }

  private podPath(pod: Pod, sub = ''): string {
    return `/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}${sub}`;
  }

  private async patchStatus(state: PodState, status: Record<string, unknown>): Promise<void> {
    if (state.deleting) return;
    await this.options.api.patch(this.podPath(state.pod, '/status'), { status }, 'strategic');
  }

  private conditions(ready: boolean, reason?: string): Record<string, unknown>[] {
    const now = new Date().toISOString();
    const cond = (type: string, status: boolean, why?: string): Record<string, unknown> => ({
      type,
      status: status ? 'True' : 'False',
      lastTransitionTime: now,
      ...(why ? { reason: why } : {}),
    });
    return [
      cond('PodReadyToStartContainers', true),
      cond('Initialized', true),
      cond('Ready', ready, reason),
      cond('ContainersReady', ready, reason),
      cond('PodScheduled', true),
    ];
  }

  private async event(pod: Pod, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
    const now = new Date().toISOString();
    await this.options.api.create(`/api/v1/namespaces/${pod.metadata.namespace}/events`, {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { generateName: `${pod.metadata.name}.`, namespace: pod.metadata.namespace },
      involvedObject: {
        apiVersion: 'v1',
        kind: 'Pod',
        name: pod.metadata.name,
        namespace: pod.metadata.namespace,
        uid: pod.metadata.uid,
      },
      reason,
      message,
      type,
      source: { component: 'kubelet', host: this.options.nodeName },
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    });
  }

  private async run(state: PodState): Promise<void> {
    const pod = state.pod;
    const container = pod.spec.containers[0];
    if (container === undefined) return;
    const waiting = (reason: string, message: string) =>
      this.patchStatus(state, {
        phase: 'Pending',
        hostIP: '127.0.0.1',
        startTime: new Date().toISOString(),
        conditions: this.conditions(false, 'ContainersNotReady'),
        containerStatuses: pod.spec.containers.map((c) => ({
          name: c.name,
          image: c.image,
          imageID: '',
          ready: false,
          restartCount: 0,
          started: false,
          state: { waiting: { reason, message } },
        })),
      });

    const all = [...(pod.spec.initContainers ?? []), ...pod.spec.containers];
    const unpullable = all.find((c) => this.options.unpullable?.(c.image) === true);
    if (unpullable !== undefined) {
      await this.event(
        pod,
        'Warning',
        'Failed',
        `Failed to pull image "${unpullable.image}": the simulated registry does not have it`,
      );
      await waiting('ImagePullBackOff', `Back-off pulling image "${unpullable.image}"`);
      return;
    }

    await mkdir(join(state.dir, 'tmp'), { recursive: true });
    let mounts: Map<string, string>;
    try {
      mounts = await this.prepareVolumes(state);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      await this.event(pod, 'Warning', 'FailedMount', err.message);
      await waiting('ContainerCreating', err.message);
      return;
    }

    for (const init of pod.spec.initContainers ?? []) {
      const result = await this.runContainer(state, init, mounts);
      if (result === 'waiting') return;
      if (result !== 'idle' && result !== 0) {
        await this.finish(state, result, init.name);
        return;
      }
    }
    const result = await this.runContainer(state, container, mounts, true);
    if (typeof result === 'number') await this.finish(state, result);
  }

  /**
   * Runs one container to its end and answers its exit code; "idle" for a container without a command
   * (it stays "running" until the pod is deleted); "waiting" when its configuration is missing. The
   * main container's Running status is reported once its process has started.
   */
  private async runContainer(
    state: PodState,
    container: Container,
    mounts: Map<string, string>,
    main = false,
  ): Promise<number | 'idle' | 'waiting'> {
    const pod = state.pod;
    let env: Record<string, string>;
    try {
      env = await this.containerEnv(pod, container);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      await this.event(pod, 'Warning', 'Failed', `Error: ${err.message}`);
      await this.patchStatus(state, {
        phase: 'Pending',
        conditions: this.conditions(false, 'ContainersNotReady'),
        containerStatuses: [
          {
            name: container.name,
            image: container.image,
            imageID: '',
            ready: false,
            restartCount: 0,
            started: false,
            state: { waiting: { reason: 'CreateContainerConfigError', message: err.message } },
          },
        ],
      });
      return 'waiting';
    }
    const argv = this.executes(pod) ? this.argv(container, env) : undefined;
    const log = new ContainerLog();
    state.logs.set(container.name, log);
    state.startedAt = new Date().toISOString();
    if (argv === undefined) {
      if (main) await this.reportRunning(state, container);
      return 'idle';
    }
    const rewrite = (text: string) => this.rewrite(text, mounts);
    const [command = '', ...args] = argv.map(rewrite);
    const processEnv: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: join(state.dir, 'tmp'),
      TMPDIR: join(state.dir, 'tmp'),
      HOSTNAME: pod.metadata.name,
      KUBERNETES_SERVICE_HOST: new URL(this.options.apiUrl).hostname,
      KUBERNETES_SERVICE_PORT: new URL(this.options.apiUrl).port,
    };
    const saDir = mounts.get(SERVICE_ACCOUNT_DIR);
    if (saDir !== undefined) processEnv.KUBECONFIG = join(saDir, '..kubeconfig');
    for (const [k, v] of Object.entries(env)) processEnv[k] = rewrite(v);
    const cwd = container.workingDir === undefined ? join(state.dir, 'tmp') : rewrite(container.workingDir);
    await mkdir(cwd, { recursive: true }).catch(() => undefined);

    const child = spawn(command, args, { cwd, env: processEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    state.process = child;
    child.stdout.setEncoding('utf8').on('data', (c: string) => log.write('stdout', c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => log.write('stderr', c));
    const exit = new Promise<number>((resolve) => {
      child.on('error', (err) => {
        log.write('stderr', `failed to start ${command}: ${err.message}\n`);
        resolve(128);
      });
      child.on('close', (code, signal) => resolve(code ?? 128 + (signal === 'SIGKILL' ? 9 : 15)));
    });
    state.exited = exit.then(() => undefined);
    if (main) await this.reportRunning(state, container);
    const code = await exit;
    log.close();
    return code;
  }

  private async reportRunning(state: PodState, container: Container): Promise<void> {
    await this.patchStatus(state, {
      phase: 'Running',
      hostIP: '127.0.0.1',
      hostIPs: [{ ip: '127.0.0.1' }],
      podIP: '127.0.0.1',
      podIPs: [{ ip: '127.0.0.1' }],
      startTime: state.startedAt,
      conditions: this.conditions(true),
      containerStatuses: state.pod.spec.containers.map((c) => ({
        name: c.name,
        image: c.image,
        imageID: `${c.image}@sha256:${'0'.repeat(64)}`,
        containerID: `stackbackup-test://${state.pod.metadata.uid}-${c.name}`,
        ready: true,
        started: true,
        restartCount: 0,
        state: { running: { startedAt: c.name === container.name ? state.startedAt : new Date().toISOString() } },
      })),
    });
  }

  private async finish(state: PodState, code: number, failedInit?: string): Promise<void> {
    const finishedAt = new Date().toISOString();
    const terminated = (c: Container) => ({
      name: c.name,
      image: c.image,
      imageID: `${c.image}@sha256:${'0'.repeat(64)}`,
      containerID: `stackbackup-test://${state.pod.metadata.uid}-${c.name}`,
      ready: false,
      started: false,
      restartCount: 0,
      state: {
        terminated: {
          exitCode: code,
          reason: code === 0 ? 'Completed' : 'Error',
          startedAt: state.startedAt,
          finishedAt,
        },
      },
    });
    await this.patchStatus(state, {
      phase: code === 0 ? 'Succeeded' : 'Failed',
      conditions: this.conditions(false, 'PodCompleted'),
      ...(failedInit === undefined
        ? { containerStatuses: state.pod.spec.containers.map(terminated) }
        : {
            initContainerStatuses: (state.pod.spec.initContainers ?? [])
              .filter((c) => c.name === failedInit)
              .map(terminated),
          }),
    });
  }

  private async terminate(state: PodState): Promise<void> {
    const child = state.process;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const grace = Math.min(state.pod.spec.terminationGracePeriodSeconds ?? 30, 5) * 1000;
    const timer = setTimeout(() => child.kill('SIGKILL'), grace);
    await state.exited;
    clearTimeout(timer);
  }

  private async confirmDeletion(state: PodState): Promise<void> {
    await this.terminate(state);
    await state.exited;
    for (const log of state.logs.values()) if (!log.closed) log.close();
    await this.options.api.delete(this.podPath(state.pod), {
      gracePeriodSeconds: 0,
      preconditions: { uid: state.pod.metadata.uid },
    });
  }

  // ---- what the kubelet reads from the API: Secrets, ConfigMaps, tokens ----

  private async readData(
    kind: 'secrets' | 'configmaps',
    namespace: string,
    name: string,
    optional: boolean | undefined,
  ): Promise<Record<string, Buffer> | undefined> {
    const obj = await this.options.api.find<{ data?: Record<string, string>; binaryData?: Record<string, string> }>(
      `/api/v1/namespaces/${namespace}/${kind}/${name}`,
    );
    if (obj === undefined) {
      if (optional === true) return undefined;
      throw new ConfigError(`${kind === 'secrets' ? 'secret' : 'configmap'} "${name}" not found`);
    }
    const out: Record<string, Buffer> = {};
    for (const [k, v] of Object.entries(obj.data ?? {}))
      out[k] = kind === 'secrets' ? Buffer.from(v, 'base64') : Buffer.from(v, 'utf8');
    for (const [k, v] of Object.entries(obj.binaryData ?? {})) out[k] = Buffer.from(v, 'base64');
    return out;
  }

  private fieldValue(pod: Pod, fieldPath: string): string {
    const labelMatch = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(fieldPath);
    if (labelMatch) return pod.metadata[labelMatch[1] as 'labels' | 'annotations']?.[labelMatch[2] ?? ''] ?? '';
    const values: Record<string, string | undefined> = {
      'metadata.name': pod.metadata.name,
      'metadata.namespace': pod.metadata.namespace,
      'metadata.uid': pod.metadata.uid,
      'spec.nodeName': pod.spec.nodeName,
      'spec.serviceAccountName': pod.spec.serviceAccountName,
      'status.podIP': '127.0.0.1',
      'status.hostIP': '127.0.0.1',
    };
    return values[fieldPath] ?? '';
  }

  private async containerEnv(pod: Pod, container: Container): Promise<Record<string, string>> {
    const ns = pod.metadata.namespace ?? 'default';
    const env: Record<string, string> = {};
    for (const from of container.envFrom ?? []) {
      const ref = from.secretRef ?? from.configMapRef;
      if (ref === undefined) continue;
      const data = await this.readData(from.secretRef ? 'secrets' : 'configmaps', ns, ref.name, ref.optional);
      for (const [k, v] of Object.entries(data ?? {})) env[`${from.prefix ?? ''}${k}`] = v.toString('utf8');
    }
    for (const v of container.env ?? []) {
      if (v.valueFrom === undefined) {
        env[v.name] = expand(v.value ?? '', env);
        continue;
      }
      const { secretKeyRef, configMapKeyRef, fieldRef, resourceFieldRef } = v.valueFrom;
      const ref = secretKeyRef ?? configMapKeyRef;
      if (ref !== undefined) {
        const data = await this.readData(secretKeyRef ? 'secrets' : 'configmaps', ns, ref.name, ref.optional);
        const value = data?.[ref.key];
        if (value === undefined) {
          if (ref.optional === true) continue;
          if (data !== undefined)
            throw new ConfigError(
              `couldn't find key ${ref.key} in ${secretKeyRef ? 'Secret' : 'ConfigMap'} ${ns}/${ref.name}`,
            );
          continue;
        }
        env[v.name] = value.toString('utf8');
      } else if (fieldRef !== undefined) {
        env[v.name] = this.fieldValue(pod, fieldRef.fieldPath);
      } else if (resourceFieldRef !== undefined) {
        env[v.name] = resourceFieldRef.resource.includes('memory') ? String(1024 ** 3) : '1';
      }
    }
    return env;
  }

  private async writeItems(
    dir: string,
    data: Record<string, Buffer> | undefined,
    items: KeyPath[] | undefined,
    what: string,
  ): Promise<void> {
    if (data === undefined) return;
    const entries = items === undefined ? Object.keys(data).map((key) => ({ key, path: key })) : items;
    for (const { key, path } of entries) {
      const value = data[key];
      if (value === undefined) throw new ConfigError(`MountVolume.SetUp failed: ${what} has no key "${key}"`);
      const file = join(dir, path);
      await mkdir(join(file, '..'), { recursive: true });
      await writeFile(file, value, { mode: 0o600 });
    }
  }

  /** Writes each mounted volume into the pod's folder; answers mount path -> local folder. */
  private async prepareVolumes(state: PodState): Promise<Map<string, string>> {
    const pod = state.pod;
    const ns = pod.metadata.namespace ?? 'default';
    const volumes = new Map<string, string>();
    for (const volume of pod.spec.volumes ?? []) {
      let dir = join(state.dir, 'volumes', volume.name);
      if (volume.persistentVolumeClaim !== undefined) {
        dir = join(this.options.workDir, 'claims', ns, volume.persistentVolumeClaim.claimName);
      }
      await mkdir(dir, { recursive: true });
      if (volume.secret !== undefined) {
        const data = await this.readData('secrets', ns, volume.secret.secretName, volume.secret.optional);
        await this.writeItems(dir, data, volume.secret.items, `secret ${volume.secret.secretName}`);
      }
      if (volume.configMap !== undefined) {
        const data = await this.readData('configmaps', ns, volume.configMap.name, volume.configMap.optional);
        await this.writeItems(dir, data, volume.configMap.items, `configmap ${volume.configMap.name}`);
      }
      for (const item of volume.downwardAPI?.items ?? []) {
        if (item.fieldRef) await writeFile(join(dir, item.path), this.fieldValue(pod, item.fieldRef.fieldPath));
      }
      for (const source of volume.projected?.sources ?? []) {
        if (source.serviceAccountToken !== undefined) {
          const token = await this.options.api.create<{ status: { token: string } }>(
            `/api/v1/namespaces/${ns}/serviceaccounts/${pod.spec.serviceAccountName ?? 'default'}/token`,
            {
              apiVersion: 'authentication.k8s.io/v1',
              kind: 'TokenRequest',
              spec: {
                ...(source.serviceAccountToken.audience ? { audiences: [source.serviceAccountToken.audience] } : {}),
                expirationSeconds: source.serviceAccountToken.expirationSeconds ?? 3607,
                boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: pod.metadata.name, uid: pod.metadata.uid },
              },
            },
          );
          await writeFile(join(dir, source.serviceAccountToken.path), token.status.token, { mode: 0o600 });
          await this.writeKubeconfig(dir, pod, join(dir, source.serviceAccountToken.path));
        }
        if (source.configMap !== undefined) {
          await this.writeItems(
            dir,
            await this.readData('configmaps', ns, source.configMap.name, source.configMap.optional),
            source.configMap.items,
            `configmap ${source.configMap.name}`,
          );
        }
        if (source.secret !== undefined) {
          await this.writeItems(
            dir,
            await this.readData('secrets', ns, source.secret.name, source.secret.optional),
            source.secret.items,
            `secret ${source.secret.name}`,
          );
        }
        for (const item of source.downwardAPI?.items ?? []) {
          if (item.fieldRef) await writeFile(join(dir, item.path), this.fieldValue(pod, item.fieldRef.fieldPath));
        }
      }
      volumes.set(volume.name, dir);
    }
    const mounts = new Map<string, string>();
    for (const container of [...(pod.spec.initContainers ?? []), ...pod.spec.containers]) {
      for (const mount of container.volumeMounts ?? []) {
        const dir = volumes.get(mount.name);
        if (dir === undefined)
          throw new ConfigError(`volume "${mount.name}" of container ${container.name} is not defined`);
        mounts.set(mount.mountPath.replace(/\/+$/, ''), mount.subPath ? join(dir, mount.subPath) : dir);
      }
    }
    return mounts;
  }

  /** A kubeconfig for the pod's service account, next to its token (what in-cluster config would use). */
  private async writeKubeconfig(dir: string, pod: Pod, tokenFile: string): Promise<void> {
    const config = {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name: 'in-cluster',
          cluster: {
            server: this.options.apiUrl,
            'certificate-authority-data': Buffer.from(this.options.caPem).toString('base64'),
          },
        },
      ],
      users: [{ name: 'service-account', user: { tokenFile } }],
      contexts: [
        {
          name: 'in-cluster',
          context: { cluster: 'in-cluster', user: 'service-account', namespace: pod.metadata.namespace },
        },
      ],
      'current-context': 'in-cluster',
    };
    await writeFile(join(dir, '..kubeconfig'), JSON.stringify(config, null, 2), { mode: 0o600 });
  }

  /**
   * Only Job pods (of Jobs and CronJobs) run their commands, and pods annotated
   * stackbackup.test/run=true; the pods of Deployments and StatefulSets (MinIO, a gateway, the data
   * stores a restore scales down) idle: the tests start real servers themselves where they need them.
   */
  private executes(pod: Pod): boolean {
    if (pod.metadata.annotations?.['stackbackup.test/run'] === 'true') return true;
    const owners = (pod.metadata.ownerReferences ?? []) as { kind?: string }[];
    return owners.some((o) => o.kind === 'Job');
  }

  /** The process to run for a container, or undefined for one that just idles (no command). */
  private argv(container: Container, env: Record<string, string>): string[] | undefined {
    const args = (container.args ?? []).map((a) => expand(a, env));
    let command = container.command?.map((c) => expand(c, env));
    if (command === undefined || command.length === 0) {
      if (!/stackbackup/.test(imageRepository(container.image))) return undefined;
      command = ['stackbackup'];
    }
    const [first = '', ...rest] = command;
    const base = first.split('/').pop();
    return base === 'stackbackup' ? [...STACKBACKUP_CLI, ...rest, ...args] : [first, ...rest, ...args];
  }

  /** Mount paths (longest first) and aliases replaced by their local counterparts. */
  private rewrite(text: string, mounts: Map<string, string>): string {
    // Paths into the checkout (the local CLI standing in for the image's `stackbackup`, test fixtures
    // under .cache) are never container paths, even when the checkout itself lives below a mount path
    // such as /tmp: they are set aside while mount paths are rewritten.
    if (STACKBACKUP_CLI.includes(text)) return text;
    const keep = '\u0000repo\u0000';
    let out = text.split(REPO_ROOT).join(keep);
    for (const [from, to] of Object.entries(this.options.aliases ?? {})) out = out.split(from).join(to);
    const paths = [...mounts.keys()].sort((a, b) => b.length - a.length);
    for (const path of paths) {
      if (out === path || out.startsWith(`${path}/`))
        return `${mounts.get(path)}${out.slice(path.length)}`.split(keep).join(REPO_ROOT);
    }
    for (const path of paths)
      out = out.replace(new RegExp(`(^|[=:,\\s])${escapeRegExp(path)}(?=/|$|[\\s:,])`, 'g'), `$1${mounts.get(path)}`);
    return out.split(keep).join(REPO_ROOT);
  }

  // ---- the kubelet API: GET /containerLogs/{namespace}/{pod}/{container} ----

  private serveKubeletApi(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'https://kubelet');
    const match = /^\/containerLogs\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(url.pathname);
    if (req.method !== 'GET' || !match) {
      res
        .writeHead(req.url === '/healthz' ? 200 : 404, { 'content-type': 'text/plain' })
        .end(req.url === '/healthz' ? 'ok' : 'not supported by the test kubelet\n');
      return;
    }
    const [, namespace = '', podName = '', container = ''] = match.map(decodeURIComponent);
    const log = this.findState(namespace, podName)?.logs.get(container);
    if (log === undefined) {
      res
        .writeHead(404, { 'content-type': 'text/plain' })
        .end(`container "${container}" in pod "${podName}" has no log\n`);
      return;
    }
    const q = url.searchParams;
    const follow = q.get('follow') === 'true';
    const timestamps = q.get('timestamps') === 'true';
    const tail = q.has('tailLines') ? Number(q.get('tailLines')) : undefined;
    const since = q.has('sinceTime')
      ? Date.parse(q.get('sinceTime') ?? '')
      : q.has('sinceSeconds')
        ? Date.now() - Number(q.get('sinceSeconds')) * 1000
        : undefined;
    const format = (line: LogLine) => `${timestamps ? `${line.time.toISOString()} ` : ''}${line.text}\n`;
    let lines = log.lines.filter((l) => since === undefined || l.time.getTime() >= since);
    if (tail !== undefined) lines = tail === 0 ? [] : lines.slice(-tail);
    res.writeHead(200, { 'content-type': 'text/plain' });
    for (const line of lines) res.write(format(line));
    if (!follow || log.closed) {
      res.end();
      return;
    }
    const unfollow = log.follow((line) => {
      if (line === null) res.end();
      else res.write(format(line));
    });
    res.on('close', unfollow);
  }
}

/** Kubernetes' $(VAR) expansion in env values, command and args; $$ escapes. */
export function expand(text: string, env: Record<string, string>): string {
  return text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (whole, name: string | undefined) => {
    if (whole === '$$') return '$';
    return name !== undefined && env[name] !== undefined ? env[name] : whole;
  });
}

function imageRepository(image: string): string {
  const withoutDigest = image.split('@')[0] ?? '';
  const lastSlash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.lastIndexOf(':');
  return colon > lastSlash ? withoutDigest.slice(0, colon) : withoutDigest;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
